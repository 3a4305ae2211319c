import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { FluxFillError } from "../../../src/errors.js";
import { inpaint } from "../../../src/providers/local/engine/inpaint.js";
import { createLocalProvider, PROMPT_IGNORED_NOTE } from "../../../src/providers/local/index.js";
import type { FillProgress, FillRequest, Provider, RasterImage } from "../../../src/providers/types.js";
import type { FillParams } from "../../../src/schema/upstream.js";
import type { BandRunner } from "../../../src/providers/local/engine/patchmatch.js";
import { createRandom } from "../../../src/providers/local/engine/rng.js";
import type { runEngine } from "../../../src/providers/local/run.js";
import { maxDifference, noisyTexture, rectMask, scribbleMask } from "./images.js";

function request(image: RasterImage, mask: RasterImage, params: Partial<FillParams> = {}): FillRequest {
  return {
    image,
    mask,
    upload: { image: Buffer.alloc(0), mask: Buffer.alloc(0) },
    params: {
      prompt: "",
      steps: 50,
      prompt_upsampling: false,
      guidance: 60,
      output_format: "png",
      safety_tolerance: 2,
      ...params,
    },
  };
}

async function decode(bytes: Buffer) {
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  const metadata = await sharp(bytes).metadata();
  return { data, info, format: metadata.format };
}

const image = noisyTexture(96, 72, 7);
const mask = rectMask(96, 72, 30, 24, 28, 20);
const live = () => new AbortController().signal;

describe("createLocalProvider", () => {
  const provider = createLocalProvider();

  it("is named local", () => {
    expect(provider.name).toBe("local");
  });

  it("returns the engine's fill as a lossless PNG", async () => {
    const output = await provider.fill(request(image, mask, { seed: 5, output_format: "png" }), { signal: live() });
    expect(output).toMatchObject({ provider: "local", format: "png", seed: 5, notes: [] });
    const decoded = await decode(output.bytes);
    expect(decoded.format).toBe("png");
    expect(decoded.info).toMatchObject({ width: 96, height: 72, channels: 3 });
    expect(Buffer.compare(decoded.data, inpaint(image, mask, { seed: 5 }).data)).toBe(0);
  });

  it("encodes JPEG when asked", async () => {
    const output = await provider.fill(request(image, mask, { seed: 1, output_format: "jpeg" }), { signal: live() });
    expect(output.format).toBe("jpeg");
    expect(output.bytes.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    const decoded = await decode(output.bytes);
    expect(decoded.format).toBe("jpeg");
    expect(decoded.info).toMatchObject({ width: 96, height: 72 });
  });

  it("says the prompt was ignored only when one was given", async () => {
    const withPrompt = await provider.fill(request(image, mask, { seed: 1, prompt: "a red balloon" }), { signal: live() });
    expect(withPrompt.notes).toEqual([PROMPT_IGNORED_NOTE]);
    const blank = await provider.fill(request(image, mask, { seed: 1, prompt: "  " }), { signal: live() });
    expect(blank.notes).toEqual([]);
  });

  it("picks and reports a seed when none is given, and that seed reproduces the result", async () => {
    const first = await provider.fill(request(image, mask), { signal: live() });
    expect(Number.isInteger(first.seed)).toBe(true);
    const again = await provider.fill(request(image, mask, { seed: first.seed! }), { signal: live() });
    expect(Buffer.compare(first.bytes, again.bytes)).toBe(0);
  });

  it("reports progress in order, ending at 1", async () => {
    const events: FillProgress[] = [];
    await provider.fill(request(image, mask, { seed: 1 }), { signal: live(), onProgress: (p) => events.push(p) });
    const fractions = events.map((e) => e.fraction ?? 0);
    expect(events.length).toBeGreaterThanOrEqual(4);
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
    expect(events.at(-1)).toMatchObject({ status: "done", fraction: 1 });
    expect(events.map((e) => e.status)).toContain("synthesize");
  });

  it("refuses to start when already aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(provider.fill(request(image, mask), { signal: controller.signal })).rejects.toMatchObject({
      name: "FluxFillError",
      kind: "cancelled",
    });
  });

  it("stops between stages when aborted mid-way", async () => {
    const controller = new AbortController();
    const statuses: string[] = [];
    const fill = provider.fill(request(image, mask, { seed: 1 }), {
      signal: controller.signal,
      onProgress: (p) => {
        statuses.push(p.status);
        if (p.status === "synthesize") controller.abort();
      },
    });
    await expect(fill).rejects.toBeInstanceOf(FluxFillError);
    await expect(fill).rejects.toMatchObject({ kind: "cancelled" });
    expect(statuses).not.toContain("done");
  });
});

