import type { RasterImage } from "../../providers/types.js";
import { tidyMask } from "./cleanup.js";
import { type ColourModel, type ColourSet, fitColourModel, fitGaussian, logDensity, refitColourModel } from "./gmm.js";
import { gridNeighbours, MinCutSolver, minCut, SLOT_OFFSETS, SLOTS } from "./maxflow.js";
import type { ObjectHints, PixelBox, PixelPoint, SelectObject, Selection } from "./types.js";

/**
 * Object from a box, GrabCut-style (Rother et al. 2004, as OpenCV's grabCut; facts in
 * ../shared/reference/selection.md): colour models of the box and of a ring around it, an 8-neighbour
 * graph cut with edge-aware smoothness, iterated; on a reduced working grid, then refined at full
 * resolution in a narrow band around the edge. Where colours cannot tell object from background, a shape
 * prior (an ellipse inscribed in the box, in the unary costs) takes over, and failures fall back to it.
 */

/** The working grid (box + ring, area-averaged) has at most this many cells. */
const WORK_PIXELS = 60_000;
/** The ring of definite background around the box: this fraction of the box's longer side, ≥ 8 px. */
const RING_FRACTION = 0.2;
const MIN_RING = 8;
/** GrabCut rounds at most (OpenCV's tutorial uses 5); stops early when < 0.1 % of the labels change. */
const ITERATIONS = 5;
/** OpenCV's smoothness γ (n-link γ·exp(−β‖Δz‖²), γ/√2 on diagonals). */
const GAMMA = 50;
/** Hard constraint (hint disks): more than any pixel's n-links and data costs together. */
const HARD = 1e9;
/**
 * Colour separation (see coreRingSeparation) → weight of the ellipse prior: 0 at or above SEPARATED,
 * rising linearly to PRIOR_WEIGHT at or below AMBIGUOUS.
 */
const SEPARATED = 0.9;
const AMBIGUOUS = 0.4;
const PRIOR_WEIGHT = 2;
/** The prior's edge, in units of the inscribed ellipse's radius, and its softness (logistic width). */
const PRIOR_EDGE = 1;
const PRIOR_SOFTNESS = 0.12;
/** Below this separation the colours decided nothing: the result is the prior snapped to edges ("fallback"). */
const FALLBACK_SEPARATION = 0.25;
/** A cut keeping less (or more) of the box than this is no plausible object: fall back to the ellipse. */
const MIN_FRACTION = 0.03;
const MAX_FRACTION = 0.97;
/** A cut whose largest piece holds less than this share of it is fragments, not an object. */
const MIN_LARGEST_SHARE = 0.5;
/** Tidying: keep pieces ≥ this fraction of the largest; fill holes ≤ this fraction of the object. */
const KEEP_FRACTION = 0.1;
const HOLE_FRACTION = 0.1;
/**
 * Full-resolution refinement band: the working cells on the edge (±1 cell), grown by whole cells until it
 * reaches at least ±BAND_PIXELS full-resolution pixels.
 */
const BAND_PIXELS = 4;
/** Boxes narrower or lower than this (px) are not segmented: the ellipse is all there is to say. */
const MIN_BOX_SIDE = 4;

