/**
 * One Redis connection (and one subscriber) per process for all shared state, and this replica's identity
 * in Redis: a key that lives while the process does (renewed every third of the lease), so others can
 * tell a dead replica's tasks and slots from a live one's.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { redactedRedisUrl, type RedisSettings } from "../config.js";
import { FluxFillError } from "../errors.js";
import type { Logger } from "../log.js";
import type { Health } from "../results/types.js";

export interface RedisConnectionOptions {
  settings: RedisSettings;
  logger: Logger;
  /** Deadline of one Redis command (and so of a call while Redis is away). Default 3000. */
  commandTimeoutMs?: number;
}

export function describeCause(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The key that says a replica is alive. */
export function replicaKey(replicaId: string): string {
  return `flux-fill:replica:${replicaId}`;
}

export class RedisConnection {
  /**
   * The command connection and the subscriber, made once ioredis is loaded: loaded on first use, so a
   * server without Redis never pays its start-up time.
   */
  private readonly connections: Promise<{ redis: Redis; subscriber: Redis }>;
  /** Lua commands to define on the connection (by the modules that use them). */
  private readonly scripts = new Map<string, { numberOfKeys: number; lua: string }>();
  /** The URL without credentials, for messages. */
  readonly where: string;
  readonly leaseMs: number;
  /** This process among the replicas. */
  readonly replicaId = randomBytes(8).toString("hex");
  readonly logger: Logger;
  private readonly heartbeat: NodeJS.Timeout;
  private down: string | undefined;

  constructor(options: RedisConnectionOptions) {
    this.where = redactedRedisUrl(options.settings.url);
    this.leaseMs = options.settings.leaseMs;
    this.logger = options.logger;
    const commandTimeout = options.commandTimeoutMs ?? 3000;
    const common = {
      commandTimeout,
      connectTimeout: commandTimeout,
      // Queued commands fail after two reconnect attempts (~1 s) instead of waiting for Redis forever.
      maxRetriesPerRequest: 2,
      // Reconnect for ever, so calls work again by themselves once Redis is back.
      retryStrategy: (times: number) => Math.min(100 * times, 1000),
    };
    this.connections = import("ioredis").then(({ Redis }) => {
      const redis = new Redis(options.settings.url, common);
      const subscriber = new Redis(options.settings.url, { ...common, maxRetriesPerRequest: null });
      this.watch(redis);
      this.watch(subscriber);
      for (const [name, script] of this.scripts) redis.defineCommand(name, script);
      return { redis, subscriber };
    });
    this.heartbeat = setInterval(() => void this.beat(), Math.max(50, Math.floor(this.leaseMs / 3)));
    this.heartbeat.unref();
  }

  /** The connection for commands, with every script defined so far. */
  async client<T extends Redis = Redis>(): Promise<T> {
    const { redis } = await this.connections;
    // During an outage calls fail at once instead of each waiting out the client's retries.
    if (this.down !== undefined && redis.status !== "ready") throw new Error(this.down);
    return redis as T;
  }

  async subscriber(): Promise<Redis> {
    return (await this.connections).subscriber;
  }

  /** Defines a Lua command (run with EVALSHA, loaded on first use) on the connection. */
  define(name: string, numberOfKeys: number, lua: string): void {
    if (this.scripts.has(name)) return;
    this.scripts.set(name, { numberOfKeys, lua });
    void this.connections.then(({ redis }) => redis.defineCommand(name, { numberOfKeys, lua }));
  }

  private watch(connection: Redis): void {
    connection.on("error", (error: Error) => {
      // One line per outage, not one per reconnect attempt.
      if (this.down === undefined)
        this.logger.warn(`Redis at ${this.where} is unreachable (${error.message}); retrying`);
      this.down = error.message;
    });
    connection.on("ready", () => {
      if (this.down !== undefined) this.logger.info(`Redis at ${this.where} is back`);
      this.down = undefined;
      void this.beat();
    });
  }

  private async beat(): Promise<void> {
    try {
      const redis = await this.client();
      await redis.set(replicaKey(this.replicaId), String(process.pid), "PX", this.leaseMs);
    } catch {
      // Redis is away: the next beat (or reconnecting) tries again.
    }
  }

  /** The error for a call that needed Redis and could not reach it (nothing was submitted). */
  unreachable(error: unknown, what = "no upstream slot could be taken"): FluxFillError {
    return new FluxFillError(
      "service_unavailable",
      `Redis at ${this.where} cannot be reached (${this.lastProblem(error)}), so ${what}: the call was not started and nothing was submitted or charged.`,
      {
        suggestion:
          "Try again shortly: calls work again by themselves once Redis is back. Operators: check the Redis server named in FLUX_FILL_REDIS_URL.",
        cause: error,
      },
    );
  }

  /** What went wrong, in the socket's words when it failed ("connect ECONNREFUSED …"), not the client's retry count. */
  private lastProblem(error: unknown): string {
    return this.down ?? describeCause(error);
  }

  async check(): Promise<Health> {
    try {
      await (await this.client()).ping();
      return { ok: true, where: this.where };
    } catch (error) {
      return { ok: false, where: this.where, problem: `Redis cannot be reached (${this.lastProblem(error)})` };
    }
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    // A replica that stops cleanly says so at once: its unfinished tasks need not wait for the lease.
    const { redis, subscriber } = await this.connections;
    if (redis.status === "ready") await redis.del(replicaKey(this.replicaId)).catch(() => undefined);
    redis.disconnect();
    subscriber.disconnect();
  }
}
