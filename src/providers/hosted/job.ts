/**
 * One job on a hosted queue API (fal's queue, Replicate's predictions): submit once, poll the URL the host
 * gave until a terminal status, download the result URL at once (without the key), check it is an image.
 * Each host is a small adapter (`HostAdapter`) that builds its request and reads its answers; this file
 * holds the money rules they share, the same as the bfl provider's:
 * - a submit is repeated only after a 429 (the host certainly created nothing); after a 5xx, a dropped
 *   connection or a timeout the outcome is unknown and it is never repeated;
 * - nothing is submitted before the request's checks pass;
 * - polls are free and retried with backoff; the result is downloaded at once (hosts keep it ~1 h);
 * - when the caller stops waiting or the deadline passes before anything was produced, the remote job is
 *   cancelled (a queued job is then never run); a host answering "already completed" is collected instead.
 * Every message leaving here has the key redacted.
 */
import type { HostedProviderName } from "../../config.js";
import { FluxFillError } from "../../errors.js";
import { downloadResult } from "../upstream/download.js";
import { withoutSecrets } from "../upstream/redact.js";
import { upstreamMessage } from "../upstream/answers.js";
import { backoffDelayMs, parseRetryAfter } from "../upstream/retry.js";
import {
  createSend,
  describeHost,
  type HttpAnswer,
  startFillRun,
  submitUntilAccepted,
  type UpstreamOptions,
  upstreamSettings,
} from "../upstream/send.js";
import { checkSample } from "../upstream/sample.js";
import {
  type FillContext,
  type FillOutput,
  outputSize,
  type Provider,
  type ProviderRequest,
  type SubmittedTaskInfo,
} from "../types.js";
import { FluxProFillInputs } from "../../schema/upstream.js";

/** A job the host created: where to ask about it and how to cancel it. */
export interface HostJob {
  id: string;
  /** Polled until terminal; journalled as the task's polling URL. */
  statusUrl: string;
  cancelUrl: string | undefined;
  /** Where the outcome is read once the status says it finished (fal's response_url). */
  resultUrl?: string | undefined;
}

/** What one status answer means. */
export type PollStep =
  | { state: "pending"; status: string; message?: string }
  /** Finished; the outcome is read from `url` (fal's response_url). */
  | { state: "fetch"; status: string; url: string }
  | { state: "ready"; status: string; imageUrl: string; seed?: number }
  | { state: "failed"; error: FluxFillError };

export interface SubmitPlan {
  url: string;
  /** JSON text of the body (images inline as data URIs). */
  body: string;
  headers?: Record<string, string>;
  /** Parameters the host does not take, or takes differently, in words for the result's notes. */
  notes: string[];
}

export interface HostAdapter {
  provider: HostedProviderName;
  /** The host's name in messages ("fal", "Replicate"). */
  label: string;
  /** The setting holding the key, named in messages. */
  keyName: string;
  /** Where the user sees their jobs (named when a submit's outcome is unknown). */
  dashboard: string;
  /** What a result URL's lifetime is, said when a result could not be collected. */
  expiryNote: string;
  authHeaders(): Record<string, string>;
  /** The HTTP method of the host's cancel URL (fal: PUT, Replicate: POST). */
  cancelMethod: "PUT" | "POST";
  /** The submit for a request; throws a FluxFillError (bad_input) for what the host cannot do. */
  planSubmit(request: ProviderRequest): SubmitPlan;
  /** A 2xx submit answer → the job; undefined when it names none. */
  parseSubmit(answer: HttpAnswer): HostJob | undefined;
  /** The job behind a journalled task (to resume it). */
  jobOf(task: SubmittedTaskInfo): HostJob;
  /** Reads a 2xx status answer; undefined when it is unreadable (the poll is retried). */
  readStatus(answer: HttpAnswer, job: HostJob): PollStep | undefined;
  /** Reads the answer of a `fetch` step (any HTTP status); only hosts that return `fetch` need it. */
  readResult?(answer: HttpAnswer, job: HostJob, params: ProviderRequest["params"]): PollStep;
  /** Reads a cancel answer: true when the host will not run (or finish) the job, false when it already completed. */
  cancelled(answer: HttpAnswer): boolean;
  /** Credits (1 = $0.01) one task costs, known before submitting; `cost` of a produced image when sized. */
  price(kind: ProviderRequest["kind"], size?: { width: number; height: number }): number;
}

export interface HostedProviderOptions extends UpstreamOptions {
  /** Delay between polls (ms). */
  pollIntervalMs: number;
}

