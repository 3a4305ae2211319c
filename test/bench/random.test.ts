import { describe, expect, it } from "vitest";
import { seededRandom, uniformDurations } from "../../bench/random.js";

describe("seededRandom", () => {
  it("repeats for the same seed, differs for another, and stays in [0, 1)", () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 1000 }, () => c())).not.toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});

describe("uniformDurations", () => {
  it("draws whole milliseconds inside [min, max], spread across the range, reproducibly", () => {
    const d = uniformDurations(400, 4000, 20000, 7);
    expect(d).toHaveLength(400);
    expect(d.every((x) => Number.isInteger(x) && x >= 4000 && x <= 20000)).toBe(true);
    expect(Math.min(...d)).toBeLessThan(5000);
    expect(Math.max(...d)).toBeGreaterThan(19000);
    const meanValue = d.reduce((s, x) => s + x, 0) / d.length;
    expect(meanValue).toBeGreaterThan(11000);
    expect(meanValue).toBeLessThan(13000);
    expect(uniformDurations(400, 4000, 20000, 7)).toEqual(d);
  });

  it("rejects max below min", () => {
    expect(() => uniformDurations(3, 10, 5, 1)).toThrow(RangeError);
  });
});
