/**
 * Never pay twice for one request. Around any paid task (fill, and any other kind that goes through the
 * pipeline), keyed by its request identity (state/identity.ts):
 * - an undelivered result of the identical request (its caller went away) is handed over, free;
 * - an identical request running now is joined instead of submitted again;
 * - otherwise the known price is reserved against the daily credit limit, the task is journalled once
 *   submitted, and its result is filed as undelivered until a caller has actually received it.
 */
import { FluxFillError } from "./errors.js";
import type { PayForSegmentation } from "./images/selection/segmenter.js";
import type { Logger } from "./log.js";
import type { FillProgress, Provider, ProviderRequest, SubmittedTaskInfo } from "./providers/types.js";
import { utcDay } from "./state/files.js";
import type {
  CreditLedger,
  CreditReservation,
  JournalEntry,
  PaidTaskState,
  RunWaiter,
  SharedOutcome,
} from "./state/types.js";

/** How long an undelivered result is handed to the identical call. */
export const UNDELIVERED_WINDOW_MS = 30 * 60_000;
/** Below this balance (credits) the reply adds a note. */
export const LOW_BALANCE_CREDITS = 50;
/** How long a finished fill waits for the balance answer (it was asked when the task was submitted). */
const BALANCE_WAIT_MS = 1000;

export type Reuse = "none" | "shared_task" | "earlier_result";

/** The day's spend, for the reply and /readyz. */
export interface SpendFacts {
  day: string;
  spent: number;
  limit: number | undefined;
}

/** What a caller of a paid task gets besides the result itself. */
export interface PaidTaskFacts {
  reuse: Reuse;
  /** The day's spend after this call; undefined when it could not be read. */
  spend?: SpendFacts | undefined;
  /** Balance reported by the upstream after the submit, when it answered in time. */
  balance?: number | undefined;
  /**
   * Tell once whether the result reached this caller. Not delivered: it stays (or becomes again) the
   * undelivered result the next identical call gets; delivered: it is never handed out again.
   */
  settleDelivery: (delivered: boolean) => Promise<void>;
}

/** A saved result as far as this module needs it. */
export interface SavedOutcome {
  meta: { id: string; cost: number | null; created_at: string };
}

export interface PaidTaskHooks {
  onProgress: (progress: FillProgress) => void;
  abandoned: AbortSignal;
  onSubmitted: (task: SubmittedTaskInfo) => Promise<void>;
}

export interface PaidTaskJob<T extends SavedOutcome> {
  identity: string;
  /** The named user whose task it is (journalled, so a restart saves it in their results); undefined = local. */
  user?: string | undefined;
  kind: ProviderRequest["kind"];
  provider: Provider;
  waiter: RunWaiter<FillProgress>;
  /** What the journal needs besides the task itself (public parameters, input facts); asked once submitted. */
  journalFacts: () => Promise<Pick<JournalEntry, "params" | "inputs">>;
  /** Submits, waits, saves. */
  run: (hooks: PaidTaskHooks) => Promise<T>;
  /** A saved result by id (for handing over an undelivered one); rejects when it is gone. */
  loadSaved: (resultId: string) => Promise<T>;
  /**
   * Credits already held for this task (holdCreditsFor: several tasks reserved together before any is
   * submitted); settled 0 when the task is not run (an earlier result, a shared task).
   */
  hold?: CreditHold | undefined;
}

export interface PaidTaskDeps {
  state: PaidTaskState;
  logger: Logger;
  /** FLUX_FILL_DAILY_CREDIT_LIMIT; undefined = no limit. */
  dailyCreditLimit: number | undefined;
  /** The caller's own spend and FLUX_FILL_USER_DAILY_CREDIT_LIMIT, counted besides the server's. */
  userCredits?: UserCredits | undefined;
  /** Where the state lives, for error messages. */
  outputDir: string;
  /** Resolves once the tasks journalled before a restart are being collected (so a retry joins them). */
  recovering?: Promise<void> | undefined;
  now?: () => number;
}

/** One user's daily spend: their own ledger and limit (the server's limit still applies too). */
export interface UserCredits {
  user: string;
  /** FLUX_FILL_USER_DAILY_CREDIT_LIMIT; undefined = only the server's limit. */
  limit: number | undefined;
  ledger: CreditLedger;
}

/** Milliseconds to the next 00:00 UTC after `now`. */
export function untilUtcMidnight(now: number): number {
  const next = new Date(now);
  next.setUTCHours(24, 0, 0, 0);
  return next.getTime() - now;
}

