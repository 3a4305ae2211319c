/** What a pipeline run is given (server parts and per-call hooks), and the parts it derives from them. */
import type { Config } from "../config.js";
import type { SegmentContext, Segmenter } from "../images/selection/segmenter.js";
import type { Logger } from "../log.js";
import { type CreditDeps, creditPayer, type UserCredits } from "../pay-once.js";
import type { FillProgress, Provider } from "../providers/types.js";
import { localResultStore } from "../results/local.js";
import type { KeptResults, ResultWriter } from "../results/store.js";
import type { ResultStore } from "../results/types.js";
import { createSegmenter } from "../segmentation/index.js";
import type { PaidTaskState } from "../state/types.js";

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

/** The server's and the user's credit limits, as counting credits (pay-once.ts) needs them. */
export function creditDeps(
  deps: Pick<PipelineDeps, "config" | "logger" | "userCredits">,
  paid: PaidTaskState,
): CreditDeps {
  return {
    credits: paid.credits,
    logger: deps.logger,
    dailyCreditLimit: deps.config.dailyCreditLimit,
    userCredits: deps.userCredits,
    outputDir: deps.config.outputDir,
  };
}

/**
 * How the mask stage calls the segmenter for one call: with its signal, and (with paid-task state) a
 * hosted segmentation counted in the same daily credit limits as fills.
 */
export function segmentContext(
  deps: Pick<PipelineDeps, "config" | "logger" | "paid" | "userCredits" | "segmenter">,
  signal: AbortSignal,
): SegmentContext {
  return {
    segmenter: deps.segmenter ?? createSegmenter(deps.config),
    options: {
      signal,
      ...(deps.paid === undefined ? {} : { pay: creditPayer(creditDeps(deps, deps.paid)) }),
    },
  };
}

/** The store a pipeline saves to: the one configured, else the output directory. */
export function resultStoreOf(deps: Pick<PipelineDeps, "config" | "kept" | "writer" | "results">): ResultStore {
  return deps.results ?? localResultStore(deps.config.outputDir, { kept: deps.kept, writer: deps.writer });
}
