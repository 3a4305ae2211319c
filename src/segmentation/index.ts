import type { Config } from "../config.js";
import { FluxFillError } from "../errors.js";
import type { Segmentation, Segmenter, SegmenterName } from "../images/selection/segmenter.js";
import { createFalSegmenter } from "../providers/fal/segmenter.js";
import { createClassicSegmenter } from "./classic.js";
import { createOnnxSegmenter, onnxWeightsPresent, presentOnnxModel } from "./onnx/index.js";

/**
 * The one place a segmenter is chosen (FLUX_FILL_SEGMENTER), once per process: every mask route gets the
 * Segmenter made here. `auto` takes onnx when weights of one of its models are present (SAM 2.1 first, then
 * MobileSAM), else fal when FAL_KEY is set, else classic; with `auto` a hosted segmenter that fails (host down, key refused, out of credit, throttled,
 * daily limit reached) falls back to classic for box prompts, with a note. Hosted masks are cached per
 * (image pixels, prompt), so preview → fill → retry pays once.
 */

/** Delay between polls of a segmentation on fal when FLUX_FILL_POLL_INTERVAL_MS is unset. */
const HOSTED_POLL_INTERVAL_MS = 300;
/** A segmentation is short: its own deadline, within the fill's. */
const HOSTED_TIMEOUT_MS = 120_000;
/** Memory for cached hosted masks (one byte per pixel each). */
const MASK_CACHE_BYTES = 256 * 1024 * 1024;

export interface SegmenterDeps {
  fetch?: typeof fetch;
  /** Whether the onnx segmenter's model files are on this machine (default: looked up in FLUX_FILL_MODELS_DIR). */
  onnxWeightsPresent?: () => boolean;
}

function weightsPresent(config: Config, deps: SegmenterDeps): boolean {
  return deps.onnxWeightsPresent?.() ?? onnxWeightsPresent(config.models.dir);
}

/** The segmenter a config resolves to (`auto` decided). */
export function resolveSegmenter(config: Config, deps: SegmenterDeps = {}): SegmenterName {
  if (config.segmenter !== "auto") return config.segmenter;
  if (weightsPresent(config, deps)) return "onnx";
  if (config.fal.apiKey) return "fal";
  return "classic";
}

/** Why the configured segmenter cannot work (a missing key, a backend not in this build); undefined when it can. */
export function segmenterProblem(config: Config, deps: SegmenterDeps = {}): string | undefined {
  const name = resolveSegmenter(config, deps);
  if (name === "fal" && !config.fal.apiKey) return "FLUX_FILL_SEGMENTER=fal but FAL_KEY is not set";
  if (name === "onnx" && !weightsPresent(config, deps))
    return `FLUX_FILL_SEGMENTER=onnx but its weights are not in ${config.models.dir} (run: flux-fill-mcp models pull sam2.1-tiny, or mobilesam for the small one)`;
  return undefined;
}

/** One line for the start-up log and --help: which segmenter (and model), and why when `auto` chose it. */
export function describeSegmenter(config: Config, deps: SegmenterDeps = {}): string {
  const name = resolveSegmenter(config, deps);
  const how = config.segmenter === "auto" ? " (FLUX_FILL_SEGMENTER=auto)" : "";
  const model = name === "onnx" ? presentOnnxModel(config.models.dir) : undefined;
  if (model) return `onnx with ${model.shortName}${how}`;
  const paid = name === "fal" ? ": paid, $0.005 per object, the photo is sent to fal" : "";
  return `${name}${how}${paid}`;
}

/** For tool descriptions when the segmenter is hosted: what an object entry costs and where the photo goes. */
export function hostedSegmenterNote(segmenter: Segmenter): string {
  return `Object entries use ${segmenter.name}'s hosted SAM here: $0.005 each (0.5 credit; once per photo and prompt), and the photo is sent to ${segmenter.name}.`;
}

/** A segmenter that cannot be used as configured: every call is a clear error naming the fix. */
function unavailable(name: SegmenterName, problem: string, suggestion: string): Segmenter {
  return {
    name,
    readsText: name === "fal",
    hosted: name === "fal",
    segment() {
      return Promise.reject(new FluxFillError("bad_input", problem, { suggestion, details: { segmenter: name } }));
    },
  };
}

/**
 * Failures after which `auto` may use classic instead: the host, the budget or the local model (weights,
 * runtime), never the request itself.
 */
