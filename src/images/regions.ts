import { FluxFillError } from "../errors.js";
import type { RasterImage } from "./raster.js";
import type { SegmenterName, Segmentation } from "./selection/segmenter.js";
import type { SelectionImage, Selection, SelectionDecision } from "./selection/types.js";
import { selectWand, WAND_DEFAULT_TOLERANCE, WAND_TOLERANCE_MAX } from "./selection/wand.js";

/**
 * Regions an agent can describe in words-as-numbers, drawn into a one-channel mask (255 = inpaint): shapes
 * (rect, ellipse, polygon) and selections made from the photo's own pixels (object inside a box, magic
 * wand). Pure: no I/O. A pixel belongs to a shape when its centre (x + 0.5, y + 0.5) lies inside it, so a
 * rect at integer coordinates covers exactly the pixels x..x+width-1 and shapes are crisp (no anti-aliasing;
 * use feather_mask for soft edges). Entries apply in order: `op` "add" (default) unions an entry with what
 * came before, "subtract" removes it.
 */

export type RegionOp = "add" | "subtract";
export const REGION_OPS = ["add", "subtract"] as const satisfies ReadonlyArray<RegionOp>;

type Points = ReadonlyArray<ReadonlyArray<number>>;

export type MaskRegion = { op?: RegionOp | undefined } & (
  | { shape: "rect"; x: number; y: number; width: number; height: number }
  | { shape: "ellipse"; cx: number; cy: number; rx: number; ry: number }
  | { shape: "polygon"; points: Points }
  | {
      shape: "object";
      /** The box the object lies in; optional when `text` names the object. */
      x?: number | undefined;
      y?: number | undefined;
      width?: number | undefined;
      height?: number | undefined;
      include?: Points | undefined;
      exclude?: Points | undefined;
      /** What to select, in words ("the spoon"): needs a segmenter that reads text. */
      text?: string | undefined;
    }
  | { shape: "wand"; x: number; y: number; tolerance?: number | undefined; contiguous?: boolean | undefined }
);

export type RegionUnits = "px" | "fraction";

/** Most regions in one call. */
export const MAX_REGIONS = 100;
/** Most polygon vertices in one call (all polygons together): bounds the work to a few hundred ms. */
export const MAX_POLYGON_POINTS = 10_000;
/** Most object and wand entries in one call: each reads the whole photo (an object box up to ~1 s at 12 MP). */
export const MAX_SELECTIONS = 8;
/** Most include/exclude hint points of one object entry. */
export const MAX_HINT_POINTS = 100;

/** What decided one entry's pixels: its geometry, or a selection made from the photo. */
export interface RegionReport {
  index: number;
  shape: MaskRegion["shape"];
  op: RegionOp;
  decided: "shape" | SelectionDecision;
  /** For object and wand entries: what was selected and, for a fallback, why. */
  reason?: string;
  /** Object entries: which segmenter decided, its confidence (0..1), how many masks it offered, what it cost. */
  segmenter?: SegmenterName;
  confidence?: number;
  candidates?: number;
  costUsd?: number;
  /** Object entries: the segmenter's notes (paid call, cached mask, fall-back) and doubtful/hint-point remarks. */
  notes?: string[];
}

/** Object and wand entries read the photo's pixels; shapes do not. */
export function regionsNeedPixels(regions: ReadonlyArray<Pick<MaskRegion, "shape">>): boolean {
  return regions.some((r) => r.shape === "object" || r.shape === "wand");
}

const FRACTION_HINT =
  'With units "fraction", every coordinate and size is a fraction 0..1 of the image width (x) or height (y).';

function regionError(message: string, suggestion: string, details?: Record<string, unknown>): FluxFillError {
  return new FluxFillError("bad_input", message, { suggestion, ...(details ? { details } : {}) });
}

function checkFinite(where: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw regionError(
      `${where} must be a finite number; got ${JSON.stringify(value)}.`,
      "Give every coordinate as a number.",
    );
  }
  return value;
}

function checkFraction(where: string, value: number, units: RegionUnits): void {
  if (units === "fraction" && (value < 0 || value > 1)) {
    throw regionError(
      `${where} is ${value}, but with units "fraction" it must be between 0 and 1.`,
      `${FRACTION_HINT} For pixels, set units to "px".`,
    );
  }
}

