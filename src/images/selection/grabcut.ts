import { type ColourModel, type ColourSet, fitColourModel, logDensity, refitColourModel } from "./gmm.js";
import type { HintField } from "./hints.js";
import { gridNeighbours, MinCutSolver, SLOT_OFFSETS, SLOTS } from "./maxflow.js";
import { outsideSample, type Rect, type Work } from "./working-grid.js";

/**
 * GrabCut on the working grid (Rother et al. 2004, as OpenCV's grabCut does it): colour models of the box
 * and of the ring, an 8-neighbour graph cut with edge-aware smoothness, iterated; plus what OpenCV lacks:
 * an ellipse prior in the unary costs (weighted by the caller), hint points' geodesic pull (hints.ts), and a measure of how
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
/** startLabels: how much better (nats) the ring must explain a colour for its cell to start as background. */
const RING_START_MARGIN = 1;

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
  hints: HintField;
  /**
   * GrabCut's energy of the labels under the models of the last cut (data + prior + hints + smoothness,
   * hard constraints left out): lower is better, comparable between runs on the same work and prior.
   */
  energy: number;
}

/**
 * GrabCut on the working grid: the box's nodes are unknown, the ring outside it is background. OpenCV starts
 * with the whole box as object; `start` (1 = object, on the box grid) lets the caller start from less, so the
 * first object model does not learn the background inside the box (see startLabels).
 */
export function grabCut(work: Work, hints: HintField, priorWeight: number, start?: Uint8Array): Segmentation {
  const { hard } = hints;
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
  for (let node = 0; node < nodes; node++) {
    labels[node] = hard[node] === 1 ? 1 : hard[node] === -1 || strip[node] || (start && !start[node]) ? 0 : 1;
  }
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
  const source = new Float64Array(nodes);
  const sink = new Float64Array(nodes);
  const solver = new MinCutSolver({
    nodeCount: nodes,
    neighbours,
    capacities: links,
    source: new Float64Array(nodes),
    sink: new Float64Array(nodes),
  });
  let energy = 0;
  for (let iteration = 0; iteration < ITERATIONS; iteration++) {
    fg = refitColourModel(fgSet, fg);
    bg = refitColourModel(bgSet, bg);
    let floors = 0;
    for (let node = 0; node < nodes; node++) {
      const p = pixelOf[node]! * 3;
      const r = colours[p]!;
      const g = colours[p + 1]!;
      const b = colours[p + 2]!;
      let s = -logDensity(bg, r, g, b) + priorWeight * priorBg[node]! + hints.toObject[node]!;
      let t = -logDensity(fg, r, g, b) + priorWeight * priorFg[node]! + toBackground[node]! + hints.toBackground[node]!;
      if (hard[node] === 1) s = HARD;
      else if (hard[node] === -1) t = HARD;
      const floor = Math.min(s, t);
      source[node] = s - floor;
      sink[node] = t - floor;
      if (hard[node] === 0) floors += floor;
    }
    solver.setTerminals(source, sink);
    const cut = solver.solve();
    let changed = 0;
    energy = 0;
    for (let node = 0; node < nodes; node++) {
      if (labels[node] !== cut.sourceSide[node]) changed++;
      labels[node] = cut.sourceSide[node]!;
    }
    for (let node = 0; node < nodes; node++) {
      if (hard[node] === 0) energy += labels[node] ? sink[node]! : source[node]!;
      // Each pair of neighbours once (the link is the same both ways).
      for (let slot = 0; slot < SLOTS; slot++) {
        const other = neighbours[node * SLOTS + slot]!;
        if (other > node && labels[other] !== labels[node]) energy += links[node * SLOTS + slot]!;
      }
    }
    energy += floors;
    [fgSet, bgSet] = sets();
    if (iteration > 0 && changed <= nodes * 0.001) break;
  }
  return { labels, fg, bg, priorWeight, hints, energy };
}

/**
 * How well colour tells the box's core (inside half the inscribed ellipse, almost always object) from the
 * ring around the box (background): 2 × balanced accuracy − 1 of the posterior under a GMM of each,
 * 0 = the same colours, 1 = disjoint colours.
 */
export function coreRingSeparation(work: Work): number {
  return coreRing(work).separation;
}

/** The box's core and the ring around it: their colour models, and how well those tell them apart. */
export interface CoreRing {
  /** 0 = the same colours, 1 = disjoint colours (coreRingSeparation). */
  separation: number;
  core?: ColourModel;
  ring?: ColourModel;
}

/** Inside half the inscribed ellipse of a bw × bh box grid: the core, almost always object. */
export function inCore(x: number, y: number, bw: number, bh: number): boolean {
  return ((x + 0.5) / bw - 0.5) ** 2 + ((y + 0.5) / bh - 0.5) ** 2 <= 0.0625;
}

export function coreRing(work: Work): CoreRing {
  const { cols, box, colours } = work;
  const bw = box.x1 - box.x0;
  const bh = box.y1 - box.y0;
  const { ring, strip } = outsideSample(work);
  const core: number[] = [];
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      const p = (y + box.y0) * cols + x + box.x0;
      if (strip[y * bw + x]) ring.push(p);
      else if (inCore(x, y, bw, bh)) core.push(p);
    }
  }
  if (core.length === 0 || ring.length === 0) return { separation: 0 };
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
  return {
    separation: posterior(core, coreModel, ringModel) + posterior(ring, ringModel, coreModel) - 1,
    core: coreModel,
    ring: ringModel,
  };
}

/**
 * A second place for GrabCut to start (1 = object, on the box grid): the box, less the cells outside its
 * core whose colour the ring's model explains better than the core's by at least RING_START_MARGIN
 * (log-likelihood). OpenCV starts from the whole box, so when the box holds much background (a sprawling
 * object, a loose box, grass running in from the sides) its first object model learns that background and
 * the cut keeps it (the footballer took the grass by his feet). Those cells start as background, so the
 * first models are fitted without them; every cell is still decided by the cut. Undefined without the two
 * models (no core or no ring to learn from).
 */
export function startLabels(work: Work, models: CoreRing): Uint8Array | undefined {
  const { core, ring } = models;
  if (!core || !ring) return undefined;
  const { cols, box, colours } = work;
  const bw = box.x1 - box.x0;
  const bh = box.y1 - box.y0;
  const start = new Uint8Array(bw * bh);
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      const node = y * bw + x;
      const p = ((y + box.y0) * cols + x + box.x0) * 3;
      const r = colours[p]!;
      const g = colours[p + 1]!;
      const b = colours[p + 2]!;
      const object = inCore(x, y, bw, bh) || logDensity(core, r, g, b) + RING_START_MARGIN >= logDensity(ring, r, g, b);
      if (object) start[node] = 1;
    }
  }
  return start;
}
