import type { Work } from "./working-grid.js";

/**
 * How likely a classic cut is right (issues 21, 22), from what can be seen without ground truth:
 * - colour separation: how well colour tells the box's core from the ring around the box (the colour
 *   models can only decide what colour decides);
 * - fill: the share of the box the cut kept — a box drawn around an object keeps roughly 15–85 % of it;
 *   beyond that the cut took the background with it or lost the object;
 * - gap: how far the cut stays from a side of the box that lies inside the image — the object reaches
 *   every side of a box drawn around it, so a wide gap means part of it was lost (or the box is loose).
 * Weighed and calibrated on `npm run bench:select` (composites and hand-labelled real photos; Spearman's
 * rank correlation with IoU reported there) so that ≤ DOUBTFUL_CONFIDENCE (0.5) marks every cut there that
 * is badly wrong (IoU under 0.7): the midpoint was raised from 0.35 to 0.52 when the motorcycle and the
 * camera on its tripod (background enclosed by the object: floor between wheels, grass between legs) came
 * out at 0.60–0.66. The price: some right cuts (the cat, the spoon at 0.85 IoU) are called doubtful too —
 * an agent looks at the preview either way; a wrong cut called fine is the mistake that costs money. Tried and left out: the separation of the final colour models (it
 * grades the models' own labels) and the colour contrast along the cut (real edges and composite seams
 * differ too much).
 */

export interface CutSignals {
  /** Colour separation of the box's core from the ring, 0..1 (grabcut.ts coreRingSeparation). */
  separation: number;
  /** Share of the box the cut kept, 0..1. */
  fill: number;
  /** Largest gap between the cut's extent and a side of the box inside the image, as a share of that side. */
  gap: number;
}

/** Fill outside this range is penalised (per 0.15 beyond it). */
const FILL_RANGE: readonly [number, number] = [0.15, 0.85];
const FILL_WEIGHT = 4;
/** Gaps up to this share are what a box's margin leaves; beyond it each 0.1 costs 0.8. */
const GAP_ALLOWED = 0.1;
const GAP_WEIGHT = 8;
/** The score at which confidence is 0.5, and the logistic slope around it. */
const MIDPOINT = 0.52;
const SLOPE = 6;

/** Fill and gap of `labels` (1 = object, on the working box grid). */
export function cutExtent(work: Work, labels: Uint8Array): { fill: number; gap: number } {
  const { cols, rows, box } = work;
  const bw = box.x1 - box.x0;
  const bh = box.y1 - box.y0;
  let area = 0;
  let minX = bw;
  let minY = bh;
  let maxX = -1;
  let maxY = -1;
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      if (!labels[y * bw + x]) continue;
      area++;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
  }
  if (area === 0) return { fill: 0, gap: 1 };
  // A side of the box at the working region's edge is the image's edge (the ring stops there): no gap to expect.
  const gaps = [
    box.x0 > 0 ? minX / bw : 0,
    box.x1 < cols ? (bw - 1 - maxX) / bw : 0,
    box.y0 > 0 ? minY / bh : 0,
    box.y1 < rows ? (bh - 1 - maxY) / bh : 0,
  ];
  return { fill: area / (bw * bh), gap: Math.max(...gaps) };
}

/** A cut's confidence, 0..1, from its signals. */
export function cutConfidence({ separation, fill, gap }: CutSignals): number {
  const fillPenalty = (Math.max(0, fill - FILL_RANGE[1]) + Math.max(0, FILL_RANGE[0] - fill)) / (1 - FILL_RANGE[1]);
  const score = separation - FILL_WEIGHT * fillPenalty - GAP_WEIGHT * Math.max(0, gap - GAP_ALLOWED);
  return 1 / (1 + Math.exp(-SLOPE * (score - MIDPOINT)));
}
