import { type ColourModel, type ColourSet, fitColourModel, fitGaussian, logDensity, refitColourModel } from "./gmm.js";
import { gridNeighbours, MinCutSolver, SLOT_OFFSETS, SLOTS } from "./maxflow.js";
import type { ObjectHints, PixelPoint } from "./types.js";
import { outsideSample, type Rect, type Work } from "./working-grid.js";

/**
 * GrabCut on the working grid (Rother et al. 2004, as OpenCV's grabCut does it): colour models of the box
 * and of the ring, an 8-neighbour graph cut with edge-aware smoothness, iterated; plus what OpenCV lacks:
 * an ellipse prior in the unary costs (weighted by the caller), hint points' colours, and a measure of how
 * well colour separates the box's core from its ring.
 */

/** GrabCut rounds at most (OpenCV's tutorial uses 5); stops early when < 0.1 % of the labels change. */
const ITERATIONS = 5;
/** OpenCV's smoothness γ (n-link γ·exp(−β‖Δz‖²), γ/√2 on diagonals). */
export const GAMMA = 50;
/** Hard constraint (hint disks): more than any pixel's n-links and data costs together. */
export const HARD = 1e9;
/** The prior's edge, in units of the inscribed ellipse's radius, and its softness (logistic width). */
const PRIOR_EDGE = 1;
const PRIOR_SOFTNESS = 0.12;

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
export function ellipseRadius(box: Rect, fx: number, fy: number): number {
  const u = (fx - (box.x0 + box.x1) / 2) / ((box.x1 - box.x0) / 2);
  const v = (fy - (box.y0 + box.y1) / 2) / ((box.y1 - box.y0) / 2);
  return Math.sqrt(u * u + v * v);
}

/** The shape prior's costs [of labelling foreground, of labelling background] at elliptical radius rho. */
export function priorCosts(rho: number): [number, number] {
  const t = (rho - PRIOR_EDGE) / PRIOR_SOFTNESS;
  // −log σ(−t) and −log σ(t), computed without overflow.
  const softplus = (z: number) => (z > 30 ? z : Math.log1p(Math.exp(z)));
  return [softplus(t), softplus(-t)];
}

export interface Segmentation {
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
export interface HintColour {
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
export function hintPush(hints: HintColour[], x: number, y: number, r: number, g: number, b: number): [number, number] {
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

/** GrabCut on the working grid: the box's nodes are unknown, the ring outside it is background. */
export function grabCut(work: Work, hard: Int8Array, hintColours: HintColour[], priorWeight: number): Segmentation {
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
export function hintGrid(work: Work, hints: ObjectHints, radius: number): { grid: Int8Array; colours: HintColour[] } {
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

/**
 * How well colour tells the box's core (inside half the inscribed ellipse, almost always object) from the
 * ring around the box (background): 2 × balanced accuracy − 1 of the posterior under a GMM of each,
 * 0 = the same colours, 1 = disjoint colours.
 */
export function coreRingSeparation(work: Work): number {
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
