/** What preparing a job yields: the provider's request and the facts about its inputs. */
import type { PutBack } from "../images/put-back.js";
import type { ProviderRequest } from "../providers/types.js";
import type { ResultMeta } from "../results/store.js";

/** What the sidecar and the log say about a request's inputs, known once its checks have passed. */
export interface InputFacts {
  inputs: ResultMeta["inputs"];
  notes: string[];
  /** One log line ("fill: 1024x768 jpeg, mask from …"). */
  summary: string;
}

/** A request ready for the provider, and the facts about its inputs (settling with `request.checked`). */
export interface PreparedRequest {
  request: ProviderRequest;
  facts: Promise<InputFacts>;
  /**
   * Set when the result is put back onto the original (keep_unmasked); the request then asks for PNG.
   * Settles with the checks (it needs the mask), like `facts`.
   */
  putBack?: Promise<PutBack> | undefined;
}
