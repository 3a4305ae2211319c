import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { FluxFillError } from "../../errors.js";
import type { RasterImage } from "../types.js";
import { type EngineProgress, inpaintSteps } from "./engine/index.js";

/** One engine run: plain data, so it can cross into a worker thread. */
export interface EngineJob {
  image: RasterImage;
  mask: RasterImage;
  seed: number;
  /** Helper threads for the patch search (default: one per spare core, see parallel.ts); 0 = none. */
  helpers?: number;
}

/** Messages a worker posts back (see worker.ts). */
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
  return new FluxFillError("cancelled", "The local fill was stopped before it finished (deadline reached or server shutting down).", {
    suggestion: "Try again with a smaller image or mask, or raise FLUX_FILL_TIMEOUT_S.",
  });
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

function runInWorker(file: string, job: EngineJob, { signal, onProgress }: RunOptions): Promise<RasterImage> {
  return new Promise<RasterImage>((resolve, reject) => {
    if (signal.aborted) {
      reject(cancelledError());
      return;
    }
    const worker = new Worker(file, { workerData: job });
    let settled = false;
    const finish = (action: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      action();
    };
    const onAbort = () => {
      finish(() => reject(cancelledError()));
      void worker.terminate();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    worker.on("message", (message: WorkerMessage) => {
      if (message.type === "progress") {
        if (!settled) onProgress?.(message.progress);
      } else if (message.type === "result") {
        const data = Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength);
        finish(() => resolve({ data, width: message.width, height: message.height, channels: 3 }));
      } else {
        const kind = message.kind === "bad_input" ? "bad_input" : "internal";
        finish(() => reject(new FluxFillError(kind, message.message)));
      }
    });
    worker.on("error", (error) => {
      finish(() => reject(new FluxFillError("internal", `The local engine's worker failed: ${error.message}`, { cause: error })));
    });
    worker.on("exit", (code) => {
      finish(() => reject(new FluxFillError("internal", `The local engine's worker stopped early (exit code ${code}).`)));
    });
  });
}
