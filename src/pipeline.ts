import sharp from "sharp";
import type { Config } from "./config.js";
import { FluxFillError } from "./errors.js";
import { chooseMaskRoute, describeModifiers, MASK_OPTION_NAMES, type MaskOptions } from "./images/mask-spec.js";
import { decodesCompletely } from "./images/decode.js";
import { encodeUploads, type PreparedMask, prepareMask } from "./images/prepare.js";
import { type Preview, renderPreview } from "./images/preview.js";
import { resolveReference } from "./inputs/resolve.js";
import type { Logger } from "./log.js";
import type { FillProgress, FillRequest, Provider } from "./providers/types.js";
import { newResultId, type ResultFormat, type SavedResult, saveResult } from "./results/store.js";
import type { FillParams } from "./schema/upstream.js";

/** One fill as the pipeline sees it: references still unresolved, parameters validated with defaults. */
export interface FillJob {
  image: string;
  mask?: string | undefined;
  /**
   * The upstream parameters. Callers may pass the whole parsed tool input here (mask options included):
   * the mask options are taken out before anything is sent upstream.
   */
  params: FillParams & MaskOptions;
  /** Where to inpaint besides `mask` (shapes, SVG, conventions, modifiers); overrides the same keys in params. */
  maskOptions?: MaskOptions;
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
          ? `mask_regions (${options.mask_regions?.length ?? 0} shape(s), ${options.units ?? "px"})`
          : "mask_svg";
  const convention =
    options.alpha_convention && options.alpha_convention !== "transparent_is_inpaint"
      ? [`alpha_convention ${options.alpha_convention}`]
      : [];
  const fit = options.fit_mask === true ? ["fitted to the image"] : [];
  return [base, ...convention, ...fit, ...describeModifiers(options)].join(", ");
}

/**
 * References → bytes → the oriented image and the final mask, checked; shared by flux_fill and
 * preview_mask so the preview shows exactly what would be sent. Route conflicts are reported before any
 * reference is read.
 */
export async function readMaskedImage(
  job: Pick<FillJob, "image" | "mask">,
  maskOptions: MaskOptions,
  config: Config,
  signal: AbortSignal,
): Promise<{
  prepared: PreparedMask;
  imageBytes: Buffer;
  maskBytes: Buffer | undefined;
  imageSource: string;
  maskSource: string | undefined;
}> {
  chooseMaskRoute(job.mask !== undefined, maskOptions);
  const [image, mask] = await Promise.all([
    resolveReference(job.image, { label: "image", config, signal }),
    job.mask === undefined ? undefined : resolveReference(job.mask, { label: "mask", config, signal }),
  ]);
  const prepared = await prepareMask(image.bytes, mask?.bytes, { maxPixels: config.maxInputPixels }, maskOptions);
  return {
    prepared,
    imageBytes: image.bytes,
    maskBytes: mask?.bytes,
    imageSource: image.source,
    maskSource: mask?.source,
  };
}

export interface PipelineDeps {
  config: Config;
  provider: Provider;
  logger: Logger;
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
}

/**
 * References → the provider's request. Its own function so that the input files' bytes, once read and
 * encoded for upload, are not kept alive for the rest of the fill (tens of MB for a big image).
 */
async function prepareRequest(
  job: FillJob,
  params: FillParams,
  maskOptions: MaskOptions,
  config: Config,
  signal: AbortSignal,
): Promise<{
  request: FillRequest;
  prepared: Omit<PreparedMask, "image" | "mask">;
  imageSource: string;
  maskSource: string | undefined;
}> {
  const { prepared, imageBytes, maskBytes, imageSource, maskSource } = await readMaskedImage(
    job,
    maskOptions,
    config,
    signal,
  );
  const upload = await encodeUploads(prepared, { image: imageBytes, mask: maskBytes });
  const { image, mask, ...facts } = prepared;
  return { request: { image, mask, upload, params }, prepared: facts, imageSource, maskSource };
}

/**
 * The whole job of `flux_fill` minus MCP: references → bytes → checked pixels → provider → saved file.
 * Used by the tool, the CLI's `fill` command and the demo, so all three behave the same.
 */
export async function runFill(job: FillJob, deps: PipelineDeps, hooks: PipelineHooks = {}): Promise<FillOutcome> {
  const { config, provider, logger } = deps;
  const started = Date.now();
  const signal = hooks.signal ?? new AbortController().signal;
  const report = (status: string, message: string, fraction?: number) =>
    hooks.onProgress?.({
      status,
      elapsedMs: Date.now() - started,
      message,
      ...(fraction === undefined ? {} : { fraction }),
    });

  const split = splitMaskOptions(job.params);
  const params = split.params;
  const maskOptions: MaskOptions = { ...split.maskOptions, ...job.maskOptions };

  report("reading", "Reading the image and mask");
  const { request, prepared, imageSource, maskSource } = await prepareRequest(job, params, maskOptions, config, signal);
  const prepareMs = Date.now() - started;
  const maskDescription = describeMaskSource(prepared.info.maskSource, maskOptions, maskSource);
  logger.info(
    `fill: ${prepared.info.width}x${prepared.info.height} ${prepared.info.imageFormat}, mask from ${maskDescription} (${(prepared.info.coverage * 100).toFixed(1)}%), provider ${provider.name}`,
  );

  const providerStarted = Date.now();
  const output = await provider.fill(request, {
    signal,
    ...(hooks.abandoned === undefined ? {} : { abandoned: hooks.abandoned }),
    onProgress: (p) => hooks.onProgress?.({ ...p, elapsedMs: Date.now() - started }),
  });
  const providerMs = Date.now() - providerStarted;

  report("saving", "Saving the result");
  const saveStarted = Date.now();
  const finished = await toRequestedFormat(output.bytes, output.format, params.output_format);
  const preview = await checkDecodes(finished.bytes, hooks.previewMaxSize, output.upstreamId);
  const saved = await saveResult(config.outputDir, finished.bytes, {
    id: newResultId(),
    provider: output.provider,
    format: finished.format,
    width: finished.width,
    height: finished.height,
    created_at: new Date().toISOString(),
    upstream_id: output.upstreamId ?? null,
    cost: output.cost ?? null,
    seed: output.seed ?? params.seed ?? null,
    prompt: params.prompt,
    params: publicParams(params),
    inputs: {
      image: {
        source: imageSource,
        width: prepared.info.width,
        height: prepared.info.height,
        format: prepared.info.imageFormat,
      },
      mask: { source: maskDescription, coverage: prepared.info.coverage },
    },
    timings: {
      prepare_ms: prepareMs,
      provider_ms: providerMs,
      save_ms: Date.now() - saveStarted,
      total_ms: Date.now() - started,
    },
    notes: [...prepared.notes, ...output.notes],
  });
  logger.info(`saved ${saved.path} (${saved.meta.width}x${saved.meta.height}, ${Date.now() - started} ms)`);
  return { ...saved, bytes: finished.bytes, ...(preview === undefined ? {} : { preview }) };
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
    const task = upstreamId === undefined ? "" : ` (upstream task ${upstreamId})`;
    throw new FluxFillError(
      "upstream_failed",
      `The provider returned an image that does not decode completely (truncated or corrupt)${task}; it was not saved.`,
      {
        suggestion: "Try again; the file the provider delivered was broken.",
        cause,
      },
    );
  }
}

/** The parameters worth keeping in a sidecar: never the webhook secret. */
function publicParams(params: FillParams): Record<string, unknown> {
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
