/**
 * P2: ready → delivered. Many concurrent tasks whose durations are drawn (fixed seed) from 4–20 s, through
 * the real server over stdio; the emulator's poll log gives, per task, the lag from Ready to the poll that
 * saw it and the poll rate. Baseline in the same run, against the same emulator: a fixed 500 ms poller
 * (what peers do) with the same durations, run alongside the warm batch.
 *
 * The server learns from past durations, so it is measured cold (first batch of a fresh process) and warm
 * (the next batch), with realistic stepped progress, then warm again with no progress at all.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { CallToolResult } from "@modelcontextprotocol/client";
import type { ProgressMode } from "../../test/helpers/emulator.js";
import {
  type BenchContext,
  expectSuccess,
  type SectionResult,
  serverEnv,
  taskByPrompt,
  timelineOf,
} from "../context.js";
import type { FigureRow } from "../figures.js";
import { fixedIntervalFill } from "../floor.js";
import { ensureImage } from "../images.js";
import { type PollSummary, summarisePolls, type TaskTimeline } from "../polls.js";
import { startStdioServer, type StdioServer } from "../processes.js";
import { uniformDurations } from "../random.js";

const MIN_MS = 4000;
const MAX_MS = 20_000;
const BASELINE_INTERVAL_MS = 500;

interface BatchPlan {
  label: string;
  progress: ProgressMode;
  seed: number;
  withBaseline: boolean;
}

interface BatchResult {
  label: string;
  ours: PollSummary;
  baseline: PollSummary | undefined;
  failures: string[];
  /** The harness's own event-loop delay during the batch (ms): a stall here delays the emulator's clock readings. */
  harnessLoopDelay: { p99: number; max: number };
  /** Raw material, for --dump. */
  timelines: { ours: TaskTimeline[]; baseline: TaskTimeline[] };
}

export async function p2Lag(ctx: BenchContext): Promise<SectionResult> {
  const tasks = ctx.quick ? 12 : 32;
  const width = 512;
  const height = 384;
  const imagePath = await ensureImage({ name: "p2-photo", width, height, seed: 22, grain: 6, kind: "jpeg" });
  const maskPath = await ensureImage({ name: "p2-mask", width, height, seed: 0, grain: 0, kind: "mask" });
  const durations = new Map<string, number>();
  ctx.emu.reset({
    maxActiveTasks: 1000,
    generationMs: (info) => durations.get(String(info.body.prompt)) ?? MIN_MS,
  });
  // Every task of a batch polls at once: the server's per-key cap is raised to the batch size.
  const server = await startStdioServer(
    ctx.cliPath,
    serverEnv(ctx, { FLUX_FILL_MAX_ACTIVE: String(tasks) }),
    ctx.workDir,
  );

  const plans: BatchPlan[] = [
    { label: "cold, stepped progress", progress: "steps", seed: 201, withBaseline: false },
    { label: "warm, stepped progress", progress: "steps", seed: 202, withBaseline: true },
  ];
  if (!ctx.quick) plans.push({ label: "warm, no progress", progress: "none", seed: 203, withBaseline: false });

  const runBatch = async (plan: BatchPlan, index: number): Promise<BatchResult> => {
    ctx.emu.configure({ progressMode: plan.progress });
    const drawn = uniformDurations(tasks, MIN_MS, MAX_MS, plan.seed);
    const oursPrompts = drawn.map((_, i) => `p2 b${index} ours ${i}`);
    const basePrompts = drawn.map((_, i) => `p2 b${index} base ${i}`);
    drawn.forEach((ms, i) => {
      durations.set(oursPrompts[i]!, ms);
      durations.set(basePrompts[i]!, ms);
    });
    const failures: string[] = [];
    const delivered = new Map<string, number>();
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const oursCalls = oursPrompts.map(async (prompt) => {
      try {
        const result = (await server.client.callTool(
          { name: "flux_fill", arguments: { image: imagePath, mask: maskPath, prompt, seed: 2 } },
          { timeout: 180_000 },
        )) as CallToolResult;
        delivered.set(prompt, Date.now());
        expectSuccess(result, prompt);
      } catch (error) {
        failures.push(String(error));
      }
    });
    const baseCalls = plan.withBaseline
      ? basePrompts.map(async (prompt, i) => {
          try {
            const run = await fixedIntervalFill(
              ctx.emu,
              ctx.apiKey,
              imagePath,
              maskPath,
              { prompt, seed: 2, output_format: "jpeg" },
              path.join(ctx.workDir, `p2-base-${index}-${i}.jpg`),
              BASELINE_INTERVAL_MS,
            );
            delivered.set(prompt, run.deliveredAt);
          } catch (error) {
            failures.push(`baseline: ${String(error)}`);
          }
        })
      : [];
    await Promise.all([...oursCalls, ...baseCalls]);
    loopDelay.disable();
    const timelines = (prompts: string[]): TaskTimeline[] =>
      prompts.flatMap((prompt) => {
        const task = taskByPrompt(ctx.emu, prompt);
        return task ? [timelineOf(task, delivered.get(prompt))] : [];
      });
    const ours = timelines(oursPrompts);
    const baseline = plan.withBaseline ? timelines(basePrompts) : [];
    return {
      label: plan.label,
      ours: summarisePolls(ours),
      baseline: plan.withBaseline ? summarisePolls(baseline) : undefined,
      failures,
      harnessLoopDelay: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
      timelines: { ours, baseline },
    };
  };

  const results: BatchResult[] = [];
  try {
    for (const [i, plan] of plans.entries()) {
      const started = Date.now();
      results.push(await runBatch(plan, i));
      const r = results.at(-1)!;
      ctx.log(
        `P2 ${r.label}: ${tasks} tasks in ${((Date.now() - started) / 1000).toFixed(1)} s, median lag ${r.ours.medianLagMs} ms, mean rate ${r.ours.meanRate.toFixed(2)}/s, max ${r.ours.maxRate.toFixed(1)}/s${r.baseline ? `; baseline lag ${r.baseline.medianLagMs} ms` : ""}`,
      );
    }
  } finally {
    await closeQuietly(server);
  }
  if (ctx.dumpPath) {
    const batches = results.map((r) => ({ label: r.label, ...r.timelines }));
    await writeFile(ctx.dumpPath, JSON.stringify({ tasksPerBatch: tasks, batches }, null, 1));
    ctx.log(`P2 timelines written to ${ctx.dumpPath}`);
  }
  return report(results, tasks);
}

