/**
 * The never-pay-twice state in a real Redis (Debian's redis-server on 127.0.0.1), as two replicas see it:
 * two connections, each with its own replica id.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FluxFillError } from "../../src/errors.js";
import { silentLogger } from "../../src/log.js";
import { RedisConnection } from "../../src/state/redis-connection.js";
import { redisPaidTaskState } from "../../src/state/redis-paid.js";
import type { JournalEntry, PaidTaskState, SharedOutcome } from "../../src/state/types.js";
import { type RedisServer, startRedis } from "../helpers/redis-server.js";

let redis: RedisServer;
const connections: RedisConnection[] = [];
let n = 0;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.close();
});
afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.close()));
});

function replica(leaseMs = 30_000): { state: PaidTaskState; connection: RedisConnection } {
  const connection = new RedisConnection({ settings: { url: redis.url, leaseMs }, logger: silentLogger });
  connections.push(connection);
  return { state: redisPaidTaskState(connection, { startedNothing: () => false }), connection };
}

/** A fresh identity per test (the Redis is shared by the file's tests). */
const identity = () => `identity-${process.pid}-${++n}`;

function entry(upstreamId: string, id: string): JournalEntry {
  return {
    upstream_id: upstreamId,
    polling_url: `http://127.0.0.1:1/v1/get_result?id=${upstreamId}`,
    identity: id,
    provider: "bfl",
    kind: "fill",
    submitted_at: new Date().toISOString(),
    owner_pid: 1,
    cost: 5,
    params: { prompt: "p", seed: 1 },
    inputs: {
      image: { source: "/x.png", width: 4, height: 3, format: "png" },
      mask: { source: "alpha", coverage: 0.5 },
    },
  };
}

/** Outcomes are result ids here; loading one from "the store" is the identity function. */
const byId: SharedOutcome<string> = { idOf: (outcome) => outcome, load: async (id) => `loaded ${id}` };

describe("Redis paid-task state", () => {
  it("counts credits once for every replica: concurrent reservations stop at the limit", async () => {
    const [a, b] = [replica(), replica()];
    const now = Date.UTC(2031, 0, 2, 12);
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).state.credits.reserve(5, 32, now)),
    );
    expect(outcomes.filter((o) => o.ok)).toHaveLength(6);
    expect(await a.state.credits.spent(now)).toBe(30);
    const first = outcomes.find((o) => o.ok);
    if (!first?.ok) throw new Error("no reservation");
    await b.state.credits.settle(first.reservation, 4.5);
    expect(await a.state.credits.spent(now)).toBe(29.5);
    expect(await a.state.credits.spent(now + 24 * 3600_000)).toBe(0);
  });

  it("hands an undelivered result to one caller on any replica, within the window, never after it was forgotten", async () => {
    const [a, b] = [replica(), replica()];
    const id = identity();
    await a.state.undelivered.remember(id, "20261202-100000-aaaaaaaa", 1000);
    const takes = await Promise.all([a, b, a, b].map((r) => r.state.undelivered.take(id, 2000, 5000)));
    expect(takes.filter(Boolean)).toEqual([{ resultId: "20261202-100000-aaaaaaaa", savedAt: 1000 }]);
    await a.state.undelivered.remember(id, "20261202-100000-bbbbbbbb", 1000);
    expect(await b.state.undelivered.take(id, 10_000, 5000)).toBeUndefined(); // too old
    await a.state.undelivered.remember(id, "20261202-100000-cccccccc", 9000);
    await b.state.undelivered.forget(id, "20261202-100000-cccccccc");
    expect(await a.state.undelivered.take(id, 10_000, 5000)).toBeUndefined();
  });

  it("lets a replica adopt only the journalled tasks of a replica that is gone, once", async () => {
    const owner = replica(600);
    const [b, c] = [replica(600), replica(600)];
    await owner.state.journal.record(entry(`task-alive-${n}`, identity()));
    expect(await b.state.journal.unfinished()).toEqual([]); // its replica is alive
    const dead = replica(600);
    const orphan = entry(`task-orphan-${++n}`, identity());
    await dead.state.journal.record(orphan);
    // The replica dies without a word: its liveness key lapses.
    (await dead.connection.client()).disconnect();
    clearInterval((dead.connection as unknown as { heartbeat: NodeJS.Timeout }).heartbeat);
    await expect
      .poll(async () => (await Promise.all([b, c].map((r) => r.state.journal.unfinished()))).flat(), {
        timeout: 10_000,
        interval: 100,
      })
      .toEqual([{ ...orphan, owner_pid: process.pid }]);
    // Adopted once: neither asks for it again.
    expect([...(await b.state.journal.unfinished()), ...(await c.state.journal.unfinished())]).toEqual([]);
    await b.state.journal.finish(orphan.upstream_id);
    await c.state.journal.finish(orphan.upstream_id);
  });

  it("runs an identical request once across replicas: the other waits and gets the saved result", async () => {
    const [a, b] = [replica(), replica()];
    const id = identity();
    let finish: (outcome: string) => void = () => undefined;
    let starts = 0;
    const start = () => {
      starts += 1;
      return new Promise<string>((resolve) => {
        finish = resolve;
      });
    };
    const onA = a.state.inFlight.join(id, {}, start, byId);
    await expect.poll(() => starts).toBe(1);
    const progress: string[] = [];
    const onB = b.state.inFlight.join<string, { status: string }>(
      id,
      { onProgress: (p) => progress.push(p.status) },
      start,
      byId,
    );
    await expect.poll(() => progress).toEqual(["Attached"]);
    finish("20261202-120000-dddddddd");
    expect(await onA.result).toBe("20261202-120000-dddddddd");
    expect(await onB.result).toBe("loaded 20261202-120000-dddddddd");
    expect(starts).toBe(1);
    // A later identical call runs afresh (the finished run no longer holds the request).
    const later = b.state.inFlight.join(id, {}, async () => "fresh", byId);
    expect(await later.result).toBe("fresh");
  });

  it("passes a failed run's error to the callers that waited on it elsewhere", async () => {
    const [a, b] = [replica(), replica()];
    const id = identity();
    let fail: (error: Error) => void = () => undefined;
    const onA = a.state.inFlight.join(
      id,
      {},
      () =>
        new Promise<string>((_, reject) => {
          fail = reject;
        }),
      byId,
    );
    onA.result.catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    let startedOnB = false;
    const onB = b.state.inFlight.join(
      id,
      {},
      async () => {
        startedOnB = true;
        return "second";
      },
      byId,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    fail(new FluxFillError("upstream_moderated", "The upstream refused the request."));
    await expect(onB.result).rejects.toMatchObject({ kind: "upstream_moderated" });
    expect(startedOnB).toBe(false);
  });
});
