/**
 * A full garbage collection from inside a test, for checking that something is no longer held (a WeakRef
 * whose target is gone). V8's gc() is exposed at run time, so the test runner needs no --expose-gc flag.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** Collects garbage after a turn of the event loop (a WeakRef's target is kept until the current task ends). */
export async function collectGarbage(): Promise<void> {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  await new Promise((resolve) => setImmediate(resolve));
  gc();
}
