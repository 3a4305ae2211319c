import { describe, expect, it } from "vitest";
import { DurationHistory } from "../../../src/providers/bfl/duration-history.js";
import {
  bestPhase,
  DEFAULT_TUNING,
  detectQuantum,
  earliestPollAt,
  estimateFinish,
  type FinishBelief,
  guardPollDelay,
  historyBelief,
  nextPoll,
  nextPollDelay,
  normalSurvival,
  type PollState,
  type ProgressObservation,
  readyTimeEstimate,
  timeWorthPolling,
} from "../../../src/providers/bfl/poll-schedule.js";
import {
  makeProgressProfile,
  type ProgressMode,
  type ProgressShape,
  progressAt,
  seededRandom,
} from "../../helpers/emulator.js";

const T = DEFAULT_TUNING;
const SHAPE: ProgressShape = { steps: 10, jitter: 0.3, headFraction: 0.15, tailFraction: 0.05 };

function state(partial: Partial<PollState> = {}): PollState {
  return { elapsedMs: 0, polls: 0, lastPollAtMs: undefined, observations: [], ...partial };
}

// ---------------------------------------------------------------------------------------------------
// A pure simulation of tasks polled by the schedule: virtual time, the emulator's own progress model.

interface SimulatedTask {
  durationMs: number;
  /** First poll that saw Ready − Ready. */
  lagMs: number;
  polls: number;
  /** Polls ÷ (ready poll time), per second. */
  rate: number;
  /** Shortest gap between two polls of this task (Infinity with one poll). */
  minGapMs: number;
  sends: number[];
}

interface SimulationOptions {
  mode: ProgressMode;
  tasks: number;
  seed: number;
  minMs?: number;
  maxMs?: number;
  /** Round trip of one poll; the upstream answers at send + rtt/2. */
  rttMs?: number;
  shape?: ProgressShape;
  history?: DurationHistory;
  /** A fixed interval instead of the schedule (the baseline). */
  fixedIntervalMs?: number;
  durations?: number[];
}

