/**
 * One upstream emulator per test file, with the lifecycle every emulator-backed test file needs: started
 * before the file's tests, reset before each test, checked for its own internal errors after each (once
 * the test's server is closed), closed at the end; and servers in memory pointed at it, one per test or one
 * per file. Kept apart from emulator.ts, which the benchmark bundles without vitest.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect } from "vitest";
import type { CreateServerOptions } from "../../src/server.js";
import { type Emulator, type EmulatorOptions, startEmulator } from "./emulator.js";
import { startInMemory, type TestServer } from "./mcp.js";

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

/**
 * The file's emulator (useEmulator) and servers in memory pointed at it: `start` makes one for the current
 * test, with `env` over the file's `fileEnv`; every server a test started is closed after it, before the
 * emulator's check.
 */
export function useServersOnEmulator(
  options: EmulatorOptions & { apiKey: string },
  fileEnv: Record<string, string> = {},
): { emulator: Emulator; start: (env?: Record<string, string>, serverOptions?: CreateServerOptions) => Promise<TestServer> } {
  const servers: TestServer[] = [];
  const emulator = useEmulator(options, async () => {
    for (const server of servers.splice(0)) await server.close();
  });
  const start = async (env: Record<string, string> = {}, serverOptions: CreateServerOptions = {}) => {
    const server = await startOnEmulator(emulator, options.apiKey, { ...fileEnv, ...env }, serverOptions);
    servers.push(server);
    return server;
  };
  return { emulator, start };
}

/**
 * The file's emulator (useEmulator) and one server in memory pointed at it for all the file's tests,
 * started after the emulator and closed before it. Both are usable inside tests and hooks.
 */
export function useServerOnEmulator(
  options: EmulatorOptions & { apiKey: string },
  env: Record<string, string> = {},
  serverOptions: CreateServerOptions = {},
): { emulator: Emulator; server: TestServer } {
  const emulator = useEmulator(options);
  let instance: TestServer | undefined;
  beforeAll(async () => {
    instance = await startOnEmulator(emulator, options.apiKey, env, serverOptions);
  });
  // Registered after useEmulator's: vitest runs after-hooks in reverse, so the server closes first.
  afterAll(async () => {
    await instance?.close();
  });
  const server = new Proxy({} as TestServer, {
    get: (_, property) => {
      if (!instance) throw new Error("useServerOnEmulator: the server is used before beforeAll started it");
      return Reflect.get(instance, property);
    },
  });
  return { emulator, server };
}

/** A server in memory whose bfl provider talks to `emulator` with `apiKey`. */
function startOnEmulator(
  emulator: Emulator,
  apiKey: string,
  env: Record<string, string>,
  serverOptions: CreateServerOptions,
): Promise<TestServer> {
  return startInMemory({ BFL_API_KEY: apiKey, BFL_API_BASE_URL: emulator.apiBaseUrl, ...env }, serverOptions);
}
