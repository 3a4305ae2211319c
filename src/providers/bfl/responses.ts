/**
 * Reading what the Black Forest Labs API answers, and turning each answer into either data or one
 * FluxFillError. Pure: no I/O, no clock, so every status and body shape is unit-tested.
 */
import { FluxFillError } from "../../errors.js";
import { clipText, isRecord, MAX_UPSTREAM_TEXT } from "../upstream/answers.js";

const DASHBOARD = "https://dashboard.bfl.ai";
export interface SubmittedTask {
  id: string;
  pollingUrl: string;
  cost: number | undefined;
}

/**
 * A polling URL the API key may be sent to: on Black Forest Labs' own hosts over https (the global host
 * answers with regional ones, e.g. api.us1.bfl.ai), or on the configured base URL's host (a proxy, tests).
 * Anything else would hand the key to whoever the answer names.
 */
export function trustedPollingUrl(value: unknown, baseUrl: string): string | undefined {
  if (typeof value !== "string") return undefined;
  try {
    const url = new URL(value);
    if (url.protocol !== "https:" && url.protocol !== "http:") return undefined;
    if (url.hostname === new URL(baseUrl).hostname) return value;
    const bflHost = /(^|\.)bfl\.(ai|ml)$/.test(url.hostname);
    return bflHost && url.protocol === "https:" ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A 200 submit answer → the task to poll. The polling URL is used exactly as given when the key may go
 * there (trustedPollingUrl); a webhook-style answer has none, and an untrusted one is not used: the older
 * `{baseUrl}/v1/get_result?id=` form is polled instead. Undefined without an id.
 */
export function parseSubmitResponse(body: unknown, baseUrl: string): SubmittedTask | undefined {
  if (!isRecord(body) || typeof body.id !== "string" || body.id.trim() === "") return undefined;
  const id = body.id;
  const pollingUrl =
    trustedPollingUrl(body.polling_url, baseUrl) ??
    `${baseUrl.replace(/\/+$/, "")}/v1/get_result?id=${encodeURIComponent(id)}`;
  const cost = typeof body.cost === "number" && Number.isFinite(body.cost) ? body.cost : undefined;
  return { id, pollingUrl, cost };
}

export interface PollResponse {
  id: string | undefined;
  status: string;
  /** 0..1 when the upstream reports it. */
  progress: number | undefined;
  result: Record<string, unknown> | undefined;
  details: unknown;
}

/** 0..1 from the upstream's `progress` (a fraction, or tolerated as a percentage above 1). */
export function progressFraction(progress: unknown): number | undefined {
  if (typeof progress !== "number" || !Number.isFinite(progress) || progress < 0) return undefined;
  const fraction = progress > 1 ? progress / 100 : progress;
  return Math.min(1, fraction);
}

/** A poll answer; undefined when it has no string `status` (the caller retries such a poll). */
export function parsePollResponse(body: unknown): PollResponse | undefined {
  if (!isRecord(body) || typeof body.status !== "string") return undefined;
  return {
    id: typeof body.id === "string" ? body.id : undefined,
    status: body.status,
    progress: progressFraction(body.progress),
    result: isRecord(body.result) ? body.result : undefined,
    details: body.details ?? undefined,
  };
}

/** In-progress spellings; anything not listed here (or below) is treated as a failure, never waited on. */
const IN_PROGRESS_STATUSES: ReadonlySet<string> = new Set(["Pending", "Queued", "Processing"]);

export type StatusClass = "pending" | "ready" | "request_moderated" | "content_moderated" | "failed";

/** What a task status means for the client. Unknown statuses are failures, so a new one cannot hang us. */
export function classifyTaskStatus(status: string): StatusClass {
  if (IN_PROGRESS_STATUSES.has(status)) return "pending";
  if (status === "Ready") return "ready";
  if (status === "Request Moderated") return "request_moderated";
  if (status === "Content Moderated") return "content_moderated";
  return "failed";
}

/** Upstream `details` as a short, shown-safe value: kept if small, else clipped JSON text. */
export function compactDetails(details: unknown): unknown {
  if (details === undefined || details === null) return undefined;
  const json = JSON.stringify(details);
  if (json === undefined) return undefined;
  return json.length <= MAX_UPSTREAM_TEXT ? details : clipText(json);
}

function describeDetails(details: unknown): string {
  const compact = compactDetails(details);
  if (compact === undefined) return "";
  return typeof compact === "string" ? compact : JSON.stringify(compact);
}

export interface ErrorContext {
  /** The safety_tolerance that was sent (for moderation advice). */
  safetyTolerance: number | undefined;
}

/** The error for a terminal, non-Ready task status (moderation, failure, or a status we do not know). */
export function terminalStatusError(
  task: { id: string; pollingUrl: string },
  poll: Pick<PollResponse, "status" | "details">,
  context: ErrorContext,
): FluxFillError {
  const kind = classifyTaskStatus(poll.status);
  const upstream = describeDetails(poll.details);
  const details = {
    provider: "bfl",
    taskId: task.id,
    status: poll.status,
    ...(upstream ? { upstreamDetails: compactDetails(poll.details) } : {}),
  };
  const reasons = upstream ? ` Upstream details: ${upstream}.` : "";
  if (kind === "request_moderated" || kind === "content_moderated") {
    const tolerance = context.safetyTolerance;
    const current = tolerance === undefined ? "the default 2" : String(tolerance);
    const what =
      kind === "request_moderated"
        ? "the request (image, mask or prompt) was flagged before anything was generated"
        : "the generated result was flagged and withheld";
    const suggestion =
      tolerance !== undefined && tolerance >= 6
        ? "safety_tolerance is already at its most permissive (6): change the prompt or the image instead."
        : `If the content is acceptable, raise safety_tolerance (0 strictest .. 6 most permissive, currently ${current}); otherwise change the prompt${kind === "content_moderated" ? " or the seed" : " or the image"}.`;
    return new FluxFillError(
      "upstream_moderated",
      `Black Forest Labs moderation blocked task ${task.id} (${poll.status}): ${what}. safety_tolerance was ${current}.${reasons}`,
      { suggestion, details: { ...details, safetyTolerance: tolerance } },
    );
  }
  const known = poll.status === "Error" || poll.status === "Failed" || poll.status === "Task not found";
  const statusText = known ? `status "${poll.status}"` : `an unrecognised status "${poll.status}"`;
  return new FluxFillError("upstream_failed", `Black Forest Labs task ${task.id} ended with ${statusText}.${reasons}`, {
    suggestion:
      poll.status === "Task not found"
        ? "The upstream no longer knows this task (it may have expired or been submitted to another region); submit it again."
        : "Try again; if it keeps failing, try another seed or a smaller image.",
    details,
  });
}

/**
 * The error for a non-200 submit answer (429 only after retries are exhausted). 5xx means the outcome
 * is unknown: the caller never resubmits it, and the message says so.
 */
export function submitHttpError(status: number, message: string | undefined): FluxFillError {
  const said = message ? `: ${message}` : "";
  const details = { provider: "bfl", httpStatus: status, ...(message ? { upstreamMessage: message } : {}) };
  if (status === 401 || status === 403) {
    return new FluxFillError("upstream_failed", `Black Forest Labs rejected the API key (HTTP ${status}${said}).`, {
      suggestion:
        "Check BFL_API_KEY in the MCP client's config, and that BFL_API_BASE_URL is a host that key belongs to.",
      details,
    });
  }
  if (status === 402) {
    return new FluxFillError(
      "upstream_credits",
      `Black Forest Labs refused the task: the account is out of credits (HTTP 402${said}). Nothing was generated.`,
      { suggestion: `Top up credits at ${DASHBOARD}, or use the local provider (FLUX_FILL_PROVIDER=local).`, details },
    );
  }
  if (status === 422) {
    return new FluxFillError(
      "bad_input",
      `Black Forest Labs rejected the request as invalid (HTTP 422)${said || ": no details given"}.`,
      {
        suggestion: `Fix the field(s) named above; accepted ranges: steps 15..50, guidance 1.5..100, safety_tolerance 0..6, output_format jpeg|png, mask the same size as the image.`,
        details,
      },
    );
  }
  if (status === 429) {
    return new FluxFillError(
      "upstream_rate_limited",
      `Black Forest Labs kept refusing new tasks (HTTP 429, too many requests or too many active tasks${said}).`,
      {
        suggestion: "Wait for running tasks to finish (the API allows 24 active tasks per key) and try again.",
        details,
      },
    );
  }
  if (status === 413) {
    return new FluxFillError("too_large", `Black Forest Labs refused the upload as too large (HTTP 413${said}).`, {
      suggestion: "Use a smaller image (fewer pixels, or JPEG instead of PNG for the upload).",
      details,
    });
  }
  if (status >= 500) {
    return new FluxFillError(
      "upstream_failed",
      `Black Forest Labs answered the submit with HTTP ${status}${said}. Whether a task was created (and charged) is unknown, so it was NOT resubmitted, to avoid paying twice.`,
      {
        suggestion: `Check ${DASHBOARD} for a new task before trying again.`,
        details: { ...details, outcomeUnknown: true },
      },
    );
  }
  return new FluxFillError("upstream_failed", `Black Forest Labs rejected the submit with HTTP ${status}${said}.`, {
    suggestion: "Check BFL_API_BASE_URL and the request parameters; try again later if the message suggests so.",
    details,
  });
}
