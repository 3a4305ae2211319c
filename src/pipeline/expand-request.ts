/** An expansion job → the checked image, the resolved sides and the provider's expansion request. */
import type { Config } from "../config.js";
import { type ResolvedExpansion, resolveExpansion } from "../images/expand.js";
import { type PreparedExpandImage, prepareExpandImage } from "../images/prepare.js";
import type { PutBack } from "../images/put-back.js";
import { resolveReference } from "../inputs/resolve.js";
import type { ExpandRequest } from "../providers/types.js";
import type { ExpandParams } from "../schema/upstream.js";
import { type ExpandJob, splitStitchOptions } from "./job.js";
import type { InputFacts, PreparedRequest } from "./prepared-request.js";

/** An expansion worked out before anything is sent: the image read and checked, the sides resolved. */
export interface ExpansionPlan {
  imageSource: string;
  prepared: PreparedExpandImage;
  expansion: ResolvedExpansion;
}

/**
 * Reference → the checked image and the sides (from `aspectRatio` after the given sides, when asked) with
 * the canvas they make, checked against the limits. Shared by a run and by flux_expand's dry run.
 */
export async function planExpansion(
  job: Omit<ExpandJob, "kind">,
  config: Config,
  signal: AbortSignal,
): Promise<ExpansionPlan> {
  const image = await resolveReference(job.image, { label: "image", config, signal });
  const prepared = await prepareExpandImage(image.bytes, { maxPixels: config.maxInputPixels });
  const { width, height } = prepared.info;
  const expansion = resolveExpansion(
    width,
    height,
    { sides: job.params, aspectRatio: job.aspectRatio, anchor: job.anchor },
    config.maxInputPixels,
  );
  return { imageSource: image.source, prepared, expansion };
}

/** Reference → the provider's expansion request, all checks made before anything is sent. */
export async function prepareExpandRequest(
  job: ExpandJob,
  config: Config,
  signal: AbortSignal,
  providerName: string,
): Promise<PreparedRequest> {
  const { imageSource, prepared, expansion } = await planExpansion(job, config, signal);
  const { params: expandParams, stitch } = splitStitchOptions<ExpandParams>(job.params);
  const { width, height, imageFormat } = prepared.info;
  const request: ExpandRequest = {
    kind: "expand",
    image: prepared.image,
    upload: { image: prepared.upload },
    params: {
      ...expandParams,
      ...expansion.sides,
      ...(stitch.keep_unmasked ? { output_format: "png" as const } : {}),
    },
    checked: Promise.resolve(),
  };
  const { top, bottom, left, right } = expansion.sides;
  const facts: InputFacts = {
    inputs: { image: { source: imageSource, width, height, format: imageFormat }, expand: expansion.sides },
    notes: [...prepared.notes, ...expansion.notes],
    summary: `expand: ${width}x${height} ${imageFormat} to ${expansion.width}x${expansion.height} (top ${top}, bottom ${bottom}, left ${left}, right ${right}), provider ${providerName}`,
  };
  const putBack: Promise<PutBack> | undefined = stitch.keep_unmasked
    ? Promise.resolve({ kind: "expand", image: prepared.image, sides: expansion.sides })
    : undefined;
  return { request, facts: Promise.resolve(facts), putBack };
}
