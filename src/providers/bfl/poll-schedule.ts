/**
 * When to poll a pending task next. Pure: times are milliseconds since the task was submitted.
 *
 * The schedule keeps a belief about when the task will be Ready — from the reported `progress` when the
 * upstream gives one, else from the durations of past tasks (with a prior before there are any) — and
 * puts the next poll where waiting any longer would cost more expected lag than a poll is worth:
 *
 *   the next poll is the earliest t' with  E[(t' − R)⁺ | R > last poll] ≥ lagPerPollMs
 *
 * (R = the Ready time). Where Ready is unlikely this leaves long gaps, where it is likely the gaps
 * shrink to the floor; it is the classic √(2λ/hazard) spacing, integrated so that a sharp rise of the
 * hazard inside a gap is not missed. When the next poll or the one after will likely see Ready, the
 * phase is chosen too (`bestPhase`): a poll just before the finish would cost a whole gap. λ is lower
 * without progress (spread the budget over the history's spread) and drops by up to half while a task
 * has unspent budget.
 *
 * Hard limits are applied afterwards by `guardPollDelay`, whatever the belief says: a poll is sent no
 * sooner than `minGapMs` after the last one was sent and `minGapAfterAnswerMs` after its answer came
 * back (so the upstream never sees two closer than 100 ms, whatever the network does: 10/s), and poll k
 * never before k ÷ `maxRatePerS` seconds, so a task's average rate never exceeds the budget. Polls saved
 * early are credit spent near the finish.
 * Why these numbers bound the lag: with polls ≥ 100 ms apart a Ready falling between two of them waits
 * U(0, 100 ms) (median 50 ms), and 4/s on average pays for 10/s over about the last 40 % of a task's
 * life — so without progress, durations spread over U(4 s, 20 s) cannot all be covered densely (the best
 * possible median is then ≈ 100 ms), while a progress estimate narrows the window enough to cover nearly all.
 */

export interface ScheduleTuning {
  /** Floor between the sending of two polls of one task (10/s, with a margin for timer jitter). */
  minGapMs: number;
  /**
   * Floor between the answer to one poll and the sending of the next. The upstream saw the last poll
   * before it answered, so this bounds the spacing *it* sees, whatever the network delays (10/s).
   */
  minGapAfterAnswerMs: number;
  /** Ceiling on a task's average poll rate, as a cumulative budget from submit. */
  maxRatePerS: number;
  /** Longest gap between polls, so an unexpectedly quick (or long) task is noticed within it. */
  maxGapMs: number;
  /** λ: expected lag (ms) one more poll must save to be worth sending, with a progress estimate. */
  lagPerPollMs: number;
  /**
   * λ without one. Lower: the belief from past durations will not sharpen, so the budget is best spread
   * over it now; with progress it is kept for the narrow window the estimate will point at.
   */
  lagPerPollNoProgressMs: number;
  /** Unspent budget (polls) at which λ is halved (never more): a task that saved polls spends them more freely. */
  creditScale: number;
  /** With progress, look again this fraction of the way to the wanted poll (to refine the estimate). */
  reestimateFraction: number;
  /** Prior over durations before any history: log-normal with this median and log-sd. */
  priorMedianMs: number;
  priorLogSd: number;
  /** Weight of the prior, in past tasks. */
  priorWeight: number;
  /** Share of a heavy-tailed "anything from 0.2 s to 2 h" component, so no duration is ever ruled out. */
  surpriseShare: number;
  /** Share of the progress estimate in the belief once there is one (the rest: history). */
  progressShare: number;
  /** Model error of a progress estimate, as a fraction of the remaining time, and its floor (ms). */
  progressRelativeSd: number;
  progressSdFloorMs: number;
}