function simulate(options: SimulationOptions): SimulatedTask[] {
  const random = seededRandom(options.seed);
  const history = options.history ?? new DurationHistory();
  const rtt = options.rttMs ?? 0;
  const results: SimulatedTask[] = [];
  for (let k = 0; k < options.tasks; k++) {
    const minMs = options.minMs ?? 4000;
    const maxMs = options.maxMs ?? 20_000;
    const durationMs = options.durations?.[k] ?? minMs + random() * (maxMs - minMs);
    const profile = makeProgressProfile(
      options.mode,
      durationMs,
      options.shape ?? SHAPE,
      seededRandom(options.seed * 7919 + k),
    );
    const observations: ProgressObservation[] = [];
    const sends: number[] = [];
    let now = 0;
    let last: number | undefined;
    for (;;) {
      const delay =
        options.fixedIntervalMs ??
        nextPollDelay(
          { elapsedMs: now, polls: sends.length, lastPollAtMs: last, lastAnswerAtMs: now, observations },
          history.values(),
        );
      const send = now + delay;
      sends.push(send);
      const answeredAt = send + rtt / 2;
      if (answeredAt >= durationMs) {
        history.add(readyTimeEstimate(last, send));
        let minGapMs = Number.POSITIVE_INFINITY;
        for (let i = 1; i < sends.length; i++) minGapMs = Math.min(minGapMs, sends[i]! - sends[i - 1]!);
        results.push({
          durationMs,
          lagMs: answeredAt - durationMs,
          polls: sends.length,
          rate: sends.length / (answeredAt / 1000),
          minGapMs,
          sends,
        });
        break;
      }
      observations.push({ atMs: send, progress: progressAt(profile, answeredAt) ?? undefined });
      last = send;
      now = send + rtt;
    }
  }
  return results;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function figures(tasks: SimulatedTask[]) {
  return {
    medianLagMs: median(tasks.map((t) => t.lagMs)),
    meanRate: tasks.reduce((a, t) => a + t.rate, 0) / tasks.length,
    maxTaskRate: Math.max(...tasks.map((t) => t.rate)),
    minGapMs: Math.min(...tasks.map((t) => t.minGapMs)),
  };
}

// ---------------------------------------------------------------------------------------------------

describe("earliestPollAt / guardPollDelay: the hard limits", () => {
  it("keeps 105 ms after sending the last poll", () => {
    expect(earliestPollAt({ elapsedMs: 5000, polls: 3, lastPollAtMs: 4950 })).toBe(5055);
    expect(guardPollDelay(5000, { elapsedMs: 5000, polls: 3, lastPollAtMs: 4950 })).toBe(55);
    expect(guardPollDelay(5000, { elapsedMs: 5000, polls: 3, lastPollAtMs: 4950, lastAnswerAtMs: 4952 })).toBe(55);
  });

  it("and 100 ms after its answer, so the upstream never sees two polls closer, whatever the delays", () => {
    // A slow answer (the request sat 60 ms somewhere): the next poll waits for answer + 100.
    expect(earliestPollAt({ elapsedMs: 5000, polls: 3, lastPollAtMs: 4950, lastAnswerAtMs: 5010 })).toBe(5110);
    // Random network delays: arrival gaps at the upstream stay ≥ 100 ms.
    const random = seededRandom(21);
    let now = 0;
    let last: number | undefined;
    let answer: number | undefined;
    let previousArrival = Number.NEGATIVE_INFINITY;
    for (let polls = 0; polls < 500; polls++) {
      now += guardPollDelay(now, { elapsedMs: now, polls, lastPollAtMs: last, lastAnswerAtMs: answer });
      const arrival = now + random() ** 4 * 200; // mostly fast, sometimes very slow
      expect(arrival - previousArrival).toBeGreaterThanOrEqual(100);
      previousArrival = arrival;
      last = now;
      answer = arrival + random() * 30;
      now = answer;
    }
  });

  it("keeps poll k at or after k ÷ 4 s (average ≤ 4/s from submit)", () => {
    // 20 polls sent by 3 s: the 21st may not go before 5.25 s.
    expect(earliestPollAt({ elapsedMs: 3000, polls: 20, lastPollAtMs: 2900 })).toBe(5250);
    expect(guardPollDelay(3100, { elapsedMs: 3000, polls: 20, lastPollAtMs: 2900 })).toBe(2250);
    // The first poll no earlier than 250 ms.
    expect(earliestPollAt({ elapsedMs: 0, polls: 0, lastPollAtMs: undefined })).toBe(250);
  });

  it("never returns a negative or non-finite delay, and keeps a later wish", () => {
    const s = { elapsedMs: 10_000, polls: 2, lastPollAtMs: 5000 };
    expect(guardPollDelay(9000, s)).toBe(0);
    expect(guardPollDelay(Number.NaN, s)).toBe(0);
    expect(guardPollDelay(Number.NEGATIVE_INFINITY, s)).toBe(0);
    expect(guardPollDelay(12_345, s)).toBe(2345);
  });

  it("follows other limits when given", () => {
    const s = { elapsedMs: 1000, polls: 1, lastPollAtMs: 990 };
    expect(earliestPollAt(s, { minGapMs: 500, minGapAfterAnswerMs: 0, maxRatePerS: 1 })).toBe(2000);
    expect(earliestPollAt(s, { minGapMs: 50, minGapAfterAnswerMs: 0, maxRatePerS: 10 })).toBe(1040);
    expect(earliestPollAt(s, { minGapMs: 50, minGapAfterAnswerMs: 70, maxRatePerS: 10 })).toBe(1060);
  });

  it("no sequence of wishes can break either limit (random wishes, 2000 polls)", () => {
    const random = seededRandom(7);
    let now = 0;
    let last: number | undefined;
    const sends: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const wish = now + (random() < 0.5 ? -1000 : 1) * random() * 300;
      now += guardPollDelay(wish, { elapsedMs: now, polls: sends.length, lastPollAtMs: last });
      if (last !== undefined) expect(now - last).toBeGreaterThanOrEqual(T.minGapMs);
      sends.push(now);
      expect(sends.length / (now / 1000)).toBeLessThanOrEqual(T.maxRatePerS);
      last = now;
      now += random() * 20; // the poll's round trip
    }
  });
});

