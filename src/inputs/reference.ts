import path from "node:path";
import { FluxFillError } from "../errors.js";
import { compactBase64, isWellFormedBase64 } from "./base64.js";
import { detectImageSignature, SIGNATURE_BYTES } from "./image-signature.js";

/** Which input a reference is for; named in every error. */
export type InputLabel = "image" | "mask";

export type ReferenceKind = "path" | "file_url" | "http_url" | "data_uri" | "base64";

/** The accepted forms, as error messages list them. */
export const ACCEPTED_FORMS =
  "a file path (absolute, relative to the working directory, or ~/…), a file:// URL, an http(s):// URL, " +
  "a data:image/…;base64,… URI, or raw base64 image data";

/** Shorter strings are never taken for base64: a real image encodes to far more, a file name to less. */
export const MIN_BASE64_LENGTH = 64;

const SCHEME = /^([a-z][a-z0-9+.-]*):/i;
const WINDOWS_DRIVE = /^[a-z]:([\\/]|$)/i;

/**
 * Which kind of reference a string is (pure). URL schemes are matched case-insensitively; Windows drive
 * and UNC paths are paths; any other scheme is refused. Base64 needs at least MIN_BASE64_LENGTH base64
 * characters (whitespace ignored) and, because standard base64 contains `/` like a path does, a string
 * with `/` or spaces in it counts as base64 only when it decodes to a known image signature.
 */
export function classifyReference(ref: string, label: InputLabel = "image"): ReferenceKind {
  const text = ref.trim();
  if (text === "") {
    throw new FluxFillError("bad_input", `The ${label} reference is empty. Accepted: ${ACCEPTED_FORMS}.`);
  }
  if (WINDOWS_DRIVE.test(text) || text.startsWith("\\\\")) return "path";
  const scheme = SCHEME.exec(text)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    if (scheme === "data") return "data_uri";
    if (scheme === "file") return "file_url";
    if (scheme === "http" || scheme === "https") return "http_url";
    throw new FluxFillError(
      "bad_input",
      `The ${label} reference uses the unsupported scheme "${scheme}:". Accepted: ${ACCEPTED_FORMS}.`,
      { suggestion: `If it is a file whose name contains ":", write it as ./name or as an absolute path.` },
    );
  }
  return looksLikeBase64(text) ? "base64" : "path";
}

/** The base64 rule of classifyReference, on trimmed text. */
function looksLikeBase64(text: string): boolean {
  const compact = compactBase64(text);
  if (compact.length < MIN_BASE64_LENGTH || !isWellFormedBase64(compact)) return false;
  if (startsWithImageSignature(compact)) return true;
  // Unrecognised bytes: still base64 unless it reads like a path (a separator) or a sentence (spaces).
  // Line breaks are allowed: MIME base64 wraps at 76 characters.
  return !text.includes("/") && !/[ \t]/.test(text);
}

function startsWithImageSignature(compact: string): boolean {
  const headChars = Math.ceil(SIGNATURE_BYTES / 3) * 4;
  const head = Buffer.from(compact.slice(0, headChars), "base64");
  return detectImageSignature(head) !== undefined;
}

/** `~` and `~/x` (or `~\x`) expanded against `home`; `~user/x` is refused; anything else is returned as is. */
export function expandHome(p: string, home: string, label: InputLabel = "image"): string {
  if (!p.startsWith("~")) return p;
  if (p === "~") return home;
  if (p[1] === "/" || p[1] === "\\") return path.join(home, p.slice(2));
  throw new FluxFillError(
    "bad_input",
    `The ${label} path "${p}" uses ~user, which is not supported; only ~ (your home directory) is expanded.`,
    { suggestion: "Give the absolute path instead." },
  );
}