function checkSize(where: string, value: number, units: RegionUnits): void {
  checkFraction(where, value, units);
  if (value < 0) {
    throw regionError(
      `${where} is ${value}; sizes must be positive.`,
      "Give the size as a positive number (the extent, not an end coordinate).",
    );
  }
  if (value === 0) {
    throw regionError(`${where} is 0, so the shape is empty.`, "Give the shape a positive size.");
  }
}

/** A list of [x, y] pairs in pixels, after checking every value. */
function pointsInPixels(where: string, points: unknown, units: RegionUnits, sx: number, sy: number): number[][] {
  if (!Array.isArray(points)) {
    throw regionError(
      `${where} must be a list of [x, y] pairs; got ${JSON.stringify(points)?.slice(0, 40)}.`,
      "Give points as [[x, y], [x, y], ...].",
    );
  }
  const scaled: number[][] = new Array(points.length);
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    if (!Array.isArray(p) || p.length !== 2) {
      throw regionError(
        `${where}[${i}] must be a pair [x, y]; got ${JSON.stringify(p)?.slice(0, 40)}.`,
        "Give each point as [x, y].",
      );
    }
    const x = checkFinite(`${where}[${i}][0]`, p[0]);
    const y = checkFinite(`${where}[${i}][1]`, p[1]);
    checkFraction(`${where}[${i}][0]`, x, units);
    checkFraction(`${where}[${i}][1]`, y, units);
    scaled[i] = [x * sx, y * sy];
  }
  return scaled;
}

/** A box {x, y, width, height} in pixels (rect and object), after checking every value. */
function boxInPixels(
  at: string,
  box: { x: number; y: number; width: number; height: number },
  units: RegionUnits,
  sx: number,
  sy: number,
) {
  const x = checkFinite(`${at}.x`, box.x);
  const y = checkFinite(`${at}.y`, box.y);
  checkFraction(`${at}.x`, x, units);
  checkFraction(`${at}.y`, y, units);
  checkSize(`${at}.width`, checkFinite(`${at}.width`, box.width), units);
  checkSize(`${at}.height`, checkFinite(`${at}.height`, box.height), units);
  return { x: x * sx, y: y * sy, width: box.width * sx, height: box.height * sy };
}

/** Longest `text` of an object entry: a short noun phrase is what segmenters read. */
export const MAX_OBJECT_TEXT = 200;

/** An object entry's `text`, trimmed; undefined when absent. */
function objectText(at: string, text: unknown): string | undefined {
  if (text === undefined) return undefined;
  if (typeof text !== "string" || text.trim() === "" || text.length > MAX_OBJECT_TEXT) {
    throw regionError(
      `${at}.text must be a short description of the object (1 to ${MAX_OBJECT_TEXT} characters); got ${JSON.stringify(text)?.slice(0, 40)}.`,
      'Name the object in a few words, e.g. "the spoon".',
    );
  }
  return text.trim();
}

/**
 * An object entry's box in pixels (`given`), or the whole image when it names the object by `text` alone;
 * a box must be complete, and an entry needs a box or a text.
 */
function objectBoxInPixels(
  at: string,
  region: Extract<MaskRegion, { shape: "object" }>,
  units: RegionUnits,
  sx: number,
  sy: number,
  width: number,
  height: number,
): { x: number; y: number; width: number; height: number; given: boolean } {
  const sides = (["x", "y", "width", "height"] as const).filter((k) => region[k] !== undefined);
  if (sides.length === 4) {
    return { ...boxInPixels(at, region as { x: number; y: number; width: number; height: number }, units, sx, sy), given: true };
  }
  if (sides.length > 0) {
    const missing = (["x", "y", "width", "height"] as const).filter((k) => region[k] === undefined);
    throw regionError(
      `${at} (object) gives ${sides.join(", ")} but not ${missing.join(", ")}; a box needs all four.`,
      'Give the whole box {x, y, width, height}, or leave the box out and name the object with "text".',
    );
  }
  if (region.text === undefined) {
    throw regionError(
      `${at} (object) has neither a box nor a text, so it says nothing about what to select.`,
      'Give the box the object lies in {x, y, width, height}, and/or its name as "text" (e.g. "the spoon").',
    );
  }
  return { x: 0, y: 0, width, height, given: false };
}

