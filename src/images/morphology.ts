import type { RasterImage } from "./raster.js";
import { MASK_THRESHOLD } from "./mask.js";

/**
 * Mask modifiers, pure and linear-time in the pixel count whatever the radius (separable passes over
 * typed arrays, no per-pixel objects). Every function takes and returns a one-channel mask, 255 = inpaint.
 */

function requireMask(mask: RasterImage, what: string): void {
  if (mask.channels !== 1) throw new Error(`${what} needs a 1-channel mask, got ${mask.channels} channels`);
}

/** Keep ↔ inpaint: v → 255 − v (soft edges stay soft). */
export function invertMask(mask: RasterImage): RasterImage {
  requireMask(mask, "invertMask");
  const data = Buffer.alloc(mask.data.length);
  for (let i = 0; i < data.length; i++) data[i] = 255 - mask.data[i]!;
  return { data, width: mask.width, height: mask.height, channels: 1 };
}

const FAR = 1e20;

/**
 * 1-D squared Euclidean distance transform (Felzenszwalb & Huttenlocher's lower envelope of parabolas):
 * d[q] = min_p (q − p)² + f[p]. Linear in n. Buffers are passed in to avoid allocation per line.
 */
function distance1d(f: Float64Array, n: number, d: Float64Array, v: Int32Array, z: Float64Array): void {
  let k = 0;
  v[0] = 0;
  z[0] = Number.NEGATIVE_INFINITY;
  z[1] = Number.POSITIVE_INFINITY;
  for (let q = 1; q < n; q++) {
    let p = v[k]!;
    let s = (f[q]! + q * q - (f[p]! + p * p)) / (2 * q - 2 * p);
    while (s <= z[k]!) {
      k--;
      p = v[k]!;
      s = (f[q]! + q * q - (f[p]! + p * p)) / (2 * q - 2 * p);
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Number.POSITIVE_INFINITY;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1]! < q) k++;
    const p = v[k]!;
    d[q] = (q - p) * (q - p) + f[p]!;
  }
}

/**
 * Squared Euclidean distance from every pixel to the nearest pixel at or above MASK_THRESHOLD (0 on them;
 * a huge value when the mask is empty).
 */
export function squaredDistanceToMask(mask: RasterImage): Float64Array {
  requireMask(mask, "squaredDistanceToMask");
  const { width, height } = mask;
  const n = Math.max(width, height);
  const grid = new Float64Array(width * height);
  for (let i = 0; i < grid.length; i++) grid[i] = mask.data[i]! >= MASK_THRESHOLD ? 0 : FAR;
  const f = new Float64Array(n);
  const d = new Float64Array(n);
  const v = new Int32Array(n);
  const z = new Float64Array(n + 1);
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) f[y] = grid[y * width + x]!;
    distance1d(f, height, d, v, z);
    for (let y = 0; y < height; y++) grid[y * width + x] = d[y]!;
  }
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) f[x] = grid[row + x]!;
    distance1d(f, width, d, v, z);
    for (let x = 0; x < width; x++) grid[row + x] = d[x]!;
  }
  return grid;
}

/**
 * Dilation by a disc of `radius` px: every pixel within `radius` (Euclidean, pixel centres) of an inpaint
 * pixel (≥ MASK_THRESHOLD) becomes 255. Soft values outside the grown area are kept as they were.
 */
export function growMask(mask: RasterImage, radius: number): RasterImage {
  requireMask(mask, "growMask");
  if (radius <= 0) return mask;
  const dist = squaredDistanceToMask(mask);
  const limit = radius * radius;
  const data = Buffer.from(mask.data);
  for (let i = 0; i < data.length; i++) if (dist[i]! <= limit) data[i] = 255;
  return { data, width: mask.width, height: mask.height, channels: 1 };
}

/** The box radius of each of the three box-blur passes for a feather of `radius` px (support ≈ ±radius). */
export function featherBoxRadius(radius: number): number {
  return Math.max(1, Math.round(radius / 3));
}

/**
 * One box-blur pass along lines of `count` samples spaced `stride` apart, starting at each of `starts`:
 * running sum over 2r+1 samples with the edge sample repeated, rounded to the nearest integer.
 */
function boxPass(src: Uint8Array, dst: Uint8Array, lines: number, lineStep: number, count: number, stride: number, r: number): void {
  const size = 2 * r + 1;
  const half = size >> 1;
  for (let line = 0; line < lines; line++) {
    const base = line * lineStep;
    const at = (i: number) => src[base + (i < 0 ? 0 : i >= count ? count - 1 : i) * stride]!;
    let sum = 0;
    for (let i = -r; i <= r; i++) sum += at(i);
    for (let i = 0; i < count; i++) {
      dst[base + i * stride] = Math.floor((sum + half) / size);
      sum += at(i + r + 1) - at(i - r);
    }
  }
}

/**
 * Soft edge: three box blurs of radius featherBoxRadius(radius) horizontally, then three vertically (a
 * close approximation of a Gaussian with σ ≈ radius / 3), linear time for any radius.
 */
export function featherMask(mask: RasterImage, radius: number): RasterImage {
  requireMask(mask, "featherMask");
  if (radius <= 0) return mask;
  const { width, height } = mask;
  const r = featherBoxRadius(radius);
  let a = new Uint8Array(mask.data);
  let b = new Uint8Array(a.length);
  for (let pass = 0; pass < 3; pass++) {
    boxPass(a, b, height, width, width, 1, r);
    [a, b] = [b, a];
  }
  for (let pass = 0; pass < 3; pass++) {
    boxPass(a, b, width, 1, height, width, r);
    [a, b] = [b, a];
  }
  return { data: Buffer.from(a.buffer, a.byteOffset, a.length), width, height, channels: 1 };
}

/**
 * Nearest-neighbour resize, then re-binarised at MASK_THRESHOLD (fit_mask): the source pixel of output
 * pixel x is floor((x + 0.5) · sourceWidth / width), the one whose area holds the output pixel's centre.
 */
export function fitMaskTo(mask: RasterImage, width: number, height: number): RasterImage {
  requireMask(mask, "fitMaskTo");
  const cols = new Int32Array(width);
  for (let x = 0; x < width; x++) cols[x] = Math.min(mask.width - 1, Math.floor(((x + 0.5) * mask.width) / width));
  const data = Buffer.alloc(width * height);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(mask.height - 1, Math.floor(((y + 0.5) * mask.height) / height));
    const src = sy * mask.width;
    const row = y * width;
    for (let x = 0; x < width; x++) data[row + x] = mask.data[src + cols[x]!]! >= MASK_THRESHOLD ? 255 : 0;
  }
  return { data, width, height, channels: 1 };
}
