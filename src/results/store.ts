import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { FluxFillError } from "../errors.js";
import type { ExpandSides } from "../images/expand.js";
import type { ProviderName } from "../config.js";

/** Result ids: sortable by time, unguessable enough, and safe as a file name and in a URI. */
const ID_PATTERN = /^\d{8}-\d{6}-[0-9a-f]{8}$/;
export const RESULT_URI_PREFIX = "flux-fill://results/";

export type ResultFormat = "jpeg" | "png";

/** The JSON sidecar saved beside every result: metadata only, never image data, never secrets. */
export interface ResultMeta {
  id: string;
  file: string;
  provider: ProviderName;
  format: ResultFormat;
  mime_type: "image/jpeg" | "image/png";
  width: number;
  height: number;
  created_at: string;
  upstream_id: string | null;
  cost: number | null;
  seed: number | null;
  prompt: string;
  params: Record<string, unknown>;
  /**
   * The request identity (a hash of what was sent upstream), so an undelivered result is handed to the
   * identical call; absent in results saved before it existed.
   */
  request_identity?: string;
  inputs: {
    image: { source: string; width: number; height: number; format: string };
    /** A fill's mask: where it came from and how much of the image it covers. */
    mask?: { source: string; coverage: number };
    /** An expansion's sides: pixels added around the image. */
    expand?: ExpandSides;
    /** What a fill sent upstream when it was not the photo as it is: its size and the area of the photo. */
    sent?: { width: number; height: number; area: { x: number; y: number; width: number; height: number } };
  };
  timings: { prepare_ms: number; provider_ms: number; save_ms: number; total_ms: number };
  notes: string[];
}

export interface SavedResult {
  meta: ResultMeta;
  path: string;
  uri: string;
}

export function newResultId(now = new Date()): string {
  const iso = now.toISOString(); // 2026-11-27T18:47:16.123Z
  const stamp = `${iso.slice(0, 10).replaceAll("-", "")}-${iso.slice(11, 19).replaceAll(":", "")}`;
  return `${stamp}-${randomBytes(4).toString("hex")}`;
}

export function isResultId(id: string): boolean {
  return ID_PATTERN.test(id);
}

export function resultUri(id: string): string {
  return `${RESULT_URI_PREFIX}${id}`;
}

export function mimeTypeOf(format: ResultFormat): "image/jpeg" | "image/png" {
  return format === "png" ? "image/png" : "image/jpeg";
}

function extensionOf(format: ResultFormat): string {
  return format === "png" ? "png" : "jpg";
}

/** The file writes of saving a result: Node's by default; tests inject faults (a full disk) here. */
export interface ResultWriter {
  writeFile(file: string, data: Buffer | string): Promise<void>;
}

const nodeWriter: ResultWriter = { writeFile: (file, data) => writeFile(file, data) };

/**
 * Writes to a temporary name, then renames, so a reader never sees half a file; a failed write leaves no
 * partial file behind.
 */