function checkOp(at: string, op: unknown): RegionOp {
  if (op === undefined) return "add";
  if (op === "add" || op === "subtract") return op;
  throw regionError(
    `${at}.op is ${JSON.stringify(op)}; accepted: "add" (the default) or "subtract".`,
    'Use "subtract" to remove an entry\'s pixels from the entries before it.',
  );
}

/** The region in pixel coordinates, after checking every value; `op` is always set. */
export function regionInPixels(
  region: MaskRegion,
  index: number,
  units: RegionUnits,
  width: number,
  height: number,
): MaskRegion & { op: RegionOp } {
  const at = `mask_regions[${index}]`;
  const op = checkOp(at, region.op);
  const sx = units === "fraction" ? width : 1;
  const sy = units === "fraction" ? height : 1;
  switch (region.shape) {
    case "rect":
      return { shape: "rect", op, ...boxInPixels(at, region, units, sx, sy) };
    case "ellipse": {
      const cx = checkFinite(`${at}.cx`, region.cx);
      const cy = checkFinite(`${at}.cy`, region.cy);
      checkFraction(`${at}.cx`, cx, units);
      checkFraction(`${at}.cy`, cy, units);
      checkSize(`${at}.rx`, checkFinite(`${at}.rx`, region.rx), units);
      checkSize(`${at}.ry`, checkFinite(`${at}.ry`, region.ry), units);
      return { shape: "ellipse", op, cx: cx * sx, cy: cy * sy, rx: region.rx * sx, ry: region.ry * sy };
    }
    case "polygon": {
      const points = region.points;
      if (!Array.isArray(points) || points.length < 3) {
        throw regionError(
          `${at}.points has ${Array.isArray(points) ? points.length : 0} point(s); a polygon needs at least 3.`,
          "Give points as [[x, y], [x, y], [x, y], ...] in order around the shape.",
        );
      }
      return { shape: "polygon", op, points: pointsInPixels(`${at}.points`, points, units, sx, sy) };
    }
    case "object": {
      const box = objectBoxInPixels(at, region, units, sx, sy, width, height);
      const text = objectText(at, region.text);
      const hints = (name: "include" | "exclude") => {
        const given = region[name];
        if (given === undefined) return [];
        const points = pointsInPixels(`${at}.${name}`, given, units, sx, sy);
        if (points.length > MAX_HINT_POINTS) {
          throw regionError(
            `${at}.${name} has ${points.length} points; at most ${MAX_HINT_POINTS} are accepted.`,
            "A few points on the object (include) or on the background inside the box (exclude) are enough.",
          );
        }
        points.forEach(([px, py], i) => {
          if (!(px! >= box.x && px! < box.x + box.width && py! >= box.y && py! < box.y + box.height)) {
            throw regionError(
              box.given
                ? `${at}.${name}[${i}] (${region[name]![i]![0]}, ${region[name]![i]![1]}) lies outside the object's box; hint points must be inside it (outside the box everything is background already).`
                : `${at}.${name}[${i}] (${region[name]![i]![0]}, ${region[name]![i]![1]}) lies outside the ${width}×${height} image.`,
              "Give include points on the object and exclude points on background inside the box, in the same units as the box.",
            );
          }
        });
        return points;
      };
      const { given, ...rect } = box;
      return {
        shape: "object",
        op,
        ...(given ? rect : {}),
        include: hints("include"),
        exclude: hints("exclude"),
        ...(text === undefined ? {} : { text }),
      };
    }
    case "wand": {
      const x = checkFinite(`${at}.x`, region.x);
      const y = checkFinite(`${at}.y`, region.y);
      checkFraction(`${at}.x`, x, units);
      checkFraction(`${at}.y`, y, units);
      const tolerance = region.tolerance ?? WAND_DEFAULT_TOLERANCE;
      if (
        typeof tolerance !== "number" ||
        !Number.isFinite(tolerance) ||
        tolerance < 0 ||
        tolerance > WAND_TOLERANCE_MAX
      ) {
        throw regionError(
          `${at}.tolerance is ${JSON.stringify(tolerance)}; it must be a number from 0 to ${WAND_TOLERANCE_MAX}.`,
          `Leave it out for the default ${WAND_DEFAULT_TOLERANCE}; lower selects only colours closer to the seed's, higher spreads further.`,
        );
      }
      const contiguous = region.contiguous ?? true;
      if (typeof contiguous !== "boolean") {
        throw regionError(
          `${at}.contiguous is ${JSON.stringify(contiguous)}; it must be true or false.`,
          "true (default) selects the connected area around the seed; false selects that colour anywhere.",
        );
      }
      return { shape: "wand", op, x: x * sx, y: y * sy, tolerance, contiguous };
    }
    default: {
      const shape = (region as { shape?: unknown }).shape;
      throw regionError(
        `${at}.shape is ${JSON.stringify(shape)}; accepted shapes: "rect", "ellipse", "polygon", "object", "wand".`,
        "Use one of the five shapes.",
      );
    }
  }
}