export const DEFAULT_TUNING: Readonly<ScheduleTuning> = {
  minGapMs: 105,
  minGapAfterAnswerMs: 100,
  maxRatePerS: 4,
  maxGapMs: 2000,
  lagPerPollMs: 8,
  lagPerPollNoProgressMs: 2,
  creditScale: 50,
  reestimateFraction: 0.3,
  priorMedianMs: 10_000,
  priorLogSd: 0.7,
  priorWeight: 2,
  surpriseShare: 0.03,
  progressShare: 0.9,
  progressRelativeSd: 0.05,
  progressSdFloorMs: 40,
};

/** One Pending answer: when its poll was sent and the progress it reported (undefined: none). */
export interface ProgressObservation {
  atMs: number;
  progress: number | undefined;
}

export interface PollState {
  /** Now. */
  elapsedMs: number;
  /** Polls sent so far (answered or not). */
  polls: number;
  /** When the last poll was sent; undefined before the first. */
  lastPollAtMs: number | undefined;
  /** When its answer (or failure) came back; undefined when unknown (taken as the send time). */
  lastAnswerAtMs?: number | undefined;
  /** Pending answers so far, in time order. */
  observations: readonly ProgressObservation[];
}

// ---------------------------------------------------------------------------------------------------
// The hard limits.

type GuardState = Pick<PollState, "elapsedMs" | "polls" | "lastPollAtMs" | "lastAnswerAtMs">;
type GuardLimits = Pick<ScheduleTuning, "minGapMs" | "minGapAfterAnswerMs" | "maxRatePerS">;

/**
 * The earliest time the next poll may be sent: not before now, not within `minGapMs` of sending the last
 * poll nor within `minGapAfterAnswerMs` of its answer, and not before (polls + 1) ÷ maxRatePerS seconds
 * since submit (the average-rate budget).
 */
export function earliestPollAt(state: GuardState, limits: GuardLimits = DEFAULT_TUNING): number {
  const afterLast = state.lastPollAtMs === undefined ? 0 : state.lastPollAtMs + limits.minGapMs;
  const answeredAt = state.lastAnswerAtMs ?? state.lastPollAtMs;
  const afterAnswer = answeredAt === undefined ? 0 : answeredAt + limits.minGapAfterAnswerMs;
  const budget = ((state.polls + 1) * 1000) / limits.maxRatePerS;
  return Math.max(state.elapsedMs, afterLast, afterAnswer, budget);
}

/** The delay to wait from now so a poll wanted at `wantedAtMs` respects both hard limits. */
export function guardPollDelay(wantedAtMs: number, state: GuardState, limits: GuardLimits = DEFAULT_TUNING): number {
  const at = Math.max(Number.isFinite(wantedAtMs) ? wantedAtMs : state.elapsedMs, earliestPollAt(state, limits));
  return Math.max(0, Math.ceil(at - state.elapsedMs));
}

// ---------------------------------------------------------------------------------------------------
// Beliefs about the Ready time R, as survival functions S(t) = P(R > t).

export interface FinishBelief {
  survival(ms: number): number;
}

