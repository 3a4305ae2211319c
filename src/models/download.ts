import { createWriteStream } from "node:fs";
import { stat, truncate } from "node:fs/promises";
import { once } from "node:events";
import { FluxFillError } from "../errors.js";
import { networkReason } from "../providers/upstream/download.js";

/**
 * One large file to disk, resumable: a `.part` file left by an interrupted download is continued with an
 * HTTP Range request when the server honours it (206 with the matching Content-Range), and started over
 * when it does not (200, 416, another range). A size cap before and while reading, an overall deadline
 * and an idle deadline (no byte for that long). On failure the part stays for the next try.
 */

export interface DownloadOptions {
  /** What is downloaded, for messages ("sam2.1-tiny"). */
  label: string;
  maxBytes: number;
  /** Deadline of the whole download. */
  timeoutMs: number;
  /** Longest wait for the next bytes. */
  idleTimeoutMs: number;
  fetch?: typeof fetch;
  onProgress?: (received: number, total: number | undefined) => void;
  signal?: AbortSignal;
}

export interface DownloadOutcome {
  bytes: number;
  /** Bytes that were already on disk and kept (0 when the download started from the beginning). */
  resumedFrom: number;
}

async function sizeOnDisk(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

/** `bytes START-END/TOTAL` → START (undefined when absent or malformed). */
function rangeStart(header: string | null): number | undefined {
  const match = header ? /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(header.trim()) : null;
  return match ? Number(match[1]) : undefined;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

export async function downloadResumable(url: string, partFile: string, options: DownloadOptions): Promise<DownloadOutcome> {
  const doFetch = options.fetch ?? fetch;
  const host = hostOf(url);
  const fix = "Check the network and run the command again (it resumes), or set FLUX_FILL_MODELS_BASE_URL to a mirror that serves the same files.";
  const overall = AbortSignal.timeout(options.timeoutMs);
  const idle = new AbortController();
  const signals = [overall, idle.signal, ...(options.signal ? [options.signal] : [])];
  const signal = AbortSignal.any(signals);
  let idleTimer: NodeJS.Timeout | undefined;
  const touch = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => idle.abort(), options.idleTimeoutMs);
  };
  const why = (): FluxFillError => {
    if (options.signal?.aborted) return new FluxFillError("cancelled", `Download of ${options.label} cancelled.`);
    const seconds = (ms: number) => `${Number((ms / 1000).toFixed(1))} s`;
    const what = idle.signal.aborted
      ? `no data from ${host} for ${seconds(options.idleTimeoutMs)}`
      : `not finished within ${seconds(options.timeoutMs)}`;
    return new FluxFillError("timeout", `Download of ${options.label} stopped: ${what}.`, { suggestion: fix });
  };

  let existing = await sizeOnDisk(partFile);
  if (existing > options.maxBytes) {
    await truncate(partFile, 0);
    existing = 0;
  }
  touch();
  try {
    let response: Response;
    try {
      response = await doFetch(url, { headers: existing > 0 ? { range: `bytes=${existing}-` } : {}, signal });
    } catch (error) {
      if (signal.aborted) throw why();
      throw new FluxFillError(
        "upstream_unreachable",
        `Could not reach ${host} to download ${options.label} (${networkReason(error).reason}).`,
        { suggestion: fix },
      );
    }
    let append = false;
    if (existing > 0 && response.status === 206 && rangeStart(response.headers.get("content-range")) === existing) {
      append = true;
    } else if (existing > 0 && (response.status === 206 || response.status === 416)) {
      // A range we did not ask for, or the part is not a prefix of the file any more: start over.
      await response.body?.cancel();
      await truncate(partFile, 0);
      return await downloadResumable(url, partFile, options);
    }
    if (!append && response.status !== 200) {
      await response.body?.cancel();
      throw new FluxFillError(
        "upstream_failed",
        `Download of ${options.label} from ${host} failed: HTTP ${response.status}${response.status === 404 ? " (not found)" : ""}.`,
        { suggestion: fix },
      );
    }
    const start = append ? existing : 0;
    const length = Number(response.headers.get("content-length") ?? Number.NaN);
    const total = Number.isFinite(length) ? start + length : undefined;
    const tooLarge = () =>
      new FluxFillError("too_large", `Download of ${options.label} from ${host} is larger than the ${options.maxBytes} bytes allowed for it.`, {
        suggestion: "The file on the host is not the one expected; check FLUX_FILL_MODELS_BASE_URL.",
      });
    if (total !== undefined && total > options.maxBytes) {
      await response.body?.cancel();
      throw tooLarge();
    }
    const out = createWriteStream(partFile, { flags: append ? "a" : "w" });
    let received = start;
    try {
      if (response.body) {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          touch();
          received += chunk.length;
          if (received > options.maxBytes) throw tooLarge();
          if (!out.write(chunk)) await once(out, "drain");
          options.onProgress?.(received, total);
        }
      }
    } catch (error) {
      if (error instanceof FluxFillError) throw error;
      if (signal.aborted) throw why();
      throw new FluxFillError(
        "upstream_unreachable",
        `Download of ${options.label} from ${host} broke off after ${received} bytes (${networkReason(error).reason}).`,
        { suggestion: fix },
      );
    } finally {
      out.end();
      await once(out, "close");
    }
    if (total !== undefined && received !== total) {
      throw new FluxFillError("upstream_failed", `Download of ${options.label} from ${host} ended after ${received} of ${total} bytes.`, {
        suggestion: fix,
      });
    }
    return { bytes: received, resumedFrom: start };
  } finally {
    clearTimeout(idleTimer);
  }
}
