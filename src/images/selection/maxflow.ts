/**
 * Minimum s–t cut by Boykov–Kolmogorov max-flow (PAMI 26(9), 2004; the algorithm of Kolmogorov's maxflow
 * library and of OpenCV's GrabCut), on graphs where every node has at most 8 neighbours: an image grid or a
 * band of pixels cut out of one. Typed arrays only, no per-node objects, deterministic.
 *
 * Arcs live in slots: arc `node * 8 + slot` goes from `node` to `neighbours[node * 8 + slot]`, and its reverse
 * arc is slot `7 − slot` of that neighbour (the grid offsets below are laid out so that slot and 7 − slot are
 * opposite directions). A missing arc has neighbour −1 and capacity 0.
 */

export const SLOTS = 8;

/** Grid offsets [dx, dy] per slot; slot 7 − s is the opposite of slot s. */
export const SLOT_OFFSETS: ReadonlyArray<readonly [number, number]> = [
  [-1, -1],
  [0, -1],
  [1, -1],
  [-1, 0],
  [1, 0],
  [-1, 1],
  [0, 1],
  [1, 1],
];

export interface FlowGraph {
  nodeCount: number;
  /** node * 8 + slot → the neighbour's node index, or −1. */
  neighbours: Int32Array;
  /** node * 8 + slot → capacity of the arc towards that neighbour (0 for a missing arc). Consumed by minCut. */
  capacities: Float64Array;
  /** Capacity of the arc source → node (the cost of putting the node on the sink side). */
  source: Float64Array;
  /** Capacity of the arc node → sink (the cost of putting the node on the source side). */
  sink: Float64Array;
}

export interface MinCut {
  /** Maximum flow = capacity of the minimum cut. */
  flow: number;
  /** 1 for nodes on the source side of a minimum cut, 0 for the sink side. */
  sourceSide: Uint8Array;
}

/**
 * The 8-neighbourhood of the pixels `pixels` (indices into a width × height grid, each once) as node
 * indices in the order given: a neighbour that is not in `pixels` (or off the grid) is −1. Without `pixels`,
 * every pixel of the grid is a node, in raster order.
 */
export function gridNeighbours(width: number, height: number, pixels?: Int32Array): Int32Array {
  const count = pixels ? pixels.length : width * height;
  const neighbours = new Int32Array(count * SLOTS).fill(-1);
  let nodeOf: Int32Array | undefined;
  if (pixels) {
    nodeOf = new Int32Array(width * height).fill(-1);
    for (let node = 0; node < count; node++) nodeOf[pixels[node]!] = node;
  }
  for (let node = 0; node < count; node++) {
    const pixel = pixels ? pixels[node]! : node;
    const x = pixel % width;
    const y = (pixel - x) / width;
    for (let slot = 0; slot < SLOTS; slot++) {
      const [dx, dy] = SLOT_OFFSETS[slot]!;
      const nx = x + dx;
      const ny = y + dy;
      if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
      const other = ny * width + nx;
      neighbours[node * SLOTS + slot] = nodeOf ? nodeOf[other]! : other;
    }
  }
  return neighbours;
}

const FREE = -1;
const TERMINAL = 8;
const ORPHAN = 9;
const FAR = 0x3fffffff;

/**
 * A max-flow solver that keeps its residual network between solves, so that after the terminal capacities
 * change (GrabCut's next iteration: new colour models, same n-links) only the difference has to flow
 * (Kohli & Torr's dynamic graph cuts, with the search trees rebuilt from scratch each solve).
 */
export class MinCutSolver {
  private readonly graph: FlowGraph;
  /** Residual terminal capacity: > 0 from the source, < 0 to the sink. */
  private readonly terminal: Float64Array;
  private flow = 0;
  private primed = false;

  /** Takes over `graph.capacities` as its residual network. */
  constructor(graph: FlowGraph) {
    this.graph = graph;
    this.terminal = new Float64Array(graph.nodeCount);
  }

  /**
   * New terminal capacities (the arrays are read, not kept). The minimum cut of the graph with these
   * capacities is what the next solve() returns.
   */
  setTerminals(source: Float64Array, sink: Float64Array): void {
    const { terminal } = this;
    for (let i = 0; i < this.graph.nodeCount; i++) {
      const s = source[i]!;
      const t = sink[i]!;
      if (!this.primed) {
        this.flow += Math.min(s, t);
        terminal[i] = s - t;
        continue;
      }
      // Moving from (s, t) to (s', t') adds s' − s to the residual source side and t' − t to the sink
      // side; in the net form that is tr += Δs − Δt, plus a constant per node that every cut pays.
      const ds = s - this.graph.source[i]!;
      const dt = t - this.graph.sink[i]!;
      const before = terminal[i]!;
      const after = before + ds - dt;
      this.flow += ds - Math.max(after, 0) + Math.max(before, 0);
      terminal[i] = after;
    }
    this.graph.source.set(source);
    this.graph.sink.set(sink);
    this.primed = true;
  }