/** The clipped box in full-resolution pixels, [x0, x1) × [y0, y1). */
interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** A region of the image resampled to a working grid. */
interface Work {
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

function clipBox(box: PixelBox, width: number, height: number): Rect {
  const clamp = (v: number, hi: number) => Math.min(hi, Math.max(0, v));
  const x0 = clamp(Math.floor(box.x), width - 1);
  const y0 = clamp(Math.floor(box.y), height - 1);
  const x1 = Math.max(x0 + 1, clamp(Math.ceil(box.x + box.width), width));
  const y1 = Math.max(y0 + 1, clamp(Math.ceil(box.y + box.height), height));
  return { x0, y0, x1, y1 };
}

/** Area-average of the region into cols × rows (every full pixel counts once, for its covering cell). */
function averageColours(image: RasterImage, region: Rect, cols: number, rows: number): Float32Array {
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

/** 1 / (2 · mean ‖z_i − z_j‖²) over 8-neighbour pairs (OpenCV's β); 0 for a flat image. */
function contrastBeta(colours: Float32Array, cols: number, rows: number): number {
  let total = 0;
  let pairs = 0;
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      const p = (y * cols + x) * 3;
      // Right, down-left, down, down-right: each unordered pair once.
      for (let k = 0; k < 4; k++) {
        const nx = x + (k === 0 ? 1 : k - 2);
        const ny = y + (k === 0 ? 0 : 1);
        if (nx < 0 || nx >= cols || ny >= rows) continue;
        const q = (ny * cols + nx) * 3;
        const dr = colours[p]! - colours[q]!;
        const dg = colours[p + 1]! - colours[q + 1]!;
        const db = colours[p + 2]! - colours[q + 2]!;
        total += dr * dr + dg * dg + db * db;
        pairs++;
      }
    }
  }
  return total > 0 ? pairs / (2 * total) : 0;
}

/** Normalised elliptical radius of a full-resolution point in the box: 1 on the inscribed ellipse. */
function ellipseRadius(box: Rect, fx: number, fy: number): number {
  const u = (fx - (box.x0 + box.x1) / 2) / ((box.x1 - box.x0) / 2);
  const v = (fy - (box.y0 + box.y1) / 2) / ((box.y1 - box.y0) / 2);
  return Math.sqrt(u * u + v * v);
}

/** The shape prior's costs [of labelling foreground, of labelling background] at elliptical radius rho. */
function priorCosts(rho: number): [number, number] {
  const t = (rho - PRIOR_EDGE) / PRIOR_SOFTNESS;
  // −log σ(−t) and −log σ(t), computed without overflow.
  const softplus = (z: number) => (z > 30 ? z : Math.log1p(Math.exp(z)));
  return [softplus(t), softplus(-t)];
}

/**
 * The fallback shape: the ellipse inscribed in the box, with the hints' disks (radius in full-resolution
 * pixels) added or cut out, inside the box. Never empty: a box thinner than a pixel's centre spacing still
 * selects its middle pixel (unless a hint excludes it).
 */
function ellipseMask(width: number, height: number, box: Rect, hints: ObjectHints, hintRadius: number): Buffer {
  const mask = Buffer.alloc(width * height);
  const cx = Math.min(box.x1 - 1, Math.floor((box.x0 + box.x1) / 2));
  const cy = Math.min(box.y1 - 1, Math.floor((box.y0 + box.y1) / 2));
  mask[cy * width + cx] = 255;
  for (let y = box.y0; y < box.y1; y++) {
    for (let x = box.x0; x < box.x1; x++) if (ellipseRadius(box, x + 0.5, y + 0.5) <= 1) mask[y * width + x] = 255;
  }
  const paint = (points: ReadonlyArray<PixelPoint> | undefined, value: number) => {
    for (const [px, py] of points ?? []) {
      const r = Math.ceil(hintRadius);
      for (let y = Math.max(box.y0, Math.floor(py) - r); y <= Math.min(box.y1 - 1, Math.floor(py) + r); y++) {
        for (let x = Math.max(box.x0, Math.floor(px) - r); x <= Math.min(box.x1 - 1, Math.floor(px) + r); x++) {
          if ((x - px) ** 2 + (y - py) ** 2 <= hintRadius * hintRadius) mask[y * width + x] = value;
        }
      }
    }
  };
  paint(hints.include, 255);
  paint(hints.exclude, 0);
  return mask;
}

function percent(fraction: number): string {
  return `${Math.round(fraction * 100)} %`;
}

interface Segmentation {
  /** On the working box grid: 1 = object. */
  labels: Uint8Array;
  fg: ColourModel;
  bg: ColourModel;
  priorWeight: number;
  hintColours: HintColour[];
}

