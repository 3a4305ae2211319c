/**
 * Never paying twice, through the SDK's real Client (in memory) against the real server, with the upstream
 * emulator on 127.0.0.1 counting submits: identical calls attach, undelivered results are handed over
 * (also after a restart), delivered ones are not, the daily credit limit holds under concurrency and
 * across restarts, and a save that fails still hands the caller the paid result.
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/client";
import { describe, expect, it, vi } from "vitest";
import { silentLogger } from "../src/log.js";
import { runPaidTask } from "../src/pay-once.js";
import { createBflProvider } from "../src/providers/bfl/provider.js";
import { createPaidTaskState } from "../src/state/index.js";
import { fallbackDir, type ResultWriter } from "../src/results/store.js";
import { FluxFillOutput } from "../src/schema/tool.js";
import { collectGarbage } from "./helpers/gc.js";
import { makeMask, makePhoto } from "./helpers/images.js";
import { callTool, savedResults, tempDir, type TestServer, textOf as text } from "./helpers/mcp.js";
import { useServersOnEmulator } from "./helpers/use-emulator.js";

const KEY = "test-secret-key-pay-once-31c7";
const { emulator, start } = useServersOnEmulator(
  { apiKey: KEY, generationMs: 150 },
  { FLUX_FILL_POLL_INTERVAL_MS: "20", FLUX_FILL_TIMEOUT_S: "20" },
);

/** A 96×64 photo and a rectangle mask, in a directory every server of the test may read (under tmp). */
async function writeInputs() {
  const dir = await tempDir("flux-fill-pay-once-inputs-");
  const image = path.join(dir, "photo.jpg");
  const mask = path.join(dir, "mask.png");
  await writeFile(image, await makePhoto(96, 64, { format: "jpeg", seed: 3 }));
  await writeFile(mask, await makeMask(96, 64, { kind: "rect", x: 30, y: 20, width: 24, height: 16 }));
  return { image, mask };
}

const call = (server: TestServer, args: Record<string, unknown>, options?: Parameters<typeof callTool>[3]) =>
  callTool(server.client, "flux_fill", args, options);

function output(result: CallToolResult) {
  expect(result.isError, text(result)).toBeFalsy();
  return FluxFillOutput.parse(result.structuredContent);
}

/** Calls with a client timeout shorter than the task: the call fails on the client, the task goes on. */
async function callAndGiveUp(server: TestServer, args: Record<string, unknown>) {
  await expect(call(server, args, { timeout: 700 })).rejects.toThrow(/timed out/i);
}