  solve(): MinCut {
    if (!this.primed) this.setTerminals(Float64Array.from(this.graph.source), Float64Array.from(this.graph.sink));
    const result = augmentToMaxFlow(this.graph, this.terminal);
    this.flow += result.flow;
    return { flow: this.flow, sourceSide: result.sourceSide };
  }
}

/** Solves max-flow / min-cut on `graph` once. The arc capacities are left holding the residual network. */
export function minCut(graph: FlowGraph): MinCut {
  const solver = new MinCutSolver({
    ...graph,
    source: Float64Array.from(graph.source),
    sink: Float64Array.from(graph.sink),
  });
  return solver.solve();
}

/**
 * Boykov–Kolmogorov on the residual network (arc capacities + net terminal capacities, both updated in
 * place); returns the flow it added and the source side of the minimum cut.
 */
function augmentToMaxFlow(graph: FlowGraph, terminal: Float64Array): MinCut {
  const { nodeCount: n, neighbours: nb, capacities: cap } = graph;
  let flow = 0;
  const parent = new Int8Array(n).fill(FREE);
  const inSink = new Uint8Array(n);
  const stamp = new Int32Array(n);
  const dist = new Int32Array(n);
  const active = new Uint8Array(n);
  const queue = new Int32Array(Math.max(1, n));
  let queueHead = 0;
  let queueLength = 0;
  const orphans = new Int32Array(Math.max(1, n));
  let orphanHead = 0;
  let orphanLength = 0;
  let time = 0;

  const setActive = (node: number): void => {
    if (active[node]) return;
    active[node] = 1;
    let at = queueHead + queueLength;
    if (at >= n) at -= n;
    queue[at] = node;
    queueLength++;
  };
  const orphanFront = (node: number): void => {
    parent[node] = ORPHAN;
    orphanHead = orphanHead === 0 ? n - 1 : orphanHead - 1;
    orphans[orphanHead] = node;
    orphanLength++;
  };
  const orphanRear = (node: number): void => {
    parent[node] = ORPHAN;
    let at = orphanHead + orphanLength;
    if (at >= n) at -= n;
    orphans[at] = node;
    orphanLength++;
  };

  for (let i = 0; i < n; i++) {
    const r = terminal[i]!;
    if (r !== 0) {
      parent[i] = TERMINAL;
      inSink[i] = r < 0 ? 1 : 0;
      dist[i] = 1;
      setActive(i);
    }
  }

  /** Pushes the bottleneck along source → … → from —slot→ … → sink and orphans the saturated tree arcs. */
  const augment = (from: number, slot: number): void => {
    const middle = from * SLOTS + slot;
    const to = nb[middle]!;
    const middleReverse = to * SLOTS + (SLOTS - 1 - slot);
    let bottleneck = cap[middle]!;
    let x = from;
    for (let d = parent[x]!; d !== TERMINAL; d = parent[x]!) {
      const up = nb[x * SLOTS + d]!;
      const c = cap[up * SLOTS + (SLOTS - 1 - d)]!;
      if (c < bottleneck) bottleneck = c;
      x = up;
    }
    if (terminal[x]! < bottleneck) bottleneck = terminal[x]!;
    x = to;
    for (let d = parent[x]!; d !== TERMINAL; d = parent[x]!) {
      const c = cap[x * SLOTS + d]!;
      if (c < bottleneck) bottleneck = c;
      x = nb[x * SLOTS + d]!;
    }
    if (-terminal[x]! < bottleneck) bottleneck = -terminal[x]!;

    cap[middleReverse] = cap[middleReverse]! + bottleneck;
    cap[middle] = cap[middle]! - bottleneck;
    x = from;
    for (let d = parent[x]!; d !== TERMINAL; d = parent[x]!) {
      const arc = x * SLOTS + d;
      const up = nb[arc]!;
      const reverse = up * SLOTS + (SLOTS - 1 - d);
      cap[arc] = cap[arc]! + bottleneck;
      cap[reverse] = cap[reverse]! - bottleneck;
      if (cap[reverse] === 0) orphanFront(x);
      x = up;
    }
    terminal[x] = terminal[x]! - bottleneck;
    if (terminal[x] === 0) orphanFront(x);
    x = to;
    for (let d = parent[x]!; d !== TERMINAL; d = parent[x]!) {
      const arc = x * SLOTS + d;
      const down = nb[arc]!;
      const reverse = down * SLOTS + (SLOTS - 1 - d);
      cap[reverse] = cap[reverse]! + bottleneck;
      cap[arc] = cap[arc]! - bottleneck;
      if (cap[arc] === 0) orphanFront(x);
      x = down;
    }
    terminal[x] = terminal[x]! + bottleneck;
    if (terminal[x] === 0) orphanFront(x);
    flow += bottleneck;
  };

  /**
   * Length of the path from `start` to its tree's terminal, or FAR if it runs into an orphan; marks the
   * nodes on a valid path with this round's stamp and their distance (Kolmogorov's heuristics).
   */
  const originDistance = (start: number): number => {
    let d = 0;
    let y = start;
    for (;;) {
      if (stamp[y] === time) {
        d += dist[y]!;
        break;
      }
      const up = parent[y]!;
      d++;
      if (up === TERMINAL) {
        stamp[y] = time;
        dist[y] = 1;
        break;
      }
      if (up === ORPHAN) return FAR;
      y = nb[y * SLOTS + up]!;
    }
    let mark = d;
    for (y = start; stamp[y] !== time; y = nb[y * SLOTS + parent[y]!]!) {
      stamp[y] = time;
      dist[y] = mark--;
    }
    return d;
  };

  const adopt = (orphan: number): void => {
    const sinkTree = inSink[orphan]!;
    let best = -1;
    let bestDistance = FAR;
    for (let slot = 0; slot < SLOTS; slot++) {
      const j = nb[orphan * SLOTS + slot]!;
      if (j < 0 || inSink[j] !== sinkTree || parent[j] === FREE) continue;
      // Source tree: flow arrives over j → orphan; sink tree: it leaves over orphan → j.
      const residual = sinkTree ? cap[orphan * SLOTS + slot]! : cap[j * SLOTS + (SLOTS - 1 - slot)]!;
      if (residual <= 0) continue;
      const d = originDistance(j);
      if (d < bestDistance) {
        bestDistance = d;
        best = slot;
      }
    }
    if (best >= 0) {
      parent[orphan] = best;
      stamp[orphan] = time;
      dist[orphan] = bestDistance + 1;
      return;
    }
    for (let slot = 0; slot < SLOTS; slot++) {
      const j = nb[orphan * SLOTS + slot]!;
      if (j < 0 || inSink[j] !== sinkTree) continue;
      const up = parent[j]!;
      if (up === FREE) continue;
      const residual = sinkTree ? cap[orphan * SLOTS + slot]! : cap[j * SLOTS + (SLOTS - 1 - slot)]!;
      if (residual > 0) setActive(j);
      if (up !== TERMINAL && up !== ORPHAN && nb[j * SLOTS + up] === orphan) orphanRear(j);
    }
    parent[orphan] = FREE;
  };

  let current = -1;
  for (;;) {
    let i = -1;
    if (current >= 0) {
      active[current] = 0;
      if (parent[current] !== FREE) i = current;
      current = -1;
    }
    while (i < 0 && queueLength > 0) {
      const next = queue[queueHead]!;
      queueHead = queueHead + 1 === n ? 0 : queueHead + 1;
      queueLength--;
      active[next] = 0;
      if (parent[next] !== FREE) i = next;
    }
    if (i < 0) break;

    // Grow the tree of i by one layer; stop at the first arc into the other tree.
    let meetFrom = -1;
    let meetSlot = -1;
    const base = i * SLOTS;
    if (!inSink[i]) {
      for (let slot = 0; slot < SLOTS; slot++) {
        if (!(cap[base + slot]! > 0)) continue;
        const j = nb[base + slot]!;
        if (parent[j] === FREE) {
          inSink[j] = 0;
          parent[j] = SLOTS - 1 - slot;
          stamp[j] = stamp[i]!;
          dist[j] = dist[i]! + 1;
          setActive(j);
        } else if (inSink[j]) {
          meetFrom = i;
          meetSlot = slot;
          break;
        } else if (stamp[j]! <= stamp[i]! && dist[j]! > dist[i]!) {
          parent[j] = SLOTS - 1 - slot;
          stamp[j] = stamp[i]!;
          dist[j] = dist[i]! + 1;
        }
      }
    } else {
      for (let slot = 0; slot < SLOTS; slot++) {
        const j = nb[base + slot]!;
        if (j < 0 || !(cap[j * SLOTS + (SLOTS - 1 - slot)]! > 0)) continue;
        if (parent[j] === FREE) {
          inSink[j] = 1;
          parent[j] = SLOTS - 1 - slot;
          stamp[j] = stamp[i]!;
          dist[j] = dist[i]! + 1;
          setActive(j);
        } else if (!inSink[j]) {
          meetFrom = j;
          meetSlot = SLOTS - 1 - slot;
          break;
        } else if (stamp[j]! <= stamp[i]! && dist[j]! > dist[i]!) {
          parent[j] = SLOTS - 1 - slot;
          stamp[j] = stamp[i]!;
          dist[j] = dist[i]! + 1;
        }
      }
    }

    time++;
    if (meetFrom < 0) continue;
    // Keep growing from i after the augmentation (it stays out of the queue meanwhile).
    active[i] = 1;
    current = i;
    augment(meetFrom, meetSlot);
    while (orphanLength > 0) {
      const orphan = orphans[orphanHead]!;
      orphanHead = orphanHead + 1 === n ? 0 : orphanHead + 1;
      orphanLength--;
      adopt(orphan);
    }
  }

  const sourceSide = new Uint8Array(n);
  for (let i = 0; i < n; i++) sourceSide[i] = parent[i] !== FREE && !inSink[i] ? 1 : 0;
  return { flow, sourceSide };
}
