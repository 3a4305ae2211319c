import type { Stats } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { FluxFillError } from "../errors.js";
import { isPathInside, protectedFolderReason } from "./folders.js";
import { expandHome, type InputLabel } from "./reference.js";

/**
 * The file-access boundary: a local input may only be read when its real path (all symlinks resolved)
 * lies inside the real path of one of the allowed roots (FLUX_FILL_ALLOWED_DIRS).
 */

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
  const home = options.home ?? os.homedir();
  const given = p.trim();
  const lexical = path.resolve(options.cwd, expandHome(given, home, label));
  const roots = await realRoots(options.allowedDirs);
  // A denied directory that does not exist yet is denied all the same, so refusals do not tell whether it does.
  const denied = await Promise.all((options.deniedDirs ?? []).map((dir) => realPathOfMissing(path.resolve(dir))));
  const permitted = (real: string) => isPermitted(real, roots, denied);
  // What a relative path may have meant: files of that name in the allowed roots (decided from the name and
  // the roots only, so a refusal still does not tell whether something exists outside them). An absolute
  // path names one file on purpose; another of the same name is not offered in its place.
  const relativeTo = path.isAbsolute(given) || given.startsWith("~") ? undefined : options.cwd;
  const refusal: Refusal = {
    label,
    lexical,
    allowedDirs: options.allowedDirs,
    roots,
    relativeTo,
    home,
    sameName: async () => (relativeTo === undefined ? [] : filesOfSameName(given, lexical, roots, permitted)),
  };

  let real: string;
  try {
    real = await fs.realpath(lexical);
  } catch (error) {
    // Missing (or unreachable) file: judge where it *would* be, so the answer for a path outside the
    // roots is the same whether or not something exists there.
    const wouldBe = await realPathOfMissing(lexical);
    if (!permitted(wouldBe)) throw await notAllowed(refusal, wouldBe);
    const code = errorCode(error);
    if (code === "ENOENT" || code === "ENOTDIR") {
      const [meant] = await refusal.sameName();
      throw new FluxFillError(
        "bad_input",
        `The ${label} file "${lexical}" does not exist (file not found).${meant ? ` Did you mean "${meant}"?` : ""}`,
        {
          suggestion: meant
            ? `A file of that name is in an allowed directory: pass "${meant}" as the ${label}.`
            : `Check the path; relative paths are resolved against ${options.cwd}.`,
          details: { input: label, path: lexical },
        },
      );
    }
    throw unreadable(label, lexical, code);
  }

  if (!permitted(real)) throw await notAllowed(refusal, real);

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

/** What a refusal needs to say where the file is, where it may be, and what the caller may have meant. */
interface Refusal {
  label: InputLabel;
  lexical: string;
  allowedDirs: readonly string[];
  roots: readonly string[];
  /** The working folder, when the caller gave a relative path. */
  relativeTo: string | undefined;
  home: string;
  sameName: () => Promise<string[]>;
}

async function notAllowed(refusal: Refusal, real: string): Promise<FluxFillError> {
  const { label, lexical, allowedDirs, roots } = refusal;
  // Where a symlink inside a root leads is worth saying (that directory is what must be allowed); where a
  // path outside every root leads is not ours to reveal.
  const lexicallyInside = [...allowedDirs.map((dir) => path.resolve(dir)), ...roots].some((root) =>
    isPathInside(lexical, root),
  );
  const target = lexicallyInside ? real : lexical;
  const shownPath = target === lexical ? `"${lexical}"` : `"${lexical}" (which resolves to "${target}")`;
  const rootList = allowedDirs.length > 0 ? allowedDirs.join(", ") : "none";
  const relative = refusal.relativeTo ? ` (a relative path is read from the server's working folder, ${refusal.relativeTo})` : "";
  const head = `The ${label} file ${shownPath}${relative} is outside the directories this server may read (${rootList}).`;
  const setting = `Allowed directories are set with FLUX_FILL_ALLOWED_DIRS (separated by "${path.delimiter}")`;
  const details = { input: label, path: lexical, allowedDirs: [...allowedDirs] };
  const other = "pass it as an http(s) URL or data URI";

  const [meant, ...alsoMeant] = await refusal.sameName();
  if (meant) {
    const also = alsoMeant.length > 0 ? ` (also ${alsoMeant.map((m) => `"${m}"`).join(", ")})` : "";
    return new FluxFillError("not_allowed", `${head} Did you mean "${meant}"${also}? It is in an allowed directory. ${setting}.`, {
      suggestion: `Pass "${meant}" as the ${label}.`,
      details,
    });
  }
  const folder = path.dirname(target);
  const reason = protectedFolderReason(folder, {
    platform: process.platform === "win32" ? "win32" : "posix",
    home: refusal.home,
    systemDrive: process.env.SystemDrive,
    tempDir: os.tmpdir(),
  });
  if (reason !== undefined) {
    return new FluxFillError(
      "not_allowed",
      `${head} ${setting}, but ${folder} is ${reason}: do not allow it.`,
      { suggestion: `Copy the file into one of the allowed directories (${rootList}), or ${other}.`, details },
    );
  }
  const suggested = [...new Set([...allowedDirs, folder])].join(path.delimiter);
  return new FluxFillError(
    "not_allowed",
    `${head} ${setting}; to allow this file, set it in the "env" of this server in your MCP client's config, e.g.\n` +
      `"env": { "FLUX_FILL_ALLOWED_DIRS": ${JSON.stringify(suggested)} }`,
    {
      suggestion:
        'Installed as a Claude bundle: add the folder under "Folders with your images" in the extension\'s settings. ' +
        `Or copy the file into one of the allowed directories, or ${other}.`,
      details,
    },
  );
}

