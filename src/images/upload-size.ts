/**
 * Keeping the image an upstream request carries within a byte budget. The request body holds the image as
 * base64 (4/3 of its bytes); the upstream documents no limit on it (see MAX_UPSTREAM_BODY_BYTES), so a
 * large upload is made smaller before it is sent: losslessly when that is enough, else as a high-quality
 * JPEG.
 */
import sharp from "sharp";
import { detectImageSignature } from "../inputs/image-signature.js";
import type { RasterImage } from "./raster.js";
import { encodePng } from "./prepare.js";

/**
 * Largest submit body sent upstream. Black Forest Labs documents no limit for Fill or Expand [pro]
 * (shared/reference/bfl-api.md, "Input size limits"), and the front ends such APIs sit behind commonly stop
 * at 100 MB. 48 MiB keeps clear of that while leaving every upload this server sent before unchanged: a
 * 20 MB file (the former input cap) is 27 MiB of base64, a 24 MP photo re-encoded as PNG about 45 MiB.
 */
export const MAX_UPSTREAM_BODY_BYTES = 48 * 1024 * 1024;

/** JPEG qualities tried, best first, when no lossless encoding fits; 4:4:4 keeps colour edges sharp. */
export const UPLOAD_JPEG_QUALITIES = [95, 90, 85] as const;

export type FittedUpload =
  | { encoding: "as_is"; bytes: Buffer }
  | { encoding: "png"; bytes: Buffer }
  | { encoding: "jpeg"; quality: number; bytes: Buffer };

/**
 * The image to upload within `maxBytes`: `current` when it fits; else, when `current` is lossless (PNG),
 * the pixels as this server's PNG (adaptive filtering often halves an exported PNG); else JPEG at the first
 * quality that fits. Undefined when not even the lowest quality fits.
 */
export async function fitImageUpload(
  current: Buffer,
  pixels: () => Promise<RasterImage>,
  maxBytes: number,
): Promise<FittedUpload | undefined> {
  if (current.length <= maxBytes) return { encoding: "as_is", bytes: current };
  const raster = await pixels();
  if (detectImageSignature(current) === "png") {
    const png = await encodePng(raster);
    if (png.length <= maxBytes) return { encoding: "png", bytes: png };
  }
  for (const quality of UPLOAD_JPEG_QUALITIES) {
    const jpeg = await sharp(raster.data, {
      raw: { width: raster.width, height: raster.height, channels: raster.channels },
    })
      .jpeg({ quality, chromaSubsampling: "4:4:4" })
      .toBuffer();
    if (jpeg.length <= maxBytes) return { encoding: "jpeg", quality, bytes: jpeg };
  }
  return undefined;
}
