import { describe, expect, it } from "vitest";
import {
  HEAVY_LEVEL_TARGETS,
  levelSchedule,
  levelWork,
  SMALL_LEVEL_TARGETS,
} from "../../../../src/providers/local/engine/schedule.js";

describe("levelSchedule", () => {
  it("searches the coarsest level hardest: it starts from random matches", () => {
    expect(levelSchedule({ index: 4, levelCount: 5, targets: 600, thickness: 3 })).toEqual({
      emIterations: 8,
      searchIterations: 3,
      searchRadius: 32,
    });
    // A one-level pyramid is its own coarsest level, however many targets it has.
    expect(levelSchedule({ index: 0, levelCount: 1, targets: 2_000_000, thickness: 2 })).toMatchObject({
      emIterations: 8,
      searchIterations: 3,
    });
  });

  it("only copies the inherited matches at the finest level of a pyramid", () => {
    for (const targets of [10, 50_000, 5_000_000]) {
      expect(levelSchedule({ index: 0, levelCount: 4, targets, thickness: 9 })).toEqual({
        emIterations: 0,
        searchIterations: 0,
        searchRadius: 0,
      });
    }
  });

  it("gives middle levels two rounds while small and one when large", () => {
    const small = levelSchedule({ index: 2, levelCount: 5, targets: SMALL_LEVEL_TARGETS, thickness: 4 });
    const large = levelSchedule({ index: 1, levelCount: 5, targets: SMALL_LEVEL_TARGETS + 1, thickness: 4 });
    expect(small).toEqual({ emIterations: 2, searchIterations: 1, searchRadius: 32 });
    expect(large).toEqual({ emIterations: 1, searchIterations: 1, searchRadius: 32 });
  });

  it("only re-votes a middle level too large to search", () => {
    expect(levelSchedule({ index: 1, levelCount: 3, targets: HEAVY_LEVEL_TARGETS + 1, thickness: 5 })).toMatchObject({
      emIterations: 0,
    });
    expect(levelSchedule({ index: 1, levelCount: 3, targets: HEAVY_LEVEL_TARGETS, thickness: 5 })).toMatchObject({
      emIterations: 1,
    });
  });

  it("reaches further for thicker holes, never under 32 px", () => {
    const radius = (thickness: number) =>
      levelSchedule({ index: 3, levelCount: 4, targets: 1000, thickness }).searchRadius;
    expect(radius(0.5)).toBe(32);
    expect(radius(4)).toBe(32);
    expect(radius(10)).toBe(80);
    expect(radius(10.2)).toBe(82);
  });
});

describe("levelWork", () => {
  it("counts target patches times distance passes, at least one pass", () => {
    expect(levelWork(1000, { emIterations: 8, searchIterations: 3, searchRadius: 32 })).toBe(32_000);
    expect(levelWork(1000, { emIterations: 1, searchIterations: 1, searchRadius: 32 })).toBe(2000);
    expect(levelWork(1000, { emIterations: 0, searchIterations: 0, searchRadius: 0 })).toBe(1000);
  });
});
