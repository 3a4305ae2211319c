/**
 * Base64 shape checks that run before anything is decoded (pure). Accepts the standard and the URL-safe
 * alphabets (not mixed), optional `=` padding, and whitespace anywhere (line-wrapped MIME base64).
 */

const STANDARD = /^[A-Za-z0-9+/]*$/;
const URL_SAFE = /^[A-Za-z0-9_-]*$/;
const WHITESPACE = /\s+/g;

/** The text without whitespace. */
export function compactBase64(text: string): string {
  return text.replace(WHITESPACE, "");
}

/** Why `compact` (no whitespace) is not valid base64, or undefined when it is. Never quotes the data. */
export function base64Problem(compact: string): string | undefined {
  if (compact.length === 0) return "it is empty";
  const body = compact.replace(/={1,2}$/, "");
  const padded = body.length !== compact.length;
  if (!STANDARD.test(body) && !URL_SAFE.test(body)) {
    const index = firstInvalidIndex(body);
    if (index === -1) return "it mixes the standard (+/) and URL-safe (-_) alphabets";
    const code = body.charCodeAt(index);
    const shown = code >= 0x21 && code <= 0x7e ? `"${body[index]}"` : `U+${code.toString(16).padStart(4, "0")}`;
    return `it contains ${shown} at position ${index + 1}, which is not a base64 character`;
  }
  if (body.length % 4 === 1 || (padded && compact.length % 4 !== 0)) {
    return "its length is not that of base64 data (truncated or padded wrongly)";
  }
  return undefined;
}

/** True when `compact` (no whitespace) is well-formed base64. */
export function isWellFormedBase64(compact: string): boolean {
  return base64Problem(compact) === undefined;
}

/** Exact number of bytes well-formed base64 decodes to, computed without decoding. */
export function decodedBase64Length(compact: string): number {
  const body = compact.replace(/={1,2}$/, "");
  return Math.floor((body.length * 3) / 4);
}

function firstInvalidIndex(body: string): number {
  for (let i = 0; i < body.length; i++) {
    if (!/[A-Za-z0-9+/_-]/.test(body[i] ?? "")) return i;
  }
  return -1;
}
