/**
 * Turns the Authorization header of an HTTP request into a `Principal`: the single FLUX_FILL_HTTP_TOKEN
 * (the local user, as before), a named token from FLUX_FILL_HTTP_TOKENS_FILE, or an OAuth JWT access
 * token — any of them at once. Without any of them every request is the local user.
 */
import { timingSafeEqual } from "node:crypto";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import { LOCAL_PRINCIPAL, type Principal } from "../principal.js";
import { looksLikeJwt, OAuthResourceServer, type OAuthOptions, TokenRejected } from "./oauth.js";
import { TokensFile, tokenDigest } from "./tokens-file.js";

export type AuthOutcome =
  | { ok: true; principal: Principal }
  | { ok: false; status: 401 | 403 | 503; challenge: string | undefined; message: string };

/** The `WWW-Authenticate` value of a refusal (RFC 6750, with RFC 9728's `resource_metadata`). */
export function challengeHeader(input: {
  error?: string | undefined;
  description?: string | undefined;
  scope?: string | undefined;
  resourceMetadata?: string | undefined;
}): string {
  const quote = (value: string) => value.replace(/["\\]/g, "");
  const parts = ['Bearer realm="flux-fill-mcp"'];
  if (input.resourceMetadata !== undefined) parts.push(`resource_metadata="${quote(input.resourceMetadata)}"`);
  if (input.scope) parts.push(`scope="${quote(input.scope)}"`);
  if (input.error !== undefined) parts.push(`error="${input.error}"`);
  if (input.description !== undefined) parts.push(`error_description="${quote(input.description)}"`);
  return parts.join(", ");
}

export class Authenticator {
  readonly tokensFile: TokensFile | undefined;
  readonly oauth: OAuthResourceServer | undefined;
  private readonly single: Buffer | undefined;
  private readonly stopWatching: (() => void) | undefined;

  constructor(config: Config, logger: Logger, options: { oauth?: OAuthOptions; watchIntervalMs?: number } = {}) {
    const { token, tokensFile, oauth } = config.http;
    this.single = token === undefined ? undefined : tokenDigest(token);
    this.tokensFile = tokensFile === undefined ? undefined : new TokensFile(tokensFile, logger);
    this.stopWatching = this.tokensFile?.watch(options.watchIntervalMs);
    this.oauth = oauth === undefined ? undefined : new OAuthResourceServer(oauth, options.oauth);
  }

  /** Whether requests need a token at all. */
  get required(): boolean {
    return this.single !== undefined || this.tokensFile !== undefined || this.oauth !== undefined;
  }

  /** Stops watching the tokens file. */
  close(): void {
    this.stopWatching?.();
  }

  async authenticate(header: string | undefined): Promise<AuthOutcome> {
    if (!this.required) return { ok: true, principal: LOCAL_PRINCIPAL };
    if (header === undefined || header.trim() === "") {
      return this.refuse(401, undefined, "Unauthorized: this server needs an Authorization: Bearer <token> header.");
    }
    const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) {
      return this.refuse(401, "invalid_token", 'Unauthorized: the Authorization header is not "Bearer <token>".');
    }
    const token = match[1]!;
    // Both static kinds are compared every time, so timing does not tell which kind matched.
    const digest = tokenDigest(token);
    const isSingle = this.single !== undefined && timingSafeEqual(digest, this.single);
    const named = this.tokensFile?.userOf(token);
    if (isSingle) return { ok: true, principal: LOCAL_PRINCIPAL };
    if (named !== undefined) return { ok: true, principal: { user: named, scopes: [] } };
    if (this.oauth !== undefined && looksLikeJwt(token)) {
      try {
        return { ok: true, principal: await this.oauth.verify(token) };
      } catch (error) {
        if (!(error instanceof TokenRejected)) throw error;
        return this.refuse(error.status, error.error, `Unauthorized: ${error.message}.`, error.message);
      }
    }
    return this.refuse(
      401,
      "invalid_token",
      "Unauthorized: the bearer token is not valid.",
      "The bearer token is not valid",
    );
  }

  private refuse(
    status: 401 | 403 | 503,
    error: string | undefined,
    message: string,
    description?: string,
  ): AuthOutcome {
    const challenge =
      status === 503
        ? undefined
        : challengeHeader({
            error,
            description: description ?? (error === undefined ? undefined : message),
            scope: this.oauth?.config.requiredScopes.join(" "),
            resourceMetadata: this.oauth?.metadataUrl,
          });
    return { ok: false, status, challenge, message };
  }
}
