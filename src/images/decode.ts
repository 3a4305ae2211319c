import sharp from "sharp";
import { FluxFillError } from "../errors.js";
import type { RasterImage } from "./raster.js";
import { iccProfileDescription } from "./icc.js";
import { dropOpaqueAlpha, maskFromLuminance } from "./mask.js";

// One-shot decodes of distinct images: libvips' operation cache would only hold on to memory.
sharp.cache(false);

/**
 * Encoded bytes → pixels as the user sees them: 8-bit sRGB, EXIF orientation applied, first frame only.
 * The pixel limit is enforced from the header before any decoding, so a small file that claims huge
 * dimensions (a decompression bomb) costs nothing.
 */

export type InputLabel = "image" | "mask";

export interface DecodedInput {
  /**
   * 8-bit sRGB, oriented; 4 channels only when some pixel is not fully opaque, else 3 (1 for a plain
   * greyscale mask file decoded by decodeMaskFile). Owned by the caller: nothing else holds it.
   */
  raster: RasterImage;
  /** The container as sharp names it: jpeg, png, webp, gif, tiff, heif. */
  format: string;
  /** Size as displayed (after EXIF orientation). */
  width: number;
  height: number;
  /** The file declares an alpha channel (even if every pixel is opaque). */
  hasAlpha: boolean;
  /** EXIF Orientation tag (1–8) when present. */
  orientation?: number;
  /** How the file stores its pixels, for deciding whether the original bytes can be sent as they are. */
  stored: {
    space: string;
    channels: number;
    depth: string;
    /** Bits per sample in the file (PNG can store 1, 2, 4, 8 or 16); undefined when the format does not say. */
    bitsPerSample?: number;
    /** Pixels are indices into a palette (PNG, GIF). */
    palette: boolean;
    /** Description of the embedded ICC profile, if any ("sRGB IEC61966-2.1", "Display P3", …). */
    iccProfile?: string;
    hasProfile: boolean;
  };
}

/** What DecodedInput says about the file, without the pixels. */
export type DecodedFacts = Omit<DecodedInput, "raster">;

export const ACCEPTED_FORMATS =
  "JPEG, PNG, WebP, AVIF, GIF (first frame), TIFF, and HEIC where the installed decoder supports it";

/** Formats sharp may detect that we decode; anything else (SVG, PDF, …) is refused before decoding. */
const DECODABLE = new Set(["jpeg", "png", "webp", "gif", "tiff", "heif"]);

const SETTING = "FLUX_FILL_MAX_INPUT_MP";

/** "50", "12.3", "0.25": megapixels for messages. */
export function formatMegapixels(pixels: number): string {
  const mp = pixels / 1_000_000;
  return String(Number(mp.toFixed(mp < 1 ? 2 : 1)));
}

function badInput(
  label: InputLabel,
  message: string,
  cause?: unknown,
  details?: Record<string, unknown>,
): FluxFillError {
  return new FluxFillError("bad_input", message, {
    suggestion: `Give the ${label} as a file in one of the accepted formats: ${ACCEPTED_FORMATS}.`,
    cause,
    details: { input: label, ...details },
  });
}

const formatName = (format: string, compression?: string) =>
  format === "heif"
    ? compression === "av1"
      ? "AVIF"
      : compression === "hevc"
        ? "HEIC"
        : "HEIF"
    : format.toUpperCase();