/**
 * The colour of what a hint point touches, as a wide Gaussian: pixels of that colour elsewhere in the box
 * are pushed the same way (GrabCut reads a scribble as "this colour is object / background"; a point is a
 * very short scribble, so its colour is what carries it beyond its own disk).
 */
interface HintColour {
  model: ColourModel;
  /** Where the hint is (full-resolution pixels) and how far its pull reaches (σ of a Gaussian falloff). */
  x: number;
  y: number;
  reach: number;
  /** 1: include (pushes towards the object), −1: exclude. */
  value: 1 | -1;
}

/** Cost pushed onto a pixel whose colour matches a hint's, at most (nats). */
const HINT_WEIGHT = 10;
/** Variance added to a hint's colour Gaussian: shading across a surface is wider than a small disk shows. */
const HINT_SPREAD = 100;

/** Reach of a hint's colour: σ = this fraction of the box's diagonal (a point means "this thing here"). */
const HINT_REACH = 0.2;

/**
 * [added cost of background, added cost of object] at full-resolution point (x, y) of colour (r, g, b),
 * from the hints whose colour it shares, fading with the distance from each hint.
 */
function hintPush(hints: HintColour[], x: number, y: number, r: number, g: number, b: number): [number, number] {
  let toObject = 0;
  let toBackground = 0;
  for (const hint of hints) {
    const near = ((x - hint.x) ** 2 + (y - hint.y) ** 2) / (2 * hint.reach * hint.reach);
    const similarity = Math.exp(logDensity(hint.model, r, g, b) - hint.model.logScales[0]! - near);
    if (hint.value === 1) toObject = Math.max(toObject, HINT_WEIGHT * similarity);
    else toBackground = Math.max(toBackground, HINT_WEIGHT * similarity);
  }
  return [toObject, toBackground];
}

/**
 * What the background is learnt from: the ring of working pixels around the box (definite background),
 * and, when that ring is thin or missing (a box over most of the image), the box's outer tenth as well
 * (`strip`, on the box grid: probable background to start from).
 */
