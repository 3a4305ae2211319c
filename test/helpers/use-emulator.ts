/**
 * One upstream emulator per test file, with the lifecycle every emulator-backed test file needs: started
 * before the file's tests, reset before each test, checked for its own internal errors after each (once
 * the test's server is closed), closed at the end. Kept apart from emulator.ts, which the benchmark
 * bundles without vitest.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect } from "vitest";
import { type Emulator, type EmulatorOptions, startEmulator } from "./emulator.js";

/**
 * Registers the hooks and returns the file's emulator (usable inside tests and hooks, not at module load).
 * `afterEachTest` runs first after every test, e.g. to close the test's server before the check.
 */
export function useEmulator(options: EmulatorOptions, afterEachTest?: () => Promise<void> | void): Emulator {
  let instance: Emulator | undefined;
  const started = (): Emulator => {
    if (!instance) throw new Error("useEmulator: the emulator is used before beforeAll started it");
    return instance;
  };
  beforeAll(async () => {
    instance = await startEmulator(options);
  });
  afterAll(async () => {
    await instance?.close();
  });
  beforeEach(() => started().reset());
  afterEach(async () => {
    await afterEachTest?.();
    expect(started().internalErrors).toEqual([]);
  });
  // Property reads go to the emulator started in beforeAll (its methods are closures, so no `this` binding).
  return new Proxy({} as Emulator, { get: (_, property) => Reflect.get(started(), property) });
}
