/**
 * The server over MCP Streamable HTTP (`/mcp`), built on the SDK's transport and Host-header middleware,
 * with what a shared deployment needs around it: bearer auth (one token, named tokens, OAuth JWTs) that
 * tells who is calling, Protected Resource Metadata, Host/Origin checks, a body limit sized for inline
 * images, health and readiness probes, bounded sessions (each of one user) and replay memory, and a
 * graceful shutdown that lets running fills finish and save. Every session shares one runtime, so the
 * upstream queue and the shutdown wait cover all of them.
 */
import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { hostHeaderValidation } from "@modelcontextprotocol/express";
import { NodeStreamableHTTPServerTransport, toNodeHandler } from "@modelcontextprotocol/node";
import { type AuthInfo, createMcpHandler, isInitializeRequest, isLegacyRequest } from "@modelcontextprotocol/server";
import express, { type NextFunction, type Request, type RequestHandler, type Response } from "express";
import { type Config, effectiveProvider, providerKey } from "../config.js";
import { KEYS } from "../providers/index.js";
import { segmenterProblem } from "../segmentation/index.js";
import { describeError } from "../errors.js";
import type { Logger } from "../log.js";
import { untilUtcMidnight } from "../pay-once.js";
import { queuesOf } from "../providers/queue.js";
import { utcDay } from "../state/files.js";
import { createRuntime, createServer, type FluxFillServer, SERVER_VERSION, type ServerRuntime } from "../server.js";
import type { Principal } from "../principal.js";
import { Authenticator } from "./authenticate.js";
import { BoundedEventStore, DEFAULT_EVENT_STORE_LIMITS, ReplayBudget } from "./event-store.js";
import {
  allowedHostnames,
  checkBindSafety,
  formatMegabytes,
  isLoopbackHost,
  isWildcardHost,
  maxHttpBodyBytes,
  originAllowed,
  originPolicy,
} from "./http-auth.js";

export const MCP_PATH = "/mcp";

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

interface Session {
  /** Only this user's requests may use the session. */
  user: string;
  server: FluxFillServer;
  transport: NodeStreamableHTTPServerTransport;
  events: BoundedEventStore;
  lastSeen: number;
  /** Requests of this session still being answered (a GET stream counts while it is open). */
  open: number;
}

/** A JSON-RPC error response for problems found before the MCP layer (no request id is known yet). */
function jsonRpcError(
  res: Response,
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  res.status(status).set(headers).json({ jsonrpc: "2.0", id: null, error: { code, message } });
}

/** The answer for an unknown or expired Mcp-Session-Id, the same on every method. */
function sessionNotFound(res: Response): void {
  jsonRpcError(
    res,
    404,
    -32001,
    "Session not found; it may have expired or the server restarted. Initialize a new session.",
  );
}

/** Resolves when `done()` holds, re-checking whenever `changed` fires, or after `ms` (false then). */
function waitFor(done: () => boolean, subscribe: (listener: () => void) => () => void, ms: number): Promise<boolean> {
  if (done()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      unsubscribe();
      resolve(false);
    }, ms);
    const unsubscribe = subscribe(() => {
      if (!done()) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(true);
    });
  });
}

/** The ids of the JSON-RPC requests in a POST body (one message or a batch). */
function requestIdsOf(body: unknown): Array<string | number> {
  const messages = Array.isArray(body) ? body : [body];
  return messages.flatMap((m) => {
    const id = (m as { id?: unknown; method?: unknown } | null)?.id;
    return (typeof id === "string" || typeof id === "number") && typeof (m as { method?: unknown }).method === "string"
      ? [id]
      : [];
  });
}

/**
 * What the per-request handler's server factory needs of the HTTP request it serves: who calls, and the
 * response whose early close means the results were lost. It rides in `authInfo`, which the SDK passes
 * through untouched from the request to the factory.
 */
interface PerRequestCall {
  principal: Principal;
  res: Response;
  body: unknown;
}

/** The request's headers as the Fetch API takes them (Node gives repeated ones as arrays). */
function fetchHeaders(req: Request): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return headers;
}

