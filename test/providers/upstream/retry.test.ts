import { describe, expect, it } from "vitest";
import { backoffDelayMs, parseRetryAfter } from "../../../src/providers/upstream/retry.js";

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);

describe("parseRetryAfter", () => {
  it.each([
    ["0", 0],
    ["1", 1000],
    ["120", 120_000],
    [" 7 ", 7000],
    ["1.5", 1500],
  ])("delay-seconds %j → %i ms", (value, ms) => {
    expect(parseRetryAfter(value, NOW)).toBe(ms);
  });

  it("an HTTP date in the future → the time until it", () => {
    expect(parseRetryAfter("Wed, 15 Jan 2025 12:00:30 GMT", NOW)).toBe(30_000);
  });

  it("an HTTP date in the past → 0, not negative", () => {
    expect(parseRetryAfter("Wed, 15 Jan 2025 11:59:00 GMT", NOW)).toBe(0);
  });

  it.each([undefined, null, "", "   ", "-5", "1e3", "soon", "Thu, 99 Foo 2025", "0x10"])(
    "%j → undefined (caller falls back to backoff)",
    (value) => {
      expect(parseRetryAfter(value, NOW)).toBeUndefined();
    },
  );
});

describe("backoffDelayMs", () => {
  it("doubles from the base on each failure", () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(n, 100, 10_000))).toEqual([100, 200, 400, 800, 1600]);
  });

  it("is capped at the maximum", () => {
    expect(backoffDelayMs(10, 1000, 30_000)).toBe(30_000);
    expect(backoffDelayMs(5000, 1000, 30_000)).toBe(30_000);
  });

  it("treats 0 or fewer failures like the first", () => {
    expect(backoffDelayMs(0, 250, 1000)).toBe(250);
    expect(backoffDelayMs(-3, 250, 1000)).toBe(250);
  });
});
