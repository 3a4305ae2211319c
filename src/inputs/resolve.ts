import fs from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Config } from "../config.js";
import { FluxFillError } from "../errors.js";
import { resolveAllowedPath } from "./allowed-paths.js";
import { base64Problem, compactBase64, decodedBase64Length } from "./base64.js";
import { fetchUrl, urlForMessage } from "./fetch-url.js";
import { detectImageSignature } from "./image-signature.js";
import { ACCEPTED_FORMS, classifyReference, type InputLabel } from "./reference.js";
import { formatBytes, inputTooLarge } from "./sizes.js";

/**
 * Turns an `image` or `mask` reference (path, file:// URL, http(s) URL, data URI, raw base64) into its
 * bytes, within the configured size, time and access limits. The bytes are not decoded as an image here.
 */

export interface ResolvedInput {
  bytes: Buffer;
  /** Where the bytes came from, for logs and sidecars; never holds the data or a URL's query string. */
  source: string;
}

export interface ResolveOptions {
  label: InputLabel;
  config: Config;
  signal?: AbortSignal;
}

/** Media types a data URI may declare (octet-stream: the bytes are sniffed later). */
export const DATA_URI_MEDIA_TYPES: readonly string[] = [
  "image/png",
  "image/jpeg",
  "image/webp",
  "image/gif",
  "image/tiff",
  "image/avif",
  "image/heic",
  "application/octet-stream",
];

/** Longer "paths" are not paths (PATH_MAX is 4096 on Linux); they are usually broken base64. */
const MAX_PATH_LENGTH = 4096;

export async function resolveReference(ref: string, options: ResolveOptions): Promise<ResolvedInput> {
  const { label } = options;
  if (typeof ref !== "string") {
    throw new FluxFillError("bad_input", `The ${label} reference must be a string. Accepted: ${ACCEPTED_FORMS}.`);
  }
  const text = ref.trim();
  const kind = classifyReference(text, label);
  if (options.signal?.aborted) throw new FluxFillError("cancelled", `Reading the ${label} was cancelled.`);
  let resolved: ResolvedInput;
  switch (kind) {
    case "path":
      resolved = await readFile(checkedPathText(text, label), options);
      break;
    case "file_url":
      resolved = await readFile(pathFromFileUrl(text, label), options);
      break;
    case "http_url":
      resolved = await readUrl(text, options);
      break;
    case "data_uri":
      resolved = decodeDataUri(text, options);
      break;
    case "base64":
      resolved = decodeBase64(text, options);
      break;
  }
  if (resolved.bytes.length === 0) {
    throw new FluxFillError("bad_input", `The ${label} is empty (0 bytes, from ${resolved.source}).`, {
      suggestion: "Give a reference to an image file with content.",
    });
  }
  return resolved;
}

function checkedPathText(text: string, label: InputLabel): string {
  if (text.length <= MAX_PATH_LENGTH) return text;
  const problem = base64Problem(compactBase64(text));
  throw new FluxFillError(
    "bad_input",
    `The ${label} reference is ${text.length} characters long: too long for a file path` +
      (problem ? `, and not valid base64 either (${problem}).` : ".") +
      ` Accepted: ${ACCEPTED_FORMS}.`,
  );
}

