/**
 * The upstream send wrapper every provider uses: one HTTP exchange bounded by a timeout and the caller's
 * signal, the body read whole (and parsed when JSON), each failure sorted into what the money rules need
 * (aborted by the caller, timed out, or a network error and whether the request surely never left).
 * Around it: the run of one fill (deadline, waits that end on abort, progress that carries no secret and
 * never throws) and the rule that a submit is repeated only after a 429.
 */
import { FluxFillError } from "../../errors.js";
import type { FillContext } from "../types.js";
import { parseJsonBody, upstreamMessage } from "./answers.js";
import { networkReason } from "./download.js";
import { redactText } from "./redact.js";
import { backoffDelayMs, parseRetryAfter } from "./retry.js";

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The text as JSON; undefined when it is not JSON. */
  body: unknown;
}

export type SendOutcome =
  | { kind: "response"; answer: HttpAnswer }
  | { kind: "aborted" }
  | { kind: "timeout" }
  | { kind: "network"; reason: string; refused: boolean };

/** An exchange that brought no answer. */
export type NoAnswer = Exclude<SendOutcome, { kind: "response" }>;

/** One HTTP exchange, body read included, bounded by `timeoutMs` and (when given) the caller's signal. */
export type Send = (url: string, init: RequestInit, timeoutMs: number, signal?: AbortSignal) => Promise<SendOutcome>;

/** A `Send` over `doFetch`; `defaults` go into every request (a host's `redirect: "error"`, say). */
export function createSend(doFetch: typeof fetch, defaults: RequestInit = {}): Send {
  return async (url, init, timeoutMs, signal) => {
    const timeout = AbortSignal.timeout(Math.max(1, timeoutMs));
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      const response = await doFetch(url, { ...defaults, ...init, signal: combined });
      const text = await response.text();
      return {
        kind: "response",
        answer: { status: response.status, headers: response.headers, text, body: parseJsonBody(text) },
      };
    } catch (error) {
      if (signal?.aborted) return { kind: "aborted" };
      if (timeout.aborted) return { kind: "timeout" };
      return { kind: "network", ...networkReason(error) };
    }
  };
}

/** What every upstream client takes; each provider adds its own (base URL, poll schedule, …). */
export interface UpstreamOptions {
  apiKey: string;
  /** Overall deadline of one fill, from its start. */
  timeoutMs: number;
  fetch?: typeof fetch;
  /** Waits `ms`; rejects (or resolves early) when `signal` aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  now?: () => number;
  /** First wait after a 429 without Retry-After (doubles each time). Default 1000. */
  retryBaseMs?: number;
  /** Submits tried while the upstream answers 429. Default 5. */
  maxSubmitAttempts?: number;
  /** Cap on one poll request (a hung poll is retried). Default 30 000. */
  pollRequestTimeoutMs?: number;
  /** Cap on downloading the result; independent of the deadline, since the result is already paid for. Default 60 000. */
  downloadTimeoutMs?: number;
}

/** The options with their defaults filled in. */
export function upstreamSettings(options: UpstreamOptions) {
  const clock = {
    fetch: options.fetch ?? fetch,
    sleep: options.sleep ?? sleepWithSignal,
    now: options.now ?? Date.now,
  };
  return {
    ...clock,
    retryBaseMs: options.retryBaseMs ?? 1000,
    maxSubmitAttempts: options.maxSubmitAttempts ?? 5,
    pollRequestTimeoutMs: options.pollRequestTimeoutMs ?? 30_000,
    /** What `downloadResult` takes of these settings; the provider adds its words. */
    download: { ...clock, timeoutMs: options.downloadTimeoutMs ?? 60_000 },
  };
}

