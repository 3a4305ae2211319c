import { type Level, sharedFloat32Array, sharedInt32Array, sharedUint8Array } from "./level.js";
import { createRandom, type Random } from "../../../random.js";

/** Patches are (2·PATCH_RADIUS+1)² pixels; 7×7 is the usual trade-off between structure and speed. */
export const PATCH_RADIUS = 3;
const PATCH_SIDE = 2 * PATCH_RADIUS + 1;

/**
 * Patches are identified by their centre's pixel index and always lie fully inside the level.
 * Targets: patches that overlap the hole (their pixels get synthesised).
 * Sources: patches with no hole pixel (what may be copied), flagged in `valid`.
 */
export interface PatchSets {
  targets: Int32Array;
  valid: Uint8Array;
  /** How many sources there are. */
  validCount: number;
}

/** Nearest-neighbour field: for each target centre, the best source centre found so far and its distance. */
export interface Field {
  /** Source centre per pixel index; -1 where the pixel is not a target centre. */
  nnf: Int32Array;
  /** Sum of squared RGB differences over the patch. */
  dist: Float32Array;
}

/**
 * Sorts the level's patch centres into targets and sources. Whether a patch touches the hole is a square
 * dilation of the hole, done as a sliding count along each row and then down each column over a ring of the
 * last 2r+1 rows: no table the size of the level.
 */
export function findPatches(level: Level): PatchSets {
  const { width: w, height: h, hole } = level;
  const r = PATCH_RADIUS;
  const valid = sharedUint8Array(w * h);
  const ring = new Uint8Array(PATCH_SIDE * w);
  // Per column: how many rows of the current window have a hole pixel within r of that column.
  const columns = new Int32Array(w);
  // 2 = target, 1 = valid source; targets are listed in a second pass (no growing JS arrays).
  let validCount = 0;
  let targetCount = 0;
  for (let y = 0; y < h; y++) {
    const slot = (y % PATCH_SIDE) * w;
    // The row that leaves the window used this slot.
    if (y >= PATCH_SIDE) for (let x = 0; x < w; x++) columns[x]! -= ring[slot + x]!;
    const row = y * w;
    let run = 0;
    for (let x = 0; x < Math.min(r, w); x++) run += hole[row + x]!;
    for (let x = 0; x < w; x++) {
      if (x + r < w) run += hole[row + x + r]!;
      if (x - r - 1 >= 0) run -= hole[row + x - r - 1]!;
      const near = run > 0 ? 1 : 0;
      ring[slot + x] = near;
      columns[x]! += near;
    }
    // The window now holds rows y−2r..y: decide the centres of row y−r.
    const cy = y - r;
    if (cy < r || cy >= h - r) continue;
    for (let x = r; x < w - r; x++) {
      const i = cy * w + x;
      if (columns[x] === 0) {
        valid[i] = 1;
        validCount++;
      } else {
        valid[i] = 2;
        targetCount++;
      }
    }
  }
  const targets = sharedInt32Array(targetCount);
  let t = 0;
  for (let i = 0; i < valid.length; i++) {
    if (valid[i] !== 2) continue;
    targets[t++] = i;
    valid[i] = 0;
  }
  return { targets, valid, validCount };
}

/**
 * Sum of squared differences between the patches centred at `t` and `s`, abandoned (returning a value
 * ≥ `bound`) as soon as it reaches `bound`.
 */
export function patchDistance(level: Level, t: number, s: number, bound: number): number {
  const { pixels, width, channels } = level;
  const rowLength = PATCH_SIDE * channels;
  let d = 0;
  let ti = (t - PATCH_RADIUS * width - PATCH_RADIUS) * channels;
  let si = (s - PATCH_RADIUS * width - PATCH_RADIUS) * channels;
  const rowStep = width * channels;
  for (let row = 0; row < PATCH_SIDE; row++) {
    for (let k = 0; k < rowLength; k++) {
      const diff = pixels[ti + k]! - pixels[si + k]!;
      d += diff * diff;
    }
    if (d >= bound) return d;
    ti += rowStep;
    si += rowStep;
  }
  return d;
}

