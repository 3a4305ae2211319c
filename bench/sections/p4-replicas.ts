/**
 * P4 across replicas: the 50 concurrent fills of P4, spread over two server processes that share one
 * Redis (Debian's redis-server: upstream slot leases, running tasks) and one S3-compatible bucket (s3rver:
 * results), against the emulator capped at 24 active tasks. Wall time against the ideal schedule
 * ceil(50/24) × generation, as for one process: sharing the budget must not cost much.
 */
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { Client, CallToolResult } from "@modelcontextprotocol/client";
import { startRedis } from "../../test/helpers/redis-server.js";
import { startS3 } from "../../test/helpers/s3-server.js";
import { type BenchContext, resultText, runsFor, type SectionResult, serverEnv } from "../context.js";
import { type FigureRow, idealScheduleMs, median } from "../figures.js";
import { ensureImage } from "../images.js";
import { findRoot, type HttpServerProcess, startHttpServerProcess } from "../processes.js";

const FILLS = 50;
const REPLICAS = 2;
const SESSIONS_PER_REPLICA = 3;
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
  errors: string[];
}

export async function p4Replicas(ctx: BenchContext): Promise<SectionResult> {
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
  const redis = await startRedis();
  const s3 = await startS3("flux-bench", path.join(findRoot(), "test", "helpers", "s3-server-main.mjs"));
  const replicas: HttpServerProcess[] = [];
  const results: RunResult[] = [];
  const call = (client: Client, prompt: string) =>
    client.callTool(
      { name: "flux_fill", arguments: { image: imagePath, mask: maskPath, prompt, seed: 4 } },
      { timeout: 120_000 },
    ) as Promise<CallToolResult>;
  try {
    for (let r = 0; r < REPLICAS; r++) {
      const outputDir = path.join(ctx.workDir, `replica-${r}`);
      await mkdir(outputDir, { recursive: true });
      const env = serverEnv(ctx, {
        FLUX_FILL_OUTPUT_DIR: outputDir,
        FLUX_FILL_MAX_ACTIVE: String(CAP),
        FLUX_FILL_REDIS_URL: redis.url,
        ...s3.env("bench"),
      });
      replicas.push(await startHttpServerProcess(ctx.cliPath, env, ctx.workDir, randomBytes(16).toString("hex")));
    }
    const sessions: Client[] = [];
    for (let s = 0; s < SESSIONS_PER_REPLICA; s++)
      for (const replica of replicas) sessions.push(await replica.connect());
    // Unmeasured warm-up: both replicas have loaded their modules, connected to Redis and the bucket.
    await Promise.all(sessions.map((client, s) => call(client, `p4r warm-up ${s}`)));
    for (let run = 0; run < runs; run++) {
      ctx.emu.reset(behaviour);
      const errors: string[] = [];
      let successes = 0;
      const started = Date.now();
      await Promise.all(
        Array.from({ length: FILLS }, async (_, i) => {
          try {
            const result = await call(sessions[i % sessions.length]!, `p4r run ${run} fill ${i}`);
            if (result.isError) errors.push(resultText(result).slice(0, 200));
            else successes++;
          } catch (error) {
            errors.push(String(error).slice(0, 200));
          }
        }),
      );
      const wallMs = Date.now() - started;
      const prompts = [...ctx.emu.tasks.values()].map((t) => String(t.body.prompt));
      results.push({
        wallMs,
        successes,
        duplicates: prompts.length - new Set(prompts).size,
        rejectedSubmits: ctx.emu.submitCount - ctx.emu.tasks.size,
        maxActive: ctx.emu.maxActiveSeen,
        errors,
      });
      const r = results.at(-1)!;
      ctx.log(
        `P4 replicas ${run + 1}/${runs}: ${r.successes}/${FILLS} in ${r.wallMs} ms, ${r.duplicates} duplicate submits, ${r.rejectedSubmits} rejected, max active ${r.maxActive}`,
      );
    }
  } finally {
    await Promise.all(replicas.map((replica) => replica.stop()));
    await Promise.all([redis.close(), s3.close()]);
  }

  const ideal = idealScheduleMs(FILLS, CAP, GENERATION_MS);
  const rows: FigureRow[] = [
    {
      figure: `P4 replicas: fills succeeded, worst run (of ${FILLS}, ${REPLICAS} replicas)`,
      unit: "count",
      ours: Math.min(...results.map((r) => r.successes)),
      goal: { kind: "equals", value: FILLS },
    },
    {
      figure: "P4 replicas: duplicate submits, all runs",
      unit: "count",
      ours: results.reduce((sum, r) => sum + r.duplicates, 0),
      goal: { kind: "equals", value: 0 },
    },
    {
      figure: `P4 replicas: wall for ${FILLS} fills on ${REPLICAS} replicas vs ideal ceil(${FILLS}/${CAP}) × ${GENERATION_MS / 1000} s`,
      unit: "ms",
      ours: median(results.map((r) => r.wallMs)),
      baseline: ideal,
      goal: { kind: "ratio_at_most", limit: 1.15 },
    },
    {
      figure: "P4 replicas: submits the emulator refused (429), all runs",
      unit: "count",
      ours: results.reduce((sum, r) => sum + r.rejectedSubmits, 0),
      goal: { kind: "equals", value: 0 },
    },
  ];
  const errors = results.flatMap((r) => r.errors);
  const notes = [
    `P4 replicas: ${FILLS} concurrent \`flux_fill\` calls round-robin over ${SESSIONS_PER_REPLICA} HTTP sessions on each of ${REPLICAS} \`dist/cli.js --http\` processes sharing FLUX_FILL_MAX_ACTIVE ${CAP} through Debian's redis-server (FLUX_FILL_REDIS_URL) and saving results to an s3rver bucket (FLUX_FILL_RESULTS_URL), all on 127.0.0.1; emulator capped at ${CAP} active tasks, generation ${GENERATION_MS} ms; median wall of ${runs} runs after a warm-up. Highest active tasks seen by the emulator: ${Math.max(...results.map((r) => r.maxActive))}.`,
  ];
  if (errors.length > 0) notes.push(`P4 replicas errors (${errors.length}): ${errors.slice(0, 3).join(" / ")}`);
  return { rows, notes };
}
