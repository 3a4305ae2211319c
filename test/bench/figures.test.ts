import { describe, expect, it } from "vitest";
import {
  type FigureRow,
  formatGoal,
  formatRatio,
  formatValue,
  idealScheduleMs,
  maximum,
  mean,
  median,
  quantile,
  ratio,
  renderTable,
  tally,
  theilSenSlope,
  verdict,
} from "../../bench/figures.js";

describe("statistics", () => {
  it("median takes the middle value, or the mean of the middle two, whatever the order", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(median([])).toBeNaN();
  });

  it("quantile interpolates between order statistics", () => {
    const values = [10, 20, 30, 40, 50];
    expect(quantile(values, 0)).toBe(10);
    expect(quantile(values, 1)).toBe(50);
    expect(quantile(values, 0.9)).toBeCloseTo(46);
    expect(quantile([1, 2], 0.25)).toBeCloseTo(1.25);
    expect(() => quantile(values, 1.5)).toThrow(RangeError);
  });

  it("does not reorder the caller's array", () => {
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
  });

  it("mean and maximum, NaN when empty", () => {
    expect(mean([1, 2, 6])).toBe(3);
    expect(maximum([1, 9, 2])).toBe(9);
    expect(mean([])).toBeNaN();
    expect(maximum([])).toBeNaN();
  });

  it("ratio is NaN when either side is missing or the baseline is 0", () => {
    expect(ratio(3, 2)).toBe(1.5);
    expect(ratio(undefined, 2)).toBeNaN();
    expect(ratio(3, undefined)).toBeNaN();
    expect(ratio(3, 0)).toBeNaN();
    expect(ratio(Number.NaN, 2)).toBeNaN();
  });

  it("theilSenSlope finds a line's slope and ignores one outlier that a two-point difference would not", () => {
    const xs = [0, 50, 100, 150, 200, 250, 300];
    const ys = xs.map((x) => 100 + x / 10);
    expect(theilSenSlope(xs, ys)).toBeCloseTo(0.1);
    // A late collection leaves the last sample 80 higher: last minus first says 0.37 per x; the median slope does not move much.
    const spiked = [...ys.slice(0, -1), ys.at(-1)! + 80];
    expect((spiked.at(-1)! - spiked[0]!) / 300).toBeCloseTo(0.367, 2);
    expect(theilSenSlope(xs, spiked)).toBeCloseTo(0.1, 1);
    expect(theilSenSlope([1, 1], [2, 3])).toBeNaN();
    expect(() => theilSenSlope([1, 2], [1])).toThrow(RangeError);
  });
});

describe("idealScheduleMs", () => {
  it("is whole rounds of `cap` tasks back to back", () => {
    expect(idealScheduleMs(50, 24, 2000)).toBe(6000);
    expect(idealScheduleMs(48, 24, 2000)).toBe(4000);
    expect(idealScheduleMs(49, 24, 2000)).toBe(6000);
    expect(idealScheduleMs(1, 24, 1500)).toBe(1500);
    expect(idealScheduleMs(0, 24, 1500)).toBe(0);
  });

  it("rejects a cap below one and fractional counts", () => {
    expect(() => idealScheduleMs(10, 0, 100)).toThrow(RangeError);
    expect(() => idealScheduleMs(2.5, 4, 100)).toThrow(RangeError);
  });
});

