import { holeIntegral, type Level, sharedFloat32Array, sharedInt32Array, sharedUint8Array } from "./level.js";
import { createRandom, type Random } from "./rng.js";

/** Patches are (2·PATCH_RADIUS+1)² pixels; 7×7 is the usual trade-off between structure and speed. */
export const PATCH_RADIUS = 3;
const PATCH_SIDE = 2 * PATCH_RADIUS + 1;

/**
 * Patches are identified by their centre's pixel index and always lie fully inside the level.
 * Targets: patches that overlap the hole (their pixels get synthesised).
 * Sources: patches with no hole pixel (what may be copied), flagged in `valid` and listed in `validList`.
 */
export interface PatchSets {
  targets: Int32Array;
  valid: Uint8Array;
  validList: Int32Array;
}

/** Nearest-neighbour field: for each target centre, the best source centre found so far and its distance. */
export interface Field {
  /** Source centre per pixel index; -1 where the pixel is not a target centre. */
  nnf: Int32Array;
  /** Sum of squared RGB differences over the patch. */
  dist: Float32Array;
}

export function findPatches(level: Level): PatchSets {
  const { width: w, height: h } = level;
  const r = PATCH_RADIUS;
  const table = holeIntegral(level);
  const stride = w + 1;
  const valid = sharedUint8Array(w * h);
  // 2 = target, 1 = valid source; targets are listed in a second pass (no growing JS arrays).
  let validCount = 0;
  let targetCount = 0;
  for (let y = r; y < h - r; y++) {
    const top = (y - r) * stride;
    const bottom = (y + r + 1) * stride;
    for (let x = r; x < w - r; x++) {
      const inHole = table[bottom + x + r + 1]! - table[bottom + x - r]! - table[top + x + r + 1]! + table[top + x - r]!;
      const i = y * w + x;
      if (inHole === 0) {
        valid[i] = 1;
        validCount++;
      } else {
        valid[i] = 2;
        targetCount++;
      }
    }
  }
  const validList = sharedInt32Array(validCount);
  const targets = sharedInt32Array(targetCount);
  let v = 0;
  let t = 0;
  for (let i = 0; i < valid.length; i++) {
    if (valid[i] === 1) validList[v++] = i;
    else if (valid[i] === 2) {
      targets[t++] = i;
      valid[i] = 0;
    }
  }
  return { targets, valid, validList };
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

function randomSource(sets: PatchSets, random: Random): number {
  return sets.validList[Math.floor(random() * sets.validList.length)]!;
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
 * good enough to rank matches when the level is only re-voted, not searched.
 */
export function upsampleField(
  coarse: Field,
  coarseLevel: Level,
  level: Level,
  sets: PatchSets,
  random: Random,
  measure = true,
  runBands: BandRunner = runBandsInOrder,
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
    if (!measure) field.dist[t] = found ? 4 * coarseDistance : patchDistance(level, t, source, Number.POSITIVE_INFINITY);
  }
  if (measure) refreshDistances(level, sets, field, random, runBands);
  return field;
}

/**
 * The patch search runs over this many fixed bands of the target list, each with its own random stream and
 * propagating only within itself, so the bands are independent: the field is the same whether they run
 * one after the other or at the same time on different threads.
 */
export const FIELD_BANDS = 2;

/**
 * One band of a pass over the targets[first..end) of `sets`; plain data that can cross threads.
 * "search": PatchMatch sweeps (`improveBand`); "measure": recompute each target's distance to its match.
 */
export interface BandJob {
  kind: "search" | "measure";
  level: Level;
  sets: PatchSets;
  field: Field;
  iterations: number;
  seed: number;
  searchRadius: number;
  first: number;
  end: number;
}

/** Runs every job (in any order, on any threads) and returns once all are done. */
export type BandRunner = (jobs: BandJob[]) => void;

export const runBandsInOrder: BandRunner = (jobs) => {
  for (const job of jobs) runBand(job);
};

export function runBand(job: BandJob): void {
  if (job.kind === "search") improveBand(job);
  else measureBand(job);
}

/** Bands of one pass over the targets, each with a seed drawn from `random` (drawn even for empty bands). */
function bandJobs(kind: BandJob["kind"], level: Level, sets: PatchSets, field: Field, random: Random, iterations = 0, searchRadius = 0): BandJob[] {
  const count = sets.targets.length;
  const jobs: BandJob[] = [];
  for (let band = 0; band < FIELD_BANDS; band++) {
    const seed = Math.floor(random() * 4294967296);
    const first = Math.floor((band * count) / FIELD_BANDS);
    const end = Math.floor(((band + 1) * count) / FIELD_BANDS);
    if (end > first) jobs.push({ kind, level, sets, field, iterations, seed, searchRadius, first, end });
  }
  return jobs;
}

/** Distances of the band's targets to their current matches (after the hole estimate changed). */
export function measureBand({ level, sets, field, first, end }: BandJob): void {
  const { targets } = sets;
  for (let k = first; k < end; k++) {
    const t = targets[k]!;
    field.dist[t] = patchDistance(level, t, field.nnf[t]!, Number.POSITIVE_INFINITY);
  }
}

/** Recomputes every target's distance after the hole estimate changed (a voting step). */
export function refreshDistances(level: Level, sets: PatchSets, field: Field, random: Random, runBands: BandRunner = runBandsInOrder): void {
  runBands(bandJobs("measure", level, sets, field, random));
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
  runBands: BandRunner = runBandsInOrder,
): void {
  runBands(bandJobs("search", level, sets, field, random, iterations, searchRadius));
}

/**
 * PatchMatch over one band of targets: alternating scan-order sweeps that propagate good matches from the
 * previous neighbour and then try random sources at exponentially shrinking radii around the best one.
 * Neighbours outside the band are never read, and only the band's entries of the field are written.
 * `searchRadius` bounds the random search (local sources keep local texture and colours); 0 keeps only
 * propagation (cheap refinement at the finest, capped levels).
 */
export function improveBand({ level, sets, field, iterations, seed, searchRadius, first, end }: BandJob): void {
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
  for (let it = 0; it < iterations; it++) {
    const forward = it % 2 === 0;
    const step = forward ? 1 : -1;
    for (let k = first; k < end; k++) {
      const t = targets[forward ? k : first + end - 1 - k]!;
      let best = nnf[t]!;
      let bestD = dist[t]!;
      // Propagation: the horizontal and vertical neighbour already visited in this sweep.
      const horizontal = inBand(t - step) ? nnf[t - step]! : -1;
      if (horizontal >= 0) {
        const candidate = horizontal + step;
        if (candidate !== best && valid[candidate]) {
          const d = patchDistance(level, t, candidate, bestD);
          if (d < bestD) {
            best = candidate;
            bestD = d;
          }
        }
      }
      const vertical = inBand(t - step * w) ? nnf[t - step * w]! : -1;
      if (vertical >= 0) {
        const candidate = vertical + step * w;
        if (candidate !== best && valid[candidate]) {
          const d = patchDistance(level, t, candidate, bestD);
          if (d < bestD) {
            best = candidate;
            bestD = d;
          }
        }
      }
      if (maxRadius >= 1) {
        const bx = best % w;
        const by = (best - bx) / w;
        for (let radius = maxRadius; radius >= 1; radius >>= 1) {
          const cx = Math.max(r, Math.min(xMax, bx + Math.floor((2 * random() - 1) * radius + 0.5)));
          const cy = Math.max(r, Math.min(yMax, by + Math.floor((2 * random() - 1) * radius + 0.5)));
          const candidate = cy * w + cx;
          if (candidate === best || !valid[candidate]) continue;
          const d = patchDistance(level, t, candidate, bestD);
          if (d < bestD) {
            best = candidate;
            bestD = d;
          }
        }
      }
      nnf[t] = best;
      dist[t] = bestD;
    }
  }
}
