/**
 * One error family for the whole pipeline. Every stage throws a FluxFillError with a `kind` and a message
 * written for whoever must act on it (a person or a model); the MCP layer turns them into `isError`
 * results in one place (src/tools/result.ts). Anything else is a bug and is reported as `internal`.
 */
export type ErrorKind =
  | "bad_input"
  | "not_allowed"
  | "too_large"
  | "upstream_moderated"
  | "upstream_credits"
  | "upstream_rate_limited"
  | "upstream_failed"
  | "upstream_unreachable"
  | "service_unavailable"
  | "timeout"
  | "cancelled"
  | "credit_limit"
  | "internal";

export class FluxFillError extends Error {
  readonly kind: ErrorKind;
  /** What to do about it, in one sentence. */
  readonly suggestion: string | undefined;
  /** Whitelisted, secret-free facts (e.g. upstream task id) that may be shown. */
  readonly details: Record<string, unknown> | undefined;

  constructor(
    kind: ErrorKind,
    message: string,
    options: { suggestion?: string; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "FluxFillError";
    this.kind = kind;
    this.suggestion = options.suggestion;
    this.details = options.details;
  }
}

export function isFluxFillError(error: unknown): error is FluxFillError {
  return error instanceof FluxFillError;
}

/** The message shown for any error: ours verbatim (with suggestion), anything else as an internal error. */
export function describeError(error: unknown): { kind: ErrorKind; text: string } {
  if (error instanceof FluxFillError) {
    const text = error.suggestion ? `${error.message}\n${error.suggestion}` : error.message;
    return { kind: error.kind, text };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { kind: "internal", text: `Internal error: ${message}` };
}
