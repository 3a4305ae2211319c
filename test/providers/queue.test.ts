import { describe, expect, it } from "vitest";
import { FluxFillError } from "../../src/errors.js";
import {
  effectiveLimit,
  FillQueue,
  nextUser,
  FillQueues,
  penaltyAfterRateLimit,
  type QueueWait,
  queuedProvider,
  queueKey,
  serviceOrder,
} from "../../src/providers/queue.js";
import type { FillContext, FillOutput, FillProgress, FillRequest, Provider } from "../../src/providers/types.js";

/** A job the test finishes by hand. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("effectiveLimit", () => {
  it("is the configured limit without a penalty or once it has expired", () => {
    expect(effectiveLimit(24, undefined, 1000)).toBe(24);
    expect(effectiveLimit(24, { limit: 5, until: 1000 }, 1000)).toBe(24);
    expect(effectiveLimit(24, { limit: 5, until: 1000 }, 2000)).toBe(24);
  });

  it("is the penalty's limit while it lasts, clamped to 1..maxActive", () => {
    expect(effectiveLimit(24, { limit: 5, until: 1001 }, 1000)).toBe(5);
    expect(effectiveLimit(24, { limit: 0, until: 1001 }, 1000)).toBe(1);
    expect(effectiveLimit(4, { limit: 9, until: 1001 }, 1000)).toBe(4);
  });
});

describe("penaltyAfterRateLimit", () => {
  const base = {
    maxActive: 24,
    now: 10_000,
    retryAfterMs: undefined,
    cooldownMs: 30_000,
    previous: undefined,
    throttled: 1,
  };

  it("keeps the tasks the upstream accepted: those running minus those refused", () => {
    expect(penaltyAfterRateLimit({ ...base, active: 24 })).toEqual({ limit: 23, until: 40_000 });
    expect(penaltyAfterRateLimit({ ...base, active: 10 })).toEqual({ limit: 9, until: 40_000 });
    // 30 sent where the upstream takes 24: six wait to resubmit.
    expect(penaltyAfterRateLimit({ ...base, maxActive: 30, active: 30, throttled: 6 })).toEqual({
      limit: 24,
      until: 40_000,
    });
    // A 429 reported before the refused job was marked still counts it.
    expect(penaltyAfterRateLimit({ ...base, active: 10, throttled: 0 }).limit).toBe(9);
  });

  it("never goes below one task", () => {
    expect(penaltyAfterRateLimit({ ...base, active: 1 }).limit).toBe(1);
    expect(penaltyAfterRateLimit({ ...base, active: 0 }).limit).toBe(1);
  });

  it("lasts Retry-After when that is longer than the cooldown", () => {
    expect(penaltyAfterRateLimit({ ...base, active: 5, retryAfterMs: 90_000 }).until).toBe(100_000);
    expect(penaltyAfterRateLimit({ ...base, active: 5, retryAfterMs: 1_000 }).until).toBe(40_000);
  });

  it("only lowers and extends a running penalty", () => {
    const previous = { limit: 3, until: 80_000 };
    // More running than the current penalty allows (they started before it): the limit stays 3.
    expect(penaltyAfterRateLimit({ ...base, active: 10, previous })).toEqual({ limit: 3, until: 80_000 });
    expect(penaltyAfterRateLimit({ ...base, active: 2, previous })).toEqual({ limit: 1, until: 80_000 });
    expect(penaltyAfterRateLimit({ ...base, active: 2, previous, retryAfterMs: 100_000 })).toEqual({
      limit: 1,
      until: 110_000,
    });
    // An expired penalty is forgotten.
    expect(penaltyAfterRateLimit({ ...base, active: 10, previous: { limit: 3, until: 5_000 } })).toEqual({
      limit: 9,
      until: 40_000,
    });
  });
});

describe("FillQueue", () => {
  it("runs at most maxActive jobs at once, starting waiters in arrival order", async () => {
    const queue = new FillQueue({ maxActive: 3, maxWaitMs: 10_000 });
    const gates = Array.from({ length: 8 }, () => deferred());
    const started: number[] = [];
    let running = 0;
    let maxRunning = 0;
    const jobs = gates.map((gate, i) =>
      queue.run(async () => {
        started.push(i);
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        await gate.promise;
        running -= 1;
        return i;
      }),
    );
    await tick();
    expect(started).toEqual([0, 1, 2]);
    expect(queue.snapshot()).toEqual({ maxActive: 3, limit: 3, active: 3, waiting: 5, throttled: 0 });
    // Finish out of order: the next waiter starts each time, in FIFO order.
    gates[1]!.resolve();
    await tick();
    expect(started).toEqual([0, 1, 2, 3]);
    for (const i of [0, 2, 3, 4, 5, 6, 7]) gates[i]!.resolve();
    expect(await Promise.all(jobs)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(maxRunning).toBe(3);
    expect(queue.snapshot()).toMatchObject({ active: 0, waiting: 0 });
  });

  it("reports each waiter's position on entry and whenever it moves", async () => {
    const queue = new FillQueue({ maxActive: 1, maxWaitMs: 10_000 });
    const release = await queue.acquire();
    const seen: Record<string, number[]> = { a: [], b: [], c: [] };
    const waits = (["a", "b", "c"] as const).map((name) =>
      queue.acquire({ onWait: (w: QueueWait) => seen[name]!.push(w.position) }),
    );
    expect(seen).toEqual({ a: [1], b: [2], c: [3] });
    release();
    const releaseA = await waits[0]!;
    expect(seen).toEqual({ a: [1], b: [2, 1], c: [3, 2] });
    releaseA();
    (await waits[1]!)();
    (await waits[2]!)();
    expect(seen.c).toEqual([3, 2, 1]);
  });

  it("repeats the position while a wait goes on, so progress keeps flowing", async () => {
    const queue = new FillQueue({ maxActive: 1, maxWaitMs: 10_000, heartbeatMs: 20 });
    const release = await queue.acquire();
    const reports: QueueWait[] = [];
    const waiting = queue.acquire({ onWait: (w) => reports.push(w) });
    await sleep(90);
    expect(reports.length).toBeGreaterThanOrEqual(3);
    expect(reports.every((r) => r.position === 1 && r.active === 1 && r.limit === 1)).toBe(true);
    expect(reports.at(-1)!.waitedMs).toBeGreaterThanOrEqual(40);
    release();
    (await waiting)();
    const count = reports.length;
    await sleep(50);
    expect(reports.length).toBe(count); // no reports after the slot was granted
  });

  it("gives up a place when the caller aborts, and the others move up", async () => {
    const queue = new FillQueue({ maxActive: 1, maxWaitMs: 10_000 });
    const release = await queue.acquire();
    const controller = new AbortController();
    const first = queue.acquire({ signal: controller.signal });
    const positions: number[] = [];
    const second = queue.acquire({ onWait: (w) => positions.push(w.position) });
    controller.abort();
    const error = await first.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FluxFillError);
    expect((error as FluxFillError).kind).toBe("cancelled");
    expect((error as FluxFillError).message).toMatch(/nothing was submitted or charged/);
    expect(positions).toEqual([2, 1]);
    expect(queue.snapshot()).toMatchObject({ active: 1, waiting: 1 });
    release();
    (await second)();
    // An already aborted signal never enters the queue.
    await expect(queue.acquire({ signal: AbortSignal.abort() })).rejects.toMatchObject({ kind: "cancelled" });
  });

  it("fails a wait that outlasts maxWaitMs with a timeout, nothing started", async () => {
    const queue = new FillQueue({ maxActive: 1, maxWaitMs: 40 });
    const release = await queue.acquire();
    const started = Date.now();
    const error = (await queue.acquire().catch((e: unknown) => e)) as FluxFillError;
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
    expect(error.kind).toBe("timeout");
    expect(error.message).toMatch(/1 may run at once per API key.*nothing was submitted/);
    expect(queue.snapshot()).toMatchObject({ active: 1, waiting: 0 });
    release();
    expect(queue.snapshot().active).toBe(0);
  });

  it("counts a release only once", async () => {
    const queue = new FillQueue({ maxActive: 2, maxWaitMs: 1000 });
    const release = await queue.acquire();
    await queue.acquire();
    release();
    release();
    expect(queue.snapshot().active).toBe(1);
  });

  it("lowers the limit after a 429 and restores it when the penalty ends, without a release", async () => {
    const queue = new FillQueue({ maxActive: 4, maxWaitMs: 10_000, rateLimitCooldownMs: 60 });
    const releases = await Promise.all([queue.acquire(), queue.acquire(), queue.acquire()]);
    queue.reportRateLimited(); // 3 running, one of them refused: keep 2
    expect(queue.snapshot()).toMatchObject({ limit: 2, active: 3 });
    let granted = false;
    const waiting = queue.acquire().then((release) => {
      granted = true;
      return release;
    });
    releases[0]!();
    await tick();
    expect(granted).toBe(false); // 2 running, limit 2
    await sleep(90);
    expect(granted).toBe(true);
    expect(queue.snapshot()).toMatchObject({ limit: 4, active: 3 });
    (await waiting)();
    releases[1]!();
    releases[2]!();
  });

  it("honours a Retry-After longer than the cooldown", () => {
    let now = 1_000_000;
    const queue = new FillQueue({ maxActive: 24, maxWaitMs: 1000, rateLimitCooldownMs: 1000, now: () => now });
    queue.reportRateLimited(5_000);
    expect(queue.snapshot().limit).toBe(1);
    now += 4_999;
    expect(queue.snapshot().limit).toBe(1);
    now += 1;
    expect(queue.snapshot().limit).toBe(24);
  });

  it("close() fails the waiting calls and refuses new ones, leaving running jobs alone", async () => {
    const queue = new FillQueue({ maxActive: 1, maxWaitMs: 10_000 });
    const release = await queue.acquire();
    const waiting = queue.acquire();
    queue.close("The server is shutting down.");
    await expect(waiting).rejects.toMatchObject({
      kind: "cancelled",
      message: expect.stringMatching(/shutting down.*nothing was submitted/),
    });
    await expect(queue.acquire()).rejects.toMatchObject({ kind: "cancelled" });
    expect(queue.snapshot().active).toBe(1);
    release();
    expect(queue.snapshot().active).toBe(0);
  });
});

describe("fair share between users", () => {
  /** Starts `count` jobs of `user` that each wait for their own gate; `started` records who got a slot, in order. */
  function burst(queue: FillQueue, user: string, count: number, started: string[]) {
    return Array.from({ length: count }, (_, i) => {
      const gate = deferred();
      const done = queue.run(
        async () => {
          started.push(`${user}${i + 1}`);
          await gate.promise;
        },
        { user },
      );
      return { gate, done };
    });
  }

  it("gives another user's call the next free slot, however long the first user's burst", async () => {
    const queue = new FillQueue({ maxActive: 4, maxWaitMs: 60_000 });
    const started: string[] = [];
    const alice = burst(queue, "alice", 12, started);
    await tick();
    const bob = burst(queue, "bob", 1, started);
    await tick();
    expect(started).toEqual(["alice1", "alice2", "alice3", "alice4"]);
    expect(queue.snapshot()).toMatchObject({ active: 4, waiting: 9 });
    alice[0]!.gate.resolve();
    await tick();
    expect(started.slice(4)).toEqual(["bob1"]);
    for (const job of [...alice, ...bob]) job.gate.resolve();
    await Promise.all([...alice, ...bob].map((j) => j.done));
    expect(started.slice(5)).toEqual(Array.from({ length: 8 }, (_, i) => `alice${i + 5}`));
  });

  it("serves waiting users in turns", async () => {
    const queue = new FillQueue({ maxActive: 1, maxWaitMs: 60_000 });
    const started: string[] = [];
    const first = burst(queue, "alice", 1, started);
    const jobs = [
      ...burst(queue, "alice", 3, started),
      ...burst(queue, "bob", 2, started),
      ...burst(queue, "carol", 1, started),
    ];
    await tick();
    first[0]!.gate.resolve();
    for (const job of jobs) job.gate.resolve();
    await Promise.all([...first, ...jobs].map((j) => j.done));
    // One slot: every user has nothing running when it frees, so they simply take turns.
    expect(started).toEqual(["alice1", "alice1", "bob1", "carol1", "alice2", "bob2", "alice3"]);
  });

  it("holds one user to maxActivePerUser while slots stay free for others", async () => {
    const queue = new FillQueue({ maxActive: 4, maxActivePerUser: 3, maxWaitMs: 60_000 });
    const started: string[] = [];
    const alice = burst(queue, "alice", 5, started);
    await tick();
    expect(queue.snapshot()).toMatchObject({ active: 3, waiting: 2 });
    const bob = burst(queue, "bob", 1, started);
    await tick();
    expect(started).toEqual(["alice1", "alice2", "alice3", "bob1"]);
    bob[0]!.gate.resolve();
    await bob[0]!.done;
    expect(queue.snapshot()).toMatchObject({ active: 3, waiting: 2 }); // alice stays at her cap
    alice[0]!.gate.resolve();
    await tick();
    expect(started.slice(4)).toEqual(["alice4"]);
    for (const job of alice) job.gate.resolve();
    await Promise.all(alice.map((j) => j.done));
    expect(queue.snapshot()).toMatchObject({ active: 0, waiting: 0 });
  });

  it("reports positions in the order calls will start", async () => {
    const queue = new FillQueue({ maxActive: 1, maxWaitMs: 60_000 });
    const gate = deferred();
    const running = queue.run(() => gate.promise, { user: "alice" });
    const positions = new Map<string, number>();
    const wait = (name: string, user: string) =>
      queue.run(async () => undefined, { user, onWait: (w) => positions.set(name, w.position) });
    const calls = [wait("a2", "alice"), wait("a3", "alice"), wait("b1", "bob")];
    await tick();
    expect(Object.fromEntries(positions)).toEqual({ a2: 2, a3: 3, b1: 1 });
    gate.resolve();
    await Promise.all([running, ...calls]);
  });

  it("nextUser and serviceOrder: fewest running first, ties by turn, caps respected", () => {
    const running = (counts: Record<string, number>) => (u: string) => counts[u] ?? 0;
    expect(nextUser(["a", "b"], running({ a: 4 }), 10)).toBe("b");
    expect(nextUser(["a", "b"], running({}), 10)).toBe("a");
    expect(nextUser(["a", "b"], running({ a: 1, b: 2 }), 2)).toBe("a");
    expect(nextUser(["a", "b"], running({ a: 2, b: 2 }), 2)).toBeUndefined();
    const waiters = ["a", "a", "a", "b", "c", "c"].map((user, i) => ({ user, i }));
    expect(serviceOrder(waiters, ["a", "b", "c"], running({ a: 2 })).map((w) => `${w.user}${w.i}`)).toEqual([
      "b3",
      "c4",
      "c5",
      "a0",
      "a1",
      "a2",
    ]);
  });
});

