import { describe, expect, it } from "vitest";
import { createRandom, type Random } from "../../../src/random.js";
import { type FlowGraph, gridNeighbours, MinCutSolver, minCut, SLOTS } from "../../../src/images/selection/maxflow.js";

/** A random graph on a width × height grid (8-neighbour arcs, some missing), with random terminal links. */
function randomGridGraph(width: number, height: number, random: Random, integer: boolean): FlowGraph {
  const nodeCount = width * height;
  const neighbours = gridNeighbours(width, height);
  const capacities = new Float64Array(nodeCount * SLOTS);
  const draw = (scale: number) => (integer ? Math.floor(random() * scale) : random() * scale);
  for (let arc = 0; arc < capacities.length; arc++) {
    if (neighbours[arc]! < 0 || random() < 0.2) continue;
    capacities[arc] = draw(10);
  }
  const source = new Float64Array(nodeCount);
  const sink = new Float64Array(nodeCount);
  for (let i = 0; i < nodeCount; i++) {
    if (random() < 0.6) source[i] = draw(20);
    if (random() < 0.6) sink[i] = draw(20);
  }
  return { nodeCount, neighbours, capacities, source, sink };
}

/** Capacity of the cut that puts `inSource` nodes on the source side. */
function cutCapacity(graph: FlowGraph, inSource: (node: number) => boolean): number {
  let total = 0;
  for (let i = 0; i < graph.nodeCount; i++) {
    if (inSource(i)) total += graph.sink[i]!;
    else total += graph.source[i]!;
    if (!inSource(i)) continue;
    for (let slot = 0; slot < SLOTS; slot++) {
      const j = graph.neighbours[i * SLOTS + slot]!;
      if (j >= 0 && !inSource(j)) total += graph.capacities[i * SLOTS + slot]!;
    }
  }
  return total;
}

function bruteForceMinCut(graph: FlowGraph): number {
  let best = Number.POSITIVE_INFINITY;
  for (let set = 0; set < 1 << graph.nodeCount; set++) {
    best = Math.min(
      best,
      cutCapacity(graph, (node) => ((set >> node) & 1) === 1),
    );
  }
  return best;
}

function copyGraph(graph: FlowGraph): FlowGraph {
  return { ...graph, capacities: Float64Array.from(graph.capacities) };
}

describe("minCut (Boykov–Kolmogorov)", () => {
  it("finds the minimum cut of many small random graphs, as enumerating every cut does", () => {
    const random = createRandom(7);
    const sizes: Array<[number, number]> = [
      [1, 1],
      [2, 1],
      [3, 2],
      [2, 4],
      [3, 3],
      [4, 3],
      [4, 4],
    ];
    for (let round = 0; round < 140; round++) {
      const [width, height] = sizes[round % sizes.length]!;
      const graph = randomGridGraph(width, height, random, round % 2 === 0);
      const expected = bruteForceMinCut(graph);
      const { flow, sourceSide } = minCut(copyGraph(graph));
      expect(flow).toBeCloseTo(expected, 9);
      // The labelling it returns is a cut of exactly that capacity.
      expect(cutCapacity(graph, (node) => sourceSide[node] === 1)).toBeCloseTo(expected, 9);
    }
  });

  it("re-solves after the terminal capacities change, from the residual network it kept", () => {
    const random = createRandom(11);
    for (let round = 0; round < 60; round++) {
      const graph = randomGridGraph(3 + (round % 2), 3, random, round % 3 === 0);
      const solver = new MinCutSolver(copyGraph(graph));
      expect(solver.solve().flow).toBeCloseTo(bruteForceMinCut(graph), 9);
      for (let change = 0; change < 3; change++) {
        const changed = randomGridGraph(3 + (round % 2), 3, random, round % 3 === 0);
        const next = { ...graph, source: changed.source, sink: changed.sink };
        solver.setTerminals(changed.source, changed.sink);
        const { flow, sourceSide } = solver.solve();
        const expected = bruteForceMinCut(next);
        expect(flow).toBeCloseTo(expected, 9);
        expect(cutCapacity(next, (node) => sourceSide[node] === 1)).toBeCloseTo(expected, 9);
      }
    }
  });

  it("cuts a grid along its weakest column", () => {
    // 5 × 3 grid, left column tied to the source, right column to the sink; horizontal arcs between
    // columns 2 and 3 are the only cheap ones.
    const width = 5;
    const height = 3;
    const neighbours = gridNeighbours(width, height);
    const capacities = new Float64Array(width * height * SLOTS);
    for (let i = 0; i < width * height; i++) {
      for (let slot = 0; slot < SLOTS; slot++) {
        const j = neighbours[i * SLOTS + slot]!;
        if (j < 0) continue;
        const cheap = Math.min(i % width, j % width) === 2 && Math.max(i % width, j % width) === 3;
        capacities[i * SLOTS + slot] = cheap ? 1 : 100;
      }
    }
    const source = new Float64Array(width * height);
    const sink = new Float64Array(width * height);
    for (let y = 0; y < height; y++) {
      source[y * width] = 1000;
      sink[y * width + width - 1] = 1000;
    }
    const { flow, sourceSide } = minCut({ nodeCount: width * height, neighbours, capacities, source, sink });
    // Each of the 3 rows crosses once straight and (except at the edges) twice diagonally: 3 + 2 + 2 = 7.
    expect(flow).toBe(7);
    expect(Array.from(sourceSide)).toEqual([1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0]);
  });

  it("builds the neighbourhood of a band of pixels with reverse arcs in the opposite slot", () => {
    const pixels = Int32Array.from([0, 1, 4, 5, 8]); // a 4 × 3 grid: (0,0) (1,0) (0,1) (1,1) (0,2)
    const neighbours = gridNeighbours(4, 3, pixels);
    for (let node = 0; node < pixels.length; node++) {
      for (let slot = 0; slot < SLOTS; slot++) {
        const j = neighbours[node * SLOTS + slot]!;
        if (j >= 0) expect(neighbours[j * SLOTS + (SLOTS - 1 - slot)]).toBe(node);
      }
    }
    // (1,1) sees (0,0) up-left, (1,0) up, (0,1) left, (0,2) down-left; nothing to the right or below.
    expect(Array.from(neighbours.subarray(3 * SLOTS, 4 * SLOTS))).toEqual([0, 1, -1, 2, -1, 4, -1, -1]);
  });
});
