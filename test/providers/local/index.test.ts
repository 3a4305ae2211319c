import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { FluxFillError } from "../../../src/errors.js";
import { inpaint } from "../../../src/providers/local/engine/inpaint.js";
import { padCanvas } from "../../../src/providers/local/canvas.js";
import { createLocalProvider, PROMPT_IGNORED_NOTE } from "../../../src/providers/local/index.js";
import { decodedImage } from "../../../src/images/prepare.js";
import type { FillProgress, FillRequest, Provider } from "../../../src/providers/types.js";
import type { RasterImage } from "../../../src/images/raster.js";
import type { FillParams } from "../../../src/schema/upstream.js";
import type { TargetBandRunner } from "../../../src/providers/local/engine/patchmatch.js";
import { createRandom } from "../../../src/random.js";
import { ENGINE_IDLE_MS } from "../../../src/providers/local/run.js";
import { fillRequest } from "../../helpers/fill-request.js";
import { maxDifference, noisyTexture, rectMask, scribbleMask } from "./images.js";

function request(image: RasterImage, mask: RasterImage, params: Partial<FillParams> = {}): FillRequest {
  return fillRequest(
    image,
    mask,
    { image: Buffer.alloc(0), mask: Buffer.alloc(0) },
    {
      prompt: "",
      steps: 50,
      prompt_upsampling: false,
      guidance: 60,
      output_format: "png",
      safety_tolerance: 2,
      ...params,
    },
  );
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

  it("expands: the engine's fill of the photo padded by the sides, the photo kept", async () => {
    const sides = { top: 6, bottom: 0, left: 10, right: 3 };
    const output = await provider.fill(
      {
        kind: "expand",
        image: decodedImage(image),
        upload: { image: Buffer.alloc(0) },
        params: { ...sides, prompt: "", steps: 50, prompt_upsampling: false, guidance: 60, output_format: "png", safety_tolerance: 2, seed: 4 },
        checked: Promise.resolve(),
      },
      { signal: live() },
    );
    const decoded = await decode(output.bytes);
    expect(decoded.info).toMatchObject({ width: 109, height: 78 });
    const padded = padCanvas(image, sides);
    expect(Buffer.compare(decoded.data, inpaint(padded.image, padded.mask, { seed: 4 }).data)).toBe(0);
    expect(maxDifference({ ...padded.image, data: decoded.data }, padded.image, (i) => padded.mask.data[i] === 0)).toBe(0);
  });

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
    const withPrompt = await provider.fill(request(image, mask, { seed: 1, prompt: "a red balloon" }), {
      signal: live(),
    });
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

  /** A module of the same build, by its path under providers/local (typed as its source). */
  const compiledModule = <T>(file: string): Promise<T> => import(compiled.replace(/index\.js$/, file)) as Promise<T>;
  const loadRun = () => compiledModule<typeof import("../../../src/providers/local/run.js")>("run.js");

  it("gives the same pixels as the engine on this thread and keeps the event loop free", async () => {
    const run = await loadRun();
    expect(run.workerFile()).toBe(compiledWorker);
    const provider = await load();
    const big = noisyTexture(400, 300, 3);
    const hole = rectMask(400, 300, 150, 100, 90, 80);
    // Free while the engine works: a timer set at the engine's first progress runs before the fill ends.
    let timerRan = false;
    let finished = false;
    let armed = false;
    const output = await provider.fill(request(big, hole, { seed: 9 }), {
      signal: live(),
      onProgress: (progress) => {
        if (armed || progress.status === "start") return;
        armed = true;
        setTimeout(() => {
          if (!finished) timerRan = true;
        }, 0);
      },
    });
    finished = true;
    expect(armed).toBe(true);
    expect(timerRan).toBe(true);
    // The engine ran on a thread of its own, which now waits for the next job.
    expect(run.idleEngineThreads()).toBe(1);
    const decoded = await decode(output.bytes);
    // Compared with the same build's engine run on this thread.
    const engine = await compiledModule<{ inpaint: typeof inpaint }>("engine/inpaint.js");
    expect(Buffer.compare(decoded.data, engine.inpaint(big, hole, { seed: 9 }).data)).toBe(0);
  });

  it("gives the same pixels with a helper thread as without", async () => {
    const run = await loadRun();
    const big = noisyTexture(300, 240, 5);
    const strokes = scribbleMask(300, 240, 9, 4, 6);
    const job = { image: big, mask: strokes, seed: 3 };
    const alone = await run.runEngine({ ...job, helpers: 0 }, { signal: live() });
    const helped = await run.runEngine({ ...job, helpers: 1 }, { signal: live() });
    expect(maxDifference(helped, big, (i) => strokes.data[i]! > 0)).toBeGreaterThan(0);
    expect(Buffer.compare(alone.data, helped.data)).toBe(0);
  });

  it("has the helper thread write the shared field itself", async () => {
    const parallel = await compiledModule<typeof import("../../../src/providers/local/parallel.js")>("parallel.js");
    const pm =
      await compiledModule<typeof import("../../../src/providers/local/engine/patchmatch.js")>("engine/patchmatch.js");
    const levels =
      await compiledModule<typeof import("../../../src/providers/local/engine/region.js")>("engine/region.js");
    const file = parallel.helperFile();
    expect(file).toBeDefined();
    const picture = noisyTexture(200, 160, 8);
    const hole = rectMask(200, 160, 60, 50, 70, 60);
    const level = levels.extractLevel(picture, hole, { x: 0, y: 0, width: 200, height: 160 });
    const sets = pm.findPatches(level);
    const search = (runBands: TargetBandRunner) => {
      const field = pm.randomField(level, sets, createRandom(1));
      pm.improveField(level, sets, field, 2, createRandom(2), 40, runBands);
      return field;
    };
    const runner = parallel.createParallelRunner(file!, 1);
    const expected = search(pm.runTargetBands);
    // Atomics.wait is allowed on Node's main thread, so the runner works here too.
    const helped = search(runner.runBands);
    await runner.close();
    expect(Buffer.compare(Buffer.from(helped.nnf.buffer), Buffer.from(expected.nnf.buffer))).toBe(0);
  });

  it("has the helper thread vote and copy into the shared hole itself", async () => {
    const parallel = await compiledModule<typeof import("../../../src/providers/local/parallel.js")>("parallel.js");
    const pm =
      await compiledModule<typeof import("../../../src/providers/local/engine/patchmatch.js")>("engine/patchmatch.js");
    const voting =
      await compiledModule<typeof import("../../../src/providers/local/engine/voting.js")>("engine/voting.js");
    const levels =
      await compiledModule<typeof import("../../../src/providers/local/engine/level.js")>("engine/level.js");
    const regions =
      await compiledModule<typeof import("../../../src/providers/local/engine/region.js")>("engine/region.js");
    const picture = noisyTexture(240, 200, 9);
    // 12,000 hole pixels: enough work for the runner to wake its helper.
    const hole = rectMask(240, 200, 60, 50, 120, 100);
    const runner = parallel.createParallelRunner(parallel.helperFile()!, 1);
    const fill = (copy: boolean, runBands?: typeof runner.runBands) => {
      const level = regions.extractLevel(picture, hole, { x: 0, y: 0, width: 240, height: 200 });
      const sets = pm.findPatches(level);
      const field = pm.randomField(level, sets, createRandom(6));
      const holes = levels.holeIndices(level.hole);
      if (copy) voting.voteBest(level, field, holes, runBands);
      else voting.vote(level, sets, field, holes, 0.75, new Float32Array(240 * 200).fill(1), runBands);
      return Buffer.from(level.pixels.buffer);
    };
    try {
      for (const copy of [false, true]) {
        const alone = fill(copy);
        const helped = fill(copy, runner.runBands);
        expect(Buffer.compare(helped, alone)).toBe(0);
        expect(
          Buffer.compare(
            helped,
            fill(copy, () => undefined),
          ),
        ).not.toBe(0);
      }
    } finally {
      await runner.close();
    }
  });

  it("terminates the worker when aborted, and the next run gets a fresh one", async () => {
    const run = await loadRun();
    const provider = await load();
    const controller = new AbortController();
    const fill = provider.fill(request(noisyTexture(400, 300, 3), rectMask(400, 300, 100, 80, 150, 120)), {
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 20);
    await expect(fill).rejects.toMatchObject({ kind: "cancelled" });
    const small = noisyTexture(120, 90, 4);
    const hole = rectMask(120, 90, 40, 30, 30, 20);
    const after = await run.runEngine({ image: small, mask: hole, seed: 2 }, { signal: live() });
    expect(Buffer.compare(after.data, inpaint(small, hole, { seed: 2 }).data)).toBe(0);
  });

  it("keeps one engine thread warm between runs, giving the same pixels each time", async () => {
    const run = await loadRun();
    await run.closeEngineThreads();
    expect(run.idleEngineThreads()).toBe(0);
    // Making a provider starts a thread ahead of its first run.
    await load();
    expect(run.idleEngineThreads()).toBe(1);
    const picture = noisyTexture(160, 120, 6);
    const strokes = scribbleMask(160, 120, 7, 2, 4);
    const first = await run.runEngine({ image: picture, mask: strokes, seed: 4 }, { signal: live() });
    expect(run.idleEngineThreads()).toBe(1);
    const second = await run.runEngine({ image: picture, mask: strokes, seed: 4 }, { signal: live() });
    expect(Buffer.compare(first.data, second.data)).toBe(0);
    expect(Buffer.compare(first.data, inpaint(picture, strokes, { seed: 4 }).data)).toBe(0);
    // Two at once: the second gets a thread of its own, and only one stays waiting afterwards.
    const [a, b] = await Promise.all([
      run.runEngine({ image: picture, mask: strokes, seed: 4 }, { signal: live() }),
      run.runEngine({ image: picture, mask: strokes, seed: 5 }, { signal: live() }),
    ]);
    expect(Buffer.compare(a.data, first.data)).toBe(0);
    expect(Buffer.compare(b.data, inpaint(picture, strokes, { seed: 5 }).data)).toBe(0);
    expect(run.idleEngineThreads()).toBe(1);
    await run.closeEngineThreads();
    expect(run.idleEngineThreads()).toBe(0);
  });

  it("does not keep the process alive with a waiting engine thread", () => {
    const script = `
      const run = await import(${JSON.stringify(compiled.replace(/index\.js$/, "run.js"))});
      const data = Buffer.alloc(80 * 60 * 3, 90);
      const mask = Buffer.alloc(80 * 60);
      mask.fill(255, 30 * 80 + 20, 30 * 80 + 40);
      await run.runEngine({ image: { data, width: 80, height: 60, channels: 3 }, mask: { data: mask, width: 80, height: 60, channels: 1 }, seed: 1 }, { signal: new AbortController().signal });
      console.log("idle", run.idleEngineThreads());`;
    const started = performance.now();
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(child.stderr).toBe("");
    expect(child.stdout.trim()).toBe("idle 1");
    expect(child.status).toBe(0);
    // Well before the thread's idle timeout would have ended it.
    expect(performance.now() - started).toBeLessThan(ENGINE_IDLE_MS / 3);
  });
});
