import type { ProviderName } from "../config.js";
import type { ResultMeta } from "../results/store.js";

/**
 * The state that keeps a paid task from being paid twice, behind small interfaces. Today one process holds
 * it (in memory, and in files under the output directory so a restart keeps it); the replicas issue adds
 * Redis implementations of the same interfaces. `createPaidTaskState` (index.ts) picks them once at start-up;
 * nothing else knows which one runs.
 */

/** One submitted upstream task, journalled before the server waits on it: no image data, no secrets. */
export interface JournalEntry {
  upstream_id: string;
  polling_url: string;
  /** The request identity (identity.ts), so a recovered result is handed to the identical retry. */
  identity: string;
  provider: ProviderName;
  /** The request kind ("fill", ...). */
  kind: string;
  submitted_at: string;
  /** The process that waits on the task: another live process's tasks are not collected on start. */
  owner_pid: number;
  /** Credits the upstream said the task costs, when it said. */
  cost: number | null;
  /** The public upstream parameters (never the webhook secret), for the recovered result's sidecar. */
  params: Record<string, unknown>;
  /** Where the inputs came from and their size (and a fill's mask or an expansion's sides), for the sidecar. */
  inputs: ResultMeta["inputs"];
  /** The named user whose task it is (their results directory gets it); absent for the local user. */
  user?: string;
}

export interface TaskJournal {
  /** Records a task just submitted; resolves once it is stored. */
  record(entry: JournalEntry): Promise<void>;
  /** The task's result is saved (or the task ended without one): forget it. */
  finish(upstreamId: string): Promise<void>;
  /** Tasks recorded and never finished (a process died while waiting on them). */
  unfinished(): Promise<JournalEntry[]>;
}

/** Saved results that never reached their caller, filed by request identity. */
export interface UndeliveredResults {
  /** Files `resultId` as the undelivered result of `identity` (saved at `savedAt`, ms since the epoch). */
  remember(identity: string, resultId: string, savedAt: number): Promise<void>;
  /**
   * Claims the undelivered result of `identity` saved within `maxAgeMs` of `now`: only one caller gets it.
   * Older ones are dropped.
   */
  take(identity: string, now: number, maxAgeMs: number): Promise<{ resultId: string; savedAt: number } | undefined>;
  /** The result reached a caller: it is never handed out again, by any `take` that starts after this call. */
  forget(identity: string, resultId: string): Promise<void>;
}

/** Credits reserved before a submit, settled when the upstream's cost is known. */
export interface CreditReservation {
  /** The UTC day (YYYY-MM-DD) the credits count against. */
  day: string;
  amount: number;
}

export type ReserveOutcome =
  | { ok: true; reservation: CreditReservation; spentAfter: number }
  | { ok: false; spent: number };

/** Credits spent per UTC day by this server. */
export interface CreditLedger {
  /**
   * Counts `amount` against the day of `now` unless that would take the day's spend past `limit`
   * (no limit when undefined). Atomic: concurrent calls cannot overshoot together.
   */
  reserve(amount: number, limit: number | undefined, now: number): Promise<ReserveOutcome>;
  /** Replaces a reservation by what was actually charged (0 when nothing was). */
  settle(reservation: CreditReservation, actual: number): Promise<void>;
  /** The spend counted for the day of `now`, reservations included. */
  spent(now: number): Promise<number>;
}

/** What one caller of a shared run asks of it. */
export interface RunWaiter<P> {
  onProgress?: ((progress: P) => void) | undefined;
  /** The caller stopped waiting. */
  abandoned?: AbortSignal | undefined;
}

/** What the run itself gets: progress goes to every waiter; `abandoned` aborts once every waiter left. */
export interface SharedRunHooks<P> {
  onProgress: (progress: P) => void;
  abandoned: AbortSignal;
}

/**
 * How a run's outcome travels between processes: as the id of its saved result (results live in a store
 * every replica reads). Without it a run is only shared within its process.
 */
export interface SharedOutcome<T> {
  idOf(outcome: T): string;
  /** The outcome of a run that finished in another process, from its saved result. */
  load(resultId: string): Promise<T>;
}

/** Runs going on now, by request identity, so an identical call attaches instead of submitting. */
export interface InFlightRuns {
  /**
   * Attaches `waiter` to the run for `identity` when one is going, else starts one with `start`. A run
   * that all its earlier waiters left before it submitted anything (so it was dropped) is started afresh
   * for a waiter that did not leave.
   */
  join<T, P>(
    identity: string,
    waiter: RunWaiter<P>,
    start: (hooks: SharedRunHooks<P>) => Promise<T>,
    shared?: SharedOutcome<T>,
  ): { result: Promise<T>; attached: boolean };
  /** How many runs are going. */
  size(): number;
}

export interface PaidTaskState {
  inFlight: InFlightRuns;
  undelivered: UndeliveredResults;
  journal: TaskJournal;
  credits: CreditLedger;
}