/** Rows [y0, y1) and columns [x0, x1) of pixel centres a span [a, b) covers, clipped to [0, n). */
function centreSpan(a: number, b: number, n: number): [number, number] {
  // Centre c = i + 0.5 is inside when a <= c < b.
  const first = Math.max(0, Math.ceil(a - 0.5));
  const end = Math.min(n, Math.ceil(b - 0.5));
  return [first, Math.max(first, end)];
}

function fillRect(
  mask: Buffer,
  width: number,
  height: number,
  r: { x: number; y: number; width: number; height: number },
  value: number,
): void {
  const [x0, x1] = centreSpan(r.x, r.x + r.width, width);
  const [y0, y1] = centreSpan(r.y, r.y + r.height, height);
  for (let y = y0; y < y1; y++) mask.fill(value, y * width + x0, y * width + x1);
}

function fillEllipse(
  mask: Buffer,
  width: number,
  height: number,
  e: { cx: number; cy: number; rx: number; ry: number },
  value: number,
): void {
  const [y0, y1] = centreSpan(e.cy - e.ry, e.cy + e.ry + 1e-9, height);
  for (let y = y0; y < y1; y++) {
    const dy = (y + 0.5 - e.cy) / e.ry;
    const t = 1 - dy * dy;
    if (t < 0) continue;
    const half = e.rx * Math.sqrt(t);
    // Inside when |x + 0.5 - cx| <= half: the closed interval, like (dx/rx)² + (dy/ry)² <= 1.
    const first = Math.max(0, Math.ceil(e.cx - half - 0.5));
    const last = Math.min(width - 1, Math.floor(e.cx + half - 0.5));
    if (last >= first) mask.fill(value, y * width + first, y * width + last + 1);
  }
}

/**
 * Scanline fill with the non-zero winding rule at pixel centres. Edges are bucketed by their first row,
 * and each row only visits the edges that cross it: O(rows + crossings · log) for any point count.
 */
function fillPolygon(mask: Buffer, width: number, height: number, points: Points, value: number): void {
  const n = points.length;
  const buckets: number[][] = Array.from({ length: height }, () => []);
  const ex0 = new Float64Array(n);
  const ey0 = new Float64Array(n);
  const slope = new Float64Array(n);
  const dir = new Int8Array(n);
  const lastRow = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const a = points[i]!;
    const b = points[(i + 1) % n]!;
    const ay = a[1]!;
    const by = b[1]!;
    if (ay === by) continue; // horizontal edges cross no centre line
    const [top, bottom] = ay < by ? [a, b] : [b, a];
    const [r0, r1] = centreSpan(top[1]!, bottom[1]!, height);
    if (r1 <= r0) continue;
    ex0[i] = top[0]!;
    ey0[i] = top[1]!;
    slope[i] = (bottom[0]! - top[0]!) / (bottom[1]! - top[1]!);
    dir[i] = ay < by ? 1 : -1;
    lastRow[i] = r1 - 1;
    buckets[r0]!.push(i);
  }
  let active: number[] = [];
  const xs: number[] = [];
  const ws: number[] = [];
  const order: number[] = [];
  for (let y = 0; y < height; y++) {
    const bucket = buckets[y]!;
    if (bucket.length > 0) active = active.concat(bucket);
    if (active.length === 0) continue;
    const cy = y + 0.5;
    xs.length = 0;
    ws.length = 0;
    order.length = 0;
    for (const e of active) {
      xs.push(ex0[e]! + (cy - ey0[e]!) * slope[e]!);
      ws.push(dir[e]!);
      order.push(order.length);
    }
    order.sort((p, q) => xs[p]! - xs[q]!);
    let winding = 0;
    const row = y * width;
    for (let k = 0; k < order.length; k++) {
      const idx = order[k]!;
      const before = winding;
      winding += ws[idx]!;
      if (before === 0 && winding !== 0) {
        // Entering: fill until the winding drops back to zero.
        const start = xs[idx]!;
        let j = k + 1;
        let w = winding;
        for (; j < order.length; j++) {
          w += ws[order[j]!]!;
          if (w === 0) break;
        }
        const end = j < order.length ? xs[order[j]!]! : Number.POSITIVE_INFINITY;
        const [x0, x1] = centreSpan(start, end, width);
        if (x1 > x0) mask.fill(value, row + x0, row + x1);
        winding = 0;
        k = j;
      }
    }
    active = active.filter((e) => lastRow[e]! > y);
  }
}

