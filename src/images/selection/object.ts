import { tidyMask } from "./cleanup.js";
import { cutConfidence, cutExtent } from "./confidence.js";
import { type CoreRing, coreRing, ellipseRadius, grabCut, type Segmentation, startLabels } from "./grabcut.js";
import { type HintField, hintField } from "./hints.js";
import { refineAtFullResolution } from "./refine.js";
import type { ObjectHints, PixelBox, PixelPoint, SelectObject, Selection, SelectionImage } from "./types.js";
import { clipBox, prepareWork, type Rect, type Work } from "./working-grid.js";

/**
 * Object from a box, GrabCut-style (Rother et al. 2004, as OpenCV's grabCut; facts in
 * ../shared/reference/selection.md): colour models of the box and of a ring around it, an 8-neighbour
 * graph cut with edge-aware smoothness, iterated; on a reduced working grid, then refined at full
 * resolution in a narrow band around the edge. Where colours cannot tell object from background, a shape
 * prior (an ellipse inscribed in the box, in the unary costs) takes over, and failures fall back to it.
 */

/**
 * Colour separation (see coreRingSeparation) → weight of the ellipse prior: 0 at or above SEPARATED,
 * rising linearly to PRIOR_WEIGHT at or below AMBIGUOUS.
 */
const SEPARATED = 0.45;
const AMBIGUOUS = 0.25;
const PRIOR_WEIGHT = 2;
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
/** A shape fitted to the box is a guess: always doubtful (≤ DOUBTFUL_CONFIDENCE). */
const FALLBACK_CONFIDENCE = 0.3;
/** bestStart tries the pruned start only below this colour separation (see bestStart). */
const PRUNED_START_BELOW = 0.85;
/** Boxes narrower or lower than this (px) are not segmented: the ellipse is all there is to say. */
const MIN_BOX_SIDE = 4;

/**
 * The fallback shape: the ellipse inscribed in the box, with the hints' disks (radius in full-resolution
 * pixels) added or cut out, inside the box. Never empty: a box thinner than a pixel's centre spacing still
 * selects its middle pixel (unless a hint excludes it).
 */
function ellipseMask(width: number, height: number, box: Rect, hints: ObjectHints, hintRadius: number): Uint8Array {
  const mask = new Uint8Array(width * height);
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

/**
 * GrabCut from the whole box (as OpenCV) and, where the core and ring colours overlap (separation below
 * PRUNED_START_BELOW), also from the box less its ring-coloured cells (startLabels): both are local minima of
 * GrabCut's energy, and the lower one is kept. On the bench's real photos the second wins where the first
 * learnt the box's background as object (the footballer with the grass by his feet, the loose box around the
 * astronaut with the wall); where the object's own colours lie in the ring (the flag beside the suit) the
 * first has the lower energy and stays. With well separated colours the first start is already right, and
 * the second's lower energy can come from dropping part of the object (two composites: IoU 0.96 → 0.86 and
 * 1.00 → 0.80), so it is not tried there.
 */
function bestStart(work: Work, field: HintField, priorWeight: number, models: CoreRing): Segmentation {
  const whole = grabCut(work, field, priorWeight);
  const start = models.separation < PRUNED_START_BELOW ? startLabels(work, models) : undefined;
  if (!start) return whole;
  const pruned = grabCut(work, field, priorWeight, start);
  return pruned.energy < whole.energy ? pruned : whole;
}

function percent(fraction: number): string {
  return `${Math.round(fraction * 100)} %`;
}

export const selectObject: SelectObject = (
  image: SelectionImage,
  box: PixelBox,
  hints: ObjectHints = {},
): Selection => {
  const clipped = clipBox(box, image.width, image.height);
  const bw = clipped.x1 - clipped.x0;
  const bh = clipped.y1 - clipped.y0;
  if (bw < MIN_BOX_SIDE || bh < MIN_BOX_SIDE) {
    return {
      mask: ellipseMask(image.width, image.height, clipped, hints, 0.5),
      decided: "fallback",
      reason: `the box is too small to segment (${bw} × ${bh} px); used an ellipse fitted to the box`,
      confidence: FALLBACK_CONFIDENCE,
    };
  }
  const work = prepareWork(image, clipped);
  const hintRadius = Math.max(1.5, 0.03 * Math.min(work.box.x1 - work.box.x0, work.box.y1 - work.box.y0));
  const field = hintField(work, hints, hintRadius);
  const { hard } = field;
  const models = coreRing(work);
  const { separation } = models;
  const priorWeight = PRIOR_WEIGHT * Math.min(1, Math.max(0, (SEPARATED - separation) / (SEPARATED - AMBIGUOUS)));
  const seg = bestStart(work, field, priorWeight, models);
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
  const { gap } = cutExtent(work, seg.labels);
  const confidence = cutConfidence({ separation, fill: fraction, gap });
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
      confidence: FALLBACK_CONFIDENCE,
    };
  }
  const mask = refineAtFullResolution(image, clipped, work, seg, hints, hintRadius);
  if (separation < FALLBACK_SEPARATION) {
    return {
      mask,
      decided: "fallback",
      reason: `colours inside and outside the box overlap too much (separation ${sep}); followed the strongest edges near an ellipse fitted to the box`,
      confidence: Math.min(FALLBACK_CONFIDENCE, confidence),
    };
  }
  return {
    mask,
    decided: "segmented",
    reason: `object segmented: ${percent(fraction)} of the box (colour separation ${sep})`,
    confidence,
  };
};