function backendTrouble(error: unknown): boolean {
  return (
    error instanceof FluxFillError &&
    [
      "upstream_unreachable",
      "upstream_failed",
      "upstream_credits",
      "upstream_rate_limited",
      "timeout",
      "credit_limit",
      "service_unavailable",
    ].includes(error.kind)
  );
}

/** `auto`: when the chosen segmenter fails for reasons of its host, budget or model files, classic selects the box. */
function withClassicFallback(primary: Segmenter, classic: Segmenter): Segmenter {
  return {
    name: primary.name,
    readsText: primary.readsText,
    hosted: primary.hosted,
    async segment(image, prompt, options) {
      try {
        return await primary.segment(image, prompt, options);
      } catch (error) {
        if (prompt.text !== undefined || prompt.box === undefined || !backendTrouble(error)) throw error;
        const fallback = await classic.segment(image, prompt, options);
        const why = (error as FluxFillError).message.split("\n")[0];
        return {
          ...fallback,
          notes: [
            ...(fallback.notes ?? []),
            `the ${primary.name} segmenter failed (${why}), so FLUX_FILL_SEGMENTER=auto used classic instead`,
          ],
        };
      }
    },
  };
}

/**
 * Masks of a hosted segmenter kept per (image pixels, prompt), least recently used dropped past
 * `maxBytes`: an identical request (the preview, then the fill, then a retry) is answered from here,
 * free, and concurrent identical requests share one call.
 */
export function cachedSegmenter(inner: Segmenter, maxBytes = MASK_CACHE_BYTES): Segmenter {
  const cache = new Map<string, { done: Promise<Segmentation>; bytes: number }>();
  let total = 0;
  const keep = (key: string, done: Promise<Segmentation>, bytes: number) => {
    cache.set(key, { done, bytes });
    total += bytes;
    for (const [oldest, entry] of cache) {
      if (total <= maxBytes || oldest === key) break;
      cache.delete(oldest);
      total -= entry.bytes;
    }
  };
  return {
    name: inner.name,
    readsText: inner.readsText,
    hosted: inner.hosted,
    async segment(image, prompt, options) {
      const key = `${image.key}:${JSON.stringify([prompt.box ?? null, prompt.include ?? [], prompt.exclude ?? [], prompt.text ?? null])}`;
      const hit = cache.get(key);
      if (hit !== undefined) {
        cache.delete(key);
        cache.set(key, hit); // most recently used last
        const earlier = await hit.done;
        return {
          ...earlier,
          costUsd: 0,
          notes: [`the same mask as an earlier identical request on this photo (${inner.name}, not charged again)`],
        };
      }
      const done = inner.segment(image, prompt, options);
      keep(key, done, image.width * image.height);
      try {
        return await done;
      } catch (error) {
        if (cache.get(key)?.done === done) {
          cache.delete(key);
          total -= image.width * image.height;
        }
        throw error;
      }
    },
  };
}

/** The segmenter for a config; never throws (a setting that cannot work makes every call a clear error). */
export function createSegmenter(config: Config, deps: SegmenterDeps = {}): Segmenter {
  const classic = createClassicSegmenter();
  const name = resolveSegmenter(config, deps);
  if (name === "classic") return classic;
  if (name === "onnx") {
    // Missing or corrupt weights and a missing runtime are the onnx segmenter's own clear errors.
    const onnx = createOnnxSegmenter({ modelsDir: config.models.dir });
    return config.segmenter === "auto" ? withClassicFallback(onnx, classic) : onnx;
  }
  const apiKey = config.fal.apiKey;
  if (!apiKey) {
    return unavailable(
      "fal",
      "FLUX_FILL_SEGMENTER=fal, but FAL_KEY is not set, so fal's SAM cannot be reached.",
      'Add "FAL_KEY": "<your key>" to the server\'s env (keys: https://fal.ai/dashboard/keys), or set FLUX_FILL_SEGMENTER=classic.',
    );
  }
  const fal = cachedSegmenter(
    createFalSegmenter({
      apiKey,
      baseUrl: config.fal.baseUrl,
      timeoutMs: Math.min(config.timeoutMs, HOSTED_TIMEOUT_MS),
      pollIntervalMs: config.bfl.pollIntervalMs ?? HOSTED_POLL_INTERVAL_MS,
      maxSubmitAttempts: 3,
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
    }),
  );
  return config.segmenter === "auto" ? withClassicFallback(fal, classic) : fal;
}
