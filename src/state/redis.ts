/**
 * Shared state of replicas in Redis. Upstream slots are leases: a sorted set per key of lease → expiry,
 * renewed while the task runs, so a dead replica's slots come back once its leases lapse. Callers wait in
 * a second sorted set ordered by arrival (an INCR counter), so the order is FIFO across replicas; every
 * check-and-take is one Lua script run atomically by Redis, with Redis's own clock (replicas' clocks may
 * differ). A waiter re-checks when any replica releases a slot (pub/sub) and at least every `pollMs`
 * (leases that lapsed are noticed that way). Waiting entries expire too, so a dead replica's waiters do
 * not block the queue.
 *
 * Redis away: a call fails within seconds with an error naming Redis and nothing submitted; the client
 * reconnects by itself and calls work again once Redis is back.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { Health } from "../results/types.js";
import { describeCause, type RedisConnection } from "./redis-connection.js";
import type { SlotLease, SlotPool, SlotRequest } from "./slots.js";

const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * KEYS: leases (lease → expiry), queue (ticket → arrival number), waiting (ticket → expiry), counter.
 * ARGV: ticket, limit, lease ms, waiting ms. Returns {granted 0/1, active, position, waiting}.
 */
const ACQUIRE = `${NOW_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for _, ticket in ipairs(lapsed) do redis.call('ZREM', KEYS[2], ticket) end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return {1, redis.call('ZCARD', KEYS[1]), 0, redis.call('ZCARD', KEYS[2])}
end
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), ARGV[1])
end
local active = redis.call('ZCARD', KEYS[1])
local rank = redis.call('ZRANK', KEYS[2], ARGV[1])
if rank < tonumber(ARGV[2]) - active then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
  return {1, active + 1, 0, redis.call('ZCARD', KEYS[2])}
end
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]), ARGV[1])
return {0, active, rank + 1, redis.call('ZCARD', KEYS[2])}`;

/** KEYS: leases. ARGV: lease, lease ms. Puts the lease back even if it lapsed meanwhile: the task still runs. */
const RENEW = `${NOW_MS}
return redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])`;

/** KEYS: leases, queue, waiting. ARGV: ticket, channel. Gives a slot or a place in the queue back. */
const RELEASE = `local held = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if held == 1 then redis.call('PUBLISH', ARGV[2], 'released') end
return held`;

interface SlotCommands {
  fluxFillAcquire(
    leases: string,
    queue: string,
    waiting: string,
    counter: string,
    ticket: string,
    limit: number,
    leaseMs: number,
    waitingMs: number,
  ): Promise<[number, number, number, number]>;
  fluxFillRenew(leases: string, ticket: string, leaseMs: number): Promise<number>;
  fluxFillRelease(leases: string, queue: string, waiting: string, ticket: string, channel: string): Promise<number>;
}

export interface RedisSlotOptions {
  /** Longest time between two checks of a waiting call. Default 1000. */
  pollMs?: number;
}

/** The slot leases of every key, over the process's Redis connection. */
export class RedisSlotPool implements SlotPool {
  readonly shared = true;
  private readonly redis: () => Promise<Redis & SlotCommands>;
  private readonly where: string;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  /** Waiting calls of this process by channel, woken when a slot is released anywhere. */
  private readonly wakers = new Map<string, Set<() => void>>();

  constructor(
    private readonly connection: RedisConnection,
    options: RedisSlotOptions = {},
  ) {
    this.where = connection.where;
    this.leaseMs = connection.leaseMs;
    this.pollMs = options.pollMs ?? 1000;
    connection.define("fluxFillAcquire", 4, ACQUIRE);
    connection.define("fluxFillRenew", 1, RENEW);
    connection.define("fluxFillRelease", 3, RELEASE);
    this.redis = () => connection.client<Redis & SlotCommands>();
    void connection.subscriber().then((subscriber) =>
      subscriber.on("message", (channel: string) => {
        for (const wake of this.wakers.get(channel) ?? []) wake();
      }),
    );
  }

