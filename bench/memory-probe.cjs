// Preloaded into a benchmark's server process (`node --expose-gc --require bench/memory-probe.cjs dist/cli.js`,
// with an IPC channel): answers the harness's requests with process.memoryUsage(), taken after a full garbage
// collection when asked, so RSS can be split into the JavaScript heap, Buffers and the rest (native memory:
// libvips, the allocator's free lists), and garbage told apart from what is still held. It writes a heap
// snapshot on request. Nothing here runs outside the benchmark: the server itself knows nothing of it.
const v8 = require("node:v8");

const TYPE = "flux-fill-bench:memory";

if (typeof process.send === "function") {
  process.on("message", (message) => {
    if (message === null || typeof message !== "object" || message.type !== TYPE) return;
    // Twice: the first collection runs finalizers (Buffers' backing stores are freed on the second).
    if (message.gc === true && typeof globalThis.gc === "function") {
      globalThis.gc();
      globalThis.gc();
    }
    const snapshot = typeof message.snapshot === "string" ? v8.writeHeapSnapshot(message.snapshot) : undefined;
    process.send({ type: TYPE, id: message.id, usage: process.memoryUsage(), snapshot });
  });
  // Listening keeps the channel referenced; the server must still exit on its own when it is done.
  process.channel?.unref();
}
