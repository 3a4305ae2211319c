/**
 * The bfl provider's poll loop on the adaptive schedule and on a fixed interval. Most tests run in
 * virtual time (injected `fetch`, `now` and `sleep`: an upstream scripted from the emulator's own progress
 * model), so they are exact and fast; one runs over real HTTP against the emulator.
 */
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FluxFillError } from "../../../src/errors.js";
import { DurationHistory } from "../../../src/providers/bfl/duration-history.js";
import { DEFAULT_TUNING } from "../../../src/providers/bfl/poll-schedule.js";
import { type BflProviderOptions, createBflProvider, SUBMIT_PATHS } from "../../../src/providers/bfl/provider.js";
import type { FillRequest } from "../../../src/providers/types.js";
import {
  type Emulator,
  makeProgressProfile,
  type ProgressMode,
  progressAt,
  seededRandom,
  startEmulator,
} from "../../helpers/emulator.js";
import { makeRequest } from "./fixtures.js";

const KEY = "poll-test-key";
// A regional BFL host, as the global one answers with (the key goes only to BFL's hosts); fetch is a stub here.
const POLL_HOST = "https://api.us1.bfl.ai";
const DELIVERY_HOST = "https://delivery.invalid";

let request: FillRequest;
let sampleJpeg: Buffer;

beforeAll(async () => {
  request = await makeRequest();
  sampleJpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: "#336699" } })
    .jpeg()
    .toBuffer();
});

interface ScriptedTask {
  durationMs: number;
  mode?: ProgressMode;
  /** Answers for the first polls instead of the task's state: an HTTP status (with optional Retry-After). */
  failures?: { status: number; retryAfter?: string }[];
}

interface VirtualRun {
  createdAt: number;
  /** Virtual times the polls were sent, and what they answered. */
  polls: { at: number; status: string }[];
  readyAt: number;
}

/** A scripted upstream in virtual time: the clock moves only when the provider sleeps. */
function virtualUpstream() {
  let clock = 1_000_000;
  let current: { task: ScriptedTask; run: VirtualRun; profile: ReturnType<typeof makeProgressProfile> } | undefined;
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
  const fakeFetch = (async (input: string | URL | Request) => {
    const url = String(input);
    if (url.endsWith(SUBMIT_PATHS.fill)) {
      return json(200, { id: "task-1", polling_url: `${POLL_HOST}/v1/get_result?id=task-1` });
    }
    if (url.startsWith(POLL_HOST)) {
      const { task, run, profile } = current!;
      const failure = task.failures?.[run.polls.length];
      if (failure) {
        run.polls.push({ at: clock, status: `HTTP ${failure.status}` });
        return json(
          failure.status,
          { detail: "busy" },
          failure.retryAfter ? { "retry-after": failure.retryAfter } : {},
        );
      }
      const elapsed = clock - run.createdAt;
      if (elapsed >= task.durationMs) {
        run.polls.push({ at: clock, status: "Ready" });
        return json(200, { id: "task-1", status: "Ready", result: { sample: `${DELIVERY_HOST}/s.jpg`, seed: 1 } });
      }
      run.polls.push({ at: clock, status: "Pending" });
      return json(200, { id: "task-1", status: "Pending", progress: progressAt(profile, elapsed), result: null });
    }
    if (url.startsWith(DELIVERY_HOST)) {
      return new Response(new Uint8Array(sampleJpeg), { status: 200, headers: { "content-type": "image/jpeg" } });
    }
    throw new Error(`unexpected fetch ${url}`);
  }) as typeof fetch;
  return {
    options: {
      fetch: fakeFetch,
      now: () => clock,
      sleep: async (ms: number, signal: AbortSignal) => {
        if (signal.aborted) throw signal.reason;
        clock += ms;
        if (signal.aborted) throw signal.reason;
      },
    } satisfies Partial<BflProviderOptions>,
    /** Runs one fill against `task`; resolves with what the upstream saw. */
    async fill(
      task: ScriptedTask,
      options: Partial<BflProviderOptions>,
      signal = new AbortController().signal,
    ): Promise<VirtualRun & { error?: FluxFillError }> {
      const run: VirtualRun = { createdAt: clock, polls: [], readyAt: clock + task.durationMs };
      const profile = makeProgressProfile(
        task.mode ?? "steps",
        task.durationMs,
        { steps: 10, jitter: 0.3, headFraction: 0.15, tailFraction: 0.05 },
        seededRandom(Math.round(task.durationMs)),
      );
      current = { task, run, profile };
      const provider = createBflProvider({
        apiKey: KEY,
        baseUrl: "https://api.invalid",
        timeoutMs: 300_000,
        ...this.options,
        ...options,
      });
      try {
        await provider.fill(request, { signal });
        return run;
      } catch (error) {
        if (!(error instanceof FluxFillError)) throw error;
        return { ...run, error };
      }
    },
  };
}

