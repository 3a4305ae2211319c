/**
 * In-process state: the runs going on in this process. (The replicas issue adds a Redis registry beside it.)
 */
import type { InFlightRuns, RunWaiter, SharedRunHooks } from "./types.js";

interface Run<T, P> {
  waiters: Set<RunWaiter<P>>;
  left: Set<RunWaiter<P>>;
  /** Aborts once every waiter has left. */
  everyoneLeft: AbortController;
  result: Promise<T>;
}

export interface JoinOptions {
  /**
   * Whether an error means the run ended before it started anything upstream (e.g. dropped from the queue
   * because everyone left): a waiter that stayed then starts the run afresh instead of failing.
   */
  startedNothing: (error: unknown) => boolean;
}

export class MemoryInFlightRuns implements InFlightRuns {
  private readonly runs = new Map<string, Run<unknown, unknown>>();

  constructor(private readonly options: JoinOptions) {}

  size(): number {
    return this.runs.size;
  }

  join<T, P>(
    identity: string,
    waiter: RunWaiter<P>,
    start: (hooks: SharedRunHooks<P>) => Promise<T>,
  ): { result: Promise<T>; attached: boolean } {
    const existing = this.runs.get(identity) as Run<T, P> | undefined;
    const attached = existing !== undefined;
    const run = existing ?? this.startRun(identity, start);
    this.addWaiter(run, waiter);
    const result = run.result.catch((error: unknown) => {
      // The run was dropped because everyone else left before it submitted; this waiter did not leave.
      if (run.everyoneLeft.signal.aborted && !waiter.abandoned?.aborted && this.options.startedNothing(error)) {
        return this.join(identity, waiter, start).result;
      }
      throw error;
    });
    return { result, attached };
  }

  private startRun<T, P>(identity: string, start: (hooks: SharedRunHooks<P>) => Promise<T>): Run<T, P> {
    const run: Run<T, P> = {
      waiters: new Set(),
      left: new Set(),
      everyoneLeft: new AbortController(),
      result: undefined as unknown as Promise<T>,
    };
    this.runs.set(identity, run as Run<unknown, unknown>);
    const hooks: SharedRunHooks<P> = {
      onProgress: (progress) => {
        for (const waiter of run.waiters) {
          if (run.left.has(waiter)) continue;
          try {
            waiter.onProgress?.(progress);
          } catch {
            // One caller's failing listener must not stop the others' progress.
          }
        }
      },
      abandoned: run.everyoneLeft.signal,
    };
    run.result = Promise.resolve().then(() => start(hooks));
    const done = () => {
      if (this.runs.get(identity) === run) this.runs.delete(identity);
    };
    run.result.then(done, done);
    return run;
  }

  private addWaiter<P>(run: Run<unknown, P>, waiter: RunWaiter<P>): void {
    run.waiters.add(waiter);
    const leave = () => {
      run.left.add(waiter);
      if (run.left.size === run.waiters.size) run.everyoneLeft.abort();
    };
    if (waiter.abandoned?.aborted) leave();
    else waiter.abandoned?.addEventListener("abort", leave, { once: true });
  }
}
