import { COLOR_CHANNELS, createLevel, holeIndices, type Level } from "./level.js";
import { downsample, upsampleIntoHole } from "./pyramid.js";

/** Gauss–Seidel sweeps per pyramid level; the coarse solution already carries the low frequencies. */
const SWEEPS_PER_LEVEL = 24;
/** Over-relaxation factor: converges several times faster than plain Gauss–Seidel and is still stable. */
const OVER_RELAXATION = 1.6;

/**
 * Fills the hole of `level` in place with a smooth membrane (the solution of Laplace's equation with the
 * known pixels as boundary values): exact for constant and linear images, and the starting point that
 * exemplar synthesis refines. Solved coarse-to-fine so large holes converge in a few sweeps per level.
 * With no known pixel at all the hole becomes mid-grey. `active` (default: the whole hole) limits the
 * finest level's sweeps to the pixels that matter to the caller.
 */
export function diffusionFill(level: Level, active?: Int32Array): void {
  const holes = holeIndices(level.hole);
  if (holes.length === 0) return;
  const { width: w, height: h } = level;
  if (w <= 2 && h <= 2) {
    fillWithKnownMean(level, holes);
  } else {
    const coarse = downsample(level, "all");
    diffusionFill(coarse);
    upsampleIntoHole(coarse, level);
  }
  relax(level, active ?? holes, SWEEPS_PER_LEVEL);
}

function fillWithKnownMean(level: Level, holes: Int32Array): void {
  const { pixels, hole, channels: nc } = level;
  const sum = new Float64Array(nc);
  let known = 0;
  for (let i = 0; i < hole.length; i++) {
    if (hole[i]) continue;
    known++;
    for (let c = 0; c < nc; c++) sum[c]! += pixels[i * nc + c]!;
  }
  for (const i of holes) {
    for (let c = 0; c < nc; c++) pixels[i * nc + c] = known > 0 ? sum[c]! / known : 128;
  }
}

/** SOR sweeps of the 4-neighbour Laplace equation over the hole pixels; the image border is reflecting. */
function relax(level: Level, holes: Int32Array, sweeps: number): void {
  const { width: w, height: h, channels: nc, pixels } = level;
  for (let s = 0; s < sweeps; s++) {
    const forward = s % 2 === 0;
    for (let k = 0; k < holes.length; k++) {
      const i = holes[forward ? k : holes.length - 1 - k]!;
      const x = i % w;
      const y = (i - x) / w;
      const left = x > 0 ? i - 1 : -1;
      const right = x < w - 1 ? i + 1 : -1;
      const up = y > 0 ? i - w : -1;
      const down = y < h - 1 ? i + w : -1;
      for (let c = 0; c < nc; c++) {
        let sum = 0;
        let n = 0;
        if (left >= 0) {
          sum += pixels[left * nc + c]!;
          n++;
        }
        if (right >= 0) {
          sum += pixels[right * nc + c]!;
          n++;
        }
        if (up >= 0) {
          sum += pixels[up * nc + c]!;
          n++;
        }
        if (down >= 0) {
          sum += pixels[down * nc + c]!;
          n++;
        }
        if (n === 0) continue;
        const old = pixels[i * nc + c]!;
        pixels[i * nc + c] = old + OVER_RELAXATION * (sum / n - old);
      }
    }
  }
}

/**
 * Seamless blending of copied texture (gradient-domain, as in Poisson image editing): adds to the hole's
 * colours the smooth correction that makes them meet the known pixels around the hole. `proposal` gives,
 * per pixel, the source pixel whose value the copied texture proposes there (-1: none); on the ring of
 * known pixels bordering the hole, known − proposed is the mismatch, which is spread harmonically inside.
 * Keeps the copied detail and removes colour and brightness seams; makes gradients exact.
 */
export function matchBoundary(level: Level, proposal: Int32Array): void {
  const { width: w, height: h, channels: nc, pixels, hole } = level;
  // Work on the hole's bounding box grown by one pixel: the ring lies inside it and cuts the hole off.
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!hole[y * w + x]) continue;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
  }
  if (x1 < 0) return;
  x0 = Math.max(0, x0 - 1);
  y0 = Math.max(0, y0 - 1);
  x1 = Math.min(w - 1, x1 + 1);
  y1 = Math.min(h - 1, y1 + 1);
  const cw = x1 - x0 + 1;
  const ch = y1 - y0 + 1;
  const correction = createLevel(cw, ch, COLOR_CHANNELS);
  let ringSize = 0;
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      const ci = y * cw + x;
      const i = (y + y0) * w + x + x0;
      const p = proposal[i]!;
      const onRing =
        !hole[i] &&
        ((x + x0 > 0 && hole[i - 1]) || (x + x0 < w - 1 && hole[i + 1]) || (y + y0 > 0 && hole[i - w]) || (y + y0 < h - 1 && hole[i + w]));
      if (!onRing) {
        correction.hole[ci] = 1;
        continue;
      }
      ringSize++;
      if (p < 0) continue;
      for (let c = 0; c < COLOR_CHANNELS; c++) {
        correction.pixels[ci * COLOR_CHANNELS + c] = pixels[i * nc + c]! - pixels[p * nc + c]!;
      }
    }
  }
  if (ringSize === 0) return;
  // Only the hole's values matter (the ring cuts it off from the rest), so only they are relaxed at full size.
  const inside: number[] = [];
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) if (hole[(y + y0) * w + x + x0]) inside.push(y * cw + x);
  }
  diffusionFill(correction, Int32Array.from(inside));
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      const i = (y + y0) * w + x + x0;
      if (!hole[i]) continue;
      const ci = y * cw + x;
      for (let c = 0; c < COLOR_CHANNELS; c++) pixels[i * nc + c]! += correction.pixels[ci * COLOR_CHANNELS + c]!;
    }
  }
}
