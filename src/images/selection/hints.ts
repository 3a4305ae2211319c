import type { ObjectHints, PixelPoint } from "./types.js";
import type { Work } from "./working-grid.js";

/**
 * Hint points (a person's scribbles, as points): each is a hard constraint on a small disk, and it pulls
 * what is *connected to it in similar colour* the same way — a geodesic brush (the idea of Bai & Sapiro's
 * geodesic matting and of Criminisi's GeoS): the cost of a path is the colour change along it beyond the
 * region's usual cell-to-cell change, plus a little per step so the pull fades across the box. An exclude
 * point on a wall removes the wall, not just a dot of it; an include point on the cup's body brings the
 * body, without pulling a same-coloured thing elsewhere that an edge separates from it.
 */

/** Cost pushed onto the other label at a hint's own disk, in nats; it fades as exp(−distance / FALLOFF). */
const PULL = 16;
/** Geodesic distance (colour levels) over which the pull falls by e. */
const FALLOFF = 8;
/** Crossing the whole box's diagonal through flat colour costs this much (so the pull reaches e^-1.5 there). */
const SPAN_COST = 36;

export interface HintField {
  /** On the box grid: 1 include, −1 exclude, 0 elsewhere (a later hint wins). */
  hard: Int8Array;
  /** Per box-grid node: added cost of labelling it background (pull towards the object). */
  toObject: Float64Array;
  /** Per box-grid node: added cost of labelling it object (pull towards the background). */
  toBackground: Float64Array;
  /** True when any hint touched the box. */
  any: boolean;
}

/** A binary min-heap of node numbers keyed by a distance array (lazy deletion: stale entries are skipped). */
class NodeHeap {
  private nodes: Int32Array;
  private keys: Float64Array;
  size = 0;
  constructor(capacity: number) {
    this.nodes = new Int32Array(capacity);
    this.keys = new Float64Array(capacity);
  }
  push(node: number, key: number): void {
    if (this.size === this.nodes.length) {
      const nodes = new Int32Array(this.nodes.length * 2);
      nodes.set(this.nodes);
      const keys = new Float64Array(this.keys.length * 2);
      keys.set(this.keys);
      this.nodes = nodes;
      this.keys = keys;
    }
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.keys[parent]! <= key) break;
      this.nodes[i] = this.nodes[parent]!;
      this.keys[i] = this.keys[parent]!;
      i = parent;
    }
    this.nodes[i] = node;
    this.keys[i] = key;
  }
  /** Removes the smallest entry; returns its node, its key in `out[0]`. */
  pop(out: Float64Array): number {
    const top = this.nodes[0]!;
    out[0] = this.keys[0]!;
    const lastNode = this.nodes[--this.size]!;
    const lastKey = this.keys[this.size]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= this.size) break;
      if (child + 1 < this.size && this.keys[child + 1]! < this.keys[child]!) child++;
      if (this.keys[child]! >= lastKey) break;
      this.nodes[i] = this.nodes[child]!;
      this.keys[i] = this.keys[child]!;
      i = child;
    }
    this.nodes[i] = lastNode;
    this.keys[i] = lastKey;
    return top;
  }
}

/**
 * Geodesic distance on the box grid from `seeds` (4-neighbour steps): a step costs the colour change
 * beyond `noise` plus `stepCost`.
 */
