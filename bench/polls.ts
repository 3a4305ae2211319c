/**
 * Poll lag and poll rate from the upstream emulator's records (P2). Pure: a task's timeline in, figures
 * out, so the same code judges our server and the fixed-interval baseline.
 */
import { maximum, mean, median, quantile } from "./figures.js";

export interface PollRecord {
  /** When the emulator received the poll (ms since the epoch). */
  at: number;
  /** The status it answered, when the emulator records it. */
  status?: string | undefined;
}

export interface TaskTimeline {
  /** When the task was created (submit accepted). */
  createdAt: number;
  /** When the emulator started answering Ready; undefined for tasks that never became Ready. */
  readyAt: number | undefined;
  polls: readonly PollRecord[];
  /** When the client had the result in hand (tool result received, or sample written). */
  deliveredAt?: number | undefined;
}

export interface TaskPollFigures {
  /** First poll answered Ready − readyAt. */
  lagMs: number;
  readyPollAt: number;
  /** Polls up to and including the one answered Ready. */
  polls: number;
  /** readyPollAt − createdAt. */
  lifeMs: number;
  /** polls ÷ life, per second. */
  rate: number;
  /** 1 ÷ the shortest gap between consecutive polls, per second (the rate itself with a single poll). */
  maxRate: number;
  /** Most polls inside any 1 s window [t, t + 1000 ms): a rate that one late-arriving poll cannot double. */
  maxPollsPerSecond: number;
  /** deliveredAt − readyAt, when delivered. */
  deliveredMs: number | undefined;
}

/** Most of the (sorted) times that fall inside any half-open window [t, t + windowMs). */
export function maxInWindow(sortedTimes: readonly number[], windowMs: number): number {
  let best = 0;
  let start = 0;
  for (let end = 0; end < sortedTimes.length; end++) {
    while (sortedTimes[end]! - sortedTimes[start]! >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

/** Index (in time order) of the first poll that saw the task Ready, or -1. */
export function readyPollIndex(polls: readonly PollRecord[], readyAt: number | undefined): number {
  if (readyAt === undefined) return -1;
  const statusKnown = polls.some((p) => p.status !== undefined);
  // With statuses recorded, trust them; otherwise the emulator answers Ready from readyAt on (at ≥ readyAt).
  return polls.findIndex((p) => (statusKnown ? p.status === "Ready" : p.at >= readyAt));
}

function byTime(polls: readonly PollRecord[]): PollRecord[] {
  return [...polls].sort((a, b) => a.at - b.at);
}

export function taskPollFigures(task: TaskTimeline): TaskPollFigures | undefined {
  const polls = byTime(task.polls);
  const index = readyPollIndex(polls, task.readyAt);
  if (index < 0 || task.readyAt === undefined) return undefined;
  const readyPollAt = polls[index]!.at;
  const count = index + 1;
  const lifeMs = Math.max(1, readyPollAt - task.createdAt);
  const rate = count / (lifeMs / 1000);
  let minGap = Number.POSITIVE_INFINITY;
  for (let i = 1; i <= index; i++) minGap = Math.min(minGap, polls[i]!.at - polls[i - 1]!.at);
  const maxRate = count < 2 ? rate : minGap <= 0 ? Number.POSITIVE_INFINITY : 1000 / minGap;
  return {
    lagMs: readyPollAt - task.readyAt,
    readyPollAt,
    polls: count,
    lifeMs,
    rate,
    maxRate,
    maxPollsPerSecond: maxInWindow(
      polls.slice(0, count).map((p) => p.at),
      1000,
    ),
    deliveredMs: task.deliveredAt === undefined ? undefined : task.deliveredAt - task.readyAt,
  };
}

export interface PollSummary {
  tasks: number;
  /** Tasks whose Ready was seen by a poll. */
  seen: number;
  medianLagMs: number;
  p90LagMs: number;
  maxLagMs: number;
  /** Mean over tasks of each task's polls ÷ life. */
  meanRate: number;
  /** Highest instantaneous rate of any task. */
  maxRate: number;
  /** Most polls of one task inside any 1 s window. */
  maxPollsPerSecond: number;
  medianDeliveredMs: number;
  totalPolls: number;
}

export function summarisePolls(tasks: readonly TaskTimeline[]): PollSummary {
  const figures = tasks.map(taskPollFigures).filter((f): f is TaskPollFigures => f !== undefined);
  const lags = figures.map((f) => f.lagMs);
  const delivered = figures.map((f) => f.deliveredMs).filter((d): d is number => d !== undefined);
  return {
    tasks: tasks.length,
    seen: figures.length,
    medianLagMs: median(lags),
    p90LagMs: quantile(lags, 0.9),
    maxLagMs: maximum(lags),
    meanRate: mean(figures.map((f) => f.rate)),
    maxRate: maximum(figures.map((f) => f.maxRate)),
    maxPollsPerSecond: maximum(figures.map((f) => f.maxPollsPerSecond)),
    medianDeliveredMs: median(delivered),
    totalPolls: figures.reduce((sum, f) => sum + f.polls, 0),
  };
}
