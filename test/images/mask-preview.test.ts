import { describe, expect, it } from "vitest";
import { OUTLINE, renderMaskPreview, TINT, tintMask, tintPixel } from "../../src/images/mask-preview.js";
import { decodedImage } from "../../src/images/prepare.js";
import { PREVIEW_MAX_BASE64_CHARS } from "../../src/images/preview.js";
import { decodeRaw, maskPixels, noisePixels, photoPixels } from "../helpers/images.js";

describe("tintMask", () => {
  it("keeps unmasked pixels, tints masked ones and outlines the edge", () => {
    const image = photoPixels(20, 10, 3);
    const mask = maskPixels(20, 10, { kind: "rect", x: 5, y: 2, width: 6, height: 5 });
    const out = tintMask(image, mask);
    for (let y = 0; y < 10; y++) {
      for (let x = 0; x < 20; x++) {
        const o = (y * 20 + x) * 3;
        const px = [...out.data.subarray(o, o + 3)];
        const orig = [...image.data.subarray(o, o + 3)];
        const inside = x >= 5 && x < 11 && y >= 2 && y < 7;
        const edge = inside && (x === 5 || x === 10 || y === 2 || y === 6);
        if (!inside) expect(px).toEqual(orig);
        else if (edge) expect(px).toEqual([...OUTLINE]);
        else expect(px).toEqual(orig.map((v, c) => Math.round(v * 0.5 + TINT[c]! * 0.5)));
      }
    }
    expect(tintPixel(100, 255, 0)).toBe(100);
  });
});

describe("renderMaskPreview", () => {
  it("keeps the size of a small image and returns a lossless PNG", async () => {
    const image = photoPixels(40, 30, 2);
    const mask = maskPixels(40, 30, { kind: "rect", x: 10, y: 10, width: 10, height: 10 });
    const preview = await renderMaskPreview(decodedImage(image), mask, 512);
    expect(preview).toMatchObject({ mimeType: "image/png", width: 40, height: 30 });
    expect((await decodeRaw(Buffer.from(preview.base64, "base64"))).data.equals(tintMask(image, mask).data)).toBe(true);
  });

  it("stays under the inline budget for a large noisy image", async () => {
    const image = noisePixels(3000, 2000, 4);
    const mask = maskPixels(300, 200, { kind: "ellipse", cx: 150, cy: 100, rx: 60, ry: 40 });
    const big = { ...mask, data: Buffer.alloc(3000 * 2000) };
    for (let y = 0; y < 2000; y++) for (let x = 0; x < 3000; x++) big.data[y * 3000 + x] = mask.data[Math.floor(y / 10) * 300 + Math.floor(x / 10)]!;
    const preview = await renderMaskPreview(decodedImage(image), { ...big, width: 3000, height: 2000 }, 512);
    expect(preview.base64.length).toBeLessThanOrEqual(PREVIEW_MAX_BASE64_CHARS);
    expect(Math.max(preview.width, preview.height)).toBeLessThanOrEqual(512);
    expect(Buffer.from(preview.base64, "base64").length).toBeLessThan(1024 * 1024);
  });
});