describe("queueKey and FillQueues", () => {
  it("files queues under a digest of the key, never the key itself", () => {
    expect(queueKey("secret-key-1")).toMatch(/^[0-9a-f]{16}$/);
    expect(queueKey("secret-key-1")).not.toContain("secret");
    expect(queueKey("secret-key-1")).toBe(queueKey("secret-key-1"));
    expect(queueKey("secret-key-1")).not.toBe(queueKey("secret-key-2"));
  });

  it("returns the same queue for the same key and separate ones for others", async () => {
    const queues = new FillQueues({ maxWaitMs: 1000 });
    const a = queues.queue("a", 2);
    expect(queues.queue("a", 99)).toBe(a);
    expect(queues.queue("b", 2)).not.toBe(a);
    await a.acquire();
    expect(queues.snapshot()).toEqual({
      a: { maxActive: 2, limit: 2, active: 1, waiting: 0, throttled: 0 },
      b: { maxActive: 2, limit: 2, active: 0, waiting: 0, throttled: 0 },
    });
    const second = await queues.queue("a", 2).acquire(); // the same queue: its second slot
    const third = a.acquire();
    expect(queues.snapshot().a).toMatchObject({ active: 2, waiting: 1 });
    queues.close("Shutting down.");
    await expect(third).rejects.toMatchObject({ kind: "cancelled" });
    await expect(queues.queue("b", 2).acquire()).rejects.toMatchObject({ kind: "cancelled" });
    second();
    expect(queues.snapshot().a).toMatchObject({ active: 1, waiting: 0 });
  });
});

