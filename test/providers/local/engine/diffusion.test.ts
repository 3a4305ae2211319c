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
    matchBoundary(level, proposal);
    for (let y = 6; y < 14; y++) {
      for (let x = 14; x < 24; x++) expect(level.pixels[(y * width + x) * 3]).toBeCloseTo(texture(x), 3);
    }
  });
});
