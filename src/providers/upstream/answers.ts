/**
 * Reading what any upstream host answers: the body as JSON when it is, and the human-readable part of an
 * error body, clipped. Pure, shared by every provider and the result download.
 */

/** Longest upstream text quoted in a message. */
export const MAX_UPSTREAM_TEXT = 500;

/** Parses a response body as JSON; undefined when it is not JSON. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function clipText(text: string, max = MAX_UPSTREAM_TEXT): string {
  const compact = text.replace(/\s+/g, " ").trim();
  return compact.length > max ? `${compact.slice(0, max)}…` : compact;
}

/** One FastAPI validation item as "field: message" ("image: Field required"); the leading "body" is dropped. */
export function formatValidationItem(item: unknown): string {
  if (!isRecord(item)) return clipText(JSON.stringify(item) ?? String(item));
  const loc = Array.isArray(item.loc) ? item.loc.filter((part, i) => !(i === 0 && part === "body")).map(String) : [];
  const msg = typeof item.msg === "string" ? item.msg : clipText(JSON.stringify(item));
  return loc.length > 0 ? `${loc.join(".")}: ${msg}` : msg;
}

/**
 * The human-readable part of an error body: `detail` (string, FastAPI validation list, or object),
 * else `message`, else `error`, else the raw text (HTML tags stripped). Undefined when there is nothing.
 */
export function upstreamMessage(body: unknown, rawText: string): string | undefined {
  if (isRecord(body)) {
    const { detail } = body;
    if (typeof detail === "string" && detail.trim() !== "") return clipText(detail);
    if (Array.isArray(detail) && detail.length > 0) return clipText(detail.map(formatValidationItem).join("; "), 2000);
    if (isRecord(detail)) {
      const inner = upstreamMessage(detail, "");
      return inner ?? clipText(JSON.stringify(detail));
    }
    for (const key of ["message", "error"] as const) {
      const value = body[key];
      if (typeof value === "string" && value.trim() !== "") return clipText(value);
    }
  }
  const text = clipText(rawText.replace(/<[^>]*>/g, " "));
  return text === "" ? undefined : text;
}
