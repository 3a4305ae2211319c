/**
 * Fair sharing of the upstream's active-task limit. Black Forest Labs allows a fixed number of
 * submitted-but-unfinished tasks per API key (24); every session and transport of one process goes
 * through one queue per key, so no call is refused with a 429 that waiting would have avoided. Users
 * take turns (the waiting user with the fewest running tasks first, ties round-robin; each user's own
 * calls in arrival order), and one user may hold at most
 * `maxActivePerUser` slots, so a burst cannot make everyone else wait for all of it. A waiting call
 * reports its position through the fill's progress callback.
 *
 * A 429 that still happens (another process or person uses the same key) lowers the effective limit
 * for a while; the provider itself waits for `Retry-After` and resubmits (it never resubmits after an
 * unknown outcome, so there is no double charge). The queue only ever starts each job once.
 */
import { createHash } from "node:crypto";
import { FluxFillError } from "../errors.js";
import { LOCAL_USER } from "../principal.js";
import type { SlotPool, SlotWait } from "../state/slots.js";
import type { FillContext, FillOutput, FillProgress, Provider, ProviderRequest } from "./types.js";

/** The limit after a 429: at most the tasks that were running without one, never below 1. */
export interface RateLimitPenalty {
  limit: number;
  /** Until when (ms since epoch) the lower limit holds. */
  until: number;
}

/** The limit in force at `now`: the configured one, or a lower one while a 429 penalty lasts. */
export function effectiveLimit(maxActive: number, penalty: RateLimitPenalty | undefined, now: number): number {
  if (penalty === undefined || now >= penalty.until) return maxActive;
  return Math.max(1, Math.min(maxActive, penalty.limit));
}

/**
 * The penalty after a 429 seen while `active` tasks held a slot, `throttled` of them refused and waiting
 * to resubmit: the upstream accepted the others, so that is what we may keep running. It lasts
 * `Retry-After` or the cooldown, whichever is longer, and a second 429 during a penalty only ever lowers
 * and extends it.
 */
export function penaltyAfterRateLimit(input: {
  maxActive: number;
  active: number;
  throttled: number;
  now: number;
  retryAfterMs: number | undefined;
  cooldownMs: number;
  previous: RateLimitPenalty | undefined;
}): RateLimitPenalty {
  const current = effectiveLimit(input.maxActive, input.previous, input.now);
  const limit = Math.max(1, Math.min(current, input.active - Math.max(1, input.throttled)));
  const duration = Math.max(input.cooldownMs, input.retryAfterMs ?? 0);
  const until = Math.max(
    input.now + duration,
    input.previous && input.now < input.previous.until ? input.previous.until : 0,
  );
  return { limit, until };
}

export interface QueueSnapshot {
  /** Configured limit. */
  maxActive: number;
  /** Limit in force now (lower during a 429 penalty). */
  limit: number;
  active: number;
  waiting: number;
  /** Running jobs refused with 429 that wait to resubmit. */
  throttled: number;
}

export interface QueueWait {
  /** 1 = next to start. */
  position: number;
  waiting: number;
  active: number;
  limit: number;
  waitedMs: number;
}

export interface AcquireOptions {
  /** Whose call this is: users take turns. Default the local user. */
  user?: string;
  /** Aborting gives up the place in the queue (nothing was started). */
  signal?: AbortSignal;
  /** Called on entering the queue, whenever the position changes, and every `heartbeatMs` while waiting. */
  onWait?: (wait: QueueWait) => void;
}

export interface FillQueueOptions {
  maxActive: number;
  /** Most slots one user may hold at once. Default `maxActive` (turns only). */
  maxActivePerUser?: number;
  /** Longest wait for a slot before the call fails (nothing submitted). */
  maxWaitMs: number;
  /** How long the limit stays lowered after a 429 without a longer `Retry-After`. Default 30 000. */
  rateLimitCooldownMs?: number;
  /** Interval of repeated position reports, so clients that reset their timeout on progress keep waiting. Default 10 000. */
  heartbeatMs?: number;
  now?: () => number;
  /** What the waits are for, in messages ("upstream task", "local engine run"). */
  label?: string;
  /**
   * Slots shared with other processes (Redis leases, state/redis.ts), filed under `slotKey`: a call this
   * queue lets through takes one of those too before it starts. None: this process holds the whole budget.
   */
  shared?: { slots: SlotPool; slotKey: string };
}