  private keys(key: string) {
    const base = `flux-fill:slots:{${key}}`;
    return {
      leases: `${base}:leases`,
      queue: `${base}:queue`,
      waiting: `${base}:waiting`,
      counter: `${base}:counter`,
      channel: `${base}:released`,
    };
  }

  async acquire(key: string, limit: number, request: SlotRequest): Promise<SlotLease> {
    const { signal, onWait } = request;
    if (signal.aborted) throw signal.reason;
    const keys = this.keys(key);
    const ticket = randomBytes(12).toString("hex");
    const forget = () =>
      void this.redis()
        .then((redis) => redis.fluxFillRelease(keys.leases, keys.queue, keys.waiting, ticket, keys.channel))
        .catch(() => undefined);
    // Not awaited: the place in the queue is taken in call order; a release missed meanwhile is polled.
    this.listen(keys.channel);
    let wake: () => void = () => undefined;
    /** A slot was released while the script ran: check again at once. */
    let woken = false;
    const wakers = this.wakers.get(keys.channel) ?? new Set<() => void>();
    this.wakers.set(keys.channel, wakers);
    const waker = () => {
      woken = true;
      wake();
    };
    wakers.add(waker);
    let lastPosition = 0;
    try {
      for (;;) {
        woken = false;
        let answer: [number, number, number, number];
        try {
          answer = await (await this.redis()).fluxFillAcquire(
            keys.leases,
            keys.queue,
            keys.waiting,
            keys.counter,
            ticket,
            limit,
            this.leaseMs,
            Math.max(10_000, this.pollMs * 5),
          );
        } catch (error) {
          forget();
          throw this.connection.unreachable(error);
        }
        const [granted, active, position, waiting] = answer;
        if (signal.aborted) {
          forget();
          throw signal.reason;
        }
        if (granted === 1) return this.lease(keys, ticket);
        if (position !== lastPosition) {
          lastPosition = position;
          try {
            onWait?.({ position, waiting, active, limit });
          } catch {
            // A failing progress listener must not break the wait.
          }
        }
        if (!woken)
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, this.pollMs);
            function done() {
              clearTimeout(timer);
              signal.removeEventListener("abort", done);
              resolve();
            }
            wake = done;
            signal.addEventListener("abort", done, { once: true });
          });
        if (signal.aborted) {
          forget();
          throw signal.reason;
        }
      }
    } finally {
      wakers.delete(waker);
    }
  }

  private listen(channel: string): void {
    if (this.wakers.has(channel)) return;
    this.wakers.set(channel, new Set());
    // Missed while Redis is away or before the subscription holds: the poll covers it.
    this.connection
      .subscriber()
      .then((subscriber) => subscriber.subscribe(channel))
      .catch(() => undefined);
  }

  private lease(keys: ReturnType<RedisSlotPool["keys"]>, ticket: string): SlotLease {
    const renew = setInterval(
      () => {
        this.redis()
          .then((redis) => redis.fluxFillRenew(keys.leases, ticket, this.leaseMs))
          .catch((error: unknown) => {
            this.connection.logger.warn(
              `could not renew an upstream slot lease in Redis at ${this.where}: ${describeCause(error)}`,
            );
          });
      },
      Math.max(50, Math.floor(this.leaseMs / 3)),
    );
    renew.unref();
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        clearInterval(renew);
        // A release that does not reach Redis is not lost: the lease lapses after FLUX_FILL_REDIS_LEASE_S.
        this.redis()
          .then((redis) => redis.fluxFillRelease(keys.leases, keys.queue, keys.waiting, ticket, keys.channel))
          .catch((error: unknown) => {
            this.connection.logger.warn(
              `could not give an upstream slot back to Redis at ${this.where} (${describeCause(error)}); it comes back when its lease lapses`,
            );
          });
      },
    };
  }

  check(): Promise<Health> {
    return this.connection.check();
  }

  /** The connection is the runtime's to close. */
  async close(): Promise<void> {}
}