describe("detectQuantum", () => {
  it("finds the coarsest step all values are multiples of", () => {
    expect(detectQuantum([0.1, 0.3, 0.7])).toBe(0.1);
    expect(detectQuantum([0.25, 0.5, 0.75])).toBe(0.25);
    expect(detectQuantum([0.2, 0.4])).toBe(0.2);
    expect(detectQuantum([0.05, 0.35])).toBe(0.05);
    expect(detectQuantum([0.37, 0.52])).toBe(0.01);
  });

  it("0 for continuous values, and when there is nothing between 0 and 1", () => {
    expect(detectQuantum([0.1234567, 0.2469134])).toBe(0);
    expect(detectQuantum([])).toBe(0);
    expect(detectQuantum([0, 1])).toBe(0);
  });
});

describe("estimateFinish", () => {
  it("continuous progress: the line through the readings, exactly", () => {
    // Starts at 1.234 s, finishes at 11.234 s.
    const obs = [2000, 3500, 6000].map((t) => ({ atMs: t, progress: (t - 1234) / 10_000 }));
    const estimate = estimateFinish(obs)!;
    expect(estimate.quantum).toBe(0);
    expect(estimate.finishMs).toBeCloseTo(11_234, 3);
    // Model error: 5 % of the 5 s left, plus the floor.
    expect(estimate.sdMs).toBeGreaterThan(0.05 * 5000);
    expect(estimate.sdMs).toBeLessThan(0.05 * 5000 + 100);
  });

  it("nothing before two distinct levels rose (nulls, zeros, a single value)", () => {
    expect(estimateFinish([])).toBeUndefined();
    expect(estimateFinish([{ atMs: 1000, progress: undefined }])).toBeUndefined();
    expect(
      estimateFinish([
        { atMs: 1000, progress: 0 },
        { atMs: 2000, progress: 0.3 },
        { atMs: 3000, progress: 0.3 },
      ]),
    ).toBeUndefined();
  });

  it("ignores readings that go down (a restarted worker) and non-finite ones", () => {
    const estimate = estimateFinish([
      { atMs: 2000, progress: 0.2137 },
      { atMs: 3000, progress: 0.05 },
      { atMs: 4000, progress: Number.NaN },
      { atMs: 5000, progress: 0.5137 },
    ])!;
    // 0.2137 at 2 s, 0.5137 at 5 s: 10 s per unit → 1 at 2 s + 0.7863 × 10 s.
    expect(estimate.finishMs).toBeCloseTo(9863, 0);
  });

  it("progress 1 while Pending: the finish is now, with a spread for the finishing touches", () => {
    const estimate = estimateFinish([
      { atMs: 1000, progress: 0.2 },
      { atMs: 8000, progress: 1 },
    ])!;
    expect(estimate.finishMs).toBeLessThanOrEqual(8000);
    expect(estimate.sdMs).toBeCloseTo(0.05 * 8000, 6);
  });

  it("quantised steps read every 200 ms: within a few % of the true end, with an honest spread", () => {
    const random = seededRandom(11);
    let within2Sd = 0;
    const runs = 200;
    for (let k = 0; k < runs; k++) {
      const durationMs = 4000 + random() * 16_000;
      const profile = makeProgressProfile("steps", durationMs, { ...SHAPE, tailFraction: 0 }, seededRandom(k));
      const lastStep = profile.stepEndsMs.at(-1)!;
      const obs: ProgressObservation[] = [];
      // Readings up to 80 % of the way.
      for (let t = 200; t < 0.8 * durationMs; t += 200)
        obs.push({ atMs: t, progress: progressAt(profile, t) ?? undefined });
      const estimate = estimateFinish(obs);
      if (!estimate) continue;
      expect(estimate.quantum).toBe(0.1);
      expect(Math.abs(estimate.finishMs - lastStep) / durationMs).toBeLessThan(0.12);
      if (Math.abs(estimate.finishMs - lastStep) <= 2 * estimate.sdMs) within2Sd++;
    }
    expect(within2Sd / runs).toBeGreaterThan(0.85);
  });

  it("a step that is late pushes the estimate out (the next level was not reached yet)", () => {
    const base = [
      { atMs: 1000, progress: 0.1 },
      { atMs: 2000, progress: 0.2 },
      { atMs: 3000, progress: 0.3 },
    ];
    const onTime = estimateFinish(base)!;
    const late = estimateFinish([...base, { atMs: 6000, progress: 0.3 }])!;
    // Each level was crossed some time in the second before it was read: midway, 0.5 s earlier.
    expect(onTime.finishMs).toBeCloseTo(9500, 0);
    // Still below 0.4 at 6 s: at 1 s per 0.1, the end is at least 6 s + 6 steps.
    expect(late.finishMs).toBeGreaterThanOrEqual(12_000 - 1);
  });
});

