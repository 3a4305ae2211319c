import type { RasterImage } from "../../types.js";
import { COLOR_CHANNELS, createLevel, type Level } from "./level.js";

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

/** Copies a rectangle of the image into a working level; every non-zero mask pixel is a hole. */
export function extractLevel(image: RasterImage, mask: RasterImage, rect: Rect): Level {
  const level = createLevel(rect.width, rect.height, COLOR_CHANNELS);
  for (let y = 0; y < rect.height; y++) {
    const source = (rect.y + y) * image.width + rect.x;
    for (let x = 0; x < rect.width; x++) {
      const i = y * rect.width + x;
      const j = source + x;
      level.hole[i] = mask.data[j]! > 0 ? 1 : 0;
      for (let c = 0; c < 3; c++) level.pixels[i * 3 + c] = image.data[j * 3 + c]!;
    }
  }
  return level;
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

/**
 * Distance (pixels, 3-4 chamfer approximation of Euclidean) from every pixel to the nearest known pixel:
 * 0 outside the hole. With no known pixel at all every distance is the level's larger side.
 */
export function distanceToKnown(level: Level): Float32Array {
  const { width: w, height: h, hole } = level;
  const far = 1 << 29;
  const d = new Int32Array(w * h);
  for (let i = 0; i < d.length; i++) d[i] = hole[i] ? far : 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      let v = d[i]!;
      if (v === 0) continue;
      if (x > 0) v = Math.min(v, d[i - 1]! + 3);
      if (y > 0) {
        v = Math.min(v, d[i - w]! + 3);
        if (x > 0) v = Math.min(v, d[i - w - 1]! + 4);
        if (x < w - 1) v = Math.min(v, d[i - w + 1]! + 4);
      }
      d[i] = v;
    }
  }
  const result = new Float32Array(w * h);
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
      d[i] = v;
      result[i] = v >= far ? Math.max(w, h) : v / 3;
    }
  }
  return result;
}

/** How "thick" the hole is: the largest distance from a hole pixel to a known one. */
export function holeThickness(level: Level): number {
  const distances = distanceToKnown(level);
  let max = 0;
  for (let i = 0; i < distances.length; i++) if (distances[i]! > max) max = distances[i]!;
  return max;
}
