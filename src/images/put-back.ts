/**
 * Around the provider call, for the pipeline: the upload a stitch plan asks for (before) and the saved
 * image made from the upstream's output and the original (after), encoded once in the requested format.
 * The maths is in stitch-plan.ts, stitch.ts and colour-match.ts; this module only decodes and encodes.
 */
import sharp from "sharp";
import type { ExpandSides } from "./expand.js";
import { encodePng } from "./prepare.js";
import type { InputImage, RasterImage } from "./raster.js";
import { MAX_RESULT_PIXEL_RATIO } from "./result-size.js";
import { composeExpand, composeFill, cropForUpload } from "./stitch.js";
import { describeSent, type StitchPlan } from "./stitch-plan.js";

/** What the pipeline keeps while the provider runs, to put the result back onto the original. */
export type PutBack =
  | { kind: "fill"; plan: StitchPlan; image: InputImage; mask: RasterImage }
  | { kind: "expand"; image: InputImage; sides: ExpandSides };

/** The saved file of a put-back result: JPEG quality 95 with full-resolution colour (≥ 45 dB PSNR on photos). */
const SAVED_JPEG = { quality: 95, chromaSubsampling: "4:4:4" } as const;

/**
 * The crop (scaled, padded) a plan sends, as PNG uploads and as images whose pixels are decoded from those
 * uploads only when a provider asks (the local engine, or a body too large to send as it is). The rasters
 * are not kept: while the upstream works, a 1 MP crop costs its ~1.3 MB of PNG instead of 4 MB of pixels.
 */
export async function stitchUpload(
  image: InputImage,
  mask: RasterImage,
  plan: StitchPlan,
): Promise<{ image: InputImage; mask: InputImage; upload: { image: Buffer; mask: Buffer } }> {
  const cropped = await cropForUpload(await image.pixels(), mask, plan);
  const [imageBytes, maskBytes] = await Promise.all([encodePng(cropped.image), encodePng(cropped.mask)]);
  return {
    image: pngImage(imageBytes, cropped.image),
    mask: pngImage(maskBytes, cropped.mask),
    upload: { image: imageBytes, mask: maskBytes },
  };
}

/** The pixels of `raster`, encoded by us as `png`, decoded again on the first call (and then kept). */
function pngImage(png: Buffer, raster: RasterImage): InputImage {
  const { width, height, channels } = raster;
  let decoding: Promise<RasterImage> | undefined;
  return {
    width,
    height,
    pixels() {
      // A one-channel raster was encoded as greyscale, which sharp decodes to three channels unless told.
      const decoder = channels === 1 ? sharp(png).toColourspace("b-w") : sharp(png);
      decoding ??= decoder
        .raw()
        .toBuffer({ resolveWithObject: true })
        .then(({ data, info }) => {
          if (info.width !== width || info.height !== height || info.channels !== channels) {
            throw new Error(`the encoded upload decoded as ${info.width}×${info.height}×${info.channels}`);
          }
          return { data, width, height, channels };
        });
      return decoding;
    },
  };
}

/** The upstream's output as RGB pixels, decoded at most to MAX_RESULT_PIXEL_RATIO × the pixels sent. */
export async function decodeReturned(bytes: Buffer, sent: { width: number; height: number }): Promise<RasterImage> {
  const maxPixels = MAX_RESULT_PIXEL_RATIO * sent.width * sent.height;
  const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: "error", autoOrient: true })
    .flatten({ background: "#000000" })
    .toColourspace("srgb")
    .raw({ depth: "uchar" })
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

export async function encodeResult(image: RasterImage, format: "jpeg" | "png"): Promise<Buffer> {
  const pipeline = sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } });
  return format === "png" ? pipeline.png({ compressionLevel: 6 }).toBuffer() : pipeline.jpeg(SAVED_JPEG).toBuffer();
}

/**
 * The upstream's output (decodeReturned) put back onto the original and encoded once as `format`, with
 * the reply's line saying what was sent and how it was put back.
 */
export async function putBackResult(
  returned: RasterImage,
  putBack: PutBack,
  format: "jpeg" | "png",
): Promise<{ bytes: Buffer; width: number; height: number; line: string }> {
  const original = await putBack.image.pixels();
  if (putBack.kind === "expand") {
    const { image, report } = await composeExpand(original, putBack.sides, returned);
    const matched = report.colourMatched ? ", the new border's colours matched to the photo" : "";
    return {
      bytes: await encodeResult(image, format),
      width: image.width,
      height: image.height,
      line: `Put back: the photo's own ${original.width}×${original.height} pixels kept exactly${matched}.`,
    };
  }
  const { image, report } = await composeFill(original, putBack.mask, putBack.plan, returned);
  const matched = report.colourMatched ? ", colours matched to the original" : "";
  const scaled = putBack.plan.scale === 1 ? "" : " scaled back,";
  return {
    bytes: await encodeResult(image, format),
    width: image.width,
    height: image.height,
    line: `Sent ${describeSent(putBack.plan)}; put back:${scaled} only the mask and a ${report.band} px band blended onto the original${matched}; every other pixel is the original's.`,
  };
}
