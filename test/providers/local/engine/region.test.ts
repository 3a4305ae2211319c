import { describe, expect, it } from "vitest";
import { createLevel } from "../../../../src/providers/local/engine/level.js";
import { contextRect, distanceToKnown, holeThickness, maskBounds } from "../../../../src/providers/local/engine/region.js";
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
    expect(contextRect({ x: 500, y: 500, width: 10, height: 10 }, 2000, 2000)).toEqual({ x: 460, y: 460, width: 90, height: 90 });
    expect(contextRect({ x: 500, y: 500, width: 200, height: 100 }, 2000, 2000)).toEqual({ x: 400, y: 400, width: 400, height: 300 });
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
