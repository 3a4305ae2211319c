import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { FluxFillError } from "../../src/errors.js";
import { imageSizeOf, PREVIEW_MAX_BASE64_CHARS, renderPreview } from "../../src/images/preview.js";
import {
  decodeRaw,
  encodeRaster,
  makePhoto,
  makeRgbaWithHole,
  noisePixels,
  orientedAs,
  pixelAt,
  pngHeaderClaiming,
} from "../helpers/images.js";

const MIB = 1024 * 1024;

async function expectJpegOfSize(preview: { base64: string; width: number; height: number }) {
  const meta = await sharp(Buffer.from(preview.base64, "base64")).metadata();
  expect(meta).toMatchObject({ format: "jpeg", width: preview.width, height: preview.height });
}

describe("renderPreview: size budget on the worst case (24 MP of random noise)", () => {
  let noisy24mp: Buffer;

  beforeAll(async () => {
    // JPEG quality 95 of pure noise: ~24 MB, the most detail a 24 MP photo could carry.
    noisy24mp = await encodeRaster(noisePixels(6000, 4000, 42), "jpeg", 95);
  }, 60_000);

  it("stays well under 1 MiB at the default 768 px", async () => {
    const started = performance.now();
    const preview = await renderPreview(noisy24mp, 768);
    const elapsed = performance.now() - started;
    console.log(
      `preview of 24 MP noise (${(noisy24mp.length / MIB).toFixed(1)} MiB JPEG) at 768 px: ` +
        `${preview.width}×${preview.height}, base64 ${preview.base64.length} chars, ${elapsed.toFixed(0)} ms`,
    );
    expect(preview).toMatchObject({ mimeType: "image/jpeg", width: 768, height: 512 });
    expect(preview.base64.length).toBeLessThanOrEqual(PREVIEW_MAX_BASE64_CHARS);
    expect(preview.base64.length).toBeLessThan(MIB);
    await expectJpegOfSize(preview);
  });

  it.each([
    [2048, "lowers the quality"],
    [4000, "lowers the quality, then the size"],
  ])("at %i px it %s until it fits", async (maxSize) => {
    const preview = await renderPreview(noisy24mp, maxSize);
    console.log(
      `preview of 24 MP noise at ${maxSize} px: ${preview.width}×${preview.height}, base64 ${preview.base64.length} chars`,
    );
    expect(preview.base64.length).toBeLessThanOrEqual(PREVIEW_MAX_BASE64_CHARS);
    expect(Math.max(preview.width, preview.height)).toBeLessThanOrEqual(maxSize);
    if (maxSize === 2048) expect(preview.width).toBe(2048);
    // 4000×2667 of noise cannot fit at any quality tried, so the size must have come down.
    else expect(preview.width).toBeLessThan(4000);
    // Aspect ratio kept (3:2) through every size step.
    expect(Math.abs(preview.width / preview.height - 1.5)).toBeLessThan(0.01);
    await expectJpegOfSize(preview);
  });
});

describe("renderPreview", () => {
  it.each([768, 1024])(
    "fits %i² of noise at exactly the preview size (nothing smoothed by downscaling)",
    async (side) => {
      const png = await encodeRaster(noisePixels(side, side, 7), "png");
      const preview = await renderPreview(png, side);
      console.log(
        `preview of ${side}×${side} PNG noise at ${side} px: ${preview.width}×${preview.height}, base64 ${preview.base64.length} chars`,
      );
      expect(preview.base64.length).toBeLessThanOrEqual(PREVIEW_MAX_BASE64_CHARS);
      expect(Math.max(preview.width, preview.height)).toBeLessThanOrEqual(side);
    },
  );

  it("fits the longest side to maxSize and keeps the aspect ratio", async () => {
    const preview = await renderPreview(await makePhoto(1200, 300, { format: "png" }), 400);
    expect([preview.width, preview.height]).toEqual([400, 100]);
    const tall = await renderPreview(await makePhoto(300, 1200, { format: "webp" }), 400);
    expect([tall.width, tall.height]).toEqual([100, 400]);
    await expectJpegOfSize(tall);
  });

  it("never enlarges", async () => {
    const preview = await renderPreview(await makePhoto(120, 80, { format: "jpeg" }), 768);
    expect([preview.width, preview.height]).toEqual([120, 80]);
  });

  it("shows the image upright (EXIF orientation applied)", async () => {
    const stored = await orientedAs(await makePhoto(90, 60), 6);
    expect((await sharp(stored).metadata()).width).toBe(60);
    const preview = await renderPreview(stored, 768);
    expect([preview.width, preview.height]).toEqual([90, 60]);
  });

  it("puts transparent areas on white", async () => {
    const png = await makeRgbaWithHole(64, 64, { kind: "rect", x: 16, y: 16, width: 32, height: 32 });
    const preview = await renderPreview(png, 768);
    const decoded = await decodeRaw(Buffer.from(preview.base64, "base64"));
    for (const v of pixelAt(decoded, 32, 32)) expect(v).toBeGreaterThan(245);
  });

  it("refuses data that is not an image", async () => {
    await expect(renderPreview(Buffer.from("nope"), 768)).rejects.toBeInstanceOf(FluxFillError);
    await expect(renderPreview(Buffer.from("nope"), 768)).rejects.toMatchObject({ kind: "bad_input" });
  });
});

describe("imageSizeOf", () => {
  it("reads size and format from the header, as displayed", async () => {
    expect(await imageSizeOf(await makePhoto(90, 60, { format: "webp" }))).toEqual({
      width: 90,
      height: 60,
      format: "webp",
    });
    const rotated = await orientedAs(await makePhoto(90, 60, { format: "jpeg" }), 8);
    expect(await imageSizeOf(rotated)).toEqual({ width: 90, height: 60, format: "jpeg" });
  });

  it("does not decode pixels (a header claiming 10 gigapixels is answered at once)", async () => {
    const started = performance.now();
    expect(await imageSizeOf(pngHeaderClaiming(100_000, 100_000))).toEqual({
      width: 100_000,
      height: 100_000,
      format: "png",
    });
    expect(performance.now() - started).toBeLessThan(500);
  });

  it("refuses data that is not an image", async () => {
    await expect(imageSizeOf(Buffer.from("<html></html>"))).rejects.toMatchObject({ kind: "bad_input" });
  });
});