/** setTimeout fires at once for delays over 2^31 - 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Waiter {
  user: string;
  enqueuedAt: number;
  grant: () => void;
  fail: (error: FluxFillError) => void;
  /** Tells the caller its position when it changed (or always, with `again`: the heartbeat). */
  report: (again?: boolean) => void;
}

/**
 * Whose call starts next: among the users in `rotation` (waiting users, the one served longest ago
 * first) who are under `cap`, the one with the fewest running tasks; ties go by the rotation. So a user
 * with nothing running goes up with the next free slot, however long another user's burst is.
 */
export function nextUser(
  rotation: readonly string[],
  running: (user: string) => number,
  cap: number,
): string | undefined {
  let best: string | undefined;
  for (const user of rotation) {
    const count = running(user);
    if (count >= cap) continue;
    if (best === undefined || count < running(best)) best = user;
  }
  return best;
}

/**
 * The order in which waiting calls would start if no running task finished and slots were free: repeated
 * `nextUser` picks, each user's calls in arrival order (per-user caps ignored). Pure, for positions.
 */
export function serviceOrder<T extends { user: string }>(
  waiters: readonly T[],
  rotation: readonly string[],
  running: (user: string) => number,
): T[] {
  const byUser = new Map<string, T[]>();
  for (const waiter of waiters) {
    const list = byUser.get(waiter.user);
    if (list) list.push(waiter);
    else byUser.set(waiter.user, [waiter]);
  }
  let turn = [...rotation.filter((u) => byUser.has(u)), ...[...byUser.keys()].filter((u) => !rotation.includes(u))];
  const started = new Map<string, number>();
  const load = (user: string) => running(user) + (started.get(user) ?? 0);
  const order: T[] = [];
  for (;;) {
    const user = nextUser(turn, load, Number.POSITIVE_INFINITY);
    if (user === undefined) return order;
    const list = byUser.get(user)!;
    order.push(list.shift()!);
    started.set(user, (started.get(user) ?? 0) + 1);
    turn = turn.filter((u) => u !== user);
    if (list.length > 0) turn.push(user);
  }
}

/** A counting semaphore whose wait list serves users in turns, with a per-user cap, a 429 penalty and a bounded wait. */
export class FillQueue {
  readonly maxActive: number;
  readonly maxActivePerUser: number;
  private active = 0;
  private readonly activeByUser = new Map<string, number>();
  /** Users with waiting calls, next to be served first. */
  private rotation: string[] = [];
  /** Running jobs the upstream refused with 429 and that wait to resubmit. */
  private throttled = 0;
  private readonly waiters: Waiter[] = [];
  private penalty: RateLimitPenalty | undefined;
  private penaltyTimer: NodeJS.Timeout | undefined;
  private closedWith: FluxFillError | undefined;
  private readonly now: () => number;
  private readonly cooldownMs: number;
  private readonly heartbeatMs: number;
  private readonly label: string;

  constructor(private readonly options: FillQueueOptions) {
    this.maxActive = Math.max(1, Math.floor(options.maxActive));
    this.maxActivePerUser = Math.max(1, Math.floor(options.maxActivePerUser ?? this.maxActive));
    this.now = options.now ?? Date.now;
    this.cooldownMs = options.rateLimitCooldownMs ?? 30_000;
    this.heartbeatMs = options.heartbeatMs ?? 10_000;
    this.label = options.label ?? "upstream task";
  }

  snapshot(): QueueSnapshot {
    return {
      maxActive: this.maxActive,
      limit: this.limit(),
      active: this.active,
      waiting: this.waiters.length,
      throttled: this.throttled,
    };
  }

  private limit(): number {
    return effectiveLimit(this.maxActive, this.penalty, this.now());
  }

  /**
   * Waits for a slot (in this process, then among the replicas when slots are shared); resolves with the
   * function that gives it back (call it exactly once).
   */
  acquire(options: AcquireOptions = {}): Promise<() => void> {
    const shared = this.options.shared;
    return shared ? this.acquireShared(shared, options) : this.acquireLocal(options);
  }

