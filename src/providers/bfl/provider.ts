/**
 * The Black Forest Labs FLUX.1 Fill [pro] and Expand [pro] client (one endpoint per request kind, the
 * same task protocol behind both): submit once, poll the given polling URL until a
 * terminal status, download the signed result URL at once (without the key), check it is an image.
 *
 * Money rules: a submit is repeated only after a 429 (the upstream certainly created nothing); after a
 * 5xx, a dropped connection or a timeout the outcome is unknown and it is never repeated. Polls are
 * free and are retried with backoff. Everything runs inside one deadline (`timeoutMs`).
 */
import { FluxFillError } from "../../errors.js";
import { downloadResult } from "../upstream/download.js";
import { fitImageUpload, MAX_UPSTREAM_BODY_BYTES } from "../../images/upload-size.js";
import { formatBytes } from "../../inputs/sizes.js";
import { type FillContext, type FillOutput, outputSize, type Provider, type ProviderRequest } from "../types.js";
import { withoutSecrets } from "../upstream/redact.js";
import {
  classifyTaskStatus,
  parsePollResponse,
  parseSubmitResponse,
  type SubmittedTask,
  submitHttpError,
  terminalStatusError,
} from "./responses.js";
import { upstreamMessage } from "../upstream/answers.js";
import { backoffDelayMs, parseRetryAfter } from "../upstream/retry.js";
import {
  checkApiKey,
  createSend,
  describeHost,
  startFillRun,
  submitUntilAccepted,
  type UpstreamOptions,
  upstreamSettings,
} from "../upstream/send.js";
import { DurationHistory } from "./duration-history.js";
import {
  guardPollDelay,
  nextPollDelay,
  type PollState,
  type ProgressObservation,
  readyTimeEstimate,
} from "./poll-schedule.js";
import { checkSample } from "../upstream/sample.js";
import { base64Length, streamSubmitBody } from "./submit-body.js";

export { buildSubmitBody } from "./submit-body.js";

export interface BflProviderOptions extends UpstreamOptions {
  /** Submit host, e.g. https://api.bfl.ai (no trailing slash needed). */
  baseUrl: string;
  /**
   * A fixed delay between polls (ms). Leave it out for the adaptive schedule (poll-schedule.ts): sparse
   * early, dense near the likely finish, learnt from past durations and the reported progress.
   */
  pollIntervalMs?: number | undefined;
  /** Durations of past tasks. Pass one shared history to every provider of a process so they learn together. */
  durationHistory?: DurationHistory;
  /** Largest submit body; a larger upload is made smaller first (fitToBodyLimit). Default MAX_UPSTREAM_BODY_BYTES. */
  maxBodyBytes?: number;
}

/** The submit endpoint of each request kind; polling and download are the same for both. */
export const SUBMIT_PATHS: Readonly<Record<ProviderRequest["kind"], string>> = {
  fill: "/v1/flux-pro-1.0-fill",
  expand: "/v1/flux-pro-1.0-expand",
};
/** The account balance endpoint: `{ credits: number }`. */
export const CREDITS_PATH = "/v1/credits";
const BALANCE_TIMEOUT_MS = 5000;
/**
 * What one task is known to cost before it is submitted (the upstream's `cost` in the submit answer
 * overrides it): Fill [pro] is 5 credits; Expand [pro] has no published price, so Fill's is assumed.
 */
export const PRICE_CREDITS: Readonly<Record<ProviderRequest["kind"], number>> = { fill: 5, expand: 5 };
const MAX_POLL_BACKOFF_MS = 10_000;
/** First wait after a failed poll on the adaptive schedule (doubles each time). */
const ADAPTIVE_POLL_RETRY_BASE_MS = 250;
const MAX_CONSECUTIVE_POLL_FAILURES = 8;
const EXPIRY_NOTE = "Black Forest Labs keeps a result for 10 minutes after it is ready.";