function outsideSample(work: Work): { ring: number[]; strip: Uint8Array } {
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

/** GrabCut on the working grid: the box's nodes are unknown, the ring outside it is background. */
function grabCut(work: Work, hard: Int8Array, hintColours: HintColour[], priorWeight: number): Segmentation {
  const { cols, rows, box, colours } = work;
  const bw = box.x1 - box.x0;
  const bh = box.y1 - box.y0;
  const nodes = bw * bh;
  const beta = contrastBeta(colours, cols, rows);
  const neighbours = gridNeighbours(bw, bh);
  const links = new Float64Array(nodes * SLOTS);
  const toBackground = new Float64Array(nodes);
  const pixelOf = new Int32Array(nodes);
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      const node = y * bw + x;
      const wx = x + box.x0;
      const wy = y + box.y0;
      const p = wy * cols + wx;
      pixelOf[node] = p;
      for (let slot = 0; slot < SLOTS; slot++) {
        const [dx, dy] = SLOT_OFFSETS[slot]!;
        const nx = wx + dx;
        const ny = wy + dy;
        if (nx < 0 || ny < 0 || nx >= cols || ny >= rows) continue;
        const q = ny * cols + nx;
        const dr = colours[p * 3]! - colours[q * 3]!;
        const dg = colours[p * 3 + 1]! - colours[q * 3 + 1]!;
        const db = colours[p * 3 + 2]! - colours[q * 3 + 2]!;
        const weight =
          (dx !== 0 && dy !== 0 ? Math.SQRT1_2 : 1) * GAMMA * Math.exp(-beta * (dr * dr + dg * dg + db * db));
        if (neighbours[node * SLOTS + slot]! >= 0) links[node * SLOTS + slot] = weight;
        else toBackground[node]! += weight;
      }
    }
  }
  const priorFg = new Float64Array(nodes);
  const priorBg = new Float64Array(nodes);
  const scaleX = (work.region.x1 - work.region.x0) / cols;
  const scaleY = (work.region.y1 - work.region.y0) / rows;
  const fullBox: Rect = {
    x0: work.region.x0 + box.x0 * scaleX,
    y0: work.region.y0 + box.y0 * scaleY,
    x1: work.region.x0 + box.x1 * scaleX,
    y1: work.region.y0 + box.y1 * scaleY,
  };
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      const rho = ellipseRadius(fullBox, fullBox.x0 + (x + 0.5) * scaleX, fullBox.y0 + (y + 0.5) * scaleY);
      const [f, b] = priorCosts(rho);
      priorFg[y * bw + x] = f;
      priorBg[y * bw + x] = b;
    }
  }

  const { ring, strip } = outsideSample(work);
  const labels = new Uint8Array(nodes);
  for (let node = 0; node < nodes; node++)
    labels[node] = hard[node] === -1 || (strip[node] && hard[node] === 0) ? 0 : 1;
  const sets = (): [ColourSet, ColourSet] => {
    const fg: number[] = [];
    const bg = ring.slice();
    for (let node = 0; node < nodes; node++) (labels[node] ? fg : bg).push(pixelOf[node]!);
    if (fg.length === 0) fg.push(pixelOf[(nodes - 1) >> 1]!);
    return [
      { colours, members: Int32Array.from(fg) },
      { colours, members: Int32Array.from(bg) },
    ];
  };
  let [fgSet, bgSet] = sets();
  let fg = fitColourModel(fgSet);
  let bg = fitColourModel(bgSet);
  const hintSource = new Float64Array(nodes);
  const hintSink = new Float64Array(nodes);
  if (hintColours.length > 0) {
    for (let node = 0; node < nodes; node++) {
      const p = pixelOf[node]! * 3;
      const fx = fullBox.x0 + ((node % bw) + 0.5) * scaleX;
      const fy = fullBox.y0 + (Math.floor(node / bw) + 0.5) * scaleY;
      const [s, t] = hintPush(hintColours, fx, fy, colours[p]!, colours[p + 1]!, colours[p + 2]!);
      hintSource[node] = s;
      hintSink[node] = t;
    }
  }
  const source = new Float64Array(nodes);
  const sink = new Float64Array(nodes);
  const solver = new MinCutSolver({
    nodeCount: nodes,
    neighbours,
    capacities: links,
    source: new Float64Array(nodes),
    sink: new Float64Array(nodes),
  });
  for (let iteration = 0; iteration < ITERATIONS; iteration++) {
    fg = refitColourModel(fgSet, fg);
    bg = refitColourModel(bgSet, bg);
    for (let node = 0; node < nodes; node++) {
      const p = pixelOf[node]! * 3;
      const r = colours[p]!;
      const g = colours[p + 1]!;
      const b = colours[p + 2]!;
      let s = -logDensity(bg, r, g, b) + priorWeight * priorBg[node]! + hintSource[node]!;
      let t = -logDensity(fg, r, g, b) + priorWeight * priorFg[node]! + toBackground[node]! + hintSink[node]!;
      if (hard[node] === 1) s = HARD;
      else if (hard[node] === -1) t = HARD;
      const floor = Math.min(s, t);
      source[node] = s - floor;
      sink[node] = t - floor;
    }
    solver.setTerminals(source, sink);
    const cut = solver.solve();
    let changed = 0;
    for (let node = 0; node < nodes; node++) {
      if (labels[node] !== cut.sourceSide[node]) changed++;
      labels[node] = cut.sourceSide[node]!;
    }
    [fgSet, bgSet] = sets();
    if (iteration > 0 && changed <= nodes * 0.001) break;
  }
  return { labels, fg, bg, priorWeight, hintColours };
}

/**
 * Disk of `radius` working pixels around each hint, on the box grid (`grid`: 1 for include, −1 for exclude,
 * 0 elsewhere; a later hint wins), and each hint's colour model.
 */
