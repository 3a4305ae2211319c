/**
 * Eras (issue 23): the same server in MCP 2026-07-28 (sessionless, `_meta` envelope) and in the 2025 era
 * (initialize, sessions), side by side in one run, 2025 as the baseline. Over stdio: spawn → connect →
 * `tools/list` answered. Over HTTP (one `--http` process serving both eras): a new client's connect →
 * `tools/list` answered. And a fill's overhead over the emulator's generation time through each transport.
 */
import { randomBytes } from "node:crypto";
import type { CallToolResult, Client } from "@modelcontextprotocol/client";
import { type BenchContext, expectSuccess, runsFor, type SectionResult, serverEnv, taskByPrompt } from "../context.js";
import { type FigureRow, median } from "../figures.js";
import { ensureImage } from "../images.js";
import { type Era, startHttpServerProcess, startStdioServer } from "../processes.js";

const WIDTH = 2000;
const HEIGHT = 1500;
const GENERATION_MS = 1000;
/** 2025 is the baseline; the order alternates per run so neither era always goes first. */
const ERAS: readonly Era[] = ["2025", "2026-07-28"];

type Samples = Record<Era, number[]>;
const samples = (): Samples => ({ "2025": [], "2026-07-28": [] });
const orderFor = (i: number): readonly Era[] => (i % 2 === 0 ? ERAS : [...ERAS].reverse());

