/**
 * `npm run bench`: the performance figures of issue 5, against the upstream emulator on 127.0.0.1, with
 * the server built in dist/. Prints one Markdown table and writes it, with the machine and the method, to
 * bench/results.md. Every goal is checked against a baseline or floor measured in the same run.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { type Emulator, startEmulator } from "../test/helpers/emulator.js";
import type { BenchContext, SectionResult } from "./context.js";
import { type FigureRow, renderTable, tally } from "./figures.js";
import { collectMachine, formatMachine } from "./machine.js";
import { parseBenchArgs, type Section, USAGE } from "./parse.js";
import { findRoot } from "./processes.js";
import { coldStart } from "./sections/cold.js";
import { eras } from "./sections/eras.js";
import { p1Overhead } from "./sections/p1.js";
import { p2Lag } from "./sections/p2.js";
import { p3Memory } from "./sections/p3.js";
import { p4Concurrency } from "./sections/p4.js";
import { p4Replicas } from "./sections/p4-replicas.js";
import { soak, soak2026 } from "./sections/soak.js";

const SECTION_RUNNERS: Record<Section, (ctx: BenchContext) => Promise<SectionResult>> = {
  cold: coldStart,
  p1: p1Overhead,
  p2: p2Lag,
  p3: p3Memory,
  p4: p4Concurrency,
  p4r: p4Replicas,
  soak,
  soak26: soak2026,
  eras,
};

function fail(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(1);
}

async function main(): Promise<void> {
  let options: ReturnType<typeof parseBenchArgs>;
  try {
    options = parseBenchArgs(process.argv.slice(2));
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  if (options === "help") {
    console.log(USAGE);
    return;
  }
  const root = findRoot();
  const cliPath = path.join(root, "dist", "cli.js");
  const minimalServerPath = path.join(root, ".bench-out", "minimal-server.js");
  if (!existsSync(cliPath)) fail("dist/cli.js is missing: run `npm run build` first (npm run bench does).");
  if (!existsSync(minimalServerPath))
    fail(".bench-out/ is missing: run `node bench/build.mjs` first (npm run bench does).");

  const machine = collectMachine();
  const started = Date.now();
  const workDir = await mkdtemp(path.join(os.tmpdir(), "flux-fill-bench-"));
  await mkdir(path.join(workDir, "out"), { recursive: true });
  const apiKey = `bench-${Math.random().toString(36).slice(2)}`;
  let emu: Emulator | undefined;
  const rows: FigureRow[] = [];
  const notes: string[] = [];
  try {
    emu = await startEmulator({ apiKey });
    const ctx: BenchContext = {
      emu,
      apiKey,
      cliPath,
      minimalServerPath,
      workDir,
      quick: options.quick,
      runs: options.runs,
      dumpPath: options.dump === undefined ? undefined : path.resolve(options.dump),
      log: (message) => console.error(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}`),
    };
    ctx.log(`machine: ${formatMachine(machine)}`);
    for (const [name, runner] of Object.entries(SECTION_RUNNERS) as Array<
      [Section, (c: BenchContext) => Promise<SectionResult>]
    >) {
      if (!options.only.has(name)) continue;
      ctx.log(`section ${name}…`);
      const errorsBefore = emu.internalErrors.length;
      try {
        const result = await runner(ctx);
        rows.push(...result.rows);
        notes.push(...result.notes);
      } catch (error) {
        const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
        ctx.log(`section ${name} failed: ${message}`);
        notes.push(`Section ${name} did not complete: ${message.split("\n")[0]}`);
      }
      const emulatorErrors = emu.internalErrors.slice(errorsBefore);
      if (emulatorErrors.length > 0) {
        notes.push(`Emulator internal errors during ${name}: ${emulatorErrors.map(String).join(" / ")}`);
      }
    }
  } finally {
    await emu?.close();
    await rm(workDir, { recursive: true, force: true });
  }

  const counts = tally(rows);
  const table = renderTable(rows);
  const summary = `${counts.pass} goals met, ${counts.FAIL} not met${counts["n/a"] ? `, ${counts["n/a"]} not measured` : ""}; ${counts["—"]} figures reported without a goal. Run took ${((Date.now() - started) / 1000).toFixed(0)} s${options.quick ? " (--quick)" : ""}.`;
  const report = [
    "# Performance (issue 5)",
    "",
    `Written by \`npm run bench${options.quick ? " -- --quick" : ""}\` on ${formatMachine(machine)}.`,
    "Everything runs on 127.0.0.1 against the upstream emulator (test/helpers/emulator.ts), with the server built in `dist/`; every baseline or floor is measured in the same run. Medians over repeated runs.",
    "",
    table,
    "",
    summary,
    "",
    "## Method",
    "",
    ...notes.map((n) => `- ${n}`),
    "",
  ].join("\n");
  console.log(`\n${table}\n\n${summary}\n`);
  const outPath = path.resolve(root, options.out);
  await writeFile(outPath, report);
  console.error(`bench: wrote ${path.relative(root, outPath) || outPath}`);
}

await main();
