import type { McpServer } from "@modelcontextprotocol/server";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { describeError, FluxFillError } from "../errors.js";
import { LOCAL_USER } from "../principal.js";
import { renderPreview } from "../images/preview.js";
import type { PipelineJob } from "../pipeline/job.js";
import { runFills } from "../pipeline/run.js";
import type { FillOutcome } from "../pipeline/save.js";
import { variationsResult } from "./variations.js";
import { FluxFillOutput, FluxFillToolInputSchema, type FluxFillToolInput } from "../schema/tool.js";
import type { ExpandSides } from "../images/expand.js";
import { effectiveProvider, type ProviderName } from "../config.js";
import type { ServerDeps } from "./deps.js";
import { hostedSegmenterNote } from "../segmentation/index.js";
import { progressReporter, type ToolExtra } from "./progress.js";
import { previewedMask } from "./mask-id.js";
import { toolError } from "./result.js";
import type { PreviewedMask } from "../state/masks.js";
import { listed, listedOutput } from "../schema/listing.js";

export const FLUX_FILL_TOOL = "flux_fill";

const DESCRIPTION_HEAD = `Inpaint with FLUX.1 Fill [pro]: the marked area of a photo is repainted to match the prompt. Mark it one way: mask_regions, mask_svg, mask, or the image's transparency; check a mask you made with preview_mask (free).`;
const DESCRIPTION_TAIL =
  "Reply: the saved file's path (tell the user), a resource link, a preview to judge the edit by.";
/** What a call costs on this server: the provider is fixed by its configuration. */
const PRICE_PAID =
  "Paid: about 5 credits (~$0.05), 5-30 s. Don't repeat an edit: an identical call is free while it runs or if you never got its result (e.g. timeout), charged again after; change seed for a variant.";
const PRICE_LOCAL =
  "Free here: no provider key is set, so an offline engine continues the surroundings and ignores the prompt (FLUX.1 Fill needs BFL_API_KEY, FAL_KEY or REPLICATE_API_TOKEN).";

export function fluxFillDescription(provider: ProviderName): string {
  return [DESCRIPTION_HEAD, provider === "local" ? PRICE_LOCAL : PRICE_PAID, DESCRIPTION_TAIL].join("\n");
}

/** Waits for the job unless the client gives up first; the job itself goes on and saves its result. */
function untilAborted<T>(job: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new FluxFillError("cancelled", "The call was cancelled."));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () =>
      reject(new FluxFillError("cancelled", "The call was cancelled; a result the upstream produces is still saved."));
    signal.addEventListener("abort", onAbort, { once: true });
    job.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

function providerLabel(provider: ProviderName, expanded: boolean): string {
  if (provider === "local") return "the local offline engine";
  if (provider === "fal") return "FLUX.1 Fill on fal";
  if (provider === "replicate") return "FLUX.1 Fill on Replicate";
  return expanded ? "FLUX.1 Expand [pro]" : "FLUX.1 Fill [pro]";
}

export function summarise(
  outcome: FillOutcome,
  elapsedMs: number,
  previewWidth: number,
  previewHeight: number,
): string {
  const { meta } = outcome;
  const sides = meta.inputs.expand;
  const seconds = (elapsedMs / 1000).toFixed(1);
  const lines = [
    sides === undefined
      ? `Inpainted with ${providerLabel(meta.provider, false)} in ${seconds} s.`
      : `Expanded with ${providerLabel(meta.provider, true)} in ${seconds} s: added top ${sides.top}, bottom ${sides.bottom}, left ${sides.left}, right ${sides.right} px to the ${meta.inputs.image.width}×${meta.inputs.image.height} photo.`,
    `Saved: ${outcome.path} (${meta.width}×${meta.height} ${meta.format.toUpperCase()}), resource ${outcome.uri}.`,
    [
      meta.seed === null ? undefined : `Seed ${meta.seed}.`,
      meta.cost === null ? undefined : `Cost ${meta.cost} credits.`,
      meta.upstream_id === null ? undefined : `Upstream task ${meta.upstream_id}.`,
    ]
      .filter(Boolean)
      .join(" "),
    previewWidth < meta.width || previewHeight < meta.height
      ? `The image below is a ${previewWidth}×${previewHeight} preview; the full-size file is at the path above.`
      : "The image below is the result.",
    ...meta.notes,
    ...outcome.callNotes,
  ];
  return lines.filter((l) => l.length > 0).join("\n");
}

/**
 * The tool result for a saved fill or expansion: a short summary, a downscaled preview, a resource link
 * and the metadata as structuredContent (with the sides for an expansion). Shared with `flux_expand` and
 * `get_result`, which return a saved result the same way.
 */
