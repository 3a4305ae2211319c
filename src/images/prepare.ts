import sharp from "sharp";
import { FluxFillError } from "../errors.js";
import type { InputImage, RasterImage } from "./raster.js";
import {
  checkInputDecodes,
  type DecodedFacts,
  type DecodedInput,
  decodeInputPixels,
  decodeMaskFile,
  decodeResized,
  type InputHeader,
  readInputHeader,
  resizeRaster,
} from "./decode.js";
import { isSrgbDescription } from "./icc.js";
import { cropRaster, type ScalableImage } from "./mask-preview.js";
import { assertSameSize, type MaskStats, maskStats, toRgbInPlace } from "./mask.js";
import {
  applyMaskModifiers,
  checkCoverage,
  chooseMaskRoute,
  describeModifiers,
  drawnMask,
  type MaskOptions,
  type MaskRoute,
  maskFromImageAlpha,
  maskFromMaskFile,
  selectionNotes,
} from "./mask-spec.js";
import type { RegionReport } from "./regions.js";
import type { SegmentContext } from "./selection/segmenter.js";
import { sizeNotes } from "./model-size.js";
import { fitMaskTo } from "./morphology.js";

/**
 * The image stage as one call: image (+ optional mask) bytes → the pixels and upload bytes a provider
 * needs, after every check that can be made before spending anything upstream.
 */

/**
 * An input image that can also be had at a smaller size (for previews): from its pixels when they are
 * decoded, else decoded straight to that size.
 */
export interface PreparedImage extends InputImage, ScalableImage {}

