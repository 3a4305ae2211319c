import sharp from "sharp";
import { FluxFillError } from "../errors.js";
import type { RasterImage } from "../providers/types.js";
import { type DecodedInput, decodeInput } from "./decode.js";
import { isSrgbDescription } from "./icc.js";
import { assertSameSize, hasTransparency, type MaskStats, maskStats, toRgb } from "./mask.js";
import {
  applyMaskModifiers,
  checkCoverage,
  chooseMaskRoute,
  drawnMask,
  type MaskOptions,
  type MaskRoute,
  maskFromImageAlpha,
  maskFromMaskFile,
} from "./mask-spec.js";
import { sizeNotes } from "./model-size.js";
import { fitMaskTo } from "./morphology.js";

/**
 * The image stage as one call: image (+ optional mask) bytes → the pixels and upload bytes a provider
 * needs, after every check that can be made before spending anything upstream.
 */

export interface PreparedMask {
  /** Opaque RGB, oriented as displayed. */
  image: RasterImage;
  /** One channel, same size: 255 = inpaint. */
  mask: RasterImage;
  /** The decoded image (format, how it is stored), for deciding whether its bytes can be uploaded as they are. */
  decoded: DecodedInput;
  stats: MaskStats;
  /** Warnings and notes for the result text (size the model handles badly, nearly full mask, …). */
  notes: string[];
  info: {
    width: number;
    height: number;
    maskSource: MaskRoute;
    /** Fraction of pixels to inpaint (0..1). */
    coverage: number;
    imageFormat: string;
  };
}

export interface PreparedFill extends Omit<PreparedMask, "decoded"> {
  upload: { image: Buffer; mask: Buffer };
}

/** PNG zlib level for uploads: on photos 2 is ~1.4× faster than the default 6 for the same size (1 is ~20% bigger). */
const UPLOAD_PNG_LEVEL = 2;

const NO_MASK_SUGGESTION =
  "Mark the area in one of these ways: 1) `mask_regions`, shapes such as " +
  '[{"shape":"rect","x":0.4,"y":0.3,"width":0.2,"height":0.3}] with units "fraction"; ' +
  '2) `mask_svg`, SVG markup where white = inpaint; 3) `mask`, an image of the same size where white = inpaint and black = keep; ' +
  "4) give an image (PNG or WebP) whose transparent pixels mark the area, e.g. erased or cut out in an image editor and saved as a PNG with transparency. " +
  "Check the area for free with preview_mask.";

/** A mask file's size must match the image's, unless fit_mask asks for it to be resized. */
function fittedMaskFile(mask: RasterImage, image: DecodedInput, fit: boolean, notes: string[]): RasterImage {
  if (mask.width === image.width && mask.height === image.height) return mask;
  if (!fit) assertSameSize(image, mask);
  const ratio = mask.width / mask.height / (image.width / image.height);
  if (Math.abs(ratio - 1) > 0.01) {
    notes.push(
      `Note: fit_mask stretched the ${mask.width}×${mask.height} mask to the ${image.width}×${image.height} image; their shapes differ (aspect ${(mask.width / mask.height).toFixed(3)} vs ${(image.width / image.height).toFixed(3)}), so check the area with preview_mask.`,
    );
  }
  return fitMaskTo(mask, image.width, image.height);
}

/**
 * Image (+ optional mask file) bytes and the mask options → the oriented image and the final mask, after
 * every check that can be made before spending anything upstream. No upload encoding (preview_mask).
 */
