import { describe, expect, it } from "vitest";
import {
  boxSum,
  extractWithFeatures,
  FEATURE_CHANNELS,
  halfLevelWithFeatures,
} from "../../../../src/providers/local/engine/features.js";
import { COLOR_CHANNELS } from "../../../../src/providers/local/engine/level.js";
import { downsample } from "../../../../src/providers/local/engine/pyramid.js";
import { extractHole, extractLevel } from "../../../../src/providers/local/engine/region.js";
import { maskImage, noisyTexture, rectMask, rgbImage, seededRandom } from "../images.js";

/** The box sum by definition: every element of the clipped window, added up. */
function naiveBoxSum(values: number[], w: number, h: number, r: number): number[] {
  const out: number[] = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sum = 0;
      for (let yy = Math.max(0, y - r); yy <= Math.min(h - 1, y + r); yy++) {
        for (let xx = Math.max(0, x - r); xx <= Math.min(w - 1, x + r); xx++) sum += values[yy * w + xx]!;
      }
      out.push(sum);
    }
  }
  return out;
}

describe("boxSum", () => {
  it.each([
    [9, 7, 0],
    [9, 7, 1],
    [13, 11, 3],
    [5, 4, 6],
    [1, 1, 2],
    [30, 2, 4],
  ])("sums a %i×%i channel over a window of radius %i, in place, leaving other channels alone", (w, h, r) => {
    const random = seededRandom(w * 31 + h * 7 + r);
    const stride = 3;
    const plane = new Float32Array(w * h * stride);
    for (let i = 0; i < plane.length; i++) plane[i] = Math.floor(random() * 100);
    const before = Array.from(plane);
    const channel = before.filter((_, i) => i % stride === 1);
    boxSum(plane, 1, stride, w, h, r);
    const expected = naiveBoxSum(channel, w, h, r);
    for (let p = 0; p < w * h; p++) {
      expect(plane[p * stride + 1]).toBe(expected[p]);
      expect(plane[p * stride]).toBe(before[p * stride]);
      expect(plane[p * stride + 2]).toBe(before[p * stride + 2]);
    }
  });
});

describe("extractWithFeatures", () => {
  const channels = COLOR_CHANNELS + FEATURE_CHANNELS;

  it("copies the rectangle's colours and takes the hole it is given", () => {
    const image = noisyTexture(40, 30, 2);
    const mask = rectMask(40, 30, 12, 8, 10, 6);
    const rect = { x: 5, y: 4, width: 30, height: 20 };
    const hole = extractHole(mask, rect);
    const level = extractWithFeatures(image, rect, hole, 2, 3);
    expect(level).toMatchObject({ width: 30, height: 20, channels });
    expect(level.hole).toBe(hole);
    for (let y = 0; y < 20; y++) {
      for (let x = 0; x < 30; x++) {
        const i = y * 30 + x;
        const j = (y + 4) * 40 + x + 5;
        expect(hole[i]).toBe(mask.data[j]! > 0 ? 1 : 0);
        for (let c = 0; c < 3; c++) expect(level.pixels[i * channels + c]).toBe(image.data[j * 3 + c]);
      }
    }
  });

  it("measures horizontal and vertical detail separately, from known pixels only, and gives the hole none", () => {
    // Vertical stripes: luma changes along x only.
    const stripes = rgbImage(24, 20, (x) => (x % 2 === 0 ? [200, 200, 200] : [100, 100, 100]));
    const mask = rectMask(24, 20, 8, 6, 6, 6);
    const rect = { x: 0, y: 0, width: 24, height: 20 };
    const level = extractWithFeatures(stripes, rect, extractHole(mask, rect), 2, 3);
    const far = (x: number, y: number) => {
      // Window (radius 2) plus the one-pixel gradient reach, clear of the hole (8..13 × 6..11) and the border.
      const clear = (v: number, low: number, high: number) => v + 3 < low || v - 3 > high;
      return x >= 3 && y >= 3 && x < 21 && y < 17 && (clear(x, 8, 13) || clear(y, 6, 11));
    };
    let checked = 0;
    for (let y = 0; y < 20; y++) {
      for (let x = 0; x < 24; x++) {
        const i = y * 24 + x;
        const gx = level.pixels[i * channels + 3]!;
        const gy = level.pixels[i * channels + 4]!;
        if (level.hole[i]) {
          expect([gx, gy]).toEqual([0, 0]);
        } else if (far(x, y)) {
          // Mean |Δluma| between horizontal neighbours is 100, times the weight 3; vertically nothing changes.
          expect(gx).toBeCloseTo(300, 3);
          expect(gy).toBe(0);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it("gives a flat picture no texture", () => {
    const flat = rgbImage(16, 16, () => [50, 60, 70]);
    const rect = { x: 0, y: 0, width: 16, height: 16 };
    const level = extractWithFeatures(
      flat,
      rect,
      extractHole(
        maskImage(16, 16, (x) => (x === 8 ? 255 : 0)),
        rect,
      ),
      3,
      3,
    );
    for (let i = 0; i < 256; i++) {
      expect(level.pixels[i * channels + 3]).toBe(0);
      expect(level.pixels[i * channels + 4]).toBe(0);
    }
  });
});

describe("halfLevelWithFeatures", () => {
  const channels = COLOR_CHANNELS + FEATURE_CHANNELS;

  it("has the colours and hole of the finest level halved, odd sizes included", () => {
    const image = noisyTexture(37, 29, 8);
    const mask = rectMask(37, 29, 9, 7, 11, 9);
    const rect = { x: 2, y: 1, width: 33, height: 27 };
    const fine = extractLevel(image, mask, rect);
    const halved = downsample(fine, "any");
    const level = halfLevelWithFeatures(image, rect, fine.hole, halved.hole, 2, 3);
    expect(level).toMatchObject({ width: 17, height: 14, channels });
    expect(level.hole).toBe(halved.hole);
    for (let i = 0; i < 17 * 14; i++) {
      for (let c = 0; c < 3; c++) expect(level.pixels[i * channels + c]).toBeCloseTo(halved.pixels[i * 3 + c]!, 3);
    }
  });

  it("measures detail at full resolution: stripes one pixel wide show, as horizontal detail only", () => {
    // Stripes of period 2 vanish when the picture is halved, but not from the texture channels.
    const stripes = rgbImage(40, 32, (x) => (x % 2 === 0 ? [200, 200, 200] : [100, 100, 100]));
    const mask = rectMask(40, 32, 16, 12, 8, 8);
    const rect = { x: 0, y: 0, width: 40, height: 32 };
    const fine = extractLevel(stripes, mask, rect);
    const halved = downsample(fine, "any");
    const level = halfLevelWithFeatures(stripes, rect, fine.hole, halved.hole, 1, 3);
    let checked = 0;
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 20; x++) {
        const i = y * 20 + x;
        const [gx, gy] = [level.pixels[i * channels + 3]!, level.pixels[i * channels + 4]!];
        if (level.hole[i]) {
          expect([gx, gy]).toEqual([0, 0]);
        } else if (x >= 2 && y >= 2 && x < 18 && y < 14 && (x < 6 || x > 13 || y < 4 || y > 11)) {
          expect(gx).toBeCloseTo(300, 3);
          expect(gy).toBe(0);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(50);
  });
});
