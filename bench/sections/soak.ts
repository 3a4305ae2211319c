/**
 * Soak (issue 18): one HTTP server process with default session settings, 1,200 fills over 120 sessions
 * that stay open, plus 1,200 abandoned sessions (initialize, then the SDK client's close(), which sends
 * no DELETE) — more than the 1,000-session cap. Most abandoned sessions are opened first, so the cap is
 * reached before the fills start; the rest come during the fills, so the cap keeps ending idle sessions.
 * Every call must be answered, new clients still served, and the server's RSS flat after a warm-up
 * block (which fills the replay budget) and bounded overall. `--quick` runs a fifth of the fills (and
 * all the abandoned sessions). The same run in the 2026-07-28 era (`soak26`): the clients are sessionless
 * there, so "sessions" are clients kept open and "abandoned" ones connect (a `server/discover` probe) and close.
 */
import { randomBytes } from "node:crypto";
import type { Client, CallToolResult } from "@modelcontextprotocol/client";
import { type BenchContext, resultText, type SectionResult, serverEnv } from "../context.js";
import { BYTES_PER_MB, type FigureRow } from "../figures.js";
import { ensureImage } from "../images.js";
import { type Era, procMemory, startHttpServerProcess } from "../processes.js";

const WIDTH = 768;
const HEIGHT = 512;
const GENERATION_MS = 100;
/** Calls in flight at once (the upstream's 24 slots). */
const CONCURRENCY = 24;
/** RSS is read after every block of this many fills. */
const BLOCK = 400;
const GROWTH_LIMIT_MB = 60;
/** Bounded: idle + 1,000 sessions + the replay budget + 24 fills' working set, far under the heap limit. */
const PEAK_LIMIT_MB = 512;

/** Runs `jobs` with at most `limit` at once. */
async function pool<T>(jobs: Array<() => Promise<T>>, limit: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, jobs.length) }, async () => {
      while (next < jobs.length) {
        const index = next++;
        results[index] = await jobs[index]!();
      }
    }),
  );
  return results;
}

/** The soak in the 2025 era (sessions), as issue 18 set it. */
export const soak = (ctx: BenchContext): Promise<SectionResult> => soakIn(ctx, "2025");
/** The same soak with every client pinned to 2026-07-28 (issue 23). */
export const soak2026 = (ctx: BenchContext): Promise<SectionResult> => soakIn(ctx, "2026-07-28");

