import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { FluxFillError } from "../errors.js";
import type { ArchiveModelSpec, FilesModelSpec, ModelSpec } from "./catalogue.js";
import { type DownloadOptions, downloadResumable } from "./download.js";
import { extractEntry, findEntry, readZipEntries, ZipError } from "./zip.js";

/**
 * The models folder (FLUX_FILL_MODELS_DIR): one subfolder per model with its ONNX files and a
 * manifest.json written last by `pull` (so a folder without it is an unfinished pull). The manifest keeps
 * each file's SHA-256 as extracted, so corruption later on is caught before a session is built on it.
 */

export interface ModelsSettings {
  dir: string;
  /** FLUX_FILL_MODELS_BASE_URL: one mirror for every model; undefined = each model's public home. */
  baseUrl?: string | undefined;
}

export interface ModelFileRecord {
  file: string;
  sha256: string;
  bytes: number;
}

export interface ModelManifest {
  model: string;
  /**
   * Where it came from: an archive's URL and SHA-256 (the pinned one: any other is refused); for separately
   * downloaded files the base URL (their SHA-256, the pinned ones, are in `files`).
   */
  source: { url: string; sha256?: string };
  files: { encoder: ModelFileRecord; decoder: ModelFileRecord };
  pulledAt: string;
}

export const MANIFEST_FILE = "manifest.json";
/** Deadline of one pull, and the longest pause in the bytes. */
export const PULL_TIMEOUT_MS = 60 * 60 * 1000;
export const PULL_IDLE_TIMEOUT_MS = 60 * 1000;

export function modelFolder(dir: string, spec: ModelSpec): string {
  return path.join(dir, spec.name);
}

/** The unfinished downloads a pull leaves for the next one to resume. */
export function partFiles(dir: string, spec: ModelSpec): string[] {
  const folder = modelFolder(dir, spec);
  return spec.archive
    ? [path.join(folder, `${spec.archive.file}.part`)]
    : [spec.files.encoder, spec.files.decoder].map((f) => path.join(folder, `${f.file}.part`));
}

/** Where `models pull` downloads the model from: the mirror when one is set, else the model's public home. */
export function downloadBase(spec: ModelSpec, settings: ModelsSettings): string {
  return (settings.baseUrl ?? spec.baseUrl).replace(/\/+$/, "");
}

export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(file), hash);
  return hash.digest("hex");
}

async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).size;
  } catch {
    return undefined;
  }
}

export async function readManifest(dir: string, spec: ModelSpec): Promise<ModelManifest | undefined> {
  try {
    return JSON.parse(await readFile(path.join(modelFolder(dir, spec), MANIFEST_FILE), "utf8")) as ModelManifest;
  } catch {
    return undefined;
  }
}

export const PULL_FIX = (spec: ModelSpec) => `flux-fill-mcp models pull ${spec.name}`;

export interface PullOutcome {
  manifest: ModelManifest;
  /** Bytes kept from an earlier, interrupted download. */
  resumedFrom: number;
}

export type PullOptions = Partial<Pick<DownloadOptions, "fetch" | "onProgress" | "signal" | "timeoutMs" | "idleTimeoutMs">> & {
  /** Download again even the files already there with their pinned SHA-256. */
  force?: boolean;
};

function checksumMismatch(spec: ModelSpec, file: string, measured: string, pinned: string): FluxFillError {
  return new FluxFillError(
    "upstream_failed",
    `Checksum mismatch for ${spec.name}: ${file} has SHA-256 ${measured}, expected ${pinned}. The download was deleted.`,
    {
      suggestion: `Run ${PULL_FIX(spec)} again; if it fails the same way, the host serves another file: check FLUX_FILL_MODELS_BASE_URL.`,
    },
  );
}