function describeWait(ms: number): string {
  const minutes = Math.ceil(ms / 60_000);
  return minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min`;
}

export function creditLimitError(limit: number, spent: number, price: number, now: number): FluxFillError {
  return new FluxFillError(
    "credit_limit",
    `This call would pass the daily credit limit: FLUX_FILL_DAILY_CREDIT_LIMIT is ${limit} credits per UTC day, ${spent} were spent today (${utcDay(now)} UTC) and a task costs about ${price}. Nothing was submitted or charged. The limit resets at 00:00 UTC, in ${describeWait(untilUtcMidnight(now))}.`,
    {
      suggestion:
        "Wait for the reset, or ask the user whether to raise FLUX_FILL_DAILY_CREDIT_LIMIT in the server's env. An identical call whose result was not delivered is still handed over free.",
      details: { limit, spent, day: utcDay(now) },
    },
  );
}

export function userCreditLimitError(user: string, limit: number, spent: number, price: number, now: number): FluxFillError {
  return new FluxFillError(
    "credit_limit",
    `This call would pass your daily credit limit: FLUX_FILL_USER_DAILY_CREDIT_LIMIT is ${limit} credits per user per UTC day, ${user} spent ${spent} today (${utcDay(now)} UTC) and a task costs about ${price}. Nothing was submitted or charged. The limit resets at 00:00 UTC, in ${describeWait(untilUtcMidnight(now))}.`,
    {
      suggestion:
        "Wait for the reset, or ask whoever runs the server to raise FLUX_FILL_USER_DAILY_CREDIT_LIMIT. An identical call whose result was not delivered is still handed over free.",
      details: { limit, spent, day: utcDay(now) },
    },
  );
}

/** Whether an error says the task never reached the upstream (so nothing was charged). */
export function nothingSubmitted(error: unknown): boolean {
  return (
    error instanceof FluxFillError &&
    error.kind === "cancelled" &&
    error.details?.taskId === undefined &&
    error.details?.outcomeUnknown !== true
  );
}

/** Errors after which the task may still finish upstream: its journal entry stays, for the next start. */
function taskMayStillFinish(error: unknown): boolean {
  return error instanceof FluxFillError && (error.kind === "timeout" || error.kind === "cancelled");
}

/** A task the upstream refused to run is not charged. */
function notCharged(error: unknown): boolean {
  return error instanceof FluxFillError && error.kind === "upstream_moderated";
}

/** Shared by every caller of one saved result: once delivered, it is never filed as undelivered again. */
interface DeliveryRecord {
  identity: string;
  resultId: string;
  savedAt: number;
  delivered: boolean;
}

function settler(state: PaidTaskState, record: DeliveryRecord, logger: Logger) {
  let settled = false;
  return async (delivered: boolean): Promise<void> => {
    if (settled) return;
    settled = true;
    try {
      if (delivered) {
        record.delivered = true;
        await state.undelivered.forget(record.identity, record.resultId);
      } else if (!record.delivered) {
        await state.undelivered.remember(record.identity, record.resultId, record.savedAt);
      }
    } catch (error) {
      logger.warn(
        `could not file result ${record.resultId} as ${delivered ? "delivered" : "undelivered"}: ${String(error)}`,
      );
    }
  };
}

/**
 * A just-saved result is filed as undelivered at once (and on disk), so neither a lost reply nor a crash
 * loses it; the returned record is shared by every caller of the run.
 */
async function fileAsUndelivered(
  state: PaidTaskState,
  logger: Logger,
  identity: string,
  resultId: string,
  savedAt: number,
): Promise<DeliveryRecord> {
  await state.undelivered
    .remember(identity, resultId, savedAt)
    .catch((error: unknown) => logger.warn(`could not file result ${resultId}: ${String(error)}`));
  return { identity, resultId, savedAt, delivered: false };
}

/** What one run gives every caller attached to it. */
interface RunOutcome<T> {
  saved: T;
  record: DeliveryRecord;
  balance: Promise<number | undefined>;
}

/** The upstream keeps a task's result this long after it is ready; older journal entries are dropped. */
export const UPSTREAM_RESULT_WINDOW_MS = 10 * 60_000;

/**
 * Collects a task journalled by a process that died while waiting on it, as the run of its request: an
 * identical call arriving meanwhile joins it; its result is filed as undelivered, for the identical retry.
 * The run is registered at once (joining is synchronous); `done` settles with its end.
 */
export function collectJournalledTask<T extends SavedOutcome>(
  entry: JournalEntry,
  collect: (hooks: { onProgress: (p: FillProgress) => void; abandoned: AbortSignal }) => Promise<T>,
  deps: Pick<PaidTaskDeps, "state" | "logger" | "now"> & { loadSaved?: (resultId: string) => Promise<T> },
): { done: Promise<T> } {
  const { state, logger } = deps;
  const now = deps.now ?? Date.now;
  const shared = deps.loadSaved && sharedOutcome(entry.identity, deps.loadSaved, now);
  const { result } = state.inFlight.join<RunOutcome<T>, FillProgress>(entry.identity, {}, async (hooks) => {
    let saved: T;
    try {
      saved = await collect(hooks);
    } catch (error) {
      if (!taskMayStillFinish(error)) await state.journal.finish(entry.upstream_id).catch(() => undefined);
      throw error;
    }
    const record = await fileAsUndelivered(state, logger, entry.identity, saved.meta.id, now());
    await state.journal.finish(entry.upstream_id).catch(() => undefined);
    return { saved, record, balance: Promise.resolve(undefined) };
  }, shared);
  return { done: result.then((outcome) => outcome.saved) };
}

/**
 * How a run's outcome reaches identical calls in other processes (replicas): by its saved result's id.
 * `onLoad` tells the caller its outcome came from elsewhere.
 */
function sharedOutcome<T extends SavedOutcome>(
  identity: string,
  loadSaved: (resultId: string) => Promise<T>,
  now: () => number,
  onLoad?: () => void,
): SharedOutcome<RunOutcome<T>> {
  return {
    idOf: (outcome) => outcome.saved.meta.id,
    load: async (resultId) => {
      const saved = await loadSaved(resultId);
      onLoad?.();
      return {
        saved,
        record: { identity, resultId, savedAt: now(), delivered: false },
        balance: Promise.resolve(undefined),
      };
    },
  };
}

/** Credits counted for a paid call before it is made, settled once what it cost is known. */
export interface CreditHold {
  /** Replaces the reservation by what was charged (0 when nothing was); never throws. */
  settle(actual: number): Promise<void>;
}

/** What counting credits needs: the server's ledger and limit, and the caller's own. */
export type CreditDeps = Pick<PaidTaskDeps, "logger" | "dailyCreditLimit" | "userCredits" | "outputDir"> & {
  credits: CreditLedger;
};

/**
 * Reserves `price` credits against the server's daily limit, then the user's own: throws a `credit_limit`
 * error (nothing reserved) when either would be passed, or when a limit is set but the spend cannot be
 * recorded. Without limits a ledger failure is only logged.
 */
export async function holdCredits(price: number, deps: CreditDeps, now: number): Promise<CreditHold> {
  const { logger } = deps;
  const limit = deps.dailyCreditLimit;
  let reservation: CreditReservation | undefined;
  let userReservation: CreditReservation | undefined;
  /** The user's own limit, counted after the server's (the caller gives the server's back on a refusal). */
  const reserveForUser = async (price: number): Promise<CreditReservation | undefined> => {
    const own = deps.userCredits;
    if (own === undefined) return undefined;
    const reserved = await own.ledger.reserve(price, own.limit, now).catch((error: unknown) => {
      if (own.limit === undefined) {
        logger.warn(`could not record ${own.user}'s credit spend: ${String(error)}`);
        return undefined;
      }
      throw new FluxFillError(
        "credit_limit",
        `${own.user}'s credit spend cannot be read or recorded (${String(error)}), so FLUX_FILL_USER_DAILY_CREDIT_LIMIT cannot be enforced; nothing was submitted.`,
        { suggestion: "Make FLUX_FILL_OUTPUT_DIR a writable directory, or unset FLUX_FILL_USER_DAILY_CREDIT_LIMIT." },
      );
    });
    if (reserved === undefined) return undefined;
    if (reserved.ok) return reserved.reservation;
    throw userCreditLimitError(own.user, own.limit ?? 0, reserved.spent, price, now);
  };
  try {
    const reserved = await deps.credits.reserve(price, limit, now);
    if (!reserved.ok) throw creditLimitError(limit ?? 0, reserved.spent, price, now);
    reservation = reserved.reservation;
    try {
      userReservation = await reserveForUser(price);
    } catch (error) {
      await deps.credits.settle(reservation, 0).catch(() => undefined);
      reservation = undefined;
      throw error;
    }
  } catch (error) {
    if (error instanceof FluxFillError) throw error;
    if (limit !== undefined) {
      throw new FluxFillError(
        "credit_limit",
        `The day's credit spend cannot be read or recorded in ${deps.outputDir} (${String(error)}), so FLUX_FILL_DAILY_CREDIT_LIMIT cannot be enforced; nothing was submitted.`,
        { suggestion: "Make FLUX_FILL_OUTPUT_DIR a writable directory, or unset FLUX_FILL_DAILY_CREDIT_LIMIT." },
      );
    }
    logger.warn(`could not record the credit spend in ${deps.outputDir}: ${String(error)}`);
  }
  return {
    async settle(actual: number) {
      if (userReservation !== undefined) {
        await deps.userCredits?.ledger
          .settle(userReservation, actual)
          .catch((error: unknown) => logger.warn(`could not record the user's credit spend: ${String(error)}`));
      }
      if (reservation === undefined) return;
      await deps.credits
        .settle(reservation, actual)
        .catch((error: unknown) => logger.warn(`could not record the credit spend: ${String(error)}`));
    },
  };
}

