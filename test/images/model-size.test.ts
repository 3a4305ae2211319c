import { describe, expect, it } from "vitest";
import { nearestGridSize, sizeNotes } from "../../src/images/model-size.js";

describe("sizeNotes", () => {
  it("is silent for sizes on the 32 px grid between 256 px and 4 MP", () => {
    expect(sizeNotes(1024, 768)).toEqual([]);
    expect(sizeNotes(2048, 2048)).toEqual([]);
  });
  it("notes off-grid, tiny and large sizes", () => {
    expect(sizeNotes(1000, 750)).toEqual([expect.stringMatching(/^Note: 1000×750 is not a multiple of 32.*992×736/)]);
    expect(sizeNotes(96, 64).join("\n")).toMatch(/very small/);
    expect(sizeNotes(4096, 3072).join("\n")).toMatch(/12.6 MP\) is large/);
  });
  it("snaps to the nearest multiple of 32, never below 32", () => {
    expect(nearestGridSize(1000, 10)).toEqual({ width: 992, height: 32 });
  });
});