const gaps = (polls: { at: number }[]) => polls.slice(1).map((p, i) => p.at - polls[i]!.at);
const readyPoll = (run: VirtualRun) => run.polls.find((p) => p.status === "Ready")!;
const lagOf = (run: VirtualRun) => readyPoll(run).at - run.readyAt;
const rateOf = (run: VirtualRun) => run.polls.length / ((readyPoll(run).at - run.createdAt) / 1000);
const medianOf = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

describe("bfl provider, adaptive polling (no pollIntervalMs)", () => {
  it("tasks of 4–20 s with stepped progress: median lag ≤ 60 ms, ≤ 4 polls/s each, never two within 105 ms", async () => {
    const upstream = virtualUpstream();
    const durationHistory = new DurationHistory();
    const random = seededRandom(2024);
    const runs: VirtualRun[] = [];
    for (let i = 0; i < 40; i++) {
      const run = await upstream.fill({ durationMs: 4000 + random() * 16_000 }, { durationHistory });
      expect(readyPoll(run)).toBeDefined();
      runs.push(run);
    }
    expect(medianOf(runs.map(lagOf))).toBeLessThanOrEqual(60);
    for (const run of runs) {
      expect(rateOf(run)).toBeLessThanOrEqual(4);
      for (const gap of gaps(run.polls)) expect(gap).toBeGreaterThanOrEqual(DEFAULT_TUNING.minGapMs);
    }
    // Every fill taught the shared history its duration, to within the last gap.
    expect(durationHistory.size).toBe(40);
    durationHistory.values().forEach((learnt, i) => {
      const run = runs[i]!;
      const lastGap = gaps(run.polls).at(-1)!;
      expect(Math.abs(learnt - (run.readyAt - run.createdAt))).toBeLessThanOrEqual(lastGap / 2 + 1);
    });
  });

  it("without progress: polls sparsely, then learns the durations and beats a fixed 500 ms interval", async () => {
    const upstream = virtualUpstream();
    const durationHistory = new DurationHistory();
    const random = seededRandom(77);
    const durations = Array.from({ length: 60 }, () => 8000 + random() * 4000);
    const adaptive: VirtualRun[] = [];
    for (const durationMs of durations)
      adaptive.push(await upstream.fill({ durationMs, mode: "none" }, { durationHistory }));
    const fixed: VirtualRun[] = [];
    for (const durationMs of durations)
      fixed.push(await upstream.fill({ durationMs, mode: "none" }, { pollIntervalMs: 500 }));
    const learnt = adaptive.slice(10);
    expect(medianOf(learnt.map(lagOf))).toBeLessThan(medianOf(fixed.map(lagOf)) / 2);
    for (const run of adaptive) expect(rateOf(run)).toBeLessThanOrEqual(4);
    // Sparse early: few polls in the first half of a task that takes at least 8 s.
    for (const run of learnt)
      expect(run.polls.filter((p) => p.at - run.createdAt < 4000).length).toBeLessThanOrEqual(6);
  });

  it("a failed poll is retried after ≥ 250 ms (doubling), never inside the floor; Retry-After is honoured", async () => {
    const upstream = virtualUpstream();
    const run = await upstream.fill(
      { durationMs: 6000, failures: [{ status: 503 }, { status: 503 }, { status: 429, retryAfter: "3" }] },
      {},
    );
    expect(run.error).toBeUndefined();
    const [g1, g2, g3] = gaps(run.polls);
    expect(run.polls.slice(0, 3).map((p) => p.status)).toEqual(["HTTP 503", "HTTP 503", "HTTP 429"]);
    expect(g1).toBe(250);
    expect(g2).toBe(500);
    expect(g3).toBeGreaterThanOrEqual(3000);
    expect(readyPoll(run)).toBeDefined();
    for (const gap of gaps(run.polls)) expect(gap).toBeGreaterThanOrEqual(DEFAULT_TUNING.minGapMs);
  });

  it("a cancellation during an adaptive wait stops the fill, naming the task", async () => {
    const upstream = virtualUpstream();
    const controller = new AbortController();
    const options = upstream.options;
    const run = await upstream.fill(
      { durationMs: 15_000 },
      {
        sleep: async (ms, signal) => {
          await options.sleep(ms, signal);
          if (options.now() - 1_000_000 > 3000) controller.abort();
          if (signal.aborted) throw signal.reason;
        },
      },
      controller.signal,
    );
    expect(run.error?.kind).toBe("cancelled");
    expect(run.error?.message).toContain("task-1");
    expect(run.polls.some((p) => p.status === "Ready")).toBe(false);
  });
});