describe("historyBelief", () => {
  it("is a survival function: 1 at 0, decreasing, positive far out (nothing ruled out)", () => {
    for (const durations of [[], [8000], [4000, 6000, 9000, 15_000]]) {
      const belief = historyBelief(durations);
      expect(belief.survival(0)).toBe(1);
      let previous = 1;
      for (let t = 10; t < 3_600_000; t *= 1.1) {
        const s = belief.survival(t);
        expect(s).toBeLessThanOrEqual(previous + 1e-12);
        previous = s;
      }
      expect(belief.survival(600_000)).toBeGreaterThan(0);
      expect(belief.survival(600_000)).toBeLessThan(T.surpriseShare);
    }
  });

  it("before any history its median is the prior's; then it follows the history", () => {
    const prior = historyBelief([]);
    expect(prior.survival(T.priorMedianMs)).toBeCloseTo(0.5, 1);
    const learnt = historyBelief(Array.from({ length: 50 }, () => 3000));
    expect(learnt.survival(2700)).toBeGreaterThan(0.9);
    expect(learnt.survival(3300)).toBeLessThan(0.12);
    expect(learnt.survival(3000)).toBeCloseTo(0.5, 1);
  });

  it("ignores junk durations", () => {
    const clean = historyBelief([5000, 7000]);
    const junk = historyBelief([5000, Number.NaN, -3, 0, 7000, Number.POSITIVE_INFINITY]);
    for (const t of [1000, 5000, 6000, 9000]) expect(junk.survival(t)).toBeCloseTo(clean.survival(t), 9);
  });
});

describe("timeWorthPolling / bestPhase", () => {
  // Uniform on [0, 10 s]: E[(t − R)⁺] = t²/20 000 from 0, so the poll is due at √(2λ·10 000).
  const uniform: FinishBelief = { survival: (t) => Math.min(1, Math.max(0, 1 - t / 10_000)) };

  it("matches the closed form √(2λ/hazard) on a uniform belief", () => {
    // Within the 5 ms scan step.
    const near = (value: number, expected: number) => expect(Math.abs(value - expected)).toBeLessThanOrEqual(5);
    near(timeWorthPolling(uniform, 0, 0, 5000, 8), Math.sqrt(2 * 8 * 10_000));
    near(timeWorthPolling(uniform, 0, 0, 5000, 2), Math.sqrt(2 * 2 * 10_000));
    // Conditioned on 9 s without Ready: 1 s left → √(2λ·1000).
    near(timeWorthPolling(uniform, 9000, 9000, 12_000, 8) - 9000, Math.sqrt(2 * 8 * 1000));
  });

  it("stays within [from, to]", () => {
    expect(timeWorthPolling(uniform, 0, 1000, 5000, 0.001)).toBe(1000);
    expect(timeWorthPolling(uniform, 0, 0, 300, 1e6)).toBe(300);
    const gone: FinishBelief = { survival: () => 0 };
    expect(timeWorthPolling(gone, 500, 700, 900, 8)).toBe(700);
  });

  it("a narrow belief: the poll moves to just after the finish, not a whole gap before it", () => {
    const sd = 10;
    const narrow: FinishBelief = { survival: (t) => normalSurvival((t - 10_000) / sd) };
    // A first poll 50 ms before the finish would make the next one, 105 ms later, the one that sees it.
    const phased = bestPhase(narrow, 9700, 9950, 105, 8);
    expect(phased).toBeGreaterThanOrEqual(10_000);
    expect(phased).toBeLessThanOrEqual(10_000 + 4 * sd);
    // Its expected lag (polls every 105 ms from the chosen time) is far lower.
    const expectedLag = (first: number) => {
      let lag = 0;
      for (let r = 9900; r < 10_100; r += 0.5) {
        const weight = normalSurvival((r - 0.25 - 10_000) / sd) - normalSurvival((r + 0.25 - 10_000) / sd);
        lag += weight * (first + Math.max(0, Math.ceil((r - first) / 105)) * 105 - r);
      }
      return lag;
    };
    expect(expectedLag(phased)).toBeLessThan(expectedLag(9950) / 2);
    // The λ rule alone already lands near the end of such a narrow belief.
    expect(timeWorthPolling(narrow, 9700, 9805, 11_700, 8)).toBeGreaterThan(9980);
  });

  it("a wide belief keeps the time it was given", () => {
    expect(bestPhase(uniform, 0, 400, 105, 8)).toBe(400);
  });
});

