/**
 * A fill job → the provider's request, cropped around the mask when that changes what is sent, with what
 * puts the result back onto the original afterwards (the pure plan and compose steps live in images/).
 */
import type { Config } from "../config.js";
import { type MaskOptions, describeMaskSource, tinyMaskProblem } from "../images/mask-spec.js";
import { withoutCroppedSizeNotes } from "../images/model-size.js";
import { decodedImage, encodeUploads, type PreparedMask, prepareMask, uploadFromHeaders } from "../images/prepare.js";
import { type PutBack, stitchUpload } from "../images/put-back.js";
import type { SegmentContext } from "../images/selection/segmenter.js";
import { markedBox } from "../images/stitch.js";
import { changesUpload, planStitch } from "../images/stitch-plan.js";
import type { FillRequest } from "../providers/types.js";
import type { FillParams } from "../schema/upstream.js";
import type { FillJob, StitchOptions } from "./job.js";
import type { InputFacts, PreparedRequest } from "./prepared-request.js";
import { resolveInputs } from "./read-inputs.js";

/**
 * References → the provider's fill request. When both files are uploaded as they are (known from their
 * headers) the request is ready at once and the pixel checks run while the provider uploads (`checked`);
 * otherwise the checks, then the encoding, come first. Its own function so that the input files' bytes are
 * not kept alive for the rest of the fill (tens of MB for a big image) beyond what the request holds.
 */
export async function prepareFillRequest(
  job: FillJob,
  params: FillParams,
  maskOptions: MaskOptions,
  config: Config,
  signal: AbortSignal,
  providerName: string,
  segmentation: SegmentContext,
  stitch: Required<StitchOptions>,
): Promise<PreparedRequest> {
  const { image, mask } = await resolveInputs(job, maskOptions, config, signal);
  const limits = { maxPixels: config.maxInputPixels };
  // Only the sources' names outlive this call in `describe`, not the files' bytes.
  const imageSource = image.source;
  const maskSource = mask?.source;
  const describe = ({ info, notes }: Omit<PreparedMask, "image" | "mask">): InputFacts => {
    const maskDescription = describeMaskSource(info.maskSource, maskOptions, maskSource);
    return {
      inputs: {
        image: { source: imageSource, width: info.width, height: info.height, format: info.imageFormat },
        mask: { source: maskDescription, coverage: info.coverage },
      },
      notes,
      summary: `fill: ${info.width}x${info.height} ${info.imageFormat}, mask from ${maskDescription} (${(info.coverage * 100).toFixed(1)}%), provider ${providerName}`,
    };
  };
  const checkedMask = () =>
    prepareMask(image.bytes, mask?.bytes, limits, maskOptions, segmentation).then((prepared) => {
      const tiny = tinyMaskProblem(prepared.stats, prepared.info.width, prepared.info.height);
      if (tiny) throw tiny;
      return prepared;
    });
  const sentParams = stitch.keep_unmasked ? { ...params, output_format: "png" as const } : params;
  if (stitch.keep_unmasked && stitch.crop === "auto") {
    // The mask decides what is sent, so the checks come first.
    const prepared = await checkedMask();
    const { width, height } = prepared.info;
    const plan = planStitch({ width, height }, markedBox(prepared.mask), stitch.crop, {
      enlarge: providerName !== "local",
    });
    let request: FillRequest;
    if (changesUpload(plan)) {
      const sent = await stitchUpload(prepared.image, prepared.mask, plan);
      request = {
        kind: "fill",
        image: sent.image,
        mask: sent.mask,
        upload: sent.upload,
        params: sentParams,
        checked: Promise.resolve(),
      };
    } else {
      const upload = await encodeUploads(prepared, { image: image.bytes, mask: mask?.bytes });
      request = {
        kind: "fill",
        image: prepared.image,
        mask: decodedImage(prepared.mask),
        upload,
        params: sentParams,
        checked: Promise.resolve(),
      };
    }
    const { image: _image, mask: _mask, ...facts } = prepared;
    const described = describe(facts);
    // The crop is sent on the 32 px grid and at most 4 MP: the notes about the photo's own size do not apply.
    if (changesUpload(plan)) described.notes = withoutCroppedSizeNotes(described.notes, width, height);
    described.inputs.sent = { ...plan.sent, area: plan.area };
    return {
      request,
      facts: Promise.resolve(described),
      putBack: Promise.resolve({ kind: "fill", plan, image: prepared.image, mask: prepared.mask }),
    };
  }
  const early = await uploadFromHeaders(image.bytes, mask?.bytes, limits, maskOptions);
  const preparing = checkedMask();
  if (early === undefined) {
    const prepared = await preparing;
    const upload = await encodeUploads(prepared, { image: image.bytes, mask: mask?.bytes });
    const { image: preparedImage, mask: maskPixels, ...facts } = prepared;
    const request: FillRequest = {
      kind: "fill",
      image: preparedImage,
      mask: decodedImage(maskPixels),
      upload,
      params: sentParams,
      checked: Promise.resolve(),
    };
    return { request, facts: Promise.resolve(describe(facts)), putBack: putBackAsIs(preparing, stitch) };
  }
  const checked = preparing.then(() => undefined);
  // Whoever uses the request sees a failed check; these handlers only keep Node from calling it unhandled.
  checked.catch(() => undefined);
  const { width, height } = early;
  const request: FillRequest = {
    kind: "fill",
    image: { width, height, pixels: async () => (await preparing).image.pixels() },
    mask: { width, height, pixels: async () => (await preparing).mask },
    upload: early.upload,
    params: sentParams,
    checked,
  };
  const facts = preparing.then(({ image: _image, mask: _mask, ...rest }) => describe(rest));
  facts.catch(() => undefined);
  return { request, facts, putBack: putBackAsIs(preparing, stitch) };
}

/** crop "off": the photo goes as it is; the plan (its band) follows from the mask once it is checked. */
function putBackAsIs(preparing: Promise<PreparedMask>, stitch: Required<StitchOptions>): Promise<PutBack> | undefined {
  if (!stitch.keep_unmasked) return undefined;
  const putBack = preparing.then(
    (p): PutBack => ({
      kind: "fill",
      plan: planStitch({ width: p.info.width, height: p.info.height }, markedBox(p.mask), "off"),
      image: p.image,
      mask: p.mask,
    }),
  );
  putBack.catch(() => undefined);
  return putBack;
}

