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
  /**
   * Ends every open `subscriptions/listen` stream with the spec's final listen result (shutdown: such a
   * stream never ends by itself, so it would hold the close for the whole grace period).
   */
  endListenStreams(): Promise<void>;
  /** Aborts exchanges still in flight and closes their servers (shutdown, after the grace period). */
  close(): Promise<void>;
}

/** A `subscriptions/listen` request: its stream stays open until the client or the server ends it. */
function isListenRequest(body: unknown): boolean {
  return (body as { method?: unknown } | null)?.method === "subscriptions/listen";
}

export function createPerRequestHandler(
  config: Config,
  runtime: ServerRuntime,
  logger: Logger,
  options: { stateless: boolean; bodyLimit: number },
): PerRequestHandler {
  const factory = ({ authInfo }: { authInfo?: AuthInfo }) => {
    const call = authInfo?.extra?.call as PerRequestCall;
    const server = createServer(config, { runtime, principal: call.principal });
    reportLostResponses(call.res, call.body, server);
    return server.mcp;
  };
  const handlerOptions = {
    // A stateless server serves 2025 requests this way too; otherwise they are routed to their sessions.
    legacy: options.stateless ? "stateless" : "reject",
    maxRequestBodySize: options.bodyLimit,
    onerror: (error: Error) => logger.debug(`MCP request: ${describeError(error).text}`),
  } as const;
  const calls = createMcpHandler(factory, handlerOptions);
  // Listen streams get a handler of their own, on the same event bus: the SDK ends them only in its
  // close(), which also tears down the calls in flight, and shutdown must let those finish.
  const listens = createMcpHandler(factory, { ...handlerOptions, bus: calls.bus });
  const nodeOptions = {
    maxRequestBodySize: options.bodyLimit,
    onerror: (error: Error) => logger.error(`MCP POST failed: ${describeError(error).text}`),
  };
  const serveCall = toNodeHandler(calls, nodeOptions);
  const serveListen = toNodeHandler(listens, nodeOptions);
  return {
    async serve(req, res, principal) {
      const call: PerRequestCall = { principal, res, body: req.body };
      const auth: AuthInfo = { token: "", clientId: principal.user, scopes: [...principal.scopes], extra: { call } };
      const serveNode = isListenRequest(req.body) ? serveListen : serveCall;
      await serveNode(Object.assign(req, { auth }), res, req.body);
    },
    endListenStreams: () => listens.close(),
    close: async () => {
      await Promise.all([listens.close(), calls.close()]);
    },
  };
}