function hintGrid(work: Work, hints: ObjectHints, radius: number): { grid: Int8Array; colours: HintColour[] } {
  const { box, region, cols, rows } = work;
  const bw = box.x1 - box.x0;
  const bh = box.y1 - box.y0;
  const grid = new Int8Array(bw * bh);
  const colours: HintColour[] = [];
  const scaleX = cols / (region.x1 - region.x0);
  const scaleY = rows / (region.y1 - region.y0);
  const reach = HINT_REACH * Math.hypot((box.x1 - box.x0) / scaleX, (box.y1 - box.y0) / scaleY);
  const mark = (points: ReadonlyArray<PixelPoint> | undefined, value: 1 | -1) => {
    for (const [px, py] of points ?? []) {
      const cx = (px + 0.5 - region.x0) * scaleX - box.x0;
      const cy = (py + 0.5 - region.y0) * scaleY - box.y0;
      const r = Math.ceil(radius);
      const members: number[] = [];
      for (let y = Math.max(0, Math.floor(cy) - r); y <= Math.min(bh - 1, Math.floor(cy) + r); y++) {
        for (let x = Math.max(0, Math.floor(cx) - r); x <= Math.min(bw - 1, Math.floor(cx) + r); x++) {
          if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 > radius * radius) continue;
          grid[y * bw + x] = value;
          members.push((y + box.y0) * cols + x + box.x0);
        }
      }
      // A hint outside the box only pins what it covers inside it (nothing, if it is further out).
      if (members.length > 0) {
        const model = fitGaussian({ colours: work.colours, members: Int32Array.from(members) }, HINT_SPREAD);
        colours.push({ model, value, x: px + 0.5, y: py + 0.5, reach });
      }
    }
  };
  mark(hints.include, 1);
  mark(hints.exclude, -1);
  return { grid, colours };
}

