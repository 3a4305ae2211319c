import sharp from "sharp";
import type { RasterImage } from "./raster.js";
import { resizeRaster } from "./decode.js";
import { MASK_THRESHOLD } from "./mask.js";
import { PREVIEW_MAX_BASE64_CHARS } from "./preview.js";
import { type RulerUnits, rulerMargins, rulerSvg, rulerTicks } from "./ruler.js";

/**
 * The pictures preview_mask returns: the photo with the area to repaint lightly tinted and outlined, with
 * coordinate rulers along the top and left in the call's units; and, for a small area, a second picture
 * zoomed on it. PNG (exact tint) when it fits, else JPEG; together always under the inline budget clients
 * accept.
 */

/** Colour mixed into the area to repaint, in proportion to the mask value (at most TINT_STRENGTH). */
export const TINT: readonly [number, number, number] = [255, 0, 255];
/** The outline is two pixels: yellow on the mask's edge, black just outside it, visible on any photo. */
export const OUTLINE: readonly [number, number, number] = [255, 255, 0];
export const OUTLINE_OUTSIDE: readonly [number, number, number] = [0, 0, 0];
/** Share of TINT at a full (255) mask pixel: light, so the photo under a large area can still be judged. */
export const TINT_STRENGTH = 0.3;
/** A mask whose bounding box is under this share of the image also gets a zoomed picture. */
export const ZOOM_BELOW_AREA = 1 / 9;
/** Most a zoomed picture enlarges the photo's pixels. */
export const ZOOM_MAX_SCALE = 8;
/** A zoom must show the area at least this many times larger than the main picture does, or it is left out. */
const ZOOM_MIN_GAIN = 1.5;

/** Keep pixels unchanged; mask value m mixes in TINT with weight TINT_STRENGTH · m / 255 (rounded). */
export function tintPixel(value: number, tint: number, m: number): number {
  const w = (TINT_STRENGTH * m) / 255;
  return Math.round(value * (1 - w) + tint * w);
}

const inpaint = (mask: RasterImage, i: number) => mask.data[i]! >= MASK_THRESHOLD;

/** Whether a 4-neighbour inside the image is on the other side of the mask's edge from (x, y). */
function touchesOtherSide(mask: RasterImage, x: number, y: number): boolean {
  const { width, height } = mask;
  const i = y * width + x;
  const side = inpaint(mask, i);
  return (
    (x > 0 && inpaint(mask, i - 1) !== side) ||
    (x < width - 1 && inpaint(mask, i + 1) !== side) ||
    (y > 0 && inpaint(mask, i - width) !== side) ||
    (y < height - 1 && inpaint(mask, i + width) !== side)
  );
}

/** An inpaint pixel (≥ MASK_THRESHOLD) with a 4-neighbour inside the image that is keep. */
export function isOutline(mask: RasterImage, x: number, y: number): boolean {
  return inpaint(mask, y * mask.width + x) && touchesOtherSide(mask, x, y);
}

/** A keep pixel with a 4-neighbour that is inpaint: the outline's outer, dark pixel. */
export function isOutlineOutside(mask: RasterImage, x: number, y: number): boolean {
  return !inpaint(mask, y * mask.width + x) && touchesOtherSide(mask, x, y);
}

/** Pure: RGB image + same-size one-channel mask → RGB with the area tinted and its edge outlined. */
export function tintMask(image: RasterImage, mask: RasterImage): RasterImage {
  if (image.channels !== 3 || mask.channels !== 1) throw new Error("tintMask needs an RGB image and a 1-channel mask");
  if (image.width !== mask.width || image.height !== mask.height) throw new Error("tintMask needs equal sizes");
  const { width, height } = image;
  const data = Buffer.from(image.data);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const m = mask.data[i]!;
      const colour = !touchesOtherSide(mask, x, y) ? undefined : m >= MASK_THRESHOLD ? OUTLINE : OUTLINE_OUTSIDE;
      if (m === 0 && colour === undefined) continue;
      const o = i * 3;
      for (let c = 0; c < 3; c++) data[o + c] = colour ? colour[c]! : tintPixel(data[o + c]!, TINT[c]!, m);
    }
  }
  return { data, width, height, channels: 3 };
}