describe("the same request is paid once", () => {
  it("client timeout, then an immediate identical retry: 1 submit, the retry shares the running task", async () => {
    emulator.configure({ generationMs: 2500 });
    const server = await start();
    const inputs = await writeInputs();
    const args = { ...inputs, prompt: "a red door" };
    await callAndGiveUp(server, args);
    await vi.waitFor(() => expect(emulator.submitCount).toBe(1));
    const retry = output(await call(server, args));
    expect(emulator.submitCount).toBe(1);
    expect(retry.reuse).toBe("shared_task");
    expect(text(await call(server, { ...args, seed: 5 }))).not.toContain("shared");
  });

  it("client timeout, the task finishes, then an identical call: 1 submit, the earlier result, free", async () => {
    emulator.configure({ generationMs: 1200 });
    const server = await start();
    const inputs = await writeInputs();
    const args = { ...inputs, prompt: "a blue window", seed: 9 };
    await callAndGiveUp(server, args);
    await server.server.idle();
    const [saved] = savedResults(await server.client.listResources());
    expect(saved).toBeDefined();

    const later = await call(server, args);
    const result = output(later);
    expect(emulator.submitCount).toBe(1);
    expect(result.reuse).toBe("earlier_result");
    expect(result.uri).toBe(saved!.uri);
    expect(text(later)).toMatch(/earlier result of an identical call/);
    expect(text(later)).toMatch(/nothing was submitted or charged/);
    expect(later.content.some((b) => b.type === "image")).toBe(true);
    // The request identity lives in the sidecar: a hash, never image data, never the key.
    const sidecar = await readFile(result.path.replace(/\.jpg$/, ".json"), "utf8");
    expect(JSON.parse(sidecar).request_identity).toMatch(/^[0-9a-f]{64}$/);
    expect(sidecar).not.toContain(KEY);

    // Now it was delivered: the same call again is a deliberate new run.
    const again = output(await call(server, args));
    expect(again.reuse).toBe("none");
    expect(emulator.submitCount).toBe(2);
  });

  it("a result fetched with get_result counts as delivered: the identical call runs afresh", async () => {
    emulator.configure({ generationMs: 1200 });
    const server = await start();
    const inputs = await writeInputs();
    const args = { ...inputs, prompt: "fetched" };
    await callAndGiveUp(server, args);
    await server.server.idle();
    const fetched = (await server.client.callTool({
      name: "get_result",
      arguments: { id: "latest" },
    })) as CallToolResult;
    expect(fetched.isError, text(fetched)).toBeFalsy();
    expect(output(await call(server, args)).reuse).toBe("none");
    expect(emulator.submitCount).toBe(2);
  });

  it("a delivered result is not handed out again: two identical calls in a row are 2 submits", async () => {
    const server = await start();
    const inputs = await writeInputs();
    const first = output(await call(server, { ...inputs, prompt: "twice" }));
    const second = output(await call(server, { ...inputs, prompt: "twice" }));
    expect(emulator.submitCount).toBe(2);
    expect([first.reuse, second.reuse]).toEqual(["none", "none"]);
    expect(second.id).not.toBe(first.id);
  });

  it("two identical concurrent calls: 1 submit, both get the result, one reply says they shared", async () => {
    emulator.configure({ generationMs: 600 });
    const server = await start();
    const inputs = await writeInputs();
    const [a, b] = await Promise.all([
      call(server, { ...inputs, prompt: "together" }),
      call(server, { ...inputs, prompt: "together" }),
    ]);
    const [first, second] = [output(a), output(b)];
    expect(emulator.submitCount).toBe(1);
    expect(first.id).toBe(second.id);
    expect([first.reuse, second.reuse].sort()).toEqual(["none", "shared_task"]);
    expect(text(first.reuse === "shared_task" ? a : b)).toMatch(/shared its one upstream task, charged once/);
  });

  it("different seeds are different requests: 2 submits", async () => {
    emulator.configure({ generationMs: 400 });
    const server = await start();
    const inputs = await writeInputs();
    const results = await Promise.all([
      call(server, { ...inputs, prompt: "p", seed: 1 }),
      call(server, { ...inputs, prompt: "p", seed: 2 }),
    ]);
    expect(results.map((r) => output(r).reuse)).toEqual(["none", "none"]);
    expect(emulator.submitCount).toBe(2);
  });

  it("an undelivered result is found again after a restart", async () => {
    emulator.configure({ generationMs: 1200 });
    const first = await start();
    const inputs = await writeInputs();
    const args = { ...inputs, prompt: "after restart" };
    await callAndGiveUp(first, args);
    await first.server.idle();
    await first.close();

    const second = await start({ FLUX_FILL_OUTPUT_DIR: first.config.outputDir });
    const result = output(await call(second, args));
    expect(result.reuse).toBe("earlier_result");
    expect(emulator.submitCount).toBe(1);
    expect(result.path.startsWith(first.config.outputDir)).toBe(true);
  });
});

describe("flux_expand goes through the same guard", () => {
  const expand = (server: TestServer, args: Record<string, unknown>, options = {}) =>
    callTool(server.client, "flux_expand", args, options);

  it("identical expansions share one task, an undelivered one is handed over, and a fill of the same image is another request", async () => {
    emulator.configure({ generationMs: 1200 });
    const server = await start();
    const { image, mask } = await writeInputs();
    const args = { image, left: 32, right: 32, prompt: "more beach" };
    const [a, b] = await Promise.all([expand(server, args), expand(server, args)]);
    expect([output(a).reuse, output(b).reuse].sort()).toEqual(["none", "shared_task"]);
    expect(emulator.submitCount).toBe(1);
    expect(emulator.submits[0]!.endpoint).toBe("expand");

    await expect(expand(server, { ...args, seed: 4 }, { timeout: 700 })).rejects.toThrow(/timed out/i);
    await server.server.idle();
    const handedOver = await expand(server, { ...args, seed: 4 });
    expect(output(handedOver).reuse).toBe("earlier_result");
    expect(emulator.submitCount).toBe(2);

    const fill = output(await call(server, { image, mask, prompt: "more beach" }));
    expect(fill.reuse).toBe("none");
    expect(emulator.submitCount).toBe(3);
  });

  it("is refused by the daily credit limit before anything is submitted", async () => {
    const server = await start({ FLUX_FILL_DAILY_CREDIT_LIMIT: "4" });
    const { image } = await writeInputs();
    const refused = await expand(server, { image, top: 16 });
    expect(text(refused)).toContain("FLUX_FILL_DAILY_CREDIT_LIMIT is 4 credits per UTC day");
    expect(emulator.submitCount).toBe(0);
  });
});