export async function eras(ctx: BenchContext): Promise<SectionResult> {
  const runs = runsFor(ctx, 5, 2);
  const imagePath = await ensureImage({
    name: "eras-photo",
    width: WIDTH,
    height: HEIGHT,
    seed: 23,
    grain: 8,
    kind: "jpeg",
  });
  const maskPath = await ensureImage({
    name: "eras-mask",
    width: WIDTH,
    height: HEIGHT,
    seed: 0,
    grain: 0,
    kind: "mask",
  });
  ctx.emu.reset({ generationMs: GENERATION_MS });

  /** Wall time of one flux_fill minus the emulator's generation time for its task. */
  const fillOverhead = async (client: Client, prompt: string): Promise<number> => {
    const startedAt = Date.now();
    const result = (await client.callTool(
      { name: "flux_fill", arguments: { image: imagePath, mask: maskPath, prompt, seed: 1 } },
      { timeout: 120_000 },
    )) as CallToolResult;
    const doneAt = Date.now();
    expectSuccess(result, `eras flux_fill (${prompt})`);
    const task = taskByPrompt(ctx.emu, prompt);
    if (!task) throw new Error(`eras: no emulator task for "${prompt}"`);
    return doneAt - startedAt - task.generationMs;
  };

  const stdioConnect = samples();
  /** Spawn → connect returned: 2025 = spawn + initialize; 2026-07-28 = the SDK's probe on a sibling process. */
  const stdioHandshake = samples();
  for (let i = 0; i < runs; i++) {
    for (const era of orderFor(i)) {
      const started = performance.now();
      const server = await startStdioServer(ctx.cliPath, serverEnv(ctx), ctx.workDir, era);
      try {
        await server.client.listTools();
        stdioConnect[era].push(performance.now() - started);
        stdioHandshake[era].push(server.connectMs);
      } finally {
        await server.close();
      }
    }
    ctx.log(
      `eras stdio ${i + 1}/${runs}: spawn → tools/list 2025 ${stdioConnect["2025"].at(-1)!.toFixed(0)} ms (connect ${stdioHandshake["2025"].at(-1)!.toFixed(0)}), 2026-07-28 ${stdioConnect["2026-07-28"].at(-1)!.toFixed(0)} ms (connect ${stdioHandshake["2026-07-28"].at(-1)!.toFixed(0)})`,
    );
  }

  // Fills on one long-running stdio process per era (as an MCP host keeps it), each warmed with one fill.
  const stdioFill = samples();
  const stdioServers = {
    "2025": await startStdioServer(ctx.cliPath, serverEnv(ctx), ctx.workDir, "2025"),
    "2026-07-28": await startStdioServer(ctx.cliPath, serverEnv(ctx), ctx.workDir, "2026-07-28"),
  };
  try {
    for (const era of ERAS) await fillOverhead(stdioServers[era].client, `eras stdio warm-up ${era}`);
    for (let i = 0; i < runs; i++) {
      for (const era of orderFor(i)) {
        stdioFill[era].push(await fillOverhead(stdioServers[era].client, `eras stdio ${era} ${i}`));
      }
      ctx.log(
        `eras stdio fill ${i + 1}/${runs}: overhead 2025 ${stdioFill["2025"].at(-1)} ms, 2026-07-28 ${stdioFill["2026-07-28"].at(-1)} ms`,
      );
    }
  } finally {
    await Promise.all(ERAS.map((era) => stdioServers[era].close()));
  }

  const httpConnect = samples();
  const httpFill = samples();
  const http = await startHttpServerProcess(ctx.cliPath, serverEnv(ctx), ctx.workDir, randomBytes(16).toString("hex"));
  try {
    // Warm the process (modules, JIT, sharp) in both eras before measuring.
    for (const era of ERAS) {
      const client = await http.connect(era);
      await client.listTools();
      await fillOverhead(client, `eras http warm-up ${era}`);
      await client.close();
    }
    for (let i = 0; i < runs; i++) {
      for (const era of orderFor(i)) {
        const started = performance.now();
        const client = await http.connect(era);
        await client.listTools();
        httpConnect[era].push(performance.now() - started);
        httpFill[era].push(await fillOverhead(client, `eras http ${era} ${i}`));
        await client.close();
      }
      ctx.log(
        `eras http ${i + 1}/${runs}: connect+list 2025 ${httpConnect["2025"].at(-1)!.toFixed(1)} ms, 2026-07-28 ${httpConnect["2026-07-28"].at(-1)!.toFixed(1)} ms; fill overhead ${httpFill["2025"].at(-1)} / ${httpFill["2026-07-28"].at(-1)} ms`,
      );
    }
  } finally {
    await http.stop();
  }

  const row = (figure: string, s: Samples): FigureRow => ({
    figure,
    unit: "ms",
    ours: median(s["2026-07-28"]),
    baseline: median(s["2025"]),
    goal: { kind: "report" },
  });
  return {
    rows: [
      row("Eras, stdio: spawn → connect + tools/list answered (2026-07-28 vs 2025)", stdioConnect),
      row("Eras, HTTP: new client → connect + tools/list answered (2026-07-28 vs 2025)", httpConnect),
      row(`Eras, stdio: fill overhead, ${WIDTH}×${HEIGHT} JPEG (wall − generation)`, stdioFill),
      row(`Eras, HTTP: fill overhead, ${WIDTH}×${HEIGHT} JPEG (wall − generation)`, httpFill),
    ],
    notes: [
      `Eras: "ours" is the SDK v2 client pinned to 2026-07-28, "baseline" the same client in legacy mode (2025 era: initialize, session), same server build, same run; median of ${runs} runs each, alternating which era goes first. Stdio: a fresh \`node dist/cli.js\` per run, timed from spawn to the \`tools/list\` answer (in 2026-07-28 the SDK client's connect probes with \`server/discover\` on a disposable sibling process, then spawns the real one: two node start-ups, which is the gap). HTTP: one \`dist/cli.js --http\` process serving both eras, warmed with one fill per era; a new client per run, timed from connect to the \`tools/list\` answer. Fill overhead: \`flux_fill\` with a ${WIDTH}×${HEIGHT} JPEG and a mask as paths, emulator generation ${GENERATION_MS} ms (default poll interval, so the poll lag is part of both eras' overhead); on stdio one long-running process per era, on HTTP the shared one, each warmed with one unmeasured fill per era.`,
    ],
  };
}
