/**
 * P4: concurrency over HTTP. 50 fills at once, spread over several MCP sessions of one server process
 * (`dist/cli.js --http`), against the emulator capped at 24 active tasks with a fixed generation time.
 * Counts successes and duplicate submits; wall time against the ideal schedule ceil(50/24) × generation.
 */
import { randomBytes } from "node:crypto";
import os from "node:os";
import type { Client, CallToolResult } from "@modelcontextprotocol/client";
import { type BenchContext, resultText, runsFor, type SectionResult, serverEnv } from "../context.js";
import { type FigureRow, idealScheduleMs, median } from "../figures.js";
import { ensureImage } from "../images.js";
import { procCpuSeconds, startHttpServerProcess } from "../processes.js";

const FILLS = 50;
const SESSIONS = 5;
const CAP = 24;
const GENERATION_MS = 2000;
const WIDTH = 512;
const HEIGHT = 384;

interface RunResult {
  wallMs: number;
  successes: number;
  duplicates: number;
  rejectedSubmits: number;
  maxActive: number;
  /** Call start → the CAP-th task created (when the first round was fully submitted). */
  firstRoundSubmittedMs: number;
  /** Median over tasks of call start → task created. */
  medianBeforeSubmitMs: number;
  serverCpuSeconds: number;
  harnessCpuSeconds: number;
  errors: string[];
}

export async function p4Concurrency(ctx: BenchContext): Promise<SectionResult> {
  const runs = runsFor(ctx, 3, 1);
  const imagePath = await ensureImage({
    name: "p4-photo",
    width: WIDTH,
    height: HEIGHT,
    seed: 42,
    grain: 6,
    kind: "jpeg",
  });
  const maskPath = await ensureImage({
    name: "p4-mask",
    width: WIDTH,
    height: HEIGHT,
    seed: 0,
    grain: 0,
    kind: "mask",
  });
  const behaviour = { generationMs: GENERATION_MS, maxActiveTasks: CAP } as const;
  ctx.emu.reset(behaviour);
  const server = await startHttpServerProcess(
    ctx.cliPath,
    serverEnv(ctx),
    ctx.workDir,
    randomBytes(16).toString("hex"),
  );
  const call = (client: Client, prompt: string) =>
    client.callTool(
      { name: "flux_fill", arguments: { image: imagePath, mask: maskPath, prompt, seed: 4 } },
      { timeout: 120_000 },
    ) as Promise<CallToolResult>;

  const results: RunResult[] = [];
  try {
    const sessions: Client[] = [];
    for (let s = 0; s < SESSIONS; s++) sessions.push(await server.connect());
    // Unmeasured warm-up: a long-running server has loaded its modules and warmed its JIT.
    await Promise.all(sessions.map((client, s) => call(client, `p4 warm-up ${s}`)));
    for (let run = 0; run < runs; run++) {
      ctx.emu.reset(behaviour);
      const errors: string[] = [];
      let successes = 0;
      const pid = server.child.pid!;
      const serverCpuBefore = await procCpuSeconds(pid);
      const harnessCpuBefore = process.cpuUsage();
      const started = Date.now();
      await Promise.all(
        Array.from({ length: FILLS }, async (_, i) => {
          try {
            const result = await call(sessions[i % SESSIONS]!, `p4 run ${run} fill ${i}`);
            if (result.isError) errors.push(resultText(result).slice(0, 200));
            else successes++;
          } catch (error) {
            errors.push(String(error).slice(0, 200));
          }
        }),
      );
      const wallMs = Date.now() - started;
      const harnessCpu = process.cpuUsage(harnessCpuBefore);
      const serverCpuSeconds = (await procCpuSeconds(pid)) - serverCpuBefore;
      const tasks = [...ctx.emu.tasks.values()];
      const prompts = tasks.map((t) => String(t.body.prompt));
      const created = tasks.map((t) => t.createdAt - started).sort((a, b) => a - b);
      results.push({
        firstRoundSubmittedMs: created[Math.min(CAP, created.length) - 1] ?? Number.NaN,
        medianBeforeSubmitMs: median(created.slice(0, CAP)),
        serverCpuSeconds,
        harnessCpuSeconds: (harnessCpu.user + harnessCpu.system) / 1e6,
        wallMs,
        successes,
        duplicates: prompts.length - new Set(prompts).size,
        rejectedSubmits: ctx.emu.submitCount - ctx.emu.tasks.size,
        maxActive: ctx.emu.maxActiveSeen,
        errors,
      });
      const r = results.at(-1)!;
      ctx.log(
        `P4 ${run + 1}/${runs}: ${r.successes}/${FILLS} in ${r.wallMs} ms, ${r.duplicates} duplicate submits, ${r.rejectedSubmits} rejected, max active ${r.maxActive}`,
      );
    }
  } finally {
    await server.stop();
  }

  const ideal = idealScheduleMs(FILLS, CAP, GENERATION_MS);
  const rows: FigureRow[] = [
    {
      figure: `P4 fills succeeded, worst run (of ${FILLS}, HTTP)`,
      unit: "count",
      ours: Math.min(...results.map((r) => r.successes)),
      goal: { kind: "equals", value: FILLS },
    },
    {
      figure: "P4 duplicate submits, all runs",
      unit: "count",
      ours: results.reduce((sum, r) => sum + r.duplicates, 0),
      goal: { kind: "equals", value: 0 },
    },
    {
      figure: `P4 wall for ${FILLS} fills vs ideal ceil(${FILLS}/${CAP}) × ${GENERATION_MS / 1000} s`,
      unit: "ms",
      ours: median(results.map((r) => r.wallMs)),
      baseline: ideal,
      goal: { kind: "ratio_at_most", limit: 1.1 },
    },
    {
      figure: "P4 submits the emulator refused (429), all runs",
      unit: "count",
      ours: results.reduce((sum, r) => sum + r.rejectedSubmits, 0),
      goal: { kind: "report" },
    },
  ];
  const errors = results.flatMap((r) => r.errors);
  const notes: string[] = [
    `P4: ${FILLS} concurrent \`flux_fill\` calls over Streamable HTTP (bearer token), round-robin over ${SESSIONS} sessions of one \`dist/cli.js --http --port 0\` process (default settings: FLUX_FILL_MAX_ACTIVE ${CAP}); emulator capped at ${CAP} active tasks, generation ${GENERATION_MS} ms; ${WIDTH}×${HEIGHT} JPEG + mask paths; median wall of ${runs} runs after an unmeasured warm-up of ${SESSIONS} calls; wall = first call sent → last result received. Highest active tasks seen by the emulator: ${Math.max(...results.map((r) => r.maxActive))}.`,
  ];
  const med = (key: keyof Omit<RunResult, "errors">) => median(results.map((r) => r[key]));
  notes.push(
    `P4 detail (medians over runs): first ${CAP} tasks all created ${med("firstRoundSubmittedMs").toFixed(0)} ms after the calls started (median of them ${med("medianBeforeSubmitMs").toFixed(0)} ms); CPU used during a run: server ${med("serverCpuSeconds").toFixed(1)} s, harness (emulator making samples + ${SESSIONS} clients) ${med("harnessCpuSeconds").toFixed(1)} s, on ${os.availableParallelism()} cores over ${(med("wallMs") / 1000).toFixed(1)} s.`,
  );
  if (errors.length > 0) notes.push(`P4 errors (${errors.length}): ${errors.slice(0, 3).join(" / ")}`);
  return { rows, notes };
}
