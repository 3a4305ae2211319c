import { FluxFillError } from "../errors.js";
import type { RasterImage } from "../providers/types.js";

/**
 * Shapes an agent can describe in words-as-numbers, rasterised to a one-channel mask (255 = inpaint).
 * Pure: no I/O. A pixel belongs to a shape when its centre (x + 0.5, y + 0.5) lies inside it, so a rect at
 * integer coordinates covers exactly the pixels x..x+width-1 and shapes are crisp (no anti-aliasing; use
 * feather_mask for soft edges). Shapes are unioned.
 */

export type MaskRegion =
  | { shape: "rect"; x: number; y: number; width: number; height: number }
  | { shape: "ellipse"; cx: number; cy: number; rx: number; ry: number }
  | { shape: "polygon"; points: ReadonlyArray<ReadonlyArray<number>> };

export type RegionUnits = "px" | "fraction";

/** Most regions in one call. */
export const MAX_REGIONS = 100;
/** Most polygon vertices in one call (all polygons together): bounds the work to a few hundred ms. */
export const MAX_POLYGON_POINTS = 10_000;

const FRACTION_HINT = 'With units "fraction", every coordinate and size is a fraction 0..1 of the image width (x) or height (y).';

function regionError(message: string, suggestion: string, details?: Record<string, unknown>): FluxFillError {
  return new FluxFillError("bad_input", message, { suggestion, ...(details ? { details } : {}) });
}

function checkFinite(where: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw regionError(`${where} must be a finite number; got ${JSON.stringify(value)}.`, "Give every coordinate as a number.");
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
    throw regionError(`${where} is ${value}; sizes must be positive.`, "Give the size as a positive number (the extent, not an end coordinate).");
  }
  if (value === 0) {
    throw regionError(`${where} is 0, so the shape is empty.`, "Give the shape a positive size.");
  }
}