export function geodesicDistance(
  work: Work,
  seeds: ReadonlyArray<number>,
  noise: number,
  stepCost: number,
): Float64Array {
  const { cols, box, colours } = work;
  const bw = box.x1 - box.x0;
  const bh = box.y1 - box.y0;
  const distance = new Float64Array(bw * bh).fill(Number.POSITIVE_INFINITY);
  const heap = new NodeHeap(Math.max(16, seeds.length * 4));
  for (const node of seeds) {
    distance[node] = 0;
    heap.push(node, 0);
  }
  const key = new Float64Array(1);
  while (heap.size > 0) {
    const node = heap.pop(key);
    if (key[0]! > distance[node]!) continue;
    const x = node % bw;
    const y = (node - x) / bw;
    const p = ((y + box.y0) * cols + x + box.x0) * 3;
    for (let k = 0; k < 4; k++) {
      const nx = x + (k === 0 ? 1 : k === 1 ? -1 : 0);
      const ny = y + (k === 2 ? 1 : k === 3 ? -1 : 0);
      if (nx < 0 || ny < 0 || nx >= bw || ny >= bh) continue;
      const q = ((ny + box.y0) * cols + nx + box.x0) * 3;
      const step = Math.hypot(
        colours[p]! - colours[q]!,
        colours[p + 1]! - colours[q + 1]!,
        colours[p + 2]! - colours[q + 2]!,
      );
      const d = key[0]! + Math.max(0, step - noise) + stepCost;
      const next = ny * bw + nx;
      if (d < distance[next]!) {
        distance[next] = d;
        heap.push(next, d);
      }
    }
  }
  return distance;
}

/** The median colour change between horizontal neighbours in the box: the region's texture, not an edge. */
function typicalStep(work: Work): number {
  const { cols, box, colours } = work;
  const steps: number[] = [];
  const stride = Math.max(1, Math.floor(((box.x1 - box.x0) * (box.y1 - box.y0)) / 20_000));
  let i = 0;
  for (let y = box.y0; y < box.y1; y++) {
    for (let x = box.x0; x + 1 < box.x1; x++) {
      if (i++ % stride !== 0) continue;
      const p = (y * cols + x) * 3;
      steps.push(
        Math.hypot(colours[p]! - colours[p + 3]!, colours[p + 1]! - colours[p + 4]!, colours[p + 2]! - colours[p + 5]!),
      );
    }
  }
  if (steps.length === 0) return 0;
  steps.sort((a, b) => a - b);
  return steps[steps.length >> 1]!;
}

/**
 * The hints on the working grid: a disk of `radius` working cells around each point (hard), and the
 * geodesic pull of the include and the exclude points.
 */
export function hintField(work: Work, hints: ObjectHints, radius: number): HintField {
  const { box, region, cols, rows } = work;
  const bw = box.x1 - box.x0;
  const bh = box.y1 - box.y0;
  const hard = new Int8Array(bw * bh);
  const toObject = new Float64Array(bw * bh);
  const toBackground = new Float64Array(bw * bh);
  const scaleX = cols / (region.x1 - region.x0);
  const scaleY = rows / (region.y1 - region.y0);
  const mark = (points: ReadonlyArray<PixelPoint> | undefined, value: 1 | -1): number[] => {
    const seeds: number[] = [];
    for (const [px, py] of points ?? []) {
      const cx = (px + 0.5 - region.x0) * scaleX - box.x0;
      const cy = (py + 0.5 - region.y0) * scaleY - box.y0;
      const r = Math.ceil(radius);
      for (let y = Math.max(0, Math.floor(cy) - r); y <= Math.min(bh - 1, Math.floor(cy) + r); y++) {
        for (let x = Math.max(0, Math.floor(cx) - r); x <= Math.min(bw - 1, Math.floor(cx) + r); x++) {
          if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 > radius * radius) continue;
          hard[y * bw + x] = value;
          seeds.push(y * bw + x);
        }
      }
    }
    return seeds;
  };
  const include = mark(hints.include, 1);
  const exclude = mark(hints.exclude, -1);
  // A hint outside the box pins nothing (its disk missed the box) and pulls nothing.
  if (include.length > 0 || exclude.length > 0) {
    const noise = typicalStep(work);
    const stepCost = SPAN_COST / Math.hypot(bw, bh);
    const pull = (seeds: number[], out: Float64Array) => {
      if (seeds.length === 0) return;
      const distance = geodesicDistance(work, seeds, noise, stepCost);
      for (let node = 0; node < out.length; node++) out[node] = PULL * Math.exp(-distance[node]! / FALLOFF);
    };
    pull(include, toObject);
    pull(exclude, toBackground);
  }
  return { hard, toObject, toBackground, any: include.length > 0 || exclude.length > 0 };
}
