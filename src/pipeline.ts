import sharp from "sharp";
import type { Config } from "./config.js";
import { FluxFillError } from "./errors.js";
import {
  chooseMaskRoute,
  describeModifiers,
  MASK_OPTION_NAMES,
  type MaskOptions,
  MIN_MASKED_PIXELS,
  tinyMaskProblem,
} from "./images/mask-spec.js";
import { decodesCompletely } from "./images/decode.js";
import { type Anchor, type ResolvedExpansion, resolveExpansion } from "./images/expand.js";
import {
  decodedImage,
  encodeUploads,
  type PreparedExpandImage,
  type PreparedMask,
  prepareExpandImage,
  prepareMask,
  uploadFromHeaders,
} from "./images/prepare.js";
import { type Preview, renderPreview } from "./images/preview.js";
import { decodeReturned, type PutBack, putBackResult, stitchUpload } from "./images/put-back.js";
import { checkResultSize } from "./images/result-size.js";
import { markedBox } from "./images/stitch.js";
import { type CropMode, changesUpload, planStitch } from "./images/stitch-plan.js";
import { withoutCroppedSizeNotes } from "./images/model-size.js";
import { type ResolvedInput, resolveReference } from "./inputs/resolve.js";
import type { Logger } from "./log.js";
import { type CreditHold, creditPayer, holdCreditsFor, type PaidTaskFacts, paidTaskNotes, type Reuse, runPaidTask, type UserCredits } from "./pay-once.js";
import type { SegmentContext, Segmenter } from "./images/selection/segmenter.js";
import { createSegmenter } from "./segmentation/index.js";
import {
  type ExpandRequest,
  type FillContext,
  type FillOutput,
  type FillProgress,
  type FillRequest,
  outputSize,
  type Provider,
  type ProviderRequest,
} from "./providers/types.js";
import { localResultStore } from "./results/local.js";
import {
  type KeptResults,
  newResultId,
  type ResultFormat,
  type ResultMeta,
  type ResultWriter,
  resultUri,
  type SavedResult,
} from "./results/store.js";
import type { ResultStore } from "./results/types.js";
import type { ExpandParams, FillParams } from "./schema/upstream.js";
import { requestIdentity } from "./state/identity.js";
import { assertPreviewedImage, imageDigest, type PreviewedMask } from "./state/masks.js";
import type { PaidTaskState } from "./state/types.js";

/** One fill as the pipeline sees it: references still unresolved, parameters validated with defaults. */
export interface FillJob {
  kind?: "fill";
  image: string;
  mask?: string | undefined;
  /**
   * The upstream parameters. Callers may pass the whole parsed tool input here (mask options included):
   * the mask options are taken out before anything is sent upstream.
   */
  params: FillParams & MaskOptions & StitchOptions;
  /** Where to inpaint besides `mask` (shapes, SVG, conventions, modifiers); overrides the same keys in params. */
  maskOptions?: MaskOptions;
  /** A mask preview_mask showed (mask_id), sent as it is instead of `mask`; only for the image it was drawn on. */
  previewed?: PreviewedMask | undefined;
}

/**
 * One expansion as the pipeline sees it: the reference still unresolved, parameters validated with
 * defaults. The sides in `params` are added first; `aspectRatio`, when given, then grows the dimension
 * short of it (placed by `anchor`).
 */
export interface ExpandJob {
  kind: "expand";
  image: string;
  params: ExpandParams & Omit<StitchOptions, "crop">;
  aspectRatio?: string | undefined;
  anchor?: Anchor | undefined;
}

/** What the pipeline runs: a fill (the default kind) or an expansion, through the same stages. */
export type PipelineJob = FillJob | ExpandJob;

/**
 * How the result is made from the upstream's output (tool-only, never sent): `crop` what is sent,
 * `keep_unmasked` whether only the mask is put back onto the original (images/stitch*.ts).
 */
export interface StitchOptions {
  crop?: CropMode | undefined;
  keep_unmasked?: boolean | undefined;
  /** How many candidates (tasks with distinct seeds) to make: 1..4. */
  variations?: number | undefined;
}

const STITCH_OPTION_NAMES = ["crop", "keep_unmasked", "variations"] as const satisfies ReadonlyArray<keyof StitchOptions>;

/** Takes the stitch options out of the parameters (defaults: crop auto, keep_unmasked true). */
export function splitStitchOptions<P extends object>(params: P & StitchOptions): { params: P; stitch: Required<StitchOptions> } {
  const upstream: Record<string, unknown> = { ...(params as Record<string, unknown>) };
  for (const name of STITCH_OPTION_NAMES) delete upstream[name];
  return {
    params: upstream as P,
    stitch: { crop: params.crop ?? "auto", keep_unmasked: params.keep_unmasked ?? true, variations: params.variations ?? 1 },
  };
}

