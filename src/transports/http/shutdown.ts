/**
 * The graceful stop: refuse new requests, cancel fills still waiting in the queue (nothing was submitted),
 * wait up to the grace period for running fills and open calls, then abort the rest and close sessions.
 */
import type { Server } from "node:http";
import type { RequestHandler } from "express";
import type { Logger } from "../../log.js";
import { queuesOf } from "../../providers/queue.js";
import type { ServerRuntime } from "../../server.js";
import type { PerRequestHandler } from "./per-request.js";
import type { LegacySessions } from "./sessions.js";

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

/** Calls being answered (POST /mcp), so shutdown can wait for their replies. */
export class OpenCalls {
  private count = 0;
  private readonly listeners = new Set<() => void>();

  /** Counts a POST until its reply is sent or the client goes away. */
  readonly track: RequestHandler = (_req, res, next) => {
    this.count += 1;
    res.once("close", () => {
      this.count -= 1;
      this.changed();
    });
    next();
  };

  get open(): number {
    return this.count;
  }

  changed(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /** Resolves true once `done()` holds (checked on every change), or false after `ms`. */
  waitFor(done: () => boolean, ms: number): Promise<boolean> {
    return waitFor(
      done,
      (listener) => {
        this.listeners.add(listener);
        return () => this.listeners.delete(listener);
      },
      ms,
    );
  }
}

export interface ShutdownParts {
  httpServer: Server;
  runtime: ServerRuntime;
  /** Closed only when the HTTP server created it. */
  ownsRuntime: boolean;
  calls: OpenCalls;
  sessions: LegacySessions;
  perRequest: PerRequestHandler;
  /** Stops watching the tokens file. */
  auth: { close(): void };
  graceMs: number;
  logger: Logger;
}

export async function shutDown(parts: ShutdownParts): Promise<void> {
  const { httpServer, runtime, calls, sessions, perRequest, graceMs, logger } = parts;
  const stopped = new Promise<void>((resolve) => httpServer.close(() => resolve()));
  httpServer.closeIdleConnections();
  sessions.stopSweeping();
  parts.auth.close();
  // Calls still in the queue have not cost anything: end them now rather than start paid tasks that
  // the shutdown could cut off.
  queuesOf(runtime.deps)?.close("The server is shutting down.");
  // A 2026 listen stream never ends by itself: end it now, so it does not hold the close until the grace ends.
  await perRequest.endListenStreams();
  let fillsDone = false;
  void runtime.idle().then(() => {
    fillsDone = true;
    calls.changed();
  });
  const drained = () => fillsDone && calls.open === 0;
  if (!(await calls.waitFor(drained, graceMs))) {
    logger.warn(`shutdown: fills or calls still running after ${Math.round(graceMs / 1000)} s; aborting them`);
    runtime.abort();
    await calls.waitFor(drained, 5000);
  }
  await sessions.closeAll();
  await perRequest.close();
  httpServer.closeAllConnections();
  await stopped;
  if (parts.ownsRuntime) await runtime.close();
}
