import sharp from "sharp";
import type { Config } from "./config.js";
import { FluxFillError } from "./errors.js";
import { prepareFillImages } from "./images/prepare.js";
import { resolveReference } from "./inputs/resolve.js";
import type { Logger } from "./log.js";
import type { FillProgress, FillRequest, Provider } from "./providers/types.js";
import { newResultId, type ResultFormat, type SavedResult, saveResult } from "./results/store.js";
import type { FillParams } from "./schema/upstream.js";

/** One fill as the pipeline sees it: references still unresolved, parameters validated with defaults. */
export interface FillJob {
  image: string;
  mask?: string | undefined;
  params: FillParams;
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
}

export interface FillOutcome extends SavedResult {
  /** The saved image, for the preview; callers must not put it in structured output. */
  bytes: Buffer;
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
    hooks.onProgress?.({ status, elapsedMs: Date.now() - started, message, ...(fraction === undefined ? {} : { fraction }) });

  report("reading", "Reading the image and mask");
  const [image, mask] = await Promise.all([
    resolveReference(job.image, { label: "image", config, signal }),
    job.mask === undefined ? undefined : resolveReference(job.mask, { label: "mask", config, signal }),
  ]);
  const prepared = await prepareFillImages(image.bytes, mask?.bytes, { maxPixels: config.maxInputPixels });
  const prepareMs = Date.now() - started;
  logger.info(
    `fill: ${prepared.info.width}x${prepared.info.height} ${prepared.info.imageFormat}, mask from ${prepared.info.maskSource} (${(prepared.info.coverage * 100).toFixed(1)}%), provider ${provider.name}`,
  );

  const request: FillRequest = { image: prepared.image, mask: prepared.mask, upload: prepared.upload, params: job.params };
  const providerStarted = Date.now();
  const output = await provider.fill(request, {
    signal,
    onProgress: (p) => hooks.onProgress?.({ ...p, elapsedMs: Date.now() - started }),
  });
  const providerMs = Date.now() - providerStarted;

  report("saving", "Saving the result");
  const saveStarted = Date.now();
  const finished = await toRequestedFormat(output.bytes, output.format, job.params.output_format);
  const saved = await saveResult(config.outputDir, finished.bytes, {
    id: newResultId(),
    provider: output.provider,
    format: finished.format,
    width: finished.width,
    height: finished.height,
    created_at: new Date().toISOString(),
    upstream_id: output.upstreamId ?? null,
    cost: output.cost ?? null,
    seed: output.seed ?? job.params.seed ?? null,
    prompt: job.params.prompt,
    params: publicParams(job.params),
    inputs: {
      image: { source: image.source, width: prepared.info.width, height: prepared.info.height, format: prepared.info.imageFormat },
      mask: { source: mask ? mask.source : "alpha channel of the image", coverage: prepared.info.coverage },
    },
    timings: { prepare_ms: prepareMs, provider_ms: providerMs, save_ms: Date.now() - saveStarted, total_ms: Date.now() - started },
    notes: output.notes,
  });
  logger.info(`saved ${saved.path} (${saved.meta.width}x${saved.meta.height}, ${Date.now() - started} ms)`);
  return { ...saved, bytes: finished.bytes };
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
  const converted = requested === "png" ? sharp(bytes).png() : sharp(bytes).flatten({ background: "#ffffff" }).jpeg({ quality: 95 });
  const { data, info } = await converted.toBuffer({ resolveWithObject: true });
  return { bytes: data, format: requested, width: info.width, height: info.height };
}
