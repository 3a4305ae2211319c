/**
 * Builds the mask editor page into one self-contained HTML file (script and styles inline: the host's
 * default CSP loads nothing else). Run by `npm run build` as `node dist/app/build.js`; tests import
 * buildMaskEditorHtml directly. The output is generated, never edited by hand.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** src/app (the same relative path from src/app/build.ts and dist/app/build.js). */
const SOURCE_DIR = fileURLToPath(new URL("../../src/app/", import.meta.url));
export const MASK_EDITOR_OUTPUT = fileURLToPath(new URL("../../dist/app/mask-editor.html", import.meta.url));

/** Text that would end the inline <script> or <style> early is escaped (still the same JS/CSS). */
export function inlineSafe(code: string, tag: "script" | "style"): string {
  const closing = new RegExp(`</(${tag})`, "gi");
  const escaped = code.replace(closing, (_match, name: string) => (tag === "script" ? `<\\/${name}` : `<\\2f ${name}`));
  return tag === "script" ? escaped.replace(/<!--/g, "<\\!--") : escaped;
}

/** Puts `value` where `marker` is (a function replacement: `$` in the bundle stays literal). */
export function fillTemplate(template: string, marker: string, value: string): string {
  const at = template.indexOf(marker);
  if (at === -1 || template.indexOf(marker, at + 1) !== -1) {
    throw new Error(`mask editor template: expected exactly one ${marker}`);
  }
  return template.replace(marker, () => value);
}

export async function buildMaskEditorHtml(options: { minify?: boolean } = {}): Promise<string> {
  // esbuild is a build-time (dev) dependency: imported here only, never by the server.
  const esbuild = await import("esbuild");
  const bundle = await esbuild.build({
    entryPoints: [path.join(SOURCE_DIR, "mask-editor.ts")],
    bundle: true,
    write: false,
    format: "iife",
    platform: "browser",
    target: "es2022",
    minify: options.minify ?? true,
    legalComments: "eof",
    logLevel: "silent",
  });
  const script = bundle.outputFiles[0]?.text;
  if (script === undefined) throw new Error("mask editor: esbuild produced no output");
  const [template, styles] = await Promise.all([
    readFile(path.join(SOURCE_DIR, "mask-editor.html"), "utf8"),
    readFile(path.join(SOURCE_DIR, "mask-editor.css"), "utf8"),
  ]);
  const withStyles = fillTemplate(template, "/*__STYLES__*/", inlineSafe(styles, "style"));
  return fillTemplate(withStyles, "/*__SCRIPT__*/", inlineSafe(script, "script"));
}

/** Writes the page atomically (a reader never sees half a file). */
export async function writeMaskEditorHtml(file = MASK_EDITOR_OUTPUT): Promise<{ file: string; bytes: number }> {
  const html = await buildMaskEditorHtml();
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.part`;
  await writeFile(temporary, html);
  await rename(temporary, file);
  return { file, bytes: Buffer.byteLength(html) };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeMaskEditorHtml().then(
    ({ file, bytes }) => process.stderr.write(`mask editor: ${file} (${Math.round(bytes / 1024)} KiB)\n`),
    (error: unknown) => {
      process.stderr.write(`mask editor build failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