function emptyField(size: number): Field {
  return { nnf: sharedInt32Array(size).fill(-1), dist: sharedFloat32Array(size) };
}

/** Distance given to a random stand-in for a match that could not be inherited, when distances are not measured. */
export const UNMATCHED_DISTANCE = 3e38;

/** Tries at drawing a random pixel that is a source before walking to the next one instead. */
const RANDOM_SOURCE_TRIES = 64;

/** A random source patch (the level must have one): drawn until one hits, or the next one after a random point. */
function randomSource(sets: PatchSets, random: Random): number {
  const { valid } = sets;
  const size = valid.length;
  for (let attempt = 0; attempt < RANDOM_SOURCE_TRIES; attempt++) {
    const s = Math.floor(random() * size);
    if (valid[s]) return s;
  }
  // Few sources (a small, mostly masked level): walk on from a random point, wrapping around.
  let s = Math.floor(random() * size);
  for (let k = 0; k < size && !valid[s]; k++) s = s + 1 === size ? 0 : s + 1;
  return s;
}

/** A field of random valid sources (the coarsest level's start). */
export function randomField(level: Level, sets: PatchSets, random: Random): Field {
  const field = emptyField(level.width * level.height);
  for (const t of sets.targets) {
    const s = randomSource(sets, random);
    field.nnf[t] = s;
    field.dist[t] = patchDistance(level, t, s, Number.POSITIVE_INFINITY);
  }
  return field;
}

/**
 * Carries a coarse field up one level: each fine target keeps the displacement of the coarse target that
 * covers it, doubled. Where that lands outside the valid sources, a random source is used instead.
 * `measure: false` skips computing the new distances and scales the coarse ones instead (4× the pixels):
 * good enough to rank matches when the level is only re-voted, not searched; a random stand-in then ranks
 * below every inherited match (UNMATCHED_DISTANCE).
 */
export function upsampleField(
  coarse: Field,
  coarseLevel: Level,
  level: Level,
  sets: PatchSets,
  random: Random,
  measure = true,
  runBands: TargetBandRunner = runTargetBands,
): Field {
  const { width: w, height: h } = level;
  const cw = coarseLevel.width;
  const ch = coarseLevel.height;
  const field = emptyField(w * h);
  for (const t of sets.targets) {
    const x = t % w;
    const y = (t - x) / w;
    const cx = Math.min(x >> 1, cw - 1);
    const cy = Math.min(y >> 1, ch - 1);
    let source = -1;
    let coarseDistance = 0;
    // The covering coarse pixel may not be a target centre (near the border); look at its neighbours.
    for (let ring = 0; ring <= 1 && source < 0; ring++) {
      for (let dy = -ring; dy <= ring && source < 0; dy++) {
        for (let dx = -ring; dx <= ring && source < 0; dx++) {
          const nx = cx + dx;
          const ny = cy + dy;
          if (nx < 0 || ny < 0 || nx >= cw || ny >= ch) continue;
          const cs = coarse.nnf[ny * cw + nx]!;
          if (cs < 0) continue;
          const csx = cs % cw;
          const csy = (cs - csx) / cw;
          const sx = x + 2 * (csx - nx);
          const sy = y + 2 * (csy - ny);
          if (sx < 0 || sy < 0 || sx >= w || sy >= h) continue;
          const s = sy * w + sx;
          if (sets.valid[s]) {
            source = s;
            coarseDistance = coarse.dist[ny * cw + nx]!;
          }
        }
      }
    }
    const found = source >= 0;
    if (!found) source = randomSource(sets, random);
    field.nnf[t] = source;
    if (!measure) field.dist[t] = found ? 4 * coarseDistance : UNMATCHED_DISTANCE;
  }
  if (measure) refreshDistances(level, sets, field, runBands);
  return field;
}

/**
 * Passes over the targets (and the votes over the hole) run in this many fixed bands, each with its own
 * random stream and propagating only within itself, so the bands are independent: the result is the same
 * whether they run one after the other or at the same time on different threads.
 */
export const FIELD_BANDS = 2;

/** One band of a pass over targets[first..end) of `sets`; plain data that can cross threads. */
interface TargetBand {
  level: Level;
  sets: PatchSets;
  field: Field;
  first: number;
  end: number;
}

