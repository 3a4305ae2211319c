import { describe, expect, it } from "vitest";
import { coreRing, grabCut, inCore, startLabels } from "../../../src/images/selection/grabcut.js";
import { hintField } from "../../../src/images/selection/hints.js";
import type { Work } from "../../../src/images/selection/working-grid.js";
import { createRandom } from "../../../src/random.js";

type Rgb = [number, number, number];

/**
 * A cols × rows working grid whose box is [4, 24) × [4, 24): colours from `paint` (plus ±6 of seeded noise,
 * so no colour is perfectly flat), as prepareWork would give them.
 */
function workOf(paint: (x: number, y: number) => Rgb, cols = 28, rows = 28): Work {
  const random = createRandom(3);
  const colours = new Float32Array(cols * rows * 3);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      const c = paint(x, y);
      for (let k = 0; k < 3; k++) colours[(y * cols + x) * 3 + k] = c[k]! + (random() * 2 - 1) * 6;
    }
  }
  return {
    region: { x0: 0, y0: 0, x1: cols, y1: rows },
    cols,
    rows,
    box: { x0: 4, y0: 4, x1: 24, y1: 24 },
    colours,
  };
}

const GRASS: Rgb = [50, 150, 60];
const SHIRT: Rgb = [200, 40, 50];
const SHORTS: Rgb = [40, 60, 190];

/** A red-and-blue figure in the box's middle; grass runs in along the bottom of the box from both sides. */
const figureOnGrass = (x: number, y: number): Rgb => {
  if (x >= 10 && x < 18 && y >= 6 && y < 20) return y < 13 ? SHIRT : SHORTS;
  return y >= 18 ? GRASS : [90, 90, 100];
};

describe("startLabels", () => {
  it("starts the box's cells of ring colours as background and keeps the core and the object's own colours", () => {
    const work = workOf(figureOnGrass);
    const start = startLabels(work, coreRing(work))!;
    expect(start).toBeDefined();
    const at = (x: number, y: number) => start[(y - 4) * 20 + (x - 4)];
    expect(at(5, 21)).toBe(0); // grass in a corner of the box
    expect(at(22, 20)).toBe(0);
    expect(at(6, 6)).toBe(0); // the grey crowd
    expect(at(14, 8)).toBe(1); // shirt
    expect(at(12, 17)).toBe(1); // shorts
    for (let y = 0; y < 20; y++)
      for (let x = 0; x < 20; x++) if (inCore(x, y, 20, 20)) expect(start[y * 20 + x]).toBe(1);
  });

  it("gives no start without the two colour models (no core or no ring to learn from)", () => {
    const work = workOf(() => GRASS);
    expect(startLabels(work, { separation: 0 })).toBeUndefined();
  });
});

describe("grabCut", () => {
  it("reports its energy, lower for the start that does not learn the grass as object", () => {
    const work = workOf(figureOnGrass);
    const field = hintField(work, {}, 1.5);
    const whole = grabCut(work, field, 0);
    const pruned = grabCut(work, field, 0, startLabels(work, coreRing(work)));
    expect(Number.isFinite(whole.energy) && whole.energy > 0).toBe(true);
    // The figure: 8 × 14 cells, no grass.
    const figure = (labels: Uint8Array) => {
      let wrong = 0;
      for (let y = 0; y < 20; y++) {
        for (let x = 0; x < 20; x++) {
          const inFigure = x + 4 >= 10 && x + 4 < 18 && y + 4 >= 6 && y + 4 < 20;
          if (Boolean(labels[y * 20 + x]) !== inFigure) wrong++;
        }
      }
      return wrong;
    };
    expect(figure(pruned.labels)).toBeLessThanOrEqual(4);
    expect(pruned.energy).toBeLessThanOrEqual(whole.energy);
  });

  it("starts where it is told: a start of the figure alone gives the figure, and the labels stay 0/1", () => {
    const work = workOf(figureOnGrass);
    const start = new Uint8Array(400);
    for (let y = 2; y < 16; y++) for (let x = 6; x < 14; x++) start[y * 20 + x] = 1;
    const seg = grabCut(work, hintField(work, {}, 1.5), 0, start);
    expect(seg.labels.every((v) => v === 0 || v === 1)).toBe(true);
    expect(seg.labels[8 * 20 + 10]).toBe(1);
    expect(seg.labels[17 * 20 + 1]).toBe(0);
  });
});
