import { describe, expect, it } from "vitest";
import { createLevel } from "../../../../src/providers/local/engine/level.js";
import { downsample, upsampleIntoHole } from "../../../../src/providers/local/engine/pyramid.js";

describe("downsample", () => {
  it("averages the known pixels of each 2×2 block; the hole rule says when a block is unknown", () => {
    const fine = createLevel(5, 3, 2);
    for (let i = 0; i < 15; i++) {
      fine.pixels[i * 2] = i;
      fine.pixels[i * 2 + 1] = 100 + i;
    }
    fine.hole[0] = 1; // one of block (0,0)
    fine.hole[2] = 1;
    fine.hole[3] = 1;
    fine.hole[7] = 1;
    fine.hole[8] = 1; // all of block (1,0)
    const any = downsample(fine, "any");
    const all = downsample(fine, "all");
    expect([any.width, any.height, any.channels]).toEqual([3, 2, 2]);
    // Block (0,0): pixels 0, 1, 5, 6, of which 1, 5, 6 are known.
    expect(any.pixels[0]).toBeCloseTo(4, 5);
    expect(any.pixels[1]).toBeCloseTo(104, 5);
    // Block (2,0) is one column wide: pixels 4 and 9.
    expect(any.pixels[2 * 2]).toBeCloseTo(6.5, 5);
    // Block (2,1) is a single pixel: 14.
    expect(any.pixels[5 * 2]).toBe(14);
    expect(Array.from(any.hole)).toEqual([1, 1, 0, 0, 0, 0]);
    expect(Array.from(all.hole)).toEqual([0, 1, 0, 0, 0, 0]);
    expect(Array.from(all.pixels)).toEqual(Array.from(any.pixels));
  });
});

describe("upsampleIntoHole", () => {
  it("writes the bilinear interpolation into the hole only, for as many channels as both levels have", () => {
    const coarse = createLevel(4, 4, 5);
    for (let i = 0; i < 16; i++) for (let c = 0; c < 5; c++) coarse.pixels[i * 5 + c] = 10 * (i % 4) + c;
    const fine = createLevel(8, 8, 3);
    fine.pixels.fill(-1);
    fine.hole[3 * 8 + 3] = 1;
    fine.hole[0] = 1;
    upsampleIntoHole(coarse, fine);
    // Fine x = 3 sits at coarse x = 1.25; every coarse row is the same.
    expect(Array.from(fine.pixels.subarray((3 * 8 + 3) * 3, (3 * 8 + 4) * 3))).toEqual([12.5, 13.5, 14.5]);
    // Clamped at the border.
    expect(Array.from(fine.pixels.subarray(0, 3))).toEqual([0, 1, 2]);
    expect(fine.pixels.filter((v) => v !== -1)).toHaveLength(6);
  });

  it("visits only the hole pixels it is given", () => {
    const coarse = createLevel(2, 2, 1);
    coarse.pixels.fill(9);
    const fine = createLevel(4, 4, 1);
    fine.hole.fill(1);
    upsampleIntoHole(coarse, fine, Int32Array.of(5, 6));
    expect(Array.from(fine.pixels)).toEqual([0, 0, 0, 0, 0, 9, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });
});
