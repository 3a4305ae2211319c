/**
 * The mask editor's pixel maths, shared by the page (painting) and the server (starting masks). No DOM,
 * no I/O: a mask is one byte per pixel, 255 = inpaint, 0 = keep. Coordinates are continuous mask pixels:
 * pixel (i, j) covers [i, i+1) × [j, j+1) and its centre is (i + 0.5, j + 0.5); a pixel is painted when
 * its centre is inside the shape.
 *
 * Painting functions change the mask in place (it is the editor's working buffer) and return the box of
 * pixels they may have changed (null when none), so the page redraws only that part.
 */
import type { SelectionImage } from "../images/selection/types.js";

export const INPAINT = 255;
export const KEEP = 0;
/** Pixels at or above this value count as "inpaint" (same rule as the server's mask statistics). */
export const MASK_THRESHOLD = 128;

export type PaintValue = typeof INPAINT | typeof KEEP;

export interface Mask {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface Point {
  x: number;
  y: number;
}

/** Whole pixels: columns x .. x+width-1, rows y .. y+height-1. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Size {
  width: number;
  height: number;
}

export function createMask(width: number, height: number): Mask {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`A mask needs a positive integer size, got ${width}×${height}`);
  }
  return { width, height, data: new Uint8Array(width * height) };
}

export function cloneMask(mask: Mask): Mask {
  return { width: mask.width, height: mask.height, data: mask.data.slice() };
}

/** The pixel box holding [x0, x1] × [y0, y1] (continuous), clipped to the mask; null when outside. */
export function pixelBox(mask: Size, x0: number, y0: number, x1: number, y1: number): Box | null {
  // Pixel i is a candidate when its centre i + 0.5 can lie in [x0, x1].
  const left = Math.max(0, Math.ceil(Math.min(x0, x1) - 0.5));
  const right = Math.min(mask.width - 1, Math.floor(Math.max(x0, x1) - 0.5));
  const top = Math.max(0, Math.ceil(Math.min(y0, y1) - 0.5));
  const bottom = Math.min(mask.height - 1, Math.floor(Math.max(y0, y1) - 0.5));
  if (right < left || bottom < top) return null;
  return { x: left, y: top, width: right - left + 1, height: bottom - top + 1 };
}

export function unionBox(a: Box | null, b: Box | null): Box | null {
  if (!a) return b;
  if (!b) return a;
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return {
    x,
    y,
    width: Math.max(a.x + a.width, b.x + b.width) - x,
    height: Math.max(a.y + a.height, b.y + b.height) - y,
  };
}

/** Squared distance from p to the segment a–b. */
export function distanceToSegmentSquared(p: Point, a: Point, b: Point): number {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const lengthSquared = dx * dx + dy * dy;
  let t = lengthSquared === 0 ? 0 : ((p.x - a.x) * dx + (p.y - a.y) * dy) / lengthSquared;
  t = Math.max(0, Math.min(1, t));
  const ex = p.x - (a.x + t * dx);
  const ey = p.y - (a.y + t * dy);
  return ex * ex + ey * ey;
}

/**
 * A round brush dragged along `points`: every pixel whose centre is within `radius` of the polyline gets
 * `value`. One point paints a disc. The radius is at least half a pixel, so a stroke always marks the
 * pixels it passes through.
 */
export function paintStroke(mask: Mask, points: readonly Point[], radius: number, value: PaintValue): Box | null {
  if (points.length === 0) return null;
  const r = Math.max(0.5, radius);
  const rSquared = r * r;
  let changed: Box | null = null;
  for (let i = 0; i < Math.max(1, points.length - 1); i++) {
    const a = points[i]!;
    const b = points[Math.min(i + 1, points.length - 1)]!;
    const box = pixelBox(
      mask,
      Math.min(a.x, b.x) - r,
      Math.min(a.y, b.y) - r,
      Math.max(a.x, b.x) + r,
      Math.max(a.y, b.y) + r,
    );
    if (!box) continue;
    for (let y = box.y; y < box.y + box.height; y++) {
      const row = y * mask.width;
      for (let x = box.x; x < box.x + box.width; x++) {
        if (distanceToSegmentSquared({ x: x + 0.5, y: y + 0.5 }, a, b) <= rSquared) mask.data[row + x] = value;
      }
    }
    changed = unionBox(changed, box);
  }
  return changed;
}

/** The axis-aligned rectangle with corners a and b (either order). */
export function paintRect(mask: Mask, a: Point, b: Point, value: PaintValue): Box | null {
  const box = pixelBox(mask, a.x, a.y, b.x, b.y);
  if (!box) return null;
  for (let y = box.y; y < box.y + box.height; y++) {
    mask.data.fill(value, y * mask.width + box.x, y * mask.width + box.x + box.width);
  }
  return box;
}

/** The ellipse inscribed in the rectangle with corners a and b. */
export function paintEllipse(mask: Mask, a: Point, b: Point, value: PaintValue): Box | null {
  const cx = (a.x + b.x) / 2;
  const cy = (a.y + b.y) / 2;
  const rx = Math.abs(b.x - a.x) / 2;
  const ry = Math.abs(b.y - a.y) / 2;
  if (rx === 0 || ry === 0) return null;
  const box = pixelBox(mask, cx - rx, cy - ry, cx + rx, cy + ry);
  if (!box) return null;
  for (let y = box.y; y < box.y + box.height; y++) {
    const ny = (y + 0.5 - cy) / ry;
    for (let x = box.x; x < box.x + box.width; x++) {
      const nx = (x + 0.5 - cx) / rx;
      if (nx * nx + ny * ny <= 1) mask.data[y * mask.width + x] = value;
    }
  }
  return box;
}

/** Inpaint becomes keep and keep becomes inpaint (soft values are mirrored). */
export function invertMask(mask: Mask): Box {
  for (let i = 0; i < mask.data.length; i++) mask.data[i] = 255 - mask.data[i]!;
  return { x: 0, y: 0, width: mask.width, height: mask.height };
}

export function clearMask(mask: Mask): Box {
  mask.data.fill(KEEP);
  return { x: 0, y: 0, width: mask.width, height: mask.height };
}

/** Fraction (0..1) of pixels marked for inpainting. */
export function maskCoverage(mask: Mask): number {
  let count = 0;
  for (let i = 0; i < mask.data.length; i++) if (mask.data[i]! >= MASK_THRESHOLD) count++;
  return mask.data.length === 0 ? 0 : count / mask.data.length;
}

/** "0 %", "0.04 %", "12.5 %", "100 %": never shows 0 for a mask with something in it, nor 100 for one with a gap. */
export function formatCoverage(fraction: number): string {
  const percent = Math.max(0, Math.min(1, fraction)) * 100;
  if (percent === 0 || percent === 100) return `${percent} %`;
  if (percent < 0.1) return `${Math.max(0.01, Math.floor(percent * 100) / 100).toFixed(2)} %`;
  if (percent > 99.9) return `${Math.min(99.9, Math.floor(percent * 10) / 10).toFixed(1)} %`;
  return `${Number(percent.toFixed(1))} %`;
}

/**
 * The size the editor paints at: the image's own size when its longest side is at most `maxSide`,
 * else scaled down keeping the aspect ratio (the mask is scaled back up when it is sent).
 */
export function workingSize(width: number, height: number, maxSide: number): Size {
  const longest = Math.max(width, height);
  if (longest <= maxSide) return { width, height };
  const scale = maxSide / longest;
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** A point on the displayed canvas (CSS pixels, relative to its top-left) in mask pixels, kept inside the mask. */
export function viewToMask(viewX: number, viewY: number, view: Size, mask: Size): Point {
  const x = (viewX / Math.max(1e-9, view.width)) * mask.width;
  const y = (viewY / Math.max(1e-9, view.height)) * mask.height;
  return { x: Math.max(0, Math.min(mask.width, x)), y: Math.max(0, Math.min(mask.height, y)) };
}

/** RGBA pixels of a box of the mask for display: inpaint pixels in `colour` at their strength × `alpha`. */
export function overlayPixels(
  mask: Mask,
  box: Box,
  colour: readonly [number, number, number],
  alpha: number,
): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(box.width * box.height * 4);
  const [r, g, b] = colour;
  let o = 0;
  for (let y = box.y; y < box.y + box.height; y++) {
    for (let x = box.x; x < box.x + box.width; x++) {
      const v = mask.data[y * mask.width + x]!;
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
      out[o + 3] = Math.round(v * alpha);
      o += 4;
    }
  }
  return out;
}

/** Opaque RGBA of the whole mask as the upstream wants it: white = inpaint, black = keep. */
export function blackWhitePixels(mask: Mask): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(mask.data.length * 4);
  for (let i = 0; i < mask.data.length; i++) {
    const v = mask.data[i]!;
    out[i * 4] = v;
    out[i * 4 + 1] = v;
    out[i * 4 + 2] = v;
    out[i * 4 + 3] = 255;
  }
  return out;
}

