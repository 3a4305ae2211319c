import { describe, expect, it } from "vitest";
import { createLevel } from "../../../../src/providers/local/engine/level.js";
import {
  contextRect,
  DEPTH_UNIT,
  distanceToKnown,
  extractHole,
  holeDepth,
  holeThickness,
  maskBounds,
  thicknessOf,
  UNREACHABLE,
} from "../../../../src/providers/local/engine/region.js";
import { emptyMask, maskImage, rectMask } from "../images.js";

describe("maskBounds", () => {
  it("boxes every non-zero pixel, soft ones included", () => {
    const mask = maskImage(20, 10, (x, y) => (x === 3 && y === 2 ? 1 : x === 15 && y === 7 ? 200 : 0));
    expect(maskBounds(mask)).toEqual({ x: 3, y: 2, width: 13, height: 6 });
    expect(maskBounds(emptyMask(5, 5))).toBeUndefined();
    expect(maskBounds(rectMask(8, 8, 0, 0, 8, 8))).toEqual({ x: 0, y: 0, width: 8, height: 8 });
  });
});

describe("contextRect", () => {
  it("adds a margin that grows with the hole and stays inside the image", () => {
    expect(contextRect({ x: 500, y: 500, width: 10, height: 10 }, 2000, 2000)).toEqual({
      x: 460,
      y: 460,
      width: 90,
      height: 90,
    });
    expect(contextRect({ x: 500, y: 500, width: 200, height: 100 }, 2000, 2000)).toEqual({
      x: 400,
      y: 400,
      width: 400,
      height: 300,
    });
    expect(contextRect({ x: 5, y: 0, width: 10, height: 10 }, 30, 20)).toEqual({ x: 0, y: 0, width: 30, height: 20 });
  });
});

describe("distanceToKnown", () => {
  it("measures the distance to the nearest known pixel", () => {
    const level = createLevel(11, 7, 3);
    for (let y = 1; y <= 5; y++) for (let x = 1; x <= 9; x++) level.hole[y * 11 + x] = 1;
    const d = distanceToKnown(level);
    expect(d[0]).toBe(0);
    expect(d[1 * 11 + 1]).toBe(1);
    expect(d[3 * 11 + 5]).toBe(3);
    expect(holeThickness(level)).toBe(3);
  });

  it("reports the level's size when nothing is known", () => {
    const level = createLevel(6, 4, 3);
    level.hole.fill(1);
    expect(holeThickness(level)).toBe(6);
  });
});

describe("holeDepth", () => {
  it("counts 3 per straight step and 4 per diagonal one to the nearest known pixel", () => {
    const level = createLevel(9, 9, 0);
    for (let y = 1; y <= 7; y++) for (let x = 1; x <= 7; x++) level.hole[y * 9 + x] = 1;
    const depth = holeDepth(level);
    expect(DEPTH_UNIT).toBe(3);
    expect(depth[0]).toBe(0);
    expect(depth[1 * 9 + 1]).toBe(3);
    expect(depth[2 * 9 + 2]).toBe(6);
    expect(depth[4 * 9 + 4]).toBe(12);
    expect(depth[4 * 9 + 2]).toBe(6);
    expect(thicknessOf(depth, 9, 9)).toBe(4);
    // Every hole pixel has a 4-neighbour of smaller depth (the seam blend's onion peel relies on it).
    for (let i = 0; i < 81; i++) {
      if (!level.hole[i]) continue;
      expect(Math.min(depth[i - 1]!, depth[i + 1]!, depth[i - 9]!, depth[i + 9]!)).toBeLessThan(depth[i]!);
    }
  });

  it("marks every pixel unreachable when nothing is known, and counts that as the larger side", () => {
    const level = createLevel(7, 3, 0);
    level.hole.fill(1);
    const depth = holeDepth(level);
    expect(depth.every((d) => d === UNREACHABLE)).toBe(true);
    expect(thicknessOf(depth, 7, 3)).toBe(7);
    expect(thicknessOf(holeDepth(createLevel(7, 3, 0)), 7, 3)).toBe(0);
  });
});

describe("extractHole", () => {
  it("marks every non-zero mask pixel of the rectangle", () => {
    const mask = maskImage(10, 8, (x, y) => (x === 4 && y === 3 ? 1 : x >= 6 && y >= 5 ? 200 : 0));
    const hole = extractHole(mask, { x: 3, y: 2, width: 5, height: 4 });
    expect(hole.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Array.from(hole)).toEqual([0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
  });
});
