import { describe, expect, it } from "vitest";
import { MemoryInFlightRuns } from "../../src/state/memory.js";

class Dropped extends Error {}

describe("MemoryInFlightRuns", () => {
  it("runs once for every waiter of an identity, fans progress out to those still waiting, then forgets it", async () => {
    const runs = new MemoryInFlightRuns({ startedNothing: () => false });
    let starts = 0;
    let finish: (value: string) => void = () => undefined;
    let report: (p: number) => void = () => undefined;
    const start = (hooks: { onProgress: (p: number) => void }) => {
      starts += 1;
      report = hooks.onProgress;
      return new Promise<string>((resolve) => {
        finish = resolve;
      });
    };
    const seen: string[] = [];
    const leaving = new AbortController();
    const a = runs.join<string, number>("id", { onProgress: (p) => seen.push(`a${p}`) }, start);
    const b = runs.join<string, number>(
      "id",
      { onProgress: (p) => seen.push(`b${p}`), abandoned: leaving.signal },
      start,
    );
    expect([a.attached, b.attached]).toEqual([false, true]);
    await Promise.resolve();
    report(1);
    leaving.abort();
    report(2);
    finish("done");
    expect(await Promise.all([a.result, b.result])).toEqual(["done", "done"]);
    expect(seen).toEqual(["a1", "b1", "a2"]);
    expect(starts).toBe(1);
    expect(runs.size()).toBe(0);
  });

  it("signals the run once every waiter left, and restarts it for a waiter who stayed when it had started nothing", async () => {
    const runs = new MemoryInFlightRuns({ startedNothing: (error) => error instanceof Dropped });
    let starts = 0;
    const start = (hooks: { abandoned: AbortSignal }) => {
      starts += 1;
      if (starts > 1) return Promise.resolve("second run");
      return new Promise<string>((_, reject) => {
        if (hooks.abandoned.aborted) reject(new Dropped());
        hooks.abandoned.addEventListener("abort", () => reject(new Dropped()));
      });
    };
    const gone = new AbortController();
    const first = runs.join("id", { abandoned: gone.signal }, start);
    first.result.catch(() => undefined);
    gone.abort();
    const stayed = runs.join("id", {}, start);
    expect(stayed.attached).toBe(true);
    await expect(first.result).rejects.toBeInstanceOf(Dropped);
    expect(await stayed.result).toBe("second run");
    expect(starts).toBe(2);
  });
});