  private async acquireShared(
    shared: NonNullable<FillQueueOptions["shared"]>,
    options: AcquireOptions,
  ): Promise<() => void> {
    const started = this.now();
    const releaseLocal = await this.acquireLocal(options);
    const remaining = Math.max(0, this.options.maxWaitMs - (this.now() - started));
    const waitedTooLong = AbortSignal.timeout(Math.min(remaining, MAX_TIMER_MS));
    const signal = AbortSignal.any([waitedTooLong, ...(options.signal ? [options.signal] : [])]);
    try {
      const lease = await shared.slots.acquire(shared.slotKey, this.limit(), {
        signal,
        onWait: (wait: SlotWait) => {
          try {
            options.onWait?.({ ...wait, waitedMs: this.now() - started });
          } catch {
            // A failing progress listener must not break the queue.
          }
        },
      });
      return () => {
        lease.release();
        releaseLocal();
      };
    } catch (error) {
      releaseLocal();
      if (options.signal?.aborted) throw this.cancelledWhileWaiting();
      if (waitedTooLong.aborted) throw this.waitedTooLong();
      throw error;
    }
  }

  /** Waits for a slot of this process's budget. */
  private acquireLocal(options: AcquireOptions): Promise<() => void> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const { signal, onWait } = options;
    const user = options.user ?? LOCAL_USER;
    if (signal?.aborted) return Promise.reject(this.cancelledWhileWaiting());
    // After every pump the slots are full or each waiting call is held by its user's cap, so a call whose
    // user is under the cap jumps nobody by starting now.
    if (this.active < this.limit() && this.activeOf(user) < this.maxActivePerUser) {
      this.take(user);
      return Promise.resolve(this.releaser(user));
    }
    return new Promise((resolve, reject) => {
      const enqueuedAt = this.now();
      let lastPosition = 0;
      const cleanup = () => {
        clearTimeout(deadline);
        clearInterval(heartbeat);
        signal?.removeEventListener("abort", onAbort);
      };
      const waiter: Waiter = {
        user,
        enqueuedAt,
        grant: () => {
          cleanup();
          resolve(this.releaser(user));
        },
        fail: (error) => {
          cleanup();
          reject(error);
        },
        report: (again = false) => {
          if (!onWait) return;
          const position = serviceOrder(this.waiters, this.rotation, (u) => this.activeOf(u)).indexOf(waiter) + 1;
          if (position === 0 || (position === lastPosition && !again)) return;
          lastPosition = position;
          try {
            onWait({
              position,
              waiting: this.waiters.length,
              active: this.active,
              limit: this.limit(),
              waitedMs: this.now() - enqueuedAt,
            });
          } catch {
            // A failing progress listener must not break the queue.
          }
        },
      };
      const remove = (error: FluxFillError) => {
        const index = this.waiters.indexOf(waiter);
        if (index === -1) return;
        this.waiters.splice(index, 1);
        if (!this.waiters.some((w) => w.user === user)) this.rotation = this.rotation.filter((u) => u !== user);
        waiter.fail(error);
        this.reportPositions();
      };
      const onAbort = () => remove(this.cancelledWhileWaiting());
      const deadline = setTimeout(() => remove(this.waitedTooLong()), Math.min(this.options.maxWaitMs, MAX_TIMER_MS));
      deadline.unref();
      const heartbeat = setInterval(() => {
        if (lastPosition > 0) waiter.report(true);
      }, this.heartbeatMs);
      heartbeat.unref();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
      if (!this.rotation.includes(user)) this.rotation.push(user);
      // A newcomer can go ahead of others (a user with fewer running tasks): everyone hears where they stand.
      this.reportPositions();
    });
  }

  /** Runs `job` once a slot is free and gives the slot back when it settles. */
  async run<T>(job: () => Promise<T>, options: AcquireOptions = {}): Promise<T> {
    const release = await this.acquire(options);
    try {
      return await job();
    } finally {
      release();
    }
  }

  /**
   * Marks one running job as refused by the upstream (429) and waiting to resubmit; returns the function
   * that unmarks it (once it was accepted or gave up). Call `reportRateLimited` too.
   */
  markThrottled(): () => void {
    this.throttled += 1;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.throttled -= 1;
    };
  }

  /** The upstream answered 429: lower the limit to what it accepted, for a while. */
  reportRateLimited(retryAfterMs?: number): void {
    const now = this.now();
    this.penalty = penaltyAfterRateLimit({
      maxActive: this.maxActive,
      active: this.active,
      throttled: this.throttled,
      now,
      retryAfterMs,
      cooldownMs: this.cooldownMs,
      previous: this.penalty,
    });
    clearTimeout(this.penaltyTimer);
    // When the penalty ends, waiting calls may start without anyone releasing a slot.
    this.penaltyTimer = setTimeout(
      () => this.pump(),
      Math.min(MAX_TIMER_MS, Math.max(0, this.penalty.until - now) + 1),
    );
    this.penaltyTimer.unref();
  }

  /** Fails every waiting call and refuses new ones (shutdown); running jobs are left to finish. */
  close(reason: string): void {
    this.closedWith = new FluxFillError(
      "cancelled",
      `${reason} The call had not started yet: nothing was submitted or charged.`,
      {
        suggestion: "Call the tool again once the server is back.",
      },
    );
    clearTimeout(this.penaltyTimer);
    for (const waiter of this.waiters.splice(0)) waiter.fail(this.closedWith);
  }

  private activeOf(user: string): number {
    return this.activeByUser.get(user) ?? 0;
  }

  private take(user: string): void {
    this.active += 1;
    this.activeByUser.set(user, this.activeOf(user) + 1);
  }

  private releaser(user: string): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active -= 1;
      const left = this.activeOf(user) - 1;
      if (left > 0) this.activeByUser.set(user, left);
      else this.activeByUser.delete(user);
      this.pump();
    };
  }

  /** The next call to start: the oldest of `nextUser`'s. */
  private nextWaiter(): Waiter | undefined {
    const user = nextUser(this.rotation, (u) => this.activeOf(u), this.maxActivePerUser);
    return user === undefined ? undefined : this.waiters.find((w) => w.user === user);
  }

  private pump(): void {
    let started = 0;
    while (this.active < this.limit()) {
      const next = this.nextWaiter();
      if (next === undefined) break;
      this.waiters.splice(this.waiters.indexOf(next), 1);
      // Served: to the back of the line, or out of it with nothing left waiting.
      this.rotation = this.rotation.filter((u) => u !== next.user);
      if (this.waiters.some((w) => w.user === next.user)) this.rotation.push(next.user);
      this.take(next.user);
      started += 1;
      next.grant();
    }
    if (started > 0) this.reportPositions();
  }

  private reportPositions(): void {
    for (const waiter of this.waiters) waiter.report();
  }

  cancelledWhileWaiting(): FluxFillError {
    return new FluxFillError(
      "cancelled",
      `The fill was cancelled while waiting for a free ${this.label} slot; nothing was submitted or charged.`,
    );
  }

  private waitedTooLong(): FluxFillError {
    const seconds = Math.round(this.options.maxWaitMs / 1000);
    return new FluxFillError(
      "timeout",
      `Waited ${seconds} s for a free ${this.label} slot (${this.maxActive} may run at once per API key and all were busy); nothing was submitted or charged.`,
      { suggestion: "Try again later, send fewer fills at once, or raise FLUX_FILL_TIMEOUT_S." },
    );
  }
}

