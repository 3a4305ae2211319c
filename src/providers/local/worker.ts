import { parentPort } from "node:worker_threads";
import { isFluxFillError } from "../../errors.js";
import { Arena, inpaintSteps, runBandsInOrder } from "./engine/index.js";
import { createParallelRunner, helperCount, helperFile, type ParallelRunner } from "./parallel.js";
import type { EngineJob, WorkerMessage, WorkerRequest } from "./run.js";

/**
 * Engine-thread entry: runs engine jobs off the main thread, one at a time, posting progress and the result
 * back. The thread lives on between jobs (see run.ts), and so do its helper threads: spare cores take bands
 * of the engine's passes (same pixels, sooner). They are started with the thread, before the first job.
 */
function main(): void {
  const port = parentPort;
  if (port === null) return;
  const file = helperFile();
  const helpers = helperCount();
  const parallel: ParallelRunner | undefined =
    file === undefined || helpers === 0 ? undefined : createParallelRunner(file, helpers);
  // One arena for every job of this thread: its memory is touched once, then reused (see arena.ts).
  const arena = new Arena();
  port.on("message", (request: WorkerRequest) => {
    if (request.type !== "job") return;
    try {
      runJob(request.job, arena, parallel, (message, transfer) => port.postMessage(message, transfer ?? []));
    } finally {
      arena.reset();
    }
  });
}

function runJob(
  job: EngineJob,
  arena: Arena,
  parallel: ParallelRunner | undefined,
  post: (message: WorkerMessage, transfer?: ArrayBuffer[]) => void,
): void {
  // Buffers arrive as plain Uint8Arrays after the structured clone.
  const image = {
    ...job.image,
    data: Buffer.from(job.image.data.buffer, job.image.data.byteOffset, job.image.data.byteLength),
  };
  const mask = {
    ...job.mask,
    data: Buffer.from(job.mask.data.buffer, job.mask.data.byteOffset, job.mask.data.byteLength),
  };
  const useHelpers = parallel !== undefined && (job.helpers === undefined || job.helpers > 0);
  try {
    const steps = inpaintSteps(image, mask, {
      seed: job.seed,
      arena,
      runBands: useHelpers ? parallel.runBands : runBandsInOrder,
    });
    for (;;) {
      const step = steps.next();
      if (step.done) {
        const { data, width, height } = step.value;
        const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
        // Hand the pixels over without a copy when they own their memory (a small Buffer may sit in a pool).
        const owned =
          data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer;
        post({ type: "result", data: bytes, width, height }, owned ? [data.buffer as ArrayBuffer] : []);
        return;
      }
      post({ type: "progress", progress: step.value });
    }
  } catch (error) {
    post({
      type: "error",
      kind: isFluxFillError(error) ? error.kind : "internal",
      message: error instanceof Error ? error.message : String(error),
    });
  }
}

main();
