import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { FluxFillError } from "../errors.js";
import type { ModelSpec } from "./catalogue.js";
import { type DownloadOptions, downloadResumable } from "./download.js";
import { extractEntry, findEntry, readZipEntries, ZipError } from "./zip.js";

/**
 * The models folder (FLUX_FILL_MODELS_DIR): one subfolder per model with its ONNX files and a
 * manifest.json written last by `pull` (so a folder without it is an unfinished pull). The manifest keeps
 * each file's SHA-256 as extracted, so corruption later on is caught before a session is built on it.
 */

export interface ModelsSettings {
  dir: string;
  baseUrl: string;
}

export interface ModelFileRecord {
  file: string;
  sha256: string;
  bytes: number;
}

export interface ModelManifest {
  model: string;
  /** The archive as downloaded: its URL and its SHA-256 (the pinned one: any other is refused). */
  source: { url: string; sha256: string };
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

export function partFile(dir: string, spec: ModelSpec): string {
  return path.join(modelFolder(dir, spec), `${spec.archive.file}.part`);
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

export type PullOptions = Partial<Pick<DownloadOptions, "fetch" | "onProgress" | "signal" | "timeoutMs" | "idleTimeoutMs">>;

/** Downloads the model's archive (resuming a partial one), checks it, extracts the two ONNX files. */
export async function pullModel(spec: ModelSpec, settings: ModelsSettings, options: PullOptions = {}): Promise<PullOutcome> {
  const folder = modelFolder(settings.dir, spec);
  await mkdir(folder, { recursive: true });
  const part = partFile(settings.dir, spec);
  const url = `${settings.baseUrl.replace(/\/+$/, "")}/${spec.archive.file}`;
  const { resumedFrom } = await downloadResumable(url, part, {
    label: spec.name,
    maxBytes: spec.archive.maxBytes,
    timeoutMs: options.timeoutMs ?? PULL_TIMEOUT_MS,
    idleTimeoutMs: options.idleTimeoutMs ?? PULL_IDLE_TIMEOUT_MS,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const sha256 = await sha256OfFile(part);
  const pinned = spec.archive.sha256.toLowerCase();
  if (sha256 !== pinned) {
    await rm(part, { force: true });
    throw new FluxFillError(
      "upstream_failed",
      `Checksum mismatch for ${spec.name}: ${spec.archive.file} has SHA-256 ${sha256}, expected ${pinned}. The download was deleted.`,
      {
        suggestion: `Run ${PULL_FIX(spec)} again; if it fails the same way, the host serves another file: check FLUX_FILL_MODELS_BASE_URL.`,
      },
    );
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
  const manifest: ModelManifest = {
    model: spec.name,
    source: { url, sha256 },
    files: records as ModelManifest["files"],
    pulledAt: new Date().toISOString(),
  };
  await writeFile(path.join(folder, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  await rm(part, { force: true });
  return { manifest, resumedFrom };
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
  const partialBytes = (await sizeOf(partFile(dir, spec))) ?? 0;
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
