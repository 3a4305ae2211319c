import { FluxFillError } from "../errors.js";
import type { RasterImage } from "./raster.js";

/**
 * Pure pixel functions for masks: no I/O, no sharp. A mask is one channel, 255 = inpaint, 0 = keep,
 * values between are soft edges (the upstream convention).
 */

/** The value from which a mask pixel counts as "inpaint" in statistics. */
export const MASK_THRESHOLD = 128;

/** Typed-array views read bytes in the machine's order; the word scans below assume little-endian. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** A byte is ≥ MASK_THRESHOLD (128) exactly when its top bit is set: these are the top bits of a word. */
const TOP_BITS = 0x80808080 | 0;
const LANE_ONES = 0x01010101;

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
  const src = raster.data;
  const step = raster.channels;
  // Masks are mostly black and white: read them a word at a time where the buffer allows it.
  let done = 0;
  if (wordsFit(src, pixels, step)) {
    if (step === 3) done = luminanceRgbWords(src, data, pixels);
    else if (step === 4) done = luminanceRgbaWords(src, data, pixels);
  }
  luminanceBytes(src, data, done, pixels, step);
  return { data, width: raster.width, height: raster.height, channels: 1 };
}

/** 54 + 183 + 19 = 256: weights 0.2109, 0.7148, 0.0742. */
function luminance(r: number, g: number, b: number): number {
  return (54 * r + 183 * g + 19 * b + 128) >> 8;
}

/** Math.round(y * alpha / 255) in integers, exact for 0..255 (never a tie: 255 is odd). */
function scaleByAlpha(y: number, alpha: number): number {
  const t = y * alpha + 128;
  return (t + (t >> 8)) >> 8;
}

/** True when `bytes` holds `count` whole pixels of `size` bytes and can be read as aligned little-endian words. */
function wordsFit(bytes: Buffer, count: number, size: number): boolean {
  return LITTLE_ENDIAN && Number.isSafeInteger(count) && bytes.byteOffset % 4 === 0 && bytes.length >= count * size;
}

/** Pixels from..pixels−1, one byte at a time (any channel count). */
function luminanceBytes(src: Buffer, out: Buffer, from: number, pixels: number, step: number): void {
  for (let i = from; i < pixels; i++) {
    const s = i * step;
    const y = luminance(src[s]!, src[s + 1]!, src[s + 2]!);
    out[i] = step === 4 ? scaleByAlpha(y, src[s + 3]!) : y;
  }
}

/** RGB, 4 pixels (3 words) at a time: all-black groups stay 0, all-white ones become 255. Returns pixels done. */
function luminanceRgbWords(src: Buffer, out: Buffer, pixels: number): number {
  const groups = Math.floor(pixels / 4);
  const words = new Uint32Array(src.buffer, src.byteOffset, groups * 3);
  for (let g = 0; g < groups; g++) {
    const w = g * 3;
    const a = words[w]! | 0;
    const b = words[w + 1]! | 0;
    const c = words[w + 2]! | 0;
    if ((a | b | c) === 0) continue;
    const i = g * 4;
    if ((a & b & c) === -1) {
      out[i] = 255;
      out[i + 1] = 255;
      out[i + 2] = 255;
      out[i + 3] = 255;
      continue;
    }
    const s = i * 3;
    for (let k = 0; k < 4; k++) out[i + k] = luminance(src[s + 3 * k]!, src[s + 3 * k + 1]!, src[s + 3 * k + 2]!);
  }
  return groups * 4;
}

/** RGBA, one word per pixel: black or transparent pixels stay 0, opaque white becomes 255. Returns pixels done. */
function luminanceRgbaWords(src: Buffer, out: Buffer, pixels: number): number {
  const words = new Uint32Array(src.buffer, src.byteOffset, pixels);
  for (let i = 0; i < pixels; i++) {
    const w = words[i]! | 0;
    const alpha = w >>> 24;
    if ((w & 0xffffff) === 0 || alpha === 0) continue;
    if (w === -1) {
      out[i] = 255;
      continue;
    }
    out[i] = scaleByAlpha(luminance(w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff), alpha);
  }
  return pixels;
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
  const total = width * height;
  // The word scan needs whole sizes, every pixel present and indices that int32 shifts can hold; anything
  // else gets the plain loop (same answer).
  const bounds =
    LITTLE_ENDIAN &&
    MASK_THRESHOLD === 128 && // what TOP_BITS tests
    data instanceof Uint8Array &&
    Number.isSafeInteger(width) &&
    Number.isSafeInteger(height) &&
    width > 0 &&
    height > 0 &&
    data.length >= total &&
    total >= 8 &&
    total <= 0x7ffffff0
      ? inpaintBoundsByWords(data, width, height)
      : boundsAtOrAbove(mask, MASK_THRESHOLD);
  return { coverage: total === 0 ? 0 : bounds.count / total, bbox: boxOf(bounds) };
}