describe("the daily credit limit", () => {
  it("refuses before submitting, names the setting, the spend and the reset, and survives a restart", async () => {
    const first = await start({ FLUX_FILL_DAILY_CREDIT_LIMIT: "5" });
    const inputs = await writeInputs();
    const ok = await call(first, { ...inputs, seed: 1 });
    output(ok);
    expect(text(ok)).toMatch(
      /Spent today \(\d{4}-\d\d-\d\d UTC\): 5 credits of the 5 allowed by FLUX_FILL_DAILY_CREDIT_LIMIT/,
    );

    const refused = await call(first, { ...inputs, seed: 2 });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toContain("credit_limit");
    expect(text(refused)).toContain("FLUX_FILL_DAILY_CREDIT_LIMIT is 5 credits per UTC day");
    expect(text(refused)).toMatch(/5 were spent today \(\d{4}-\d\d-\d\d UTC\)/);
    expect(text(refused)).toMatch(/resets at 00:00 UTC, in \d+ (h \d+ )?min/);
    expect(emulator.submitCount).toBe(1);
    await first.close();

    const second = await start({ FLUX_FILL_OUTPUT_DIR: first.config.outputDir, FLUX_FILL_DAILY_CREDIT_LIMIT: "5" });
    const afterRestart = await call(second, { ...inputs, seed: 3 });
    expect(text(afterRestart)).toContain("credit_limit");
    expect(emulator.submitCount).toBe(1);
  });

  it("concurrent calls cannot overshoot it together", async () => {
    emulator.configure({ generationMs: 400 });
    const server = await start({ FLUX_FILL_DAILY_CREDIT_LIMIT: "12" });
    const inputs = await writeInputs();
    const results = await Promise.all([1, 2, 3, 4, 5].map((seed) => call(server, { ...inputs, seed })));
    const refused = results.filter((r) => r.isError);
    expect(results.length - refused.length).toBe(2);
    for (const r of refused) expect(text(r)).toContain("credit_limit");
    expect(emulator.submitCount).toBe(2);
  });

  it("counts the upstream's cost, falls back to the known price when it gives none, and the local engine counts 0", async () => {
    emulator.configure({ cost: undefined });
    const server = await start({ FLUX_FILL_DAILY_CREDIT_LIMIT: "100" });
    const inputs = await writeInputs();
    expect(text(await call(server, { ...inputs, seed: 1 }))).toContain("Spent today");
    emulator.configure({ cost: 7 });
    const second = await call(server, { ...inputs, seed: 2 });
    expect(text(second)).toMatch(/: 12 credits of the 100/);

    const local = await start({ BFL_API_KEY: "", FLUX_FILL_PROVIDER: "local", FLUX_FILL_DAILY_CREDIT_LIMIT: "0" });
    const free = await call(local, { ...inputs, seed: 1, output_format: "png" });
    expect(output(free).provider).toBe("local");
    expect(text(free)).toMatch(/Spent today \(.*\): 0 credits of the 0 allowed/);
  });

  it("adds a note when the upstream reports a low balance, and none when it does not answer", async () => {
    const server = await start();
    const inputs = await writeInputs();
    const quiet = await call(server, { ...inputs, seed: 1 });
    expect(text(quiet)).not.toMatch(/Low balance/);
    emulator.configure({ credits: 40 });
    const low = await call(server, { ...inputs, seed: 2 });
    expect(text(low)).toMatch(/Low balance: 35 credits left/);
    expect(text(low)).toContain("https://dashboard.bfl.ai");
  });
});

