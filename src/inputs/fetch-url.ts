import type { LookupAddress } from "node:dns";
import dns from "node:dns/promises";
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { FluxFillError } from "../errors.js";
import { isForbiddenAddress } from "./address-guard.js";
import type { InputLabel } from "./reference.js";
import { formatBytes, inputTooLarge } from "./sizes.js";

/**
 * Downloads one http(s) input with an SSRF guard and size/time caps. Every address a host resolves to is
 * checked inside the socket's own `lookup`, and the socket connects only to those checked addresses, so
 * DNS cannot answer differently between check and connect (rebinding). Redirects are followed by hand
 * and each hop is checked again. No cookies, credentials or compression are ever sent or asked for.
 */

export const MAX_REDIRECTS = 5;

export interface FetchUrlOptions {
  /** Skip the address guard (FLUX_FILL_ALLOW_PRIVATE_URLS=1; tests with servers on 127.0.0.1). */
  allowPrivate: boolean;
  /** Deadline for the whole download, redirects included. */
  timeoutMs: number;
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /** Aborts the download (reported as `cancelled`). */
  signal?: AbortSignal;
  /** Which input this is, for messages. */
  label: InputLabel;
  /** Resolves a host name to all its addresses (tests; defaults to dns.lookup with all: true). */
  resolveHost?: (hostname: string, family: number) => Promise<LookupAddress[]>;
  /** The address guard (tests; defaults to isForbiddenAddress). */
  isForbidden?: (hostOrAddress: string) => boolean;
}

export interface FetchedUrl {
  bytes: Buffer;
  contentType?: string;
  /** The URL the body came from, after redirects (may hold a query string: do not show it). */
  finalUrl: string;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** A URL as it may appear in messages and logs: no credentials, query string or fragment (signed tokens). */
export function urlForMessage(url: URL | string): string {
  try {
    const parsed = typeof url === "string" ? new URL(url) : url;
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return "(an invalid URL)";
  }
}

export async function fetchUrl(url: string, options: FetchUrlOptions): Promise<FetchedUrl> {
  const { label, signal } = options;
  const start = parseHttpUrl(url, label);
  const deadline = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    deadline.abort();
  }, options.timeoutMs);
  const forwardAbort = () => deadline.abort();
  signal?.addEventListener("abort", forwardAbort, { once: true });
  let current = start;
  try {
    if (signal?.aborted) throw cancelled(label, start);
    for (let redirects = 0; ; redirects++) {
      const response = await requestOnce(current, options, deadline.signal);
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (REDIRECT_STATUSES.has(status) && location) {
        response.destroy();
        if (redirects >= MAX_REDIRECTS) {
          throw new FluxFillError(
            "bad_input",
            `Too many redirects (more than ${MAX_REDIRECTS}) fetching ${label} from ${urlForMessage(start)}.`,
            { suggestion: "Give the final URL of the image directly." },
          );
        }
        current = nextHop(current, location, label);
        continue;
      }
      if (status < 200 || status >= 300) {
        response.destroy();
        throw new FluxFillError("bad_input", `HTTP ${status} fetching ${label} from ${urlForMessage(current)}.`, {
          suggestion:
            status >= 400
              ? "Check that the URL is right, public, and still valid (signed URLs expire)."
              : "Give a URL that returns the image itself.",
          details: { input: label, status },
        });
      }
      const bytes = await readBody(response, options, current, deadline.signal);
      const contentType = response.headers["content-type"];
      return { bytes, finalUrl: current.href, ...(contentType ? { contentType } : {}) };
    }
  } catch (error) {
    if (error instanceof FluxFillError) throw error;
    if (timedOut) {
      throw new FluxFillError(
        "timeout",
        `Timed out after ${formatSeconds(options.timeoutMs)} fetching ${label} from ${current.host}.`,
        {
          suggestion: "Check that the host answers, or raise FLUX_FILL_FETCH_TIMEOUT_S in the server's env.",
          details: { input: label, host: current.host },
        },
      );
    }
    if (signal?.aborted) throw cancelled(label, current);
    const code = (error as { code?: unknown }).code;
    const reason = typeof code === "string" ? code : error instanceof Error ? error.message : String(error);
    throw new FluxFillError("bad_input", `Could not fetch ${label} from ${urlForMessage(current)}: ${reason}.`, {
      suggestion: "Check the URL and that its host is reachable from this server.",
      details: { input: label, host: current.host },
    });
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", forwardAbort);
  }
}

function parseHttpUrl(text: string, label: InputLabel): URL {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new FluxFillError("bad_input", `The ${label} URL is not a valid URL.`, {
      suggestion: "Give a full URL such as https://example.com/photo.png.",
    });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new FluxFillError("bad_input", `The ${label} URL must use http or https, not "${url.protocol}".`);
  }
  return url;
}