/** erfc with a relative error below 1.2e-7 everywhere (Numerical Recipes' Chebyshev fit). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** P(Z > z) for a standard normal Z, accurate in the far tail too. */
export function normalSurvival(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

const SURPRISE_MIN_MS = 200;
const SURPRISE_MAX_MS = 2 * 3600 * 1000;
const GRID_MIN_LOG = Math.log(50);
const GRID_MAX_LOG = Math.log(SURPRISE_MAX_MS);
const GRID_STEP = 0.01;

/** Survival of the log-uniform "surprise" component. */
function surpriseSurvival(ms: number): number {
  if (ms <= SURPRISE_MIN_MS) return 1;
  if (ms >= SURPRISE_MAX_MS) return 0;
  return Math.log(SURPRISE_MAX_MS / ms) / Math.log(SURPRISE_MAX_MS / SURPRISE_MIN_MS);
}

/** Silverman's bandwidth on log-durations, kept between 5 % and 50 %. */
function logBandwidth(logs: readonly number[]): number {
  const n = logs.length;
  if (n < 2) return 0.15;
  const mean = logs.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  return Math.min(0.5, Math.max(0.05, 1.06 * sd * n ** -0.2));
}

/**
 * The belief from past durations: a log-normal kernel on each (Silverman bandwidth), a log-normal prior
 * worth `priorWeight` tasks, and the surprise component. Tabulated on a log-time grid (1 % steps), since
 * it is read hundreds of times per poll decision and changes only when a task finishes.
 */
export function historyBelief(durationsMs: readonly number[], tuning: ScheduleTuning = DEFAULT_TUNING): FinishBelief {
  const logs = durationsMs.filter((d) => Number.isFinite(d) && d > 0).map((d) => Math.log(d));
  const bandwidth = logBandwidth(logs);
  const priorLog = Math.log(tuning.priorMedianMs);
  const kernelWeight = (1 - tuning.surpriseShare) / (logs.length + tuning.priorWeight);
  const size = Math.ceil((GRID_MAX_LOG - GRID_MIN_LOG) / GRID_STEP) + 1;
  const table = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    const u = GRID_MIN_LOG + i * GRID_STEP;
    let s = tuning.surpriseShare * surpriseSurvival(Math.exp(u));
    s += kernelWeight * tuning.priorWeight * normalSurvival((u - priorLog) / tuning.priorLogSd);
    for (const l of logs) s += kernelWeight * normalSurvival((u - l) / bandwidth);
    table[i] = s;
  }
  return {
    survival(ms) {
      if (!(ms > 0)) return 1;
      const x = (Math.log(ms) - GRID_MIN_LOG) / GRID_STEP;
      if (x <= 0) return table[0]!;
      if (x >= size - 1) return 0;
      const i = Math.floor(x);
      const f = x - i;
      return table[i]! * (1 - f) + table[i + 1]! * f;
    },
  };
}

/** A progress estimate (normal around the predicted finish) blended with the history belief. */
export function progressBelief(
  estimate: ProgressEstimate,
  history: FinishBelief,
  tuning: ScheduleTuning = DEFAULT_TUNING,
): FinishBelief {
  const w = tuning.progressShare;
  return {
    survival: (ms) => w * normalSurvival((ms - estimate.finishMs) / estimate.sdMs) + (1 - w) * history.survival(ms),
  };
}

// ---------------------------------------------------------------------------------------------------
// Progress → predicted finish.

export interface ProgressEstimate {
  /** Predicted time the progress reaches 1. */
  finishMs: number;
  /** Its standard deviation (estimation, quantisation and model error). */
  sdMs: number;
  /** The progress quantum detected (0 when the values look continuous). */
  quantum: number;
}

const QUANTA = [0.5, 0.25, 0.2, 0.125, 0.1, 0.05, 0.04, 0.025, 0.02, 0.01];

/**
 * The coarsest step every reported value is a multiple of (0.1 for 0.1, 0.3, 0.7), or 0 when they look
 * continuous. A reported p then means the true progress is in [p, p + quantum).
 */
export function detectQuantum(values: readonly number[]): number {
  const positive = values.filter((v) => v > 0 && v < 1);
  if (positive.length === 0) return 0;
  for (const q of QUANTA) {
    if (positive.every((v) => Math.abs(v / q - Math.round(v / q)) < 1e-6)) return q;
  }
  return 0;
}

interface Crossing {
  level: number;
  /** The level was crossed after `fromMs` and by `byMs`. */
  fromMs: number;
  byMs: number;
}