function prepareWork(image: RasterImage, box: Rect): Work {
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

/** Colour of image pixel `index` (RGB, grey or RGBA), written to out[0..2]. */
function readColour(image: RasterImage, index: number, out: Float64Array): void {
  const { data, channels } = image;
  const p = index * channels;
  const r = data[p]!;
  out[0] = r;
  out[1] = channels === 1 ? r : data[p + 1]!;
  out[2] = channels === 1 ? r : data[p + 2]!;
}

/** OpenCV's β over the 8-neighbour pairs of `rect` at full resolution, every `rowStep`-th row. */
function contrastBetaFull(image: RasterImage, rect: Rect, rowStep: number): number {
  const a = new Float64Array(3);
  const b = new Float64Array(3);
  let total = 0;
  let pairs = 0;
  for (let y = rect.y0; y < rect.y1; y += rowStep) {
    for (let x = rect.x0; x < rect.x1; x++) {
      readColour(image, y * image.width + x, a);
      for (let k = 0; k < 4; k++) {
        const nx = x + (k === 0 ? 1 : k - 2);
        const ny = y + (k === 0 ? 0 : 1);
        if (nx < rect.x0 || nx >= rect.x1 || ny >= rect.y1) continue;
        readColour(image, ny * image.width + nx, b);
        total += (a[0]! - b[0]!) ** 2 + (a[1]! - b[1]!) ** 2 + (a[2]! - b[2]!) ** 2;
        pairs++;
      }
    }
  }
  return total > 0 ? pairs / (2 * total) : 0;
}

/**
 * The full-resolution mask: the working labels upsampled (nearest cell), except in a band of ±bandRadius
 * working cells around their boundary, which gets its own graph cut at full resolution with the learnt
 * colour models (banded graph cut, Lombaert et al. 2005).
 */
function refineAtFullResolution(
  image: RasterImage,
  box: Rect,
  work: Work,
  seg: Segmentation,
  hints: ObjectHints,
  hintRadius: number,
): Buffer {
  const { region, cols, rows } = work;
  const rw = region.x1 - region.x0;
  const rh = region.y1 - region.y0;
  const gw = work.box.x1 - work.box.x0;
  const gh = work.box.y1 - work.box.y0;
  const labels = seg.labels;
  const fbw = box.x1 - box.x0;
  const fbh = box.y1 - box.y0;
  const cellX = new Int32Array(fbw);
  for (let x = 0; x < fbw; x++) {
    cellX[x] = Math.min(gw - 1, Math.max(0, Math.floor(((box.x0 + x - region.x0) * cols) / rw) - work.box.x0));
  }
  const cellY = new Int32Array(fbh);
  for (let y = 0; y < fbh; y++) {
    cellY[y] = Math.min(gh - 1, Math.max(0, Math.floor(((box.y0 + y - region.y0) * rows) / rh) - work.box.y0));
  }
  const mask = Buffer.alloc(image.width * image.height);
  const fullScale = cols / rw;
  if (fullScale >= 1) {
    for (let y = 0; y < fbh; y++) {
      for (let x = 0; x < fbw; x++)
        if (labels[cellY[y]! * gw + cellX[x]!]) mask[(box.y0 + y) * image.width + box.x0 + x] = 255;
    }
    return mask;
  }
  // Cells on the boundary (a neighbour, or the outside of the box, labelled otherwise), grown by the radius.
  const edge = new Uint8Array(gw * gh);
  for (let y = 0; y < gh; y++) {
    for (let x = 0; x < gw; x++) {
      const l = labels[y * gw + x]!;
      let differs = false;
      for (let dy = -1; dy <= 1 && !differs; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          const ny = y + dy;
          const other = nx < 0 || ny < 0 || nx >= gw || ny >= gh ? 0 : labels[ny * gw + nx]!;
          if (other !== l) {
            differs = true;
            break;
          }
        }
      }
      if (differs) edge[y * gw + x] = 1;
    }
  }
  const band = new Uint8Array(gw * gh);
  const r = Math.max(0, Math.ceil(BAND_PIXELS * fullScale) - 1);
  for (let y = 0; y < gh; y++) {
    for (let x = 0; x < gw; x++) {
      if (!edge[y * gw + x]) continue;
      for (let ny = Math.max(0, y - r); ny <= Math.min(gh - 1, y + r); ny++) {
        for (let nx = Math.max(0, x - r); nx <= Math.min(gw - 1, x + r); nx++) band[ny * gw + nx] = 1;
      }
    }
  }
  const bandPixels: number[] = [];
  for (let y = 0; y < fbh; y++) {
    const rowCells = cellY[y]! * gw;
    for (let x = 0; x < fbw; x++) {
      const cell = rowCells + cellX[x]!;
      if (band[cell]) bandPixels.push(y * fbw + x);
      else if (labels[cell]) mask[(box.y0 + y) * image.width + box.x0 + x] = 255;
    }
  }
  const nodes = bandPixels.length;
  if (nodes === 0) return mask;
  const pixels = Int32Array.from(bandPixels);
  const neighbours = gridNeighbours(fbw, fbh, pixels);
  const rowStep = Math.max(1, Math.floor((fbw * fbh) / 250_000));
  const beta = contrastBetaFull(image, box, rowStep);
  const capacities = new Float64Array(nodes * SLOTS);
  const source = new Float64Array(nodes);
  const sink = new Float64Array(nodes);
  const hard = new Int8Array(nodes);
  const fullHintRadius = hintRadius / fullScale;
  const mark = (points: ReadonlyArray<PixelPoint> | undefined, value: 1 | -1) => {
    if (!points?.length) return;
    for (let node = 0; node < nodes; node++) {
      const p = pixels[node]!;
      const x = box.x0 + (p % fbw) + 0.5;
      const y = box.y0 + Math.floor(p / fbw) + 0.5;
      for (const [px, py] of points) {
        if ((x - px - 0.5) ** 2 + (y - py - 0.5) ** 2 <= fullHintRadius * fullHintRadius) hard[node] = value;
      }
    }
  };
  mark(hints.include, 1);
  mark(hints.exclude, -1);
  const a = new Float64Array(3);
  const b = new Float64Array(3);
  for (let node = 0; node < nodes; node++) {
    const p = pixels[node]!;
    const bx = p % fbw;
    const by = (p - bx) / fbw;
    const x = box.x0 + bx;
    const y = box.y0 + by;
    readColour(image, y * image.width + x, a);
    // What the colour models saw: RGB, or intensity + the cell's texture for a grey image.
    let f1 = a[1]!;
    let f2 = a[2]!;
    if (work.texture) {
      const cell = (cellY[by]! + work.box.y0) * cols + cellX[bx]! + work.box.x0;
      f1 = work.texture[cell * 2]!;
      f2 = work.texture[cell * 2 + 1]!;
    }
    let s = -logDensity(seg.bg, a[0]!, f1, f2);
    let t = -logDensity(seg.fg, a[0]!, f1, f2);
    if (seg.priorWeight > 0) {
      const [f, g] = priorCosts(ellipseRadius(box, x + 0.5, y + 0.5));
      s += seg.priorWeight * g;
      t += seg.priorWeight * f;
    }
    if (seg.hintColours.length > 0) {
      const [toObject, toBackground] = hintPush(seg.hintColours, x + 0.5, y + 0.5, a[0]!, f1, f2);
      s += toObject;
      t += toBackground;
    }
    for (let slot = 0; slot < SLOTS; slot++) {
      const [dx, dy] = SLOT_OFFSETS[slot]!;
      const nx = x + dx;
      const ny = y + dy;
      if (nx < 0 || ny < 0 || nx >= image.width || ny >= image.height) continue;
      readColour(image, ny * image.width + nx, b);
      const d = (a[0]! - b[0]!) ** 2 + (a[1]! - b[1]!) ** 2 + (a[2]! - b[2]!) ** 2;
      const weight = (dx !== 0 && dy !== 0 ? Math.SQRT1_2 : 1) * GAMMA * Math.exp(-beta * d);
      if (neighbours[node * SLOTS + slot]! >= 0) {
        capacities[node * SLOTS + slot] = weight;
        continue;
      }
      const inBox = nx >= box.x0 && nx < box.x1 && ny >= box.y0 && ny < box.y1;
      const fixed = inBox ? labels[cellY[ny - box.y0]! * gw + cellX[nx - box.x0]!]! : 0;
      if (fixed) s += weight;
      else t += weight;
    }
    if (hard[node] === 1) s = HARD;
    else if (hard[node] === -1) t = HARD;
    const floor = Math.min(s, t);
    source[node] = s - floor;
    sink[node] = t - floor;
  }
  const cut = minCut({ nodeCount: nodes, neighbours, capacities, source, sink });
  for (let node = 0; node < nodes; node++) {
    if (!cut.sourceSide[node]) continue;
    const p = pixels[node]!;
    const bx = p % fbw;
    mask[(box.y0 + (p - bx) / fbw) * image.width + box.x0 + bx] = 255;
  }
  return mask;
}