/** A rectangle of the image, in image pixels. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface MaskPreview {
  base64: string;
  /** PNG when it fits the budget (exact colours), else JPEG. */
  mimeType: "image/png" | "image/jpeg";
  /** The whole picture, rulers included. */
  width: number;
  height: number;
  /** The part of the image it shows, in image pixels. */
  view: Box;
  /** Where the photo sits in the picture (after the ruler bands) and its size there. */
  photo: Box;
}

/** The photo a preview is made of: its size, and a way to get it at a smaller size. */
export interface ScalableImage {
  width: number;
  height: number;
  /** The image (or only `region` of it, in image pixels) resized to width × height, opaque RGB. */
  scaled(width: number, height: number, region?: Box): Promise<RasterImage>;
}

/** One channel or RGB raster → the part inside `box` (pure). */
export function cropRaster(raster: RasterImage, box: Box): RasterImage {
  const { channels } = raster;
  const data = Buffer.alloc(box.width * box.height * channels);
  const row = box.width * channels;
  for (let y = 0; y < box.height; y++) {
    const from = ((box.y + y) * raster.width + box.x) * channels;
    raster.data.copy(data, y * row, from, from + row);
  }
  return { data, width: box.width, height: box.height, channels };
}

/**
 * The part of the image a zoomed picture shows for a mask's bounding box: the box with context around it
 * (half its longest side each way, at least 8 px), within the image.
 */
