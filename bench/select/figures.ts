/**
 * The pure side of `npm run bench:select`: the random blob, its alpha and ground truth, the padded box, the
 * box and ellipse baselines, the compositing, the scores and the summary. No I/O, so
 * test/bench/select-figures.test.ts can pin every number the bench prints.
 */
import { mean, median } from "../figures.js";

/** A row-major one-channel raster: 255 = selected, 0 = not. */
export interface Mask {
  data: Uint8Array;
  width: number;
  height: number;
}

/** A rectangle in pixels: [x, x + width) × [y, y + height). */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * A smooth random star-shaped blob, r(θ) = R · (1 + Σ_{k=2..5} a_k cos(kθ + φ_k)), with a_k ≤ 0.18/(k − 1):
 * at most 1 + 0.18 + 0.09 + 0.06 + 0.045 = 1.375 R from its centre, at least 0.625 R.
 */
export interface Blob {
  radius: number;
  /** a_2..a_5 */
  amplitudes: readonly number[];
  /** φ_2..φ_5 */
  phases: readonly number[];
}

export const BLOB_HARMONICS = [2, 3, 4, 5] as const;
export const BLOB_MAX_REACH = 1 + BLOB_HARMONICS.reduce((sum, k) => sum + 0.18 / (k - 1), 0);

/** R drawn in `radiusRange` × `shortSide`, a_k uniform in [0, 0.18/(k − 1)], φ_k uniform in [0, 2π). */
export function randomBlob(random: () => number, shortSide: number, radiusRange: readonly [number, number]): Blob {
  const radius = shortSide * (radiusRange[0] + random() * (radiusRange[1] - radiusRange[0]));
  const amplitudes = BLOB_HARMONICS.map((k) => (random() * 0.18) / (k - 1));
  const phases = BLOB_HARMONICS.map(() => random() * 2 * Math.PI);
  return { radius, amplitudes, phases };
}

export function blobRadiusAt(blob: Blob, theta: number): number {
  let sum = 1;
  for (let i = 0; i < BLOB_HARMONICS.length; i++) {
    sum += blob.amplitudes[i]! * Math.cos(BLOB_HARMONICS[i]! * theta + blob.phases[i]!);
  }
  return blob.radius * sum;
}

/** Supersampling per axis when rasterising the blob (4 × 4 = 16 samples per pixel). */
export const BLOB_SUPERSAMPLING = 4;

/**
 * The blob's coverage per pixel, 0..1 in sixteenths, on a patch just big enough to hold it; its centre sits at
 * the patch's (side/2, side/2). Pixel (x, y) covers [x, x + 1) × [y, y + 1); samples sit at the centres of a
 * 4 × 4 grid inside it.
 */
export function blobAlpha(blob: Blob): { alpha: Float32Array; side: number } {
  const side = 2 * Math.ceil(blob.radius * BLOB_MAX_REACH) + 2;
  const centre = side / 2;
  const alpha = new Float32Array(side * side);
  const n = BLOB_SUPERSAMPLING;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      let inside = 0;
      for (let j = 0; j < n; j++) {
        for (let i = 0; i < n; i++) {
          const dx = x + (i + 0.5) / n - centre;
          const dy = y + (j + 0.5) / n - centre;
          if (Math.hypot(dx, dy) <= blobRadiusAt(blob, Math.atan2(dy, dx))) inside++;
        }
      }
      alpha[y * side + x] = inside / (n * n);
    }
  }
  return { alpha, side };
}

/** Ground truth: the pixels at least half covered by the object. */
export const GROUND_TRUTH_ALPHA = 0.5;

/** The smallest rectangle holding every non-zero pixel, or null for an empty mask. */
export function maskBounds(mask: Mask): Rect | null {
  let left = mask.width;
  let top = mask.height;
  let right = -1;
  let bottom = -1;
  for (let y = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++) {
      if (mask.data[y * mask.width + x] === 0) continue;
      if (x < left) left = x;
      if (x > right) right = x;
      if (y < top) top = y;
      if (y > bottom) bottom = y;
    }
  }
  return right < 0 ? null : { x: left, y: top, width: right - left + 1, height: bottom - top + 1 };
}

/** `rect` grown by `margin` × its width on the left and right and × its height above and below, outward to whole pixels. */
export function padRect(rect: Rect, margin: number): Rect {
  const x = Math.floor(rect.x - margin * rect.width);
  const y = Math.floor(rect.y - margin * rect.height);
  const right = Math.ceil(rect.x + rect.width + margin * rect.width);
  const bottom = Math.ceil(rect.y + rect.height + margin * rect.height);
  return { x, y, width: right - x, height: bottom - y };
}