/**
 * How well colour tells the box's core (inside half the inscribed ellipse, almost always object) from the
 * ring around the box (background): 2 × balanced accuracy − 1 of the posterior under a GMM of each,
 * 0 = the same colours, 1 = disjoint colours.
 */
function coreRingSeparation(work: Work): number {
  const { cols, box, colours } = work;
  const bw = box.x1 - box.x0;
  const bh = box.y1 - box.y0;
  const { ring, strip } = outsideSample(work);
  const core: number[] = [];
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      const p = (y + box.y0) * cols + x + box.x0;
      if (strip[y * bw + x]) ring.push(p);
      else if (((x + 0.5) / bw - 0.5) ** 2 + ((y + 0.5) / bh - 0.5) ** 2 <= 0.0625) core.push(p);
    }
  }
  if (core.length === 0 || ring.length === 0) return 0;
  const coreSet = { colours, members: Int32Array.from(core) };
  const ringSet = { colours, members: Int32Array.from(ring) };
  const coreModel = refitColourModel(coreSet, fitColourModel(coreSet));
  const ringModel = refitColourModel(ringSet, fitColourModel(ringSet));
  const posterior = (members: number[], own: ColourModel, other: ColourModel) => {
    let total = 0;
    for (const p of members) {
      const r = colours[p * 3]!;
      const g = colours[p * 3 + 1]!;
      const b = colours[p * 3 + 2]!;
      const d = logDensity(other, r, g, b) - logDensity(own, r, g, b);
      total += 1 / (1 + Math.exp(d));
    }
    return total / members.length;
  };
  return posterior(core, coreModel, ringModel) + posterior(ring, ringModel, coreModel) - 1;
}