/** Bounds of the search for a file of the same name: it runs on an error path, so it must stay cheap. */
const SAME_NAME_DEPTH = 2; // a root, its folders, and theirs
const SAME_NAME_MAX_FOLDERS = 200; // folders looked into, over all roots
const SAME_NAME_MAX_LISTED = 40; // folders whose entries are read
const SAME_NAME_MAX_ENTRIES = 500; // entries read per folder
const SAME_NAME_MAX_MATCHES = 3;

/**
 * Readable files in the allowed roots named like the relative path the caller gave: `root/<path as given>`,
 * then `<name>` at each root's top, then in its folders down to SAME_NAME_DEPTH (breadth
 * first, hidden folders and node_modules skipped, symlinked folders not followed), within the bounds above.
 * Only permitted real paths are returned (never a denied directory's file).
 */
async function filesOfSameName(
  given: string,
  lexical: string,
  roots: readonly string[],
  permitted: (real: string) => boolean,
): Promise<string[]> {
  const name = path.basename(lexical);
  if (name === "" || name === "." || name === "..") return [];
  const found: string[] = [];
  const consider = async (candidate: string) => {
    if (found.length >= SAME_NAME_MAX_MATCHES) return;
    try {
      const real = await fs.realpath(candidate);
      if (real === lexical || found.includes(real) || !permitted(real)) return;
      if ((await fs.stat(real)).isFile()) found.push(real);
    } catch {
      // Not there, or not readable: no hint.
    }
  };
  if (path.basename(given) !== given) {
    for (const root of roots) await consider(path.join(root, given));
  }
  let queue = roots.map((root) => ({ folder: root, depth: 0 }));
  let looked = 0;
  let listed = 0;
  while (queue.length > 0 && found.length < SAME_NAME_MAX_MATCHES && looked < SAME_NAME_MAX_FOLDERS) {
    const next: typeof queue = [];
    for (const { folder, depth } of queue) {
      if (looked >= SAME_NAME_MAX_FOLDERS || found.length >= SAME_NAME_MAX_MATCHES) break;
      looked++;
      if (!permitted(folder)) continue;
      await consider(path.join(folder, name));
      if (depth >= SAME_NAME_DEPTH || listed >= SAME_NAME_MAX_LISTED) continue;
      listed++;
      next.push(...(await subfolders(folder)).map((sub) => ({ folder: sub, depth: depth + 1 })));
    }
    queue = next;
  }
  return found;
}

/** A folder's visible subfolders (not symlinks), at most SAME_NAME_MAX_ENTRIES entries read. */
async function subfolders(folder: string): Promise<string[]> {
  const folders: string[] = [];
  try {
    const dir = await fs.opendir(folder);
    let read = 0;
    for await (const entry of dir) {
      if (++read > SAME_NAME_MAX_ENTRIES) break;
      if (entry.isDirectory() && !entry.name.startsWith(".") && entry.name !== "node_modules") {
        folders.push(path.join(folder, entry.name));
      }
    }
  } catch {
    // Unreadable: nothing to look into.
  }
  return folders.sort();
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
