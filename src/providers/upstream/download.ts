import { FluxFillError } from "../../errors.js";
import { parseJsonBody, upstreamMessage } from "./answers.js";
import { backoffDelayMs } from "./retry.js";

/**
 * Downloading a finished task's result, for every upstream host: a fresh header set (the key never reaches
 * the delivery host), a size cap, retries on 5xx/429/network errors within one deadline, and a clear error
 * when the URL has expired. Not interrupted by the caller's signal: the result is paid for.
 */

const MAX_DOWNLOAD_ATTEMPTS = 3;
/** Largest result accepted (a 4 MP PNG is ~12 MB; this leaves room and still bounds memory). */
export const MAX_SAMPLE_BYTES = 100 * 1024 * 1024;
const NEVER_ABORTS = new AbortController().signal;

/** Network failure codes that prove the request never reached the server. */
const NOT_SENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN"]);

/** A fetch failure's cause as one line ("ECONNRESET: socket hang up"), and whether the request never left. */
export function networkReason(error: unknown): { reason: string; refused: boolean } {
  const cause = error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === "string" ? cause.code : undefined;
  const detail =
    typeof cause?.message === "string" ? cause.message : error instanceof Error ? error.message : String(error);
  return { reason: code ? `${code}: ${detail}` : detail, refused: code !== undefined && NOT_SENT_CODES.has(code) };
}

export interface ResultDownload {
  fetch: typeof fetch;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  now: () => number;
  timeoutMs: number;
  /** The error to throw, naming the task and the host (its message ends with why). */
  failed: (why: string, httpStatus?: number) => FluxFillError;
  /** What an HTTP status says about the URL, e.g. ", the signed URL may have expired" for 403; "" when nothing. */
  expiryHint: (status: number) => string;
  /** A host may answer with the image inline (a data: URL) instead of a link. */
  allowDataUrl?: boolean;
}

export async function downloadResult(resultUrl: string, d: ResultDownload): Promise<Buffer> {
  let url: URL;
  try {
    url = new URL(resultUrl);
  } catch {
    throw d.failed("the result URL is not a URL");
  }
  if (url.protocol === "data:" && d.allowDataUrl === true) {
    const bytes = Buffer.from(resultUrl.slice(resultUrl.indexOf(",") + 1), "base64");
    if (bytes.length > MAX_SAMPLE_BYTES)
      throw d.failed(`it is ${bytes.length} bytes, over the ${MAX_SAMPLE_BYTES}-byte cap`);
    return bytes;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw d.failed(`the result URL uses ${url.protocol}`);
  const deadline = d.now() + d.timeoutMs;
  let lastWhy = "";
  for (let attempt = 1; attempt <= MAX_DOWNLOAD_ATTEMPTS; attempt++) {
    const left = deadline - d.now();
    if (left <= 0) break;
    try {
      // A fresh header set: the key must never reach the delivery host.
      const response = await d.fetch(url, {
        method: "GET",
        headers: { accept: "image/*" },
        signal: AbortSignal.timeout(left),
      });
      if (response.status === 200) {
        const declared = Number(response.headers.get("content-length"));
        if (declared > MAX_SAMPLE_BYTES)
          throw d.failed(`it is ${declared} bytes, over the ${MAX_SAMPLE_BYTES}-byte cap`);
        const bytes = Buffer.from(await response.arrayBuffer());
        if (bytes.length > MAX_SAMPLE_BYTES)
          throw d.failed(`it is ${bytes.length} bytes, over the ${MAX_SAMPLE_BYTES}-byte cap`);
        return bytes;
      }
      const text = await response.text().catch(() => "");
      const message = upstreamMessage(parseJsonBody(text), text);
      const why = `HTTP ${response.status}${message ? ` (${message})` : ""}${d.expiryHint(response.status)}`;
      if (response.status < 500 && response.status !== 429) throw d.failed(why, response.status);
      lastWhy = why;
    } catch (error) {
      if (error instanceof FluxFillError) throw error;
      lastWhy =
        error instanceof Error && error.name === "TimeoutError"
          ? "the download timed out"
          : networkReason(error).reason;
    }
    if (attempt < MAX_DOWNLOAD_ATTEMPTS) {
      await d.sleep(Math.min(backoffDelayMs(attempt, 200, 2000), Math.max(0, deadline - d.now())), NEVER_ABORTS);
    }
  }
  throw d.failed(lastWhy || "the download timed out");
}
