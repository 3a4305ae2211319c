import { describe, expect, it } from "vitest";
import { DEFAULT_HISTORY_SIZE, DurationHistory } from "../../../src/providers/bfl/duration-history.js";

describe("DurationHistory", () => {
  it("keeps durations oldest first, up to its capacity, then drops the oldest", () => {
    const history = new DurationHistory(3);
    expect(history.values()).toEqual([]);
    history.add(1);
    history.add(2);
    expect(history.values()).toEqual([1, 2]);
    history.add(3);
    history.add(4);
    expect(history.values()).toEqual([2, 3, 4]);
    history.add(5);
    history.add(6);
    history.add(7);
    expect(history.values()).toEqual([5, 6, 7]);
    expect(history.size).toBe(3);
  });

  it("holds 50 by default", () => {
    const history = new DurationHistory();
    for (let i = 1; i <= 120; i++) history.add(i);
    expect(DEFAULT_HISTORY_SIZE).toBe(50);
    expect(history.values()).toEqual(Array.from({ length: 50 }, (_, i) => 71 + i));
  });

  it("ignores durations that are not positive finite numbers", () => {
    const history = new DurationHistory(5);
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) history.add(bad);
    history.add(8000);
    expect(history.values()).toEqual([8000]);
  });

  it("hands out the same frozen array until the next add (readers cache by identity)", () => {
    const history = new DurationHistory(5);
    history.add(1000);
    const first = history.values();
    expect(history.values()).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    history.add(-5); // ignored: no change
    expect(history.values()).toBe(first);
    history.add(2000);
    expect(history.values()).not.toBe(first);
    expect(first).toEqual([1000]);
  });

  it("refuses a capacity that is not a positive integer", () => {
    for (const bad of [0, -3, 2.5, Number.NaN]) expect(() => new DurationHistory(bad)).toThrow(RangeError);
  });
});