/** How many pixels of a one-channel mask a scan counted, and the columns and rows they span. */
export interface MaskBounds {
  count: number;
  /** minX > maxX and minY > maxY (maxX and maxY −1) when no pixel counted. */
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

/** The smallest rectangle holding the counted pixels; null when there is none. */
export function boxOf(bounds: MaskBounds): Box | null {
  const { minX, minY, maxX, maxY } = bounds;
  return maxX < 0 ? null : { x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1 };
}

/**
 * The pixels of a one-channel mask at or above `threshold`, one byte at a time: MASK_THRESHOLD gives the
 * pixels to inpaint (maskStats, where its faster word scan does not apply), 1 every pixel the mask touches
 * at all, soft edges included (markedBox).
 */
export function boundsAtOrAbove(mask: Pick<RasterImage, "data" | "width" | "height">, threshold: number): MaskBounds {
  const { data, width, height } = mask;
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
      if (data[row + x]! >= threshold) {
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
  return { count, minX, minY, maxX, maxY };
}

/** Index (0..3, little-endian) of the first byte whose top bit is set in `top` (a word & TOP_BITS, not 0). */
function firstTopByte(top: number): number {
  return (31 - Math.clz32(top & -top)) >> 3;
}

/** Index (0..3, little-endian) of the last byte whose top bit is set in `top` (a word & TOP_BITS, not 0). */
function lastTopByte(top: number): number {
  return (31 - Math.clz32(top)) >> 3;
}

/** How many bytes of words[from..to] (inclusive) have their top bit set. */
function countTopBytes(words: Uint32Array, from: number, to: number): number {
  let count = 0;
  let w = from;
  while (w <= to) {
    // Four 8-bit counters in one int; 255 words at most, so none of them overflows.
    const stop = Math.min(to + 1, w + 255);
    let lanes = 0;
    for (; w < stop; w++) lanes = (lanes + ((words[w]! >>> 7) & LANE_ONES)) | 0;
    count += (lanes & 0xff) + ((lanes >>> 8) & 0xff) + ((lanes >>> 16) & 0xff) + (lanes >>> 24);
  }
  return count;
}

/**
 * The same scan through an aligned Uint32Array view, for the speed: most rows of a mask are all keep (or
 * all inpaint), so whole words are tested, four of them at a time where they are all below the threshold.
 * Only the bytes of a row before its first and after its last whole word are read one by one.
 */
function inpaintBoundsByWords(data: Uint8Array, width: number, height: number): MaskBounds {
  const total = width * height;
  // words[k] holds data[lead + 4k .. lead + 4k + 3].
  const lead = (4 - (data.byteOffset % 4)) % 4;
  const words = new Uint32Array(data.buffer, data.byteOffset + lead, Math.floor((total - lead) / 4));
  let count = 0;
  let minX = width;
  let minY = height;
  let maxX = -1;
  let maxY = -1;
  for (let y = 0; y < height; y++) {
    const rowStart = y * width;
    const rowEnd = rowStart + width;
    // The whole words inside the row: firstWord..endWord − 1, possibly none.
    // Integer shifts, not Math.ceil/floor of a quotient: fractions (and −0) in the hot loop cost half the speed.
    const firstWord = (rowStart - lead + 3) >> 2;
    const endWord = (rowEnd - lead) >> 2;
    const hasWords = endWord > firstWord;
    const headEnd = hasWords ? lead + 4 * firstWord : rowEnd;
    const tailStart = hasWords ? lead + 4 * endWord : rowEnd;
    // First and last inpaint byte of the row as indices into data; −1 while there is none.
    let first = -1;
    let last = -1;
    for (let i = rowStart; i < headEnd; i++) {
      if (data[i]! >= MASK_THRESHOLD) {
        if (first < 0) first = i;
        last = i;
        count++;
      }
    }
    if (hasWords) {
      let a = firstWord;
      while (a + 3 < endWord && ((words[a]! | words[a + 1]! | words[a + 2]! | words[a + 3]!) & TOP_BITS) === 0) a += 4;
      while (a < endWord && (words[a]! & TOP_BITS) === 0) a++;
      if (a < endWord) {
        // Word a has an inpaint byte, so this backward scan stops at a at the latest.
        let b = endWord - 1;
        while (b - 3 > a && ((words[b]! | words[b - 1]! | words[b - 2]! | words[b - 3]!) & TOP_BITS) === 0) b -= 4;
        while ((words[b]! & TOP_BITS) === 0) b--;
        if (first < 0) first = lead + 4 * a + firstTopByte(words[a]! & TOP_BITS);
        last = lead + 4 * b + lastTopByte(words[b]! & TOP_BITS);
        count += countTopBytes(words, a, b);
      }
    }
    for (let i = tailStart; i < rowEnd; i++) {
      if (data[i]! >= MASK_THRESHOLD) {
        if (first < 0) first = i;
        last = i;
        count++;
      }
    }
    if (first < 0) continue;
    if (first - rowStart < minX) minX = first - rowStart;
    if (last - rowStart > maxX) maxX = last - rowStart;
    if (minY > y) minY = y;
    maxY = y;
  }
  return { count, minX, minY, maxX, maxY };
}
