import type { RasterImage } from "../../../images/raster.js";
import { COLOR_CHANNELS, createLevel, type Level, sharedInt32Array, sharedUint8Array } from "./level.js";

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Context kept around the hole: at least this many pixels… */
const MIN_MARGIN = 40;
/** …and at least this fraction of the hole's larger side, so big holes see enough texture to copy. */
const MARGIN_FRACTION = 0.5;

/** Bounding box of the non-zero mask pixels, or undefined when the mask is empty. */
export function maskBounds(mask: RasterImage): Rect | undefined {
  const { width: w, height: h, data } = mask;
  let minX = w;
  let minY = h;
  let maxX = -1;
  let maxY = -1;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      if (data[row + x] === 0) continue;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
  }
  if (maxX < 0) return undefined;
  return { x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1 };
}

/** The hole's bounding box grown by the context margin and clipped to the image. */
export function contextRect(bounds: Rect, width: number, height: number): Rect {
  const margin = Math.max(MIN_MARGIN, Math.ceil(MARGIN_FRACTION * Math.max(bounds.width, bounds.height)));
  const x0 = Math.max(0, bounds.x - margin);
  const y0 = Math.max(0, bounds.y - margin);
  const x1 = Math.min(width, bounds.x + bounds.width + margin);
  const y1 = Math.min(height, bounds.y + bounds.height + margin);
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** The hole of a rectangle of the mask: 1 where the mask is non-zero (shared memory, like every level array). */
export function extractHole(mask: RasterImage, rect: Rect): Uint8Array {
  const hole = sharedUint8Array(rect.width * rect.height);
  for (let y = 0; y < rect.height; y++) {
    const source = (rect.y + y) * mask.width + rect.x;
    const row = y * rect.width;
    for (let x = 0; x < rect.width; x++) hole[row + x] = mask.data[source + x]! > 0 ? 1 : 0;
  }
  return hole;
}

/** Copies a rectangle of the image into a working level; every non-zero mask pixel is a hole. */
export function extractLevel(image: RasterImage, mask: RasterImage, rect: Rect): Level {
  const level = createLevel(rect.width, rect.height, COLOR_CHANNELS);
  level.hole.set(extractHole(mask, rect));
  copyColors(image, rect, level);
  return level;
}

/** Writes the image's colours inside `rect` into the first three channels of a level of the rectangle's size. */
export function copyColors(image: RasterImage, rect: Rect, level: Level): void {
  const { pixels, channels: nc } = level;
  const source = image.data;
  for (let y = 0; y < rect.height; y++) {
    let j = ((rect.y + y) * image.width + rect.x) * 3;
    let i = y * rect.width * nc;
    for (let x = 0; x < rect.width; x++, i += nc, j += 3) {
      pixels[i] = source[j]!;
      pixels[i + 1] = source[j + 1]!;
      pixels[i + 2] = source[j + 2]!;
    }
  }
}

/**
 * The result: a copy of the image where each masked pixel is blended towards the fill by its mask value
 * (255 → the fill, 0 → untouched bit for bit).
 */
export function composite(image: RasterImage, mask: RasterImage, rect: Rect, fill: Level): RasterImage {
  const data = Buffer.from(image.data);
  for (let y = 0; y < rect.height; y++) {
    const source = (rect.y + y) * image.width + rect.x;
    for (let x = 0; x < rect.width; x++) {
      const j = source + x;
      const alpha = mask.data[j]!;
      if (alpha === 0) continue;
      const i = (y * rect.width + x) * fill.channels;
      for (let c = 0; c < COLOR_CHANNELS; c++) {
        const original = image.data[j * 3 + c]!;
        const value = original + ((fill.pixels[i + c]! - original) * alpha) / 255;
        data[j * 3 + c] = value <= 0 ? 0 : value >= 255 ? 255 : Math.round(value);
      }
    }
  }
  return { data, width: image.width, height: image.height, channels: 3 };
}

/** Chamfer units per pixel of `holeDepth` (3-4 chamfer: 3 per straight step, 4 per diagonal one). */
export const DEPTH_UNIT = 3;
/** `holeDepth` of a hole pixel with no known pixel anywhere in the level. */
export const UNREACHABLE = 1 << 29;

/**
 * How deep each pixel lies inside the hole, in 1/DEPTH_UNIT pixels (3-4 chamfer approximation of the
 * Euclidean distance to the nearest known pixel): 0 outside the hole, UNREACHABLE with no known pixel at all.
 * Integer, so the engine can also order the hole by depth (onion-peel order) at no extra cost.
 */
export function holeDepth(level: Pick<Level, "width" | "height" | "hole">): Int32Array {
  const { width: w, height: h, hole } = level;
  const d = sharedInt32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (!hole[i]) continue;
      let v = UNREACHABLE;
      if (x > 0) v = Math.min(v, d[i - 1]! + 3);
      if (y > 0) {
        v = Math.min(v, d[i - w]! + 3);
        if (x > 0) v = Math.min(v, d[i - w - 1]! + 4);
        if (x < w - 1) v = Math.min(v, d[i - w + 1]! + 4);
      }
      d[i] = v;
    }
  }
  for (let y = h - 1; y >= 0; y--) {
    for (let x = w - 1; x >= 0; x--) {
      const i = y * w + x;
      let v = d[i]!;
      if (v === 0) continue;
      if (x < w - 1) v = Math.min(v, d[i + 1]! + 3);
      if (y < h - 1) {
        v = Math.min(v, d[i + w]! + 3);
        if (x < w - 1) v = Math.min(v, d[i + w + 1]! + 4);
        if (x > 0) v = Math.min(v, d[i + w - 1]! + 4);
      }
      d[i] = Math.min(v, UNREACHABLE);
    }
  }
  return d;
}

/** A `holeDepth` value in pixels; an unreachable pixel counts as the level's larger side. */
export function depthInPixels(depth: number, width: number, height: number): number {
  return depth >= UNREACHABLE ? Math.max(width, height) : depth / DEPTH_UNIT;
}

/**
 * Distance (pixels, 3-4 chamfer approximation of Euclidean) from every pixel to the nearest known pixel:
 * 0 outside the hole. With no known pixel at all every distance is the level's larger side.
 */
export function distanceToKnown(level: Pick<Level, "width" | "height" | "hole">): Float32Array {
  const depth = holeDepth(level);
  const result = new Float32Array(depth.length);
  for (let i = 0; i < depth.length; i++) result[i] = depthInPixels(depth[i]!, level.width, level.height);
  return result;
}

/** How "thick" a hole is: the largest distance (pixels) from a hole pixel to a known one. */
export function thicknessOf(depth: Int32Array, width: number, height: number): number {
  let max = 0;
  for (let i = 0; i < depth.length; i++) if (depth[i]! > max) max = depth[i]!;
  return depthInPixels(max, width, height);
}

/** How "thick" the hole is: the largest distance from a hole pixel to a known one. */
export function holeThickness(level: Pick<Level, "width" | "height" | "hole">): number {
  return thicknessOf(holeDepth(level), level.width, level.height);
}
