/**
 * FLUX.1 Fill on fal's queue API (https://queue.fal.run): `fal-ai/flux-pro/v1/fill` (Fill [pro]) or
 * `fal-ai/flux-lora-fill` (Fill [dev]). Submit → `{request_id, status_url, response_url, cancel_url}`;
 * `GET status_url` says IN_QUEUE / IN_PROGRESS (HTTP 202) or COMPLETED (200); the outcome, errors included,
 * is then read from `response_url` (`{images:[{url}], seed, has_nsfw_concepts}` or the model's error).
 * Images go inline as data URIs; the mask keeps our convention (white = fill, black = keep), fal's as well.
 * fal has no idempotency key: the submit is never repeated after an unknown outcome.
 */
import { FluxFillError } from "../../errors.js";
import { formatValidationItem, upstreamMessage } from "../upstream/answers.js";
import {
  checkToleranceFrom1,
  createHostedProvider,
  dataUri,
  type HostAdapter,
  type HostedProviderOptions,
  type HostJob,
  noExpandError,
  type PollStep,
  unsupportedNotes,
} from "../hosted/job.js";
import { checkApiKey, type HttpAnswer } from "../upstream/send.js";
import type { Provider } from "../types.js";

export const FAL_DEFAULT_BASE_URL = "https://queue.fal.run";
/** The endpoint of each model choice. */
export const FAL_ENDPOINTS = { pro: "fal-ai/flux-pro/v1/fill", dev: "fal-ai/flux-lora-fill" } as const;
/** $0.05 per megapixel, rounded up (Fill [pro]); 1 credit = $0.01. fal publishes no Fill [dev] price here. */
const CREDITS_PER_MP = 5;
const EXPIRY_NOTE = "fal keeps a result for 1 hour (6 minutes for large answers) after it completes.";
const MODEL_NAMES = { pro: "FLUX.1 Fill [pro]", dev: "FLUX.1 Fill [dev]" } as const;

