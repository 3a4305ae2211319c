import type { AuditLog } from "../audit.js";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import type { UserCredits } from "../pay-once.js";
import type { Principal } from "../principal.js";
import type { Provider } from "../providers/types.js";
import type { KeptResults, ResultWriter } from "../results/store.js";
import type { ResultStore } from "../results/types.js";
import type { PaidTaskState } from "../state/index.js";
import type { MaskStore } from "../state/masks.js";
import type { SlotPool } from "../state/slots.js";
import type { DeliveryTracker } from "./delivery.js";
import type { Segmenter } from "../images/selection/segmenter.js";

/**
 * What tools and resources need from the server; no MCP objects, no globals. Its own module so that
 * server.ts (which registers the tools) and the tools import it without a circle.
 */
export interface ServerDeps {
  /** The caller's view: `outputDir` is the caller's own results directory. */
  config: Config;
  logger: Logger;
  /** The provider for the next call (chosen per call so a bad key is a tool error, not a crash). */
  provider: () => Provider;
  /** Keeps a running fill alive past a cancelled call, so shutdown can wait for it to be saved. */
  track: (job: Promise<unknown>) => void;
  shutdownSignal: AbortSignal;
  /** Attach, hand-over, journal and credit limit state, shared by every session. */
  paid: PaidTaskState;
  /** Results no directory could take, kept for get_result. */
  kept: KeptResults;
  /** The file writes of saving a result (tests inject a full disk). */
  writer?: ResultWriter | undefined;
  /** Whether results reached their callers; one per MCP server (connection). */
  deliveries: DeliveryTracker;
  /** Resolves once the tasks journalled before a restart are being collected. */
  recovering: Promise<void>;
  /** Who is calling (one per connection; the local user on stdio). */
  principal: Principal;
  /** A named user's own daily spend and limit; undefined for the local user (the server's limit is theirs). */
  userCredits?: UserCredits | undefined;
  audit: AuditLog;
  /** The caller's results: saved, listed and read there (their directory, or their prefix in a bucket). */
  results: ResultStore;
  /** Any user's results (a task collected after a restart is saved among its user's). */
  resultsFor: (user: string) => ResultStore;
  /** Upstream slots shared with other replicas (Redis), or this process's alone. */
  slots: SlotPool;
  /** Masks preview_mask showed, by mask_id, each kept for its user (files, or Redis for replicas). */
  masks: MaskStore;
  /** What object entries go through (FLUX_FILL_SEGMENTER), chosen once per process. */
  segmenter: Segmenter;
}
