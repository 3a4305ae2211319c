import { parentPort, workerData } from "node:worker_threads";
import { isFluxFillError } from "../../errors.js";
import { inpaintSteps } from "./engine/index.js";
import { createParallelRunner, helperCount, helperFile, type ParallelRunner } from "./parallel.js";
import type { EngineJob, WorkerMessage } from "./run.js";

/**
 * Worker-thread entry: runs one engine job off the main thread and posts progress and the result back.
 * Spare cores get helper threads that take bands of the patch search (same pixels, sooner).
 */
function main(): void {
  const port = parentPort;
  if (port === null) return;
  const job = workerData as EngineJob;
  // Buffers arrive as plain Uint8Arrays after the structured clone.
  const image = { ...job.image, data: Buffer.from(job.image.data) };
  const mask = { ...job.mask, data: Buffer.from(job.mask.data) };
  const file = helperFile();
  const helpers = Math.min(job.helpers ?? helperCount(), helperCount(Number.POSITIVE_INFINITY));
  const parallel: ParallelRunner | undefined = file === undefined || helpers === 0 ? undefined : createParallelRunner(file, helpers);
  try {
    const steps = inpaintSteps(image, mask, { seed: job.seed, ...(parallel ? { runBands: parallel.runBands } : {}) });
    for (;;) {
      const step = steps.next();
      if (step.done) {
        const { data, width, height } = step.value;
        const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
        const message: WorkerMessage = { type: "result", data: bytes, width, height };
        port.postMessage(message, [bytes.buffer as ArrayBuffer]);
        return;
      }
      const message: WorkerMessage = { type: "progress", progress: step.value };
      port.postMessage(message);
    }
  } catch (error) {
    const message: WorkerMessage = {
      type: "error",
      kind: isFluxFillError(error) ? error.kind : "internal",
      message: error instanceof Error ? error.message : String(error),
    };
    port.postMessage(message);
  } finally {
    void parallel?.close();
  }
}

main();