/**
 * The request as it is sent: when its body would pass `maxBodyBytes`, the image is made smaller first
 * (losslessly when that is enough, else as a high-quality JPEG: images/upload-size.ts), and a note says so.
 * The mask (a small greyscale PNG) and the parameters are sent as they are.
 */
export async function fitToBodyLimit(
  request: ProviderRequest,
  maxBodyBytes: number,
): Promise<{ request: ProviderRequest; notes: string[] }> {
  const length = streamSubmitBody(request).length;
  if (length <= maxBodyBytes) return { request, notes: [] };
  const image = request.upload.image;
  // Bytes of image whose base64 fits beside the rest of the body.
  const budget = Math.floor((maxBodyBytes - (length - base64Length(image.length))) / 4) * 3;
  const fitted = budget > 0 ? await fitImageUpload(image, () => request.image.pixels(), budget) : undefined;
  const limit = formatBytes(maxBodyBytes);
  if (fitted === undefined) {
    throw new FluxFillError(
      "too_large",
      `The image is too large to send to Black Forest Labs: even as a JPEG it would make the request larger than ${limit}. Nothing was sent or charged.`,
      { suggestion: "Downscale the image (e.g. to 24 MP or less) and try again." },
    );
  }
  const was = formatBytes(image.length);
  const now = formatBytes(fitted.bytes.length);
  const notes =
    fitted.encoding === "as_is"
      ? []
      : fitted.encoding === "png"
        ? [
            `The image was re-encoded losslessly (PNG, ${was} → ${now}) to keep the request to Black Forest Labs within ${limit}.`,
          ]
        : [
            `The image (${was}) was sent to Black Forest Labs as a JPEG at quality ${fitted.quality} (${now}) to keep the request within ${limit}; losslessly it would not fit.`,
          ];
  return { request: { ...request, upload: { ...request.upload, image: fitted.bytes } } as ProviderRequest, notes };
}

