import { type Config, effectiveProvider } from "../config.js";
import { FluxFillError } from "../errors.js";
import { createBflProvider } from "./bfl/index.js";
import type { DurationHistory } from "./bfl/duration-history.js";
import { createLocalProvider } from "./local/index.js";
import type { Provider } from "./types.js";

export type ProviderName = "bfl" | "local";

/** What providers built for one process share. */
export interface SharedProviderState {
  /** Durations of past upstream tasks, so every call's poll schedule learns from all earlier ones. */
  bflDurations?: DurationHistory;
}

/**
 * The provider a call uses: the one named, else the configured one. `bfl` needs a key; asking for it
 * without one is the caller's mistake, so it is a clear error, not a silent fallback.
 */
export function selectProvider(config: Config, requested?: ProviderName, shared: SharedProviderState = {}): Provider {
  const name = requested ?? effectiveProvider(config);
  if (name === "local") return createLocalProvider();
  const apiKey = config.bfl.apiKey;
  if (!apiKey) {
    throw new FluxFillError("bad_input", "The bfl provider needs an API key, and BFL_API_KEY is not set.", {
      suggestion:
        'Add "BFL_API_KEY": "<your key>" to the server\'s "env" in your MCP client config (keys: https://dashboard.bfl.ai), or use FLUX_FILL_PROVIDER=local for the offline engine.',
    });
  }
  return createBflProvider({
    apiKey,
    baseUrl: config.bfl.baseUrl,
    pollIntervalMs: config.bfl.pollIntervalMs,
    timeoutMs: config.timeoutMs,
    ...(shared.bflDurations === undefined ? {} : { durationHistory: shared.bflDurations }),
  });
}