/**
 * A mask from RGBA pixels of a mask picture (e.g. a starting mask drawn onto a canvas): luminance at or
 * above the threshold is inpaint; transparent pixels are keep.
 */
export function maskFromRgba(rgba: ArrayLike<number>, width: number, height: number): Mask {
  const mask = createMask(width, height);
  for (let i = 0; i < width * height; i++) {
    const luminance = 0.2126 * rgba[i * 4]! + 0.7152 * rgba[i * 4 + 1]! + 0.0722 * rgba[i * 4 + 2]!;
    const alpha = rgba[i * 4 + 3]!;
    mask.data[i] = alpha >= MASK_THRESHOLD && luminance >= MASK_THRESHOLD ? INPAINT : KEEP;
  }
  return mask;
}

/** Nearest-neighbour resampling of one-channel pixels, thresholded to inpaint/keep. */
export function resampleMask(source: Mask, width: number, height: number): Mask {
  const out = createMask(width, height);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(source.height - 1, Math.floor(((y + 0.5) * source.height) / height));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(source.width - 1, Math.floor(((x + 0.5) * source.width) / width));
      out.data[y * width + x] = source.data[sy * source.width + sx]! >= MASK_THRESHOLD ? INPAINT : KEEP;
    }
  }
  return out;
}

/** Bounded undo history of whole-mask snapshots (the oldest are dropped past `limit`). */
export class UndoHistory {
  private readonly snapshots: Uint8Array[] = [];