export function createBflProvider(options: BflProviderOptions): Provider {
  checkApiKey(options.apiKey, "BFL_API_KEY", "https://dashboard.bfl.ai");
  const settings = upstreamSettings(options);
  const { fetch: doFetch, sleep, now, retryBaseMs, maxSubmitAttempts, pollRequestTimeoutMs } = settings;
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const maxBodyBytes = options.maxBodyBytes ?? MAX_UPSTREAM_BODY_BYTES;
  const fixedPollIntervalMs = options.pollIntervalMs;
  const durationHistory = options.durationHistory ?? new DurationHistory();

  // Redirects are refused: fetch would carry the x-key header to wherever a redirect points.
  const exchange = createSend(doFetch, { redirect: "error" });

  /**
   * A new task (`request`), or one submitted earlier that is only collected (`resume`, with the kind and
   * parameters it was submitted with).
   */
  async function fill(
    work: { request: ProviderRequest } | { resume: SubmittedTask; submitted: Pick<ProviderRequest, "kind" | "params"> },
    context: FillContext,
  ): Promise<FillOutput> {
    const request = "request" in work ? work.request : undefined;
    const { kind, params } = "request" in work ? work.request : work.submitted;
    const { signal } = context;
    const run = startFillRun(context, {
      timeoutMs: options.timeoutMs,
      now,
      sleep,
      secrets: [options.apiKey, params.webhook_secret ?? ""],
    });
    const { remaining, elapsed, progress, pause } = run;
    const safetyTolerance = params.safety_tolerance;
    const job = kind === "fill" ? "fill" : "expansion";

    const submit = async (request: ProviderRequest): Promise<SubmittedTask> => {
      const url = `${baseUrl}${SUBMIT_PATHS[request.kind]}`;
      // Streamed with an exact length; each attempt gets a fresh stream (a 429 retry resends it).
      const body = streamSubmitBody(request);
      const cancelledBeforeSubmit = () =>
        new FluxFillError("cancelled", `The ${job} was cancelled before a task was created; nothing was charged.`, {
          details: { provider: "bfl" },
        });
      // The checks may still be running: the body's last bytes wait for them (submit-body.ts).
      let checkFailure: { error: unknown } | undefined;
      const checksSettled = request.checked.then(
        () => undefined,
        (error: unknown) => {
          checkFailure = { error };
        },
      );
      return submitUntilAccepted({
        run,
        now,
        retryBaseMs,
        maxAttempts: maxSubmitAttempts,
        stopped: () => signal.aborted,
        cancelledBeforeSubmit,
        send: () =>
          exchange(
            url,
            {
              method: "POST",
              headers: {
                "x-key": options.apiKey,
                "content-type": "application/json",
                accept: "application/json",
                "content-length": String(body.length),
              },
              ...body.init(),
            },
            remaining(),
            signal,
          ),
        noAnswer: async (outcome) => {
          if (!body.handedOverWhole()) {
            // The upload stopped short of a complete body, so no task exists: say so rather than "unknown".
            if (outcome.kind !== "aborted") await checksSettled;
            if (checkFailure) throw checkFailure.error;
            if (outcome.kind === "aborted") return cancelledBeforeSubmit();
            if (outcome.kind === "timeout" || !outcome.refused)
              return new FluxFillError(
                "upstream_unreachable",
                `The upload to ${describeHost(url, "the upstream")} failed before it was complete (${outcome.kind === "timeout" ? "no progress before the deadline" : outcome.reason}), so no task was created and nothing was charged.`,
                { suggestion: "Check the network and BFL_API_BASE_URL, then try again.", details: { provider: "bfl" } },
              );
          }
          if (outcome.kind === "aborted") {
            return new FluxFillError(
              "cancelled",
              `The ${job} was cancelled while the submit was in flight; whether a task was created (and charged) is unknown. It was not resubmitted.`,
              {
                suggestion: "Check https://dashboard.bfl.ai for a new task.",
                details: { provider: "bfl", outcomeUnknown: true },
              },
            );
          }
          if (outcome.kind === "timeout") {
            return new FluxFillError(
              "upstream_failed",
              `The submit to ${describeHost(url, "the upstream")} got no answer within the ${Math.round(options.timeoutMs / 1000)} s deadline. Whether a task was created (and charged) is unknown, so it was NOT resubmitted, to avoid paying twice.`,
              {
                suggestion:
                  "Check https://dashboard.bfl.ai for a new task before trying again; raise FLUX_FILL_TIMEOUT_S for slow uploads.",
                details: { provider: "bfl", outcomeUnknown: true },
              },
            );
          }
          if (outcome.refused) {
            return new FluxFillError(
              "upstream_unreachable",
              `Could not connect to ${describeHost(url, "the upstream")} to submit the task (${outcome.reason}). Nothing was sent, so nothing was charged.`,
              { suggestion: "Check the network and BFL_API_BASE_URL, then try again.", details: { provider: "bfl" } },
            );
          }
          return new FluxFillError(
            "upstream_failed",
            `The connection to ${describeHost(url, "the upstream")} failed during the submit (${outcome.reason}). Whether a task was created (and charged) is unknown, so it was NOT resubmitted, to avoid paying twice.`,
            {
              suggestion: "Check https://dashboard.bfl.ai for a new task before trying again.",
              details: { provider: "bfl", outcomeUnknown: true },
            },
          );
        },
        read: (answer) => {
          if (answer.status !== 200) throw submitHttpError(answer.status, upstreamMessage(answer.body, answer.text));
          const task = parseSubmitResponse(answer.body, baseUrl);
          if (task) return task;
          throw new FluxFillError(
            "upstream_failed",
            `Black Forest Labs accepted the submit but its answer has no task id (${upstreamMessage(answer.body, answer.text) ?? "empty body"}). A task may have been created and charged; it was not resubmitted.`,
            {
              suggestion: "Check https://dashboard.bfl.ai for a new task.",
              details: { provider: "bfl", outcomeUnknown: true },
            },
          );
        },
        gaveUp: ({ attempt, wait, retryAfter, message }) => {
          const base = submitHttpError(429, message);
          const why =
            attempt >= maxSubmitAttempts
              ? `Gave up after ${attempt} attempts.`
              : `The next retry (in ${Math.ceil(wait / 1000)} s) would pass the deadline.`;
          return new FluxFillError(base.kind, `${base.message} ${why} Nothing was charged.`, {
            ...(base.suggestion === undefined ? {} : { suggestion: base.suggestion }),
            details: {
              ...base.details,
              attempts: attempt,
              ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }),
            },
          });
        },
        retrying: (wait, attempt) =>
          progress(
            "RateLimited",
            `Black Forest Labs is busy (HTTP 429); retrying the submit in ${(wait / 1000).toFixed(1)} s (attempt ${attempt + 1} of ${maxSubmitAttempts}).`,
          ),
      });
    };

    let task: SubmittedTask;
    let uploadNotes: string[] = [];
    if ("resume" in work) task = work.resume;
    else {
      const sending = await fitToBodyLimit(work.request, maxBodyBytes);
      uploadNotes = sending.notes;
      task = await submit(sending.request);
    }
    if (request !== undefined) {
      try {
        await context.onSubmitted?.({ upstreamId: task.id, pollingUrl: task.pollingUrl, cost: task.cost });
      } catch {
        // Journalling is the caller's business; the paid task is collected all the same.
      }
    }
    const taskFacts = { provider: "bfl", taskId: task.id, pollingUrl: task.pollingUrl };
    progress(
      "Submitted",
      `Submitted task ${task.id}${task.cost === undefined ? "" : ` (${task.cost} credits)`}; waiting for the result.`,
    );

    let lastStatus = "Submitted";
    const cancelled = () =>
      new FluxFillError(
        "cancelled",
        `The ${job} was cancelled while waiting for Black Forest Labs task ${task.id} (last status ${lastStatus}). The task keeps running upstream and is charged. ${EXPIRY_NOTE}`,
        { details: { ...taskFacts, lastStatus } },
      );
    const timedOut = () =>
      new FluxFillError(
        "timeout",
        `Black Forest Labs task ${task.id} was still ${lastStatus} when the ${Math.round(options.timeoutMs / 1000)} s deadline passed. It may still finish upstream (and is charged); ${EXPIRY_NOTE}`,
        {
          suggestion: "Raise FLUX_FILL_TIMEOUT_S for large images or busy periods.",
          details: { ...taskFacts, lastStatus, elapsedMs: elapsed() },
        },
      );
    /** Waits `ms` but never past the deadline; throws when cancelled. */
    const waitWithinDeadline = async (ms: number) => {
      if (await pause(Math.min(ms, Math.max(0, remaining())))) throw cancelled();
    };

    const pollUntilReady = async (): Promise<Record<string, unknown>> => {
      let failures = 0;
      let lastProblem = "";
      /** A Retry-After from the last failed poll, honoured instead of the backoff. */
      let askedWaitMs: number | undefined;
      // The adaptive schedule's clock starts when the task exists; times below are ms since then.
      const submittedAt = now();
      const sent: { polls: number; lastPollAtMs: number | undefined; lastAnswerAtMs: number | undefined } = {
        polls: 0,
        lastPollAtMs: undefined,
        lastAnswerAtMs: undefined,
      };
      /** Every Pending answer: when its poll was sent, and the progress it reported. */
      const observations: ProgressObservation[] = [];
      const pollState = (): PollState => ({ ...sent, elapsedMs: now() - submittedAt, observations });
      /** Extra wait the hard limits of the adaptive schedule still ask for (0 on a fixed interval). */
      const floorDelay = () => (fixedPollIntervalMs === undefined ? guardPollDelay(0, pollState()) : 0);
      for (;;) {
        const retryBase = fixedPollIntervalMs ?? ADAPTIVE_POLL_RETRY_BASE_MS;
        const backoff = backoffDelayMs(failures, retryBase, MAX_POLL_BACKOFF_MS);
        const scheduled = fixedPollIntervalMs ?? nextPollDelay(pollState(), durationHistory.values());
        await waitWithinDeadline(failures === 0 ? scheduled : Math.max(askedWaitMs ?? backoff, floorDelay()));
        // A timer may fire a millisecond early; the floor between polls must hold all the same.
        for (let tries = 0; tries < 3 && floorDelay() > 0 && remaining() > 0; tries++) {
          await waitWithinDeadline(floorDelay());
        }
        askedWaitMs = undefined;
        if (remaining() <= 0) throw timedOut();
        const sentAtMs = now() - submittedAt;
        sent.polls += 1;
        sent.lastPollAtMs = sentAtMs;
        const outcome = await exchange(
          task.pollingUrl,
          { method: "GET", headers: { "x-key": options.apiKey, accept: "application/json" } },
          Math.min(remaining(), pollRequestTimeoutMs),
          signal,
        );
        sent.lastAnswerAtMs = now() - submittedAt;
        if (outcome.kind === "aborted") throw cancelled();
        let problem: string | undefined;
        let poll: ReturnType<typeof parsePollResponse>;
        if (outcome.kind === "timeout") {
          if (remaining() <= 0) throw timedOut();
          problem = "the status request timed out";
        } else if (outcome.kind === "network") {
          problem = `connection failed (${outcome.reason})`;
        } else if (outcome.answer.status === 200) {
          poll = parsePollResponse(outcome.answer.body);
          if (!poll)
            problem = `unreadable status answer (${upstreamMessage(undefined, outcome.answer.text) ?? "empty body"})`;
        } else if (outcome.answer.status === 429 || outcome.answer.status >= 500) {
          const message = upstreamMessage(outcome.answer.body, outcome.answer.text);
          problem = `HTTP ${outcome.answer.status}${message ? `: ${message}` : ""}`;
          askedWaitMs = parseRetryAfter(outcome.answer.headers.get("retry-after"), now());
        } else {
          const { status } = outcome.answer;
          const message = upstreamMessage(outcome.answer.body, outcome.answer.text);
          const keyProblem = status === 401 || status === 403;
          throw new FluxFillError(
            "upstream_failed",
            `${keyProblem ? "Black Forest Labs rejected the API key" : "Black Forest Labs refused the status request"} for task ${task.id} (HTTP ${status}${message ? `: ${message}` : ""}). The task itself may still finish; ${EXPIRY_NOTE}`,
            {
              suggestion: keyProblem
                ? "Check BFL_API_KEY, and that it belongs to the host in the polling URL."
                : "Try fetching the task again later by its id.",
              details: { ...taskFacts, httpStatus: status },
            },
          );
        }
        if (problem !== undefined || !poll) {
          failures++;
          lastProblem = problem ?? "no status";
          if (failures >= MAX_CONSECUTIVE_POLL_FAILURES) {
            throw new FluxFillError(
              "upstream_failed",
              `The status of Black Forest Labs task ${task.id} could not be read ${failures} times in a row (last: ${lastProblem}). The task may still finish; ${EXPIRY_NOTE}`,
              { suggestion: "Try fetching the task again later by its id.", details: { ...taskFacts, lastStatus } },
            );
          }
          progress(lastStatus, `Status check for task ${task.id} failed (${lastProblem}); retrying.`);
          continue;
        }
        failures = 0;
        lastStatus = poll.status;
        const kind = classifyTaskStatus(poll.status);
        if (kind === "ready") {
          durationHistory.add(readyTimeEstimate(observations.at(-1)?.atMs, sentAtMs));
          if (poll.result) return poll.result;
          throw new FluxFillError(
            "upstream_failed",
            `Black Forest Labs task ${task.id} is Ready but its answer has no result.`,
            {
              suggestion: "Try fetching the task again by its id.",
              details: { ...taskFacts, status: poll.status },
            },
          );
        }
        if (kind !== "pending") throw terminalStatusError(task, poll, { safetyTolerance });
        observations.push({ atMs: sentAtMs, progress: poll.progress });
        const percent = poll.progress === undefined ? "" : ` (${Math.round(poll.progress * 100)}%)`;
        progress(
          poll.status,
          `Task ${task.id}: ${poll.status}${percent}, ${(elapsed() / 1000).toFixed(1)} s elapsed.`,
          poll.progress,
        );
        if (signal.aborted) throw cancelled();
      }
    };

    /** Downloads the signed result URL without the key (downloadResult). */
    const download = (sampleUrl: string): Promise<Buffer> => {
      const failed = (why: string, httpStatus?: number) =>
        new FluxFillError(
          "upstream_failed",
          `The result of Black Forest Labs task ${task.id} is ready but could not be downloaded: ${why}. ${EXPIRY_NOTE}`,
          {
            suggestion: "Fetch the task again by its id soon, before the result expires.",
            details: { ...taskFacts, ...(httpStatus === undefined ? {} : { httpStatus }) },
          },
        );
      return downloadResult(sampleUrl, {
        ...settings.download,
        failed,
        expiryHint: (status) => (status === 403 ? ", the signed URL may have expired" : ""),
      });
    };

    const result = await pollUntilReady();
    const sample = result.sample;
    if (typeof sample !== "string") {
      throw new FluxFillError(
        "upstream_failed",
        `Black Forest Labs task ${task.id} is Ready but gives no result URL.`,
        {
          suggestion: "Try fetching the task again by its id.",
          details: { ...taskFacts },
        },
      );
    }
    progress("Downloading", `Task ${task.id} is ready; downloading the result.`, 1);
    const checked = await checkSample(await download(sample), task.id);
    const notes = [...uploadNotes, ...checked.notes];
    const expected = request === undefined ? undefined : outputSize(request);
    if (expected && (checked.width !== expected.width || checked.height !== expected.height)) {
      const asked = kind === "fill" ? "the input was" : "the expansion asked for";
      notes.push(
        `The upstream returned ${checked.width}x${checked.height}, ${asked} ${expected.width}x${expected.height}.`,
      );
    }
    const seed = typeof result.seed === "number" && Number.isInteger(result.seed) ? result.seed : params.seed;
    return {
      provider: "bfl",
      bytes: checked.bytes,
      format: checked.format,
      upstreamId: task.id,
      ...(task.cost === undefined ? {} : { cost: task.cost }),
      ...(seed === undefined ? {} : { seed }),
      notes,
    };
  }

  return {
    name: "bfl",
    estimateCredits: (kind) => PRICE_CREDITS[kind],
    fill: (request, context) =>
      withoutSecrets(() => fill({ request }, context), [options.apiKey, request.params.webhook_secret ?? ""]),
    resume: (task, submitted, context) =>
      withoutSecrets(
        () =>
          fill({ resume: { id: task.upstreamId, pollingUrl: task.pollingUrl, cost: task.cost }, submitted }, context),
        [options.apiKey, submitted.params.webhook_secret ?? ""],
      ),
    async balance(signal) {
      const outcome = await exchange(
        `${baseUrl}${CREDITS_PATH}`,
        { method: "GET", headers: { "x-key": options.apiKey, accept: "application/json" } },
        BALANCE_TIMEOUT_MS,
        signal,
      );
      if (outcome.kind !== "response" || outcome.answer.status !== 200) return undefined;
      const credits = (outcome.answer.body as { credits?: unknown } | undefined)?.credits;
      return typeof credits === "number" && Number.isFinite(credits) ? credits : undefined;
    },
  };
}