/** Every pixel of `rect` (clipped to the image). */
export function rectMask(width: number, height: number, rect: Rect): Mask {
  const data = new Uint8Array(width * height);
  const x0 = Math.max(0, rect.x);
  const x1 = Math.min(width, rect.x + rect.width);
  for (let y = Math.max(0, rect.y); y < Math.min(height, rect.y + rect.height); y++) {
    if (x1 > x0) data.fill(255, y * width + x0, y * width + x1);
  }
  return { data, width, height };
}

/** The ellipse inscribed in `rect`: the pixels whose centre lies inside it. */
export function ellipseMask(width: number, height: number, rect: Rect): Mask {
  const data = new Uint8Array(width * height);
  const cx = rect.x + rect.width / 2;
  const cy = rect.y + rect.height / 2;
  const rx = rect.width / 2;
  const ry = rect.height / 2;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = (x + 0.5 - cx) / rx;
      const v = (y + 0.5 - cy) / ry;
      if (u * u + v * v <= 1) data[y * width + x] = 255;
    }
  }
  return { data, width, height };
}

/** An opaque 8-bit RGB raster, row-major. */
export interface Rgb {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface Composite {
  image: Rgb;
  /** α ≥ 0.5 of the pasted object. */
  truth: Mask;
}

/**
 * Pastes the blob: the patch at `from` in `source` is blended over `background` at `to`, I = α·F + (1 − α)·B,
 * rounded to 8 bits. Both placements must hold the whole patch.
 */
export function composite(
  background: Rgb,
  source: Rgb,
  alpha: Float32Array,
  side: number,
  to: readonly [number, number],
  from: readonly [number, number],
): Composite {
  for (const [[x, y], image, what] of [
    [to, background, "to"],
    [from, source, "from"],
  ] as const) {
    if (x < 0 || y < 0 || x + side > image.width || y + side > image.height) {
      throw new RangeError(
        `composite: the ${side}px patch at ${what} (${x}, ${y}) leaves the ${image.width}×${image.height} image`,
      );
    }
  }
  const { width, height } = background;
  const data = Uint8Array.from(background.data);
  const truth = new Uint8Array(width * height);
  for (let v = 0; v < side; v++) {
    for (let u = 0; u < side; u++) {
      const a = alpha[v * side + u]!;
      if (a === 0) continue;
      const d = (to[1] + v) * width + to[0] + u;
      const s = (from[1] + v) * source.width + from[0] + u;
      for (let c = 0; c < 3; c++)
        data[d * 3 + c] = Math.round(a * source.data[s * 3 + c]! + (1 - a) * data[d * 3 + c]!);
      if (a >= GROUND_TRUTH_ALPHA) truth[d] = 255;
    }
  }
  return { image: { data, width, height }, truth: { data: truth, width, height } };
}

/** A horizontal mirror image. */
export function flipHorizontal(image: Rgb): Rgb {
  const { width, height } = image;
  const data = new Uint8Array(image.data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = (y * width + x) * 3;
      const d = (y * width + width - 1 - x) * 3;
      data[d] = image.data[s]!;
      data[d + 1] = image.data[s + 1]!;
      data[d + 2] = image.data[s + 2]!;
    }
  }
  return { data, width, height };
}

/** Nearest-neighbour scaling of a mask to width × height (pixel centres map to source pixel centres). */
export function scaleMaskNearest(mask: Mask, width: number, height: number): Mask {
  const data = new Uint8Array(width * height);
  const columns = new Int32Array(width);
  for (let x = 0; x < width; x++) columns[x] = Math.min(mask.width - 1, Math.floor(((x + 0.5) * mask.width) / width));
  for (let y = 0; y < height; y++) {
    const sy = Math.min(mask.height - 1, Math.floor(((y + 0.5) * mask.height) / height));
    for (let x = 0; x < width; x++) data[y * width + x] = mask.data[sy * mask.width + columns[x]!]!;
  }
  return { data, width, height };
}

/** A box in one image's pixels → the same box in a copy scaled by `sx`, `sy`, outward to whole pixels. */
export function scaleRect(rect: Rect, sx: number, sy: number): Rect {
  const x = Math.floor(rect.x * sx);
  const y = Math.floor(rect.y * sy);
  return { x, y, width: Math.ceil((rect.x + rect.width) * sx) - x, height: Math.ceil((rect.y + rect.height) * sy) - y };
}

/** Above this a soft mask value counts as selected when scoring (the mask stage's threshold). */
export const SELECTED_AT = 128;

export interface Score {
  iou: number;
  /** FN / |truth|: the part of the object left out (it would stay visible after inpainting). */
  missed: number;
  /** FP / |truth|: background selected too (repainted for nothing), relative to the object's size. */
  spill: number;
}