describe("nextPoll", () => {
  const history = Array.from({ length: 50 }, (_, i) => 4000 + 16_000 * seededRandom(i)());

  it("always respects the hard limits, whatever it was told", () => {
    const random = seededRandom(3);
    for (let i = 0; i < 300; i++) {
      const elapsedMs = random() * 60_000;
      const polls = Math.floor(random() * 300);
      const lastPollAtMs = random() < 0.2 ? undefined : elapsedMs - random() * 300;
      const observations = Array.from({ length: Math.floor(random() * 6) }, (_, k) => ({
        atMs: (elapsedMs * (k + 1)) / 7,
        progress: random() < 0.3 ? undefined : random(),
      }));
      const s = state({ elapsedMs, polls, lastPollAtMs, observations });
      const delay = nextPollDelay(s, random() < 0.5 ? [] : history);
      expect(delay).toBeGreaterThanOrEqual(guardPollDelay(elapsedMs, s));
      expect(delay).toBeGreaterThanOrEqual(0);
      // And never later than the longest gap after the last poll (or after the budget allows one).
      expect(elapsedMs + delay).toBeLessThanOrEqual(Math.max(earliestPollAt(s), (lastPollAtMs ?? 0) + T.maxGapMs) + 1);
    }
  });

  it("polls sparsely early and densely near the likely finish (no progress)", () => {
    const narrowHistory = Array.from({ length: 50 }, (_, i) => 9000 + 2000 * seededRandom(i)());
    const early = nextPollDelay(state({ elapsedMs: 3000, polls: 2, lastPollAtMs: 3000 }), narrowHistory);
    const nearFinish = nextPollDelay(state({ elapsedMs: 10_000, polls: 6, lastPollAtMs: 10_000 }), narrowHistory);
    expect(early).toBeGreaterThanOrEqual(1000);
    expect(nearFinish).toBeLessThanOrEqual(2 * T.minGapMs);
    expect(early).toBeGreaterThan(5 * nearFinish);
  });

  it("uses progress when it has it", () => {
    // 10 % per second from −123 ms: finish at 9877 ms.
    const reading = (t: number) => ({ atMs: t, progress: (t + 123) / 10_000 });
    const observations = [1000, 2000, 3000, 4000, 5000].map(reading);
    const recent = [...observations, ...[6000, 7000, 8000, 9000, 9700].map(reading)];
    const decision = nextPoll(state({ elapsedMs: 9700, polls: 10, lastPollAtMs: 9700, observations: recent }), history);
    expect(decision.estimate?.finishMs).toBeCloseTo(9877, 0);
    // Just after the predicted finish (not before it, which would cost a whole gap).
    expect(9700 + decision.delayMs).toBeGreaterThan(9877);
    expect(9700 + decision.delayMs).toBeLessThan(9877 + 100);
    // Far from it, a look on the way (to refine the estimate), well before the finish.
    const early = nextPoll(state({ elapsedMs: 5000, polls: 5, lastPollAtMs: 5000, observations }), history);
    expect(early.delayMs).toBeGreaterThan(T.minGapMs);
    expect(5000 + early.delayMs).toBeLessThan(9877 - 1000);
  });

  it("backs off for a task far past every expectation, within budget", () => {
    let now = 0;
    let last: number | undefined;
    const sends: number[] = [];
    while (now < 300_000) {
      now += nextPollDelay(state({ elapsedMs: now, polls: sends.length, lastPollAtMs: last }), history);
      sends.push(now);
      last = now;
    }
    const gapAfter = (t: number) => {
      const i = sends.findIndex((s) => s >= t);
      return sends[i + 1]! - sends[i]!;
    };
    expect(gapAfter(10_000)).toBeLessThan(400);
    expect(gapAfter(120_000)).toBeGreaterThan(700);
    expect(gapAfter(250_000)).toBeGreaterThan(gapAfter(120_000) - 50);
    expect(sends.length / 300).toBeLessThan(2);
  });
});

