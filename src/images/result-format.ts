/**
 * The result file as it is saved: in the format the caller asked for, and decoding completely; a broken
 * file from the provider is refused here rather than saved.
 */
import sharp from "sharp";
import { FluxFillError } from "../errors.js";
import { decodesCompletely } from "./decode.js";
import { type Preview, renderPreview } from "./preview.js";

/** The formats a result is saved in (results/store.ts's ResultFormat). */
type SavedFormat = "jpeg" | "png";

/**
 * Makes sure the whole result decodes before it is saved (decodesCompletely). Returns the preview when one
 * is asked for, rendered by the same decode.
 */
export async function checkDecodes(
  bytes: Buffer,
  previewMaxSize: number | undefined,
  upstreamId: string | undefined,
): Promise<Preview | undefined> {
  try {
    if (previewMaxSize !== undefined) return await renderPreview(bytes, previewMaxSize);
    await decodesCompletely(bytes);
    return undefined;
  } catch (cause) {
    throw brokenResultError(upstreamId, cause);
  }
}

export function brokenResultError(upstreamId: string | undefined, cause: unknown): FluxFillError {
  const task = upstreamId === undefined ? "" : ` (upstream task ${upstreamId})`;
  return new FluxFillError(
    "upstream_failed",
    `The provider returned an image that does not decode completely (truncated or corrupt)${task}; it was not saved.`,
    {
      suggestion: "Try again; the file the provider delivered was broken.",
      cause,
    },
  );
}


/**
 * The saved file is always in the format the caller asked for and always a decodable image; an upstream
 * that answers in another format is converted rather than mislabelled.
 */
export async function toRequestedFormat(
  bytes: Buffer,
  produced: SavedFormat,
  requested: SavedFormat,
): Promise<{ bytes: Buffer; format: SavedFormat; width: number; height: number }> {
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch (cause) {
    throw new FluxFillError("upstream_failed", "The provider returned data that is not a readable image.", { cause });
  }
  const actual = meta.format === "png" ? "png" : meta.format === "jpeg" ? "jpeg" : undefined;
  if (actual === requested && produced === requested) {
    return { bytes, format: requested, width: meta.width ?? 0, height: meta.height ?? 0 };
  }
  const converted =
    requested === "png" ? sharp(bytes).png() : sharp(bytes).flatten({ background: "#ffffff" }).jpeg({ quality: 95 });
  const { data, info } = await converted.toBuffer({ resolveWithObject: true });
  return { bytes: data, format: requested, width: info.width, height: info.height };
}
