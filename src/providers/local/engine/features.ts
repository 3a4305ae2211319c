import type { RasterImage } from "../../../images/raster.js";
import { COLOR_CHANNELS, type Level, sharedFloat32Array } from "./level.js";
import { copyColors, type Rect } from "./region.js";

export const FEATURE_CHANNELS = 2;

/**
 * The engine's finest working level: the image's colours inside `rect` plus two texture channels (Newson
 * et al. 2014), the mean absolute horizontal and vertical luma gradient over a (2·radius+1)² box, from known
 * pixels only, times `weight`. Matching on them stops smooth areas from standing in for textured ones of the
 * same mean colour (the classic failure of patch voting on a blurry first estimate). Hole pixels get 0;
 * synthesis fills them like colours. `hole` (rect-sized, 1 = unknown) becomes the level's hole.
 * Built in place: besides the level itself only a count plane and a few rows of scratch are allocated.
 */
export function extractWithFeatures(
  image: RasterImage,
  rect: Rect,
  hole: Uint8Array,
  radius: number,
  weight: number,
): Level {
  const { width: w, height: h } = rect;
  const nc = COLOR_CHANNELS + FEATURE_CHANNELS;
  const level: Level = { width: w, height: h, channels: nc, pixels: sharedFloat32Array(w * h * nc), hole };
  copyColors(image, rect, level);
  const { pixels } = level;
  const count = sharedFloat32Array(w * h);
  // Luma of the current row and the next, so each pixel's luma is computed once.
  let lumaRow = new Float32Array(w);
  let lumaNext = new Float32Array(w);
  const lumaOf = (row: number, out: Float32Array) => {
    for (let x = 0, i = row * w * nc; x < w; x++, i += nc)
      out[x] = 0.299 * pixels[i]! + 0.587 * pixels[i + 1]! + 0.114 * pixels[i + 2]!;
  };
  lumaOf(0, lumaRow);
  for (let y = 0; y < h; y++) {
    const hasNext = y + 1 < h;
    if (hasNext) lumaOf(y + 1, lumaNext);
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (hole[i]) continue;
      const l = lumaRow[x]!;
      const right = x + 1 < w && !hole[i + 1] ? Math.abs(lumaRow[x + 1]! - l) : -1;
      const down = hasNext && !hole[i + w] ? Math.abs(lumaNext[x]! - l) : -1;
      if (right < 0 && down < 0) continue;
      // A pixel with only one valid direction reuses it for the other (edges of the hole, image border).
      pixels[i * nc + 3] = right >= 0 ? right : down;
      pixels[i * nc + 4] = down >= 0 ? down : right;
      count[i] = 1;
    }
    const swap = lumaRow;
    lumaRow = lumaNext;
    lumaNext = swap;
  }
  averageTextureChannels(pixels, count, hole, nc, w, h, radius, weight);
  return level;
}

/**
 * The level below the finest one, straight from the image: each pixel the mean of the known pixels of its
 * 2×2 block of the rectangle (as `downsample` makes it; `coarseHole` is the planned hole, by its "any"
 * rule), with the texture channels of `extractWithFeatures`, the luma gradients measured at full resolution
 * and box-averaged at this one (radius in this level's pixels). Used when the finest level is only copied
 * into, never searched, so it needs neither texture channels nor a float copy of its features.
 */
