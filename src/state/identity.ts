/**
 * What makes two calls "the same request": exactly what would be sent upstream. Computed in one place from
 * validated input only (the parsed parameters and the encoded upload bytes), never from raw tool arguments,
 * so a field the schema drops or a default it fills in cannot make two identical requests look different.
 */
import { createHash } from "node:crypto";

export interface RequestIdentitySource {
  /** The kind of upstream task (its endpoint), e.g. "fill"; two kinds never share an identity. */
  kind: string;
  /** Who runs it ("bfl", "local"): the same inputs on another engine are another request. */
  provider: string;
  /** The exact bytes uploaded, by field name (e.g. image and mask). */
  uploads: Readonly<Record<string, Buffer>>;
  /** Every upstream field after validation and defaults; undefined ones (e.g. no seed given) are left out. */
  params: Readonly<Record<string, unknown>>;
  /**
   * Who asks, on a server with several users: one user's call never attaches to, or is handed, another's
   * result. Undefined for the one local user (identities as before).
   */
  user?: string | undefined;
}

/** JSON with sorted keys and undefined left out, so key order never changes the identity. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.keys(value)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value);
}

/** A hex SHA-256 over the kind, the provider, every upload (length-prefixed) and the canonical parameters. */
export function requestIdentity(source: RequestIdentitySource): string {
  const hash = createHash("sha256");
  const field = (name: string, bytes: Buffer) => {
    hash.update(`${name}\u0000${bytes.length}\u0000`);
    hash.update(bytes);
  };
  field("kind", Buffer.from(source.kind, "utf8"));
  field("provider", Buffer.from(source.provider, "utf8"));
  for (const name of Object.keys(source.uploads).sort()) field(`upload:${name}`, source.uploads[name]!);
  field("params", Buffer.from(canonicalJson(source.params), "utf8"));
  if (source.user !== undefined) field("user", Buffer.from(source.user, "utf8"));
  return hash.digest("hex");
}
