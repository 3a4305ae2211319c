import { describe, expect, it } from "vitest";
import { BOX_SLACK, clipToBox } from "../../../src/images/selection/box-clip.js";

describe("clipToBox", () => {
  it("keeps only the box grown by 3 % of its size on each side", () => {
    const width = 200;
    const height = 100;
    const mask = new Uint8Array(width * height).fill(255);
    clipToBox(mask, width, height, { x: 50, y: 20, width: 100, height: 50 });
    expect(BOX_SLACK).toBe(0.03);
    // x: 50 − 3 = 47 .. 150 + 3 = 153; y: 20 − 1.5 → 18 .. 70 + 1.5 → 72 (outward rounding).
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++)
        expect(mask[y * width + x], `${x},${y}`).toBe(x >= 47 && x < 153 && y >= 18 && y < 72 ? 255 : 0);
  });

  it("leaves a mask without a box alone and clips at the image's edges", () => {
    const mask = new Uint8Array(16).fill(255);
    clipToBox(mask, 4, 4, undefined);
    expect([...mask]).toEqual(Array(16).fill(255));
    clipToBox(mask, 4, 4, { x: -10, y: 2, width: 100, height: 10 });
    expect([...mask]).toEqual([...Array(4).fill(0), ...Array(12).fill(255)]);
  });
});
