/**
 * runFill through real files and a stand-in provider that records what it was given and answers with
 * chosen bytes: what reaches the provider, and what happens to the result before it is saved.
 */
import { readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { FluxFillError } from "../../src/errors.js";
import { renderPreview } from "../../src/images/preview.js";
import { silentLogger } from "../../src/log.js";
import { runFill } from "../../src/pipeline/run.js";
import type { FillOutput, FillRequest, Provider } from "../../src/providers/types.js";
import { makeMask, makePhoto, photoPixels, type Shape } from "../helpers/images.js";
import { tempDir } from "../helpers/mcp.js";

const PARAMS = {
  prompt: "a lamp",
  steps: 50,
  prompt_upsampling: false,
  guidance: 60,
  output_format: "jpeg",
  safety_tolerance: 2,
} as const;

/** A provider that keeps the request and answers with `bytes` (a JPEG unless said otherwise). */
function standIn(bytes: Buffer, format: FillOutput["format"] = "jpeg"): Provider & { requests: FillRequest[] } {
  const requests: FillRequest[] = [];
  return {
    name: "bfl",
    estimateCredits: () => 5,
    requests,
    async fill(request) {
      if (request.kind !== "fill") throw new Error("this stand-in only fills");
      requests.push(request);
      await request.checked; // as every provider must before anything is created
      return { provider: "bfl", bytes, format, upstreamId: "task-1", notes: [] };
    },
  };
}

async function setUp(imageFormat: "jpeg" | "png" = "jpeg") {
  const dir = await tempDir("flux-fill-pipeline-");
  const config = loadConfig({ FLUX_FILL_OUTPUT_DIR: path.join(dir, "out"), FLUX_FILL_ALLOWED_DIRS: dir }, dir);
  const rect: Shape = { kind: "rect", x: 100, y: 60, width: 80, height: 50 };
  const imageBytes = await makePhoto(320, 240, { format: imageFormat, seed: 3 });
  const maskBytes = await makeMask(320, 240, rect);
  const image = path.join(dir, imageFormat === "jpeg" ? "photo.jpg" : "photo.png");
  const mask = path.join(dir, "mask.png");
  await writeFile(image, imageBytes);
  await writeFile(mask, maskBytes);
  return { dir, config, image, mask, imageBytes, maskBytes };
}

async function resultJpeg(width = 320, height = 240): Promise<Buffer> {
  const pixels = photoPixels(width, height, 11);
  return sharp(pixels.data, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

describe("runFill: what the provider is given", () => {
  it.each(["jpeg", "png"] as const)(
    "a plain %s image and a plain greyscale mask file are uploaded byte for byte",
    async (format) => {
      const { config, image, mask, imageBytes, maskBytes } = await setUp(format);
      const provider = standIn(await resultJpeg());
      await runFill({ image, mask, params: { ...PARAMS, crop: "off" } }, { config, provider, logger: silentLogger });
      const [request] = provider.requests;
      expect(request?.upload.image.equals(imageBytes)).toBe(true);
      expect(request?.upload.mask.equals(maskBytes)).toBe(true);
      expect(await request?.image.pixels()).toMatchObject({ width: 320, height: 240, channels: 3 });
      expect(await request?.mask.pixels()).toMatchObject({ width: 320, height: 240, channels: 1 });
      expect(request?.mask).toMatchObject({ width: 320, height: 240 });
    },
  );

  it("hands over a request whose files go as they are before the pixel checks end; a failed check is the error", async () => {
    const { dir, config, image } = await setUp();
    const blank = path.join(dir, "blank.png");
    await writeFile(blank, await makeMask(320, 240, { kind: "rect", x: 0, y: 0, width: 0, height: 0 }));
    const seen: Array<{ settledAtCall: boolean }> = [];
    const failing = (failure: Error): Provider => ({
      name: "bfl",
      estimateCredits: () => 5,
      async fill(request) {
        let settled = false;
        request.checked.then(
          () => (settled = true),
          () => (settled = true),
        );
        await Promise.resolve();
        seen.push({ settledAtCall: settled });
        throw failure;
      },
    });
    const cases = [new FluxFillError("upstream_unreachable", "the provider's own failure"), new Error("anything else")];
    for (const failure of cases) {
      const error = await runFill(
        { image, mask: blank, params: { ...PARAMS, crop: "off" } },
        {
          config,
          provider: failing(failure),
          logger: silentLogger,
        },
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FluxFillError);
      expect((error as FluxFillError).kind).toBe("bad_input");
      expect((error as FluxFillError).message).toMatch(/^The mask is empty/);
    }
    expect(seen).toEqual([{ settledAtCall: false }, { settledAtCall: false }]);
    expect(await readdir(path.join(dir, "out")).catch(() => [])).toEqual([]);
  });
});

describe("runFill: the result is checked before it is saved", () => {
  it("renders the preview asked for from the result (the same one renderPreview makes)", async () => {
    const { config, image, mask } = await setUp();
    const result = await resultJpeg();
    const outcome = await runFill(
      { image, mask, params: { ...PARAMS, keep_unmasked: false } },
      { config, provider: standIn(result), logger: silentLogger },
      { previewMaxSize: 100 },
    );
    expect(outcome.preview).toMatchObject({ width: 100, height: 75, mimeType: "image/jpeg" });
    expect(outcome.preview?.base64).toBe((await renderPreview(result, 100)).base64);
    expect(outcome.bytes.equals(result)).toBe(true);
  });

  it("without a preview, still returns the saved bytes and no preview", async () => {
    const { config, image, mask } = await setUp();
    const outcome = await runFill(
      { image, mask, params: { ...PARAMS } },
      { config, provider: standIn(await resultJpeg()), logger: silentLogger },
    );
    expect(outcome.preview).toBeUndefined();
    expect((await sharp(outcome.path).metadata()).width).toBe(320);
  });

  it.each([
    ["with a preview", { previewMaxSize: 64 }],
    ["without a preview", {}],
  ])("refuses a truncated result (readable header, missing pixels) and saves nothing (%s)", async (_, hooks) => {
    const { config, image, mask } = await setUp();
    const whole = await resultJpeg(640, 480);
    const truncated = whole.subarray(0, Math.floor(whole.length * 0.6));
    // The header alone looks fine: only decoding every byte tells.
    expect((await sharp(truncated).metadata()).width).toBe(640);
    let error: unknown;
    try {
      await runFill(
        { image, mask, params: { ...PARAMS } },
        { config, provider: standIn(truncated), logger: silentLogger },
        hooks,
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(FluxFillError);
    expect((error as FluxFillError).kind).toBe("upstream_failed");
    expect((error as FluxFillError).message).toMatch(/does not decode completely.*upstream task task-1.*not saved/);
    expect(await readdir(config.outputDir).catch(() => [])).toEqual([]);
  });
});
