/**
 * Upstream slots beyond one process. Each process queues its own calls in a FillQueue (providers/queue.ts:
 * FIFO, 429 penalty, bounded wait); a call the local queue lets through then takes a slot from the pool
 * here before it may submit. In one process the pool is the queue itself (`processSlots`: granted at
 * once); with replicas it is a set of leases in Redis (redis.ts) that every replica draws from, so
 * FLUX_FILL_MAX_ACTIVE is one budget for all of them.
 */
import type { Health } from "../results/types.js";

export interface SlotWait {
  /** 1 = next to start, across every replica. */
  position: number;
  waiting: number;
  active: number;
  limit: number;
}

export interface SlotRequest {
  /** Aborting gives up the place (nothing was submitted); the pool rejects with `signal.reason`. */
  signal: AbortSignal;
  onWait?: (wait: SlotWait) => void;
}

export interface SlotLease {
  /** Gives the slot back; safe to call more than once. */
  release(): void;
}

export interface SlotPool {
  /** Whether other processes share it (reported by /readyz). */
  readonly shared: boolean;
  /** Waits for one of `limit` slots filed under `key`, in arrival order across everyone sharing the pool. */
  acquire(key: string, limit: number, request: SlotRequest): Promise<SlotLease>;
  /** For /readyz; undefined when there is nothing outside the process to check. */
  check(): Promise<Health | undefined>;
  close(): Promise<void>;
}

/** One process alone: its FillQueue already holds the whole budget, so every request is granted at once. */
export const processSlots: SlotPool = {
  shared: false,
  acquire: async (_key, _limit, request) => {
    if (request.signal.aborted) throw request.signal.reason;
    return { release: () => undefined };
  },
  check: async () => undefined,
  close: async () => undefined,
};
