/**
 * Named bearer tokens (FLUX_FILL_HTTP_TOKENS_FILE): one `name:token` or `name:sha256:<hex>` per line,
 * `#` comments and blank lines allowed. The name is the user. Only digests are kept in memory, and a
 * presented token is compared with every entry in constant time.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync, type Stats, unwatchFile, watchFile } from "node:fs";
import { FluxFillError } from "../errors.js";
import type { Logger } from "../log.js";
import { LOCAL_USER } from "../principal.js";

export interface NamedToken {
  user: string;
  /** SHA-256 of the token. */
  digest: Buffer;
}

const USER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const HASHED = /^sha256:([0-9a-fA-F]{64})$/;

export function tokenDigest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/** The entries of a tokens file; a malformed line is an error naming its number (never its content). */
export function parseTokensFile(text: string, file = "the tokens file"): NamedToken[] {
  const entries: NamedToken[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const colon = line.indexOf(":");
    const user = colon === -1 ? "" : line.slice(0, colon).trim();
    const secret = colon === -1 ? "" : line.slice(colon + 1).trim();
    const where = `${file} line ${index + 1}`;
    if (!USER_PATTERN.test(user) || secret === "") {
      throw new FluxFillError("bad_input", `${where} is not "name:token" or "name:sha256:<64 hex digits>".`, {
        suggestion:
          "Names are 1-64 letters, digits, '.', '_', '@' or '-' (starting with a letter or digit); write one entry per line.",
      });
    }
    const hashed = HASHED.exec(secret);
    if (secret.startsWith("sha256:") && !hashed) {
      throw new FluxFillError("bad_input", `${where} has a sha256: value that is not 64 hex digits.`, {
        suggestion: 'Write the hash as printed by: printf %s "$TOKEN" | sha256sum',
      });
    }
    if (!hashed && secret.length < 16) {
      throw new FluxFillError("bad_input", `${where}: the token of "${user}" is shorter than 16 characters.`, {
        suggestion: "Use a long random token, e.g. from: openssl rand -hex 32",
      });
    }
    if (user === LOCAL_USER) {
      throw new FluxFillError("bad_input", `${where}: "${LOCAL_USER}" is reserved for the server's own local user.`, {
        suggestion: "Give this user another name.",
      });
    }
    if (seen.has(user)) {
      throw new FluxFillError("bad_input", `${where}: "${user}" is listed twice.`, {
        suggestion: "Give each user one line; to rotate a token, replace the line.",
      });
    }
    seen.add(user);
    entries.push({ user, digest: hashed ? Buffer.from(hashed[1]!, "hex") : tokenDigest(secret) });
  });
  return entries;
}

/** The user a token belongs to, or undefined. Every entry is compared, so timing shows neither which nor how many. */
export function userOfToken(token: string, entries: readonly NamedToken[]): string | undefined {
  const digest = tokenDigest(token);
  let found: string | undefined;
  for (const entry of entries) {
    if (timingSafeEqual(digest, entry.digest) && found === undefined) found = entry.user;
  }
  return found;
}

/**
 * The tokens file, loaded at start (a bad file stops the start) and reloaded when it changes or on
 * SIGHUP. A reload that fails keeps the previous tokens and logs why.
 */
export class TokensFile {
  private entries: NamedToken[];
  private readonly onHangup = () => this.reload("SIGHUP");

  constructor(
    readonly file: string,
    private readonly logger: Logger,
  ) {
    this.entries = this.read();
  }

  get size(): number {
    return this.entries.length;
  }

  userOf(token: string): string | undefined {
    return userOfToken(token, this.entries);
  }

  /** Re-reads the file; returns whether the new tokens are in force. */
  reload(why: string): boolean {
    try {
      this.entries = this.read();
      this.logger.info(`${why}: reloaded ${this.file} (${this.entries.length} users)`);
      return true;
    } catch (error) {
      this.logger.warn(`${why}: kept the previous tokens; ${error instanceof Error ? error.message : String(error)}`);
      return false;
    }
  }

  /** Reloads on change (polled every `intervalMs`: works on every file system and across editors' renames) and on SIGHUP. */
  watch(intervalMs = 2000): () => void {
    const onChange = (now: Stats, before: Stats) => {
      if (now.mtimeMs !== before.mtimeMs || now.size !== before.size || now.ino !== before.ino) {
        this.reload("tokens file changed");
      }
    };
    watchFile(this.file, { interval: intervalMs, persistent: false }, onChange);
    process.on("SIGHUP", this.onHangup);
    return () => {
      unwatchFile(this.file, onChange);
      process.off("SIGHUP", this.onHangup);
    };
  }

  private read(): NamedToken[] {
    let text: string;
    try {
      text = readFileSync(this.file, "utf8");
    } catch (cause) {
      throw new FluxFillError("bad_input", `FLUX_FILL_HTTP_TOKENS_FILE ${this.file} cannot be read.`, {
        suggestion: "Check the path and that the server's user may read it.",
        cause,
      });
    }
    return parseTokensFile(text, this.file);
  }
}
