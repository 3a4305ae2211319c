import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { FluxFillError } from "../../errors.js";
import type { RasterImage } from "../../images/raster.js";
import { type EngineProgress, inpaintSteps } from "./engine/index.js";

/** One engine run: plain data, so it can cross into a worker thread. */
export interface EngineJob {
  image: RasterImage;
  mask: RasterImage;
  seed: number;
  /**
   * 0 keeps the engine thread's helpers (one per spare core, see parallel.ts) out of this job; by default they
   * take bands of its passes.
   */
  helpers?: number;
}

/** What the calling thread posts to an engine thread (see worker.ts). */
export interface WorkerRequest {
  type: "job";
  job: EngineJob;
}

/** Messages an engine thread posts back (see worker.ts). */
export type WorkerMessage =
  | { type: "progress"; progress: EngineProgress }
  | { type: "result"; data: Uint8Array; width: number; height: number }
  | { type: "error"; kind: string; message: string };

export interface RunOptions {
  signal: AbortSignal;
  onProgress?: (progress: EngineProgress) => void;
  /** Run in a worker thread when its compiled file exists (default); false forces the calling thread. */
  useWorker?: boolean;
}

/**
 * An engine thread is kept this long after its last job: starting one (and its helper) costs tens of
 * milliseconds, and a warm thread reuses memory the system has already handed over (first use of fresh
 * memory is what costs on small virtual machines). After that its memory goes back to the system.
 */
export const ENGINE_IDLE_MS = 60_000;
/** Engine threads kept waiting at most; a second concurrent run gets a thread of its own that then leaves. */
const MAX_IDLE_THREADS = 1;

/**
 * The compiled worker sits next to this module (dist/providers/local/worker.js). When this module is loaded
 * from TypeScript sources (tests) there is no .js worker file, and the engine runs on the calling thread,
 * yielding to the event loop between stages.
 */
export function workerFile(): string | undefined {
  const file = fileURLToPath(new URL("./worker.js", import.meta.url));
  return existsSync(file) ? file : undefined;
}

export function runEngine(job: EngineJob, options: RunOptions): Promise<RasterImage> {
  const file = options.useWorker === false ? undefined : workerFile();
  return file === undefined ? runInThread(job, options) : runInWorker(file, job, options);
}

export function cancelledError(): FluxFillError {
  return new FluxFillError(
    "cancelled",
    "The local fill was stopped before it finished (deadline reached or server shutting down).",
    {
      suggestion: "Try again with a smaller image or mask, or raise FLUX_FILL_TIMEOUT_S.",
    },
  );
}

async function runInThread(job: EngineJob, { signal, onProgress }: RunOptions): Promise<RasterImage> {
  if (signal.aborted) throw cancelledError();
  const steps = inpaintSteps(job.image, job.mask, { seed: job.seed });
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    onProgress?.(step.value);
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (signal.aborted) throw cancelledError();
  }
}

/** A waiting engine thread, the timer that ends it and what it listens to while waiting. */
interface IdleThread {
  worker: Worker;
  timer: NodeJS.Timeout;
  forget: () => void;
}

const idleThreads: IdleThread[] = [];

function startThread(file: string): Worker {
  // A worker inherits the process's flags; --input-type (a process started with `node --input-type=module -e`)
  // would make it refuse its own file.
  const worker = new Worker(file, { execArgv: process.execArgv.filter((flag) => !flag.startsWith("--input-type")) });
  // A waiting thread must not keep the process alive; a busy one is ref'd while its job runs.
  worker.unref();
  return worker;
}

function takeThread(file: string): Worker {
  const idle = idleThreads.pop();
  if (idle === undefined) return startThread(file);
  clearTimeout(idle.timer);
  idle.worker.off("error", idle.forget);
  idle.worker.off("exit", idle.forget);
  return idle.worker;
}

function parkThread(worker: Worker): void {
  worker.unref();
  if (idleThreads.length >= MAX_IDLE_THREADS) {
    void worker.terminate();
    return;
  }
  const entry: IdleThread = {
    worker,
    timer: setTimeout(() => {
      entry.forget();
      void worker.terminate();
    }, ENGINE_IDLE_MS),
    // A thread that fails or dies while waiting is simply forgotten (the next job gets a fresh one).
    forget: () => {
      clearTimeout(entry.timer);
      const index = idleThreads.indexOf(entry);
      if (index >= 0) idleThreads.splice(index, 1);
    },
  };
  entry.timer.unref();
  worker.on("error", entry.forget);
  worker.on("exit", entry.forget);
  idleThreads.push(entry);
}

/**
 * Starts an engine thread ahead of the first run when none is waiting (called when a local provider is
 * made, so the thread starts while the pipeline reads and decodes the inputs). No-op from TypeScript sources.
 */
export function warmEngineThread(): void {
  const file = workerFile();
  if (file === undefined || idleThreads.length > 0) return;
  parkThread(startThread(file));
}

/** How many engine threads are waiting for a job. */
export function idleEngineThreads(): number {
  return idleThreads.length;
}

/** Ends every waiting engine thread now (tests; a host that wants its memory back). */
export async function closeEngineThreads(): Promise<void> {
  const threads = idleThreads.splice(0);
  for (const thread of threads) clearTimeout(thread.timer);
  await Promise.all(threads.map((thread) => thread.worker.terminate()));
}

function runInWorker(file: string, job: EngineJob, { signal, onProgress }: RunOptions): Promise<RasterImage> {
  return new Promise<RasterImage>((resolve, reject) => {
    if (signal.aborted) {
      reject(cancelledError());
      return;
    }
    const worker = takeThread(file);
    worker.ref();
    let settled = false;
    const finish = (action: () => void, reusable: boolean) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      worker.off("message", onMessage);
      worker.off("error", onError);
      worker.off("exit", onExit);
      if (reusable) parkThread(worker);
      else void worker.terminate();
      action();
    };
    const onAbort = () => finish(() => reject(cancelledError()), false);
    const onMessage = (message: WorkerMessage) => {
      if (message.type === "progress") {
        if (!settled) onProgress?.(message.progress);
      } else if (message.type === "result") {
        const data = Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength);
        finish(() => resolve({ data, width: message.width, height: message.height, channels: 3 }), true);
      } else {
        const kind = message.kind === "bad_input" ? "bad_input" : "internal";
        finish(() => reject(new FluxFillError(kind, message.message)), true);
      }
    };
    const onError = (error: Error) => {
      finish(
        () =>
          reject(new FluxFillError("internal", `The local engine's worker failed: ${error.message}`, { cause: error })),
        false,
      );
    };
    const onExit = (code: number) => {
      finish(
        () => reject(new FluxFillError("internal", `The local engine's worker stopped early (exit code ${code}).`)),
        false,
      );
    };
    signal.addEventListener("abort", onAbort, { once: true });
    worker.on("message", onMessage);
    worker.on("error", onError);
    worker.on("exit", onExit);
    worker.postMessage({ type: "job", job } satisfies WorkerRequest);
  });
}