/** PatchMatch sweeps over a band (`improveBand`). */
export interface SearchJob extends TargetBand {
  kind: "search";
  iterations: number;
  seed: number;
  searchRadius: number;
  /** How many targets use each source (by pixel index; kept up to date by the pass) and the cost of a use. */
  usage?: UsagePenalty | undefined;
}

/**
 * A cost for sources already used by many targets (Kaspar et al. 2015's occurrence penalty): deep in a large
 * hole every target's estimate is the same smooth average, so without it the whole hole matches the few
 * smoothest sources and the fill comes out flat.
 */
export interface UsagePenalty {
  counts: Float32Array;
  /** Distance added per use of a source. */
  cost: number;
}

/** Recompute each target's distance to its match (`measureBand`). */
export interface MeasureJob extends TargetBand {
  kind: "measure";
}

/** Runs every band of a pass (in any order, on any threads) and returns once all are done. */
export type TargetBandRunner = (jobs: Array<SearchJob | MeasureJob>) => void;

/** The default runner of this module's passes: every band in order, on this thread. */
export function runTargetBands(jobs: Array<SearchJob | MeasureJob>): void {
  for (const job of jobs) {
    if (job.kind === "search") improveBand(job);
    else measureBand(job);
  }
}

/** Splits `count` items into FIELD_BANDS fixed ranges [first, end), numbered; empty ranges are left out. */
export function bandRanges(count: number): Array<{ band: number; first: number; end: number }> {
  const ranges: Array<{ band: number; first: number; end: number }> = [];
  for (let band = 0; band < FIELD_BANDS; band++) {
    const first = Math.floor((band * count) / FIELD_BANDS);
    const end = Math.floor(((band + 1) * count) / FIELD_BANDS);
    if (end > first) ranges.push({ band, first, end });
  }
  return ranges;
}

/** Distances of the band's targets to their current matches (after the hole estimate changed). */
export function measureBand({ level, sets, field, first, end }: MeasureJob): void {
  const { targets } = sets;
  for (let k = first; k < end; k++) {
    const t = targets[k]!;
    field.dist[t] = patchDistance(level, t, field.nnf[t]!, Number.POSITIVE_INFINITY);
  }
}

/** Recomputes every target's distance after the hole estimate changed (a voting step). */
export function refreshDistances(
  level: Level,
  sets: PatchSets,
  field: Field,
  runBands: TargetBandRunner = runTargetBands,
): void {
  runBands(
    bandRanges(sets.targets.length).map(({ first, end }) => ({ kind: "measure", level, sets, field, first, end })),
  );
}

/**
 * PatchMatch (Barnes et al. 2009) over every target, split into FIELD_BANDS independent bands (see
 * `improveBand`) handed to `runBands`. The band seeds are drawn from `random` first, so the result depends
 * only on it, not on how the bands are scheduled.
 */
export function improveField(
  level: Level,
  sets: PatchSets,
  field: Field,
  iterations: number,
  random: Random,
  searchRadius: number,
  runBands: TargetBandRunner = runTargetBands,
  usageWeight = 0,
): void {
  // One seed per band, drawn even for empty bands, so the random stream does not depend on the split.
  const seeds = Array.from({ length: FIELD_BANDS }, () => Math.floor(random() * 4294967296));
  runBands(
    bandRanges(sets.targets.length).map(({ band, first, end }) => ({
      kind: "search",
      level,
      sets,
      field,
      iterations,
      seed: seeds[band]!,
      searchRadius,
      // Each band counts its own targets' uses, so bands stay independent (same pixels, any threads).
      usage: usageWeight > 0 ? usagePenalty(sets, field, usageWeight, first, end) : undefined,
      first,
      end,
    })),
  );
}

/**
 * The usage penalty for targets[first..end) of a field: each source's count of those targets matched to it,
 * and a cost per use of `weight` × their median match distance ÷ the uses a source would have if they were
 * spread evenly over the sources.
 */
