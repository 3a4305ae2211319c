import type { Stats } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { FluxFillError } from "../errors.js";
import { expandHome, type InputLabel } from "./reference.js";

/**
 * The file-access boundary: a local input may only be read when its real path (all symlinks resolved)
 * lies inside the real path of one of the allowed roots (FLUX_FILL_ALLOWED_DIRS).
 */

type PathApi = Pick<typeof path, "resolve" | "relative" | "isAbsolute" | "sep">;

/**
 * True when `child` is `parent` or lies beneath it (pure, lexical: no symlinks are followed). Both are
 * resolved first, so trailing separators and `..` segments do not matter, and `/tmp/ab` is not inside
 * `/tmp/a`. Case: the win32 flavour compares case-insensitively (as Node's path.win32 does); the posix one
 * is exact, which on case-insensitive macOS volumes is stricter, never looser — callers compare real paths,
 * which the OS returns in one spelling.
 */
export function isPathInside(child: string, parent: string, pathApi: PathApi = path): boolean {
  if (child.includes("\0") || parent.includes("\0")) return false;
  const relative = pathApi.relative(pathApi.resolve(parent), pathApi.resolve(child));
  if (relative === "") return true;
  if (pathApi.isAbsolute(relative)) return false; // another drive on win32
  return relative !== ".." && !relative.startsWith(`..${pathApi.sep}`);
}

export interface AllowedPathOptions {
  /** Relative paths are resolved against this directory. */
  cwd: string;
  /** Allowed roots, as configured (symlinks not yet resolved). */
  allowedDirs: readonly string[];
  /**
   * Directories inside allowed roots that are not readable (other users' results), unless an allowed root
   * lies deeper inside them: the most specific rule wins.
   */
  deniedDirs?: readonly string[];
  /** Named in error messages; defaults to "image". */
  label?: InputLabel;
  /** For `~` expansion; defaults to the OS home directory. */
  home?: string;
}

/**
 * The real path of an existing, readable regular file under an allowed root, or a FluxFillError:
 * `not_allowed` (outside every root — decided before existence is revealed), `bad_input` (null byte,
 * not found, a directory or other non-file, unreadable).
 */
export async function resolveAllowedPath(p: string, options: AllowedPathOptions): Promise<string> {
  const label = options.label ?? "image";
  if (p.includes("\0")) {
    throw new FluxFillError("bad_input", `The ${label} path contains a null byte, which no file name can hold.`);
  }
  const lexical = path.resolve(options.cwd, expandHome(p.trim(), options.home ?? os.homedir(), label));
  const roots = await realRoots(options.allowedDirs);
  // A denied directory that does not exist yet is denied all the same, so refusals do not tell whether it does.
  const denied = await Promise.all((options.deniedDirs ?? []).map((dir) => realPathOfMissing(path.resolve(dir))));
  const permitted = (real: string) => isPermitted(real, roots, denied);

  let real: string;
  try {
    real = await fs.realpath(lexical);
  } catch (error) {
    // Missing (or unreachable) file: judge where it *would* be, so the answer for a path outside the
    // roots is the same whether or not something exists there.
    const wouldBe = await realPathOfMissing(lexical);
    if (!permitted(wouldBe)) {
      throw notAllowed(label, lexical, wouldBe, options.allowedDirs, roots);
    }
    const code = errorCode(error);
    if (code === "ENOENT" || code === "ENOTDIR") {
      throw new FluxFillError("bad_input", `The ${label} file "${lexical}" does not exist (file not found).`, {
        suggestion: `Check the path; relative paths are resolved against ${options.cwd}.`,
        details: { input: label, path: lexical },
      });
    }
    throw unreadable(label, lexical, code);
  }

  if (!permitted(real)) {
    throw notAllowed(label, lexical, real, options.allowedDirs, roots);
  }

  let stats: Stats;
  try {
    stats = await fs.stat(real);
  } catch (error) {
    throw unreadable(label, lexical, errorCode(error));
  }
  if (stats.isDirectory()) {
    throw new FluxFillError("bad_input", `The ${label} path "${lexical}" is a directory, not an image file.`, {
      suggestion: "Give the path of the image file inside it.",
    });
  }
  if (!stats.isFile()) {
    // FIFOs and devices could block or never end.
    throw new FluxFillError("bad_input", `The ${label} path "${lexical}" is not a regular file.`, {
      suggestion: "Give the path of an image file.",
    });
  }
  try {
    await fs.access(real, fs.constants.R_OK);
  } catch (error) {
    throw unreadable(label, lexical, errorCode(error));
  }
  return real;
}

