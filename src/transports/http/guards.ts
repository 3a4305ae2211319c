/**
 * The checks every /mcp request passes before the MCP layer: not while shutting down, a Host this server
 * answers to (DNS rebinding), an allowed browser Origin (with CORS for it), and a bearer token that names
 * the caller. Each refusal is a JSON-RPC error that says what to change.
 */
import { hostHeaderValidation } from "@modelcontextprotocol/express";
import type { RequestHandler, Response } from "express";
import type { Principal } from "../../principal.js";
import type { Authenticator } from "../authenticate.js";
import { type OriginPolicy, originAllowed } from "../http-auth.js";
import { jsonRpcError } from "./endpoint.js";

export function refuseWhileClosing(isClosing: () => boolean): RequestHandler {
  return (_req, res, next) => {
    if (!isClosing()) return next();
    jsonRpcError(res, 503, -32000, "The server is shutting down; connect again shortly.", { Connection: "close" });
  };
}

/** Host: the SDK's DNS-rebinding middleware, given the names this server answers to (none: no check). */
export function checkHost(hostnames: string[] | undefined): RequestHandler {
  return hostnames ? hostHeaderValidation(hostnames) : (_req, _res, next) => next();
}

export function checkOrigin(origins: OriginPolicy): RequestHandler {
  return (req, res, next) => {
    const origin = req.header("origin");
    if (!originAllowed(origin, origins)) {
      jsonRpcError(
        res,
        403,
        -32000,
        `Origin ${origin} is not allowed. Add it to FLUX_FILL_HTTP_ALLOWED_ORIGINS to accept it.`,
      );
      return;
    }
    if (origin !== undefined) {
      // A listed browser origin may read the answers and the session id.
      res.set({
        "Access-Control-Allow-Origin": origin,
        Vary: "Origin",
        "Access-Control-Expose-Headers": "Mcp-Session-Id, WWW-Authenticate",
      });
    }
    next();
  };
}

export const preflight: RequestHandler = (_req, res) => {
  res
    .status(204)
    .set({
      "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
      "Access-Control-Allow-Headers":
        "Content-Type, Authorization, Mcp-Session-Id, Mcp-Protocol-Version, Mcp-Method, Mcp-Name, Last-Event-ID",
      "Access-Control-Max-Age": "600",
    })
    .end();
};

/** Who is calling, for the handlers after it (`principalOf`); refusals carry the challenge. */
export function checkAuth(auth: Authenticator): RequestHandler {
  return (req, res, next) => {
    auth.authenticate(req.header("authorization")).then(
      (outcome) => {
        if (outcome.ok) {
          res.locals.principal = outcome.principal;
          next();
          return;
        }
        jsonRpcError(
          res,
          outcome.status,
          outcome.status === 503 ? -32000 : -32001,
          outcome.message,
          outcome.challenge === undefined ? { "Retry-After": "30" } : { "WWW-Authenticate": outcome.challenge },
        );
      },
      (error: unknown) => next(error),
    );
  };
}

/** The caller `checkAuth` found. */
export const principalOf = (res: Response): Principal => res.locals.principal as Principal;
