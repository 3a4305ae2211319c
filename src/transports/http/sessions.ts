/**
 * 2025 clients' sessions: each belongs to the user who opened it and has its own server and resumable
 * stream transport. Bounded three ways so memory stays flat: a global and a per-user cap (at a cap the
 * least recently used idle session is ended, since clients often leave without a DELETE), an idle
 * timeout, and one replay budget shared by every session's event store.
 */
import { randomUUID } from "node:crypto";
import { NodeStreamableHTTPServerTransport } from "@modelcontextprotocol/node";
import { isInitializeRequest } from "@modelcontextprotocol/server";
import type { Request, Response } from "express";
import type { Config } from "../../config.js";
import type { Logger } from "../../log.js";
import type { Principal } from "../../principal.js";
import { createServer, type FluxFillServer, type ServerRuntime } from "../../server.js";
import { BoundedEventStore, DEFAULT_EVENT_STORE_LIMITS, ReplayBudget } from "../event-store.js";
import { reportLostResponses } from "./deliveries.js";
import { jsonRpcError } from "./endpoint.js";

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

export interface SessionLimits {
  /** A session with no request for this long is closed. */
  idleMs: number;
  /** Most open sessions. */
  maxSessions: number;
  /** Most open sessions of one user. */
  maxSessionsPerUser: number;
  /** Bytes of replay events kept across all sessions. */
  replayBudgetBytes: number;
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

export class LegacySessions {
  private readonly sessions = new Map<string, Session>();
  private readonly replayBudget: ReplayBudget;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly config: Config,
    private readonly runtime: ServerRuntime,
    private readonly logger: Logger,
    private readonly limits: SessionLimits,
  ) {
    this.replayBudget = new ReplayBudget(limits.replayBudgetBytes);
    // Sessions whose client vanished without a DELETE are closed after `idleMs` without a request.
    this.sweeper = setInterval(() => this.closeIdle(), Math.max(1000, Math.min(60_000, Math.floor(limits.idleMs / 2))));
    this.sweeper.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Bytes and events of replay data kept across all sessions. */
  replayUsage(): { bytes: number; events: number } {
    return { bytes: this.replayBudget.bytes, events: this.replayBudget.events };
  }

  /** A 2025 POST: a request in the caller's session, or an initialize that opens one. */
  async post(req: Request, res: Response, principal: Principal): Promise<void> {
    const sessionId = req.header("mcp-session-id");
    if (sessionId !== undefined) {
      const session = this.sessions.get(sessionId);
      // Another user's session answers like an unknown one.
      if (!session || session.user !== principal.user) {
        sessionNotFound(res);
        return;
      }
      await this.serve(session, req, res, req.body);
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
    const full = await this.makeRoomFor(principal.user);
    if (full !== undefined) {
      jsonRpcError(res, 503, -32000, `${full}; try again later or end unused sessions (DELETE).`, {
        "Retry-After": "30",
      });
      return;
    }
    const session = this.open(principal);
    await session.server.mcp.connect(session.transport);
    await this.serve(session, req, res, req.body);
    if (session.transport.sessionId === undefined) await session.server.mcp.close().catch(() => undefined);
  }

  /** GET (the server-to-client stream, or a resume with Last-Event-ID) and DELETE (end the session). */
  async request(req: Request, res: Response, principal: Principal): Promise<void> {
    const sessionId = req.header("mcp-session-id");
    if (sessionId === undefined) {
      jsonRpcError(res, 400, -32000, "Bad Request: the Mcp-Session-Id header is missing.");
      return;
    }
    const session = this.sessions.get(sessionId);
    if (!session || session.user !== principal.user) {
      sessionNotFound(res);
      return;
    }
    await this.serve(session, req, res);
  }

  /** Ends every session and stops the idle sweeper (shutdown). */
  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.sessions].map(([id, session]) => this.close(id, session)));
  }

  /** Stops closing idle sessions (shutdown has begun; `closeAll` ends them later). */
  stopSweeping(): void {
    clearInterval(this.sweeper);
  }

  /** A new session of `principal`, registered under its id once the SDK has initialized it. */
  private open(principal: Principal): Session {
    const events = new BoundedEventStore(DEFAULT_EVENT_STORE_LIMITS, this.replayBudget);
    const session: Session = {
      user: principal.user,
      server: createServer(this.config, { runtime: this.runtime, principal }),
      events,
      transport: new NodeStreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        eventStore: events,
        onsessioninitialized: (id) => {
          this.sessions.set(id, session);
          this.logger.debug(`session ${id.slice(0, 8)} opened (${this.sessions.size} open)`);
        },
        onsessionclosed: (id) => {
          this.sessions.delete(id);
          events.clear();
          this.logger.debug(`session ${id.slice(0, 8)} closed by the client`);
        },
      }),
      lastSeen: Date.now(),
      open: 0,
    };
    session.transport.onclose = () => {
      events.clear();
      const id = session.transport.sessionId;
      if (id !== undefined && this.sessions.get(id) === session) this.sessions.delete(id);
    };
    return session;
  }

  private async serve(session: Session, req: Request, res: Response, body?: unknown): Promise<void> {
    session.lastSeen = Date.now();
    session.open += 1;
    if (body !== undefined) reportLostResponses(res, body, session.server);
    res.once("close", () => {
      session.open -= 1;
      session.lastSeen = Date.now();
    });
    await session.transport.handleRequest(req, res, body);
  }

  private async close(id: string, session: Session): Promise<void> {
    this.sessions.delete(id);
    session.events.clear();
    await session.transport.close().catch(() => undefined);
    await session.server.mcp.close().catch(() => undefined);
  }

  private closeIdle(): void {
    const now = Date.now();
    for (const [id, session] of this.sessions) {
      if (session.open === 0 && now - session.lastSeen > this.limits.idleMs) {
        this.logger.info(
          `closing session ${id.slice(0, 8)}: idle for ${Math.round((now - session.lastSeen) / 1000)} s`,
        );
        void this.close(id, session);
      }
    }
  }

  /** The least recently used session with no request open, among those `which` picks. */
  private leastRecentlyUsedIdle(which: (session: Session) => boolean): [string, Session] | undefined {
    let found: [string, Session] | undefined;
    for (const entry of this.sessions) {
      const session = entry[1];
      if (session.open > 0 || !which(session)) continue;
      if (found === undefined || session.lastSeen < found[1].lastSeen) found = entry;
    }
    return found;
  }

  /**
   * Room for a new session of `user`: at a cap the least recently used idle session (the user's own at
   * the per-user cap) is ended. Undefined when there is room; else the reason no session could be ended
   * (every one is busy).
   */
  private async makeRoomFor(user: string): Promise<string | undefined> {
    const { maxSessions, maxSessionsPerUser } = this.limits;
    const own = (session: Session) => session.user === user;
    if ([...this.sessions.values()].filter(own).length >= maxSessionsPerUser) {
      const victim = this.leastRecentlyUsedIdle(own);
      if (victim === undefined) return `Too many open sessions for this user (${maxSessionsPerUser}), all busy`;
      this.logger.info(`ending session ${victim[0].slice(0, 8)} of ${user}: least recently used at the per-user cap`);
      await this.close(...victim);
    }
    if (this.sessions.size >= maxSessions) {
      const victim = this.leastRecentlyUsedIdle(() => true);
      if (victim === undefined) return `Too many open sessions (${maxSessions}), all busy`;
      this.logger.info(`ending session ${victim[0].slice(0, 8)}: least recently used at the cap of ${maxSessions}`);
      await this.close(...victim);
    }
    return undefined;
  }
}