/** 1 credit = $0.01 (BFL's unit, which the ledger and the daily limits count in). */
export const CREDITS_PER_USD = 100;

/**
 * Paying for hosted segmentations out of the same daily credits as fills: a price in dollars is counted
 * as credits (×100, so fal's $0.005 is 0.5 credit), reserved before the call and settled after it.
 */
export function creditPayer(deps: CreditDeps & { now?: () => number }): PayForSegmentation {
  const now = deps.now ?? Date.now;
  return async (priceUsd) => {
    const hold = await holdCredits(priceUsd * CREDITS_PER_USD, deps, now());
    return (chargedUsd) => hold.settle(chargedUsd * CREDITS_PER_USD);
  };
}

/**
 * Holds for `count` tasks of `price` credits each, reserved together (one reservation of count × price,
 * refused as a whole before anything is submitted); each hold settles its task, and the reservation is
 * replaced by their sum once all have. Settling a hold twice counts once.
 */
export async function holdCreditsFor(count: number, price: number, deps: CreditDeps, now: number): Promise<CreditHold[]> {
  let bulk: CreditHold;
  try {
    bulk = await holdCredits(count * price, deps, now);
  } catch (error) {
    if (error instanceof FluxFillError && error.kind === "credit_limit" && count > 1) {
      throw new FluxFillError(
        "credit_limit",
        `${error.message} (This call asked for ${count} variations: ${count} tasks of about ${price} credits, ${count * price} in all, reserved together.)`,
        { suggestion: `Ask for fewer variations, or: ${error.suggestion ?? ""}`, details: error.details ?? {} },
      );
    }
    throw error;
  }
  let left = count;
  let total = 0;
  return Array.from({ length: count }, () => {
    let settled = false;
    return {
      async settle(actual: number) {
        if (settled) return;
        settled = true;
        total += actual;
        left--;
        if (left === 0) await bulk.settle(total);
      },
    };
  });
}

