/**
 * Last line of defence for secrets: whatever an error or progress message says (including text echoed
 * by the upstream), the API key and webhook secret are replaced before it leaves the provider.
 */
import { FluxFillError } from "../../errors.js";

export const REDACTED = "[redacted]";

/** Secrets shorter than this are not searched for: replacing "a" everywhere would mangle every message. */
const MIN_SECRET_LENGTH = 4;

export function redactText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= MIN_SECRET_LENGTH) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/** A copy of a JSON-like value with every string redacted (keys included). */
export function redactValue(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === "string") return redactText(value, secrets);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, secrets));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redactText(k, secrets), redactValue(v, secrets)]));
  }
  return value;
}

/**
 * The error as a FluxFillError with no secret in its message, suggestion or details. Any other error is
 * a bug: it becomes `internal`, with its message redacted and its cause dropped (it may hold headers).
 */
export function redactError(error: unknown, secrets: readonly string[], provider = "bfl"): FluxFillError {
  if (error instanceof FluxFillError) {
    const details =
      error.details === undefined ? undefined : (redactValue(error.details, secrets) as Record<string, unknown>);
    const redacted = new FluxFillError(error.kind, redactText(error.message, secrets), {
      ...(error.suggestion === undefined ? {} : { suggestion: redactText(error.suggestion, secrets) }),
      ...(details === undefined ? {} : { details }),
      cause: error.cause,
    });
    if (error.stack) redacted.stack = redactText(error.stack, secrets);
    return redacted;
  }
  const message = error instanceof Error ? error.message : String(error);
  return new FluxFillError("internal", `Unexpected error in the ${provider} provider: ${redactText(message, secrets)}`);
}

/** Runs `work`; whatever it throws leaves as `redactError` makes it, with no secret in it. */
export async function withoutSecrets<T>(
  work: () => Promise<T>,
  secrets: readonly string[],
  provider?: string,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw redactError(error, secrets, provider);
  }
}