function nextHop(from: URL, location: string, label: InputLabel): URL {
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    throw new FluxFillError("bad_input", `${urlForMessage(from)} redirected to an invalid URL while fetching ${label}.`);
  }
  if (next.protocol !== "http:" && next.protocol !== "https:") {
    throw new FluxFillError(
      "bad_input",
      `${urlForMessage(from)} redirected to a "${next.protocol}" URL while fetching ${label}; only http(s) redirects are followed.`,
    );
  }
  return next;
}

/** Opens one request and resolves with its response headers (the body is not read yet). */
function requestOnce(url: URL, options: FetchUrlOptions, signal: AbortSignal): Promise<http.IncomingMessage> {
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const isForbidden = options.isForbidden ?? isForbiddenAddress;
  // IP literals never reach `lookup`, and names like `localhost` are refused whatever they resolve to.
  if (!options.allowPrivate && isForbidden(hostname)) {
    return Promise.reject(refused(options.label, url, hostname));
  }
  const client = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(
      {
        protocol: url.protocol,
        hostname,
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        method: "GET",
        // A fresh agent: no pooled socket to an address checked for another request.
        agent: false,
        headers: {
          "user-agent": "flux-fill-mcp",
          accept: "image/*, application/octet-stream;q=0.9, */*;q=0.1",
          "accept-encoding": "identity",
        },
        signal,
        ...(options.allowPrivate ? {} : { lookup: guardedLookup(url, options, isForbidden) }),
      },
      resolve,
    );
    request.on("error", reject);
    request.end();
  });
}

/** A socket `lookup` that resolves every address, refuses the host if any is forbidden, else hands them on. */
function guardedLookup(url: URL, options: FetchUrlOptions, isForbidden: (address: string) => boolean): LookupFunction {
  const resolveHost = options.resolveHost ?? ((hostname, family) => dns.lookup(hostname, { all: true, family }));
  return (hostname, lookupOptions, callback) => {
    const { family = 0, all } = lookupOptions;
    const numericFamily = family === "IPv4" ? 4 : family === "IPv6" ? 6 : family;
    const answer = (addresses: LookupAddress[]) => {
      // A host that answers with both a public and a private address is a rebinding attempt: refuse it all.
      const bad = addresses.find((a) => isForbidden(a.address));
      if (bad) return callback(refused(options.label, url, hostname, bad.address), "");
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: "ENOTFOUND" }), "");
      if (all) return callback(null, addresses);
      callback(null, first.address, first.family);
    };
    Promise.resolve()
      .then(() => resolveHost(hostname, numericFamily))
      .then(answer, (error: NodeJS.ErrnoException) => callback(error, ""));
  };
}

function readBody(
  response: http.IncomingMessage,
  options: FetchUrlOptions,
  url: URL,
  signal: AbortSignal,
): Promise<Buffer> {
  const declared = Number(response.headers["content-length"]);
  if (Number.isFinite(declared) && declared > options.maxBytes) {
    response.destroy();
    return Promise.reject(tooLarge(options, url, `its Content-Length is ${formatBytes(declared)}`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const settle = (error: unknown, bytes?: Buffer) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      if (bytes) resolve(bytes);
      else reject(error);
    };
    const onAbort = () => {
      response.destroy();
      settle(signal.reason ?? new Error("aborted"));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    response.on("data", (chunk: Buffer) => {
      total += chunk.length;
      if (total > options.maxBytes) {
        response.destroy();
        settle(tooLarge(options, url, `the download passed ${formatBytes(options.maxBytes)} (no Content-Length was given)`));
        return;
      }
      chunks.push(chunk);
    });
    response.on("end", () => settle(undefined, Buffer.concat(chunks, total)));
    response.on("error", (error) => settle(error));
    response.on("close", () => settle(Object.assign(new Error("connection closed early"), { code: "ECONNRESET" })));
  });
}

function refused(label: InputLabel, url: URL, hostname: string, address?: string): FluxFillError {
  const what = address ? `${hostname} resolves to ${address}, which is` : `${hostname} is`;
  return new FluxFillError(
    "not_allowed",
    `The ${label} URL ${urlForMessage(url)} was not fetched: ${what} a loopback, private, link-local or ` +
      "otherwise non-public address, which this server does not reach (to protect the local network) unless " +
      "FLUX_FILL_ALLOW_PRIVATE_URLS=1 is set.",
    {
      suggestion:
        'To allow it, add "FLUX_FILL_ALLOW_PRIVATE_URLS": "1" to the "env" of this server in your MCP client\'s config.',
      details: { input: label, host: url.host },
    },
  );
}

function tooLarge(options: FetchUrlOptions, url: URL, size: string): FluxFillError {
  return inputTooLarge(options.label, `at ${urlForMessage(url)}`, size, options.maxBytes);
}

function cancelled(label: InputLabel, url: URL): FluxFillError {
  return new FluxFillError("cancelled", `Fetching ${label} from ${url.host} was cancelled.`);
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