describe("queuedProvider", () => {
  const request = { params: {}, checked: Promise.resolve() } as unknown as FillRequest;
  const output: FillOutput = { provider: "bfl", bytes: Buffer.from("x"), format: "jpeg", notes: [] };

  /** A provider that reports what the test says and finishes when told. */
  function fakeProvider(behaviour: (context: FillContext) => Promise<FillOutput>): Provider & { calls: number } {
    const provider = {
      name: "bfl" as const,
      estimateCredits: () => 5,
      calls: 0,
      fill: async (_request: FillRequest, context: FillContext) => {
        provider.calls += 1;
        return behaviour(context);
      },
    };
    return provider;
  }

  /** A queue with one slot, and a provider whose fills each hold it until `gate` resolves. */
  function oneSlotBehindGate() {
    const queue = new FillQueue({ maxActive: 1, maxWaitMs: 10_000 });
    const gate = deferred();
    const inner = fakeProvider(async () => {
      await gate.promise;
      return output;
    });
    return { queue, gate, inner, provider: queuedProvider(inner, queue) };
  }

  it("keeps the provider's name, queues its fills and reports Queued progress", async () => {
    const { queue, gate, inner, provider } = oneSlotBehindGate();
    expect(provider.name).toBe("bfl");
    const signal = new AbortController().signal;
    const first = provider.fill(request, { signal });
    const progress: FillProgress[] = [];
    const second = provider.fill(request, { signal, onProgress: (p) => progress.push(p) });
    await tick();
    expect(inner.calls).toBe(1);
    expect(progress).toHaveLength(1);
    expect(progress[0]).toMatchObject({
      status: "Queued",
      message: expect.stringMatching(/next in line \(1 of 1 running\)/),
    });
    gate.resolve();
    await expect(first).resolves.toBe(output);
    await expect(second).resolves.toBe(output);
    expect(inner.calls).toBe(2);
    expect(queue.snapshot().active).toBe(0);
  });

  it("never starts a call whose caller gave up while it waited, but lets a started one finish", async () => {
    const { queue, gate, inner, provider } = oneSlotBehindGate();
    const signal = new AbortController().signal;
    const firstCaller = new AbortController();
    const secondCaller = new AbortController();
    const first = provider.fill(request, { signal, abandoned: firstCaller.signal });
    const second = provider.fill(request, { signal, abandoned: secondCaller.signal });
    const third = provider.fill(request, { signal });
    await tick();
    expect(inner.calls).toBe(1);
    firstCaller.abort(); // already running: its result is still collected
    secondCaller.abort(); // still waiting: drops out, nothing submitted
    await expect(second).rejects.toMatchObject({
      kind: "cancelled",
      message: expect.stringMatching(/nothing was submitted/),
    });
    expect(queue.snapshot()).toMatchObject({ active: 1, waiting: 1 });
    gate.resolve();
    await expect(first).resolves.toBe(output);
    await expect(third).resolves.toBe(output);
    expect(inner.calls).toBe(2);
    expect(queue.snapshot().active).toBe(0);
  });

  it("a call whose checks fail while it waits leaves the queue at once with the checks' error", async () => {
    const { queue, gate, inner, provider } = oneSlotBehindGate();
    const signal = new AbortController().signal;
    const first = provider.fill(request, { signal });
    const problem = new FluxFillError("bad_input", "The mask is empty.");
    const failing = deferred();
    const checked = failing.promise.then(() => Promise.reject(problem));
    const second = provider.fill({ ...request, checked }, { signal });
    await tick();
    expect(queue.snapshot()).toMatchObject({ active: 1, waiting: 1 });
    failing.resolve();
    await expect(second).rejects.toBe(problem);
    expect(queue.snapshot()).toMatchObject({ active: 1, waiting: 0 });
    expect(inner.calls).toBe(1);
    gate.resolve();
    await expect(first).resolves.toBe(output);
  });

  it("starts nothing for a caller that had already given up", async () => {
    const queue = new FillQueue({ maxActive: 1, maxWaitMs: 10_000 });
    const inner = fakeProvider(async () => output);
    const gone = new AbortController();
    gone.abort();
    await expect(
      queuedProvider(inner, queue).fill(request, { signal: new AbortController().signal, abandoned: gone.signal }),
    ).rejects.toMatchObject({ kind: "cancelled" });
    expect(inner.calls).toBe(0);
    expect(queue.snapshot().active).toBe(0);
  });

  it("passes progress through and lowers the limit when the bfl provider reports RateLimited", async () => {
    const queue = new FillQueue({ maxActive: 5, maxWaitMs: 10_000 });
    const others = await Promise.all([queue.acquire(), queue.acquire()]);
    const seen: string[] = [];
    const snapshots: Array<{ limit: number; throttled: number }> = [];
    const provider = queuedProvider(
      fakeProvider(async (context) => {
        context.onProgress?.({ status: "RateLimited", elapsedMs: 1, message: "busy" });
        snapshots.push(queue.snapshot()); // 3 running when the 429 came, this one refused
        context.onProgress?.({ status: "RateLimited", elapsedMs: 2, message: "still busy" });
        snapshots.push(queue.snapshot()); // the same job again: still one refused
        context.onProgress?.({ status: "Submitted", elapsedMs: 3, message: "submitted" });
        snapshots.push(queue.snapshot());
        return output;
      }),
      queue,
    );
    await provider.fill(request, { signal: new AbortController().signal, onProgress: (p) => seen.push(p.status) });
    expect(seen).toEqual(["RateLimited", "RateLimited", "Submitted"]);
    expect(snapshots.map((s) => [s.limit, s.throttled])).toEqual([
      [2, 1],
      [2, 1],
      [2, 0],
    ]);
    expect(queue.snapshot()).toMatchObject({ limit: 2, throttled: 0, active: 2 });
    for (const release of others) release();
  });

  it("counts several refused jobs at once: the limit drops to what the upstream accepted", async () => {
    const queue = new FillQueue({ maxActive: 6, maxWaitMs: 10_000 });
    const gate = deferred();
    let refusals = 0;
    const provider = queuedProvider(
      fakeProvider(async (context) => {
        // Jobs 5 and 6 are refused once; the other four are accepted.
        if (refusals < 2 && queue.snapshot().active >= 5) {
          refusals += 1;
          context.onProgress?.({ status: "RateLimited", elapsedMs: 1, message: "busy" });
          await gate.promise;
          context.onProgress?.({ status: "Submitted", elapsedMs: 2, message: "submitted" });
        }
        return output;
      }),
      queue,
    );
    const signal = new AbortController().signal;
    const holds = await Promise.all([queue.acquire(), queue.acquire(), queue.acquire(), queue.acquire()]);
    const fills = [provider.fill(request, { signal }), provider.fill(request, { signal })];
    await tick();
    expect(queue.snapshot()).toMatchObject({ active: 6, throttled: 2, limit: 4 });
    gate.resolve();
    await Promise.all(fills);
    expect(queue.snapshot()).toMatchObject({ active: 4, throttled: 0, limit: 4 });
    for (const release of holds) release();
  });

  it("takes Retry-After from a final upstream_rate_limited error and frees the slot", async () => {
    let now = 5_000_000;
    const queue = new FillQueue({ maxActive: 5, maxWaitMs: 10_000, rateLimitCooldownMs: 1000, now: () => now });
    const provider = queuedProvider(
      fakeProvider(async () => {
        throw new FluxFillError("upstream_rate_limited", "busy", { details: { retryAfterMs: 20_000 } });
      }),
      queue,
    );
    await expect(provider.fill(request, { signal: new AbortController().signal })).rejects.toMatchObject({
      kind: "upstream_rate_limited",
    });
    expect(queue.snapshot()).toMatchObject({ active: 0, limit: 1 });
    now += 19_999;
    expect(queue.snapshot().limit).toBe(1);
    now += 1;
    expect(queue.snapshot().limit).toBe(5);
  });

  it("never starts a fill whose signal aborted while it waited", async () => {
    const queue = new FillQueue({ maxActive: 1, maxWaitMs: 10_000 });
    const release = await queue.acquire();
    const inner = fakeProvider(async () => output);
    const controller = new AbortController();
    const pending = queuedProvider(inner, queue).fill(request, { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ kind: "cancelled" });
    release();
    await tick();
    expect(inner.calls).toBe(0);
  });
});
