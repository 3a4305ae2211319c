/**
 * Which era serves a request on the one /mcp endpoint. A POST without the 2026-07-28 `_meta` envelope
 * (the SDK's own classifier, `isLegacyRequest`) is a 2025 client's and goes to its session; the rest is
 * served per request. With --stateless everything is served per request and GET/DELETE are refused.
 */
import { isLegacyRequest } from "@modelcontextprotocol/server";
import type { Request, RequestHandler, Response } from "express";
import { describeError } from "../../errors.js";
import type { Logger } from "../../log.js";
import { jsonRpcError, MCP_PATH } from "./endpoint.js";
import { principalOf } from "./guards.js";
import type { PerRequestHandler } from "./per-request.js";
import type { LegacySessions } from "./sessions.js";

/** The request's headers as the Fetch API takes them (Node gives repeated ones as arrays). */
function fetchHeaders(req: Request): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return headers;
}

export interface EraRoutes {
  /** POST /mcp, body parsed. */
  post: RequestHandler;
  /** GET and DELETE /mcp (2025 sessions only). */
  session: RequestHandler;
}

export function routeByEra(options: {
  sessions: LegacySessions;
  perRequest: PerRequestHandler;
  stateless: boolean;
  bodyLimit: number;
  logger: Logger;
}): EraRoutes {
  const { sessions, perRequest, stateless, bodyLimit, logger } = options;

  const isLegacy = (req: Request): Promise<boolean> =>
    isLegacyRequest(
      new Request(`http://localhost${MCP_PATH}`, { method: "POST", headers: fetchHeaders(req) }),
      req.body,
      {
        maxRequestBodySize: bodyLimit,
      },
    );

  async function post(req: Request, res: Response): Promise<void> {
    try {
      const principal = principalOf(res);
      if (!stateless && (await isLegacy(req))) await sessions.post(req, res, principal);
      else await perRequest.serve(req, res, principal);
    } catch (error) {
      logger.error(`MCP POST failed: ${describeError(error).text}`);
      jsonRpcError(res, 500, -32603, "Internal server error.");
    }
  }

  async function session(req: Request, res: Response): Promise<void> {
    try {
      if (stateless) {
        jsonRpcError(res, 405, -32000, "Method not allowed: this server runs stateless (--stateless); use POST.", {
          Allow: "POST",
        });
        return;
      }
      await sessions.request(req, res, principalOf(res));
    } catch (error) {
      logger.error(`MCP ${req.method} failed: ${describeError(error).text}`);
      jsonRpcError(res, 500, -32603, "Internal server error.");
    }
  }

  return {
    post: (req, res) => void post(req, res),
    session: (req, res) => void session(req, res),
  };
}
