import { describe, expect, it } from "vitest";
import { holePsnr, laplacianStd, textureRatio } from "../../../../src/providers/local/engine/metrics.js";
import { noisyTexture, rectMask, rgbImage } from "../images.js";

describe("quality metrics", () => {
  const image = noisyTexture(40, 40, 3);
  const mask = rectMask(40, 40, 10, 10, 20, 20);

  it("scores a perfect fill 1 and infinite PSNR", () => {
    expect(textureRatio(image, image, mask)).toBe(1);
    expect(holePsnr(image, image, mask)).toBe(Number.POSITIVE_INFINITY);
  });

  it("scores a flat fill 0 texture", () => {
    const flat = rgbImage(40, 40, () => [100, 100, 100]);
    expect(laplacianStd(flat, mask)).toBe(0);
    expect(textureRatio(image, flat, mask)).toBe(0);
  });

  it("computes PSNR from the mean squared error inside the hole only", () => {
    const a = rgbImage(10, 10, () => [0, 0, 0]);
    const b = rgbImage(10, 10, (x) => (x < 5 ? [10, 10, 10] : [200, 200, 200]));
    const left = rectMask(10, 10, 0, 0, 5, 10);
    expect(holePsnr(a, b, left)).toBeCloseTo(10 * Math.log10((255 * 255) / 100), 6);
  });

  it("doubles with twice the contrast", () => {
    const low = rgbImage(30, 30, (x, y) => ((x + y) % 2 === 0 ? [100, 100, 100] : [110, 110, 110]));
    const high = rgbImage(30, 30, (x, y) => ((x + y) % 2 === 0 ? [100, 100, 100] : [120, 120, 120]));
    const hole = rectMask(30, 30, 5, 5, 20, 20);
    expect(textureRatio(low, high, hole)).toBeCloseTo(2, 1);
  });
});