export function halfLevelWithFeatures(
  image: RasterImage,
  rect: Rect,
  fineHole: Uint8Array,
  coarseHole: Uint8Array,
  radius: number,
  weight: number,
): Level {
  const { width: fw, height: fh } = rect;
  const cw = (fw + 1) >> 1;
  const ch = (fh + 1) >> 1;
  const nc = COLOR_CHANNELS + FEATURE_CHANNELS;
  const level: Level = {
    width: cw,
    height: ch,
    channels: nc,
    pixels: sharedFloat32Array(cw * ch * nc),
    hole: coarseHole,
  };
  const { pixels } = level;
  const known = sharedFloat32Array(cw * ch);
  const count = sharedFloat32Array(cw * ch);
  const source = image.data;
  const at = (x: number, y: number) => ((rect.y + y) * image.width + rect.x + x) * 3;
  const luma = (j: number) => 0.299 * source[j]! + 0.587 * source[j + 1]! + 0.114 * source[j + 2]!;
  for (let y = 0; y < fh; y++) {
    const hasNext = y + 1 < fh;
    for (let x = 0; x < fw; x++) {
      const i = y * fw + x;
      if (fineHole[i]) continue;
      const j = at(x, y);
      const c = ((y >> 1) * cw + (x >> 1)) * nc;
      pixels[c]! += source[j]!;
      pixels[c + 1]! += source[j + 1]!;
      pixels[c + 2]! += source[j + 2]!;
      known[(y >> 1) * cw + (x >> 1)]!++;
      const l = luma(j);
      const right = x + 1 < fw && !fineHole[i + 1] ? Math.abs(luma(j + 3) - l) : -1;
      const down = hasNext && !fineHole[i + fw] ? Math.abs(luma(at(x, y + 1)) - l) : -1;
      if (right < 0 && down < 0) continue;
      // A pixel with only one valid direction reuses it for the other (edges of the hole, image border).
      pixels[c + 3]! += right >= 0 ? right : down;
      pixels[c + 4]! += down >= 0 ? down : right;
      count[(y >> 1) * cw + (x >> 1)]!++;
    }
  }
  for (let i = 0; i < cw * ch; i++) {
    const n = known[i]!;
    if (n > 1) for (let c = 0; c < COLOR_CHANNELS; c++) pixels[i * nc + c]! /= n;
  }
  averageTextureChannels(pixels, count, coarseHole, nc, cw, ch, radius, weight);
  return level;
}

/**
 * Channels 3 and 4 hold per-pixel gradient energies of known pixels and `count` marks those pixels: turns
 * them into the weighted mean over the window of `radius` (0 inside the hole, where nothing is known).
 */
function averageTextureChannels(
  pixels: Float32Array,
  count: Float32Array,
  hole: Uint8Array,
  nc: number,
  w: number,
  h: number,
  radius: number,
  weight: number,
): void {
  boxSum(pixels, 3, nc, w, h, radius);
  boxSum(pixels, 4, nc, w, h, radius);
  boxSum(count, 0, 1, w, h, radius);
  for (let i = 0; i < w * h; i++) {
    const o = i * nc;
    const n = count[i]!;
    if (hole[i] || n === 0) {
      pixels[o + 3] = 0;
      pixels[o + 4] = 0;
    } else {
      pixels[o + 3] = (weight * pixels[o + 3]!) / n;
      pixels[o + 4] = (weight * pixels[o + 4]!) / n;
    }
  }
}

/**
 * In-place box sum of radius r (clipped at the borders) of one channel of an interleaved plane: element
 * (x, y) is plane[(y·w + x)·stride + offset]. O(1) per pixel; the vertical pass runs row by row with a ring
 * of the last 2r+2 original rows, so it reads memory in order.
 */
export function boxSum(plane: Float32Array, offset: number, stride: number, w: number, h: number, r: number): void {
  const at = (x: number, y: number) => (y * w + x) * stride + offset;
  const rows = Math.min(2 * r + 2, h + 1);
  const ring = new Float64Array(rows * w);
  const sums = new Float64Array(w);
  const addRow = (y: number) => {
    const slot = (y % rows) * w;
    for (let x = 0, i = at(0, y); x < w; x++, i += stride) {
      const v = plane[i]!;
      ring[slot + x] = v;
      sums[x]! += v;
    }
  };
  for (let y = 0; y < Math.min(r, h); y++) addRow(y);
  for (let y = 0; y < h; y++) {
    if (y + r < h) addRow(y + r);
    if (y - r - 1 >= 0) {
      const slot = ((y - r - 1) % rows) * w;
      for (let x = 0; x < w; x++) sums[x]! -= ring[slot + x]!;
    }
    for (let x = 0, i = at(0, y); x < w; x++, i += stride) plane[i] = sums[x]!;
  }
  const line = new Float64Array(w);
  for (let y = 0; y < h; y++) {
    const row = at(0, y);
    for (let x = 0, i = row; x < w; x++, i += stride) line[x] = plane[i]!;
    let sum = 0;
    for (let x = 0; x < Math.min(r, w); x++) sum += line[x]!;
    for (let x = 0, i = row; x < w; x++, i += stride) {
      if (x + r < w) sum += line[x + r]!;
      if (x - r - 1 >= 0) sum -= line[x - r - 1]!;
      plane[i] = sum;
    }
  }
}
