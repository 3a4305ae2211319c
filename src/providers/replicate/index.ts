/**
 * FLUX.1 Fill on Replicate's predictions API (https://api.replicate.com): the official models
 * `black-forest-labs/flux-fill-pro` and `black-forest-labs/flux-fill-dev`. Submit
 * `POST /v1/models/{owner}/{name}/predictions` with `{input}` → a prediction `{id, status, urls:{get, cancel}}`;
 * `GET urls.get` until succeeded / failed / canceled / aborted; `output` is one URI (pro) or an array (dev).
 * Images go inline as data URLs; the mask keeps our convention (white = fill, black = keep), Replicate's as
 * well. Replicate has no idempotency key: the submit is never repeated after an unknown outcome.
 */
import { FluxFillError } from "../../errors.js";
import {
  checkToleranceFrom1,
  createHostedProvider,
  dataUri,
  type HostAdapter,
  type HostedProviderOptions,
  type HostJob,
  noExpandError,
  PARAM_DEFAULTS,
  type PollStep,
  unsupportedNotes,
} from "../hosted/job.js";
import { checkApiKey } from "../upstream/send.js";
import type { Provider } from "../types.js";

export const REPLICATE_DEFAULT_BASE_URL = "https://api.replicate.com";
export const REPLICATE_MODELS = {
  pro: "black-forest-labs/flux-fill-pro",
  dev: "black-forest-labs/flux-fill-dev",
} as const;
/** Not in our reference: a Fill [pro] task is assumed to cost what it does at BFL (5 credits = $0.05) for the spend limits. */
const ASSUMED_CREDITS = 5;
const EXPIRY_NOTE = "Replicate removes a prediction's output 1 hour after it completes.";
const MODEL_NAMES = { pro: "FLUX.1 Fill [pro]", dev: "FLUX.1 Fill [dev]" } as const;
/** Words of a failed prediction's error that mean the safety filter stopped it. */
const MODERATION_PATTERN = /nsfw|flagged|safety|moderat/i;

export interface ReplicateProviderOptions extends Omit<HostedProviderOptions, "apiKey"> {
  apiKey: string;
  baseUrl: string;
  model: "pro" | "dev";
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function httpUrl(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:" ? value : undefined;
  } catch {
    return undefined;
  }
}