/** A response stream that closed before it finished: its callers never got their results. */
function reportLostResponses(res: Response, body: unknown, server: FluxFillServer): void {
  res.once("close", () => {
    if (!res.writableFinished) server.deliveries.lost(requestIdsOf(body));
  });
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
  const origins = originPolicy(host, config.http.allowedOrigins);
  const stateless = options.stateless === true;
  const graceMs = options.shutdownGraceMs ?? 30_000;
  const idleMs = options.sessionIdleMs ?? 30 * 60_000;
  const maxSessions = options.maxSessions ?? config.http.maxSessions;
  const maxSessionsPerUser = options.maxSessionsPerUser ?? config.http.maxSessionsPerUser;
  const replayBudget = new ReplayBudget(config.http.replayBudgetBytes);
  const bodyLimit = maxHttpBodyBytes(config);

  // 2026-07-28 requests (and every request of a --stateless server) are served one at a time by the
  // SDK's per-request handler, each by a fresh server of its caller; 2025 clients keep their sessions.
  const perRequest = createMcpHandler(
    ({ authInfo }) => {
      const call = authInfo?.extra?.call as PerRequestCall;
      const server = createServer(config, { runtime, principal: call.principal });
      reportLostResponses(call.res, call.body, server);
      return server.mcp;
    },
    {
      legacy: stateless ? "stateless" : "reject",
      maxRequestBodySize: bodyLimit,
      onerror: (error) => logger.debug(`MCP request: ${describeError(error).text}`),
    },
  );
  const servePerRequest = toNodeHandler(perRequest, {
    maxRequestBodySize: bodyLimit,
    onerror: (error) => logger.error(`MCP POST failed: ${describeError(error).text}`),
  });

  const sessions = new Map<string, Session>();
  /** Calls being answered (POST /mcp), so shutdown can wait for their replies. */
  let openPosts = 0;
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const listener of [...listeners]) listener();
  };
  const subscribe = (listener: () => void) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  };
  let closing: Promise<void> | undefined;

  const app = express();
  app.disable("x-powered-by");

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok", version: SERVER_VERSION });
  });

  /** The day's spend for /readyz; never fails the probe. */
  const creditsToday = async () => {
    const now = Date.now();
    const spent = await runtime.deps.paid.credits.spent(now).catch(() => undefined);
    return {
      day: utcDay(now),
      spent: spent ?? null,
      limit: config.dailyCreditLimit ?? null,
      resets_at: new Date(now + untilUtcMidnight(now)).toISOString(),
    };
  };

  app.get("/readyz", async (_req, res) => {
    const provider = effectiveProvider(config);
    const upstreamConfigured = provider === "local" || providerKey(config, provider) !== undefined;
    const [results, redis] = await Promise.all([runtime.deps.results.check(), runtime.deps.slots.check()]);
    const segmenter = segmenterProblem(config);
    const ready = closing === undefined && upstreamConfigured && results.ok && (redis?.ok ?? true) && !segmenter;
    const queue = Object.values(queuesOf(runtime.deps)?.snapshot() ?? {}).reduce(
      (sum, q) => ({ active: sum.active + q.active, waiting: sum.waiting + q.waiting }),
      { active: 0, waiting: 0 },
    );
    res.status(ready ? 200 : 503).json({
      status: closing !== undefined ? "shutting_down" : ready ? "ready" : "not_ready",
      checks: {
        provider: {
          ok: upstreamConfigured,
          name: provider,
          ...(upstreamConfigured ? {} : { problem: `${KEYS[provider].setting} is not set` }),
        },
        // Which segmenter object entries go through (FLUX_FILL_SEGMENTER; fal is paid and sees the photo).
        segmenter: {
          ok: segmenter === undefined,
          name: runtime.deps.segmenter.name,
          hosted: runtime.deps.segmenter.hosted,
          ...(segmenter === undefined ? {} : { problem: segmenter }),
        },
        // The results store: the output directory, or a bucket (with the results waiting to be uploaded).
        [config.results.kind === "s3" ? "results" : "output_dir"]: results,
        ...(redis === undefined ? {} : { redis }),
      },
      fills: { running: queue.active, waiting: queue.waiting },
      credits: await creditsToday(),
      sessions: sessions.size,
    });
  });

  const refuseWhileClosing: RequestHandler = (_req, res, next) => {
    if (closing === undefined) return next();
    jsonRpcError(res, 503, -32000, "The server is shutting down; connect again shortly.", { Connection: "close" });
  };

  // Host: the SDK's DNS-rebinding middleware, given the names this server answers to.
  const checkHost: RequestHandler = hostnames ? hostHeaderValidation(hostnames) : (_req, _res, next) => next();

  const checkOrigin: RequestHandler = (req, res, next) => {
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

  const preflight: RequestHandler = (_req, res) => {
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

  /** Who is calling, for the handlers after it (`res.locals.principal`); refusals carry the challenge. */
  const checkAuth: RequestHandler = (req, res, next) => {
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
  const principalOf = (res: Response): Principal => res.locals.principal as Principal;

  // RFC 9728 Protected Resource Metadata, at the path-inserted and the root well-known URLs; public, so
  // any origin may read it.
  const oauth = auth.oauth;
  if (oauth !== undefined) {
    for (const metadataPath of oauth.metadataPaths(MCP_PATH)) {
      app.options(metadataPath, (_req, res) => {
        res.status(204).set({ "Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET" }).end();
      });
      app.get(metadataPath, (_req, res) => {
        res.set({ "Access-Control-Allow-Origin": "*", "Cache-Control": "max-age=300" });
        res.json(oauth.protectedResourceMetadata());
      });
    }
  }

  const parseBody = express.json({ limit: bodyLimit });

  /** Counts a POST until its reply is sent or the client goes away. */
  const trackPost: RequestHandler = (_req, res, next) => {
    openPosts += 1;
    res.once("close", () => {
      openPosts -= 1;
      changed();
    });
    next();
  };

  const guards = [refuseWhileClosing, checkHost, checkOrigin];
  app.options(MCP_PATH, ...guards, preflight);
  app.post(MCP_PATH, ...guards, checkAuth, trackPost, parseBody, (req, res) => void handlePost(req, res));
  app.get(MCP_PATH, ...guards, checkAuth, (req, res) => void handleSessionRequest(req, res));
  app.delete(MCP_PATH, ...guards, checkAuth, (req, res) => void handleSessionRequest(req, res));
  app.all(MCP_PATH, (_req, res) => {
    jsonRpcError(res, 405, -32000, "Method not allowed.", { Allow: "GET, POST, DELETE, OPTIONS" });
  });
  app.use((_req, res) => {
    res.status(404).json({ error: `Not found. The MCP endpoint is ${MCP_PATH}; probes are /healthz and /readyz.` });
  });
  // Body errors (size, JSON) become JSON-RPC errors; the limit is named so the caller knows what to change.
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = error as { type?: string; status?: number; length?: number; limit?: number };
    if (e.type === "entity.too.large" || e.status === 413) {
      const size = typeof e.length === "number" && Number.isFinite(e.length) ? `${formatMegabytes(e.length)}, ` : "";
      jsonRpcError(
        res,
        413,
        -32600,
        `Request body too large (${size}over this server's limit of ${formatMegabytes(bodyLimit)}, ${bodyLimit} bytes, set by FLUX_FILL_MAX_INPUT_MB=${formatMegabytes(config.maxInputBytes).replace(" MB", "")} for image and mask as base64). Pass the image and mask as file paths or URLs instead of inline data, or raise FLUX_FILL_MAX_INPUT_MB on the server.`,
      );
      return;
    }
    if (e.type === "entity.parse.failed") {
      jsonRpcError(res, 400, -32700, "Parse error: the request body is not valid JSON.");
      return;
    }
    if (typeof e.status === "number" && e.status >= 400 && e.status < 500) {
      jsonRpcError(res, e.status, -32600, `Bad request: ${describeError(error).text}`);
      return;
    }
    logger.error(`HTTP request failed: ${describeError(error).text}`);
    jsonRpcError(res, 500, -32603, "Internal server error.");
  });

  async function closeSession(id: string, session: Session): Promise<void> {
    sessions.delete(id);
    session.events.clear();
    await session.transport.close().catch(() => undefined);
    await session.server.mcp.close().catch(() => undefined);
  }

  /** The least recently used session with no request open, among those `which` picks. */
  function leastRecentlyUsedIdle(which: (session: Session) => boolean): [string, Session] | undefined {
    let found: [string, Session] | undefined;
    for (const entry of sessions) {
      const session = entry[1];
      if (session.open > 0 || !which(session)) continue;
      if (found === undefined || session.lastSeen < found[1].lastSeen) found = entry;
    }
    return found;
  }

  /**
   * Room for a new session of `user`: at a cap the least recently used idle session (the user's own at
   * the per-user cap) is ended, since clients often leave without a DELETE. Undefined when there is room;
   * else the reason no session could be ended (every one is busy).
   */
  async function makeRoomFor(user: string): Promise<string | undefined> {
    const own = (session: Session) => session.user === user;
    if ([...sessions.values()].filter(own).length >= maxSessionsPerUser) {
      const victim = leastRecentlyUsedIdle(own);
      if (victim === undefined) return `Too many open sessions for this user (${maxSessionsPerUser}), all busy`;
      logger.info(`ending session ${victim[0].slice(0, 8)} of ${user}: least recently used at the per-user cap`);
      await closeSession(...victim);
    }
    if (sessions.size >= maxSessions) {
      const victim = leastRecentlyUsedIdle(() => true);
      if (victim === undefined) return `Too many open sessions (${maxSessions}), all busy`;
      logger.info(`ending session ${victim[0].slice(0, 8)}: least recently used at the cap of ${maxSessions}`);
      await closeSession(...victim);
    }
    return undefined;
  }

  async function handlePost(req: Request, res: Response): Promise<void> {
    try {
      const principal = principalOf(res);
      // The SDK's own classifier: a request without the 2026-07-28 `_meta` envelope is a 2025 one.
      const legacy =
        !stateless &&
        (await isLegacyRequest(
          new Request(`http://localhost${MCP_PATH}`, { method: "POST", headers: fetchHeaders(req) }),
          req.body,
          {
            maxRequestBodySize: bodyLimit,
          },
        ));
      if (!legacy) {
        const call: PerRequestCall = { principal, res, body: req.body };
        const auth: AuthInfo = { token: "", clientId: principal.user, scopes: [...principal.scopes], extra: { call } };
        await servePerRequest(Object.assign(req, { auth }), res, req.body);
        return;
      }
      const sessionId = req.header("mcp-session-id");
      if (sessionId !== undefined) {
        const session = sessions.get(sessionId);
        // Another user's session answers like an unknown one.
        if (!session || session.user !== principal.user) {
          sessionNotFound(res);
          return;
        }
        await serveInSession(session, req, res, req.body);
        return;
      }
      if (!isInitializeRequest(req.body)) {
        jsonRpcError(
          res,
          400,
          -32000,
          "Bad Request: no Mcp-Session-Id header, and the request is not an initialize request.",
        );
        return;
      }
      const full = await makeRoomFor(principal.user);
      if (full !== undefined) {
        jsonRpcError(res, 503, -32000, `${full}; try again later or end unused sessions (DELETE).`, {
          "Retry-After": "30",
        });
        return;
      }
      const server = createServer(config, { runtime, principal });
      const events = new BoundedEventStore(DEFAULT_EVENT_STORE_LIMITS, replayBudget);
      const session: Session = {
        user: principal.user,
        server,
        events,
        transport: new NodeStreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          eventStore: events,
          onsessioninitialized: (id) => {
            sessions.set(id, session);
            logger.debug(`session ${id.slice(0, 8)} opened (${sessions.size} open)`);
          },
          onsessionclosed: (id) => {
            sessions.delete(id);
            events.clear();
            logger.debug(`session ${id.slice(0, 8)} closed by the client`);
          },
        }),
        lastSeen: Date.now(),
        open: 0,
      };
      session.transport.onclose = () => {
        events.clear();
        const id = session.transport.sessionId;
        if (id !== undefined && sessions.get(id) === session) sessions.delete(id);
      };
      await server.mcp.connect(session.transport);
      await serveInSession(session, req, res, req.body);
      if (session.transport.sessionId === undefined) await server.mcp.close().catch(() => undefined);
    } catch (error) {
      logger.error(`MCP POST failed: ${describeError(error).text}`);
      jsonRpcError(res, 500, -32603, "Internal server error.");
    }
  }

  async function serveInSession(session: Session, req: Request, res: Response, body?: unknown): Promise<void> {
    session.lastSeen = Date.now();
    session.open += 1;
    if (body !== undefined) reportLostResponses(res, body, session.server);
    res.once("close", () => {
      session.open -= 1;
      session.lastSeen = Date.now();
    });
    await session.transport.handleRequest(req, res, body);
  }

  /** GET (the server-to-client stream, or a resume with Last-Event-ID) and DELETE (end the session). */
  async function handleSessionRequest(req: Request, res: Response): Promise<void> {
    try {
      if (stateless) {
        jsonRpcError(res, 405, -32000, "Method not allowed: this server runs stateless (--stateless); use POST.", {
          Allow: "POST",
        });
        return;
      }
      const sessionId = req.header("mcp-session-id");
      const session = sessionId === undefined ? undefined : sessions.get(sessionId);
      if (sessionId === undefined) {
        jsonRpcError(res, 400, -32000, "Bad Request: the Mcp-Session-Id header is missing.");
        return;
      }
      if (!session || session.user !== principalOf(res).user) {
        sessionNotFound(res);
        return;
      }
      await serveInSession(session, req, res);
    } catch (error) {
      logger.error(`MCP ${req.method} failed: ${describeError(error).text}`);
      jsonRpcError(res, 500, -32603, "Internal server error.");
    }
  }

  // Sessions whose client vanished without a DELETE are closed after `idleMs` without a request.
  const sweeper = setInterval(
    () => {
      const now = Date.now();
      for (const [id, session] of sessions) {
        if (session.open === 0 && now - session.lastSeen > idleMs) {
          logger.info(`closing session ${id.slice(0, 8)}: idle for ${Math.round((now - session.lastSeen) / 1000)} s`);
          void closeSession(id, session);
        }
      }
    },
    Math.max(1000, Math.min(60_000, Math.floor(idleMs / 2))),
  );
  sweeper.unref();

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

  const close = (): Promise<void> => {
    closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeIdleConnections();
      clearInterval(sweeper);
      auth.close();
      // Calls still in the queue have not cost anything: end them now rather than start paid tasks that
      // the shutdown could cut off.
      queuesOf(runtime.deps)?.close("The server is shutting down.");
      let fillsDone = false;
      void runtime.idle().then(() => {
        fillsDone = true;
        changed();
      });
      const drained = () => fillsDone && openPosts === 0;
      if (!(await waitFor(drained, subscribe, graceMs))) {
        logger.warn(`shutdown: fills or calls still running after ${Math.round(graceMs / 1000)} s; aborting them`);
        runtime.abort();
        await waitFor(drained, subscribe, 5000);
      }
      await Promise.all([...sessions].map(([id, session]) => closeSession(id, session)));
      await perRequest.close();
      httpServer.closeAllConnections();
      await stopped;
      if (ownsRuntime) await runtime.close();
    })();
    return closing;
  };

  return {
    url,
    port: address.port,
    sessionCount: () => sessions.size,
    replayUsage: () => ({ bytes: replayBudget.bytes, events: replayBudget.events }),
    reloadTokens: () => auth.tokensFile?.reload("reload requested") ?? false,
    close,
  };
}

