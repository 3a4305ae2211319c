/**
 * Load over loopback only, bounded in count and time: 50 fills at once from 10 HTTP sessions against the
 * upstream emulator, which refuses more than 24 active tasks per key like the real upstream.
 */
import type { Client } from "@modelcontextprotocol/client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { queuesOf } from "../../src/providers/queue.js";
import { FluxFillOutput } from "../../src/schema/tool.js";
import { type Emulator, startEmulator } from "../helpers/emulator.js";
import { callTool, type HttpTestServer, startHttp, textOf, writeInputs } from "./http-fixture.js";

const KEY = "test-bfl-key-load-51aa";
const SESSIONS = 10;
const PER_SESSION = 5;
const TOTAL = SESSIONS * PER_SESSION;
const UPSTREAM_CAP = 24;

let emulator: Emulator;
let current: HttpTestServer | undefined;
/** While set, new upstream tasks run until the test finishes them (`releaseHeldTasks`). */
let holdTasks = false;

beforeAll(async () => {
  emulator = await startEmulator({
    apiKey: KEY,
    generationMs: () => (holdTasks ? 600_000 : 700),
    maxActiveTasks: UPSTREAM_CAP,
    reportProgress: false,
  });
});
afterAll(async () => {
  await emulator.close();
});
afterEach(async () => {
  holdTasks = false;
  await current?.close();
  current = undefined;
  expect(emulator.internalErrors).toEqual([]);
});

interface Run {
  ms: number;
  results: Array<{ ok: boolean; text: string; id?: string; queuedMessages: string[] }>;
}

/** 50 fills at once, 5 per session, each with its own prompt so every upstream task is traceable to one call. */
async function fiftyFills(maxActive: number): Promise<Run> {
  emulator.reset();
  current = await startHttp({
    BFL_API_KEY: KEY,
    BFL_API_BASE_URL: emulator.apiBaseUrl,
    FLUX_FILL_POLL_INTERVAL_MS: "25",
    FLUX_FILL_TIMEOUT_S: "30",
    FLUX_FILL_MAX_ACTIVE: String(maxActive),
  });
  const server = current;
  const { image, mask } = await writeInputs(server.workDir, 48, 32);
  const clients: Client[] = await Promise.all(Array.from({ length: SESSIONS }, () => server.connect()));
  const started = Date.now();
  const results = await Promise.all(
    clients.flatMap((client, s) =>
      Array.from({ length: PER_SESSION }, async (_, i) => {
        const queuedMessages: string[] = [];
        const result = await callTool(
          client,
          "flux_fill",
          { image, mask, prompt: `fill ${s}-${i}`, output_format: "png" },
          {
            timeout: 60_000,
            onprogress: (p) => {
              if (p.message?.includes("Queued")) queuedMessages.push(p.message);
            },
          },
        );
        const ok = !result.isError;
        return {
          ok,
          text: textOf(result),
          ...(ok ? { id: FluxFillOutput.parse(result.structuredContent).id } : {}),
          queuedMessages,
        };
      }),
    ),
  );
  return { ms: Date.now() - started, results };
}

/**
 * `fiftyFills` with the upstream tasks held until `ready` holds, then released: the queue and the upstream
 * see all 50 calls at once however slowly a loaded machine delivers them.
 */
async function fiftyFillsHeldUntil(maxActive: number, ready: () => boolean): Promise<Run> {
  holdTasks = true;
  const running = fiftyFills(maxActive);
  while (!ready()) await new Promise((r) => setTimeout(r, 10));
  holdTasks = false;
  for (const task of emulator.tasks.values()) task.terminalAt = task.readyAt = Math.min(task.terminalAt!, Date.now());
  return running;
}

const queueNow = () =>
  current === undefined ? undefined : Object.values(queuesOf(current.runtime.deps)!.snapshot())[0];

function expectNoDuplicateSubmit(): void {
  const accepted = emulator.submits.filter((s) => s.status === 200);
  const prompts = accepted.map((s) => (s.body as { prompt: string }).prompt);
  expect(accepted).toHaveLength(TOTAL);
  expect(new Set(prompts).size).toBe(TOTAL);
  expect(new Set(accepted.map((s) => s.taskId)).size).toBe(TOTAL);
  expect(emulator.tasks.size).toBe(TOTAL);
  // No submit of unknown outcome happened, so nothing could have been charged twice.
  expect(emulator.submits.every((s) => s.status === 200 || s.status === 429)).toBe(true);
}

describe("HTTP transport under load (emulator capped at 24 active tasks)", () => {
  it("50 concurrent fills: all succeed, never more than 24 active upstream, no duplicate submit, queue positions reported", async () => {
    const run = await fiftyFillsHeldUntil(
      UPSTREAM_CAP,
      () => queueNow()?.active === UPSTREAM_CAP && queueNow()?.waiting === TOTAL - UPSTREAM_CAP,
    );
    const failed = run.results.filter((r) => !r.ok);
    expect(failed.map((r) => r.text)).toEqual([]);
    expect(new Set(run.results.map((r) => r.id)).size).toBe(TOTAL);
    expect(emulator.maxActiveSeen).toBeLessThanOrEqual(UPSTREAM_CAP);
    expect(emulator.maxActiveSeen).toBeGreaterThanOrEqual(UPSTREAM_CAP / 2); // the queue did use the capacity
    expect(emulator.submits.filter((s) => s.status === 429)).toHaveLength(0); // the queue kept us under the cap
    expectNoDuplicateSubmit();
    // Calls beyond the first 24 waited and were told where they stood.
    const queued = run.results.filter((r) => r.queuedMessages.length > 0);
    expect(queued.length).toBeGreaterThanOrEqual(10);
    expect(queued.flatMap((r) => r.queuedMessages).every((m) => /ahead in the queue|next in line/.test(m))).toBe(true);
    const resources = await (await current!.connect()).listResources();
    expect(resources.resources.filter((r) => r.uri.startsWith("flux-fill://results/"))).toHaveLength(TOTAL);
    console.info(
      `[load] 50 fills, limit 24: ${run.ms} ms, emulator max active ${emulator.maxActiveSeen}, ${queued.length} calls queued`,
    );
  }, 20_000);

  it("a limit set above the upstream's: the 429s lower the queue's limit, all 50 still succeed, none submitted twice", async () => {
    const run = await fiftyFillsHeldUntil(30, () => emulator.submits.some((s) => s.status === 429));
    const failed = run.results.filter((r) => !r.ok);
    expect(failed.map((r) => r.text)).toEqual([]);
    expect(emulator.maxActiveSeen).toBeLessThanOrEqual(UPSTREAM_CAP);
    const refused = emulator.submits.filter((s) => s.status === 429).length;
    expect(refused).toBeGreaterThan(0);
    expect(emulator.submitCount).toBe(TOTAL + refused);
    expectNoDuplicateSubmit();
    // The 429s lowered the limit below the configured 30 (for the cooldown that follows).
    const [queue] = Object.values(queuesOf(current!.runtime.deps)!.snapshot());
    expect(queue).toMatchObject({ maxActive: 30, active: 0, waiting: 0, throttled: 0 });
    expect(queue!.limit).toBeLessThan(30);
    console.info(`[load] 50 fills, limit 30 vs upstream 24: ${run.ms} ms, ${refused} submits refused with 429`);
  }, 20_000);
});