export const selectObject: SelectObject = (image: RasterImage, box: PixelBox, hints: ObjectHints = {}): Selection => {
  const clipped = clipBox(box, image.width, image.height);
  const bw = clipped.x1 - clipped.x0;
  const bh = clipped.y1 - clipped.y0;
  if (bw < MIN_BOX_SIDE || bh < MIN_BOX_SIDE) {
    return {
      mask: ellipseMask(image.width, image.height, clipped, hints, 0.5),
      decided: "fallback",
      reason: `the box is too small to segment (${bw} × ${bh} px); used an ellipse fitted to the box`,
    };
  }
  const work = prepareWork(image, clipped);
  const hintRadius = Math.max(1.5, 0.03 * Math.min(work.box.x1 - work.box.x0, work.box.y1 - work.box.y0));
  const { grid: hard, colours: hintColours } = hintGrid(work, hints, hintRadius);
  const separation = coreRingSeparation(work);
  const priorWeight = PRIOR_WEIGHT * Math.min(1, Math.max(0, (SEPARATED - separation) / (SEPARATED - AMBIGUOUS)));
  const seg = grabCut(work, hard, hintColours, priorWeight);
  const gw = work.box.x1 - work.box.x0;
  const gh = work.box.y1 - work.box.y0;
  let area = 0;
  for (const v of seg.labels) area += v;
  const { largestShare } = tidyMask(seg.labels, gw, gh, { keepFraction: KEEP_FRACTION, maxHole: area * HOLE_FRACTION });
  // Hints win over tidying: an included speck stays, an excluded hole stays open.
  for (let node = 0; node < hard.length; node++) if (hard[node]) seg.labels[node] = hard[node] === 1 ? 1 : 0;
  area = 0;
  for (const v of seg.labels) area += v;
  const fraction = area / (gw * gh);
  const sep = separation.toFixed(2);
  const implausible =
    fraction < MIN_FRACTION
      ? `the cut kept only ${percent(fraction)} of the box`
      : fraction > MAX_FRACTION
        ? `the cut kept nearly the whole box (${percent(fraction)})`
        : largestShare < MIN_LARGEST_SHARE
          ? `the cut fell apart into pieces (the largest ${percent(largestShare)} of it)`
          : undefined;
  if (implausible) {
    return {
      mask: ellipseMask(image.width, image.height, clipped, hints, hintRadius * ((clipped.x1 - clipped.x0) / gw)),
      decided: "fallback",
      reason: `${implausible}, not a plausible object (colour separation ${sep}); used an ellipse fitted to the box`,
    };
  }
  const mask = refineAtFullResolution(image, clipped, work, seg, hints, hintRadius);
  if (separation < FALLBACK_SEPARATION) {
    return {
      mask,
      decided: "fallback",
      reason: `colours inside and outside the box overlap too much (separation ${sep}); followed the strongest edges near an ellipse fitted to the box`,
    };
  }
  return {
    mask,
    decided: "segmented",
    reason: `object segmented: ${percent(fraction)} of the box (colour separation ${sep})`,
  };
};