describe("a paid result is never lost to a failed save", () => {
  /** Writes half the file, then fails like a full disk, for files under `dir`. */
  function fullDisk(dir: string): ResultWriter {
    return {
      async writeFile(file, data) {
        if (!file.startsWith(dir)) return writeFile(file, data);
        await writeFile(
          file,
          typeof data === "string" ? data.slice(0, data.length / 2) : data.subarray(0, data.length / 2),
        );
        throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
      },
    };
  }

  it("disk full: the result is saved in the fallback directory, returned in full, and no .part is left", async () => {
    const workDir = await tempDir();
    const outputDir = path.join(workDir, "out");
    const server = await start({ FLUX_FILL_OUTPUT_DIR: outputDir }, { writer: fullDisk(outputDir) });
    const inputs = await writeInputs();
    const result = await call(server, { ...inputs, prompt: "full disk" });
    const out = output(result);
    expect(out.path.startsWith(fallbackDir())).toBe(true);
    expect((await readFile(out.path)).length).toBeGreaterThan(0);
    expect(result.content.some((b) => b.type === "image")).toBe(true);
    expect(text(result)).toContain(`saving to ${outputDir} failed (ENOSPC`);
    expect(text(result)).toContain(`It was saved to ${out.path} instead`);
    expect(text(result)).toContain("FLUX_FILL_OUTPUT_DIR");
    expect(
      (await readdir(outputDir)).filter((name) => name.includes(".part") || /\.(jpg|png|json)$/.test(name)),
    ).toEqual([]);
    expect(emulator.submitCount).toBe(1);
  });

  it("output directory unusable (a file stands in its place): the result still reaches the caller", async () => {
    const workDir = await tempDir();
    const blocker = path.join(workDir, "not-a-dir");
    await writeFile(blocker, "");
    const server = await start({ FLUX_FILL_OUTPUT_DIR: path.join(blocker, "out") });
    const inputs = await writeInputs();
    const result = await call(server, { ...inputs, prompt: "no dir" });
    const out = output(result);
    expect(out.path.startsWith(fallbackDir())).toBe(true);
    expect(text(result)).toMatch(
      /could not be saved in the output directory: saving to .*not-a-dir.* failed \((ENOTDIR|EEXIST)/,
    );
  });

  it("no directory takes it: kept in memory, returned now and by get_result", async () => {
    const failing: ResultWriter = {
      async writeFile(file, data) {
        await writeFile(file, typeof data === "string" ? data.slice(0, 3) : data.subarray(0, 3));
        throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
      },
    };
    const server = await start({}, { writer: failing });
    const inputs = await writeInputs();
    const result = await call(server, { ...inputs, prompt: "memory" });
    const out = output(result);
    expect(text(result)).toMatch(/kept in this server's memory only: fetch it with get_result/);
    const fetched = (await server.client.callTool({ name: "get_result", arguments: { id: out.id } })) as CallToolResult;
    expect(fetched.isError, text(fetched)).toBeFalsy();
    expect(fetched.content.some((b) => b.type === "image")).toBe(true);
    expect((await readdir(fallbackDir())).filter((n) => n.startsWith(out.id))).toEqual([]);
  });
});

describe("tool arguments named __proto__, constructor or prototype", () => {
  it("are refused like any unknown field, in every tool, before anything is submitted", async () => {
    const server = await start();
    const inputs = await writeInputs();
    for (const name of ["__proto__", "constructor", "prototype"]) {
      const args = JSON.parse(
        `{"image": ${JSON.stringify(inputs.image)}, "mask": ${JSON.stringify(inputs.mask)}, "${name}": {"seed": 1}}`,
      );
      expect(Object.hasOwn(args, name)).toBe(true);
      for (const tool of ["flux_fill", "preview_mask", "get_result"]) {
        const toolArgs = tool === "get_result" ? JSON.parse(`{"id": "latest", "${name}": {}}`) : args;
        const result = (await server.client.callTool({ name: tool, arguments: toolArgs })) as CallToolResult;
        expect(result.isError, `${tool} with ${name}`).toBe(true);
        expect(text(result), `${tool} with ${name}`).toContain(`Unknown field(s): ${name}`);
      }
    }
    expect(emulator.submitCount).toBe(0);
  });
});

describe("what a finished paid task keeps alive", () => {
  it("nothing of its job: the wait for the balance does not hold the request's pixels once the outcome is back", async () => {
    // Timers are faked so a timer that would keep the job alive never fires during the check, however slow the machine.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      emulator.configure({ credits: 1000 });
      const provider = createBflProvider({
        apiKey: KEY,
        baseUrl: emulator.apiBaseUrl,
        pollIntervalMs: 10,
        timeoutMs: 5000,
      });
      const state = createPaidTaskState(await tempDir("flux-fill-pay-once-state-"), { startedNothing: () => false });
      let pixels: WeakRef<Uint8Array> | undefined;
      const outcome = await (async () => {
        // What a fill's job holds through its closures: the request, with its uploads and decoded pixels.
        const request = { pixels: new Uint8Array(4 << 20) };
        pixels = new WeakRef(request.pixels);
        return runPaidTask(
          {
            identity: "held-pixels",
            kind: "fill",
            provider,
            waiter: { onProgress: () => undefined, abandoned: new AbortController().signal },
            journalFacts: async () => ({
              params: {},
              inputs: {
                image: { source: "photo.jpg", width: 1024, height: request.pixels.length >> 12, format: "jpeg" },
              },
            }),
            run: async (hooks) => {
              await hooks.onSubmitted({ upstreamId: "task-1", pollingUrl: `${emulator.apiBaseUrl}/v1/get_result` });
              return { meta: { id: `r${request.pixels.length}`, cost: 5, created_at: new Date().toISOString() } };
            },
            loadSaved: async () => {
              throw new Error(`no saved result (${request.pixels.length})`);
            },
          },
          { state, logger: silentLogger, dailyCreditLimit: undefined, outputDir: await tempDir() },
        );
      })();
      expect(outcome.meta.id).toBe(`r${4 << 20}`);
      expect(outcome.balance).toBeLessThanOrEqual(1000);
      await collectGarbage();
      expect(pixels!.deref()).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });
});