// The worker thread only exists as compiled JavaScript; `npm test` builds dist/ before running the tests.
const compiled = fileURLToPath(new URL("../../../dist/providers/local/index.js", import.meta.url));
const compiledWorker = fileURLToPath(new URL("../../../dist/providers/local/worker.js", import.meta.url));

describe.skipIf(!existsSync(compiled) || !existsSync(compiledWorker))("the compiled provider (worker thread)", () => {
  async function load(): Promise<Provider> {
    const module = (await import(compiled)) as { createLocalProvider: () => Provider };
    return module.createLocalProvider();
  }

  it("gives the same pixels as the engine on this thread and keeps the event loop free", async () => {
    const run = (await import(compiled.replace(/index\.js$/, "run.js"))) as { workerFile: () => string | undefined };
    expect(run.workerFile()).toBe(compiledWorker);
    const provider = await load();
    const big = noisyTexture(400, 300, 3);
    const hole = rectMask(400, 300, 150, 100, 90, 80);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    const output = await provider.fill(request(big, hole, { seed: 9 }), { signal: live() });
    const elapsed = performance.now() - started;
    clearInterval(timer);
    const decoded = await decode(output.bytes);
    // Compared with the same build's engine run on this thread.
    const engine = (await import(compiled.replace(/index\.js$/, "engine/inpaint.js"))) as { inpaint: typeof inpaint };
    expect(Buffer.compare(decoded.data, engine.inpaint(big, hole, { seed: 9 }).data)).toBe(0);
    // The timer kept firing while the engine ran (at least a third of the 5 ms slots).
    expect(ticks).toBeGreaterThan(elapsed / 15);
  });

  it("gives the same pixels with a helper thread as without", async () => {
    const run = (await import(compiled.replace(/index\.js$/, "run.js"))) as { runEngine: typeof runEngine };
    const big = noisyTexture(300, 240, 5);
    const strokes = scribbleMask(300, 240, 9, 4, 6);
    const job = { image: big, mask: strokes, seed: 3 };
    const alone = await run.runEngine({ ...job, helpers: 0 }, { signal: live() });
    const helped = await run.runEngine({ ...job, helpers: 1 }, { signal: live() });
    expect(maxDifference(helped, big, (i) => strokes.data[i]! > 0)).toBeGreaterThan(0);
    expect(Buffer.compare(alone.data, helped.data)).toBe(0);
  });

  it("has the helper thread write the shared field itself", async () => {
    const parallel = (await import(compiled.replace(/index\.js$/, "parallel.js"))) as typeof import("../../../src/providers/local/parallel.js");
    const pm = (await import(compiled.replace(/index\.js$/, "engine/patchmatch.js"))) as typeof import("../../../src/providers/local/engine/patchmatch.js");
    const levels = (await import(compiled.replace(/index\.js$/, "engine/region.js"))) as typeof import("../../../src/providers/local/engine/region.js");
    const file = parallel.helperFile();
    expect(file).toBeDefined();
    const picture = noisyTexture(200, 160, 8);
    const hole = rectMask(200, 160, 60, 50, 70, 60);
    const level = levels.extractLevel(picture, hole, { x: 0, y: 0, width: 200, height: 160 });
    const sets = pm.findPatches(level);
    const search = (runBands: BandRunner) => {
      const field = pm.randomField(level, sets, createRandom(1));
      pm.improveField(level, sets, field, 2, createRandom(2), 40, runBands);
      return field;
    };
    const runner = parallel.createParallelRunner(file!, 1);
    const expected = search(pm.runBandsInOrder);
    // Atomics.wait is allowed on Node's main thread, so the runner works here too.
    const helped = search(runner.runBands);
    await runner.close();
    expect(Buffer.compare(Buffer.from(helped.nnf.buffer), Buffer.from(expected.nnf.buffer))).toBe(0);
  });

  it("terminates the worker when aborted", async () => {
    const provider = await load();
    const controller = new AbortController();
    const fill = provider.fill(request(noisyTexture(400, 300, 3), rectMask(400, 300, 100, 80, 150, 120)), {
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 20);
    await expect(fill).rejects.toMatchObject({ kind: "cancelled" });
  });
});