/** Which token kinds the server accepts, for the start-up line (no secrets). */
function authSummary(config: Config): string {
  const kinds = [
    config.http.token === undefined ? undefined : "bearer token",
    config.http.tokensFile === undefined ? undefined : `named tokens from ${config.http.tokensFile}`,
    config.http.oauth === undefined ? undefined : `OAuth tokens from ${config.http.oauth.issuer}`,
  ].filter((k) => k !== undefined);
  return kinds.length === 0 ? "no auth" : `${kinds.join(" or ")} required`;
}

export interface ServeHttpOptions extends HttpServerOptions {
  /** Signals that start the graceful shutdown. Default SIGINT and SIGTERM. */
  signals?: NodeJS.Signals[];
}

/**
 * Runs the HTTP transport until SIGINT/SIGTERM, then shuts down gracefully (see `HttpServerHandle.close`).
 * A second signal exits at once.
 */
export async function serveHttp(config: Config, options: ServeHttpOptions = {}): Promise<void> {
  const runtime = options.runtime ?? createRuntime(config, options.logger ? { logger: options.logger } : {});
  const logger = options.logger ?? runtime.deps.logger;
  const handle = await startHttpServer(config, { ...options, runtime, logger });
  const mode = options.stateless ? "stateless" : "stateful sessions";
  logger.info(
    `serving MCP over HTTP at ${handle.url} (${mode}, ${authSummary(config)}, body limit ${formatMegabytes(maxHttpBodyBytes(config))})`,
  );
  const signals = options.signals ?? ["SIGINT", "SIGTERM"];
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      for (const s of signals) process.off(s, onSignal);
      logger.info(`${signal}: no new requests; waiting for running fills to be saved`);
      const again = () => {
        logger.warn("second signal: exiting now");
        process.exit(1);
      };
      for (const s of signals) process.once(s, again);
      void handle.close().then(async () => {
        if (options.runtime === undefined) await runtime.close();
        for (const s of signals) process.off(s, again);
        logger.info("HTTP transport closed");
        resolve();
      });
    };
    for (const s of signals) process.once(s, onSignal);
  });
}