/** Each rise of the reported value: the level it rose to, crossed between the previous answer and this one. */
function crossings(observations: readonly ProgressObservation[], quantum: number): Crossing[] {
  const result: Crossing[] = [];
  let highest = 0;
  let previousAt: number | undefined;
  for (const o of observations) {
    const p = o.progress;
    if (p !== undefined && Number.isFinite(p) && p > highest && p < 1) {
      // Continuous values were crossed exactly when read; quantised ones at some point since the last answer.
      result.push({ level: p, fromMs: quantum > 0 ? (previousAt ?? 0) : o.atMs, byMs: o.atMs });
      highest = p;
    }
    previousAt = o.atMs;
  }
  return result;
}

/**
 * Progress 1 while still Pending: the generation is over and only its finishing (safety checks, upload)
 * remains, of unknown length; assume it is short next to the task, a few % of its life so far.
 */
function finishingEstimate(
  finishMs: number,
  seenDoneAtMs: number,
  quantum: number,
  tuning: ScheduleTuning,
): ProgressEstimate {
  return {
    finishMs,
    sdMs: Math.max(tuning.progressSdFloorMs, tuning.progressRelativeSd * seenDoneAtMs),
    quantum,
  };
}

interface LineFit {
  /** t = intercept + slope · level. */
  intercept: number;
  slope: number;
  /** Variance of the fitted t at level 1. */
  varianceAtOne: number;
}

/** Weighted least squares of crossing time on level; undefined when the slope is not positive. */
function fitLine(points: readonly { level: number; t: number; variance: number }[]): LineFit | undefined {
  let sw = 0;
  let sp = 0;
  let st = 0;
  for (const x of points) {
    const w = 1 / x.variance;
    sw += w;
    sp += w * x.level;
    st += w * x.t;
  }
  const pMean = sp / sw;
  const tMean = st / sw;
  let spp = 0;
  let spt = 0;
  for (const x of points) {
    const w = 1 / x.variance;
    spp += w * (x.level - pMean) ** 2;
    spt += w * (x.level - pMean) * (x.t - tMean);
  }
  if (!(spp > 0)) return undefined;
  const slope = spt / spp;
  if (!(slope > 0)) return undefined;
  const intercept = tMean - slope * pMean;
  // Scale by the observed scatter when there is more of it than the brackets explain (uneven steps).
  let chi2 = 0;
  for (const x of points) chi2 += (x.t - (intercept + slope * x.level)) ** 2 / x.variance;
  const dispersion = points.length > 2 ? Math.max(1, chi2 / (points.length - 2)) : 1;
  const varianceAtOne = dispersion * (1 / sw + (1 - pMean) ** 2 / spp);
  return { intercept, slope, varianceAtOne };
}

/**
 * When the progress will reach 1, from the levels it rose to and when: a weighted line through the
 * crossings (each known to within the gap between two answers, narrowed in a second pass by the
 * fitted rate and the quantum), bounded below by "the next step has not happened yet". Undefined
 * until two distinct levels were seen, or when they do not rise.
 */
export function estimateFinish(
  observations: readonly ProgressObservation[],
  tuning: ScheduleTuning = DEFAULT_TUNING,
): ProgressEstimate | undefined {
  const values = observations.map((o) => o.progress).filter((p): p is number => p !== undefined && Number.isFinite(p));
  const last = observations.at(-1);
  if (!last) return undefined;
  const done = observations.find((o) => o.progress !== undefined && o.progress >= 1);
  const quantum = detectQuantum(values);
  const rises = crossings(observations, quantum);
  if (rises.length < 2) {
    return done ? finishingEstimate(done.atMs, done.atMs, quantum, tuning) : undefined;
  }
  const floorVariance = 25; // 5 ms: timer and network noise on each time.
  const points = (narrowBy: number) =>
    rises.map((c) => {
      const from = Math.max(c.fromMs, c.byMs - narrowBy);
      return { level: c.level, t: (from + c.byMs) / 2, variance: (c.byMs - from) ** 2 / 12 + floorVariance };
    });
  let fit = fitLine(points(Number.POSITIVE_INFINITY));
  if (!fit) return undefined;
  if (quantum > 0) {
    // At `byMs` the progress was below level + quantum, so the crossing was at most quantum·slope earlier.
    fit = fitLine(points(quantum * fit.slope)) ?? fit;
  }
  let finishMs = fit.intercept + fit.slope;
  const highest = rises.at(-1)!.level;
  // The next level (highest + quantum) was not reached by the last answer.
  if (quantum > 0 && highest + quantum <= 1 && !done) {
    finishMs = Math.max(finishMs, last.atMs + (1 - highest - quantum) * fit.slope);
  }
  if (done) return finishingEstimate(Math.min(finishMs, done.atMs), done.atMs, quantum, tuning);
  const remaining = Math.max(0, finishMs - last.atMs);
  const quantumSd = (quantum * fit.slope) / Math.sqrt(12);
  const sdMs = Math.sqrt(
    fit.varianceAtOne + quantumSd ** 2 + (tuning.progressRelativeSd * remaining) ** 2 + tuning.progressSdFloorMs ** 2,
  );
  return { finishMs, sdMs, quantum };
}

