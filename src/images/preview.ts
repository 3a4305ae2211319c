import sharp from "sharp";
import { FluxFillError } from "../errors.js";

/**
 * The small inline JPEG returned with a result. Some clients reject tool results over 1 MiB, so the
 * preview's base64 is kept under PREVIEW_MAX_BASE64_CHARS whatever the image: quality, then size, is
 * lowered until it fits.
 */

export const PREVIEW_MAX_BASE64_CHARS = 700_000;
const QUALITIES = [80, 65, 50] as const;
/** A size step keeps at most this fraction of the sides. */
const SHRINK = 0.85;

export interface Preview {
  base64: string;
  mimeType: "image/jpeg";
  width: number;
  height: number;
}

function unreadable(what: string, cause: unknown): FluxFillError {
  const reason = cause instanceof Error ? ` (${cause.message.split("\n")[0]})` : "";
  return new FluxFillError("bad_input", `${what} is not a readable image${reason}.`, { cause });
}

/** A JPEG no larger than maxSize on its longest side (never enlarged), oriented, on white where transparent. */
export async function renderPreview(encoded: Buffer, maxSize: number): Promise<Preview> {
  const side = Math.max(1, Math.floor(maxSize));
  // Resizing straight from the encoded bytes lets sharp shrink JPEG/WebP while decoding (fast, little memory).
  const downscaled = () =>
    sharp(encoded, { autoOrient: true, failOn: "error" })
      .resize({ width: side, height: side, fit: "inside", withoutEnlargement: true })
      .flatten({ background: "#ffffff" })
      .toColourspace("srgb");
  let pixels: { data: Buffer; info: sharp.OutputInfo };
  let firstLength: number;
  try {
    // Usually the first quality fits: then one pipeline, decode to JPEG, is all it takes.
    const first = await downscaled().jpeg({ quality: QUALITIES[0] }).toBuffer({ resolveWithObject: true });
    const base64 = first.data.toString("base64");
    if (base64.length <= PREVIEW_MAX_BASE64_CHARS) {
      return { base64, mimeType: "image/jpeg", width: first.info.width, height: first.info.height };
    }
    firstLength = base64.length;
    pixels = await downscaled().raw().toBuffer({ resolveWithObject: true });
  } catch (cause) {
    throw unreadable("The image to preview", cause);
  }
  const raw = { width: pixels.info.width, height: pixels.info.height, channels: pixels.info.channels as 1 | 2 | 3 | 4 };
  let width = raw.width;
  let height = raw.height;
  for (;;) {
    let smallest = Number.POSITIVE_INFINITY;
    for (const quality of QUALITIES) {
      if (quality === QUALITIES[0] && width === raw.width && height === raw.height) {
        smallest = firstLength; // tried above
        continue;
      }
      let pipeline = sharp(pixels.data, { raw });
      if (width !== raw.width || height !== raw.height) pipeline = pipeline.resize(width, height, { fit: "fill" });
      const base64 = (await pipeline.jpeg({ quality }).toBuffer()).toString("base64");
      // A 16 px preview always fits; the check only guards against a budget set absurdly low.
      if (base64.length <= PREVIEW_MAX_BASE64_CHARS || Math.max(width, height) <= 16) {
        return { base64, mimeType: "image/jpeg", width, height };
      }
      smallest = base64.length;
    }
    // Bytes grow about linearly with pixels: aim the next size just under the budget, never less than a halving.
    const scale = Math.max(0.5, Math.min(SHRINK, Math.sqrt(PREVIEW_MAX_BASE64_CHARS / smallest) * 0.95));
    width = Math.max(1, Math.round(width * scale));
    height = Math.max(1, Math.round(height * scale));
  }
}

/** Size as displayed (EXIF orientation applied) and format, from the header only. */
export async function imageSizeOf(encoded: Buffer): Promise<{ width: number; height: number; format: string }> {
  let meta: sharp.Metadata;
  try {
    meta = await sharp(encoded, { limitInputPixels: false }).metadata();
  } catch (cause) {
    throw unreadable("The data", cause);
  }
  return {
    width: meta.autoOrient?.width ?? meta.width,
    height: meta.autoOrient?.height ?? meta.height,
    format: meta.format,
  };
}
