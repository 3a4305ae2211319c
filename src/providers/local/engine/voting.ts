import { type Level, sharedFloat32Array } from "./level.js";
import { bandRanges, type Field, PATCH_RADIUS, type PatchSets } from "./patchmatch.js";

/** Beyond this many σ² a vote's weight is floored, so no pixel ends up with a zero total weight. */
const MAX_EXPONENT = 30;

/**
 * Votes are gathered per hole pixel (from the matched patches covering it) rather than scattered per
 * patch: no accumulation planes, and the hole's pixels can be split into bands that run on different
 * threads. Writes go to hole pixels only; reads come from source patches, which never touch the hole, so the
 * bands never see each other's writes.
 */
interface HoleBand {
  level: Level;
  field: Field;
  /** Indices of the level's hole pixels (see `holeIndices`). */
  holes: Int32Array;
  first: number;
  end: number;
}

/** The weighted mean of the proposals (`voteBand`). */
export interface VoteJob extends HoleBand {
  kind: "vote";
  /** Vote weight per target centre. */
  weights: Float32Array;
}

/** The best proposal, copied (`copyBand`). */
export interface CopyJob extends HoleBand {
  kind: "copy";
}

/** Runs every band of a vote (in any order, on any threads) and returns once all are done. */
export type HoleBandRunner = (jobs: Array<VoteJob | CopyJob>) => void;

export function runHoleBands(jobs: Array<VoteJob | CopyJob>): void {
  for (const job of jobs) {
    if (job.kind === "vote") voteBand(job);
    else copyBand(job);
  }
}

/**
 * The "M" step of Wexler et al. (2007): every hole pixel becomes the weighted mean of the values that the
 * matched source patches covering it propose. A vote weighs exp(-d / 2σ²), σ² being a low percentile of the
 * patch distances, so good matches dominate and texture stays sharp where matches agree, times the target
 * patch's confidence (patches near known pixels were matched on real data, deep ones only on estimates).
 * `percentile` sets how sharp: lower keeps more texture, higher blends more.
 */
export function vote(
  level: Level,
  sets: PatchSets,
  field: Field,
  holes: Int32Array,
  percentile: number,
  confidence: Float32Array,
  runBands: HoleBandRunner = runHoleBands,
): void {
  const { targets } = sets;
  const { dist } = field;
  const sigma2 = Math.max(distancePercentile(targets, dist, percentile), 1);
  const weights = sharedFloat32Array(level.width * level.height);
  for (let k = 0; k < targets.length; k++) {
    const t = targets[k]!;
    weights[t] = confidence[t]! * Math.exp(-Math.min(dist[t]! / (2 * sigma2), MAX_EXPONENT));
  }
  runBands(
    bandRanges(holes.length).map(({ first, end }) => ({ kind: "vote", level, field, holes, weights, first, end })),
  );
}

/**
 * Sharp reconstruction: every hole pixel takes the value proposed by the best-matching patch that covers it
 * (no averaging, so fine texture survives intact; used as the last step at the finest level).
 */
export function voteBest(level: Level, field: Field, holes: Int32Array, runBands: HoleBandRunner = runHoleBands): void {
  runBands(bandRanges(holes.length).map(({ first, end }) => ({ kind: "copy", level, field, holes, first, end })));
}

export function voteBand({ level, field, holes, weights, first, end }: VoteJob): void {
  const { width: w, height: h, channels: nc, pixels } = level;
  const { nnf } = field;
  const sums = new Float64Array(nc);
  for (let k = first; k < end; k++) {
    const q = holes[k]!;
    const x = q % w;
    const y = (q - x) / w;
    // Offsets whose patch centre (q − offset) lies inside the level.
    const dxLow = Math.max(-PATCH_RADIUS, x - (w - 1));
    const dxHigh = Math.min(PATCH_RADIUS, x);
    const dyLow = Math.max(-PATCH_RADIUS, y - (h - 1));
    const dyHigh = Math.min(PATCH_RADIUS, y);
    sums.fill(0);
    let total = 0;
    for (let dy = dyLow; dy <= dyHigh; dy++) {
      for (let dx = dxLow; dx <= dxHigh; dx++) {
        const offset = dy * w + dx;
        const s = nnf[q - offset]!;
        if (s < 0) continue;
        const weight = weights[q - offset]!;
        total += weight;
        const p = (s + offset) * nc;
        for (let c = 0; c < nc; c++) sums[c]! += weight * pixels[p + c]!;
      }
    }
    if (total <= 0) continue;
    for (let c = 0; c < nc; c++) pixels[q * nc + c] = sums[c]! / total;
  }
}

/**
 * The source pixel that the best-matching patch covering `q` proposes for it (ties: the first in a fixed
 * offset order), or -1 when no target patch covers it. For known pixels next to the hole this is what the
 * copied texture "expects" there (see `matchBoundary`).
 */
export function bestProposal(level: Level, field: Field, q: number): number {
  const { width: w, height: h } = level;
  const { nnf, dist } = field;
  const x = q % w;
  const y = (q - x) / w;
  // Offsets whose patch centre (q − offset) lies inside the level.
  const dxLow = Math.max(-PATCH_RADIUS, x - (w - 1));
  const dxHigh = Math.min(PATCH_RADIUS, x);
  const dyLow = Math.max(-PATCH_RADIUS, y - (h - 1));
  const dyHigh = Math.min(PATCH_RADIUS, y);
  let best = -1;
  let bestD = Number.POSITIVE_INFINITY;
  for (let dy = dyLow; dy <= dyHigh; dy++) {
    for (let dx = dxLow; dx <= dxHigh; dx++) {
      const offset = dy * w + dx;
      const s = nnf[q - offset]!;
      if (s < 0) continue;
      const d = dist[q - offset]!;
      if (d < bestD) {
        bestD = d;
        best = s + offset;
      }
    }
  }
  return best;
}

export function copyBand({ level, field, holes, first, end }: CopyJob): void {
  const { channels: nc, pixels } = level;
  for (let k = first; k < end; k++) {
    const q = holes[k]!;
    const p = bestProposal(level, field, q);
    if (p < 0) continue;
    for (let c = 0; c < nc; c++) pixels[q * nc + c] = pixels[p * nc + c]!;
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
