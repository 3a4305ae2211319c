/**
 * Who is calling, as plain data: the transport works it out from a token and hands it to the server,
 * which passes it to the result store and the upstream queue. Nothing below the transport knows how.
 */
export interface Principal {
  /** The user's name: a token file's name, an OAuth token's user claim, or `LOCAL_USER`. */
  user: string;
  /** OAuth scopes the token carried (empty for named tokens and local use). */
  scopes: readonly string[];
}

/** The one user of stdio, of an HTTP server without auth, and of the single FLUX_FILL_HTTP_TOKEN. */
export const LOCAL_USER = "local";

export const LOCAL_PRINCIPAL: Principal = Object.freeze({ user: LOCAL_USER, scopes: Object.freeze([]) });
