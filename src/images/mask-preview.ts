import sharp from "sharp";
import type { RasterImage } from "./raster.js";
import { resizeRaster } from "./decode.js";
import { MASK_THRESHOLD } from "./mask.js";
import { PREVIEW_MAX_BASE64_CHARS } from "./preview.js";

/**
 * The picture preview_mask returns: the photo with the area to repaint tinted and outlined, small and
 * lossless (PNG) so the tint is exact, and always under the inline budget clients accept.
 */

/** Colour mixed into the area to repaint, in proportion to the mask value (at most TINT_STRENGTH). */
export const TINT: readonly [number, number, number] = [255, 0, 255];
/** Colour of the one-pixel outline on the mask's edge. */
export const OUTLINE: readonly [number, number, number] = [255, 255, 0];
/** Share of TINT at a full (255) mask pixel. */
export const TINT_STRENGTH = 0.5;

/** Keep pixels unchanged; mask value m mixes in TINT with weight TINT_STRENGTH · m / 255 (rounded). */
export function tintPixel(value: number, tint: number, m: number): number {
  const w = (TINT_STRENGTH * m) / 255;
  return Math.round(value * (1 - w) + tint * w);
}

/** An inpaint pixel (≥ MASK_THRESHOLD) with a 4-neighbour inside the image that is keep. */
export function isOutline(mask: RasterImage, x: number, y: number): boolean {
  const { width, height, data } = mask;
  const i = y * width + x;
  if (data[i]! < MASK_THRESHOLD) return false;
  return (
    (x > 0 && data[i - 1]! < MASK_THRESHOLD) ||
    (x < width - 1 && data[i + 1]! < MASK_THRESHOLD) ||
    (y > 0 && data[i - width]! < MASK_THRESHOLD) ||
    (y < height - 1 && data[i + width]! < MASK_THRESHOLD)
  );
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
      if (m === 0) continue;
      const o = i * 3;
      const colour = isOutline(mask, x, y) ? OUTLINE : undefined;
      for (let c = 0; c < 3; c++) data[o + c] = colour ? colour[c]! : tintPixel(data[o + c]!, TINT[c]!, m);
    }
  }
  return { data, width, height, channels: 3 };
}

export interface MaskPreview {
  base64: string;
  mimeType: "image/png";
  width: number;
  height: number;
}

/** The photo a preview is made of: its size, and a way to get it at a smaller size. */
export interface ScalableImage {
  width: number;
  height: number;
  /** The image resized to width × height, opaque RGB. */
  scaled(width: number, height: number): Promise<RasterImage>;
}

/**
 * A PNG no larger than maxSide on its longest side (never enlarged), shrunk further until its base64 fits
 * PREVIEW_MAX_BASE64_CHARS. Image and mask are scaled separately, then tinted, so the outline stays one
 * pixel wide.
 */
export async function renderMaskPreview(
  image: ScalableImage,
  mask: RasterImage,
  maxSide: number,
): Promise<MaskPreview> {
  const scale0 = Math.min(1, Math.max(1, Math.floor(maxSide)) / Math.max(image.width, image.height));
  let width = Math.max(1, Math.round(image.width * scale0));
  let height = Math.max(1, Math.round(image.height * scale0));
  for (;;) {
    const [small, smallMask] = await Promise.all([image.scaled(width, height), resizeRaster(mask, width, height)]);
    const tinted = tintMask(small, smallMask);
    const png = await sharp(tinted.data, { raw: { width, height, channels: 3 } })
      .png({ compressionLevel: 9 })
      .toBuffer();
    const base64 = png.toString("base64");
    if (base64.length <= PREVIEW_MAX_BASE64_CHARS || Math.max(width, height) <= 16) {
      return { base64, mimeType: "image/png", width, height };
    }
    const scale = Math.max(0.5, Math.min(0.85, Math.sqrt(PREVIEW_MAX_BASE64_CHARS / base64.length) * 0.95));
    width = Math.max(1, Math.round(width * scale));
    height = Math.max(1, Math.round(height * scale));
  }
}
