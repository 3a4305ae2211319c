/**
 * Where each user's results live. The local user (stdio, or HTTP with one token or none) keeps the output
 * directory itself, as before; every other user gets `users/<name>/` inside it, so one user's listing,
 * `latest` and reads never see another's.
 */
import { createHash } from "node:crypto";
import path from "node:path";
import type { Config } from "../config.js";
import { LOCAL_USER } from "../principal.js";

export const USERS_SUBDIR = "users";

/**
 * A directory name for a user: the name itself when it is plainly safe (lower case, so two users never
 * share a folder on a case-insensitive disk), else `_` + a digest; safe names never start with `_`.
 */
export function userDirName(user: string): string {
  if (/^[a-z0-9][a-z0-9._@-]{0,63}$/.test(user)) return user;
  return `_${createHash("sha256").update(user, "utf8").digest("hex").slice(0, 32)}`;
}

export function userResultsDir(outputDir: string, user: string): string {
  return user === LOCAL_USER ? outputDir : path.join(outputDir, USERS_SUBDIR, userDirName(user));
}

/**
 * The directories a user's file inputs must not come from even when an allowed root contains them: the
 * other users' results (and, for a named user, the local user's).
 */
export function hiddenResultDirs(outputDir: string, user: string): string[] {
  return user === LOCAL_USER ? [path.join(outputDir, USERS_SUBDIR)] : [outputDir];
}

/** The configuration as one user sees it: their results directory, and no file inputs from anyone else's. */
export function configForUser(config: Config, user: string): Config {
  const outputDir = userResultsDir(config.outputDir, user);
  return {
    ...config,
    outputDir,
    // In a bucket the same layout: a named user's results under `<prefix>users/<name>/`.
    results:
      config.results.kind === "s3" && user !== LOCAL_USER
        ? {
            kind: "s3",
            s3: { ...config.results.s3, prefix: `${config.results.s3.prefix}${USERS_SUBDIR}/${userDirName(user)}/` },
          }
        : config.results,
    allowedDirs: config.allowedDirs.map((dir) => (dir === config.outputDir ? outputDir : dir)),
    deniedDirs: [...config.deniedDirs, ...hiddenResultDirs(config.outputDir, user)],
  };
}
