/**
 * Seeded randomness for the harness, so every run draws the same task durations and the same images.
 */

// The emulator's generator (mulberry32), so the harness and the fake upstream draw from one implementation.
import { seededRandom } from "../test/helpers/emulator.js";

export { seededRandom };

/** `count` durations drawn uniformly from [minMs, maxMs], rounded to whole milliseconds. */
export function uniformDurations(count: number, minMs: number, maxMs: number, seed: number): number[] {
  if (!(maxMs >= minMs)) throw new RangeError(`uniformDurations: maxMs (${maxMs}) must be ≥ minMs (${minMs})`);
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => Math.round(minMs + random() * (maxMs - minMs)));
}
