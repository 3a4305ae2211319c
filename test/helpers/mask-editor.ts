/**
 * The mask editor page for tests: `npm test` builds it first (npm run build); a lone `vitest run` of
 * these tests builds it here when dist/app/mask-editor.html is missing or older than its sources.
 */
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { MASK_EDITOR_OUTPUT, writeMaskEditorHtml } from "../../src/app/build.js";

const SOURCE_DIR = fileURLToPath(new URL("../../src/app/", import.meta.url));

async function newestSource(): Promise<number> {
  const names = await readdir(SOURCE_DIR);
  const times = await Promise.all(names.map(async (name) => (await stat(path.join(SOURCE_DIR, name))).mtimeMs));
  return Math.max(...times);
}

export async function ensureMaskEditorBuilt(): Promise<string> {
  const built = await stat(MASK_EDITOR_OUTPUT).catch(() => undefined);
  if (!built || built.mtimeMs < (await newestSource())) await writeMaskEditorHtml();
  return MASK_EDITOR_OUTPUT;
}
