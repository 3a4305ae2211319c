/**
 * Seeded randomness for the harness, so every run draws the same task durations and the same images.
 */

/** mulberry32: a small, fast, deterministic PRNG returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** `count` durations drawn uniformly from [minMs, maxMs], rounded to whole milliseconds. */
export function uniformDurations(count: number, minMs: number, maxMs: number, seed: number): number[] {
  if (!(maxMs >= minMs)) throw new RangeError(`uniformDurations: maxMs (${maxMs}) must be ≥ minMs (${minMs})`);
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => Math.round(minMs + random() * (maxMs - minMs)));
}