  constructor(private readonly limit = 20) {}

  /** Call before changing the mask. */
  record(mask: Mask): void {
    this.snapshots.push(mask.data.slice());
    if (this.snapshots.length > this.limit) this.snapshots.shift();
  }

  get size(): number {
    return this.snapshots.length;
  }

  /** Restores the last snapshot into `mask`; false when there is nothing to undo. */
  undo(mask: Mask): boolean {
    const last = this.snapshots.pop();
    if (!last) return false;
    mask.data.set(last);
    return true;
  }

  clear(): void {
    this.snapshots.length = 0;
  }
}

/** Canvas RGBA (getImageData) → opaque RGB, the form the selection maths reads. */
export function rgbFromRgba(rgba: ArrayLike<number>, width: number, height: number): SelectionImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; j < data.length; i += 4, j += 3) {
    data[j] = rgba[i]!;
    data[j + 1] = rgba[i + 1]!;
    data[j + 2] = rgba[i + 2]!;
  }
  return { data, width, height, channels: 3 };
}

/**
 * Adds a selection (one byte per pixel, at or above MASK_THRESHOLD = selected) to the mask as INPAINT,
 * only inside `within` when given; returns the box of pixels that changed, or null when none did.
 */
export function addSelection(mask: Mask, selected: ArrayLike<number>, within?: Box): Box | null {
  let left = mask.width;
  let top = mask.height;
  let right = -1;
  let bottom = -1;
  const [x0, y0] = within ? [Math.max(0, within.x), Math.max(0, within.y)] : [0, 0];
  const x1 = within ? Math.min(mask.width, within.x + within.width) : mask.width;
  const y1 = within ? Math.min(mask.height, within.y + within.height) : mask.height;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = y * mask.width + x;
      if (selected[i]! < MASK_THRESHOLD || mask.data[i] === INPAINT) continue;
      mask.data[i] = INPAINT;
      if (x < left) left = x;
      if (x > right) right = x;
      if (y < top) top = y;
      if (y > bottom) bottom = y;
    }
  }
  return right < 0 ? null : { x: left, y: top, width: right - left + 1, height: bottom - top + 1 };
}

/**
 * A continuous box in the pixels of `from` (e.g. a box dragged on the editor's mask) as whole pixels of
 * `to` (the image) that contain it, clipped to `to`; null when nothing of it lies on `to`.
 */
export function scaleBox(box: Box, from: Size, to: Size): Box | null {
  const sx = to.width / from.width;
  const sy = to.height / from.height;
  const left = Math.max(0, Math.floor(box.x * sx));
  const top = Math.max(0, Math.floor(box.y * sy));
  const right = Math.min(to.width, Math.ceil((box.x + box.width) * sx));
  const bottom = Math.min(to.height, Math.ceil((box.y + box.height) * sy));
  if (right <= left || bottom <= top) return null;
  return { x: left, y: top, width: right - left, height: bottom - top };
}
