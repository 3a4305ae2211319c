import { FluxFillError } from "../errors.js";
import { checkRegions, type MaskRegion, regionInPixels, type RegionOp, type RegionUnits } from "./regions.js";

/**
 * Geometry mistakes an agent makes every day, caught before anything is drawn or paid for (issue 21):
 * fractions given in the default `px` units, an object box written as two corners, and entries that run
 * past the image's edge (clipped, with a note). Pure: called by every route that draws mask_regions, before
 * drawRegions.
 */

/** Share of an object box that may lie outside the image before the box is refused as a mistake. */
export const MAX_OBJECT_BOX_OUTSIDE = 0.25;

/** How far (in px) a shape may reach past an edge before it is reported: beyond it no pixel centre lies. */
const EDGE_SLACK_PX = 0.5;

type PixelRegion = MaskRegion & { op: RegionOp };
/** An object entry that gives its box (one named by text alone has none to check). */
type BoxedObject = Extract<PixelRegion, { shape: "object" }> & { x: number; y: number; width: number; height: number };

interface Bounds {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Every number an entry gives (coordinates, sizes, hint points), as written. */
function valuesOf(region: MaskRegion): number[] {
  const flat = (points: ReadonlyArray<ReadonlyArray<number>> | undefined) => (points ?? []).flatMap((p) => [...p]);
  switch (region.shape) {
    case "rect":
      return [region.x, region.y, region.width, region.height];
    case "ellipse":
      return [region.cx, region.cy, region.rx, region.ry];
    case "polygon":
      return flat(region.points);
    case "object": {
      // A text-only object entry has no box: its hint points are all there is.
      const box = [region.x, region.y, region.width, region.height].filter((v): v is number => v !== undefined);
      return [...box, ...flat(region.include), ...flat(region.exclude)];
    }
    case "wand":
      return [region.x, region.y];
  }
}

/**
 * True when an entry in px has every value within 0..1: it would mark at most a pixel or two, so it was
 * almost surely written as fractions. A wand seed on pixel 0 or 1 (a corner) is a plausible pixel position.
 */
export function looksLikeFractions(region: MaskRegion): boolean {
  const values = valuesOf(region);
  if (values.length === 0 || !values.every((v) => v >= 0 && v <= 1)) return false;
  return region.shape !== "wand" || values.some((v) => v > 0 && v < 1);
}

function boundsOf(region: Exclude<PixelRegion, { shape: "object" }> | BoxedObject): Bounds {
  switch (region.shape) {
    case "rect":
    case "object":
      return { x0: region.x, y0: region.y, x1: region.x + region.width, y1: region.y + region.height };
    case "ellipse":
      return { x0: region.cx - region.rx, y0: region.cy - region.ry, x1: region.cx + region.rx, y1: region.cy + region.ry };
    case "polygon": {
      const xs = region.points.map((p) => p[0]!);
      const ys = region.points.map((p) => p[1]!);
      return { x0: Math.min(...xs), y0: Math.min(...ys), x1: Math.max(...xs), y1: Math.max(...ys) };
    }
    case "wand":
      return { x0: region.x, y0: region.y, x1: region.x, y1: region.y };
  }
}

/** A number as the caller would write it in its units (pixels to 1 decimal, fractions to 4). */
function inUnits(value: number, scale: number, units: RegionUnits): number {
  return units === "fraction" ? Number((value / scale).toFixed(4)) : Number(value.toFixed(1));
}

function boxText(b: Bounds, width: number, height: number, units: RegionUnits): string {
  return `x=${inUnits(b.x0, width, units)}, y=${inUnits(b.y0, height, units)}, width=${inUnits(b.x1 - b.x0, width, units)}, height=${inUnits(b.y1 - b.y0, height, units)}`;
}

function entryList(indices: number[], regions: ReadonlyArray<MaskRegion>): string {
  const names = indices.map((i) => `mask_regions[${i}] (${regions[i]!.shape})`);
  return names.length === 1 ? names[0]! : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
}

function fractionsInPixels(regions: ReadonlyArray<MaskRegion>, width: number, height: number): FluxFillError {
  const suspects = regions.flatMap((r, i) => (looksLikeFractions(r) ? [i] : []));
  const all = suspects.length === regions.length;
  return new FluxFillError(
    "bad_input",
    `${entryList(suspects, regions)} ${suspects.length === 1 ? "has" : "have"} every coordinate and size within 0..1, but units is "px" (the default), so ${suspects.length === 1 ? "it marks" : "they mark"} at most a pixel of the ${width}×${height} image. These look like fractions; add "units": "fraction".`,
    {
      suggestion: all
        ? 'Add "units": "fraction" to the call (every value is then a fraction 0..1 of the width or height), or give pixel values.'
        : 'units applies to every entry: give all of them as fractions with "units": "fraction", or all in pixels.',
      details: { entries: suspects },
    },
  );
}

/** The share of a box's area outside the image (0 = all inside, 1 = all outside). */
export function shareOutside(b: Bounds, width: number, height: number): number {
  const area = (b.x1 - b.x0) * (b.y1 - b.y0);
  if (!(area > 0)) return 0;
  const inW = Math.max(0, Math.min(b.x1, width) - Math.max(b.x0, 0));
  const inH = Math.max(0, Math.min(b.y1, height) - Math.max(b.y0, 0));
  return 1 - (inW * inH) / area;
}

function objectBoxOutside(
  index: number,
  given: Extract<MaskRegion, { shape: "object" }>,
  b: Bounds,
  share: number,
  width: number,
  height: number,
  units: RegionUnits,
): FluxFillError {
  const { x, y, width: w, height: h } = given as BoxedObject;
  // Read as x1, y1, x2, y2 the box would be a real one inside the image: say what that box is.
  const wPx = b.x1 - b.x0;
  const hPx = b.y1 - b.y0;
  const corner = wPx > b.x0 && hPx > b.y0 && wPx <= width + EDGE_SLACK_PX && hPx <= height + EDGE_SLACK_PX;
  const asCorners = corner
    ? ` It looks like a second corner (x2=${w}, y2=${h}): as x, y, width, height that box is ${boxText({ x0: b.x0, y0: b.y0, x1: wPx, y1: hPx }, width, height, units)}.`
    : "";
  const size = units === "fraction" ? "1 × 1 (fractions)" : `${width} × ${height} px`;
  return new FluxFillError(
    "bad_input",
    `mask_regions[${index}] (object) box x=${x}, y=${y}, width=${w}, height=${h} has ${Math.round(share * 100)}% of its area outside the ${size} image; a box is x, y (top-left corner), width, height — not x1, y1, x2, y2.${asCorners}`,
    {
      suggestion: `Give the box around the object as x, y, width, height inside the image (${boxText({ x0: 0, y0: 0, x1: width, y1: height }, width, height, units)} is the whole image); check it with preview_mask.`,
      details: { entry: index, outside: Number(share.toFixed(3)), box: { x0: b.x0, y0: b.y0, x1: b.x1, y1: b.y1 } },
    },
  );
}

function edgeNote(index: number, region: PixelRegion, b: Bounds, width: number, height: number, units: RegionUnits): string | undefined {
  const edges = [
    b.x0 < -EDGE_SLACK_PX ? "left" : undefined,
    b.y0 < -EDGE_SLACK_PX ? "top" : undefined,
    b.x1 > width + EDGE_SLACK_PX ? "right" : undefined,
    b.y1 > height + EDGE_SLACK_PX ? "bottom" : undefined,
  ].filter((e): e is string => e !== undefined);
  if (edges.length === 0) return undefined;
  const clipped = { x0: Math.max(0, b.x0), y0: Math.max(0, b.y0), x1: Math.min(width, b.x1), y1: Math.min(height, b.y1) };
  const where = edges.length === 1 ? `the ${edges[0]} edge` : `the ${edges.slice(0, -1).join(", ")} and ${edges.at(-1)} edges`;
  const box = boxText(clipped, width, height, units);
  const rest =
    region.shape === "rect" || region.shape === "object" ? `clipped to ${box}` : `clipped to the image (the part inside spans ${box})`;
  return `Note: mask_regions[${index}] (${region.shape}${region.op === "subtract" ? ", subtracted" : ""}) ran past ${where}; ${rest}.`;
}

/**
 * Checks the entries' geometry against the image (after the value checks of checkRegions/regionInPixels,
 * which it runs first): throws for fractions written in px and for an object box mostly outside the image;
 * returns a note per entry clipped at the edge. Entries entirely outside are left to drawRegions' error.
 */
export function checkRegionGeometry(
  regions: ReadonlyArray<MaskRegion>,
  units: RegionUnits,
  width: number,
  height: number,
): string[] {
  checkRegions(regions);
  const inPixels = regions.map((r, i) => regionInPixels(r, i, units, width, height));
  if (units === "px" && regions.some(looksLikeFractions)) throw fractionsInPixels(regions, width, height);
  const notes: string[] = [];
  inPixels.forEach((region, index) => {
    if (region.shape === "wand") return;
    if (region.shape === "object" && region.x === undefined) return;
    const b = boundsOf(region as Exclude<PixelRegion, { shape: "object" }> | BoxedObject);
    const share = shareOutside(b, width, height);
    // A box wholly outside gets drawRegions' plainer "lies entirely outside" error.
    if (region.shape === "object" && share > MAX_OBJECT_BOX_OUTSIDE && share < 1) {
      throw objectBoxOutside(index, regions[index] as Extract<MaskRegion, { shape: "object" }>, b, share, width, height, units);
    }
    const inside = b.x0 < width && b.y0 < height && b.x1 > 0 && b.y1 > 0;
    const note = inside ? edgeNote(index, region, b, width, height, units) : undefined;
    if (note) notes.push(note);
  });
  return notes;
}