/** Reads the header and throws `too_large` when width × height exceeds the limit. */
async function readHeader(bytes: Buffer, label: InputLabel, maxPixels: number): Promise<sharp.Metadata> {
  if (bytes.length === 0) throw badInput(label, `The ${label} is empty (0 bytes), so it is not an image.`);
  let meta: sharp.Metadata;
  try {
    // No pixel limit here: this reads the header only, and the limit is checked below with a clear message.
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (cause) {
    throw badInput(
      label,
      `The ${label} is not a readable image (${bytes.length} bytes in no recognised image format). Accepted formats: ${ACCEPTED_FORMATS}.`,
      cause,
    );
  }
  if (!DECODABLE.has(meta.format)) {
    throw badInput(
      label,
      `The ${label} is ${meta.format.toUpperCase()}, which is not accepted here. Accepted formats: ${ACCEPTED_FORMATS}.`,
      undefined,
      { format: meta.format },
    );
  }
  const width = meta.autoOrient?.width ?? meta.width;
  const height = meta.autoOrient?.height ?? meta.height;
  if (width * height > maxPixels) {
    throw new FluxFillError(
      "too_large",
      `The ${label} is ${width}×${height} pixels (${formatMegapixels(width * height)} MP), over the limit of ${formatMegapixels(maxPixels)} MP set by ${SETTING}.`,
      {
        suggestion: `Downscale the ${label} below ${formatMegapixels(maxPixels)} MP (for example to 2048 px on the long side), or raise ${SETTING}.`,
        details: {
          input: label,
          width,
          height,
          megapixels: (width * height) / 1_000_000,
          limitMegapixels: maxPixels / 1_000_000,
        },
      },
    );
  }
  return meta;
}

/** Decodes one input to 8-bit sRGB pixels as displayed (see DecodedInput). */
export async function decodeInput(
  bytes: Buffer,
  label: InputLabel,
  limits: { maxPixels: number },
): Promise<DecodedInput> {
  const header = await readInputHeader(bytes, label, limits);
  return decodeInputPixels(bytes, label, limits, header);
}

/** An input's header, read and checked (format accepted, within the pixel limit), before any decoding. */
export interface InputHeader {
  facts: DecodedFacts;
  meta: sharp.Metadata;
}

/** Reads and checks the header only: what the file is, its size as displayed, how it stores its pixels. */
export async function readInputHeader(
  bytes: Buffer,
  label: InputLabel,
  limits: { maxPixels: number },
): Promise<InputHeader> {
  const meta = await readHeader(bytes, label, limits.maxPixels);
  return { meta, facts: factsOf(meta) };
}

/** decodeInput after readInputHeader, without reading the header again. */
export function decodeInputPixels(
  bytes: Buffer,
  label: InputLabel,
  limits: { maxPixels: number },
  header: InputHeader,
): Promise<DecodedInput> {
  return decodePixels(bytes, label, limits, header.meta, false);
}

/** Side of the throw-away image decodesCompletely renders. */
const CHECK_SIDE = 64;

/**
 * Proves that every byte of an encoded image decodes (a truncated or corrupt file has a readable header,
 * so metadata alone does not tell) without paying for a full decode: decoding for a small size lets JPEG
 * and WebP be decoded at reduced scale, every byte still read (a 12 MP JPEG: ~35 ms instead of ~170 ms and
 * 36 MB). Throws sharp's own error.
 */
export async function decodesCompletely(bytes: Buffer, limitInputPixels?: number): Promise<void> {
  await sharp(bytes, { failOn: "error", pages: 1, ...(limitInputPixels === undefined ? {} : { limitInputPixels }) })
    .resize({ width: CHECK_SIDE, height: CHECK_SIDE, fit: "inside", withoutEnlargement: true })
    .raw()
    .toBuffer();
}

/** decodesCompletely for an input whose header passed readInputHeader, failing as decodeInput would. */
export async function checkInputDecodes(
  bytes: Buffer,
  label: InputLabel,
  limits: { maxPixels: number },
  header: InputHeader,
): Promise<void> {
  try {
    await decodesCompletely(bytes, pixelLimit(limits));
  } catch (cause) {
    throw decodeFailure(label, header.meta, cause);
  }
}

/** The error for a file whose header reads but whose pixels do not decode. */
function decodeFailure(label: InputLabel, meta: sharp.Metadata, cause: unknown): FluxFillError {
  const what = formatName(meta.format, meta.compression);
  const unsupported = meta.format === "heif" && meta.compression !== "av1";
  const reason = cause instanceof Error ? cause.message.split("\n")[0] : String(cause);
  return badInput(
    label,
    unsupported
      ? `The ${label} is ${what}, which this installation cannot decode (${reason}). Accepted formats: ${ACCEPTED_FORMATS}.`
      : `The ${label} looks like ${what} but could not be decoded: the file is truncated or corrupt (${reason}).`,
    cause,
    { format: meta.format },
  );
}

/** What the header says, in DecodedFacts' terms (size as displayed). */
function factsOf(meta: sharp.Metadata): DecodedFacts {
  const iccProfile = meta.icc ? iccProfileDescription(meta.icc) : undefined;
  return {
    format: meta.format,
    width: meta.autoOrient?.width ?? meta.width,
    height: meta.autoOrient?.height ?? meta.height,
    hasAlpha: meta.hasAlpha,
    ...(meta.orientation === undefined ? {} : { orientation: meta.orientation }),
    stored: {
      space: meta.space,
      channels: meta.channels,
      depth: meta.depth,
      ...(meta.bitsPerSample === undefined ? {} : { bitsPerSample: meta.bitsPerSample }),
      palette: meta.isPalette === true,
      hasProfile: meta.hasProfile,
      ...(iccProfile === undefined ? {} : { iccProfile }),
    },
  };
}

/**
 * A plain 8-bit greyscale file without a colour profile: its grey values are already the luminance the
 * mask is made of, so it can be decoded to one channel directly (a third of the memory, and no luminance
 * pass) with exactly the values the sRGB route would give.
 */
export function isPlainGrey(meta: Pick<sharp.Metadata, "channels" | "depth" | "space" | "hasProfile">): boolean {
  return meta.channels === 1 && meta.depth === "uchar" && meta.space === "b-w" && !meta.hasProfile;
}

/**
 * Decodes a mask file like decodeInput, except that a plain greyscale file (isPlainGrey) stays one
 * channel. Every other file gets the sRGB route, so maskFromLuminance gives the same mask either way.
 */
export async function decodeMaskFile(bytes: Buffer, limits: { maxPixels: number }): Promise<DecodedInput> {
  const meta = await readHeader(bytes, "mask", limits.maxPixels);
  return decodePixels(bytes, "mask", limits, meta, isPlainGrey(meta));
}

/** The configured pixel limit as sharp's `limitInputPixels` (a whole number, at least 1). */
function pixelLimit(limits: { maxPixels: number }): number {
  return Math.max(1, Math.floor(limits.maxPixels));
}

/** How an input is decoded: as displayed (oriented), first frame only, refusing broken pixel data. */
function displayedDecode(limits: { maxPixels: number }): sharp.SharpOptions {
  return {
    // Belt and braces: sharp refuses on its own if the header lied to metadata() somehow.
    limitInputPixels: pixelLimit(limits),
    autoOrient: true,
    // Tolerate harmless warnings (odd markers) but not truncated or broken pixel data.
    failOn: "error",
    pages: 1,
  };
}

async function decodePixels(
  bytes: Buffer,
  label: InputLabel,
  limits: { maxPixels: number },
  meta: sharp.Metadata,
  keepGrey: boolean,
): Promise<DecodedInput> {
  let decoded: { data: Buffer; info: sharp.OutputInfo };
  try {
    decoded = await sharp(bytes, displayedDecode(limits))
      .toColourspace(keepGrey ? "b-w" : "srgb")
      .raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
  } catch (cause) {
    throw decodeFailure(label, meta, cause);
  }
  const { info } = decoded;
  const expected = keepGrey ? [1] : [3, 4];
  if (!expected.includes(info.channels)) {
    // toColourspace("srgb") always yields RGB(A), a plain grey file one channel; anything else is a sharp
    // change we want to hear about.
    throw new Error(`decodeInput: expected ${expected.join(" or ")} channels, got ${info.channels}`);
  }
  // The decoded buffer is ours alone, so an all-opaque alpha is dropped in place rather than by copying.
  const raster = dropOpaqueAlpha({
    data: decoded.data,
    width: info.width,
    height: info.height,
    channels: info.channels as 1 | 3 | 4,
  });
  return { raster, ...factsOf(meta), width: info.width, height: info.height };
}

/**
 * The image as displayed (oriented, sRGB, alpha dropped), decoded straight to width × height: JPEG and WebP
 * shrink while decoding, so a 12 MP JPEG previewed at 512 px costs ~40 ms instead of a ~170 ms, 36 MB full
 * decode. With `region`, only that part of the image, resized. For previews of an input already checked
 * (prepareMask).
 */
export async function decodeResized(
  bytes: Buffer,
  width: number,
  height: number,
  limits: { maxPixels: number },
  region?: { x: number; y: number; width: number; height: number },
): Promise<RasterImage> {
  let pipeline = sharp(bytes, displayedDecode(limits));
  // Only `region` of the displayed image (autoOrient turns it first): libvips decodes in strips and keeps no more.
  if (region) pipeline = pipeline.extract({ left: region.x, top: region.y, width: region.width, height: region.height });
  const { data, info } = await pipeline
    .resize(width, height, { fit: "fill" })
    .toColourspace("srgb")
    .removeAlpha()
    .raw({ depth: "uchar" })
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

/** A raster resized to width × height (lanczos for photos, linear for one-channel masks). */
export async function resizeRaster(raster: RasterImage, width: number, height: number): Promise<RasterImage> {
  if (raster.width === width && raster.height === height) return raster;
  let pipeline = sharp(raster.data, {
    raw: { width: raster.width, height: raster.height, channels: raster.channels },
  }).resize(width, height, { fit: "fill", kernel: raster.channels === 1 ? "linear" : "lanczos3" });
  if (raster.channels === 1) pipeline = pipeline.toColourspace("b-w");
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels as 1 | 3 };
}

/**
 * Decodes a mask file to one channel: its luminance (colour masks work), flattened onto black where the
 * file is transparent. Orientation is applied, so a mask drawn on the displayed image lines up.
 */
export async function decodeMaskInput(bytes: Buffer, limits: { maxPixels: number }): Promise<RasterImage> {
  const decoded = await decodeMaskFile(bytes, limits);
  return maskFromLuminance(decoded.raster);
}