async function soakIn(ctx: BenchContext, era: Era): Promise<SectionResult> {
  const label = era === "2025" ? "Soak" : "Soak 2026-07-28";
  const scale = ctx.quick ? 5 : 1;
  const sessions = 120 / scale;
  const fills = 1200 / scale;
  // Always past the 1,000-session cap: opening a session is cheap.
  const abandonedTotal = 1200;
  const block = BLOCK / scale;
  const blocks = fills / block;
  const imagePath = await ensureImage({
    name: "soak-photo",
    width: WIDTH,
    height: HEIGHT,
    seed: 18,
    grain: 6,
    kind: "jpeg",
  });
  const maskPath = await ensureImage({
    name: "soak-mask",
    width: WIDTH,
    height: HEIGHT,
    seed: 0,
    grain: 0,
    kind: "mask",
  });
  ctx.emu.reset({ generationMs: GENERATION_MS });
  const server = await startHttpServerProcess(
    ctx.cliPath,
    serverEnv(ctx, { FLUX_FILL_POLL_INTERVAL_MS: "25" }),
    ctx.workDir,
    randomBytes(16).toString("hex"),
  );
  const pid = server.child.pid!;
  const errors: string[] = [];
  const rssAfterBlock: number[] = [];
  let answered = 0;
  let abandonedOpened = 0;
  let freshServed = false;
  try {
    const clients: Client[] = [];
    for (let s = 0; s < sessions; s++) clients.push(await server.connect(era));
    const idleRss = (await procMemory(pid)).rssBytes;
    const abandon = (count: number) =>
      Array.from({ length: count }, () => async () => {
        try {
          const client = await server.connect(era);
          abandonedOpened += 1;
          await client.close();
        } catch (error) {
          errors.push(`abandoned session: ${String(error).slice(0, 200)}`);
        }
      });
    const duringFills = 100;
    await pool(abandon(abandonedTotal - duringFills * blocks), 4);
    const atCapRss = (await procMemory(pid)).rssBytes;
    ctx.log(`${label}: ${abandonedOpened} abandoned sessions opened, RSS ${(atCapRss / BYTES_PER_MB).toFixed(0)} MB`);
    for (let b = 0; b < blocks; b++) {
      const calls = Array.from({ length: block }, (_, i) => async () => {
        const n = b * block + i;
        try {
          const result = (await clients[n % sessions]!.callTool(
            { name: "flux_fill", arguments: { image: imagePath, mask: maskPath, prompt: `soak ${n}`, seed: 18 } },
            { timeout: 120_000 },
          )) as CallToolResult;
          if (result.isError) errors.push(resultText(result).slice(0, 200));
          else answered += 1;
        } catch (error) {
          errors.push(String(error).slice(0, 200));
        }
      });
      await Promise.all([pool(calls, CONCURRENCY), pool(abandon(duringFills), 2)]);
      rssAfterBlock.push((await procMemory(pid)).rssBytes);
      ctx.log(
        `${label} block ${b + 1}/${blocks}: ${answered}/${(b + 1) * block} fills answered, ${abandonedOpened} abandoned sessions, RSS ${(rssAfterBlock.at(-1)! / BYTES_PER_MB).toFixed(0)} MB (idle ${(idleRss / BYTES_PER_MB).toFixed(0)} MB)`,
      );
    }
    const fresh = await server.connect(era);
    freshServed = (await fresh.listTools()).tools.length > 0;
    const peak = (await procMemory(pid)).peakRssBytes;
    const growth = rssAfterBlock.slice(1).map((rss, i) => (rss - rssAfterBlock[i]!) / BYTES_PER_MB);
    const rows: FigureRow[] = [
      {
        figure: `${label} fills answered (of ${fills}, ${sessions} sessions, HTTP)`,
        unit: "count",
        ours: answered,
        goal: { kind: "equals", value: fills },
      },
      {
        figure: `${label} abandoned sessions opened (of ${abandonedTotal}; session cap 1000)`,
        unit: "count",
        ours: abandonedOpened,
        goal: { kind: "equals", value: abandonedTotal },
      },
      {
        figure: `${label} new client served at the end`,
        unit: "count",
        ours: freshServed ? 1 : 0,
        goal: { kind: "equals", value: 1 },
      },
      {
        figure: `${label} largest RSS growth per ${block} fills after the warm-up block`,
        unit: "MB",
        ours: growth.length > 0 ? Math.max(...growth) : 0,
        // --quick is too short to be past the warm-up: the figure is only reported then.
        goal: ctx.quick ? { kind: "report" } : { kind: "at_most", limit: GROWTH_LIMIT_MB },
      },
      {
        figure: `${label} peak RSS of the server (baseline: RSS with the ${sessions} clients open, before any fill)`,
        unit: "MB",
        ours: peak / BYTES_PER_MB,
        baseline: idleRss / BYTES_PER_MB,
        goal: { kind: "at_most", limit: PEAK_LIMIT_MB },
      },
    ];
    const notes = [
      `${label}: clients in the ${era} era; one \`dist/cli.js --http --port 0\` process with default session settings (FLUX_FILL_HTTP_MAX_SESSIONS 1000, FLUX_FILL_HTTP_REPLAY_MB 16); ${sessions} sessions kept open for ${fills} \`flux_fill\` calls (${WIDTH}×${HEIGHT} JPEG + mask paths, ${CONCURRENCY} in flight, emulator generation ${GENERATION_MS} ms), while ${abandonedTotal} ${era === "2025" ? "further sessions initialize and are left without a DELETE" : "further clients connect (a server/discover probe) and close"} (${abandonedTotal - 100 * blocks} before the fills, RSS then ${(atCapRss / BYTES_PER_MB).toFixed(0)} MB; 100 during each block). RSS (VmRSS) after each block of ${block} fills: ${rssAfterBlock.map((r) => (r / BYTES_PER_MB).toFixed(0)).join(", ")} MB; growth per block after the first: ${growth.map((g) => g.toFixed(1)).join(", ")} MB. 1 MB = 10^6 bytes.`,
    ];
    if (errors.length > 0) notes.push(`${label} errors (${errors.length}): ${errors.slice(0, 3).join(" / ")}`);
    return { rows, notes };
  } finally {
    await server.stop();
  }
}
