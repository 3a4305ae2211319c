/**
 * When to try again: `Retry-After` parsing and exponential backoff. Pure, so the waiting rules can be
 * tested exactly without clocks.
 */

/**
 * Milliseconds to wait according to a `Retry-After` header: delay-seconds (RFC 9110, integer; a decimal is
 * tolerated) or an HTTP date, relative to `nowMs`. A date in the past means 0. Undefined when absent or
 * unreadable, so the caller falls back to its own backoff.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (text === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  // Only a date with letters (e.g. "Wed, 21 Oct 2015 07:28:00 GMT"): a bare "-5" or "1e3" is not one.
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** Delay before retry number `failures` (1 = first retry): baseMs, 2·baseMs, 4·baseMs, … capped at maxMs. */
export function backoffDelayMs(failures: number, baseMs: number, maxMs: number): number {
  const exponent = Math.max(0, Math.floor(failures) - 1);
  // 2^exponent overflows to Infinity long after the cap is reached; Math.min handles it.
  return Math.min(maxMs, baseMs * 2 ** exponent);
}