/** The region in pixel coordinates, after checking every value. */
export function regionInPixels(region: MaskRegion, index: number, units: RegionUnits, width: number, height: number): MaskRegion {
  const at = `mask_regions[${index}]`;
  const sx = units === "fraction" ? width : 1;
  const sy = units === "fraction" ? height : 1;
  switch (region.shape) {
    case "rect": {
      const x = checkFinite(`${at}.x`, region.x);
      const y = checkFinite(`${at}.y`, region.y);
      checkFraction(`${at}.x`, x, units);
      checkFraction(`${at}.y`, y, units);
      checkSize(`${at}.width`, checkFinite(`${at}.width`, region.width), units);
      checkSize(`${at}.height`, checkFinite(`${at}.height`, region.height), units);
      return { shape: "rect", x: x * sx, y: y * sy, width: region.width * sx, height: region.height * sy };
    }
    case "ellipse": {
      const cx = checkFinite(`${at}.cx`, region.cx);
      const cy = checkFinite(`${at}.cy`, region.cy);
      checkFraction(`${at}.cx`, cx, units);
      checkFraction(`${at}.cy`, cy, units);
      checkSize(`${at}.rx`, checkFinite(`${at}.rx`, region.rx), units);
      checkSize(`${at}.ry`, checkFinite(`${at}.ry`, region.ry), units);
      return { shape: "ellipse", cx: cx * sx, cy: cy * sy, rx: region.rx * sx, ry: region.ry * sy };
    }
    case "polygon": {
      const points = region.points;
      if (!Array.isArray(points) || points.length < 3) {
        throw regionError(
          `${at}.points has ${Array.isArray(points) ? points.length : 0} point(s); a polygon needs at least 3.`,
          'Give points as [[x, y], [x, y], [x, y], ...] in order around the shape.',
        );
      }
      const scaled: number[][] = new Array(points.length);
      for (let i = 0; i < points.length; i++) {
        const p = points[i];
        if (!Array.isArray(p) || p.length !== 2) {
          throw regionError(`${at}.points[${i}] must be a pair [x, y]; got ${JSON.stringify(p)?.slice(0, 40)}.`, "Give each point as [x, y].");
        }
        const x = checkFinite(`${at}.points[${i}][0]`, p[0]);
        const y = checkFinite(`${at}.points[${i}][1]`, p[1]);
        checkFraction(`${at}.points[${i}][0]`, x, units);
        checkFraction(`${at}.points[${i}][1]`, y, units);
        scaled[i] = [x * sx, y * sy];
      }
      return { shape: "polygon", points: scaled };
    }
    default: {
      const shape = (region as { shape?: unknown }).shape;
      throw regionError(`${at}.shape is ${JSON.stringify(shape)}; accepted shapes: "rect", "ellipse", "polygon".`, "Use one of the three shapes.");
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

function fillRect(mask: Buffer, width: number, height: number, r: { x: number; y: number; width: number; height: number }): void {
  const [x0, x1] = centreSpan(r.x, r.x + r.width, width);
  const [y0, y1] = centreSpan(r.y, r.y + r.height, height);
  for (let y = y0; y < y1; y++) mask.fill(255, y * width + x0, y * width + x1);
}

function fillEllipse(mask: Buffer, width: number, height: number, e: { cx: number; cy: number; rx: number; ry: number }): void {
  const [y0, y1] = centreSpan(e.cy - e.ry, e.cy + e.ry + 1e-9, height);
  for (let y = y0; y < y1; y++) {
    const dy = (y + 0.5 - e.cy) / e.ry;
    const t = 1 - dy * dy;
    if (t < 0) continue;
    const half = e.rx * Math.sqrt(t);
    // Inside when |x + 0.5 - cx| <= half: the closed interval, like (dx/rx)² + (dy/ry)² <= 1.
    const first = Math.max(0, Math.ceil(e.cx - half - 0.5));
    const last = Math.min(width - 1, Math.floor(e.cx + half - 0.5));
    if (last >= first) mask.fill(255, y * width + first, y * width + last + 1);
  }
}

/**
 * Scanline fill with the non-zero winding rule at pixel centres. Edges are bucketed by their first row,
 * and each row only visits the edges that cross it: O(rows + crossings · log) for any point count.
 */
function fillPolygon(mask: Buffer, width: number, height: number, points: ReadonlyArray<ReadonlyArray<number>>): void {
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
        if (x1 > x0) mask.fill(255, row + x0, row + x1);
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
  }
}

/** Checks every region (names the first bad value) and the overall limits, before any pixel is touched. */
export function checkRegions(regions: ReadonlyArray<MaskRegion>): void {
  if (regions.length === 0) {
    throw regionError("mask_regions is empty, so it marks nothing to inpaint.", 'Give at least one shape, e.g. [{"shape":"rect","x":0.4,"y":0.3,"width":0.2,"height":0.2}] with units "fraction".');
  }
  if (regions.length > MAX_REGIONS) {
    throw regionError(`mask_regions has ${regions.length} shapes; at most ${MAX_REGIONS} are accepted.`, "Merge shapes, or draw the mask as mask_svg.");
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

/** Rasterises the union of the regions at the image size (255 inside, 0 outside). */
export function rasteriseRegions(
  regions: ReadonlyArray<MaskRegion>,
  units: RegionUnits,
  width: number,
  height: number,
): RasterImage {
  checkRegions(regions);
  const inPixels = regions.map((r, i) => regionInPixels(r, i, units, width, height));
  const data = Buffer.alloc(width * height);
  inPixels.forEach((r, i) => {
    if (!touchesImage(r, width, height)) {
      throw regionError(
        `mask_regions[${i}] lies entirely outside the ${width}×${height} image.`,
        units === "px"
          ? `Pixel coordinates run from 0,0 (top left) to ${width},${height}; or use units "fraction" (0..1).`
          : FRACTION_HINT,
      );
    }
    if (r.shape === "rect") fillRect(data, width, height, r);
    else if (r.shape === "ellipse") fillEllipse(data, width, height, r);
    else fillPolygon(data, width, height, r.points);
  });
  return { data, width, height, channels: 1 };
}
