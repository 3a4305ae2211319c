/**
 * The OAuth 2.1 resource-server side: JWT access tokens from one authorization server, checked with
 * `jose` against the keys its metadata names (RFC 8414, else OpenID discovery) for signature, issuer,
 * audience (this server's public URL, RFC 8707) and expiry; and this server's Protected Resource
 * Metadata (RFC 9728), which tells clients where to get a token.
 */
import { getOAuthProtectedResourceMetadataUrl } from "@modelcontextprotocol/express";
import { createRemoteJWKSet, errors as joseErrors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";
import type { OAuthConfig } from "../config.js";
import { LOCAL_USER, type Principal } from "../principal.js";

/** Why a token was refused, as the HTTP layer answers it. */
export class TokenRejected extends Error {
  constructor(
    /** 401 bad token, 403 missing scope, 503 the authorization server cannot be reached. */
    readonly status: 401 | 403 | 503,
    readonly error: "invalid_token" | "insufficient_scope" | "temporarily_unavailable",
    message: string,
  ) {
    super(message);
  }
}

/** Asymmetric algorithms only: a JWKS never holds shared secrets, and `none` is never accepted. */
const ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
];

/** Where an issuer's metadata may be: RFC 8414 (path-inserted), then OpenID Connect Discovery (appended). */
export function metadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const issuerPath = url.pathname === "/" ? "" : url.pathname.replace(/\/$/, "");
  return [
    `${url.origin}/.well-known/oauth-authorization-server${issuerPath}`,
    `${url.origin}/.well-known/openid-configuration${issuerPath}`,
    `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`,
  ].filter((value, index, all) => all.indexOf(value) === index);
}

/** The scopes a token carries: RFC 9068's space-separated `scope`, or an `scp` list some providers use. */
export function scopesOf(payload: JWTPayload): string[] {
  const { scope, scp } = payload as { scope?: unknown; scp?: unknown };
  if (typeof scope === "string") return scope.split(" ").filter(Boolean);
  if (Array.isArray(scp)) return scp.filter((s): s is string => typeof s === "string");
  if (typeof scp === "string") return scp.split(" ").filter(Boolean);
  return [];
}

/** A token's shape, before any check: three base64url parts. Other bearer values are not JWTs. */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
}

export interface OAuthOptions {
  fetch?: typeof fetch;
  /** How long to wait for the metadata document. Default 5000 ms. */
  timeoutMs?: number;
}

export class OAuthResourceServer {
  private keys: Promise<JWTVerifyGetKey> | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;

  constructor(
    readonly config: OAuthConfig,
    options: OAuthOptions = {},
  ) {
    this.fetchImpl = options.fetch ?? fetch;
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  /** The absolute URL of this server's PRM named in every 401 (the path-inserted one). */
  get metadataUrl(): string {
    return getOAuthProtectedResourceMetadataUrl(new URL(this.config.publicUrl));
  }

  /** The paths this server answers PRM on: path-inserted for the public URL's path, and the root one. */
  metadataPaths(mcpPath: string): string[] {
    const publicPath = new URL(this.config.publicUrl).pathname.replace(/\/$/, "");
    const base = "/.well-known/oauth-protected-resource";
    return [...new Set([`${base}${publicPath}`, `${base}${mcpPath}`, base])];
  }

  /** RFC 9728 Protected Resource Metadata. */
  protectedResourceMetadata(): Record<string, unknown> {
    const { publicUrl, issuer, requiredScopes } = this.config;
    return {
      resource: publicUrl,
      authorization_servers: [issuer],
      ...(requiredScopes.length > 0 ? { scopes_supported: requiredScopes } : {}),
      bearer_methods_supported: ["header"],
      resource_name: "flux-fill-mcp",
    };
  }

  /** The caller of a valid token, or `TokenRejected`. */
  async verify(token: string): Promise<Principal> {
    const keys = await this.jwks();
    const { issuer, publicUrl, userClaim, requiredScopes } = this.config;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, { issuer, audience: publicUrl, algorithms: ALGORITHMS }));
    } catch (error) {
      throw rejection(error);
    }
    const user = payload[userClaim];
    if ((typeof user !== "string" && typeof user !== "number") || String(user).trim() === "") {
      throw new TokenRejected(401, "invalid_token", `The token has no "${userClaim}" claim naming the user`);
    }
    if (String(user) === LOCAL_USER) {
      // That name is the server's own local user (stdio, the single token): never someone's token.
      throw new TokenRejected(401, "invalid_token", `The token's "${userClaim}" is a reserved user name`);
    }
    const scopes = scopesOf(payload);
    const missing = requiredScopes.filter((s) => !scopes.includes(s));
    if (missing.length > 0) {
      throw new TokenRejected(403, "insufficient_scope", `The token lacks the scope ${missing.join(" ")}`);
    }
    return { user: String(user), scopes };
  }

  /** The issuer's key set, found once through its metadata; a failed discovery is tried again next time. */
  private jwks(): Promise<JWTVerifyGetKey> {
    this.keys ??= this.discover().catch((error: unknown) => {
      this.keys = undefined;
      throw error;
    });
    return this.keys;
  }

  private async discover(): Promise<JWTVerifyGetKey> {
    const problems: string[] = [];
    for (const url of metadataUrls(this.config.issuer)) {
      let document: { issuer?: unknown; jwks_uri?: unknown };
      try {
        const response = await this.fetchImpl(url, {
          headers: { accept: "application/json" },
          redirect: "error",
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        if (!response.ok) {
          problems.push(`${url}: HTTP ${response.status}`);
          continue;
        }
        document = (await response.json()) as typeof document;
      } catch (error) {
        problems.push(`${url}: ${error instanceof Error ? error.message : String(error)}`);
        continue;
      }
      // RFC 8414 §3.3: metadata for another issuer must not be used.
      if (document.issuer !== this.config.issuer) {
        problems.push(`${url} names the issuer ${String(document.issuer)}`);
        continue;
      }
      if (typeof document.jwks_uri !== "string") {
        problems.push(`${url} has no jwks_uri`);
        continue;
      }
      return createRemoteJWKSet(new URL(document.jwks_uri), { timeoutDuration: this.timeoutMs });
    }
    throw new TokenRejected(
      503,
      "temporarily_unavailable",
      `The authorization server's metadata could not be used (${problems.join("; ")})`,
    );
  }
}

/** jose's failures: a bad token is 401; keys that cannot be fetched are the server's problem (503). */
function rejection(error: unknown): TokenRejected {
  if (error instanceof TokenRejected) return error;
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid) {
    return new TokenRejected(503, "temporarily_unavailable", "The authorization server's keys cannot be fetched");
  }
  if (error instanceof joseErrors.JWTExpired) return new TokenRejected(401, "invalid_token", "The token has expired");
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    return new TokenRejected(401, "invalid_token", `The token's "${error.claim}" claim is not valid for this server`);
  }
  if (error instanceof joseErrors.JOSEError) {
    return new TokenRejected(401, "invalid_token", "The token's signature or format is not valid");
  }
  // fetch failures of the key set (connection refused, DNS) are not the token's fault.
  return new TokenRejected(503, "temporarily_unavailable", "The authorization server's keys cannot be fetched");
}
