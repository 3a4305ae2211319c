import { describe, expect, it } from "vitest";
import { diffusionFill, matchBoundary } from "../../../../src/providers/local/engine/diffusion.js";
import { createLevel } from "../../../../src/providers/local/engine/level.js";

describe("diffusionFill", () => {
  it("solves Laplace's equation: a linear ramp is filled exactly", () => {
    const level = createLevel(40, 30, 3);
    for (let i = 0; i < 40 * 30; i++) {
      const x = i % 40;
      level.pixels[i * 3] = 4 * x;
      level.pixels[i * 3 + 1] = 100;
      level.pixels[i * 3 + 2] = 200 - 3 * Math.floor(i / 40);
      const y = Math.floor(i / 40);
      if (x >= 8 && x < 30 && y >= 5 && y < 25) {
        level.hole[i] = 1;
        level.pixels.fill(0, i * 3, i * 3 + 3);
      }
    }
    diffusionFill(level);
    for (let i = 0; i < 40 * 30; i++) {
      expect(level.pixels[i * 3]).toBeCloseTo(4 * (i % 40), 0);
      expect(level.pixels[i * 3 + 2]).toBeCloseTo(200 - 3 * Math.floor(i / 40), 0);
    }
  });
});

describe("matchBoundary", () => {
  it("removes a constant offset between copied texture and its surroundings", () => {
    // Left half: the picture, with a hole. Right half: the same texture 20 levels brighter, where the
    // hole's copy (and the proposals around it) come from.
    const width = 60;
    const texture = (x: number) => ((x * 7) % 50) + 10;
    const level = createLevel(width, 20, 3);
    const proposal = new Int32Array(width * 20).fill(-1);
    for (let y = 0; y < 20; y++) {
      for (let x = 0; x < 30; x++) {
        const i = y * width + x;
        level.pixels.fill(texture(x), i * 3, i * 3 + 3);
        level.pixels.fill(texture(x) + 20, (i + 30) * 3, (i + 30) * 3 + 3);
        if (x >= 13 && x < 25 && y >= 5 && y < 15) proposal[i] = i + 30;
        if (x >= 14 && x < 24 && y >= 6 && y < 14) {
          level.hole[i] = 1;
          level.pixels.fill(texture(x) + 20, i * 3, i * 3 + 3);
        }
      }
    }
    matchBoundary(level, (q) => proposal[q]!);
    for (let y = 6; y < 14; y++) {
      for (let x = 14; x < 24; x++) expect(level.pixels[(y * width + x) * 3]).toBeCloseTo(texture(x), 3);
    }
  });
});

describe("matchBoundary on thin and thick holes", () => {
  /**
   * Top half: the picture (value 50 + x + y) with a hole; bottom half: the copied texture, off from the
   * picture by a smooth (linear) mismatch. Every pixel's proposal is the pixel straight below it, so the
   * correction has to cancel exactly that mismatch: harmonic, hence recoverable from the ring alone.
   */
  function offsetPicture(
    holeAt: (x: number, y: number) => boolean,
    mismatch = (x: number, y: number) => 0.3 * x - 0.2 * y + 7,
  ) {
    const width = 90;
    const half = 60;
    const picture = (x: number, y: number) => 50 + x + y;
    const level = createLevel(width, 2 * half, 3);
    for (let y = 0; y < half; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        const copied = picture(x, y) - mismatch(x, y);
        level.pixels.fill(copied, (i + half * width) * 3, (i + half * width) * 3 + 3);
        level.pixels.fill(holeAt(x, y) ? copied : picture(x, y), i * 3, i * 3 + 3);
        if (holeAt(x, y)) level.hole[i] = 1;
      }
    }
    const proposal = (q: number) => (q < half * width ? q + half * width : -1);
    return { level, width, picture, proposal };
  }

  const sloped = (x: number, y: number) => 0.3 * x - 0.2 * y + 7;
  // The image border reflects (no change across it), so a mismatch along a border stroke varies along it only.
  const alongBorder = (x: number) => 0.3 * x + 7;

  it.each([
    ["a thin stroke", (x: number, y: number) => y >= 20 && y < 26 && x >= 10 && x < 80, sloped],
    ["a thin stroke along the image border", (x: number, y: number) => y < 4 && x >= 5 && x < 85, alongBorder],
    ["a thick block", (x: number, y: number) => y >= 5 && y < 58 && x >= 15 && x < 75, sloped],
  ])("cancels a smooth mismatch across %s", (_, holeAt, mismatch) => {
    // The mismatch is 7 to 30 grey levels; what is left must be under half a level (no visible seam).
    const tolerance = 0.5;
    const { level, width, picture, proposal } = offsetPicture(holeAt, mismatch);
    matchBoundary(level, proposal);
    for (let y = 0; y < 60; y++) {
      for (let x = 0; x < width; x++) {
        if (holeAt(x, y))
          expect(Math.abs(level.pixels[(y * width + x) * 3]! - picture(x, y))).toBeLessThanOrEqual(tolerance);
      }
    }
  });

  it("leaves known pixels alone and does nothing without a hole", () => {
    const { level, proposal } = offsetPicture(() => false);
    const before = Float32Array.from(level.pixels);
    matchBoundary(level, proposal);
    expect(Array.from(level.pixels)).toEqual(Array.from(before));
  });
});
