import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import { runBand } from "./engine/index.js";
import { HELPER_STATES, type HelperTask } from "./parallel.js";

/**
 * Helper-thread entry: runs the bands of a patch-search pass it is sent, on memory shared with the engine's
 * thread, then flips the shared control word and wakes that thread (which waits with Atomics.wait).
 */
function main(): void {
  const port = parentPort;
  if (port === null) return;
  const { control, port: replies } = workerData as { control: Int32Array; port: MessagePort };
  port.on("message", (task: HelperTask) => {
    let state: number = HELPER_STATES.DONE;
    try {
      for (const job of task.jobs) runBand(job);
    } catch (error) {
      state = HELPER_STATES.FAILED;
      replies.postMessage({ error: error instanceof Error ? error.message : String(error) });
    }
    Atomics.store(control, 0, state);
    Atomics.notify(control, 0);
  });
}

main();