/**
 * `promise`'s value, or undefined once `ms` have passed. Out here and with its timer cleared: a timer made
 * inside runPaidTask kept the whole job (the request's uploads and decoded pixels, ~10 MB for a 1 MP fill)
 * alive for a second after every fill whose balance had long answered.
 */
async function settledWithin<V>(promise: Promise<V>, ms: number): Promise<V | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, ms, undefined);
    timer.unref();
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a paid task at most once per request; see the module comment. */
export async function runPaidTask<T extends SavedOutcome>(
  job: PaidTaskJob<T>,
  deps: PaidTaskDeps,
): Promise<T & PaidTaskFacts> {
  const { state, logger } = deps;
  const now = deps.now ?? Date.now;
  const spendNow = async (): Promise<SpendFacts | undefined> => {
    try {
      return { day: utcDay(now()), spent: await state.credits.spent(now()), limit: deps.dailyCreditLimit };
    } catch {
      return undefined;
    }
  };

  await deps.recovering?.catch(() => undefined);
  const earlier = await state.undelivered.take(job.identity, now(), UNDELIVERED_WINDOW_MS).catch(() => undefined);
  if (earlier !== undefined) {
    const saved = await job.loadSaved(earlier.resultId).catch(() => undefined);
    if (saved !== undefined) {
      logger.info(`handing over undelivered result ${earlier.resultId} to an identical call`);
      const record: DeliveryRecord = {
        identity: job.identity,
        resultId: earlier.resultId,
        savedAt: earlier.savedAt,
        delivered: false,
      };
      return {
        ...saved,
        reuse: "earlier_result",
        spend: await spendNow(),
        settleDelivery: settler(state, record, logger),
      };
    }
  }

  // An identical call's run in another replica (Redis state) hands over its saved result.
  let attachedElsewhere = false;
  const { result, attached } = state.inFlight.join<RunOutcome<T>, FillProgress>(
    job.identity,
    job.waiter,
    (hooks) => startRun(hooks),
    sharedOutcome(job.identity, job.loadSaved, now, () => {
      attachedElsewhere = true;
    }),
  );

  async function startRun(hooks: {
    onProgress: (p: FillProgress) => void;
    abandoned: AbortSignal;
  }): Promise<RunOutcome<T>> {
    const price = job.provider.estimateCredits(job.kind);
    const { settle: settleCredits } = job.hold ?? (await holdCredits(price, { ...deps, credits: state.credits }, now()));

    let submitted: SubmittedTaskInfo | undefined;
    let balance: Promise<number | undefined> = Promise.resolve(undefined);
    const onSubmitted = async (task: SubmittedTaskInfo) => {
      submitted = task;
      if (job.provider.balance && price > 0) {
        balance = job.provider.balance(AbortSignal.timeout(5000)).catch(() => undefined);
      }
      try {
        await state.journal.record({
          upstream_id: task.upstreamId,
          polling_url: task.pollingUrl,
          identity: job.identity,
          provider: job.provider.name,
          kind: job.kind,
          submitted_at: new Date(now()).toISOString(),
          owner_pid: process.pid,
          cost: task.cost ?? null,
          ...(job.user === undefined ? {} : { user: job.user }),
          ...(await job.journalFacts()),
        });
      } catch (error) {
        logger.warn(`could not journal task ${task.upstreamId}: ${String(error)}`);
      }
    };
    let saved: T;
    try {
      saved = await job.run({ onProgress: hooks.onProgress, abandoned: hooks.abandoned, onSubmitted });
    } catch (error) {
      const task = submitted as SubmittedTaskInfo | undefined;
      await settleCredits(task === undefined || notCharged(error) ? 0 : (task.cost ?? price));
      if (task !== undefined && !taskMayStillFinish(error))
        await state.journal.finish(task.upstreamId).catch(() => undefined);
      throw error;
    }
    const task = submitted as SubmittedTaskInfo | undefined;
    await settleCredits(saved.meta.cost ?? task?.cost ?? price);
    const record = await fileAsUndelivered(state, logger, job.identity, saved.meta.id, now());
    if (task !== undefined) await state.journal.finish(task.upstreamId).catch(() => undefined);
    return { saved, record, balance };
  }

  let outcome: RunOutcome<T>;
  try {
    outcome = await result;
  } finally {
    // A held task that was not run (shared, or failed before its run) gives its credits back; a no-op after a run.
    await job.hold?.settle(0);
  }
  const balance = await settledWithin(outcome.balance, BALANCE_WAIT_MS);
  return {
    ...outcome.saved,
    reuse: attached || attachedElsewhere ? "shared_task" : "none",
    spend: await spendNow(),
    balance,
    settleDelivery: settler(state, outcome.record, logger),
  };
}