describe("bfl provider, fixed interval (pollIntervalMs given)", () => {
  it("polls exactly every pollIntervalMs, as before", async () => {
    const upstream = virtualUpstream();
    const run = await upstream.fill({ durationMs: 2000 }, { pollIntervalMs: 300 });
    expect(run.polls[0]!.at - run.createdAt).toBe(300);
    expect(new Set(gaps(run.polls))).toEqual(new Set([300]));
    expect(run.polls).toHaveLength(7); // 300, 600, ... 2100: the seventh sees Ready
  });

  it("keeps its own backoff base on failures", async () => {
    const upstream = virtualUpstream();
    const run = await upstream.fill(
      { durationMs: 500, failures: [{ status: 503 }, { status: 503 }] },
      { pollIntervalMs: 40 },
    );
    expect(gaps(run.polls).slice(0, 2)).toEqual([40, 80]);
  });
});

describe("bfl provider over HTTP, adaptive, against the emulator", () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator({
      apiKey: KEY,
      progressMode: "steps",
      generationMs: (task) => 700 + 250 * task.index,
    });
  });
  afterAll(async () => {
    await emu.close();
  });

  it("concurrent fills share the history; the emulator's poll log shows the floor and the budget held", async () => {
    const durationHistory = new DurationHistory();
    const provider = () =>
      createBflProvider({ apiKey: KEY, baseUrl: emu.apiBaseUrl, timeoutMs: 20_000, durationHistory });
    const outputs = await Promise.all(
      Array.from({ length: 4 }, () => provider().fill(request, { signal: new AbortController().signal })),
    );
    expect(outputs.every((o) => o.bytes.length > 0)).toBe(true);
    expect(durationHistory.size).toBe(4);
    for (const output of outputs) {
      const task = emu.task(output.upstreamId!);
      const log = task.pollLog;
      const ready = log.findIndex((p) => p.status === "Ready");
      expect(ready).toBe(log.length - 1);
      expect(log[ready]!.at).toBeGreaterThanOrEqual(task.readyAt!);
      expect(log.slice(0, ready).every((p) => p.status === "Pending")).toBe(true);
      for (const gap of gaps(log)) expect(gap).toBeGreaterThanOrEqual(100);
      expect(log.length / ((log[ready]!.at - task.createdAt) / 1000)).toBeLessThanOrEqual(4);
    }
    expect(emu.internalErrors).toEqual([]);
  });
});
