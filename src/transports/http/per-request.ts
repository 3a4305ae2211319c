/**
 * 2026-07-28 requests (and every request of a --stateless server), served one at a time by the SDK's
 * per-request handler, each by a fresh server of its caller: no initialize, no session; progress on the
 * request's own response stream, cancellation by closing it.
 */
import { toNodeHandler } from "@modelcontextprotocol/node";
import { type AuthInfo, createMcpHandler } from "@modelcontextprotocol/server";
import type { Request, Response } from "express";
import type { Config } from "../../config.js";
import { describeError } from "../../errors.js";
import type { Logger } from "../../log.js";
import type { Principal } from "../../principal.js";
import { createServer, type ServerRuntime } from "../../server.js";
import { reportLostResponses } from "./deliveries.js";

/**
 * What the server factory needs of the HTTP request it serves: who calls, and the response whose early
 * close means the results were lost. It rides in `authInfo`, which the SDK passes through untouched from
 * the request to the factory.
 */
interface PerRequestCall {
  principal: Principal;
  res: Response;
  body: unknown;
}

export interface PerRequestHandler {
  /** Serves one POST (its body already parsed) for `principal`. */
  serve(req: Request, res: Response, principal: Principal): Promise<void>;
  /** Aborts exchanges still in flight and closes their servers (shutdown, after the grace period). */
  close(): Promise<void>;
}

export function createPerRequestHandler(
  config: Config,
  runtime: ServerRuntime,
  logger: Logger,
  options: { stateless: boolean; bodyLimit: number },
): PerRequestHandler {
  const handler = createMcpHandler(
    ({ authInfo }) => {
      const call = authInfo?.extra?.call as PerRequestCall;
      const server = createServer(config, { runtime, principal: call.principal });
      reportLostResponses(call.res, call.body, server);
      return server.mcp;
    },
    {
      // A stateless server serves 2025 requests this way too; otherwise they are routed to their sessions.
      legacy: options.stateless ? "stateless" : "reject",
      maxRequestBodySize: options.bodyLimit,
      onerror: (error) => logger.debug(`MCP request: ${describeError(error).text}`),
    },
  );
  const serveNode = toNodeHandler(handler, {
    maxRequestBodySize: options.bodyLimit,
    onerror: (error) => logger.error(`MCP POST failed: ${describeError(error).text}`),
  });
  return {
    async serve(req, res, principal) {
      const call: PerRequestCall = { principal, res, body: req.body };
      const auth: AuthInfo = { token: "", clientId: principal.user, scopes: [...principal.scopes], extra: { call } };
      await serveNode(Object.assign(req, { auth }), res, req.body);
    },
    close: () => handler.close(),
  };
}