describe("verdict", () => {
  const row = (over: Partial<FigureRow>): FigureRow => ({
    figure: "x",
    unit: "ms",
    ours: 50,
    goal: { kind: "at_most", limit: 60 },
    ...over,
  });

  it("at_most compares our value, inclusive", () => {
    expect(verdict(row({ ours: 60 }))).toBe("pass");
    expect(verdict(row({ ours: 60.5 }))).toBe("FAIL");
  });

  it("ratio_at_most compares ours ÷ baseline, inclusive", () => {
    const goal = { kind: "ratio_at_most", limit: 1.25 } as const;
    expect(verdict(row({ ours: 125, baseline: 100, goal }))).toBe("pass");
    expect(verdict(row({ ours: 126, baseline: 100, goal }))).toBe("FAIL");
    expect(verdict(row({ ours: 126, baseline: undefined, goal }))).toBe("n/a");
  });

  it("equals needs the exact value", () => {
    const goal = { kind: "equals", value: 0 } as const;
    expect(verdict(row({ unit: "count", ours: 0, goal }))).toBe("pass");
    expect(verdict(row({ unit: "count", ours: 1, goal }))).toBe("FAIL");
  });

  it("a missing measurement is n/a, never a pass; report rows have no verdict", () => {
    expect(verdict(row({ ours: undefined }))).toBe("n/a");
    expect(verdict(row({ ours: Number.NaN }))).toBe("n/a");
    expect(verdict(row({ ours: Number.POSITIVE_INFINITY }))).toBe("n/a");
    expect(verdict(row({ goal: { kind: "report" } }))).toBe("—");
  });
});

describe("formatting", () => {
  it("formats each unit", () => {
    expect(formatValue(4.24, "ms")).toBe("4.2 ms");
    expect(formatValue(1234.4, "ms")).toBe("1,234 ms");
    expect(formatValue(3.456, "per_s")).toBe("3.46/s");
    expect(formatValue(187.26, "MB")).toBe("187.3 MB");
    expect(formatValue(12345, "bytes")).toBe("12,345 B");
    expect(formatValue(9.876, "bytes_per_px")).toBe("9.88 B/px");
    expect(formatValue(50, "count")).toBe("50");
    expect(formatValue(undefined, "ms")).toBe("n/a");
    expect(formatValue(Number.NaN, "count")).toBe("n/a");
  });

  it("formats ratios and goals", () => {
    expect(formatRatio(1.2345)).toBe("1.23×");
    expect(formatRatio(12.34)).toBe("12.3×");
    expect(formatRatio(Number.NaN)).toBe("—");
    expect(formatGoal({ kind: "at_most", limit: 60 }, "ms")).toBe("≤ 60 ms");
    expect(formatGoal({ kind: "at_most", limit: 350 }, "MB")).toBe("≤ 350 MB");
    expect(formatGoal({ kind: "at_most", limit: 4 }, "per_s")).toBe("≤ 4/s");
    expect(formatGoal({ kind: "at_most", limit: 2.5 }, "per_s")).toBe("≤ 2.50/s");
    expect(formatGoal({ kind: "ratio_at_most", limit: 1.1 }, "ms")).toBe("≤ 1.1× baseline");
    expect(formatGoal({ kind: "equals", value: 0 }, "count")).toBe("= 0");
    expect(formatGoal({ kind: "report" }, "ms")).toBe("report");
  });
});

describe("renderTable", () => {
  const rows: FigureRow[] = [
    { figure: "P1 overhead", unit: "ms", ours: 1300, baseline: 1000, goal: { kind: "ratio_at_most", limit: 1.25 } },
    { figure: "P2 lag | warm", unit: "ms", ours: 40, baseline: 250, goal: { kind: "at_most", limit: 60 } },
    { figure: "tools/list", unit: "bytes", ours: 5000, goal: { kind: "report" } },
  ];

  it("prints one header, one separator and one line per row with the verdict", () => {
    const lines = renderTable(rows).split("\n");
    expect(lines).toHaveLength(2 + rows.length);
    expect(lines[0]).toBe("| figure | ours | baseline / floor | ratio | goal | result |");
    expect(lines[2]).toBe("| P1 overhead | 1,300 ms | 1,000 ms | 1.30× | ≤ 1.25× baseline | **FAIL** |");
    expect(lines[3]).toBe("| P2 lag \\| warm | 40 ms | 250 ms | 0.16× | ≤ 60 ms | pass |");
    expect(lines[4]).toBe("| tools/list | 5,000 B | — | — | report | — |");
  });

  it("tally counts verdicts", () => {
    expect(tally(rows)).toEqual({ pass: 1, FAIL: 1, "n/a": 0, "—": 1 });
  });
});
