import type { PixelBox, SelectionImage } from "./types.js";

/**
 * The working grid of object selection: the box plus a ring of background around it, area-averaged down to
 * at most WORK_PIXELS cells, where GrabCut runs (grabcut.ts) before the edge is refined at full resolution
 * (refine.ts).
 */

/** The working grid (box + ring, area-averaged) has at most this many cells (~0.1 s a call on the bench). */
const WORK_PIXELS = 45_000;
/** The ring of definite background around the box: this fraction of the box's longer side, ≥ 8 px. */
const RING_FRACTION = 0.2;
const MIN_RING = 8;

/** The clipped box in full-resolution pixels, [x0, x1) × [y0, y1). */
export interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** A region of the image resampled to a working grid. */
export interface Work {
  /** The region in full-resolution pixels. */
  region: Rect;
  cols: number;
  rows: number;
  /** The box on the working grid. */
  box: Rect;
  /** What the colour models see per cell: RGB, or for a grey image (intensity, local mean, local spread). */
  colours: Float32Array;
  /** Grey images only: per cell, the local mean and spread that replaced G and B in `colours`. */
  texture?: Float32Array;
}

/** Half-width (cells) of the window for a grey image's local mean and spread. */
const TEXTURE_RADIUS = 2;
/** Spread is scaled by this to weigh about as much as intensity in the colour models. */
const TEXTURE_GAIN = 3;

function isGrey(colours: Float32Array): boolean {
  for (let i = 0; i < colours.length; i += 3) {
    if (colours[i] !== colours[i + 1] || colours[i] !== colours[i + 2]) return false;
  }
  return true;
}

/**
 * A grey image gives the colour models one dimension where RGB gives three; the two spare ones carry texture
 * instead: each cell's local mean and standard deviation (summed-area tables), written into G and B of
 * `colours` in place. Returns the (mean, spread) pairs per cell.
 */
function greyFeatures(colours: Float32Array, cols: number, rows: number): Float32Array {
  const stride = cols + 1;
  const sum = new Float64Array(stride * (rows + 1));
  const squares = new Float64Array(stride * (rows + 1));
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      const v = colours[(y * cols + x) * 3]!;
      const at = (y + 1) * stride + x + 1;
      sum[at] = v + sum[at - 1]! + sum[at - stride]! - sum[at - stride - 1]!;
      squares[at] = v * v + squares[at - 1]! + squares[at - stride]! - squares[at - stride - 1]!;
    }
  }
  const texture = new Float32Array(cols * rows * 2);
  const r = TEXTURE_RADIUS;
  const windowSum = (t: Float64Array, x0: number, y0: number, x1: number, y1: number) =>
    t[y1 * stride + x1]! - t[y0 * stride + x1]! - t[y1 * stride + x0]! + t[y0 * stride + x0]!;
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      // Kuwahara's trick: of the four (r+1)² windows with this cell in a corner, the calmest one, so that
      // a cell beside an edge takes the statistics of its own side instead of a blend of both.
      let bestMean = 0;
      let bestVariance = Number.POSITIVE_INFINITY;
      for (let q = 0; q < 4; q++) {
        const x0 = q & 1 ? x : Math.max(0, x - r);
        const x1 = q & 1 ? Math.min(cols, x + r + 1) : x + 1;
        const y0 = q & 2 ? y : Math.max(0, y - r);
        const y1 = q & 2 ? Math.min(rows, y + r + 1) : y + 1;
        const n = (x1 - x0) * (y1 - y0);
        const mean = windowSum(sum, x0, y0, x1, y1) / n;
        const variance = Math.max(0, windowSum(squares, x0, y0, x1, y1) / n - mean * mean);
        if (variance < bestVariance) {
          bestVariance = variance;
          bestMean = mean;
        }
      }
      const spread = TEXTURE_GAIN * Math.sqrt(bestVariance);
      const cell = y * cols + x;
      texture[cell * 2] = bestMean;
      texture[cell * 2 + 1] = spread;
      colours[cell * 3 + 1] = bestMean;
      colours[cell * 3 + 2] = spread;
    }
  }
  return texture;
}

export function clipBox(box: PixelBox, width: number, height: number): Rect {
  const clamp = (v: number, hi: number) => Math.min(hi, Math.max(0, v));
  const x0 = clamp(Math.floor(box.x), width - 1);
  const y0 = clamp(Math.floor(box.y), height - 1);
  const x1 = Math.max(x0 + 1, clamp(Math.ceil(box.x + box.width), width));
  const y1 = Math.max(y0 + 1, clamp(Math.ceil(box.y + box.height), height));
  return { x0, y0, x1, y1 };
}