export interface FalProviderOptions extends Omit<HostedProviderOptions, "apiKey"> {
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

/** `.../requests/{id}/status?logs=1` → `.../requests/{id}`: the result and cancel URLs hang off it. */
function requestBase(statusUrl: string): string {
  const url = new URL(statusUrl);
  url.search = "";
  url.pathname = url.pathname.replace(/\/status\/?$/, "");
  return url.toString();
}

export function falAdapter(options: Pick<FalProviderOptions, "apiKey" | "baseUrl" | "model">): HostAdapter {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const model = MODEL_NAMES[options.model];
  const label = "fal";
  const jobOf = (id: string, statusUrl: string, body?: Record<string, unknown>): HostJob => {
    const base = requestBase(statusUrl);
    return {
      id,
      statusUrl,
      resultUrl: httpUrl(body?.response_url) ?? base,
      cancelUrl: httpUrl(body?.cancel_url) ?? `${base}/cancel`,
    };
  };
  return {
    provider: "fal",
    label,
    keyName: "FAL_KEY",
    dashboard: "https://fal.ai/dashboard",
    expiryNote: EXPIRY_NOTE,
    authHeaders: () => ({ authorization: `Key ${options.apiKey}` }),
    cancelMethod: "PUT",
    planSubmit(request) {
      if (request.kind !== "fill") throw noExpandError(label, "fal");
      const { params } = request;
      const notes: string[] = [];
      const input: Record<string, unknown> = {
        prompt: params.prompt,
        image_url: dataUri(request.upload.image),
        mask_url: dataUri(request.upload.mask),
        num_images: 1,
        ...(params.seed === undefined ? {} : { seed: params.seed }),
      };
      if (options.model === "pro") {
        checkToleranceFrom1(`fal's ${model}`, "fal", params.safety_tolerance);
        input.output_format = params.output_format;
        input.safety_tolerance = String(params.safety_tolerance);
        input.enhance_prompt = params.prompt_upsampling;
        notes.push(...unsupportedNotes(label, model, params, ["steps", "guidance"]));
      } else {
        input.num_inference_steps = params.steps;
        input.guidance_scale = params.guidance;
        input.enable_safety_checker = true;
        notes.push(
          ...unsupportedNotes(label, model, params, ["safety_tolerance", "prompt_upsampling", "output_format"]),
        );
      }
      let url = `${baseUrl}/${FAL_ENDPOINTS[options.model]}`;
      if (params.webhook_url !== undefined) {
        url += `?fal_webhook=${encodeURIComponent(params.webhook_url)}`;
        notes.push("fal posts its own webhook body ({request_id, status, payload}) to webhook_url.");
      }
      if (params.webhook_secret !== undefined)
        notes.push("fal signs webhooks with its own keys; webhook_secret was not sent.");
      return { url, body: JSON.stringify(input), notes };
    },
    parseSubmit(answer) {
      const body = answer.body;
      if (!isRecord(body) || typeof body.request_id !== "string" || body.request_id === "") return undefined;
      const statusUrl =
        httpUrl(body.status_url) ??
        `${baseUrl}/${FAL_ENDPOINTS[options.model].split("/").slice(0, 2).join("/")}/requests/${encodeURIComponent(body.request_id)}/status`;
      return jobOf(body.request_id, statusUrl, body);
    },
    jobOf: (task) => jobOf(task.upstreamId, task.pollingUrl),
    readStatus(answer, job): PollStep | undefined {
      const body = answer.body;
      if (!isRecord(body) || typeof body.status !== "string") return undefined;
      const status = body.status;
      if (status === "IN_QUEUE") {
        const position = typeof body.queue_position === "number" ? ` (position ${body.queue_position})` : "";
        return { state: "pending", status, message: `fal job ${job.id} is queued${position}.` };
      }
      if (status === "IN_PROGRESS") return { state: "pending", status };
      if (status === "COMPLETED")
        return {
          state: "fetch",
          status,
          url: httpUrl(body.response_url) ?? job.resultUrl ?? requestBase(job.statusUrl),
        };
      return {
        state: "failed",
        error: new FluxFillError("upstream_failed", `fal job ${job.id} ended with status "${status}".`, {
          suggestion: "Try again; if it keeps failing, try another seed or a smaller image.",
          details: { provider: "fal", taskId: job.id, status },
        }),
      };
    },
    readResult(answer: HttpAnswer, job, params): PollStep {
      const facts = { provider: "fal", taskId: job.id, httpStatus: answer.status };
      const body = answer.body;
      if (answer.status === 200 && isRecord(body)) {
        const images = Array.isArray(body.images) ? body.images : [];
        const nsfw = Array.isArray(body.has_nsfw_concepts) && body.has_nsfw_concepts[0] === true;
        if (nsfw) {
          const tolerance = params.safety_tolerance;
          return {
            state: "failed",
            error: new FluxFillError(
              "upstream_moderated",
              `fal's safety checker flagged the result of job ${job.id} (has_nsfw_concepts) and it was withheld. safety_tolerance was ${tolerance}.`,
              {
                suggestion:
                  options.model === "pro" && tolerance < 6
                    ? "If the content is acceptable, raise safety_tolerance (1 strictest .. 6 most permissive on fal); otherwise change the prompt or the seed."
                    : "Change the prompt, the seed or the image.",
                details: { ...facts, safetyTolerance: tolerance },
              },
            ),
          };
        }
        const first = images[0];
        const url = isRecord(first) && typeof first.url === "string" ? first.url : undefined;
        if (url !== undefined) {
          const seed = typeof body.seed === "number" && Number.isInteger(body.seed) ? body.seed : undefined;
          return { state: "ready", status: "COMPLETED", imageUrl: url, ...(seed === undefined ? {} : { seed }) };
        }
        return {
          state: "failed",
          error: new FluxFillError("upstream_failed", `fal job ${job.id} completed but its result has no image.`, {
            suggestion: "Try again.",
            details: facts,
          }),
        };
      }
      const errorType = answer.headers.get("x-fal-error-type") ?? (isRecord(body) ? body.error_type : undefined);
      const detail =
        isRecord(body) && Array.isArray(body.detail)
          ? body.detail.map(formatValidationItem).join("; ")
          : upstreamMessage(body, answer.text);
      const said = `${detail ? `: ${detail}` : ""}${typeof errorType === "string" ? ` [${errorType}]` : ""}`;
      if (answer.status === 422)
        return {
          state: "failed",
          error: new FluxFillError(
            "bad_input",
            `fal's ${model} refused the input of job ${job.id} (HTTP 422)${said}.`,
            {
              suggestion: "Fix the field(s) named above (the mask must be the size of the image).",
              details: facts,
            },
          ),
        };
      return {
        state: "failed",
        error: new FluxFillError(
          "upstream_failed",
          `fal job ${job.id} failed (HTTP ${answer.status})${said}.${answer.status >= 500 ? " fal does not bill requests that fail with 5xx." : ""}`,
          { suggestion: "Try again; if it keeps failing, try another seed or a smaller image.", details: facts },
        ),
      };
    },
    cancelled(answer) {
      const status = isRecord(answer.body) ? answer.body.status : undefined;
      if (status === "ALREADY_COMPLETED") return false;
      return status === "OK" || status === "CANCELLATION_REQUESTED" || status === "NOT_FOUND";
    },
    price(_kind, size) {
      if (size === undefined) return CREDITS_PER_MP;
      return CREDITS_PER_MP * Math.max(1, Math.ceil((size.width * size.height) / 1_000_000));
    },
  };
}

export function createFalProvider(options: FalProviderOptions): Provider {
  checkApiKey(options.apiKey, "FAL_KEY", "https://fal.ai/dashboard/keys");
  return createHostedProvider(falAdapter(options), options);
}