/** The part of an API key a queue is filed under: a short digest, so the key itself is never kept as a map key. */
export function queueKey(apiKey: string): string {
  return createHash("sha256").update(apiKey).digest("hex").slice(0, 16);
}

function waitMessage(wait: QueueWait, label: string): string {
  const ahead = wait.position - 1;
  return `Waiting for a free ${label} slot: ${ahead === 0 ? "next in line" : `${ahead} ahead in the queue`} (${wait.active} of ${wait.limit} running).`;
}

/**
 * A provider whose fills go through `queue`. Waiting calls report `status: "Queued"` progress; a 429
 * the bfl provider reports (its `RateLimited` progress, or a final `upstream_rate_limited` error) lowers
 * the queue's limit.
 */
export function queuedProvider(
  provider: Provider,
  queue: FillQueue,
  label = "upstream task",
  user: string = LOCAL_USER,
): Provider {
  return {
    name: provider.name,
    estimateCredits: (kind) => provider.estimateCredits(kind),
    // A task submitted earlier already holds its upstream slot; collecting it does not queue.
    ...(provider.resume === undefined ? {} : { resume: provider.resume.bind(provider) }),
    ...(provider.balance === undefined ? {} : { balance: provider.balance.bind(provider) }),
    async fill(request: ProviderRequest, context: FillContext): Promise<FillOutput> {
      const started = Date.now();
      // A caller who stopped waiting gives up its place: nothing was submitted, so nothing is lost. So does
      // a fill whose checks failed meanwhile: its error is reported now, not once a slot is free.
      const checksFailed = new AbortController();
      request.checked.catch((error: unknown) => checksFailed.abort(error));
      const giveUp = AbortSignal.any([
        context.signal,
        checksFailed.signal,
        ...(context.abandoned ? [context.abandoned] : []),
      ]);
      const stopWaiting = (): never => {
        throw checksFailed.signal.aborted ? checksFailed.signal.reason : queue.cancelledWhileWaiting();
      };
      let release: () => void;
      try {
        release = await queue.acquire({
          user,
          signal: giveUp,
          onWait: (wait) =>
            context.onProgress?.({
              status: "Queued",
              elapsedMs: Date.now() - started,
              message: waitMessage(wait, label),
            }),
        });
      } catch (error) {
        if (checksFailed.signal.aborted) stopWaiting();
        throw error;
      }
      if (giveUp.aborted) {
        // Granted in the same turn as the abort: start nothing.
        release();
        stopWaiting();
      }
      let unthrottle: (() => void) | undefined;
      try {
        return await provider.fill(request, {
          ...context,
          onProgress: (progress: FillProgress) => {
            // The bfl provider reports each 429 on the submit as `RateLimited` before waiting to resubmit;
            // any later status means the submit went through (or the fill moved on).
            // TODO(bfl): a structured `onRateLimited(retryAfterMs)` hook would carry the exact Retry-After.
            if (progress.status === "RateLimited") {
              unthrottle ??= queue.markThrottled();
              queue.reportRateLimited();
            } else if (unthrottle) {
              unthrottle();
              unthrottle = undefined;
            }
            context.onProgress?.(progress);
          },
        });
      } catch (error) {
        if (error instanceof FluxFillError && error.kind === "upstream_rate_limited") {
          const retryAfterMs = error.details?.retryAfterMs;
          queue.reportRateLimited(typeof retryAfterMs === "number" ? retryAfterMs : undefined);
        }
        throw error;
      } finally {
        unthrottle?.();
        release();
      }
    },
  };
}

