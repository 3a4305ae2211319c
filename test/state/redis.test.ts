/**
 * Upstream slot leases in a real Redis (Debian's redis-server on 127.0.0.1): one budget for several
 * pools (replicas), FIFO across them, leases of a dead pool lapsing, Redis away and back.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { redactedRedisUrl } from "../../src/config.js";
import { FluxFillError } from "../../src/errors.js";
import { silentLogger } from "../../src/log.js";
import { RedisSlotPool } from "../../src/state/redis.js";
import { RedisConnection } from "../../src/state/redis-connection.js";
import type { SlotLease, SlotWait } from "../../src/state/slots.js";
import { type RedisServer, startRedis } from "../helpers/redis-server.js";

let redis: RedisServer;
const pools: RedisConnection[] = [];
const connections = new Map<RedisSlotPool, RedisConnection>();
let keyNumber = 0;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.close();
});
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
  await redis.start();
});

function pool(leaseMs = 30_000): RedisSlotPool {
  const connection = new RedisConnection({ settings: { url: redis.url, leaseMs }, logger: silentLogger });
  const created = new RedisSlotPool(connection, { pollMs: 200 });
  pools.push(connection);
  connections.set(created, connection);
  return created;
}

/** A fresh key per test, so tests do not see each other's leases. */
const newKey = () => `test-${process.pid}-${++keyNumber}`;

const never = () => new AbortController().signal;

/** Resolves to the order in which the promises settled. */
function settleOrder(named: Record<string, Promise<unknown>>): Promise<string[]> {
  const order: string[] = [];
  return Promise.all(Object.entries(named).map(([name, p]) => p.then(() => order.push(name)))).then(() => order);
}

describe("Redis slot leases", () => {
  it("is one budget for every pool, granted in arrival order across them", async () => {
    const [a, b] = [pool(), pool()];
    const key = newKey();
    const held = [await a.acquire(key, 2, { signal: never() }), await b.acquire(key, 2, { signal: never() })];
    const waits: SlotWait[] = [];
    const first = a.acquire(key, 2, { signal: never(), onWait: (w) => waits.push(w) });
    await expect.poll(() => waits.length).toBe(1);
    const waitsOfSecond: SlotWait[] = [];
    const second = b.acquire(key, 2, { signal: never(), onWait: (w) => waitsOfSecond.push(w) });
    await expect.poll(() => waitsOfSecond.length).toBe(1);
    const third = a.acquire(key, 2, { signal: never() });
    expect(waits[0]).toMatchObject({ position: 1, active: 2, limit: 2 });
    let granted = 0;
    for (const p of [first, second, third]) void p.then(() => (granted += 1));
    // Nothing more is granted while both slots are held.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(granted).toBe(0);
    const order = settleOrder({ first, second, third });
    // One slot at a time comes free: each goes to the earliest caller still waiting, whichever pool it is in.
    held[1]!.release();
    await first;
    held[0]!.release();
    await second;
    expect(granted).toBe(2);
    (await first).release();
    expect(await order).toEqual(["first", "second", "third"]);
    for (const lease of await Promise.all([second, third])) lease.release();
  });

  it("gives a dead replica's slots back once their leases lapse", async () => {
    const key = newKey();
    const dead = pool(800);
    await dead.acquire(key, 1, { signal: never() });
    // The replica dies: its connection goes, nobody renews or releases its lease.
    await connections.get(dead)?.close();
    const alive = pool(800);
    const started = Date.now();
    const lease = await alive.acquire(key, 1, { signal: never() });
    expect(Date.now() - started).toBeLessThan(10_000);
    lease.release();
  });

  it("renews a lease while it is held, so a long task keeps its slot", async () => {
    const key = newKey();
    const owner = pool(600);
    const lease = await owner.acquire(key, 1, { signal: never() });
    const other = pool(600);
    const waiting = new AbortController();
    const attempt = other.acquire(key, 1, { signal: waiting.signal });
    attempt.catch(() => undefined);
    // Three lease lifetimes pass: the renewed lease still holds the only slot.
    await new Promise((resolve) => setTimeout(resolve, 1800));
    waiting.abort(new Error("gave up"));
    await expect(attempt).rejects.toThrow("gave up");
    lease.release();
  });

  it("lets a waiting call give up its place; the one behind it moves up", async () => {
    const key = newKey();
    const a = pool();
    const held = await a.acquire(key, 1, { signal: never() });
    const leaving = new AbortController();
    const waitsOfFirst: SlotWait[] = [];
    const first = a.acquire(key, 1, { signal: leaving.signal, onWait: (w) => waitsOfFirst.push(w) });
    first.catch(() => undefined);
    await expect.poll(() => waitsOfFirst.length).toBe(1);
    const waitsOfSecond: SlotWait[] = [];
    const second = pool().acquire(key, 1, { signal: never(), onWait: (w) => waitsOfSecond.push(w) });
    await expect.poll(() => waitsOfSecond[0]?.position).toBe(2);
    leaving.abort(new Error("left"));
    await expect(first).rejects.toThrow("left");
    await expect.poll(() => waitsOfSecond.at(-1)?.position).toBe(1);
    held.release();
    (await second).release();
  });

  it("fails within seconds with an error naming Redis while it is away, and works again when it is back", async () => {
    const key = newKey();
    const a = pool();
    (await a.acquire(key, 2, { signal: never() })).release();
    expect(await a.check()).toEqual({ ok: true, where: redactedRedisUrl(redis.url) });
    await redis.stop();
    const started = Date.now();
    const error = await a.acquire(key, 2, { signal: never() }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(8000);
    expect(error).toBeInstanceOf(FluxFillError);
    expect(error).toMatchObject({
      kind: "service_unavailable",
      message: expect.stringMatching(/Redis at redis:\/\/127\.0\.0\.1:\d+\/0 cannot be reached.*nothing was submitted/),
    });
    expect(await a.check()).toMatchObject({ ok: false, problem: expect.stringContaining("Redis") });
    await redis.start();
    let lease: SlotLease | undefined;
    await expect
      .poll(
        async () => {
          lease = await a.acquire(key, 2, { signal: never() }).catch(() => undefined);
          return lease !== undefined;
        },
        { timeout: 15_000, interval: 200 },
      )
      .toBe(true);
    lease?.release();
  });

  it("never shows a password from the Redis URL", () => {
    expect(redactedRedisUrl("redis://user:s3cret@cache.internal:6380/2")).toBe("redis://cache.internal:6380/2");
  });
});
