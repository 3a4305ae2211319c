import { FluxFillError } from "../errors.js";
import type { RasterImage } from "../providers/types.js";

/**
 * Pure pixel functions for masks: no I/O, no sharp. A mask is one channel, 255 = inpaint, 0 = keep,
 * values between are soft edges (the upstream convention).
 */

/** The value from which a mask pixel counts as "inpaint" in statistics. */
export const MASK_THRESHOLD = 128;

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface MaskStats {
  /** Fraction (0..1) of pixels at or above MASK_THRESHOLD. */
  coverage: number;
  /** Smallest rectangle holding every such pixel; null when there is none. */
  bbox: Box | null;
}

function requireChannels(raster: RasterImage, allowed: ReadonlyArray<number>, what: string): void {
  if (!allowed.includes(raster.channels)) {
    throw new Error(`${what} needs a ${allowed.join(" or ")}-channel raster, got ${raster.channels} channels`);
  }
}

/** Transparent pixels become the area to inpaint: value = 255 − alpha. */
export function maskFromAlpha(rgba: RasterImage): RasterImage {
  requireChannels(rgba, [4], "maskFromAlpha");
  const pixels = rgba.width * rgba.height;
  const data = Buffer.alloc(pixels);
  for (let i = 0; i < pixels; i++) data[i] = 255 - rgba.data[i * 4 + 3]!;
  return { data, width: rgba.width, height: rgba.height, channels: 1 };
}

/** True when the raster has an alpha channel and at least one pixel is not fully opaque. */
export function hasTransparency(raster: RasterImage): boolean {
  if (raster.channels !== 4) return false;
  for (let i = 3; i < raster.data.length; i += 4) if (raster.data[i]! < 255) return true;
  return false;
}

/**
 * Drops the alpha channel only when every pixel is opaque (otherwise returns the raster as it is). The
 * RGB is packed inside the raster's own buffer (toRgbInPlace): only for a raster nothing else reads.
 */
export function dropOpaqueAlpha(raster: RasterImage): RasterImage {
  return raster.channels === 4 && !hasTransparency(raster) ? toRgbInPlace(raster) : raster;
}

/**
 * Opaque RGB. Alpha is dropped with the colour values kept as they are: when the alpha became the mask,
 * the pixels under it are about to be repainted anyway. Grey is replicated into three channels.
 */
export function toRgb(raster: RasterImage): RasterImage {
  if (raster.channels === 3) return raster;
  const pixels = raster.width * raster.height;
  const data = Buffer.alloc(pixels * 3);
  const step = raster.channels;
  for (let i = 0; i < pixels; i++) {
    const s = i * step;
    const d = i * 3;
    if (step === 1) {
      const v = raster.data[s]!;
      data[d] = v;
      data[d + 1] = v;
      data[d + 2] = v;
    } else {
      data[d] = raster.data[s]!;
      data[d + 1] = raster.data[s + 1]!;
      data[d + 2] = raster.data[s + 2]!;
    }
  }
  return { data, width: raster.width, height: raster.height, channels: 3 };
}

/**
 * toRgb without a copy: an RGBA raster is packed to RGB inside its own buffer (the result is a view of it),
 * so a big image never exists twice. Only for a raster nothing else reads afterwards: the RGBA data is
 * overwritten. Grey still needs a new, larger buffer.
 */
export function toRgbInPlace(raster: RasterImage): RasterImage {
  if (raster.channels !== 4) return toRgb(raster);
  const pixels = raster.width * raster.height;
  const data = raster.data;
  // Forward is safe: pixel i is written to 3i..3i+2, never past 4i+2, the last byte it reads.
  for (let i = 1; i < pixels; i++) {
    const s = i * 4;
    const d = i * 3;
    data[d] = data[s]!;
    data[d + 1] = data[s + 1]!;
    data[d + 2] = data[s + 2]!;
  }
  return { data: data.subarray(0, pixels * 3), width: raster.width, height: raster.height, channels: 3 };
}

/**
 * A mask from any raster: luminance (Rec. 709 weights, integer maths, so pure white stays 255 and black 0),
 * flattened onto black where the mask file itself has transparency (a transparent mask pixel means "keep").
 */
export function maskFromLuminance(raster: RasterImage): RasterImage {
  if (raster.channels === 1) return raster;
  const pixels = raster.width * raster.height;
  const data = Buffer.alloc(pixels);
  const step = raster.channels;
  for (let i = 0; i < pixels; i++) {
    const s = i * step;
    // 54 + 183 + 19 = 256: weights 0.2109, 0.7148, 0.0742.
    let y = (54 * raster.data[s]! + 183 * raster.data[s + 1]! + 19 * raster.data[s + 2]! + 128) >> 8;
    if (step === 4) y = Math.round((y * raster.data[s + 3]!) / 255);
    data[i] = y;
  }
  return { data, width: raster.width, height: raster.height, channels: 1 };
}

/** Throws `bad_input` naming both sizes unless the mask has exactly the image's size. */
export function assertSameSize(
  image: { width: number; height: number },
  mask: { width: number; height: number },
): void {
  if (image.width === mask.width && image.height === mask.height) return;
  const swapped = image.width === mask.height && image.height === mask.width;
  throw new FluxFillError(
    "bad_input",
    `The mask is ${mask.width}×${mask.height} but the image is ${image.width}×${image.height}; they must be the same size (the upstream requires it).`,
    {
      suggestion: swapped
        ? "The sizes are swapped: one of the two files is probably rotated (EXIF orientation). Export the mask from the image as it is displayed."
        : `Resize or redraw the mask to exactly ${image.width}×${image.height} pixels (sizes are measured after EXIF rotation), or set fit_mask: true to stretch it to the image.`,
      details: {
        image: { width: image.width, height: image.height },
        mask: { width: mask.width, height: mask.height },
      },
    },
  );
}

/** Coverage and bounding box of the pixels to inpaint (≥ MASK_THRESHOLD). */
export function maskStats(mask: RasterImage): MaskStats {
  requireChannels(mask, [1], "maskStats");
  const { width, height, data } = mask;
  let count = 0;
  let minX = width;
  let minY = height;
  let maxX = -1;
  let maxY = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let rowMin = -1;
    let rowMax = -1;
    for (let x = 0; x < width; x++) {
      if (data[row + x]! >= MASK_THRESHOLD) {
        if (rowMin < 0) rowMin = x;
        rowMax = x;
        count++;
      }
    }
    if (rowMin < 0) continue;
    if (rowMin < minX) minX = rowMin;
    if (rowMax > maxX) maxX = rowMax;
    if (minY > y) minY = y;
    maxY = y;
  }
  const total = width * height;
  return {
    coverage: total === 0 ? 0 : count / total,
    bbox: count === 0 ? null : { x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1 },
  };
}