export function zoomBox(bbox: Box, imageWidth: number, imageHeight: number): Box {
  const pad = Math.max(8, Math.round(Math.max(bbox.width, bbox.height) / 2));
  const x0 = Math.max(0, bbox.x - pad);
  const y0 = Math.max(0, bbox.y - pad);
  const x1 = Math.min(imageWidth, bbox.x + bbox.width + pad);
  const y1 = Math.min(imageHeight, bbox.y + bbox.height + pad);
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** Whether a mask with this bounding box gets a zoomed picture (box under 1/9 of the image). */
export function wantsZoom(bbox: Box | null, imageWidth: number, imageHeight: number): bbox is Box {
  return bbox !== null && bbox.width * bbox.height < ZOOM_BELOW_AREA * imageWidth * imageHeight;
}

/**
 * Photo part (already at picture size) + its mask → the picture's pixels: tinted, outlined, with rulers
 * giving the image coordinates of `view` in `units`.
 */
async function drawPicture(
  photo: RasterImage,
  mask: RasterImage,
  view: Box,
  image: { width: number; height: number },
  units: RulerUnits,
): Promise<{ raster: RasterImage; photo: Box }> {
  const tinted = tintMask(photo, mask);
  const top = rulerTicks(view.x, view.width, image.width, photo.width, units);
  const left = rulerTicks(view.y, view.height, image.height, photo.height, units, 24);
  const margins = rulerMargins(left);
  const width = margins.left + photo.width;
  const height = margins.top + photo.height;
  const canvas = Buffer.alloc(width * height * 3, 255);
  for (let y = 0; y < photo.height; y++) {
    tinted.data.copy(canvas, ((margins.top + y) * width + margins.left) * 3, y * photo.width * 3, (y + 1) * photo.width * 3);
  }
  const svg = Buffer.from(rulerSvg(photo, margins, top, left));
  const data = await sharp(canvas, { raw: { width, height, channels: 3 } })
    .composite([{ input: svg, left: 0, top: 0 }])
    .removeAlpha()
    .raw()
    .toBuffer();
  return {
    raster: { data, width, height, channels: 3 },
    photo: { x: margins.left, y: margins.top, width: photo.width, height: photo.height },
  };
}

/**
 * The picture as PNG (exact tint) when that fits `budget`, else as a 4:4:4 JPEG (a photo's PNG is several
 * times larger; full chroma keeps the thin outline's colours); undefined when neither fits.
 */
async function encodePicture(raster: RasterImage, budget: number): Promise<{ base64: string; mimeType: MaskPreview["mimeType"]; length: number }> {
  const raw = { width: raster.width, height: raster.height, channels: raster.channels };
  const png = (await sharp(raster.data, { raw }).png({ compressionLevel: 9 }).toBuffer()).toString("base64");
  if (png.length <= budget) return { base64: png, mimeType: "image/png", length: png.length };
  const jpeg = (await sharp(raster.data, { raw }).jpeg({ quality: 90, chromaSubsampling: "4:4:4" }).toBuffer()).toString("base64");
  return { base64: jpeg, mimeType: "image/jpeg", length: jpeg.length };
}

/**
 * Draws the picture at the largest size no larger than `maxSide` (photo part, longest side; never more
 * than `maxScale` × the view) whose base64 fits `budget`, shrinking as needed.
 */
async function fitted(
  view: Box,
  maxSide: number,
  maxScale: number,
  budget: number,
  draw: (width: number, height: number) => Promise<{ raster: RasterImage; photo: Box }>,
): Promise<MaskPreview> {
  const scale0 = Math.min(maxScale, Math.max(1, Math.floor(maxSide)) / Math.max(view.width, view.height));
  let width = Math.max(1, Math.round(view.width * scale0));
  let height = Math.max(1, Math.round(view.height * scale0));
  for (;;) {
    const { raster, photo } = await draw(width, height);
    const encoded = await encodePicture(raster, budget);
    if (encoded.length <= budget || Math.max(width, height) <= 16) {
      return { base64: encoded.base64, mimeType: encoded.mimeType, width: raster.width, height: raster.height, view, photo };
    }
    const scale = Math.max(0.5, Math.min(0.85, Math.sqrt(budget / encoded.length) * 0.95));
    width = Math.max(1, Math.round(width * scale));
    height = Math.max(1, Math.round(height * scale));
  }
}

export interface MaskPreviews {
  main: MaskPreview;
  /** The small area's box with context, enlarged; absent when the area is not small. */
  zoom?: MaskPreview;
}

/**
 * The main picture (the whole image, at most maxSide on its photo's longest side, never enlarged) and, when
 * the mask's bounding box is under 1/9 of the image, a zoom on it; together their base64 fits
 * PREVIEW_MAX_BASE64_CHARS. Image and mask are scaled separately, then tinted, so the outline stays sharp.
 */
export async function renderMaskPreview(
  image: ScalableImage,
  mask: RasterImage,
  maxSide: number,
  options: { units?: RulerUnits; bbox?: Box | null; budget?: number } = {},
): Promise<MaskPreviews> {
  const units = options.units ?? "px";
  const size = { width: image.width, height: image.height };
  const whole: Box = { x: 0, y: 0, ...size };
  const bbox = options.bbox ?? null;
  const budget = options.budget ?? PREVIEW_MAX_BASE64_CHARS;
  const mainScale = Math.min(1, Math.max(1, Math.floor(maxSide)) / Math.max(size.width, size.height));
  const box = wantsZoom(bbox, size.width, size.height) ? zoomBox(bbox, size.width, size.height) : undefined;
  const zoomScale = box && Math.min(ZOOM_MAX_SCALE, Math.max(1, Math.floor(maxSide)) / Math.max(box.width, box.height));
  const zooms = box !== undefined && zoomScale! >= mainScale * ZOOM_MIN_GAIN;
  const share = zooms ? Math.floor(budget / 2) : budget;
  const main = await fitted(whole, maxSide, 1, share, async (width, height) => {
    const [small, smallMask] = await Promise.all([image.scaled(width, height), resizeRaster(mask, width, height)]);
    return drawPicture(small, smallMask, whole, size, units);
  });
  if (!zooms) return { main };
  const partMask = cropRaster(mask, box);
  const zoom = await fitted(box, maxSide, ZOOM_MAX_SCALE, share, async (width, height) => {
    const [big, bigMask] = await Promise.all([image.scaled(width, height, box), resizeRaster(partMask, width, height)]);
    return drawPicture(big, bigMask, box, size, units);
  });
  return { main, zoom };
}
