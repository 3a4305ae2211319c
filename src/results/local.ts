import { randomBytes } from "node:crypto";
import { mkdir, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { findResult, type KeptResults, listResults, type ResultWriter, saveResultSafely } from "./store.js";
import type { Health, ResultStore } from "./types.js";

/** Whether a directory can take a new file: writes and removes one. */
export async function directoryWritable(dir: string): Promise<boolean> {
  const probe = path.join(dir, `.readyz-${randomBytes(4).toString("hex")}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(probe, "");
    await unlink(probe);
    return true;
  } catch {
    return false;
  }
}

/** What a local save falls back on when the directory fails, and the file writes (tests inject faults). */
export interface LocalSaveOptions {
  kept?: KeptResults | undefined;
  writer?: ResultWriter | undefined;
}

/**
 * Results as files in one directory (the default): today's behaviour behind the store interface, with
 * its fallbacks (the OS temp directory, then memory) when the directory fails.
 */
export function localResultStore(outputDir: string, options: LocalSaveOptions = {}): ResultStore {
  return {
    location: outputDir,
    save: (bytes, meta) => saveResultSafely(outputDir, bytes, meta, options),
    read: (id) => findResult(outputDir, id, options.kept),
    list: () => listResults(outputDir),
    check: async (): Promise<Health> =>
      (await directoryWritable(outputDir))
        ? { ok: true, where: outputDir }
        : { ok: false, where: outputDir, problem: "the output directory is not writable" },
    close: async () => undefined,
  };
}
