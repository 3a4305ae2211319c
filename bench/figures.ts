/**
 * The pure side of the harness: statistics, goals, verdicts and the Markdown table. No I/O here, so
 * test/bench/figures.test.ts can pin every number the table prints.
 */

/** Median (mean of the middle two for an even count); NaN for no values. */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** The q-quantile (0..1) with linear interpolation between order statistics; NaN for no values. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: q must be in 0..1, got ${q}`);
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.ceil(position);
  const low = sorted[below]!;
  const high = sorted[above]!;
  return low + (high - low) * (position - below);
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

export function maximum(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : Math.max(...values);
}

/**
 * The Theil–Sen slope of y against x: the median of the slopes between every pair of points with distinct x.
 * One odd sample (a collection that ran late, a burst of allocations) moves it little, unlike a least-squares
 * fit or the difference of two single samples. NaN with fewer than two distinct x.
 */
export function theilSenSlope(xs: readonly number[], ys: readonly number[]): number {
  if (xs.length !== ys.length) throw new RangeError("theilSenSlope: xs and ys differ in length");
  const slopes: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    for (let j = i + 1; j < xs.length; j++) {
      if (xs[j] !== xs[i]) slopes.push((ys[j]! - ys[i]!) / (xs[j]! - xs[i]!));
    }
  }
  return median(slopes);
}

/** ours ÷ baseline, or NaN when either is missing or the baseline is 0. */
export function ratio(ours: number | undefined, baseline: number | undefined): number {
  if (ours === undefined || baseline === undefined || !Number.isFinite(ours) || !Number.isFinite(baseline)) {
    return Number.NaN;
  }
  return baseline === 0 ? Number.NaN : ours / baseline;
}

/**
 * The fastest possible wall time for `tasks` equal tasks of `generationMs` each when at most `cap` run at
 * once: whole rounds of `cap` tasks, back to back.
 */
export function idealScheduleMs(tasks: number, cap: number, generationMs: number): number {
  if (!Number.isInteger(tasks) || tasks < 0) throw new RangeError(`idealScheduleMs: tasks must be a whole number ≥ 0`);
  if (!Number.isInteger(cap) || cap < 1) throw new RangeError(`idealScheduleMs: cap must be a whole number ≥ 1`);
  return Math.ceil(tasks / cap) * generationMs;
}

export type Unit = "ms" | "per_s" | "MB" | "bytes" | "bytes_per_px" | "count";

/** What a figure must satisfy. `at_most`/`equals` apply to our value, `ratio_at_most` to ours ÷ baseline. */
export type Goal =
  | { kind: "at_most"; limit: number }
  | { kind: "equals"; value: number }
  | { kind: "ratio_at_most"; limit: number }
  | { kind: "report" };

export interface FigureRow {
  figure: string;
  unit: Unit;
  ours: number | undefined;
  baseline?: number | undefined;
  goal: Goal;
}

export type Verdict = "pass" | "FAIL" | "n/a" | "—";

export function verdict(row: FigureRow): Verdict {
  const { goal, ours } = row;
  if (goal.kind === "report") return "—";
  if (ours === undefined || !Number.isFinite(ours)) return "n/a";
  if (goal.kind === "at_most") return ours <= goal.limit ? "pass" : "FAIL";
  if (goal.kind === "equals") return ours === goal.value ? "pass" : "FAIL";
  const r = ratio(ours, row.baseline);
  if (!Number.isFinite(r)) return "n/a";
  return r <= goal.limit ? "pass" : "FAIL";
}

/** 1 MB = 10^6 bytes here (the stricter reading of "350 MB"). */
export const BYTES_PER_MB = 1_000_000;

const thousands = (n: number) => Math.round(n).toLocaleString("en-US");

export function formatValue(value: number | undefined, unit: Unit): string {
  if (value === undefined || !Number.isFinite(value)) return "n/a";
  switch (unit) {
    case "ms":
      return Math.abs(value) < 10 ? `${value.toFixed(1)} ms` : `${thousands(value)} ms`;
    case "per_s":
      return `${value.toFixed(2)}/s`;
    case "MB":
      return `${value.toFixed(1)} MB`;
    case "bytes":
      return `${thousands(value)} B`;
    case "bytes_per_px":
      return `${value.toFixed(2)} B/px`;
    case "count":
      return thousands(value);
  }
}

export function formatRatio(value: number): string {
  if (!Number.isFinite(value)) return "—";
  return `${value < 10 ? value.toFixed(2) : value.toFixed(1)}×`;
}

/** A goal's limit: whole numbers without decimals ("350 MB", "4/s"), other values like measurements. */
function formatLimit(limit: number, unit: Unit): string {
  if (!Number.isInteger(limit)) return formatValue(limit, unit);
  if (unit === "per_s") return `${limit}/s`;
  if (unit === "MB") return `${limit} MB`;
  return formatValue(limit, unit);
}

export function formatGoal(goal: Goal, unit: Unit): string {
  switch (goal.kind) {
    case "at_most":
      return `≤ ${formatLimit(goal.limit, unit)}`;
    case "equals":
      return `= ${formatValue(goal.value, unit)}`;
    case "ratio_at_most":
      return `≤ ${goal.limit}× baseline`;
    case "report":
      return "report";
  }
}

/** Escapes the characters that would break a Markdown table cell. */
function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** The results as one Markdown table: figure, ours, baseline/floor, ratio, goal, result. */
export function renderTable(rows: readonly FigureRow[]): string {
  const lines = ["| figure | ours | baseline / floor | ratio | goal | result |", "|---|---:|---:|---:|---|---|"];
  for (const row of rows) {
    const result = verdict(row);
    lines.push(
      `| ${[
        cell(row.figure),
        formatValue(row.ours, row.unit),
        row.baseline === undefined ? "—" : formatValue(row.baseline, row.unit),
        formatRatio(ratio(row.ours, row.baseline)),
        formatGoal(row.goal, row.unit),
        result === "FAIL" ? "**FAIL**" : result,
      ].join(" | ")} |`,
    );
  }
  return lines.join("\n");
}

/** Counts of verdicts, for the summary line under the table. */
export function tally(rows: readonly FigureRow[]): Record<Verdict, number> {
  const counts: Record<Verdict, number> = { pass: 0, FAIL: 0, "n/a": 0, "—": 0 };
  for (const row of rows) counts[verdict(row)]++;
  return counts;
}
