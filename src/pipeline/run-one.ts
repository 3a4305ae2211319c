/**
 * One run of a prepared request: submit, wait, put the result back onto the original when asked, save —
 * through the pay-once guard when there is paid-task state.
 */
import { decodeReturned, type PutBack, putBackResult } from "../images/put-back.js";
import { brokenResultError } from "../images/result-format.js";
import { checkResultSize } from "../images/result-size.js";
import { type CreditHold, paidTaskNotes, runPaidTask } from "../pay-once.js";
import { type FillContext, type FillOutput, type FillProgress, outputSize } from "../providers/types.js";
import { type PipelineDeps, type PipelineHooks, resultStoreOf } from "./deps.js";
import type { InputFacts } from "./prepared-request.js";
import { type FillOutcome, loadOutcome, publicParams, saveOutput } from "./save.js";
import type { Variation } from "./variations.js";

/** What every run of one prepared request shares. */
export interface PreparedRun {
  deps: PipelineDeps;
  hooks: PipelineHooks;
  signal: AbortSignal;
  /** When the call started (Date.now()). */
  started: number;
  /** The facts about the inputs, settling with the checks. */
  preparing: Promise<InputFacts>;
  /** How long preparing took, once it settles. */
  prepareMs: Promise<number>;
  putBack: Promise<PutBack> | undefined;
}

export async function runOne(
  { request, params, identity }: Variation,
  hold: CreditHold | undefined,
  { deps, hooks, signal, started, preparing, prepareMs, putBack }: PreparedRun,
): Promise<FillOutcome> {
  const { config, provider, logger } = deps;
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