// ---------------------------------------------------------------------------------------------------
// The decision.

const SCAN_STEP_MS = 5;

/**
 * The earliest t' in (from, to] at which E[(t' − R)⁺ | R > conditionAt] reaches `lagPerPollMs`; `to`
 * when it never does. The expectation is ∫ (S(c) − S(u)) du / S(c) over [c, t'].
 */
export function timeWorthPolling(
  belief: FinishBelief,
  conditionAtMs: number,
  fromMs: number,
  toMs: number,
  lagPerPollMs: number,
): number {
  const sc = belief.survival(conditionAtMs);
  if (!(sc > 1e-12)) return Math.max(fromMs, conditionAtMs);
  let expectedLag = 0;
  let u = conditionAtMs;
  let previous = 0;
  while (u < toMs) {
    const next = Math.min(toMs, u + SCAN_STEP_MS);
    const current = (sc - belief.survival(next)) / sc;
    expectedLag += ((previous + current) / 2) * (next - u);
    previous = current;
    u = next;
    if (u >= fromMs && expectedLag >= lagPerPollMs) return u;
  }
  return toMs;
}

/**
 * When the next poll or the one after it will likely see Ready (a narrow belief), the phase of the
 * polls matters: polls can be no closer than `gapMs`, so a poll just before the finish costs a whole
 * gap of lag. Among first polls in [fromMs, fromMs + gapMs] (then every gapMs), picks the one with the
 * least expected lag + λ·expected polls. Returns `fromMs` unchanged when the belief is wide.
 */
export function bestPhase(
  belief: FinishBelief,
  conditionAtMs: number,
  fromMs: number,
  gapMs: number,
  lagPerPollMs: number,
): number {
  const sc = belief.survival(conditionAtMs);
  if (!(sc > 1e-12)) return fromMs;
  const start = Math.max(conditionAtMs, fromMs - SCAN_STEP_MS * Math.ceil((fromMs - conditionAtMs) / SCAN_STEP_MS));
  if (1 - belief.survival(fromMs + gapMs) / sc < 0.5) return fromMs;
  // S on a grid from the condition point; I = its running integral; enough continuation to settle.
  const steps = Math.ceil((fromMs + gapMs * 12 - start) / SCAN_STEP_MS);
  const s = new Float64Array(steps + 1);
  const integral = new Float64Array(steps + 1);
  for (let i = 0; i <= steps; i++) {
    s[i] = belief.survival(start + i * SCAN_STEP_MS) / sc;
    if (i > 0) integral[i] = integral[i - 1]! + ((s[i - 1]! + s[i]!) / 2) * SCAN_STEP_MS;
  }
  const gapSteps = Math.max(1, Math.round(gapMs / SCAN_STEP_MS));
  const first = Math.ceil((fromMs - start) / SCAN_STEP_MS);
  let best = first;
  let bestCost = Number.POSITIVE_INFINITY;
  for (let j = first; j <= first + gapSteps && j <= steps; j++) {
    let cost = 0;
    let a = 0;
    for (let t = j; t <= steps; t += gapSteps) {
      // A poll at t is sent only if R > a; it sees Ready with lag t − R if R ≤ t.
      cost += lagPerPollMs * s[a]! + s[a]! * (t - a) * SCAN_STEP_MS - (integral[t]! - integral[a]!);
      a = t;
    }
    if (cost < bestCost) {
      bestCost = cost;
      best = j;
    }
  }
  return start + best * SCAN_STEP_MS;
}