export interface PreparedMask {
  /** Opaque RGB, oriented as displayed; decoded only when needed (see readImage). */
  image: PreparedImage;
  /** One channel, same size: 255 = inpaint. */
  mask: RasterImage;
  /** Which input files are uploaded byte for byte instead of re-encoded (sendsAsIs). */
  sendAsIs: { image: boolean; mask: boolean };
  stats: MaskStats;
  /** What decided each mask_regions entry (shape, or an object/wand selection and how it went); else empty. */
  regions: RegionReport[];
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

export interface PreparedFill extends Omit<PreparedMask, "sendAsIs"> {
  upload: { image: Buffer; mask: Buffer };
}

/**
 * PNG settings for uploads. Adaptive filtering (a predictor chosen per row) roughly halves a photo's PNG
 * (20 MP: 57 → 31 MB) for about 0.7 s more CPU, which a smaller upload repays many times over; with it,
 * zlib level 2 is as small as the default 6 and faster.
 */
const UPLOAD_PNG = { compressionLevel: 2, adaptiveFiltering: true } as const;

/**
 * A mask is long runs of one value, which no filter improves: without adaptive filtering a 12 MP mask
 * encodes in ~15 ms instead of ~130 ms, and is smaller (12 KB instead of 117 KB).
 */
const MASK_PNG = { compressionLevel: 6, adaptiveFiltering: false } as const;

const NO_MASK_SUGGESTION =
  "Mark the area in one of these ways: 1) `mask_regions`, shapes such as " +
  '[{"shape":"rect","x":0.4,"y":0.3,"width":0.2,"height":0.3}] with units "fraction"; ' +
  "2) `mask_svg`, SVG markup where white = inpaint; 3) `mask`, an image of the same size where white = inpaint and black = keep; " +
  "4) give an image (PNG or WebP) whose transparent pixels mark the area, e.g. erased or cut out in an image editor and saved as a PNG with transparency. " +
  "Check the area for free with preview_mask.";

/** A mask file's size must match the image's, unless fit_mask asks for it to be resized. */
function fittedMaskFile(mask: RasterImage, image: DecodedFacts, fit: boolean, notes: string[]): RasterImage {
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
  /** The segmenter object entries go through (required when there are any). */
  segmentation?: SegmentContext,
): Promise<PreparedMask> {
  const route = chooseMaskRoute(maskBytes !== undefined, options);
  // Read both at once; on failure report the image's problem first, as the one most worth fixing.
  const [imageResult, maskResult] = await Promise.allSettled([
    readImage(imageBytes, limits, route === "alpha"),
    maskBytes === undefined ? Promise.resolve(undefined) : decodeMaskFile(maskBytes, limits),
  ]);
  if (imageResult.status === "rejected") throw imageResult.reason;
  if (maskResult.status === "rejected") throw maskResult.reason;
  const { facts: decoded, header: imageHeader, raster: imagePixels } = imageResult.value;
  // readImage keeps a fourth channel only when some pixel is not fully opaque.
  const transparent = imagePixels?.channels === 4;
  const notes: string[] = [];
  // The image the provider gets: decoded once, by whoever asks first (an object or wand entry, the local engine).
  const image = imagePixels === undefined ? lazyImage(imageBytes, limits, imageHeader) : undefined;
  // A decoded raster is packed to RGB in place, so exactly once, after the alpha has been read (or ignored).
  let packed: RasterImage | undefined;
  const rgb = (): RasterImage => (packed ??= toRgbInPlace(imagePixels!));

  let base: RasterImage;
  let regions: RegionReport[] = [];
  let maskFile: DecodedFacts | undefined;
  if (route === "mask") {
    const { raster: maskPixels, ...facts } = maskResult.value!;
    maskFile = facts;
    base = fittedMaskFile(
      maskFromMaskFile(maskPixels, options.alpha_convention),
      decoded,
      options.fit_mask === true,
      notes,
    );
  } else if (route === "alpha") {
    if (!transparent) {
      const why = decoded.hasAlpha ? " (it has an alpha channel, but every pixel is fully opaque)" : "";
      throw new FluxFillError(
        "bad_input",
        `There is no mask, and the image has no transparent pixels${why}, so nothing marks the area to inpaint.`,
        { suggestion: NO_MASK_SUGGESTION },
      );
    }
    base = maskFromImageAlpha(imagePixels, options.alpha_convention);
  } else {
    // Regions and SVG ignore the alpha, so the raster can be packed to RGB for the selections.
    const drawn = await drawnMask(
      route,
      options,
      decoded.width,
      decoded.height,
      () => (image ? image.pixels() : Promise.resolve(rgb())),
      segmentation,
    );
    base = drawn.mask;
    regions = drawn.reports;
    notes.push(...drawn.notes, ...selectionNotes(regions));
  }
  if (route !== "alpha" && transparent) {
    notes.push(
      `Note: the image's transparency was ignored; the area comes from ${route === "mask" ? "the mask file" : route}.`,
    );
  }

  const mask = applyMaskModifiers(base, options);
  const stats = maskStats(mask);
  notes.push(...checkCoverage(stats, route, options), ...sizeNotes(decoded.width, decoded.height));
  return {
    image: image ?? decodedImage(rgb()),
    mask,
    sendAsIs: sendsAsIs(route, options, decoded, maskFile),
    stats,
    regions,
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

/**
 * Which input files are uploaded byte for byte, decided from their headers alone: the image when the
 * upstream reads from it exactly the pixels `image` holds (canSendOriginalBytes), the mask file when it is
 * a plain grey PNG of the image's size (canSendMaskFile) and nothing (convention, modifier) changes its values.
 */
export function sendsAsIs(
  route: MaskRoute,
  options: MaskOptions,
  image: DecodedFacts,
  mask: DecodedFacts | undefined,
): { image: boolean; mask: boolean } {
  return {
    image: route !== "alpha" && canSendOriginalBytes(image),
    mask:
      route === "mask" &&
      mask !== undefined &&
      canSendMaskFile(mask) &&
      mask.width === image.width &&
      mask.height === image.height &&
      (options.alpha_convention ?? "transparent_is_inpaint") === "transparent_is_inpaint" &&
      describeModifiers(options).length === 0,
  };
}

/**
 * The upload when both files go byte for byte, known from their headers (~1 ms) so that it can start while
 * prepareMask still checks the pixels; undefined when either file must be re-encoded, which needs its
 * pixels first. Header problems (not an image, too large) are thrown as prepareMask throws them.
 */
export async function uploadFromHeaders(
  imageBytes: Buffer,
  maskBytes: Buffer | undefined,
  limits: { maxPixels: number },
  options: MaskOptions = {},
): Promise<{ upload: { image: Buffer; mask: Buffer }; width: number; height: number } | undefined> {
  if (maskBytes === undefined) return undefined;
  const route = chooseMaskRoute(true, options);
  const image = await readInputHeader(imageBytes, "image", limits);
  const mask = await readInputHeader(maskBytes, "mask", limits);
  const asIs = sendsAsIs(route, options, image.facts, mask.facts);
  if (!asIs.image || !asIs.mask) return undefined;
  return { upload: { image: imageBytes, mask: maskBytes }, width: image.facts.width, height: image.facts.height };
}

/**
 * The image's header, and its pixels only when this stage needs them: to read the alpha (route "alpha")
 * or to re-encode a file that cannot be uploaded as it is. A file uploaded as it is (canSendOriginalBytes:
 * stored as opaque RGB, so there is no alpha to read) is only proven to decode completely, at a fraction of
 * the cost; whoever needs its pixels later decodes them then (lazyImage).
 */
async function readImage(
  bytes: Buffer,
  limits: { maxPixels: number },
  readsAlpha: boolean,
): Promise<{ facts: DecodedFacts; header: InputHeader; raster?: RasterImage }> {
  const header = await readInputHeader(bytes, "image", limits);
  if (!readsAlpha && canSendOriginalBytes(header.facts)) {
    await checkInputDecodes(bytes, "image", limits, header);
    return { facts: header.facts, header };
  }
  const { raster, ...facts }: DecodedInput = await decodeInputPixels(bytes, "image", limits, header);
  return { facts, header, raster };
}

/** The image of an expansion, checked, with the bytes to upload (it is sent unpadded). */
export interface PreparedExpandImage {
  image: PreparedImage;
  upload: Buffer;
  notes: string[];
  info: { width: number; height: number; imageFormat: string };
}

/**
 * Image bytes → the oriented image and its upload, after the checks made before anything is spent (it
 * decodes, within the pixel limit). Sent as it is when the upstream reads the same pixels from it.
 */
export async function prepareExpandImage(bytes: Buffer, limits: { maxPixels: number }): Promise<PreparedExpandImage> {
  const { facts, header, raster } = await readImage(bytes, limits, false);
  const image = raster === undefined ? lazyImage(bytes, limits, header) : decodedImage(toRgbInPlace(raster));
  const notes =
    raster?.channels === 4
      ? ["Note: the image's transparency was ignored; its colours are kept and new pixels are added around it."]
      : [];
  const upload = canSendOriginalBytes(facts) ? bytes : await encodePng(await image.pixels());
  return { image, upload, notes, info: { width: facts.width, height: facts.height, imageFormat: facts.format } };
}

/** A raster already decoded: an opaque RGB image, or a one-channel mask. */
export function decodedImage(rgb: RasterImage): PreparedImage {
  return {
    width: rgb.width,
    height: rgb.height,
    pixels: () => Promise.resolve(rgb),
    scaled: (width, height, region) => resizeRaster(region ? cropRaster(rgb, region) : rgb, width, height),
  };
}

/** An image decoded on the first call to `pixels()` (once; the result is kept). */
function lazyImage(bytes: Buffer, limits: { maxPixels: number }, header: InputHeader): PreparedImage {
  let decoding: Promise<RasterImage> | undefined;
  return {
    width: header.facts.width,
    height: header.facts.height,
    scaled: (width, height, region) =>
      decoding
        ? decoding.then((rgb) => resizeRaster(region ? cropRaster(rgb, region) : rgb, width, height))
        : decodeResized(bytes, width, height, limits, region),
    pixels() {
      decoding ??= decodeInputPixels(bytes, "image", limits, header).then((decoded) => toRgbInPlace(decoded.raster));
      return decoding;
    },
  };
}

/**
 * The bytes to upload: each input file as it is when prepareMask found that possible (see `sendAsIs`),
 * else a lossless PNG of the pixels.
 */
export async function encodeUploads(
  prepared: PreparedMask,
  files: { image: Buffer; mask?: Buffer | undefined },
): Promise<{ image: Buffer; mask: Buffer }> {
  const [image, mask] = await Promise.all([
    prepared.sendAsIs.image ? files.image : prepared.image.pixels().then(encodePng),
    prepared.sendAsIs.mask && files.mask !== undefined ? files.mask : encodePng(prepared.mask),
  ]);
  return { image, mask };
}

/** prepareMask plus the bytes to upload. */
export async function prepareFillImages(
  imageBytes: Buffer,
  maskBytes: Buffer | undefined,
  limits: { maxPixels: number },
  options: MaskOptions = {},
  segmentation?: SegmentContext,
): Promise<PreparedFill> {
  const prepared = await prepareMask(imageBytes, maskBytes, limits, options, segmentation);
  const upload = await encodeUploads(prepared, { image: imageBytes, mask: maskBytes });
  const { sendAsIs: _sendAsIs, ...rest } = prepared;
  return { ...rest, upload };
}

/**
 * A JPEG or PNG that needs no rotation and is already plain 8-bit sRGB RGB (no alpha, no palette) is sent
 * as it is: the upstream reads the same pixels from it, and re-encoding would cost time (a 12 MP PNG takes
 * about a second) and, as JPEG, quality.
 */
export function canSendOriginalBytes(decoded: DecodedFacts): boolean {
  const { stored } = decoded;
  return (
    (decoded.format === "jpeg" || (decoded.format === "png" && stored.bitsPerSample === 8 && !stored.palette)) &&
    (decoded.orientation === undefined || decoded.orientation === 1) &&
    stored.space === "srgb" &&
    stored.channels === 3 &&
    stored.depth === "uchar" &&
    (!stored.hasProfile || (stored.iccProfile !== undefined && isSrgbDescription(stored.iccProfile)))
  );
}

/**
 * A mask file that is an upright 8-bit greyscale PNG without a profile holds exactly the mask's values,
 * so when nothing changes them (no convention, modifier or fitting) it is sent as it is.
 */
export function canSendMaskFile(mask: DecodedFacts): boolean {
  const { stored } = mask;
  return (
    mask.format === "png" &&
    (mask.orientation === undefined || mask.orientation === 1) &&
    stored.channels === 1 &&
    stored.space === "b-w" &&
    stored.depth === "uchar" &&
    stored.bitsPerSample === 8 &&
    !stored.palette &&
    !stored.hasProfile
  );
}

/** Lossless upload encoding; one-channel rasters become greyscale PNGs. */
export async function encodePng(raster: RasterImage): Promise<Buffer> {
  const pipeline = sharp(raster.data, {
    raw: { width: raster.width, height: raster.height, channels: raster.channels },
  });
  if (raster.channels === 1) return pipeline.toColourspace("b-w").png(MASK_PNG).toBuffer();
  return pipeline.png(UPLOAD_PNG).toBuffer();
}