/** Pixel bounding box test: does the shape reach any pixel centre of the image? */
function touchesImage(r: MaskRegion, width: number, height: number): boolean {
  switch (r.shape) {
    case "object":
      if (r.x === undefined || r.y === undefined || r.width === undefined || r.height === undefined) return true;
      return r.x < width && r.y < height && r.x + r.width > 0 && r.y + r.height > 0;
    case "rect":
      return r.x < width && r.y < height && r.x + r.width > 0 && r.y + r.height > 0;
    case "ellipse":
      return r.cx + r.rx > 0 && r.cy + r.ry > 0 && r.cx - r.rx < width && r.cy - r.ry < height;
    case "polygon": {
      let minX = Number.POSITIVE_INFINITY;
      let minY = Number.POSITIVE_INFINITY;
      let maxX = Number.NEGATIVE_INFINITY;
      let maxY = Number.NEGATIVE_INFINITY;
      for (const p of r.points) {
        minX = Math.min(minX, p[0]!);
        maxX = Math.max(maxX, p[0]!);
        minY = Math.min(minY, p[1]!);
        maxY = Math.max(maxY, p[1]!);
      }
      return minX < width && minY < height && maxX > 0 && maxY > 0;
    }
    case "wand":
      return r.x >= 0 && r.y >= 0 && r.x < width && r.y < height;
  }
}

/** Checks every region (names the first bad value) and the overall limits, before any pixel is touched. */
export function checkRegions(regions: ReadonlyArray<MaskRegion>): void {
  if (regions.length === 0) {
    throw regionError(
      "mask_regions is empty, so it marks nothing to inpaint.",
      'Give at least one shape, e.g. [{"shape":"rect","x":0.4,"y":0.3,"width":0.2,"height":0.2}] with units "fraction".',
    );
  }
  if (regions.length > MAX_REGIONS) {
    throw regionError(
      `mask_regions has ${regions.length} shapes; at most ${MAX_REGIONS} are accepted.`,
      "Merge shapes, or draw the mask as mask_svg.",
    );
  }
  const selections = regions.filter((r) => r.shape === "object" || r.shape === "wand").length;
  if (selections > MAX_SELECTIONS) {
    throw regionError(
      `mask_regions has ${selections} object and wand entries; at most ${MAX_SELECTIONS} are accepted (each reads the whole photo).`,
      "Select fewer objects per call, or combine them into one box.",
      { selections, limit: MAX_SELECTIONS },
    );
  }
  let points = 0;
  for (const r of regions) if (r.shape === "polygon" && Array.isArray(r.points)) points += r.points.length;
  if (points > MAX_POLYGON_POINTS) {
    throw regionError(
      `mask_regions has ${points} polygon points in all; at most ${MAX_POLYGON_POINTS} are accepted.`,
      "Simplify the outline (a few dozen points are enough for a mask; grow_mask and feather_mask smooth the edge), or give mask_svg with a path.",
      { points, limit: MAX_POLYGON_POINTS },
    );
  }
}

/** The mask of the regions and what decided each entry. */
export interface DrawnRegions {
  mask: RasterImage;
  reports: RegionReport[];
}