async function closeQuietly(server: StdioServer): Promise<void> {
  await server.close().catch(() => undefined);
}

function report(results: BatchResult[], tasks: number): SectionResult {
  const baseline = results.find((r) => r.baseline)?.baseline;
  const rows: FigureRow[] = [];
  for (const r of results) {
    rows.push(
      {
        figure: `P2 median poll lag (ready → poll sees it), ${r.label}`,
        unit: "ms",
        ours: r.ours.medianLagMs,
        baseline: baseline?.medianLagMs,
        goal: { kind: "at_most", limit: 60 },
      },
      {
        figure: `P2 mean poll rate per task, ${r.label}`,
        unit: "per_s",
        ours: r.ours.meanRate,
        baseline: baseline?.meanRate,
        goal: { kind: "at_most", limit: 4 },
      },
      {
        figure: `P2 max instantaneous poll rate, ${r.label}`,
        unit: "per_s",
        ours: r.ours.maxRate,
        baseline: baseline?.maxRate,
        goal: { kind: "at_most", limit: 10 },
      },
      {
        figure: `P2 most polls of one task in any 1 s window, ${r.label}`,
        unit: "count",
        ours: r.ours.maxPollsPerSecond,
        baseline: baseline?.maxPollsPerSecond,
        goal: { kind: "report" },
      },
      {
        figure: `P2 median ready → result received, ${r.label}`,
        unit: "ms",
        ours: r.ours.medianDeliveredMs,
        baseline: baseline?.medianDeliveredMs,
        goal: { kind: "report" },
      },
    );
  }
  const notes = [
    `P2: ${tasks} concurrent tasks per batch (server's FLUX_FILL_MAX_ACTIVE=${tasks}, otherwise default settings), durations uniform ${MIN_MS / 1000}–${MAX_MS / 1000} s from a fixed seed (a new draw per batch), 512×384 JPEG + mask paths, one server process for all batches in order: ${results.map((r) => `"${r.label}"`).join(", ")}. "Cold" = the process's first batch; "warm" = after it. Stepped progress = the emulator's realistic mode (null while queued, uneven steps, 1 while finishing). Lag = arrival of the first poll answered Ready − the emulator's ready time; rate = polls ÷ (that poll − creation); max = 1 ÷ the shortest gap between a task's polls, from arrival times at the emulator (so a poll delayed by the network or a busy event loop shortens the next gap: a schedule at exactly 100 ms can read as 10.1/s); the 1 s window count is the same limit read robustly. Baseline: a fixed ${BASELINE_INTERVAL_MS} ms poller (fetch, same durations), run alongside the warm stepped batch; its "result received" is when the sample was written.`,
    ...results.map(
      (r) =>
        `P2 ${r.label}: lag p90 ${r.ours.p90LagMs.toFixed(0)} ms, max ${r.ours.maxLagMs.toFixed(0)} ms; shortest gap between two polls of a task ${(1000 / r.ours.maxRate).toFixed(0)} ms; ${r.ours.totalPolls} polls for ${r.ours.seen}/${r.ours.tasks} tasks seen Ready; the harness's event loop (emulator + clients) was late by up to ${r.harnessLoopDelay.max.toFixed(0)} ms (p99 ${r.harnessLoopDelay.p99.toFixed(0)} ms)${r.failures.length ? `; ${r.failures.length} failures: ${r.failures.slice(0, 3).join(" / ")}` : ""}.`,
    ),
  ];
  if (baseline) {
    notes.push(
      `P2 baseline: lag p90 ${baseline.p90LagMs.toFixed(0)} ms, max ${baseline.maxLagMs.toFixed(0)} ms; ${baseline.totalPolls} polls for ${baseline.seen}/${baseline.tasks} tasks.`,
    );
  }
  return { rows, notes };
}
