/**
 * P3: memory on the heaviest path. A 20 MP PNG whose transparent pixels are the mask, through the server
 * over stdio; peak RSS (VmHWM) of the server process read from /proc after the call. Baseline in the same
 * run: the same process's peak right after `initialize`, before any fill.
 */
import { statSync } from "node:fs";
import type { CallToolResult } from "@modelcontextprotocol/client";
import { type BenchContext, resultText, runsFor, type SectionResult, serverEnv } from "../context.js";
import { BYTES_PER_MB, type FigureRow, median } from "../figures.js";
import { ensureImage } from "../images.js";
import { procMemory, startStdioServer } from "../processes.js";

const WIDTH = 5472;
const HEIGHT = 3648;
const GENERATION_MS = 3000;
/** The PNG is ~37 MB (photo-like detail does not compress much), over the 20 MB default input cap. */
const MAX_INPUT_MB = "64";

export async function p3Memory(ctx: BenchContext): Promise<SectionResult> {
  const runs = runsFor(ctx, 3, 1);
  const imagePath = await ensureImage({
    name: "p3-alpha",
    width: WIDTH,
    height: HEIGHT,
    seed: 32,
    grain: 2,
    kind: "png-alpha",
  });
  const fileBytes = statSync(imagePath).size;
  const pixels = WIDTH * HEIGHT;
  ctx.emu.reset({ generationMs: GENERATION_MS });
  const idle: number[] = [];
  const peak: number[] = [];
  const failures: string[] = [];
  for (let i = 0; i < runs; i++) {
    const server = await startStdioServer(
      ctx.cliPath,
      serverEnv(ctx, { FLUX_FILL_MAX_INPUT_MB: MAX_INPUT_MB }),
      ctx.workDir,
    );
    try {
      idle.push((await procMemory(server.pid)).peakRssBytes);
      const result = (await server.client.callTool(
        { name: "flux_fill", arguments: { image: imagePath, prompt: `p3 ${i}`, seed: 3 } },
        { timeout: 180_000 },
      )) as CallToolResult;
      // The peak counts even when the call failed: the decode and mask work happened (noted below).
      peak.push((await procMemory(server.pid)).peakRssBytes);
      if (result.isError) failures.push(resultText(result).split("\n")[0]!.slice(0, 300));
    } finally {
      await server.close();
    }
    ctx.log(
      `P3 ${i + 1}/${runs}: peak RSS ${(peak.at(-1)! / BYTES_PER_MB).toFixed(1)} MB (idle ${(idle.at(-1)! / BYTES_PER_MB).toFixed(1)} MB)${failures.length ? `; call failed: ${failures.at(-1)}` : ""}`,
    );
  }
  const peakMedian = median(peak);
  const idleMedian = median(idle);
  const rows: FigureRow[] = [
    {
      figure: "P3 peak RSS of the server, 20 MP PNG with alpha as mask (stdio)",
      unit: "MB",
      ours: peakMedian / BYTES_PER_MB,
      baseline: idleMedian / BYTES_PER_MB,
      goal: { kind: "at_most", limit: 350 },
    },
    {
      figure: "P3 fills succeeded",
      unit: "count",
      ours: runs - failures.length,
      goal: { kind: "equals", value: runs },
    },
    {
      figure: "P3 peak RSS per input pixel (baseline: idle peak per pixel)",
      unit: "bytes_per_px",
      ours: peakMedian / pixels,
      baseline: idleMedian / pixels,
      goal: { kind: "report" },
    },
  ];
  const notes = [
    `P3: ${WIDTH}×${HEIGHT} (${(pixels / 1e6).toFixed(1)} MP) RGBA PNG, ${(fileBytes / 1e6).toFixed(1)} MB, transparent ellipse = inpaint area, no mask argument; FLUX_FILL_MAX_INPUT_MB=${MAX_INPUT_MB} (the file is over the 20 MB default); emulator generation ${GENERATION_MS} ms. Peak = VmHWM of a fresh server process after one call, median of ${runs} processes; baseline = the same processes' VmHWM after \`initialize\`. 1 MB = 10^6 bytes. Growth over idle: ${((peakMedian - idleMedian) / pixels).toFixed(2)} B per input pixel.`,
  ];
  if (failures.length > 0) {
    notes.push(
      `P3: ${failures.length} of ${runs} calls failed, so the peak covers reading, decoding, masking and encoding the upload but not the download, save and preview: ${failures[0]}`,
    );
  }
  return { rows, notes };
}