/** Inside an allowed root, and not inside a denied directory unless an allowed root lies deeper still. */
export function isPermitted(real: string, allowed: readonly string[], denied: readonly string[]): boolean {
  const depth = (roots: readonly string[]) =>
    Math.max(-1, ...roots.filter((root) => isPathInside(real, root)).map((root) => path.resolve(root).length));
  const allowedDepth = depth(allowed);
  return allowedDepth >= 0 && allowedDepth > depth(denied);
}

/** Real paths of the roots that exist; a root that does not exist cannot contain a file. */
async function realRoots(allowedDirs: readonly string[]): Promise<string[]> {
  const roots = await Promise.all(allowedDirs.map((dir) => fs.realpath(dir).catch(() => undefined)));
  return roots.filter((root): root is string => root !== undefined);
}

/** The real path of the deepest existing ancestor of `lexical`, with the missing rest appended. */
async function realPathOfMissing(lexical: string): Promise<string> {
  const missing: string[] = [];
  let current = lexical;
  for (;;) {
    try {
      return path.join(await fs.realpath(current), ...missing.reverse());
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return lexical;
      missing.push(path.basename(current));
      current = parent;
    }
  }
}

function notAllowed(
  label: InputLabel,
  lexical: string,
  real: string,
  allowedDirs: readonly string[],
  realRoots: readonly string[],
): FluxFillError {
  // Where a symlink inside a root leads is worth saying (that directory is what must be allowed); where a
  // path outside every root leads is not ours to reveal.
  const lexicallyInside = [...allowedDirs.map((dir) => path.resolve(dir)), ...realRoots].some((root) =>
    isPathInside(lexical, root),
  );
  const target = lexicallyInside ? real : lexical;
  const shownPath = target === lexical ? `"${lexical}"` : `"${lexical}" (which resolves to "${target}")`;
  const rootList = allowedDirs.length > 0 ? allowedDirs.join(", ") : "none";
  const suggested = [...new Set([...allowedDirs, path.dirname(target)])].join(path.delimiter);
  return new FluxFillError(
    "not_allowed",
    `The ${label} file ${shownPath} is outside the directories this server may read (${rootList}). ` +
      `Allowed directories are set with FLUX_FILL_ALLOWED_DIRS (separated by "${path.delimiter}"); to allow ` +
      `this file, set it in the "env" of this server in your MCP client's config, e.g.\n` +
      `"env": { "FLUX_FILL_ALLOWED_DIRS": ${JSON.stringify(suggested)} }`,
    {
      suggestion:
        "Installed as a Claude bundle: add the folder under \"Folders with your images\" in the extension's settings. " +
        "Or copy the file into one of the allowed directories, or pass it as an http(s) URL or data URI.",
      details: { input: label, path: lexical, allowedDirs: [...allowedDirs] },
    },
  );
}

function unreadable(label: InputLabel, lexical: string, code: string | undefined): FluxFillError {
  return new FluxFillError(
    "bad_input",
    `The ${label} file "${lexical}" cannot be read${code ? ` (${code})` : ""}.`,
    { suggestion: "Check the file's permissions, or pass the image another way (URL, data URI, base64)." },
  );
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}