/** Cache of the history belief per history array (a history hands out one array per version). */
const beliefCache = new WeakMap<readonly number[], { tuning: ScheduleTuning; belief: FinishBelief }>();

function cachedHistoryBelief(history: readonly number[], tuning: ScheduleTuning): FinishBelief {
  const hit = beliefCache.get(history);
  if (hit && hit.tuning === tuning) return hit.belief;
  const belief = historyBelief(history, tuning);
  beliefCache.set(history, { tuning, belief });
  return belief;
}

export interface PollDecision {
  /** How long to wait from now before the next poll. */
  delayMs: number;
  /** The estimate from progress, when there was one (for progress messages and tests). */
  estimate: ProgressEstimate | undefined;
}

/**
 * The delay before the next poll of a pending task, given what it reported so far and the durations
 * (ms) of past tasks. Always within the hard limits of `guardPollDelay`.
 */
export function nextPoll(
  state: PollState,
  historyMs: readonly number[],
  tuning: ScheduleTuning = DEFAULT_TUNING,
): PollDecision {
  const history = cachedHistoryBelief(historyMs, tuning);
  const estimate = estimateFinish(state.observations, tuning);
  const belief = estimate ? progressBelief(estimate, history, tuning) : history;
  // The task was still Pending when the last poll was sent.
  const conditionAt = state.lastPollAtMs ?? 0;
  const earliest = earliestPollAt(state, tuning);
  const latest = Math.max(earliest, conditionAt + tuning.maxGapMs);
  // An upstream that reports progress will yield an estimate soon: keep the budget for it.
  const reportsProgress = state.observations.some((o) => o.progress !== undefined);
  // Unspent budget makes polls cheaper, at most by half: a task far past every expectation still backs off.
  const credit = Math.max(0, (state.elapsedMs * tuning.maxRatePerS) / 1000 - state.polls);
  const lambda =
    (reportsProgress ? tuning.lagPerPollMs : tuning.lagPerPollNoProgressMs) /
    (1 + Math.min(1, credit / tuning.creditScale));
  let wanted = timeWorthPolling(belief, conditionAt, earliest, latest, lambda);
  wanted = Math.min(latest, bestPhase(belief, conditionAt, wanted, tuning.minGapMs, lambda));
  if (estimate) {
    // Look again on the way, to refine the estimate, but never so close to the wanted poll that the
    // floor between polls would push that one back.
    const look = state.elapsedMs + tuning.reestimateFraction * (wanted - state.elapsedMs);
    if (look >= earliest && wanted - look >= tuning.minGapMs) wanted = look;
  }
  return { delayMs: guardPollDelay(wanted, state, tuning), estimate };
}

/** Convenience: just the delay. */
export function nextPollDelay(
  state: PollState,
  historyMs: readonly number[],
  tuning: ScheduleTuning = DEFAULT_TUNING,
): number {
  return nextPoll(state, historyMs, tuning).delayMs;
}

/**
 * The best guess of when a task became Ready, for the history: midway between the last poll that saw it
 * Pending and the first that saw it Ready.
 */
export function readyTimeEstimate(lastPendingPollAtMs: number | undefined, readyPollAtMs: number): number {
  return lastPendingPollAtMs === undefined ? readyPollAtMs : (lastPendingPollAtMs + readyPollAtMs) / 2;
}
