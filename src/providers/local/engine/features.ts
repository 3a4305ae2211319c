import { COLOR_CHANNELS, createLevel, type Level } from "./level.js";

export const FEATURE_CHANNELS = 2;

/**
 * Appends two texture channels to an RGB level (Newson et al. 2014): the mean absolute horizontal and
 * vertical luma gradient over a (2·radius+1)² box, from known pixels only, times `weight`. Matching on them
 * stops smooth areas from standing in for textured ones of the same mean colour (the classic failure of
 * patch voting on a blurry first estimate). Hole pixels get 0; synthesis fills them like colours.
 */
export function withTextureFeatures(level: Level, radius: number, weight: number): Level {
  const { width: w, height: h, pixels, hole } = level;
  const size = w * h;
  const gx = new Float32Array(size);
  const gy = new Float32Array(size);
  const count = new Float32Array(size);
  const luma = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    luma[i] = 0.299 * pixels[i * COLOR_CHANNELS]! + 0.587 * pixels[i * COLOR_CHANNELS + 1]! + 0.114 * pixels[i * COLOR_CHANNELS + 2]!;
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (hole[i]) continue;
      const l = luma[i]!;
      const right = x + 1 < w && !hole[i + 1] ? Math.abs(luma[i + 1]! - l) : -1;
      const down = y + 1 < h && !hole[i + w] ? Math.abs(luma[i + w]! - l) : -1;
      if (right < 0 && down < 0) continue;
      // A pixel with only one valid direction reuses it for the other (edges of the hole, image border).
      gx[i] = right >= 0 ? right : down;
      gy[i] = down >= 0 ? down : right;
      count[i] = 1;
    }
  }
  boxSum(gx, w, h, radius);
  boxSum(gy, w, h, radius);
  boxSum(count, w, h, radius);

  const channels = COLOR_CHANNELS + FEATURE_CHANNELS;
  const result = createLevel(w, h, channels);
  result.hole.set(hole);
  for (let i = 0; i < size; i++) {
    const o = i * channels;
    result.pixels[o] = pixels[i * COLOR_CHANNELS]!;
    result.pixels[o + 1] = pixels[i * COLOR_CHANNELS + 1]!;
    result.pixels[o + 2] = pixels[i * COLOR_CHANNELS + 2]!;
    const n = count[i]!;
    if (hole[i] || n === 0) continue;
    result.pixels[o + 3] = (weight * gx[i]!) / n;
    result.pixels[o + 4] = (weight * gy[i]!) / n;
  }
  return result;
}

/** In-place separable box sum of radius r (clipped at the borders), O(1) per pixel. */
function boxSum(plane: Float32Array, w: number, h: number, r: number): void {
  const line = new Float64Array(Math.max(w, h));
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) line[x] = plane[row + x]!;
    let sum = 0;
    for (let x = 0; x < Math.min(r, w); x++) sum += line[x]!;
    for (let x = 0; x < w; x++) {
      if (x + r < w) sum += line[x + r]!;
      if (x - r - 1 >= 0) sum -= line[x - r - 1]!;
      plane[row + x] = sum;
    }
  }
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) line[y] = plane[y * w + x]!;
    let sum = 0;
    for (let y = 0; y < Math.min(r, h); y++) sum += line[y]!;
    for (let y = 0; y < h; y++) {
      if (y + r < h) sum += line[y + r]!;
      if (y - r - 1 >= 0) sum -= line[y - r - 1]!;
      plane[y * w + x] = sum;
    }
  }
}