function outsideError(r: MaskRegion, i: number, units: RegionUnits, width: number, height: number): FluxFillError {
  const where =
    units === "px"
      ? `Pixel coordinates run from 0,0 (top left) to ${width},${height}; or use units "fraction" (0..1).`
      : FRACTION_HINT;
  if (r.shape === "wand") {
    return regionError(
      `mask_regions[${i}] is a wand whose seed (x, y) lies outside the ${width}×${height} image.`,
      `Put the seed on a pixel of the colour to select. ${where}`,
    );
  }
  return regionError(`mask_regions[${i}] lies entirely outside the ${width}×${height} image.`, where);
}

/** The photo as the selections take it; the mask stage always passes opaque RGB at the image's size. */
function rgbPixelsOf(image: RasterImage | undefined, width: number, height: number): SelectionImage {
  if (image === undefined || image.channels !== 3 || image.width !== width || image.height !== height) {
    throw new FluxFillError("internal", "Object and wand regions need the photo's RGB pixels at the image's size.");
  }
  return { data: image.data, width, height, channels: 3 };
}

/** Every region checked (the first bad value named) and converted to pixels; each must touch the image. */
export function regionsInPixels(
  regions: ReadonlyArray<MaskRegion>,
  units: RegionUnits,
  width: number,
  height: number,
): Array<MaskRegion & { op: RegionOp }> {
  checkRegions(regions);
  const inPixels = regions.map((r, i) => regionInPixels(r, i, units, width, height));
  inPixels.forEach((r, i) => {
    if (!touchesImage(r, width, height)) throw outsideError(r, i, units, width, height);
  });
  return inPixels;
}

/**
 * Draws the regions in order at the image's size (255 inside, 0 outside): "add" entries are unioned with
 * what came before, "subtract" entries cleared from it. Wand entries need the photo's pixels (opaque RGB,
 * `image`); object entries take the segmentation made for them beforehand (`objects`, by entry index:
 * a segmenter may be hosted, so that part is async, see region-selections.ts). Every value is checked
 * before any pixel is touched.
 */
export function drawRegions(
  regions: ReadonlyArray<MaskRegion>,
  units: RegionUnits,
  width: number,
  height: number,
  image?: RasterImage,
  objects: ReadonlyMap<number, Segmentation> = new Map(),
): DrawnRegions {
  const inPixels = regionsInPixels(regions, units, width, height);
  const rgb = regionsNeedPixels(inPixels) ? rgbPixelsOf(image, width, height) : undefined;
  const data = Buffer.alloc(width * height);
  const reports: RegionReport[] = inPixels.map((r, index) => {
    // Shapes are drawn straight into the mask (255 to add, 0 to subtract): O(area), not O(image).
    const value = r.op === "subtract" ? 0 : 255;
    let selection: Selection | Segmentation | undefined;
    if (r.shape === "rect") fillRect(data, width, height, r, value);
    else if (r.shape === "ellipse") fillEllipse(data, width, height, r, value);
    else if (r.shape === "polygon") fillPolygon(data, width, height, r.points, value);
    else {
      if (r.shape === "object") {
        selection = objects.get(index);
        if (selection === undefined)
          throw new FluxFillError("internal", `mask_regions[${index}] (object) was drawn before it was segmented.`);
      } else selection = selectWand(rgb!, [r.x, r.y], r.tolerance ?? WAND_DEFAULT_TOLERANCE, r.contiguous ?? true);
      const selected = selection.mask;
      if (r.op === "subtract") {
        for (let p = 0; p < data.length; p++) data[p] = Math.min(data[p]!, 255 - selected[p]!);
      } else {
        for (let p = 0; p < data.length; p++) if (selected[p]! > data[p]!) data[p] = selected[p]!;
      }
    }
    const segmented = selection !== undefined && "segmenter" in selection ? selection : undefined;
    return {
      index,
      shape: r.shape,
      op: r.op,
      decided: selection?.decided ?? "shape",
      ...(selection ? { reason: selection.reason } : {}),
      ...(segmented
        ? {
            segmenter: segmented.segmenter,
            confidence: segmented.confidence,
            candidates: segmented.candidates,
            costUsd: segmented.costUsd,
            notes: [...(segmented.notes ?? [])],
          }
        : {}),
    };
  });
  return { mask: { data, width, height, channels: 1 }, reports };
}
