/**
 * The server over MCP Streamable HTTP (`/mcp`), both protocol eras on the one endpoint, with what a shared
 * deployment needs around it (app.ts, guards.ts). Every session and request shares one runtime, so the
 * upstream queue and the shutdown wait cover all of them. The parts: eras.ts routes each request to the
 * 2025 sessions (sessions.ts) or the per-request handler (per-request.ts); shutdown.ts stops it all.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Config } from "../../config.js";
import type { Logger } from "../../log.js";
import { createRuntime, type ServerRuntime } from "../../server.js";
import { Authenticator } from "../authenticate.js";
import {
  allowedHostnames,
  checkBindSafety,
  isLoopbackHost,
  isWildcardHost,
  maxHttpBodyBytes,
  originPolicy,
} from "../http-auth.js";
import { createHttpApp } from "./app.js";
import { MCP_PATH } from "./endpoint.js";
import { routeByEra } from "./eras.js";
import { createPerRequestHandler } from "./per-request.js";
import { LegacySessions } from "./sessions.js";
import { OpenCalls, shutDown } from "./shutdown.js";

export interface HttpServerOptions {
  /** Shared by every session; one is created when absent. */
  runtime?: ServerRuntime;
  logger?: Logger;
  /** No sessions: every POST gets a fresh server (for load-balanced deployments). */
  stateless?: boolean;
  /** Allow a non-loopback bind without a token setting. */
  insecureNoAuth?: boolean;
  /** How long shutdown waits for running fills before aborting them. Default 30 000. */
  shutdownGraceMs?: number;
  /** A session with no request for this long is closed. Default 30 minutes. */
  sessionIdleMs?: number;
  /** Most open sessions; at the cap the least recently used idle one is ended. Default from the config. */
  maxSessions?: number;
  /** Most open sessions of one user (same rule). Default from the config. */
  maxSessionsPerUser?: number;
  /** How often the tokens file is checked for changes. Default 2000 ms. */
  tokensFileIntervalMs?: number;
}

export interface HttpServerHandle {
  /** The MCP endpoint, e.g. http://127.0.0.1:3000/mcp. */
  url: string;
  port: number;
  sessionCount(): number;
  /** Bytes and events of replay data kept across all sessions. */
  replayUsage(): { bytes: number; events: number };
  /** Reload the tokens file now (as on SIGHUP); false when there is none or it is invalid. */
  reloadTokens(): boolean;
  /**
   * Graceful stop: refuse new requests, cancel fills still waiting in the queue (nothing was submitted),
   * wait up to the grace period for running fills and open calls, then abort the rest and close sessions.
   */
  close(): Promise<void>;
}

export async function startHttpServer(config: Config, options: HttpServerOptions = {}): Promise<HttpServerHandle> {
  const { host, port } = config.http;
  const ownsRuntime = options.runtime === undefined;
  const runtime = options.runtime ?? createRuntime(config, options.logger ? { logger: options.logger } : {});
  const logger = options.logger ?? runtime.deps.logger;
  const auth = new Authenticator(
    config,
    logger,
    options.tokensFileIntervalMs === undefined ? {} : { watchIntervalMs: options.tokensFileIntervalMs },
  );
  try {
    checkBindSafety({ host, authenticated: auth.required, insecureNoAuth: options.insecureNoAuth === true });
  } catch (error) {
    auth.close();
    throw error;
  }
  const hostnames = allowedHostnames(host, config.http.allowedHosts);
  const stateless = options.stateless === true;
  const bodyLimit = maxHttpBodyBytes(config);

  const perRequest = createPerRequestHandler(config, runtime, logger, { stateless, bodyLimit });
  const sessions = new LegacySessions(config, runtime, logger, {
    idleMs: options.sessionIdleMs ?? 30 * 60_000,
    maxSessions: options.maxSessions ?? config.http.maxSessions,
    maxSessionsPerUser: options.maxSessionsPerUser ?? config.http.maxSessionsPerUser,
    replayBudgetBytes: config.http.replayBudgetBytes,
  });
  const calls = new OpenCalls();
  let closing: Promise<void> | undefined;
  const app = createHttpApp({
    config,
    runtime,
    logger,
    auth,
    hostnames,
    origins: originPolicy(host, config.http.allowedOrigins),
    bodyLimit,
    routes: routeByEra({ sessions, perRequest, stateless, bodyLimit, logger }),
    trackCall: calls.track,
    isClosing: () => closing !== undefined,
    sessionCount: () => sessions.size,
  });

  const httpServer: Server = await new Promise((resolve, reject) => {
    const server = app.listen(port, host, (error?: Error) => (error ? reject(error) : resolve(server)));
    server.once("error", reject);
  });
  const address = httpServer.address() as AddressInfo;
  const urlHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${isWildcardHost(host) ? "127.0.0.1" : urlHost}:${address.port}${MCP_PATH}`;
  if (hostnames === undefined) {
    logger.warn(
      `listening on ${host} without a Host allow-list: set FLUX_FILL_HTTP_ALLOWED_HOSTS to the names clients use to reach this server`,
    );
  }
  if (!auth.required && options.insecureNoAuth && !isLoopbackHost(host)) {
    logger.warn("no token settings and --insecure-no-auth: anyone who can reach this port can run paid fills");
  }

  return {
    url,
    port: address.port,
    sessionCount: () => sessions.size,
    replayUsage: () => sessions.replayUsage(),
    reloadTokens: () => auth.tokensFile?.reload("reload requested") ?? false,
    close: () => {
      closing ??= shutDown({
        httpServer,
        runtime,
        ownsRuntime,
        calls,
        sessions,
        perRequest,
        auth,
        graceMs: options.shutdownGraceMs ?? 30_000,
        logger,
      });
      return closing;
    },
  };
}
