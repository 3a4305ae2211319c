import { existsSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from "node:worker_threads";
import { type BandJob, type BandRunner, bandArrays, bandWork, FIELD_BANDS, runBandsInOrder } from "./engine/index.js";

/** How long a helper may take over one band before the engine gives up on it (a stuck thread, not work). */
const HELPER_TIMEOUT_MS = 120_000;

/** Passes smaller than this (patch visits, see bandWork) run on the calling thread: waking a helper costs more. */
const MIN_PARALLEL_WORK = 8192;

/** Control word shared with a helper: idle, done, failed. */
const IDLE = 0;
const DONE = 1;
const FAILED = 2;

/** What the engine's thread sends a helper for one pass. */
export interface HelperTask {
  jobs: BandJob[];
}

export interface ParallelRunner {
  runBands: BandRunner;
  /** How many helper threads work alongside the calling one. */
  helpers: number;
  close(): Promise<void>;
}

/** Helper threads worth starting: one per spare core, at most one per band beyond the caller's own. */
export function helperCount(cores = os.availableParallelism()): number {
  return Math.max(0, Math.min(cores - 1, FIELD_BANDS - 1));
}

/** The compiled helper sits next to this module; from TypeScript sources (tests) there is none. */
export function helperFile(): string | undefined {
  const file = fileURLToPath(new URL("./helper.js", import.meta.url));
  return existsSync(file) ? file : undefined;
}

/** A job's arrays must be shared memory, or a helper would work on a copy. */
function isShared(job: BandJob): boolean {
  return bandArrays(job).every((array) => array.buffer instanceof SharedArrayBuffer);
}

/**
 * Spreads the bands of each patch-search pass over the calling thread and `helpers` helper threads. Must be
 * used from a worker thread: the caller blocks (Atomics.wait) until its helpers are done, so a pass is as
 * synchronous as the in-order runner and gives the same pixels (the bands are independent).
 */
export function createParallelRunner(file: string, helpers = helperCount()): ParallelRunner {
  const threads: Array<{ worker: Worker; port: MessagePort; control: Int32Array }> = [];
  for (let i = 0; i < helpers; i++) {
    const control = new Int32Array(new SharedArrayBuffer(4));
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(file, { workerData: { control, port: port2 }, transferList: [port2] });
    worker.unref();
    threads.push({ worker, port: port1, control });
  }
  const runBands: BandRunner = (jobs) => {
    const work = jobs.reduce((sum, job) => sum + bandWork(job), 0);
    if (threads.length === 0 || jobs.length < 2 || work < MIN_PARALLEL_WORK || !jobs.every(isShared)) {
      runBandsInOrder(jobs);
      return;
    }
    // Job k goes to helper k-1 (round robin); the caller keeps every job assigned to "thread 0".
    const mine: BandJob[] = [];
    const theirs: BandJob[][] = threads.map(() => []);
    jobs.forEach((job, k) => {
      const slot = k % (threads.length + 1);
      if (slot === 0) mine.push(job);
      else theirs[slot - 1]!.push(job);
    });
    const busy = threads.filter((_, i) => theirs[i]!.length > 0);
    threads.forEach((thread, i) => {
      if (theirs[i]!.length === 0) return;
      Atomics.store(thread.control, 0, IDLE);
      thread.worker.postMessage({ jobs: theirs[i]! } satisfies HelperTask);
    });
    runBandsInOrder(mine);
    for (const thread of busy) {
      const outcome = Atomics.wait(thread.control, 0, IDLE, HELPER_TIMEOUT_MS);
      const state = Atomics.load(thread.control, 0);
      if (state === DONE) continue;
      const reply = receiveMessageOnPort(thread.port)?.message as { error?: string } | undefined;
      throw new Error(
        outcome === "timed-out"
          ? `a helper thread of the local engine did not answer within ${HELPER_TIMEOUT_MS / 1000} s`
          : `a helper thread of the local engine failed: ${reply?.error ?? "unknown error"}`,
      );
    }
  };
  return {
    runBands,
    helpers,
    async close() {
      await Promise.all(threads.map((thread) => thread.worker.terminate()));
      for (const thread of threads) thread.port.close();
    },
  };
}

export const HELPER_STATES = { IDLE, DONE, FAILED } as const;