const MAX_POLL_BACKOFF_MS = 10_000;
const MAX_CONSECUTIVE_POLL_FAILURES = 8;
const CANCEL_TIMEOUT_MS = 10_000;

/** The upstream parameters' defaults (from the schema), to tell a value the user chose from one left alone. */
export const PARAM_DEFAULTS = FluxProFillInputs.parse({ image: "-" });

/**
 * Notes for parameters a host does not take: each one whose value is not the default is named, so nothing
 * the user asked for is dropped in silence.
 */
export function unsupportedNotes(
  host: string,
  model: string,
  params: ProviderRequest["params"],
  fields: readonly (keyof typeof PARAM_DEFAULTS & keyof ProviderRequest["params"])[],
): string[] {
  const notes: string[] = [];
  for (const field of fields) {
    const value = params[field];
    if (value === undefined || value === PARAM_DEFAULTS[field]) continue;
    notes.push(`${host}'s ${model} takes no ${field}; ${field}=${JSON.stringify(value)} was not sent.`);
  }
  return notes;
}

/** The error for an expansion on a host without FLUX.1 Expand. */
export function noExpandError(host: HostAdapter["label"], provider: HostedProviderName): FluxFillError {
  return new FluxFillError(
    "bad_input",
    `${host} hosts no FLUX.1 Expand model, so flux_expand cannot run on the ${provider} provider. Nothing was submitted.`,
    {
      suggestion:
        "Use the bfl provider (set BFL_API_KEY, or FLUX_FILL_PROVIDER=bfl) or the local engine (FLUX_FILL_PROVIDER=local) for expansions.",
      details: { provider },
    },
  );
}

/** safety_tolerance on hosts that take 1..6 only: 0 (our strictest) is refused there, clearly and before paying. */
export function checkToleranceFrom1(host: string, provider: HostedProviderName, tolerance: number | undefined): void {
  if (tolerance === 0)
    throw new FluxFillError(
      "bad_input",
      `${host} accepts safety_tolerance 1 (strictest) to 6 (most permissive); 0 is not available there. Nothing was submitted.`,
      { suggestion: "Use safety_tolerance 1 for the strictest moderation this host offers.", details: { provider } },
    );
}

/** An image as the data URI the hosts take in place of a URL. */
export function dataUri(bytes: Buffer): string {
  const mime =
    bytes[0] === 0x89 && bytes[1] === 0x50
      ? "image/png"
      : bytes[0] === 0xff && bytes[1] === 0xd8
        ? "image/jpeg"
        : "image/png";
  return `data:${mime};base64,${bytes.toString("base64")}`;
}

/** The common errors of a refused submit (429 only once retries are exhausted). */
export function hostSubmitError(host: HostAdapter, status: number, message: string | undefined): FluxFillError {
  const said = message ? `: ${message}` : "";
  const details = { provider: host.provider, httpStatus: status, ...(message ? { upstreamMessage: message } : {}) };
  if (status === 401 || status === 403)
    return new FluxFillError("upstream_failed", `${host.label} rejected the API key (HTTP ${status}${said}).`, {
      suggestion: `Check ${host.keyName} in the MCP client's config.`,
      details,
    });
  if (status === 402)
    return new FluxFillError(
      "upstream_credits",
      `${host.label} refused the job: the account is out of credit (HTTP 402${said}). Nothing was generated.`,
      { suggestion: `Add credit at ${host.dashboard}, or use the local provider (FLUX_FILL_PROVIDER=local).`, details },
    );
  if (status === 422 || status === 400)
    return new FluxFillError(
      "bad_input",
      `${host.label} rejected the request as invalid (HTTP ${status})${said || ": no details given"}.`,
      {
        suggestion: "Fix the field(s) named above; see docs/tools.md (Providers) for what this host accepts.",
        details,
      },
    );
  if (status === 429)
    return new FluxFillError(
      "upstream_rate_limited",
      `${host.label} kept refusing new jobs (HTTP 429, too many requests${said}). Nothing was charged.`,
      { suggestion: "Wait a little and try again, or lower FLUX_FILL_MAX_ACTIVE.", details },
    );
  if (status === 413)
    return new FluxFillError("too_large", `${host.label} refused the upload as too large (HTTP 413${said}).`, {
      suggestion: "Use a smaller image (fewer pixels, or JPEG instead of PNG).",
      details,
    });
  if (status >= 500)
    return new FluxFillError(
      "upstream_failed",
      `${host.label} answered the submit with HTTP ${status}${said}. Whether a job was created (and charged) is unknown, so it was NOT resubmitted, to avoid paying twice.`,
      {
        suggestion: `Check ${host.dashboard} for a new job before trying again.`,
        details: { ...details, outcomeUnknown: true },
      },
    );
  return new FluxFillError("upstream_failed", `${host.label} rejected the submit with HTTP ${status}${said}.`, {
    suggestion: "Check the base URL setting and the request parameters.",
    details,
  });
}