/** Area-average of the region into cols × rows (every full pixel counts once, for its covering cell). */
function averageColours(image: SelectionImage, region: Rect, cols: number, rows: number): Float32Array {
  const w = region.x1 - region.x0;
  const h = region.y1 - region.y0;
  const sums = new Float64Array(cols * rows * 3);
  const counts = new Float64Array(cols * rows);
  const colOf = new Int32Array(w);
  for (let x = 0; x < w; x++) colOf[x] = Math.floor((x * cols) / w);
  const { data, channels } = image;
  const grey = channels === 1;
  for (let y = 0; y < h; y++) {
    const row = Math.floor((y * rows) / h) * cols;
    let p = ((region.y0 + y) * image.width + region.x0) * channels;
    for (let x = 0; x < w; x++, p += channels) {
      const cell = row + colOf[x]!;
      const r = data[p]!;
      sums[cell * 3]! += r;
      sums[cell * 3 + 1]! += grey ? r : data[p + 1]!;
      sums[cell * 3 + 2]! += grey ? r : data[p + 2]!;
      counts[cell]!++;
    }
  }
  const colours = new Float32Array(cols * rows * 3);
  for (let cell = 0; cell < counts.length; cell++) {
    const n = counts[cell]!;
    for (let c = 0; c < 3; c++) colours[cell * 3 + c] = sums[cell * 3 + c]! / n;
  }
  return colours;
}

/**
 * What the background is learnt from: the ring of working pixels around the box (definite background),
 * and, when that ring is thin or missing (a box over most of the image), the box's outer tenth as well
 * (`strip`, on the box grid: probable background to start from).
 */
export function outsideSample(work: Work): { ring: number[]; strip: Uint8Array } {
  const { cols, rows, box } = work;
  const bw = box.x1 - box.x0;
  const bh = box.y1 - box.y0;
  const ring: number[] = [];
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      if (x >= box.x0 && x < box.x1 && y >= box.y0 && y < box.y1) continue;
      ring.push(y * cols + x);
    }
  }
  const strip = new Uint8Array(bw * bh);
  if (ring.length < Math.max(64, bw * bh * 0.05)) {
    const width = Math.max(1, Math.round(Math.min(bw, bh) * 0.1));
    for (let y = 0; y < bh; y++) {
      for (let x = 0; x < bw; x++) {
        if (x < width || y < width || x >= bw - width || y >= bh - width) strip[y * bw + x] = 1;
      }
    }
  }
  return { ring, strip };
}

export function prepareWork(image: SelectionImage, box: Rect): Work {
  const bw = box.x1 - box.x0;
  const bh = box.y1 - box.y0;
  const margin = Math.max(MIN_RING, Math.round(RING_FRACTION * Math.max(bw, bh)));
  const region: Rect = {
    x0: Math.max(0, box.x0 - margin),
    y0: Math.max(0, box.y0 - margin),
    x1: Math.min(image.width, box.x1 + margin),
    y1: Math.min(image.height, box.y1 + margin),
  };
  const rw = region.x1 - region.x0;
  const rh = region.y1 - region.y0;
  const scale = Math.min(1, Math.sqrt(WORK_PIXELS / (rw * rh)));
  const cols = Math.max(1, Math.round(rw * scale));
  const rows = Math.max(1, Math.round(rh * scale));
  // Working cells whose centre lies in the box.
  const first = (edge: number, origin: number, full: number, cells: number) =>
    Math.max(0, Math.min(cells, Math.ceil(((edge - origin) * cells) / full - 0.5)));
  const workBox: Rect = {
    x0: first(box.x0, region.x0, rw, cols),
    y0: first(box.y0, region.y0, rh, rows),
    x1: first(box.x1, region.x0, rw, cols),
    y1: first(box.y1, region.y0, rh, rows),
  };
  // A box thinner than a cell still gets one.
  if (workBox.x1 <= workBox.x0) {
    workBox.x0 = Math.min(workBox.x0, cols - 1);
    workBox.x1 = workBox.x0 + 1;
  }
  if (workBox.y1 <= workBox.y0) {
    workBox.y0 = Math.min(workBox.y0, rows - 1);
    workBox.y1 = workBox.y0 + 1;
  }
  const colours = averageColours(image, region, cols, rows);
  const texture = isGrey(colours) ? greyFeatures(colours, cols, rows) : undefined;
  return { region, cols, rows, box: workBox, colours, ...(texture ? { texture } : {}) };
}