/** Splits the mask options (tool-only) from the upstream parameters, so they never reach the upstream. */
export function splitMaskOptions(params: FillParams & MaskOptions): { params: FillParams; maskOptions: MaskOptions } {
  const upstream: Record<string, unknown> = { ...params };
  const maskOptions: Record<string, unknown> = {};
  for (const name of MASK_OPTION_NAMES) {
    if (name in upstream) {
      if (upstream[name] !== undefined) maskOptions[name] = upstream[name];
      delete upstream[name];
    }
  }
  return { params: upstream as FillParams, maskOptions: maskOptions as MaskOptions };
}

/** "rect, object, wand subtracted": the entries' kinds in order, for the sidecar and logs. */
function describeRegions(regions: NonNullable<MaskOptions["mask_regions"]>): string {
  return regions.map((r) => (r.op === "subtract" ? `${r.shape} subtracted` : r.shape)).join(", ");
}

/** How the mask was given, for the sidecar and logs ("mask_regions (2 shapes), grown 8 px"). */
export function describeMaskSource(
  route: PreparedMask["info"]["maskSource"],
  options: MaskOptions,
  maskSource?: string,
): string {
  const base =
    route === "mask"
      ? (maskSource ?? "mask file")
      : route === "alpha"
        ? "alpha channel of the image"
        : route === "mask_regions"
          ? `mask_regions (${describeRegions(options.mask_regions ?? [])}, ${options.units ?? "px"})`
          : "mask_svg";
  const convention =
    options.alpha_convention && options.alpha_convention !== "transparent_is_inpaint"
      ? [`alpha_convention ${options.alpha_convention}`]
      : [];
  const fit = options.fit_mask === true ? ["fitted to the image"] : [];
  return [base, ...convention, ...fit, ...describeModifiers(options)].join(", ");
}

/**
 * Both references → their bytes, read at once. Route conflicts are reported before any reference is read.
 * A previewed mask is the mask file's bytes as they are, once the image is the one it was drawn on.
 */
