import { type Config, effectiveProvider, type ProviderName } from "../config.js";
import { FluxFillError } from "../errors.js";
import { createBflProvider } from "./bfl/index.js";
import type { DurationHistory } from "./bfl/duration-history.js";
import { createFalProvider } from "./fal/index.js";
import { createLocalProvider } from "./local/index.js";
import { createReplicateProvider } from "./replicate/index.js";
import type { Provider } from "./types.js";

/** What providers built for one process share. */
export interface SharedProviderState {
  /** Durations of past upstream tasks, so every call's poll schedule learns from all earlier ones. */
  bflDurations?: DurationHistory;
}

/** Delay between polls on fal and Replicate when FLUX_FILL_POLL_INTERVAL_MS is unset. */
const HOSTED_POLL_INTERVAL_MS = 1000;

/** The setting each upstream's key lives in, and where to get one. */
export const KEYS = {
  bfl: { setting: "BFL_API_KEY", where: "https://dashboard.bfl.ai" },
  fal: { setting: "FAL_KEY", where: "https://fal.ai/dashboard/keys" },
  replicate: { setting: "REPLICATE_API_TOKEN", where: "https://replicate.com/account/api-tokens" },
} as const;

function missingKey(name: keyof typeof KEYS): FluxFillError {
  const { setting, where } = KEYS[name];
  return new FluxFillError("bad_input", `The ${name} provider needs an API key, and ${setting} is not set.`, {
    suggestion: `Add "${setting}": "<your key>" to the server's "env" in your MCP client config (keys: ${where}), or use FLUX_FILL_PROVIDER=local for the offline engine.`,
  });
}

/**
 * The provider a call uses: the one named, else the configured one. An upstream needs a key; asking for
 * one without it is the caller's mistake, so it is a clear error, not a silent fallback.
 */
export function selectProvider(config: Config, requested?: ProviderName, shared: SharedProviderState = {}): Provider {
  const name = requested ?? effectiveProvider(config);
  if (name === "local") return createLocalProvider();
  const apiKey = config[name].apiKey;
  if (!apiKey) throw missingKey(name);
  if (name === "fal" || name === "replicate") {
    const options = {
      apiKey,
      baseUrl: config[name].baseUrl,
      model: config.model,
      timeoutMs: config.timeoutMs,
      pollIntervalMs: config.bfl.pollIntervalMs ?? HOSTED_POLL_INTERVAL_MS,
    };
    return name === "fal" ? createFalProvider(options) : createReplicateProvider(options);
  }
  return createBflProvider({
    apiKey,
    baseUrl: config.bfl.baseUrl,
    pollIntervalMs: config.bfl.pollIntervalMs,
    timeoutMs: config.timeoutMs,
    ...(shared.bflDurations === undefined ? {} : { durationHistory: shared.bflDurations }),
  });
}
