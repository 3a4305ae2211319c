import type { Level } from "./level.js";
import { type Field, PATCH_RADIUS, type PatchSets } from "./patchmatch.js";

/** Beyond this many σ² a vote's weight is floored, so no pixel ends up with a zero total weight. */
const MAX_EXPONENT = 30;

/**
 * The "M" step of Wexler et al. (2007): every hole pixel becomes the weighted mean of the values that the
 * matched source patches covering it propose. A vote weighs exp(-d / 2σ²), σ² being a low percentile of the
 * patch distances, so good matches dominate and texture stays sharp where matches agree, times the target
 * patch's confidence (patches near known pixels were matched on real data, deep ones only on estimates).
 * `percentile` sets how sharp: lower keeps more texture, higher blends more.
 */
export function vote(level: Level, sets: PatchSets, field: Field, percentile: number, confidence: Float32Array): void {
  const { width: w, height, channels: nc, pixels, hole } = level;
  const { targets } = sets;
  const { nnf, dist } = field;
  const sigma2 = Math.max(distancePercentile(targets, dist, percentile), 1);
  const sums = new Float32Array(w * height * nc);
  const weights = new Float32Array(w * height);
  const r = PATCH_RADIUS;
  for (const t of targets) {
    const s = nnf[t]!;
    const weight = confidence[t]! * Math.exp(-Math.min(dist[t]! / (2 * sigma2), MAX_EXPONENT));
    for (let dy = -r; dy <= r; dy++) {
      for (let dx = -r; dx <= r; dx++) {
        const q = t + dy * w + dx;
        if (!hole[q]) continue;
        const p = (s + dy * w + dx) * nc;
        const qc = q * nc;
        for (let c = 0; c < nc; c++) sums[qc + c] = sums[qc + c]! + weight * pixels[p + c]!;
        weights[q] = weights[q]! + weight;
      }
    }
  }
  for (let q = 0; q < weights.length; q++) {
    const total = weights[q]!;
    if (!hole[q] || total <= 0) continue;
    const qc = q * nc;
    for (let c = 0; c < nc; c++) pixels[qc + c] = sums[qc + c]! / total;
  }
}

/** The given percentile (0..1) of the targets' patch distances, estimated from at most ~4096 samples. */
export function distancePercentile(targets: Int32Array, dist: Float32Array, percentile: number): number {
  if (targets.length === 0) return 0;
  const stride = Math.max(1, Math.floor(targets.length / 4096));
  const samples = new Float32Array(Math.ceil(targets.length / stride));
  for (let k = 0, j = 0; k < targets.length; k += stride, j++) samples[j] = dist[targets[k]!]!;
  samples.sort();
  return samples[Math.min(samples.length - 1, Math.floor(percentile * samples.length))]!;
}

/**
 * Sharp reconstruction: every hole pixel takes the value proposed by the best-matching patch that covers it
 * (no averaging, so fine texture survives intact; used as the last step at the finest level).
 * Returns, for every pixel a target patch covers (known ones too), the source pixel its best patch
 * proposes, or -1: what the copied texture "expects" just outside the hole (see `matchBoundary`).
 */
export function voteBest(level: Level, sets: PatchSets, field: Field): Int32Array {
  const { width: w, height, channels: nc, pixels, hole } = level;
  const { nnf, dist } = field;
  const r = PATCH_RADIUS;
  const bestDist = new Float32Array(w * height).fill(Number.POSITIVE_INFINITY);
  const bestSource = new Int32Array(w * height).fill(-1);
  for (const t of sets.targets) {
    const s = nnf[t]!;
    const d = dist[t]!;
    for (let dy = -r; dy <= r; dy++) {
      for (let dx = -r; dx <= r; dx++) {
        const q = t + dy * w + dx;
        if (d >= bestDist[q]!) continue;
        bestDist[q] = d;
        bestSource[q] = s + dy * w + dx;
      }
    }
  }
  for (let q = 0; q < bestSource.length; q++) {
    const p = bestSource[q]!;
    if (p < 0 || !hole[q]) continue;
    for (let c = 0; c < nc; c++) pixels[q * nc + c] = pixels[p * nc + c]!;
  }
  return bestSource;
}
