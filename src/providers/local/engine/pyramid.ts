import { createLevel, type Level } from "./level.js";

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
  const cp = coarse.pixels;
  const sum = new Float64Array(nc);
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      sum.fill(0);
      let known = 0;
      let total = 0;
      for (let dy = 0; dy < 2; dy++) {
        const fy = 2 * y + dy;
        if (fy >= fh) continue;
        for (let dx = 0; dx < 2; dx++) {
          const fx = 2 * x + dx;
          if (fx >= fw) continue;
          total++;
          const fi = fy * fw + fx;
          if (fhole[fi]) continue;
          known++;
          for (let c = 0; c < nc; c++) sum[c]! += fp[fi * nc + c]!;
        }
      }
      const ci = y * cw + x;
      const isHole = holeRule === "any" ? known < total : known === 0;
      coarse.hole[ci] = isHole ? 1 : 0;
      if (known > 0) {
        for (let c = 0; c < nc; c++) cp[ci * nc + c] = sum[c]! / known;
      }
    }
  }
  return coarse;
}

/**
 * Writes into the hole pixels of `fine` the bilinear interpolation of `coarse` (half the size, as made by
 * `downsample`). Known pixels of `fine` are left alone.
 */
export function upsampleIntoHole(coarse: Level, fine: Level): void {
  const { width: cw, height: ch, pixels: cp } = coarse;
  const { width: fw, height: fh, channels: nc, pixels: fp, hole } = fine;
  for (let y = 0; y < fh; y++) {
    // Centre of fine pixel y in coarse coordinates.
    const cy = Math.min(Math.max((y + 0.5) / 2 - 0.5, 0), ch - 1);
    const y0 = Math.floor(cy);
    const y1 = Math.min(y0 + 1, ch - 1);
    const wy = cy - y0;
    for (let x = 0; x < fw; x++) {
      const fi = y * fw + x;
      if (!hole[fi]) continue;
      const cx = Math.min(Math.max((x + 0.5) / 2 - 0.5, 0), cw - 1);
      const x0 = Math.floor(cx);
      const x1 = Math.min(x0 + 1, cw - 1);
      const wx = cx - x0;
      const i00 = (y0 * cw + x0) * nc;
      const i01 = (y0 * cw + x1) * nc;
      const i10 = (y1 * cw + x0) * nc;
      const i11 = (y1 * cw + x1) * nc;
      for (let c = 0; c < nc; c++) {
        const top = cp[i00 + c]! * (1 - wx) + cp[i01 + c]! * wx;
        const bottom = cp[i10 + c]! * (1 - wx) + cp[i11 + c]! * wx;
        fp[fi * nc + c] = top * (1 - wy) + bottom * wy;
      }
    }
  }
}