export function usagePenalty(sets: PatchSets, field: Field, weight: number, first: number, end: number): UsagePenalty {
  const { targets } = sets;
  const counts = sharedFloat32Array(field.nnf.length);
  for (let k = first; k < end; k++) {
    const s = field.nnf[targets[k]!]!;
    if (s >= 0) counts[s]!++;
  }
  const even = Math.max(1, (end - first) / Math.max(1, sets.validCount));
  // The median distance from at most ~4096 targets.
  const stride = Math.max(1, Math.floor((end - first) / 4096));
  const sample = new Float32Array(Math.ceil((end - first) / stride));
  for (let k = first, j = 0; k < end; k += stride, j++) sample[j] = field.dist[targets[k]!]!;
  sample.sort();
  const median = sample.length === 0 ? 0 : sample[sample.length >> 1]!;
  return { counts, cost: (weight * median) / even };
}

/**
 * PatchMatch over one band of targets: alternating scan-order sweeps that propagate good matches from the
 * previous neighbour and then try random sources at exponentially shrinking radii around the best one.
 * Neighbours outside the band are never read, and only the band's entries of the field are written.
 * `searchRadius` bounds the random search (local sources keep local texture and colours); 0 keeps only
 * propagation (cheap refinement at the finest, capped levels).
 */
export function improveBand({ level, sets, field, iterations, seed, searchRadius, usage, first, end }: SearchJob): void {
  const { width: w, height: h } = level;
  const { targets, valid } = sets;
  const { nnf, dist } = field;
  const random = createRandom(seed);
  const r = PATCH_RADIUS;
  const maxRadius = Math.min(Math.max(w, h), Math.floor(searchRadius));
  const xMax = w - 1 - r;
  const yMax = h - 1 - r;
  if (end <= first) return;
  // Pixel indices of the band's targets (targets are in scan order).
  const low = targets[first]!;
  const high = targets[end - 1]!;
  const inBand = (p: number) => p >= low && p <= high;
  const penalty = usage === undefined ? () => 0 : (s: number) => usage.cost * usage.counts[s]!;
  // The target being improved and its best match so far. Candidates are ranked on distance plus usage cost
  // (bestScore); dist keeps the plain distance.
  let t = 0;
  let best = 0;
  let bestD = 0;
  let bestScore = 0;
  const consider = (candidate: number) => {
    const extra = penalty(candidate);
    const d = patchDistance(level, t, candidate, bestScore - extra);
    if (d + extra < bestScore) {
      best = candidate;
      bestD = d;
      bestScore = d + extra;
    }
  };
  for (let it = 0; it < iterations; it++) {
    const forward = it % 2 === 0;
    const step = forward ? 1 : -1;
    for (let k = first; k < end; k++) {
      t = targets[forward ? k : first + end - 1 - k]!;
      best = nnf[t]!;
      bestD = dist[t]!;
      bestScore = bestD + penalty(best);
      // Propagation: the horizontal and vertical neighbour already visited in this sweep.
      const horizontal = inBand(t - step) ? nnf[t - step]! : -1;
      if (horizontal >= 0) {
        const candidate = horizontal + step;
        if (candidate !== best && valid[candidate]) consider(candidate);
      }
      const vertical = inBand(t - step * w) ? nnf[t - step * w]! : -1;
      if (vertical >= 0) {
        const candidate = vertical + step * w;
        if (candidate !== best && valid[candidate]) consider(candidate);
      }
      if (maxRadius >= 1) {
        const bx = best % w;
        const by = (best - bx) / w;
        for (let radius = maxRadius; radius >= 1; radius >>= 1) {
          const cx = Math.max(r, Math.min(xMax, bx + Math.floor((2 * random() - 1) * radius + 0.5)));
          const cy = Math.max(r, Math.min(yMax, by + Math.floor((2 * random() - 1) * radius + 0.5)));
          const candidate = cy * w + cx;
          if (candidate === best || !valid[candidate]) continue;
          consider(candidate);
        }
      }
      if (usage !== undefined && best !== nnf[t]) {
        // Counts follow the band's field as it changes, so identical targets spread over sources instead
        // of all moving to the same one at once.
        if (nnf[t]! >= 0) usage.counts[nnf[t]!]!--;
        usage.counts[best]!++;
      }
      nnf[t] = best;
      dist[t] = bestD;
    }
  }
}