async function writeAtomically(file: string, data: Buffer | string, writer: ResultWriter): Promise<void> {
  const temporary = `${file}.${randomBytes(3).toString("hex")}.part`;
  try {
    await writer.writeFile(temporary, data);
    await rename(temporary, file);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

/** Saves the image first and the sidecar last: a listed result always has its image. */
export async function saveResult(
  outputDir: string,
  bytes: Buffer,
  meta: Omit<ResultMeta, "file" | "mime_type">,
  writer: ResultWriter = nodeWriter,
): Promise<SavedResult> {
  await mkdir(outputDir, { recursive: true });
  const file = `${meta.id}.${extensionOf(meta.format)}`;
  const full: ResultMeta = { ...meta, file, mime_type: mimeTypeOf(meta.format) };
  const imagePath = path.join(outputDir, file);
  await writeAtomically(imagePath, bytes, writer);
  try {
    await writeAtomically(path.join(outputDir, `${meta.id}.json`), `${JSON.stringify(full, null, 2)}\n`, writer);
  } catch (error) {
    await unlink(imagePath).catch(() => undefined);
    throw error;
  }
  return { meta: full, path: imagePath, uri: resultUri(meta.id) };
}

/** Where results go when the output directory cannot take them. */
export function fallbackDir(): string {
  return path.join(os.tmpdir(), "flux-fill-fallback");
}

/** Most results kept in memory when no directory could take them (the oldest is dropped first). */
const MAX_KEPT = 20;

/** Results no directory could take, kept in memory so get_result can still return them. */
export class KeptResults {
  private readonly results = new Map<string, { meta: ResultMeta; bytes: Buffer }>();

  keep(meta: ResultMeta, bytes: Buffer): void {
    this.results.set(meta.id, { meta, bytes });
    while (this.results.size > MAX_KEPT) this.results.delete(this.results.keys().next().value!);
  }

  get(id: string): { meta: ResultMeta; bytes: Buffer } | undefined {
    return this.results.get(id);
  }
}

export interface SafeSaveOutcome extends SavedResult {
  /** Set when the output directory failed: what failed, and where the result is instead. */
  fallback?: { problem: string; where: "fallback_dir" | "memory" };
}

function describeFailure(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Saves a result that is paid for and must not be lost: in the output directory, else in the fallback
 * directory (OS temp), else in memory (`kept`). Only when all three fail does it throw.
 */
export async function saveResultSafely(
  outputDir: string,
  bytes: Buffer,
  meta: Omit<ResultMeta, "file" | "mime_type">,
  options: { kept?: KeptResults | undefined; writer?: ResultWriter | undefined } = {},
): Promise<SafeSaveOutcome> {
  try {
    return await saveResult(outputDir, bytes, meta, options.writer);
  } catch (error) {
    const problem = `saving to ${outputDir} failed (${describeFailure(error)})`;
    try {
      const saved = await saveResult(fallbackDir(), bytes, meta, options.writer);
      return { ...saved, fallback: { problem, where: "fallback_dir" } };
    } catch (fallbackError) {
      if (!options.kept) throw error;
      const full: ResultMeta = {
        ...meta,
        file: `${meta.id}.${extensionOf(meta.format)}`,
        mime_type: mimeTypeOf(meta.format),
      };
      options.kept.keep(full, bytes);
      return {
        meta: full,
        path: `(memory) ${full.file}`,
        uri: resultUri(meta.id),
        fallback: {
          problem: `${problem}; the fallback ${fallbackDir()} failed too (${describeFailure(fallbackError)})`,
          where: "memory",
        },
      };
    }
  }
}

/** A saved result by id wherever it is: the output directory, the fallback directory, or memory. */
export async function findResult(
  outputDir: string,
  id: string,
  kept?: KeptResults,
): Promise<{ meta: ResultMeta; bytes: Buffer; path: string }> {
  try {
    return await readResult(outputDir, id);
  } catch (error) {
    if (isResultId(id)) {
      const elsewhere = await readResult(fallbackDir(), id).catch(() => undefined);
      if (elsewhere) return elsewhere;
      const inMemory = kept?.get(id);
      if (inMemory) return { ...inMemory, path: `(memory) ${inMemory.meta.file}` };
    }
    throw error;
  }
}

export async function readResultMeta(outputDir: string, id: string): Promise<ResultMeta> {
  if (!isResultId(id)) {
    throw new FluxFillError("bad_input", `"${id}" is not a result id (expected e.g. 20261127-184716-1a2b3c4d).`, {
      suggestion: "Use an id returned by flux_fill or listed by resources/list.",
    });
  }
  let text: string;
  try {
    text = await readFile(path.join(outputDir, `${id}.json`), "utf8");
  } catch {
    throw new FluxFillError("bad_input", `No saved result with id ${id} in ${outputDir}.`, {
      suggestion: "List saved results with resources/list (flux-fill://results/…).",
    });
  }
  return JSON.parse(text) as ResultMeta;
}

export async function readResult(
  outputDir: string,
  id: string,
): Promise<{ meta: ResultMeta; bytes: Buffer; path: string }> {
  const meta = await readResultMeta(outputDir, id);
  const file = path.join(outputDir, path.basename(meta.file));
  return { meta, bytes: await readFile(file), path: file };
}

/** Saved results, newest first. Unreadable sidecars are skipped, not fatal. */
export async function listResults(outputDir: string): Promise<ResultMeta[]> {
  let names: string[];
  try {
    names = await readdir(outputDir);
  } catch {
    return [];
  }
  const ids = names
    .filter((n) => n.endsWith(".json"))
    .map((n) => n.slice(0, -5))
    .filter(isResultId)
    .sort()
    .reverse();
  const metas = await Promise.all(ids.map((id) => readResultMeta(outputDir, id).catch(() => undefined)));
  return metas.filter((m): m is ResultMeta => m !== undefined);
}