/**
 * The queues of one process, one per upstream key, shared by every session and transport (the server
 * runtime holds one). `close` is for shutdown: waiting calls fail at once instead of starting a paid
 * task the shutdown would cut off.
 */
export class FillQueues {
  private readonly queues = new Map<string, FillQueue>();

  constructor(private readonly defaults: Omit<FillQueueOptions, "maxActive" | "label" | "shared">) {}

  /**
   * The queue filed under `key`, created with `maxActive` (and `maxActivePerUser`) on first use; `slots`
   * when its budget is shared with other processes (filed there under the same key).
   */
  queue(key: string, maxActive: number, label?: string, maxActivePerUser?: number, slots?: SlotPool): FillQueue {
    let queue = this.queues.get(key);
    if (!queue) {
      queue = new FillQueue({
        ...this.defaults,
        maxActive,
        ...(label === undefined ? {} : { label }),
        ...(maxActivePerUser === undefined ? {} : { maxActivePerUser }),
        ...(slots === undefined ? {} : { shared: { slots, slotKey: key } }),
      });
      this.queues.set(key, queue);
    }
    return queue;
  }

  snapshot(): Record<string, QueueSnapshot> {
    return Object.fromEntries([...this.queues].map(([key, queue]) => [key, queue.snapshot()]));
  }

  close(reason: string): void {
    for (const queue of this.queues.values()) queue.close(reason);
  }
}

/** Which runtime (by its deps object) owns which queues, so a transport can drain them on shutdown. */
const queuesByOwner = new WeakMap<object, FillQueues>();

export function attachQueues(owner: object, queues: FillQueues): void {
  queuesByOwner.set(owner, queues);
}

export function queuesOf(owner: object): FillQueues | undefined {
  return queuesByOwner.get(owner);
}