export async function fillResult(
  outcome: FillOutcome,
  elapsedMs: number,
  previewMaxSize: number,
): Promise<CallToolResult> {
  // runFill renders the preview while checking the result; a saved result (get_result) is rendered here.
  const preview = outcome.preview ?? (await renderPreview(outcome.bytes, previewMaxSize));
  const { meta } = outcome;
  const sides = meta.inputs.expand;
  const structured: FluxFillOutput & { sides?: ExpandSides } = {
    id: meta.id,
    provider: meta.provider,
    path: outcome.path,
    uri: outcome.uri,
    mime_type: meta.mime_type,
    width: meta.width,
    height: meta.height,
    seed: meta.seed,
    upstream_id: meta.upstream_id,
    cost: meta.cost,
    elapsed_ms: elapsedMs,
    reuse: outcome.reuse,
    ...(sides === undefined ? {} : { sides }),
  };
  return {
    content: [
      { type: "text", text: summarise(outcome, elapsedMs, preview.width, preview.height) },
      { type: "image", data: preview.base64, mimeType: preview.mimeType },
      {
        type: "resource_link",
        uri: outcome.uri,
        name: meta.file,
        title: `${sides === undefined ? "Inpainted" : "Expanded"} image ${meta.id}`,
        mimeType: meta.mime_type,
        description: `Full-size result (${meta.width}×${meta.height}), saved at ${outcome.path}`,
      },
    ],
    structuredContent: structured,
  };
}

/** One audit line when the fill settles (saved or failed), whether or not the caller still waits for it. */
function auditWhenSettled(
  deps: ServerDeps,
  job: Promise<FillOutcome>,
  tool: string,
  prompt: string | undefined,
  started: number,
): void {
  const entry = { user: deps.principal.user, tool, ...(prompt === undefined ? {} : { prompt }) };
  job.then(
    ({ meta }) =>
      deps.audit.fill({
        ...entry,
        result_id: meta.id,
        upstream_id: meta.upstream_id,
        cost: meta.cost,
        outcome: "ok",
        elapsed_ms: Date.now() - started,
      }),
    (error: unknown) =>
      deps.audit.fill({
        ...entry,
        result_id: null,
        upstream_id: null,
        cost: null,
        outcome: describeError(error).kind,
        elapsed_ms: Date.now() - started,
      }),
  );
}

export function registerFluxFillTool(server: McpServer, deps: ServerDeps): void {
  server.registerTool(
    FLUX_FILL_TOOL,
    {
      title: "Inpaint with FLUX.1 Fill [pro]",
      description: [
        fluxFillDescription(effectiveProvider(deps.config)),
        ...(deps.segmenter.hosted ? [hostedSegmenterNote(deps.segmenter)] : []),
      ].join("\n"),
      inputSchema: listed(FluxFillToolInputSchema),
      outputSchema: listedOutput(FluxFillOutput),
      annotations: {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: true,
      },
    },
    async (args: FluxFillToolInput, extra): Promise<CallToolResult> => {
      const { image, mask, mask_id, ...params } = args;
      let previewed: PreviewedMask | undefined;
      try {
        previewed =
          mask_id === undefined ? undefined : await previewedMask(mask_id, args, deps.masks, deps.principal.user);
      } catch (error) {
        return toolError(error, deps.logger);
      }
      return runForCall({ image, mask, params, previewed }, deps, extra);
    },
  );
}

/**
 * One tool call's job (flux_fill or flux_expand) through the pipeline: progress notifications, shutdown,
 * cancel-still-saves (the call stops waiting, the job goes on and is saved), and the tool result or error.
 */
export async function runForCall(
  job: PipelineJob,
  deps: ServerDeps,
  extra: ToolExtra,
  tool: string = FLUX_FILL_TOOL,
): Promise<CallToolResult> {
  const started = Date.now();
  try {
    const asked = (job.params as { variations?: number }).variations ?? 1;
    const runningAll = runFills(
      job,
      {
        config: deps.config,
        provider: deps.provider(),
        logger: deps.logger,
        paid: deps.paid,
        kept: deps.kept,
        writer: deps.writer,
        recovering: deps.recovering,
        user: deps.principal.user === LOCAL_USER ? undefined : deps.principal.user,
        userCredits: deps.userCredits,
        results: deps.results,
        segmenter: deps.segmenter,
      },
      {
        onProgress: progressReporter(extra),
        signal: deps.shutdownSignal,
        abandoned: extra.mcpReq.signal,
        previewMaxSize: deps.config.previewMaxSize,
      },
    );
    deps.track(runningAll);
    auditWhenSettled(
      deps,
      runningAll.then((all) => all[0]!),
      tool,
      job.params.prompt,
      started,
    );
    // A result that does not reach this caller stays the undelivered result of its request.
    const lost = () =>
      void runningAll.then(
        (all) => {
          for (const o of all) void o.settleDelivery?.(false);
        },
        () => undefined,
      );
    let outcomes: FillOutcome[];
    try {
      outcomes = await untilAborted(runningAll, extra.mcpReq.signal);
    } catch (error) {
      lost();
      throw error;
    }
    let result: CallToolResult;
    try {
      const elapsed = Date.now() - started;
      result =
        asked === 1
          ? await fillResult(outcomes[0]!, elapsed, deps.config.previewMaxSize)
          : await variationsResult(outcomes, asked, elapsed, deps.config.previewMaxSize);
    } catch (error) {
      lost();
      throw error;
    }
    const settles = outcomes.flatMap((o) => (o.settleDelivery ? [o.settleDelivery] : []));
    if (settles.length > 0) {
      deps.deliveries.expect(extra.mcpReq.id, extra.mcpReq.signal, (delivered) => {
        for (const settle of settles) void settle(delivered);
      });
    }
    return result;
  } catch (error) {
    return toolError(error, deps.logger);
  }
}
