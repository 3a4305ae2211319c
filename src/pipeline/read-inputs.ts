/** The request's references → bytes → the oriented image and its final, checked mask. */
import type { Config } from "../config.js";
import { chooseMaskRoute, type MaskOptions, MIN_MASKED_PIXELS, tinyMaskProblem } from "../images/mask-spec.js";
import { type PreparedMask, prepareMask } from "../images/prepare.js";
import type { SegmentContext } from "../images/selection/segmenter.js";
import { type ResolvedInput, resolveReference } from "../inputs/resolve.js";
import { createSegmenter } from "../segmentation/index.js";
import { assertPreviewedImage, imageDigest } from "../state/masks.js";
import type { FillJob } from "./job.js";

/**
 * Both references → their bytes, read at once. Route conflicts are reported before any reference is read.
 * A previewed mask is the mask file's bytes as they are, once the image is the one it was drawn on.
 */
export async function resolveInputs(
  job: Pick<FillJob, "image" | "mask" | "previewed">,
  maskOptions: MaskOptions,
  config: Config,
  signal: AbortSignal,
): Promise<{ image: ResolvedInput; mask: ResolvedInput | undefined }> {
  const { previewed } = job;
  chooseMaskRoute(job.mask !== undefined || previewed !== undefined, maskOptions);
  const [image, mask] = await Promise.all([
    resolveReference(job.image, { label: "image", config, signal }),
    job.mask === undefined ? undefined : resolveReference(job.mask, { label: "mask", config, signal }),
  ]);
  if (previewed === undefined) return { image, mask };
  assertPreviewedImage(previewed, image.bytes, image.source);
  return { image, mask: { bytes: previewed.png, source: `mask_id ${previewed.id} (${previewed.source})` } };
}

/**
 * References → bytes → the oriented image and the final mask, checked; shared by flux_fill and
 * preview_mask so the preview shows exactly what would be sent.
 */
export async function readMaskedImage(
  job: Pick<FillJob, "image" | "mask">,
  maskOptions: MaskOptions,
  config: Config,
  signal: AbortSignal,
  segmentation: SegmentContext = { segmenter: createSegmenter(config), options: { signal } },
): Promise<{ prepared: PreparedMask; imageSource: string; imageSha256: string; maskSource: string | undefined }> {
  const { image, mask } = await resolveInputs(job, maskOptions, config, signal);
  const prepared = await prepareMask(
    image.bytes,
    mask?.bytes,
    { maxPixels: config.maxInputPixels },
    maskOptions,
    segmentation,
  );
  // The preview still shows a mask too small to send, and says plainly that flux_fill would refuse it.
  const tiny = tinyMaskProblem(prepared.stats, prepared.info.width, prepared.info.height);
  if (tiny) {
    prepared.notes.push(
      `Warning: flux_fill would refuse this mask: it marks only ${String(tiny.details?.masked_pixels)} pixels (at least ${MIN_MASKED_PIXELS} are needed). ${tiny.suggestion}`,
    );
  }
  return { prepared, imageSource: image.source, imageSha256: imageDigest(image.bytes), maskSource: mask?.source };
}