/** IoU, missed and spill of `predicted` against `truth` (both ≥ SELECTED_AT = selected). */
export function score(predicted: Uint8Array, truth: Uint8Array): Score {
  if (predicted.length !== truth.length) throw new RangeError(`score: ${predicted.length} vs ${truth.length} pixels`);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < truth.length; i++) {
    const p = predicted[i]! >= SELECTED_AT;
    const t = truth[i]! >= SELECTED_AT;
    if (p && t) tp++;
    else if (p) fp++;
    else if (t) fn++;
  }
  const objectSize = tp + fn;
  const union = tp + fp + fn;
  return {
    iou: union === 0 ? 1 : tp / union,
    missed: objectSize === 0 ? 0 : fn / objectSize,
    spill: objectSize === 0 ? (fp === 0 ? 0 : Number.POSITIVE_INFINITY) : fp / objectSize,
  };
}

export interface Summary {
  count: number;
  mean: number;
  median: number;
  min: number;
}

export function summarise(values: readonly number[]): Summary {
  return {
    count: values.length,
    mean: mean(values),
    median: median(values),
    min: values.length === 0 ? Number.NaN : Math.min(...values),
  };
}

/** A goal with its verdict: `met` is null when the figure could not be measured. */
export interface GoalRow {
  goal: string;
  measured: string;
  met: boolean | null;
}

/** measured ≥ target (null when measured is not a number). */
export function atLeast(measured: number | undefined, target: number): boolean | null {
  return measured === undefined || !Number.isFinite(measured) ? null : measured >= target;
}

/** measured ≤ target (null when measured is not a number). */
export function atMost(measured: number | undefined, target: number): boolean | null {
  return measured === undefined || !Number.isFinite(measured) ? null : measured <= target;
}

export function renderGoals(rows: readonly GoalRow[]): string {
  const lines = ["| goal | measured | met |", "|---|---|---|"];
  for (const row of rows) {
    const met = row.met === null ? "n/a" : row.met ? "met" : "**not met**";
    lines.push(`| ${row.goal} | ${row.measured} | ${met} |`);
  }
  return lines.join("\n");
}

/** A polygon in pixels, [[x, y], …] (closed implicitly). */
export type Polygon = ReadonlyArray<readonly [number, number]>;

/**
 * The union of `polygons` as a mask: a pixel is selected when its centre (x + 0.5, y + 0.5) lies inside at
 * least one of them (even-odd rule per polygon, scanline crossings).
 */
export function polygonMask(width: number, height: number, polygons: ReadonlyArray<Polygon>): Mask {
  const data = new Uint8Array(width * height);
  for (const polygon of polygons) {
    for (let y = 0; y < height; y++) {
      const cy = y + 0.5;
      const crossings: number[] = [];
      for (let i = 0; i < polygon.length; i++) {
        const [x0, y0] = polygon[i]!;
        const [x1, y1] = polygon[(i + 1) % polygon.length]!;
        if (y0 <= cy === y1 <= cy) continue;
        crossings.push(x0 + ((cy - y0) * (x1 - x0)) / (y1 - y0));
      }
      crossings.sort((a, b) => a - b);
      for (let k = 0; k + 1 < crossings.length; k += 2) {
        const from = Math.max(0, Math.ceil(crossings[k]! - 0.5));
        const to = Math.min(width - 1, Math.floor(crossings[k + 1]! - 0.5));
        if (to >= from) data.fill(255, y * width + from, y * width + to + 1);
      }
    }
  }
  return { data, width, height };
}

/** Ranks 1..n, ties sharing their average rank. */
export function ranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(values.length);
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && order[end + 1]![0] === order[start]![0]) end++;
    for (let k = start; k <= end; k++) out[order[k]![1]] = (start + end) / 2 + 1;
    start = end + 1;
  }
  return out;
}

/** Spearman's rank correlation: Pearson's correlation of the (tie-averaged) ranks; NaN under 2 pairs or a constant side. */
export function spearman(xs: readonly number[], ys: readonly number[]): number {
  if (xs.length !== ys.length) throw new RangeError(`spearman: ${xs.length} vs ${ys.length} values`);
  if (xs.length < 2) return Number.NaN;
  const rx = ranks(xs);
  const ry = ranks(ys);
  const mx = mean(rx);
  const my = mean(ry);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < rx.length; i++) {
    sxy += (rx[i]! - mx) * (ry[i]! - my);
    sxx += (rx[i]! - mx) ** 2;
    syy += (ry[i]! - my) ** 2;
  }
  return sxx === 0 || syy === 0 ? Number.NaN : sxy / Math.sqrt(sxx * syy);
}