function downloadOptions(label: string, maxBytes: number, options: PullOptions): DownloadOptions {
  return {
    label,
    maxBytes,
    timeoutMs: options.timeoutMs ?? PULL_TIMEOUT_MS,
    idleTimeoutMs: options.idleTimeoutMs ?? PULL_IDLE_TIMEOUT_MS,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
}

/**
 * Downloads the model (resuming a partial download), checks it against the SHA-256 pinned in the code and
 * puts its two ONNX files in the model's folder; the manifest is written last.
 */
export async function pullModel(spec: ModelSpec, settings: ModelsSettings, options: PullOptions = {}): Promise<PullOutcome> {
  const folder = modelFolder(settings.dir, spec);
  await mkdir(folder, { recursive: true });
  const pulled = spec.archive
    ? await pullArchive(spec, folder, downloadBase(spec, settings), options)
    : await pullFiles(spec, folder, downloadBase(spec, settings), options);
  const manifest: ModelManifest = { model: spec.name, ...pulled.manifest, pulledAt: new Date().toISOString() };
  await writeFile(path.join(folder, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return { manifest, resumedFrom: pulled.resumedFrom };
}

interface Pulled {
  manifest: Pick<ModelManifest, "source" | "files">;
  resumedFrom: number;
}

/** The archive downloaded, checked against its pinned SHA-256, and the two ONNX files extracted from it. */
async function pullArchive(spec: ArchiveModelSpec, folder: string, base: string, options: PullOptions): Promise<Pulled> {
  const part = path.join(folder, `${spec.archive.file}.part`);
  const url = `${base}/${spec.archive.file}`;
  const { resumedFrom } = await downloadResumable(url, part, downloadOptions(spec.name, spec.archive.maxBytes, options));
  const sha256 = await sha256OfFile(part);
  const pinned = spec.archive.sha256.toLowerCase();
  if (sha256 !== pinned) {
    await rm(part, { force: true });
    throw checksumMismatch(spec, spec.archive.file, sha256, pinned);
  }
  const badArchive = (why: string) =>
    new FluxFillError("upstream_failed", `The ${spec.name} download is not a usable archive: ${why}. It was deleted.`, {
      suggestion: `Run ${PULL_FIX(spec)} again, or check FLUX_FILL_MODELS_BASE_URL.`,
    });
  const records: Partial<ModelManifest["files"]> = {};
  try {
    const entries = await readZipEntries(part);
    for (const role of ["encoder", "decoder"] as const) {
      const { entry: entryName, file } = spec.files[role];
      const entry = findEntry(entries, entryName);
      if (!entry) throw new ZipError(`no ${entryName} in it`);
      const target = path.join(folder, file);
      const { sha256: fileHash, bytes } = await extractEntry(part, entry, `${target}.tmp`);
      await rename(`${target}.tmp`, target);
      records[role] = { file, sha256: fileHash, bytes };
    }
  } catch (error) {
    await rm(part, { force: true });
    if (error instanceof ZipError) throw badArchive(error.message);
    throw error;
  }
  await rm(part, { force: true });
  return {
    manifest: { source: { url, sha256 }, files: records as ModelManifest["files"] },
    resumedFrom,
  };
}

/**
 * Each file downloaded on its own (resumable), checked against its pinned SHA-256 before it takes its
 * name; a file already there from an earlier, interrupted pull with the pinned SHA-256 is kept.
 */
async function pullFiles(spec: FilesModelSpec, folder: string, base: string, options: PullOptions): Promise<Pulled> {
  const records: Partial<ModelManifest["files"]> = {};
  let resumedFrom = 0;
  for (const role of ["encoder", "decoder"] as const) {
    const file = spec.files[role];
    const target = path.join(folder, file.file);
    const record = { file: file.file, sha256: file.sha256, bytes: file.bytes };
    if (!options.force && (await sizeOf(target)) === file.bytes && (await sha256OfFile(target)) === file.sha256) {
      records[role] = record;
      continue;
    }
    const part = `${target}.part`;
    const outcome = await downloadResumable(`${base}/${file.download}`, part, downloadOptions(`${spec.name} (${file.download})`, file.bytes, options));
    resumedFrom += outcome.resumedFrom;
    const sha256 = await sha256OfFile(part);
    if (sha256 !== file.sha256) {
      await rm(part, { force: true });
      throw checksumMismatch(spec, file.download, sha256, file.sha256);
    }
    await rename(part, target);
    records[role] = record;
  }
  return { manifest: { source: { url: base }, files: records as ModelManifest["files"] }, resumedFrom };
}

export type ModelStatus = "ready" | "missing" | "corrupt";

export interface ModelState {
  spec: ModelSpec;
  status: ModelStatus;
  /** What is wrong, for a status other than ready. */
  problem?: string;
  /** Bytes of the model's files on disk. */
  bytes: number;
  /** Bytes of an unfinished download waiting to be resumed. */
  partialBytes: number;
  /** The files' SHA-256 were measured now and match the manifest (only when asked to hash). */
  hashed: boolean;
  manifest?: ModelManifest;
}

/**
 * What is on disk for a model: `ready` when the manifest and both files are there with their sizes (and,
 * with `hash`, their SHA-256); `missing` when it was never pulled (or not to the end); else `corrupt`.
 */
export async function inspectModel(spec: ModelSpec, dir: string, options: { hash?: boolean } = {}): Promise<ModelState> {
  let partialBytes = 0;
  for (const part of partFiles(dir, spec)) partialBytes += (await sizeOf(part)) ?? 0;
  const manifest = await readManifest(dir, spec);
  const base = { spec, partialBytes, bytes: 0, hashed: false };
  if (!manifest) {
    return { ...base, status: "missing", problem: `${spec.name} is not in ${dir}` };
  }
  let bytes = 0;
  for (const record of [manifest.files.encoder, manifest.files.decoder]) {
    const file = path.join(modelFolder(dir, spec), record.file);
    const size = await sizeOf(file);
    if (size === undefined) return { ...base, manifest, status: "corrupt", problem: `${file} is missing` };
    bytes += size;
    if (size !== record.bytes)
      return { ...base, manifest, bytes, status: "corrupt", problem: `${file} has ${size} bytes, expected ${record.bytes}` };
  }
  if (options.hash) {
    for (const record of [manifest.files.encoder, manifest.files.decoder]) {
      const file = path.join(modelFolder(dir, spec), record.file);
      if ((await sha256OfFile(file)) !== record.sha256)
        return { ...base, manifest, bytes, status: "corrupt", problem: `${file} does not match its SHA-256 (the file changed since it was pulled)` };
    }
  }
  return { ...base, manifest, bytes, status: "ready", hashed: options.hash === true };
}
