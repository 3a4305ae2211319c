/**
 * The whole job of `flux_fill` or `flux_expand` minus MCP: references → bytes → checked pixels → provider
 * → saved file. Used by the tools, the CLI's `fill` and `expand` commands and the demo, so all behave the
 * same; the job's kind only decides how the inputs become the provider's request.
 */
import type { MaskOptions } from "../images/mask-spec.js";
import { holdCreditsFor } from "../pay-once.js";
import type { ProviderRequest } from "../providers/types.js";
import type { FillParams } from "../schema/upstream.js";
import { creditDeps, type PipelineDeps, type PipelineHooks, segmentContext } from "./deps.js";
import { prepareExpandRequest } from "./expand-request.js";
import { prepareFillRequest } from "./fill-request.js";
import { type PipelineJob, splitMaskOptions, splitStitchOptions, type StitchOptions } from "./job.js";
import type { PreparedRequest } from "./prepared-request.js";
import { runOne } from "./run-one.js";
import type { FillOutcome } from "./save.js";
import { variationsOf } from "./variations.js";

/** One result of the job (see the module comment). */
export async function runFill(job: PipelineJob, deps: PipelineDeps, hooks: PipelineHooks = {}): Promise<FillOutcome> {
  const [first] = await runFills({ ...job, params: { ...job.params, variations: 1 } } as PipelineJob, deps, hooks);
  return first!;
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
  const report = (status: string, message: string) =>
    hooks.onProgress?.({ status, elapsedMs: Date.now() - started, message });

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

  const variations = variationsOf(request, params, count, {
    provider: provider.name,
    user: deps.user,
    putBack: putBack !== undefined,
  });
  const holds =
    count > 1 && deps.paid !== undefined
      ? await holdCreditsFor(count, provider.estimateCredits(request.kind), creditDeps(deps, deps.paid), Date.now())
      : [];
  const run = { deps, hooks, signal, started, preparing, prepareMs, putBack };
  const settledRuns = await Promise.allSettled(variations.map((variation, index) => runOne(variation, holds[index], run)));
  const outcomes = settledRuns.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  if (outcomes.length === 0) throw (settledRuns[0] as PromiseRejectedResult).reason;
  return outcomes;
}
