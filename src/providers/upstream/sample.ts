/**
 * Checking the downloaded result: that it is an image, which format it really is (from its bytes, never
 * from the URL or Content-Type), and converting the rare other format to PNG. Whether every pixel decodes
 * is checked once for all providers by the pipeline, before the result is saved.
 */
import sharp from "sharp";
import { FluxFillError } from "../../errors.js";

export type SampleFormat = "jpeg" | "png" | "webp" | "gif";

/** The format named by the file's magic bytes; undefined when it is none we know. */
export function detectImageFormat(bytes: Uint8Array): SampleFormat | undefined {
  const starts = (...sig: number[]) => sig.every((b, i) => bytes[i] === b);
  if (bytes.length >= 3 && starts(0xff, 0xd8, 0xff)) return "jpeg";
  if (bytes.length >= 8 && starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "png";
  if (
    bytes.length >= 12 &&
    starts(0x52, 0x49, 0x46, 0x46) &&
    bytes[8] === 0x57 &&
    bytes[9] === 0x45 &&
    bytes[10] === 0x42 &&
    bytes[11] === 0x50
  ) {
    return "webp";
  }
  if (bytes.length >= 6 && starts(0x47, 0x49, 0x46, 0x38)) return "gif";
  return undefined;
}

export interface CheckedSample {
  bytes: Buffer;
  format: "jpeg" | "png";
  width: number;
  height: number;
  notes: string[];
}

/**
 * Verifies the bytes are an image with a readable header and returns them as JPEG or PNG (other formats re-encoded to
 * PNG, with a note). Throws `upstream_failed` naming the task when they are not a usable image.
 */
export async function checkSample(
  bytes: Buffer,
  taskId: string,
  source: { provider: string; label: string } = { provider: "bfl", label: "Black Forest Labs" },
): Promise<CheckedSample> {
  const unusable = (why: string) =>
    new FluxFillError(
      "upstream_failed",
      `The result of ${source.label} task ${taskId} is not a usable image: ${why}.`,
      {
        suggestion: "Try again; the upstream delivered a broken file.",
        details: { provider: source.provider, taskId, bytes: bytes.length },
      },
    );
  const format = detectImageFormat(bytes);
  if (!format) throw unusable(`its first bytes are not JPEG, PNG, WebP or GIF (${bytes.length} bytes)`);
  let width: number | undefined;
  let height: number | undefined;
  try {
    // The header only: the pipeline decodes every byte once before saving (for the preview and to refuse a
    // truncated file), so a second full decode here would cost ~0.5 s and ~60 MB at 12 MP for nothing.
    const meta = await sharp(bytes, { failOn: "error" }).metadata();
    width = meta.width;
    height = meta.height;
  } catch (error) {
    throw unusable(`it does not decode (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!width || !height) throw unusable("it has no size");
  if (format === "jpeg" || format === "png") return { bytes, format, width, height, notes: [] };
  const png = await sharp(bytes).png().toBuffer();
  return {
    bytes: png,
    format: "png",
    width,
    height,
    notes: [`The upstream delivered ${format}; it was converted to png.`],
  };
}