export function replicateAdapter(options: Pick<ReplicateProviderOptions, "apiKey" | "baseUrl" | "model">): HostAdapter {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const model = MODEL_NAMES[options.model];
  const label = "Replicate";
  const predictionUrl = (id: string) => `${baseUrl}/v1/predictions/${encodeURIComponent(id)}`;
  const jobOf = (id: string, getUrl: string | undefined, cancelUrl: string | undefined): HostJob => {
    const statusUrl = getUrl ?? predictionUrl(id);
    return { id, statusUrl, cancelUrl: cancelUrl ?? `${statusUrl.replace(/\/+$/, "")}/cancel` };
  };
  return {
    provider: "replicate",
    label,
    keyName: "REPLICATE_API_TOKEN",
    dashboard: "https://replicate.com/predictions",
    expiryNote: EXPIRY_NOTE,
    authHeaders: () => ({ authorization: `Bearer ${options.apiKey}` }),
    cancelMethod: "POST",
    planSubmit(request) {
      if (request.kind !== "fill") throw noExpandError(label, "replicate");
      const { params } = request;
      const notes: string[] = [];
      const outputFormat = params.output_format === "jpeg" ? "jpg" : "png";
      const input: Record<string, unknown> = {
        prompt: params.prompt,
        image: dataUri(request.upload.image),
        mask: dataUri(request.upload.mask),
        ...(params.seed === undefined ? {} : { seed: params.seed }),
        output_format: outputFormat,
      };
      if (options.model === "pro") {
        checkToleranceFrom1(`Replicate's ${model}`, "replicate", params.safety_tolerance);
        Object.assign(input, {
          steps: params.steps,
          safety_tolerance: params.safety_tolerance,
          prompt_upsampling: params.prompt_upsampling,
        });
        // The model's guidance scale is not BFL's (its published schema takes 2..5, default 3): our default
        // (60) is left to the host's own default; a value the user chose is sent, and a 422 names the range.
        if (params.guidance !== PARAM_DEFAULTS.guidance) input.guidance = params.guidance;
      } else {
        Object.assign(input, {
          num_outputs: 1,
          num_inference_steps: params.steps,
          guidance: params.guidance,
          megapixels: "match_input",
        });
        notes.push(...unsupportedNotes(label, model, params, ["safety_tolerance", "prompt_upsampling"]));
      }
      const body: Record<string, unknown> = { input };
      if (params.webhook_url !== undefined) {
        if (!params.webhook_url.startsWith("https:"))
          throw new FluxFillError(
            "bad_input",
            `Replicate only calls https webhooks; webhook_url ${params.webhook_url} is not one. Nothing was submitted.`,
            { suggestion: "Give an https webhook_url, or leave it out.", details: { provider: "replicate" } },
          );
        body.webhook = params.webhook_url;
        body.webhook_events_filter = ["completed"];
        notes.push("Replicate posts the prediction object to webhook_url.");
      }
      if (params.webhook_secret !== undefined)
        notes.push(
          "Replicate signs webhooks with the account's own signing secret (webhook-signature header); webhook_secret was not sent.",
        );
      return {
        url: `${baseUrl}/v1/models/${REPLICATE_MODELS[options.model]}/predictions`,
        body: JSON.stringify(body),
        notes,
      };
    },
    parseSubmit(answer) {
      const body = answer.body;
      if (!isRecord(body) || typeof body.id !== "string" || body.id === "") return undefined;
      const urls = isRecord(body.urls) ? body.urls : {};
      return jobOf(body.id, httpUrl(urls.get) ?? httpUrl(answer.headers.get("location")), httpUrl(urls.cancel));
    },
    jobOf: (task) => jobOf(task.upstreamId, task.pollingUrl, undefined),
    readStatus(answer, job): PollStep | undefined {
      const body = answer.body;
      if (!isRecord(body) || typeof body.status !== "string") return undefined;
      const status = body.status;
      const facts = { provider: "replicate", taskId: job.id, status };
      const error =
        typeof body.error === "string" && body.error.trim() !== "" ? body.error.trim().slice(0, 500) : undefined;
      if (status === "starting" || status === "processing") return { state: "pending", status };
      if (status === "succeeded") {
        const output = Array.isArray(body.output) ? body.output[0] : body.output;
        if (typeof output === "string" && output !== "") return { state: "ready", status, imageUrl: output };
        return {
          state: "failed",
          error: new FluxFillError(
            "upstream_failed",
            body.data_removed === true
              ? `Replicate prediction ${job.id} succeeded but its output was already removed (Replicate keeps it 1 hour).`
              : `Replicate prediction ${job.id} succeeded but gives no output URL.`,
            { suggestion: "Run the call again.", details: facts },
          ),
        };
      }
      if (status === "failed" && error !== undefined && MODERATION_PATTERN.test(error)) {
        return {
          state: "failed",
          error: new FluxFillError(
            "upstream_moderated",
            `Replicate's safety filter stopped prediction ${job.id}: ${error}.`,
            {
              suggestion:
                options.model === "pro"
                  ? "If the content is acceptable, raise safety_tolerance (1 strictest .. 6 most permissive on Replicate); otherwise change the prompt, the seed or the image."
                  : "Change the prompt, the seed or the image (Fill [dev] on Replicate has no safety_tolerance).",
              details: facts,
            },
          ),
        };
      }
      const why =
        status === "failed"
          ? `failed${error ? `: ${error}` : ""}`
          : status === "canceled"
            ? "was canceled on Replicate"
            : status === "aborted"
              ? "was aborted before it started (its deadline passed); Replicate does not bill aborted predictions"
              : `ended with an unrecognised status "${status}"`;
      return {
        state: "failed",
        error: new FluxFillError("upstream_failed", `Replicate prediction ${job.id} ${why}.`, {
          suggestion: "Try again; if it keeps failing, try another seed or a smaller image.",
          details: facts,
        }),
      };
    },
    cancelled(answer) {
      if (answer.status >= 300) return answer.status === 404;
      const status = isRecord(answer.body) ? answer.body.status : undefined;
      return status !== "succeeded";
    },
    price: () => ASSUMED_CREDITS,
  };
}

export function createReplicateProvider(options: ReplicateProviderOptions): Provider {
  checkApiKey(options.apiKey, "REPLICATE_API_TOKEN", "https://replicate.com/account/api-tokens");
  return createHostedProvider(replicateAdapter(options), options);
}