async function resolveInputs(
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

export interface PipelineDeps {
  config: Config;
  provider: Provider;
  logger: Logger;
  /**
   * Attach, hand-over, journal and the daily credit limit (pay-once.ts). Without it every call runs on its
   * own (the CLI's one-off commands).
   */
  paid?: PaidTaskState | undefined;
  /** Results no directory could take, kept for get_result. */
  kept?: KeptResults | undefined;
  /** Resolves once the tasks journalled before a restart are being collected. */
  recovering?: Promise<void> | undefined;
  /** The file writes of saving a result (tests inject a full disk here). */
  writer?: ResultWriter | undefined;
  /** A named user (undefined for the local one): part of the request identity and of the journal entry. */
  user?: string | undefined;
  /** The user's own daily credit limit and ledger (FLUX_FILL_USER_DAILY_CREDIT_LIMIT), if any. */
  userCredits?: UserCredits | undefined;
  /** Where results are saved and read (the output directory or a bucket); the output directory when absent. */
  results?: ResultStore | undefined;
  /** What object entries go through; the one the config chooses when absent. */
  segmenter?: Segmenter | undefined;
}

/**
 * How the mask stage calls the segmenter for one call: with its signal, and (with paid-task state) a
 * hosted segmentation counted in the same daily credit limits as fills.
 */
export function segmentContext(
  deps: Pick<PipelineDeps, "config" | "logger" | "paid" | "userCredits" | "segmenter">,
  signal: AbortSignal,
): SegmentContext {
  const { config } = deps;
  return {
    segmenter: deps.segmenter ?? createSegmenter(config),
    options: {
      signal,
      ...(deps.paid === undefined
        ? {}
        : {
            pay: creditPayer({
              credits: deps.paid.credits,
              logger: deps.logger,
              dailyCreditLimit: config.dailyCreditLimit,
              userCredits: deps.userCredits,
              outputDir: config.outputDir,
            }),
          }),
    },
  };
}

/** The store a pipeline saves to: the one configured, else the output directory. */
export function resultStoreOf(deps: Pick<PipelineDeps, "config" | "kept" | "writer" | "results">): ResultStore {
  return deps.results ?? localResultStore(deps.config.outputDir, { kept: deps.kept, writer: deps.writer });
}

export interface PipelineHooks {
  onProgress?: (progress: FillProgress) => void;
  /** Aborts the fill (server shutdown). A client's cancellation is deliberately not wired here. */
  signal?: AbortSignal;
  /** The caller stopped waiting: a fill still queued is dropped; one already submitted is saved anyway. */
  abandoned?: AbortSignal;
  /**
   * Longest side of an inline preview to render from the result (flux_fill). It is rendered before the
   * result is saved, and doubles as the check that the whole file decodes.
   */
  previewMaxSize?: number;
}

export interface FillOutcome extends SavedResult {
  /** The saved image, for the preview; callers must not put it in structured output. */
  bytes: Buffer;
  /** The preview asked for with `previewMaxSize`. */
  preview?: Preview;
  /** Whether this call shared a task or got an earlier result. */
  reuse: Reuse;
  /** Lines for this call's reply only, not for the sidecar (sharing, spend, balance, a save that failed). */
  callNotes: string[];
  /** Tell whether the result reached the caller (see PaidTaskFacts); absent when nothing tracks it. */
  settleDelivery?: PaidTaskFacts["settleDelivery"];
}

/** What a saved result says about its request besides the output itself. */
export interface SaveFacts {
  params: ProviderRequest["params"];
  inputs: ResultMeta["inputs"];
  notes: string[];
  /** The request identity (state/identity.ts), kept in the sidecar. */
  identity: string;
  started: number;
  prepareMs: number;
  providerMs: number;
}

/** What the sidecar and the log say about a request's inputs, known once its checks have passed. */
interface InputFacts {
  inputs: ResultMeta["inputs"];
  notes: string[];
  /** One log line ("fill: 1024x768 jpeg, mask from …"). */
  summary: string;
}

/** A request ready for the provider, and the facts about its inputs (settling with `request.checked`). */
interface PreparedRequest {
  request: ProviderRequest;
  facts: Promise<InputFacts>;
  /**
   * Set when the result is put back onto the original (keep_unmasked); the request then asks for PNG.
   * Settles with the checks (it needs the mask), like `facts`.
   */
  putBack?: Promise<PutBack> | undefined;
}

/**
 * References → the provider's fill request. When both files are uploaded as they are (known from their
 * headers) the request is ready at once and the pixel checks run while the provider uploads (`checked`);
 * otherwise the checks, then the encoding, come first. Its own function so that the input files' bytes are
 * not kept alive for the rest of the fill (tens of MB for a big image) beyond what the request holds.
 */
async function prepareFillRequest(
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
        image: decodedImage(sent.image),
        mask: decodedImage(sent.mask),
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
async function prepareExpandRequest(
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

/**
 * The whole job of `flux_fill` or `flux_expand` minus MCP: references → bytes → checked pixels → provider
 * → saved file. Used by the tools, the CLI's `fill` and `expand` commands and the demo, so all behave the
 * same; the job's kind only decides how the inputs become the provider's request.
 */
export async function runFill(job: PipelineJob, deps: PipelineDeps, hooks: PipelineHooks = {}): Promise<FillOutcome> {
  const [first] = await runFills({ ...job, params: { ...job.params, variations: 1 } } as PipelineJob, deps, hooks);
  return first!;
}

/** Distinct seeds for `count` variations: the given seed and the next ones, or a random start. */
export function variationSeeds(given: number | undefined, count: number): number[] {
  const start = given ?? Math.floor(Math.random() * 2 ** 31);
  return Array.from({ length: count }, (_, i) => start + i);
}

/**
 * runFill for `variations` (1..4) candidates of one prepared request: tasks with distinct seeds, side by side
 * within the upstream slots, each through the pay-once guard with its own request identity (so an identical
 * repeat attaches to or is handed each of them), all their credits reserved before any is submitted. Each
 * is saved as its own result; the outcomes come in order, those that failed left out (all failed: the first
 * error).
 */
export async function runFills(job: PipelineJob, deps: PipelineDeps, hooks: PipelineHooks = {}): Promise<FillOutcome[]> {
  const { config, provider, logger } = deps;
  const count = Math.max(1, Math.min(4, Math.floor((job.params as StitchOptions).variations ?? 1)));
  const started = Date.now();
  const signal = hooks.signal ?? new AbortController().signal;
  const report = (status: string, message: string, fraction?: number) =>
    hooks.onProgress?.({
      status,
      elapsedMs: Date.now() - started,
      message,
      ...(fraction === undefined ? {} : { fraction }),
    });

  let prepared: PreparedRequest;
  if (job.kind === "expand") {
    report("reading", "Reading the image");
    prepared = await prepareExpandRequest(job, config, signal, provider.name);
  } else {
    const split = splitMaskOptions(job.params);
    const { params: fillParams, stitch } = splitStitchOptions<FillParams>(split.params);
    const maskOptions: MaskOptions = { ...split.maskOptions, ...job.maskOptions };
    report("reading", "Reading the image and mask");
    prepared = await prepareFillRequest(
      job,
      fillParams,
      maskOptions,
      config,
      signal,
      provider.name,
      segmentContext(deps, signal),
      stitch,
    );
  }
  const { request, facts: preparing, putBack } = prepared;
  // The parameters as the caller asked (the upstream is asked for PNG when the result is put back).
  const params: ProviderRequest["params"] = { ...request.params, output_format: job.params.output_format };
  const prepareMs = preparing.then(() => Date.now() - started);
  prepareMs.catch(() => undefined);
  void preparing.then(
    ({ summary }) => logger.info(summary),
    () => undefined,
  );

  const seeds = count === 1 ? [params.seed] : variationSeeds(params.seed, count);
  const holds =
    count > 1 && deps.paid !== undefined
      ? await holdCreditsFor(
          count,
          provider.estimateCredits(request.kind),
          {
            credits: deps.paid.credits,
            logger,
            dailyCreditLimit: config.dailyCreditLimit,
            userCredits: deps.userCredits,
            outputDir: config.outputDir,
          },
          Date.now(),
        )
      : [];
  const runs = seeds.map((seed, index) =>
    runVariation(index, seed, holds[index]),
  );
  const settledRuns = await Promise.allSettled(runs);
  const outcomes = settledRuns.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  if (outcomes.length === 0) throw (settledRuns[0] as PromiseRejectedResult).reason;
  return outcomes;

  async function runVariation(index: number, seed: number | undefined, hold: CreditHold | undefined): Promise<FillOutcome> {
  const variation = count === 1 ? {} : { variation: `${index + 1}/${count}` };
  const variationRequest = (count === 1 ? request : { ...request, params: { ...request.params, seed } }) as ProviderRequest;
  const variationParams = count === 1 ? params : { ...params, seed };
  // What would be sent upstream, from validated input only: the same request whatever the tool call looked like.
  // A variation is its own request: its number (and its seed when the caller gave one) are part of it.
  const identity = requestIdentity({
    kind: request.kind,
    provider: provider.name,
    uploads: request.upload,
    params: {
      ...(count === 1 || params.seed !== undefined ? variationParams : params),
      ...variation,
      ...(putBack === undefined ? {} : { keep_unmasked: true }),
    },
    user: deps.user,
  });
  return runOne(variationRequest, variationParams, identity, hold);
  }

  async function runOne(
    request: ProviderRequest,
    params: ProviderRequest["params"],
    identity: string,
    hold: CreditHold | undefined,
  ): Promise<FillOutcome> {
  /** Submits, waits and saves: the part that costs money, run once however many identical calls wait. */
  const produce = async (run: Pick<FillContext, "onProgress" | "abandoned" | "onSubmitted">) => {
    const providerStarted = Date.now();
    let output: FillOutput;
    try {
      output = await provider.fill(request, { signal, ...run });
    } catch (error) {
      // A provider stops at the first problem it meets. When the checks found one, that is the problem to
      // report: it is the caller's to fix, and nothing was created upstream (providers wait for the checks).
      throw (
        (await request.checked.then(
          () => undefined,
          (checkError: unknown) => checkError,
        )) ?? error
      );
    }
    const providerMs = Date.now() - providerStarted;
    const facts = await preparing;
    // Sized up from its header before anything decodes it.
    await checkResultSize(output.bytes, outputSize(request), output.upstreamId);
    run.onProgress?.({ status: "saving", elapsedMs: Date.now() - started, message: "Saving the result" });
    if (putBack !== undefined) {
      const upstreamId = output.upstreamId;
      const returned = await decodeReturned(output.bytes, outputSize(request)).catch((cause: unknown) => {
        throw brokenResultError(upstreamId, cause);
      });
      const put = await putBackResult(returned, await putBack, params.output_format);
      output = { ...output, bytes: put.bytes, format: params.output_format, notes: [put.line, ...output.notes] };
    }
    return saveOutput(
      output,
      { params, inputs: facts.inputs, notes: facts.notes, identity, started, prepareMs: await prepareMs, providerMs },
      deps,
      hooks.previewMaxSize,
    );
  };

  const onProgress = (p: FillProgress) => hooks.onProgress?.({ ...p, elapsedMs: Date.now() - started });
  if (deps.paid === undefined) {
    return produce({ onProgress, ...(hooks.abandoned === undefined ? {} : { abandoned: hooks.abandoned }) });
  }
  const outcome = await runPaidTask(
    {
      identity,
      user: deps.user,
      kind: request.kind,
      provider,
      waiter: { onProgress, abandoned: hooks.abandoned },
      journalFacts: async () => ({ params: publicParams(params), inputs: (await preparing).inputs }),
      run: produce,
      loadSaved: (id) => loadOutcome(resultStoreOf(deps), id),
      hold,
    },
    {
      state: deps.paid,
      logger,
      dailyCreditLimit: config.dailyCreditLimit,
      userCredits: deps.userCredits,
      outputDir: config.outputDir,
      recovering: deps.recovering,
    },
  );
  return {
    ...outcome,
    callNotes: [...outcome.callNotes, ...paidTaskNotes(outcome, outcome.meta.created_at, provider.name)],
  };
  }
}

/** A saved result as an outcome (for handing it over again). */
export async function loadOutcome(results: ResultStore, id: string): Promise<FillOutcome> {
  const saved = await results.read(id);
  return { meta: saved.meta, path: saved.path, uri: resultUri(id), bytes: saved.bytes, reuse: "none", callNotes: [] };
}

/**
 * A provider's output → the saved result: converted to the requested format, checked to decode, saved
 * (with a fallback when the output directory fails, so a paid result is never lost). Shared by new runs
 * and by tasks collected after a restart.
 */
export async function saveOutput(
  output: FillOutput,
  facts: SaveFacts,
  deps: Pick<PipelineDeps, "config" | "logger" | "kept" | "writer" | "results">,
  previewMaxSize?: number,
): Promise<FillOutcome> {
  const { config, logger } = deps;
  const saveStarted = Date.now();
  const finished = await toRequestedFormat(output.bytes, output.format, facts.params.output_format);
  const preview = await checkDecodes(finished.bytes, previewMaxSize, output.upstreamId);
  const saved = await resultStoreOf(deps).save(
    finished.bytes,
    {
      id: newResultId(),
      provider: output.provider,
      format: finished.format,
      width: finished.width,
      height: finished.height,
      created_at: new Date().toISOString(),
      upstream_id: output.upstreamId ?? null,
      cost: output.cost ?? null,
      seed: output.seed ?? facts.params.seed ?? null,
      prompt: facts.params.prompt,
      params: publicParams(facts.params),
      request_identity: facts.identity,
      inputs: facts.inputs,
      timings: {
        prepare_ms: facts.prepareMs,
        provider_ms: facts.providerMs,
        save_ms: Date.now() - saveStarted,
        total_ms: Date.now() - facts.started,
      },
      notes: [...facts.notes, ...output.notes],
    },
  );
  const callNotes: string[] = [];
  if (saved.fallback) {
    const where =
      saved.fallback.where === "memory"
        ? `It is kept in this server's memory only: fetch it with get_result (id ${saved.meta.id}) before the server restarts`
        : `It was saved to ${saved.path} instead`;
    callNotes.push(
      `Warning: the result could not be saved in the output directory: ${saved.fallback.problem}. ${where}. Check that FLUX_FILL_OUTPUT_DIR (${config.outputDir}) exists, is writable and has free space.`,
    );
    logger.warn(
      `result ${saved.meta.id}: ${saved.fallback.problem}; kept ${saved.fallback.where === "memory" ? "in memory" : `at ${saved.path}`}`,
    );
  } else {
    logger.info(`saved ${saved.path} (${saved.meta.width}x${saved.meta.height}, ${Date.now() - facts.started} ms)`);
  }
  return {
    meta: saved.meta,
    path: saved.path,
    uri: saved.uri,
    bytes: finished.bytes,
    ...(preview === undefined ? {} : { preview }),
    reuse: "none",
    callNotes,
  };
}

/**
 * Makes sure the whole result decodes before it is saved (decodesCompletely). Returns the preview when one
 * is asked for, rendered by the same decode.
 */
async function checkDecodes(
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

function brokenResultError(upstreamId: string | undefined, cause: unknown): FluxFillError {
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

/** The parameters worth keeping in a sidecar: never the webhook secret. */
function publicParams(params: ProviderRequest["params"]): Record<string, unknown> {
  const { webhook_secret: _secret, ...rest } = params;
  return rest;
}

/**
 * The saved file is always in the format the caller asked for and always a decodable image; an upstream
 * that answers in another format is converted rather than mislabelled.
 */
async function toRequestedFormat(
  bytes: Buffer,
  produced: ResultFormat,
  requested: ResultFormat,
): Promise<{ bytes: Buffer; format: ResultFormat; width: number; height: number }> {
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