export function createHostedProvider(host: HostAdapter, options: HostedProviderOptions): Provider {
  const settings = upstreamSettings(options);
  const { fetch: doFetch, sleep, now, retryBaseMs, maxSubmitAttempts, pollRequestTimeoutMs } = settings;
  const secrets = [options.apiKey];

  // A host never redirects its API; following one could hand the key to another host.
  const exchange = createSend(doFetch, { redirect: "error" });

  async function run(
    work: { request: ProviderRequest } | { resume: HostJob; submitted: Pick<ProviderRequest, "kind" | "params"> },
    context: FillContext,
  ): Promise<FillOutput> {
    const request = "request" in work ? work.request : undefined;
    const { kind, params } = "request" in work ? work.request : work.submitted;
    const { signal } = context;
    /** The caller stopped waiting, or the deadline/shutdown came. */
    const stopping = () => signal.aborted || context.abandoned?.aborted === true;
    const waitSignal = context.abandoned ? AbortSignal.any([signal, context.abandoned]) : signal;
    const run = startFillRun(context, { timeoutMs: options.timeoutMs, now, sleep, secrets, waitSignal });
    const { remaining, elapsed, progress, pause } = run;
    const auth = { ...host.authHeaders(), accept: "application/json" };
    const notes: string[] = [];

    const submit = (plan: SubmitPlan): Promise<HostJob> => {
      const unknown = (why: string) =>
        new FluxFillError(
          "upstream_failed",
          `${why} Whether a ${host.label} job was created (and charged) is unknown, so it was NOT resubmitted, to avoid paying twice.`,
          {
            suggestion: `Check ${host.dashboard} for a new job before trying again.`,
            details: { provider: host.provider, outcomeUnknown: true },
          },
        );
      const where = describeHost(plan.url, "the host");
      return submitUntilAccepted({
        run,
        now,
        retryBaseMs,
        maxAttempts: maxSubmitAttempts,
        stopped: stopping,
        cancelledBeforeSubmit: () =>
          new FluxFillError("cancelled", `The ${kind} was cancelled before a job was created; nothing was charged.`, {
            details: { provider: host.provider },
          }),
        send: () =>
          exchange(
            plan.url,
            {
              method: "POST",
              headers: { ...auth, "content-type": "application/json", ...plan.headers },
              body: plan.body,
            },
            remaining(),
            signal,
          ),
        noAnswer: (outcome) => {
          if (outcome.kind === "aborted")
            return new FluxFillError(
              "cancelled",
              `The ${kind} was stopped while the submit was in flight; whether a ${host.label} job was created (and charged) is unknown. It was not resubmitted.`,
              {
                suggestion: `Check ${host.dashboard} for a new job.`,
                details: { provider: host.provider, outcomeUnknown: true },
              },
            );
          if (outcome.kind === "timeout") return unknown(`The submit to ${where} got no answer before the deadline.`);
          if (outcome.refused)
            return new FluxFillError(
              "upstream_unreachable",
              `Could not connect to ${where} to submit the job (${outcome.reason}). Nothing was sent, so nothing was charged.`,
              {
                suggestion: "Check the network and the host's base URL setting, then try again.",
                details: { provider: host.provider },
              },
            );
          return unknown(`The connection to ${where} failed during the submit (${outcome.reason}).`);
        },
        read: (answer) => {
          if (answer.status < 200 || answer.status >= 300)
            throw hostSubmitError(host, answer.status, upstreamMessage(answer.body, answer.text));
          const job = host.parseSubmit(answer);
          if (job) return job;
          throw unknown(
            `${host.label} accepted the submit but its answer names no job (${upstreamMessage(answer.body, answer.text) ?? "empty body"}).`,
          );
        },
        gaveUp: ({ attempt, message }) => {
          const base = hostSubmitError(host, 429, message);
          return new FluxFillError(base.kind, `${base.message} Gave up after ${attempt} attempt(s).`, {
            ...(base.suggestion === undefined ? {} : { suggestion: base.suggestion }),
            details: { ...base.details, attempts: attempt },
          });
        },
        retrying: (wait) =>
          progress(
            "RateLimited",
            `${host.label} is busy (HTTP 429); retrying the submit in ${(wait / 1000).toFixed(1)} s.`,
          ),
      });
    };

    let job: HostJob;
    if ("resume" in work) {
      job = work.resume;
    } else {
      const plan = host.planSubmit(work.request); // refuses what the host cannot do before anything is spent
      notes.push(...plan.notes);
      await work.request.checked; // no job may exist before the checks pass
      job = await submit(plan);
      try {
        await context.onSubmitted?.({ upstreamId: job.id, pollingUrl: job.statusUrl });
      } catch {
        // Journalling is the caller's business; the paid job is collected all the same.
      }
    }
    const facts = { provider: host.provider, taskId: job.id, pollingUrl: job.statusUrl };
    progress("Submitted", `Submitted ${host.label} job ${job.id}; waiting for the result.`);
    let lastStatus = "Submitted";

    /** Cancels the remote job; true when the host will not finish it (so nothing more can be collected). */
    const cancelRemote = async (): Promise<boolean> => {
      if (job.cancelUrl === undefined) return false;
      const outcome = await exchange(job.cancelUrl, { method: host.cancelMethod, headers: auth }, CANCEL_TIMEOUT_MS);
      return outcome.kind === "response" && host.cancelled(outcome.answer);
    };
    const stopped = async (why: "cancelled" | "timeout"): Promise<FluxFillError | undefined> => {
      const gone = await cancelRemote().catch(() => false);
      if (!gone) return undefined; // already completed: collect it
      const reason =
        why === "cancelled"
          ? "the call was cancelled"
          : `the ${Math.round(options.timeoutMs / 1000)} s deadline passed`;
      return new FluxFillError(
        why,
        `${host.label} job ${job.id} was cancelled upstream because ${reason} before it produced anything (last status ${lastStatus}).`,
        {
          suggestion:
            why === "timeout"
              ? "Raise FLUX_FILL_TIMEOUT_S for large images or busy periods."
              : "Run the call again when wanted.",
          details: { ...facts, lastStatus, remoteCancelled: true },
        },
      );
    };

    const pollUntilReady = async (): Promise<Extract<PollStep, { state: "ready" }>> => {
      let failures = 0;
      let askedWaitMs: number | undefined;
      let lastProblem = "";
      /** Set once a cancel found the job already completed: from then on it is collected whatever the caller does. */
      let collectAnyway = false;
      for (;;) {
        const delay =
          failures === 0
            ? options.pollIntervalMs
            : (askedWaitMs ?? backoffDelayMs(failures, options.pollIntervalMs, MAX_POLL_BACKOFF_MS));
        const interrupted = await pause(Math.min(delay, Math.max(0, remaining())), collectAnyway ? signal : waitSignal);
        askedWaitMs = undefined;
        if (interrupted && signal.aborted) {
          // Shutdown (or the caller's own deadline): the job is journalled and collected on the next start.
          throw new FluxFillError(
            "cancelled",
            `Stopped waiting for ${host.label} job ${job.id} (last status ${lastStatus}); it keeps running upstream and is collected on the next start. ${host.expiryNote}`,
            { details: { ...facts, lastStatus } },
          );
        }
        if (interrupted) {
          const error = await stopped("cancelled");
          if (error) throw error;
          collectAnyway = true;
          progress(
            lastStatus,
            `${host.label} job ${job.id} had already completed when the call was cancelled; collecting it.`,
          );
        }
        if (remaining() <= 0) {
          const error = await stopped("timeout");
          if (error) throw error;
          throw new FluxFillError(
            "timeout",
            `${host.label} job ${job.id} was still ${lastStatus} when the deadline passed and could not be cancelled; it may still finish (and is charged). ${host.expiryNote}`,
            { suggestion: "Raise FLUX_FILL_TIMEOUT_S.", details: { ...facts, lastStatus } },
          );
        }
        const outcome = await exchange(
          job.statusUrl,
          { method: "GET", headers: auth },
          Math.min(Math.max(1, remaining()), pollRequestTimeoutMs),
        );
        let step: PollStep | undefined;
        let problem: string | undefined;
        if (outcome.kind === "timeout") problem = "the status request timed out";
        else if (outcome.kind === "network" || outcome.kind === "aborted")
          problem = `connection failed (${outcome.kind === "network" ? outcome.reason : "aborted"})`;
        else if (outcome.answer.status >= 200 && outcome.answer.status < 300) {
          step = host.readStatus(outcome.answer, job);
          if (!step)
            problem = `unreadable status answer (${upstreamMessage(undefined, outcome.answer.text) ?? "empty body"})`;
        } else if (outcome.answer.status === 429 || outcome.answer.status >= 500) {
          problem = `HTTP ${outcome.answer.status}`;
          askedWaitMs = parseRetryAfter(outcome.answer.headers.get("retry-after"), now());
        } else {
          const message = upstreamMessage(outcome.answer.body, outcome.answer.text);
          const keyProblem = outcome.answer.status === 401 || outcome.answer.status === 403;
          throw new FluxFillError(
            "upstream_failed",
            `${keyProblem ? `${host.label} rejected the API key` : `${host.label} refused the status request`} for job ${job.id} (HTTP ${outcome.answer.status}${message ? `: ${message}` : ""}). ${host.expiryNote}`,
            {
              suggestion: keyProblem ? `Check ${host.keyName}.` : "Try again later.",
              details: { ...facts, httpStatus: outcome.answer.status },
            },
          );
        }
        if (step === undefined) {
          failures++;
          lastProblem = problem ?? "no status";
          if (failures >= MAX_CONSECUTIVE_POLL_FAILURES)
            throw new FluxFillError(
              "upstream_failed",
              `The status of ${host.label} job ${job.id} could not be read ${failures} times in a row (last: ${lastProblem}). The job may still finish; ${host.expiryNote}`,
              { suggestion: "Try again later.", details: { ...facts, lastStatus } },
            );
          progress(lastStatus, `Status check for job ${job.id} failed (${lastProblem}); retrying.`);
          continue;
        }
        failures = 0;
        if (step.state !== "failed") lastStatus = step.status;
        if (step.state === "fetch") {
          const result = await exchange(
            step.url,
            { method: "GET", headers: auth },
            Math.min(Math.max(1, remaining()), pollRequestTimeoutMs),
          );
          if (result.kind !== "response") {
            failures++;
            lastProblem = "the result request failed";
            continue;
          }
          if (result.answer.status === 429) {
            failures++;
            lastProblem = `HTTP ${result.answer.status} on the result`;
            continue;
          }
          step = host.readResult?.(result.answer, job, params) ?? {
            state: "failed",
            error: new FluxFillError("internal", "no result reader"),
          };
        }
        if (step.state === "ready") return step;
        if (step.state === "failed") throw step.error;
        if (step.state === "fetch") continue;
        progress(
          step.status,
          step.message ?? `${host.label} job ${job.id}: ${step.status}, ${(elapsed() / 1000).toFixed(1)} s elapsed.`,
        );
      }
    };

    /** Downloads the result URL without the key; fal may answer with the image inline (downloadResult). */
    const download = (imageUrl: string): Promise<Buffer> => {
      const failed = (why: string, httpStatus?: number) =>
        new FluxFillError(
          "upstream_failed",
          `The result of ${host.label} job ${job.id} is ready but could not be downloaded: ${why}. ${host.expiryNote}`,
          {
            suggestion: "Run the call again; the result URL has expired or the delivery host failed.",
            details: { ...facts, ...(httpStatus === undefined ? {} : { httpStatus }) },
          },
        );
      return downloadResult(imageUrl, {
        ...settings.download,
        failed,
        expiryHint: (status) =>
          status === 403 || status === 404 || status === 410 ? ", the result URL may have expired" : "",
        allowDataUrl: true,
      });
    };

    const ready = await pollUntilReady();
    progress("Downloading", `${host.label} job ${job.id} is ready; downloading the result.`, 1);
    const checked = await checkSample(await download(ready.imageUrl), job.id, {
      provider: host.provider,
      label: host.label,
    });
    notes.push(...checked.notes);
    const expected = request === undefined ? undefined : outputSize(request);
    if (expected && (checked.width !== expected.width || checked.height !== expected.height)) {
      notes.push(
        `${host.label} returned ${checked.width}x${checked.height}, the input was ${expected.width}x${expected.height}.`,
      );
    }
    const seed = ready.seed ?? params.seed;
    return {
      provider: host.provider,
      bytes: checked.bytes,
      format: checked.format,
      upstreamId: job.id,
      cost: host.price(kind, { width: checked.width, height: checked.height }),
      ...(seed === undefined ? {} : { seed }),
      notes,
    };
  }

  return {
    name: host.provider,
    estimateCredits: (kind) => host.price(kind),
    fill: (request, context) =>
      withoutSecrets(() => run({ request }, context), [...secrets, request.params.webhook_secret ?? ""], host.provider),
    resume: (task, submitted, context) =>
      withoutSecrets(
        () => run({ resume: host.jobOf(task), submitted }, context),
        [...secrets, submitted.params.webhook_secret ?? ""],
        host.provider,
      ),
  };
}
