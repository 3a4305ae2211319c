import { createLevel, holeIndices, type Level } from "./level.js";

/**
 * Halves a level (2×2 blocks, odd sizes round up). A coarse pixel's value is the mean of the *known* fine
 * pixels in its block, so hole estimates never leak into coarser levels.
 * `holeRule` decides when a coarse pixel is unknown: "any" (a hole pixel in the block: conservative, so a
 * coarse source patch never covers the hole) or "all" (every pixel of the block is a hole: used by the
 * diffusion solver, which wants as many known pixels as it can get).
 */
export function downsample(fine: Level, holeRule: "any" | "all"): Level {
  const { width: fw, height: fh, channels: nc, pixels: fp, hole: fhole } = fine;
  const cw = (fw + 1) >> 1;
  const ch = (fh + 1) >> 1;
  const coarse = createLevel(cw, ch, nc);
  const { pixels: cp, hole: chole } = coarse;
  for (let y = 0; y < ch; y++) {
    const rows = 2 * y + 1 < fh ? 2 : 1;
    for (let x = 0; x < cw; x++) {
      const columns = 2 * x + 1 < fw ? 2 : 1;
      const ci = y * cw + x;
      const co = ci * nc;
      let known = 0;
      for (let dy = 0; dy < rows; dy++) {
        for (let dx = 0; dx < columns; dx++) {
          const fi = (2 * y + dy) * fw + 2 * x + dx;
          if (fhole[fi]) continue;
          known++;
          const fo = fi * nc;
          for (let c = 0; c < nc; c++) cp[co + c]! += fp[fo + c]!;
        }
      }
      chole[ci] = (holeRule === "any" ? known < rows * columns : known === 0) ? 1 : 0;
      if (known > 1) {
        for (let c = 0; c < nc; c++) cp[co + c]! /= known;
      }
    }
  }
  return coarse;
}

/**
 * Writes into the hole pixels of `fine` the bilinear interpolation of `coarse` (half the size, as made by
 * `downsample`). Known pixels of `fine` are left alone. `holes` lists the hole pixels when the caller has them.
 */
export function upsampleIntoHole(coarse: Level, fine: Level, holes: Int32Array = holeIndices(fine.hole)): void {
  const { width: cw, height: ch, pixels: cp, channels: cc } = coarse;
  const { width: fw, channels: fc, pixels: fp } = fine;
  // The finest level may carry fewer channels (colours only) than the one below it.
  const nc = Math.min(cc, fc);
  for (let k = 0; k < holes.length; k++) {
    const fi = holes[k]!;
    const x = fi % fw;
    const y = (fi - x) / fw;
    // Centre of the fine pixel in coarse coordinates.
    const cy = Math.min(Math.max((y + 0.5) / 2 - 0.5, 0), ch - 1);
    const y0 = Math.floor(cy);
    const y1 = Math.min(y0 + 1, ch - 1);
    const wy = cy - y0;
    const cx = Math.min(Math.max((x + 0.5) / 2 - 0.5, 0), cw - 1);
    const x0 = Math.floor(cx);
    const x1 = Math.min(x0 + 1, cw - 1);
    const wx = cx - x0;
    const i00 = (y0 * cw + x0) * cc;
    const i01 = (y0 * cw + x1) * cc;
    const i10 = (y1 * cw + x0) * cc;
    const i11 = (y1 * cw + x1) * cc;
    for (let c = 0; c < nc; c++) {
      const top = cp[i00 + c]! * (1 - wx) + cp[i01 + c]! * wx;
      const bottom = cp[i10 + c]! * (1 - wx) + cp[i11 + c]! * wx;
      fp[fi * fc + c] = top * (1 - wy) + bottom * wy;
    }
  }
}