function pathFromFileUrl(text: string, label: InputLabel): string {
  try {
    return fileURLToPath(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new FluxFillError("bad_input", `The ${label} file:// URL cannot be used: ${reason}`, {
      suggestion: "Use file:///absolute/path (no host name), or give the path itself.",
    });
  }
}

async function readFile(p: string, { label, config, signal }: ResolveOptions): Promise<ResolvedInput> {
  const real = await resolveAllowedPath(p, {
    cwd: config.cwd,
    allowedDirs: config.allowedDirs,
    deniedDirs: config.deniedDirs,
    label,
  });
  const limit = config.maxInputBytes;
  let handle: fs.FileHandle;
  try {
    // The real path has no symlinks; refuse one swapped in since the check.
    handle = await fs.open(real, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new FluxFillError("bad_input", `The ${label} file "${real}" cannot be read (${String(code ?? error)}).`);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new FluxFillError("bad_input", `The ${label} path "${real}" is not a regular file.`);
    }
    if (stats.size > limit) throw inputTooLarge(label, `file "${real}"`, formatBytes(stats.size), limit);
    // Read at most limit + 1 bytes, so a file that grew since stat cannot exhaust memory.
    const buffer = Buffer.alloc(Math.min(stats.size, limit) + 1);
    let length = 0;
    while (length < buffer.length) {
      if (signal?.aborted) throw new FluxFillError("cancelled", `Reading the ${label} was cancelled.`);
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > limit) throw inputTooLarge(label, `file "${real}"`, `more than ${formatBytes(limit)}`, limit);
    return { bytes: buffer.subarray(0, length), source: real };
  } finally {
    await handle.close();
  }
}

async function readUrl(text: string, { label, config, signal }: ResolveOptions): Promise<ResolvedInput> {
  const fetched = await fetchUrl(text, {
    label,
    allowPrivate: config.allowPrivateUrls,
    timeoutMs: config.fetchTimeoutMs,
    maxBytes: config.maxInputBytes,
    ...(signal ? { signal } : {}),
  });
  const requested = urlForMessage(text);
  const final = urlForMessage(fetched.finalUrl);
  return { bytes: fetched.bytes, source: final === requested ? requested : `${requested} (redirected to ${final})` };
}

function decodeDataUri(text: string, { label, config }: ResolveOptions): ResolvedInput {
  const comma = text.indexOf(",");
  const accepted = `Accepted: data:<type>;base64,<data> with <type> one of ${DATA_URI_MEDIA_TYPES.join(", ")}.`;
  if (comma === -1) {
    throw new FluxFillError("bad_input", `The ${label} data URI is malformed: it has no "," before the data. ${accepted}`);
  }
  const params = text
    .slice("data:".length, comma)
    .split(";")
    .map((p) => p.trim().toLowerCase());
  const mediaType = params[0] ?? "";
  if (params.at(-1) !== "base64" || params.length < 2) {
    throw new FluxFillError("bad_input", `The ${label} data URI is not base64-encoded (";base64" is missing). ${accepted}`);
  }
  if (!DATA_URI_MEDIA_TYPES.includes(mediaType)) {
    const shown = mediaType === "" ? "no media type" : `media type "${mediaType.slice(0, 100)}"`;
    throw new FluxFillError("bad_input", `The ${label} data URI has ${shown}, which is not accepted. ${accepted}`);
  }
  let payload = text.slice(comma + 1);
  if (payload.includes("%")) {
    try {
      payload = decodeURIComponent(payload); // data URIs may percent-encode "+", "/" and "="
    } catch {
      throw new FluxFillError("bad_input", `The ${label} data URI has a broken %-escape in its data. ${accepted}`);
    }
  }
  const bytes = decodeChecked(payload, `data URI`, label, config.maxInputBytes);
  return { bytes, source: `data URI (${mediaType}, ${bytes.length} bytes)` };
}

function decodeBase64(text: string, { label, config }: ResolveOptions): ResolvedInput {
  const bytes = decodeChecked(text, "base64 data", label, config.maxInputBytes);
  const format = detectImageSignature(bytes);
  return { bytes, source: `base64 (${format ? `${format}, ` : ""}${bytes.length} bytes)` };
}

/** Validates base64 and its decoded size before decoding it. */
function decodeChecked(text: string, what: string, label: InputLabel, limit: number): Buffer {
  const compact = compactBase64(text);
  const problem = base64Problem(compact);
  if (problem) {
    throw new FluxFillError("bad_input", `The ${label} ${what} is not valid base64: ${problem}.`, {
      suggestion: "Send standard or URL-safe base64 of the image file, or a path or URL instead.",
    });
  }
  const size = decodedBase64Length(compact);
  if (size > limit) throw inputTooLarge(label, what, `${formatBytes(size)} decoded`, limit);
  return Buffer.from(compact, "base64");
}
