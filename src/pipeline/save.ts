/** A provider's output → the saved result (file and sidecar) and the outcome the caller gets. */
import type { Reuse, PaidTaskFacts } from "../pay-once.js";
import { checkDecodes, toRequestedFormat } from "../images/result-format.js";
import type { Preview } from "../images/preview.js";
import type { FillOutput, ProviderRequest } from "../providers/types.js";
import { newResultId, type ResultMeta, resultUri, type SavedResult } from "../results/store.js";
import type { ResultStore } from "../results/types.js";
import { type PipelineDeps, resultStoreOf } from "./deps.js";

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

/** The parameters worth keeping in a sidecar: never the webhook secret. */
export function publicParams(params: ProviderRequest["params"]): Record<string, unknown> {
  const { webhook_secret: _secret, ...rest } = params;
  return rest;
}