export async function prepareMask(
  imageBytes: Buffer,
  maskBytes: Buffer | undefined,
  limits: { maxPixels: number },
  options: MaskOptions = {},
): Promise<PreparedMask> {
  const route = chooseMaskRoute(maskBytes !== undefined, options);
  // Decode both at once; on failure report the image's problem first, as the one most worth fixing.
  const [imageResult, maskResult] = await Promise.allSettled([
    decodeInput(imageBytes, "image", limits),
    maskBytes === undefined ? Promise.resolve(undefined) : decodeInput(maskBytes, "mask", limits),
  ]);
  if (imageResult.status === "rejected") throw imageResult.reason;
  if (maskResult.status === "rejected") throw maskResult.reason;
  const decoded = imageResult.value;
  const notes: string[] = [];

  let base: RasterImage;
  if (route === "mask") {
    const fromFile = maskFromMaskFile(maskResult.value!.raster, options.alpha_convention);
    base = fittedMaskFile(fromFile, decoded, options.fit_mask === true, notes);
  } else if (route === "alpha") {
    if (!hasTransparency(decoded.raster)) {
      const why = decoded.hasAlpha ? " (it has an alpha channel, but every pixel is fully opaque)" : "";
      throw new FluxFillError(
        "bad_input",
        `There is no mask, and the image has no transparent pixels${why}, so nothing marks the area to inpaint.`,
        { suggestion: NO_MASK_SUGGESTION },
      );
    }
    base = maskFromImageAlpha(decoded.raster, options.alpha_convention);
  } else {
    base = await drawnMask(route, options, decoded.width, decoded.height);
  }
  if (route !== "alpha" && hasTransparency(decoded.raster)) {
    notes.push(`Note: the image's transparency was ignored; the area comes from ${route === "mask" ? "the mask file" : route}.`);
  }

  const mask = applyMaskModifiers(base, options);
  const stats = maskStats(mask);
  notes.push(...checkCoverage(stats, route, options), ...sizeNotes(decoded.width, decoded.height));
  return {
    image: toRgb(decoded.raster),
    mask,
    decoded,
    stats,
    notes,
    info: {
      width: decoded.width,
      height: decoded.height,
      maskSource: route,
      coverage: stats.coverage,
      imageFormat: decoded.format,
    },
  };
}

/** The bytes to upload: the image (its original JPEG bytes when possible, else PNG) and the mask as PNG. */
export async function encodeUploads(prepared: PreparedMask, imageBytes: Buffer): Promise<{ image: Buffer; mask: Buffer }> {
  const [image, mask] = await Promise.all([
    canSendOriginalBytes(prepared.decoded) ? Promise.resolve(imageBytes) : encodePng(prepared.image),
    encodePng(prepared.mask),
  ]);
  return { image, mask };
}

/** prepareMask plus the bytes to upload. */
export async function prepareFillImages(
  imageBytes: Buffer,
  maskBytes: Buffer | undefined,
  limits: { maxPixels: number },
  options: MaskOptions = {},
): Promise<PreparedFill> {
  const prepared = await prepareMask(imageBytes, maskBytes, limits, options);
  const upload = await encodeUploads(prepared, imageBytes);
  const { decoded: _decoded, ...rest } = prepared;
  return { ...rest, upload };
}

/**
 * A JPEG that needs no rotation and is already plain 8-bit sRGB RGB is sent as it is: re-encoding it
 * would cost time, and re-encoding it as JPEG would cost quality (and as PNG, bytes).
 */
export function canSendOriginalBytes(decoded: DecodedInput): boolean {
  const { stored } = decoded;
  return (
    decoded.format === "jpeg" &&
    (decoded.orientation === undefined || decoded.orientation === 1) &&
    stored.space === "srgb" &&
    stored.channels === 3 &&
    stored.depth === "uchar" &&
    (!stored.hasProfile || (stored.iccProfile !== undefined && isSrgbDescription(stored.iccProfile)))
  );
}

/** Lossless upload encoding; one-channel rasters become greyscale PNGs. */
export async function encodePng(raster: RasterImage): Promise<Buffer> {
  let pipeline = sharp(raster.data, { raw: { width: raster.width, height: raster.height, channels: raster.channels } });
  if (raster.channels === 1) pipeline = pipeline.toColourspace("b-w");
  return pipeline.png({ compressionLevel: UPLOAD_PNG_LEVEL }).toBuffer();
}