/** The lines a reply adds about sharing, the day's spend and a low balance. */
export function paidTaskNotes(
  facts: Omit<PaidTaskFacts, "settleDelivery">,
  savedAt: string,
  provider: string,
): string[] {
  const notes: string[] = [];
  if (facts.reuse === "shared_task") {
    notes.push("An identical call was already running: both calls shared its one upstream task, charged once.");
  } else if (facts.reuse === "earlier_result") {
    notes.push(
      `This is the earlier result of an identical call (saved ${savedAt}) that never reached its caller; nothing was submitted or charged for this call. To force a fresh run, change the seed.`,
    );
  }
  if (facts.spend !== undefined && (provider !== "local" || facts.spend.limit !== undefined)) {
    const limit =
      facts.spend.limit === undefined
        ? ""
        : ` of the ${facts.spend.limit} allowed by FLUX_FILL_DAILY_CREDIT_LIMIT (resets 00:00 UTC)`;
    notes.push(`Spent today (${facts.spend.day} UTC): ${facts.spend.spent} credits${limit}.`);
  }
  if (facts.balance !== undefined && facts.balance < LOW_BALANCE_CREDITS) {
    notes.push(
      `Low balance: ${facts.balance} credits left on the Black Forest Labs account (about ${Math.floor(facts.balance / 5)} fills). Top up at https://dashboard.bfl.ai.`,
    );
  }
  return notes;
}