/** Waits `ms`, rejecting with the signal's reason as soon as it aborts. */
export function sleepWithSignal(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** A key is one printable ASCII token: anything else would break (and be echoed by) header validation. */
export function checkApiKey(apiKey: string, keyName: string, where: string): void {
  if (!/^[\x21-\x7e]+$/.test(apiKey)) {
    throw new FluxFillError(
      "bad_input",
      `${keyName} is empty or contains spaces or non-ASCII characters; an API key is a single printable token.`,
      { suggestion: `Copy the key again from ${where} into ${keyName}.` },
    );
  }
}

/** The host of `url` for messages (never the path or query, which may carry ids); `fallback` when unreadable. */
export function describeHost(url: string, fallback: string): string {
  try {
    return new URL(url).host;
  } catch {
    return fallback;
  }
}

/** One fill against an upstream: its clock and deadline, its progress reports and its waits. */
export interface FillRun {
  elapsed(): number;
  /** Milliseconds left before the fill's deadline (negative once passed). */
  remaining(): number;
  /** Reports progress with the secrets redacted; a failing listener is ignored. */
  progress(status: string, message: string, fraction?: number): void;
  /** Sleeps `ms` (never negative); true when `on` (by default the run's wait signal) aborted meanwhile. */
  pause(ms: number, on?: AbortSignal): Promise<boolean>;
}

export function startFillRun(
  context: FillContext,
  options: {
    timeoutMs: number;
    now: () => number;
    sleep: (ms: number, signal: AbortSignal) => Promise<void>;
    /** Replaced in every progress message. */
    secrets: readonly string[];
    /** What ends a wait when `pause` is given none. Default the fill's signal. */
    waitSignal?: AbortSignal;
  },
): FillRun {
  const { now, sleep } = options;
  const startedAt = now();
  const deadline = startedAt + options.timeoutMs;
  const waitSignal = options.waitSignal ?? context.signal;
  return {
    elapsed: () => now() - startedAt,
    remaining: () => deadline - now(),
    progress(status, message, fraction) {
      try {
        context.onProgress?.({
          status,
          elapsedMs: now() - startedAt,
          ...(fraction === undefined ? {} : { fraction }),
          message: redactText(message, options.secrets),
        });
      } catch {
        // A failing progress listener must not fail (or double-charge) the fill.
      }
    },
    async pause(ms, on = waitSignal) {
      try {
        await sleep(Math.max(0, ms), on);
      } catch (error) {
        if (!on.aborted) throw error;
      }
      return on.aborted;
    },
  };
}

const MAX_RETRY_WAIT_MS = 30_000;

/** What a provider says and decides around the shared submit rule; the words stay the provider's. */
export interface SubmitAttempts<T> {
  run: FillRun;
  now: () => number;
  /** First wait after a 429 without Retry-After (doubles each time). */
  retryBaseMs: number;
  maxAttempts: number;
  /** True when the caller stopped waiting (checked before each attempt). */
  stopped(): boolean;
  /** One attempt (each sends a fresh body). */
  send(): Promise<SendOutcome>;
  /** The error for an attempt that got no answer: unknown outcome, unless the request surely never left. */
  noAnswer(outcome: NoAnswer): FluxFillError | Promise<FluxFillError>;
  /** Any answer but a 429: the job it names, or a thrown error. */
  read(answer: HttpAnswer): T;
  /** Stopped before a task existed: nothing was charged. */
  cancelledBeforeSubmit(): FluxFillError;
  /** 429s until the attempts or the deadline ran out. */
  gaveUp(facts: {
    attempt: number;
    wait: number;
    retryAfter: number | undefined;
    message: string | undefined;
  }): FluxFillError;
  /** Says that a 429 is retried after `wait` ms (attempt `attempt + 1` comes next). */
  retrying(wait: number, attempt: number): void;
}

/**
 * The money rule of a submit: repeated only after a 429 (the upstream surely created nothing), after its
 * Retry-After or a doubling backoff, a bounded number of times and never past the deadline. After a 5xx,
 * a dropped connection or a timeout the outcome is unknown, and the provider's error says so.
 */
export async function submitUntilAccepted<T>(a: SubmitAttempts<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    if (a.stopped()) throw a.cancelledBeforeSubmit();
    const outcome = await a.send();
    if (outcome.kind !== "response") throw await a.noAnswer(outcome);
    const { answer } = outcome;
    if (answer.status !== 429) return a.read(answer);
    const retryAfter = parseRetryAfter(answer.headers.get("retry-after"), a.now());
    const wait = retryAfter ?? backoffDelayMs(attempt, a.retryBaseMs, MAX_RETRY_WAIT_MS);
    if (attempt >= a.maxAttempts || wait >= a.run.remaining()) {
      throw a.gaveUp({ attempt, wait, retryAfter, message: upstreamMessage(answer.body, answer.text) });
    }
    a.retrying(wait, attempt);
    if (await a.run.pause(wait)) throw a.cancelledBeforeSubmit();
  }
}
