import { CHANNELS, holeIndices, type Level } from "./level.js";
import { downsample, upsampleIntoHole } from "./pyramid.js";

/** Gauss–Seidel sweeps per pyramid level; the coarse solution already carries the low frequencies. */
const SWEEPS_PER_LEVEL = 24;
/** Over-relaxation factor: converges several times faster than plain Gauss–Seidel and is still stable. */
const OVER_RELAXATION = 1.6;

/**
 * Fills the hole of `level` in place with a smooth membrane (the solution of Laplace's equation with the
 * known pixels as boundary values): exact for constant and linear images, and the starting point that
 * exemplar synthesis refines. Solved coarse-to-fine so large holes converge in a few sweeps per level.
 * With no known pixel at all the hole becomes mid-grey.
 */
export function diffusionFill(level: Level): void {
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
  relax(level, holes, SWEEPS_PER_LEVEL);
}

function fillWithKnownMean(level: Level, holes: Int32Array): void {
  const { pixels, hole } = level;
  const sum = [0, 0, 0];
  let known = 0;
  for (let i = 0; i < hole.length; i++) {
    if (hole[i]) continue;
    known++;
    for (let c = 0; c < CHANNELS; c++) sum[c]! += pixels[i * CHANNELS + c]!;
  }
  for (const i of holes) {
    for (let c = 0; c < CHANNELS; c++) pixels[i * CHANNELS + c] = known > 0 ? sum[c]! / known : 128;
  }
}

/** SOR sweeps of the 4-neighbour Laplace equation over the hole pixels; the image border is reflecting. */
function relax(level: Level, holes: Int32Array, sweeps: number): void {
  const { width: w, height: h, pixels } = level;
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
      for (let c = 0; c < CHANNELS; c++) {
        let sum = 0;
        let n = 0;
        if (left >= 0) {
          sum += pixels[left * CHANNELS + c]!;
          n++;
        }
        if (right >= 0) {
          sum += pixels[right * CHANNELS + c]!;
          n++;
        }
        if (up >= 0) {
          sum += pixels[up * CHANNELS + c]!;
          n++;
        }
        if (down >= 0) {
          sum += pixels[down * CHANNELS + c]!;
          n++;
        }
        if (n === 0) continue;
        const old = pixels[i * CHANNELS + c]!;
        pixels[i * CHANNELS + c] = old + OVER_RELAXATION * (sum / n - old);
      }
    }
  }
}
