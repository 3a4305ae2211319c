/**
 * The security rules of the HTTP transport as small pure functions: where it may listen without a
 * token, which Host and Origin headers it accepts, and the body limit (tokens: authenticate.ts).
 */
import type { Config } from "../config.js";
import { FluxFillError } from "../errors.js";

/** `localhost`, any 127.0.0.0/8 address or ::1 (bracketed or not). */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase();
  if (h === "localhost" || h === "::1" || h === "[::1]") return true;
  const parts = h.split(".");
  return parts.length === 4 && parts[0] === "127" && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/** An address that listens on every interface. */
export function isWildcardHost(host: string): boolean {
  const h = host.trim().toLowerCase();
  return h === "" || h === "0.0.0.0" || h === "::" || h === "[::]";
}

/**
 * Refuses to serve a network without a token: anyone who can reach the port could spend the API key's
 * credits and read results. Loopback needs no token (the Host/Origin checks stop DNS rebinding).
 */
export function checkBindSafety(input: { host: string; authenticated: boolean; insecureNoAuth: boolean }): void {
  if (input.authenticated || input.insecureNoAuth || isLoopbackHost(input.host)) return;
  throw new FluxFillError(
    "not_allowed",
    `Refusing to listen on ${input.host} without FLUX_FILL_HTTP_TOKEN, FLUX_FILL_HTTP_TOKENS_FILE or FLUX_FILL_OAUTH_ISSUER: anyone who can reach that address could run paid fills with your API key and read your results.`,
    {
      suggestion:
        "Set FLUX_FILL_HTTP_TOKEN to a long random secret (clients then send Authorization: Bearer <token>), give each user a token with FLUX_FILL_HTTP_TOKENS_FILE, accept your identity provider's tokens with FLUX_FILL_OAUTH_ISSUER, bind 127.0.0.1 with --host, or pass --insecure-no-auth if another layer (a proxy, a private network) authenticates.",
    },
  );
}

/** A Host-header value or a configured entry as a bare, lower-case hostname (IPv6 in brackets), port dropped. */
export function normalizeHostname(value: string): string | undefined {
  const trimmed = value.trim();
  if (trimmed === "" || /[\s/?#@\\]/.test(trimmed)) return undefined;
  const bracketed =
    trimmed.includes(":") && !trimmed.startsWith("[") && trimmed.split(":").length > 2 ? `[${trimmed}]` : trimmed;
  try {
    const { hostname } = new URL(`http://${bracketed}`);
    return hostname === "" ? undefined : hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "[::1]"];

/**
 * The Host header names (without port) the server answers to, or undefined for "do not check".
 * Loopback: the loopback names plus any configured ones. Another address: the configured names plus the
 * bound one; with none configured on a wildcard bind, the names the machine is reached by are unknown,
 * so Host is not checked (the token is what protects such a server; the caller logs a warning).
 */
export function allowedHostnames(bindHost: string, configured: readonly string[]): string[] | undefined {
  const extra = configured.map((entry) => {
    const name = normalizeHostname(entry);
    if (name === undefined) {
      throw new FluxFillError(
        "bad_input",
        `FLUX_FILL_HTTP_ALLOWED_HOSTS has an entry that is not a host name: "${entry}".`,
        {
          suggestion: "List host names or addresses separated by commas, e.g. mcp.example.com,10.0.0.5.",
        },
      );
    }
    return name;
  });
  const bound = isWildcardHost(bindHost) ? undefined : normalizeHostname(bindHost);
  if (isLoopbackHost(bindHost)) return [...new Set([...LOOPBACK_NAMES, ...(bound ? [bound] : []), ...extra])];
  if (extra.length === 0) return bound === undefined ? undefined : [bound];
  return [...new Set([...(bound ? [bound] : []), ...extra])];
}

/** `scheme://host[:port]` of an origin, or undefined for anything that is not one (including `null`). */
export function normalizeOrigin(value: string): string | undefined {
  const trimmed = value.trim();
  if (trimmed === "" || trimmed === "null") return undefined;
  try {
    const url = new URL(trimmed);
    if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}

export interface OriginPolicy {
  /** Accept any page served from a loopback host (the server itself is loopback-only). */
  allowLoopbackOrigins: boolean;
  /** Normalised origins accepted besides. */
  allowed: readonly string[];
}

export function originPolicy(bindHost: string, configured: readonly string[]): OriginPolicy {
  const allowed = configured.map((entry) => {
    const origin = normalizeOrigin(entry);
    if (origin === undefined) {
      throw new FluxFillError(
        "bad_input",
        `FLUX_FILL_HTTP_ALLOWED_ORIGINS has an entry that is not an origin: "${entry}".`,
        {
          suggestion: "List origins as scheme://host[:port] separated by commas, e.g. https://app.example.com.",
        },
      );
    }
    return origin;
  });
  return { allowLoopbackOrigins: isLoopbackHost(bindHost), allowed };
}

/**
 * Whether a request's Origin may reach the server. Requests without Origin come from programs, not
 * browsers, and pass; a browser page must be on a listed origin (or on loopback for a loopback server),
 * which is what stops a web page from driving the server through the user's browser.
 */
export function originAllowed(origin: string | undefined, policy: OriginPolicy): boolean {
  if (origin === undefined) return true;
  const normalized = normalizeOrigin(origin);
  if (normalized === undefined) return false;
  if (policy.allowed.includes(normalized)) return true;
  return policy.allowLoopbackOrigins && isLoopbackHost(new URL(normalized).hostname);
}

/**
 * Largest accepted request body: one call carrying image and mask inline as base64 at the input cap
 * (base64 is 4/3 of the bytes; 1.4 leaves room for data-URI prefixes and JSON escapes), plus 1 MiB for
 * the rest of the JSON.
 */
export function maxHttpBodyBytes(config: Pick<Config, "maxInputBytes">): number {
  return Math.ceil(2 * config.maxInputBytes * 1.4) + 1024 * 1024;
}

/** Bytes as people read them ("57.0 MB"), for error messages. */
export function formatMegabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