describe("simulated tasks, durations U(4 s, 20 s) (the P2 figure)", () => {
  const baseline = figures(simulate({ mode: "none", tasks: 300, seed: 9, fixedIntervalMs: 500 }));

  it("the fixed 500 ms baseline: median lag ≈ 250 ms at 2 polls/s", () => {
    expect(baseline.medianLagMs).toBeGreaterThan(200);
    expect(baseline.medianLagMs).toBeLessThan(300);
    expect(baseline.meanRate).toBeCloseTo(2, 0);
  });

  for (const mode of ["steps", "linear"] as const) {
    it(`with ${mode} progress: median lag ≤ 60 ms, every task ≤ 4 polls/s on average, never two within 100 ms`, () => {
      const tasks = simulate({ mode, tasks: 300, seed: 1 });
      const f = figures(tasks);
      expect(f.medianLagMs).toBeLessThanOrEqual(60);
      expect(f.maxTaskRate).toBeLessThanOrEqual(4);
      expect(f.minGapMs).toBeGreaterThanOrEqual(100);
      expect(f.meanRate).toBeLessThan(3.5);
    });
  }

  it("without progress: within budget, median lag less than half the baseline's (the bound is ≈ 100 ms)", () => {
    // With polls ≥ 100 ms apart and ≤ 4/s, at most ∫ rate·f ≤ 80 polls/16 s can fall among Ready times
    // spread over 16 s: P(lag ≤ m) ≤ 5/s · m, so no schedule gets the median below 100 ms.
    const f = figures(simulate({ mode: "none", tasks: 300, seed: 2 }));
    expect(f.medianLagMs).toBeLessThan(baseline.medianLagMs / 2);
    expect(f.medianLagMs).toBeGreaterThanOrEqual(95);
    expect(f.maxTaskRate).toBeLessThanOrEqual(4);
    expect(f.minGapMs).toBeGreaterThanOrEqual(100);
  });

  it("holds with coarser or finer steps", () => {
    for (const shape of [
      { ...SHAPE, steps: 4 },
      { ...SHAPE, steps: 28, jitter: 0.5 },
    ]) {
      const f = figures(simulate({ mode: "steps", tasks: 200, seed: 5, shape }));
      expect(f.medianLagMs).toBeLessThanOrEqual(60);
      expect(f.maxTaskRate).toBeLessThanOrEqual(4);
      expect(f.minGapMs).toBeGreaterThanOrEqual(100);
    }
  });

  it("a 40 ms round trip widens the dense gaps to 140 ms (100 after each answer): median lag ≈ 70 ms", () => {
    const f = figures(simulate({ mode: "steps", tasks: 200, seed: 5, rttMs: 40 }));
    expect(f.medianLagMs).toBeLessThanOrEqual(80);
    expect(f.minGapMs).toBeGreaterThanOrEqual(140);
    expect(f.maxTaskRate).toBeLessThanOrEqual(4);
  });

  it("adapts when the upstream gets 3× slower: the budget holds and the lag recovers", () => {
    const history = new DurationHistory();
    simulate({ mode: "none", tasks: 60, seed: 4, history, minMs: 3000, maxMs: 6000 });
    const switched = simulate({ mode: "none", tasks: 120, seed: 6, history, minMs: 9000, maxMs: 18_000 });
    for (const t of switched) expect(t.rate).toBeLessThanOrEqual(4);
    const later = figures(switched.slice(60));
    const fresh = figures(simulate({ mode: "none", tasks: 60, seed: 6, minMs: 9000, maxMs: 18_000 }).slice(0));
    expect(later.medianLagMs).toBeLessThan(fresh.medianLagMs * 1.3 + 10);
    expect(history.size).toBe(50);
    expect(Math.min(...history.values())).toBeGreaterThan(8800);
  });

  it("is deterministic for a seed", () => {
    const a = simulate({ mode: "steps", tasks: 20, seed: 8 }).map((t) => t.sends);
    const b = simulate({ mode: "steps", tasks: 20, seed: 8 }).map((t) => t.sends);
    expect(a).toEqual(b);
  });
});

describe("readyTimeEstimate", () => {
  it("is midway between the last Pending poll and the Ready one, or the Ready one alone", () => {
    expect(readyTimeEstimate(9900, 10_005)).toBe(9952.5);
    expect(readyTimeEstimate(undefined, 4000)).toBe(4000);
  });
});
