/**
 * Soak (issue 18): one HTTP server process with default session settings, 1,200 fills over 120 sessions
 * that stay open, plus 1,200 abandoned sessions (initialize, then the SDK client's close(), which sends
 * no DELETE) — more than the 1,000-session cap. Most abandoned sessions are opened first, so the cap is
 * reached before the fills start; the rest come during the fills, so the cap keeps ending idle sessions.
 * Every call must be answered, new clients still served, and the server's memory flat after the warm-up
 * (which fills the replay budget and the allocator's pools) and bounded overall. `--quick` runs a fifth of
 * the fills (and all the abandoned sessions). The same run in the 2026-07-28 era (`soak26`): the clients
 * are sessionless there, so "sessions" are clients kept open and "abandoned" ones connect (a
 * `server/discover` probe) and close.
 *
 * Memory is read by the probe preloaded into the server (bench/memory-probe.cjs) after every 50 fills,
 * once the fills in flight have finished and after a full garbage collection: RSS, the JavaScript heap and
 * Buffers. Three RSS readings 400 fills apart, taken while garbage waited to be collected, made the growth
 * the difference of two single readings (−20 then +69 MB in one run, −2.5 MB in the next). Growth is now
 * the Theil–Sen slope over the 17 samples after the warm-up (the median of every pair's slope), per 400
 * fills: one high or low sample moves it little.
 */
import { randomBytes } from "node:crypto";
import type { Client, CallToolResult } from "@modelcontextprotocol/client";
import { type BenchContext, resultText, type SectionResult, serverEnv } from "../context.js";
import { BYTES_PER_MB, type FigureRow, median, theilSenSlope } from "../figures.js";
import { ensureImage } from "../images.js";
import { type Era, procMemory, type ServerMemoryUsage, startHttpServerProcess } from "../processes.js";

const WIDTH = 768;
const HEIGHT = 512;
const GENERATION_MS = 100;
/** Calls in flight at once (the upstream's 24 slots). */
const CONCURRENCY = 24;
/** Memory is sampled after every this many fills (once they are all answered). */
const SAMPLE_EVERY = 50;
/** The first fills warm the server up (replay budget, allocator pools, JIT); growth is measured after them. */
const WARM_UP_FILLS = 400;
/** The goal's unit: growth per this many fills. */
const GROWTH_PER_FILLS = 400;
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

/** One memory sample: after `fills` fills, all answered, after a full garbage collection. */
interface Sample {
  fills: number;
  /** RSS just before the collection (VmRSS). */
  rssBeforeGc: number;
  usage: ServerMemoryUsage;
}

const mb = (bytes: number): string => (bytes / BYTES_PER_MB).toFixed(0);

/** Growth per `GROWTH_PER_FILLS` fills of one figure over the samples after the warm-up (Theil–Sen), MB. */
function growthPerBlock(samples: readonly Sample[], figure: (s: Sample) => number): number {
  const slope = theilSenSlope(
    samples.map((s) => s.fills),
    samples.map(figure),
  );
  return (slope * GROWTH_PER_FILLS) / BYTES_PER_MB;
}

async function soakIn(ctx: BenchContext, era: Era): Promise<SectionResult> {
  const label = era === "2025" ? "Soak" : "Soak 2026-07-28";
  const scale = ctx.quick ? 5 : 1;
  const sessions = 120 / scale;
  const fills = 1200 / scale;
  // Always past the 1,000-session cap: opening a session is cheap.
  const abandonedTotal = 1200;
  const abandonedDuringFills = 300;
  const sampleEvery = SAMPLE_EVERY / scale;
  const warmUpFills = WARM_UP_FILLS / scale;
  const blocks = fills / sampleEvery;
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
    { probe: true },
  );
  const pid = server.child.pid!;
  const errors: string[] = [];
  const samples: Sample[] = [];
  let answered = 0;
  let abandonedOpened = 0;
  let freshServed = false;
  const sample = async (done: number): Promise<Sample> => {
    const rssBeforeGc = (await procMemory(pid)).rssBytes;
    return { fills: done, rssBeforeGc, usage: await server.memory({ gc: true }) };
  };
  try {
    const clients: Client[] = [];
    for (let s = 0; s < sessions; s++) clients.push(await server.connect(era));
    const idle = await sample(0);
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
    await pool(abandon(abandonedTotal - abandonedDuringFills), 4);
    const atCap = await sample(0);
    ctx.log(`${label}: ${abandonedOpened} abandoned sessions opened, RSS ${mb(atCap.usage.rss)} MB`);
    for (let b = 0; b < blocks; b++) {
      const calls = Array.from({ length: sampleEvery }, (_, i) => async () => {
        const n = b * sampleEvery + i;
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
      const abandonedNow =
        Math.round((abandonedDuringFills * (b + 1)) / blocks) - Math.round((abandonedDuringFills * b) / blocks);
      await Promise.all([pool(calls, CONCURRENCY), pool(abandon(abandonedNow), 2)]);
      const s = await sample((b + 1) * sampleEvery);
      samples.push(s);
      ctx.log(
        `${label} ${s.fills}/${fills} fills (${answered} answered), ${abandonedOpened} abandoned sessions: RSS ${mb(s.rssBeforeGc)} MB, after GC ${mb(s.usage.rss)} MB (heap ${mb(s.usage.heapUsed)}, external ${mb(s.usage.external)}, array buffers ${mb(s.usage.arrayBuffers)} MB)`,
      );
    }
    const fresh = await server.connect(era);
    freshServed = (await fresh.listTools()).tools.length > 0;
    const peak = (await procMemory(pid)).peakRssBytes;
    const afterWarmUp = samples.filter((s) => s.fills >= warmUpFills);
    const rssGrowth = growthPerBlock(afterWarmUp, (s) => s.usage.rss);
    const per = `per ${GROWTH_PER_FILLS} fills after the first ${warmUpFills}`;
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
        figure: `${label} RSS growth ${per} (Theil–Sen slope over samples after GC every ${sampleEvery} fills)`,
        unit: "MB",
        ours: rssGrowth,
        // --quick is too short to be past the warm-up for long: the figure is only reported then.
        goal: ctx.quick ? { kind: "report" } : { kind: "at_most", limit: GROWTH_LIMIT_MB },
      },
      {
        figure: `${label} JavaScript heap growth ${per} (heapUsed after GC, same samples)`,
        unit: "MB",
        ours: growthPerBlock(afterWarmUp, (s) => s.usage.heapUsed),
        goal: { kind: "report" },
      },
      {
        figure: `${label} peak RSS of the server (baseline: RSS with the ${sessions} clients open, before any fill)`,
        unit: "MB",
        ours: peak / BYTES_PER_MB,
        baseline: idle.usage.rss / BYTES_PER_MB,
        goal: { kind: "at_most", limit: PEAK_LIMIT_MB },
      },
    ];
    const series = (figure: (s: Sample) => number) => samples.map((s) => mb(figure(s))).join(" ");
    const notes = [
      `${label}: clients in the ${era} era; one \`dist/cli.js --http --port 0\` process with default session settings (FLUX_FILL_HTTP_MAX_SESSIONS 1000, FLUX_FILL_HTTP_REPLAY_MB 16) and the memory probe (bench/memory-probe.cjs: --expose-gc, an IPC channel); ${sessions} ${era === "2025" ? "sessions" : "clients"} kept open for ${fills} \`flux_fill\` calls (${WIDTH}×${HEIGHT} JPEG + mask paths, ${CONCURRENCY} in flight, emulator generation ${GENERATION_MS} ms), while ${abandonedTotal} ${era === "2025" ? "further sessions initialize and are left without a DELETE" : "further clients connect (a server/discover probe) and close"} (${abandonedTotal - abandonedDuringFills} before the fills, ${abandonedDuringFills} spread over them). With the clients open: RSS ${mb(idle.usage.rss)} MB, heap ${mb(idle.usage.heapUsed)} MB; after the abandoned sessions: RSS ${mb(atCap.usage.rss)} MB, heap ${mb(atCap.usage.heapUsed)} MB. Samples after every ${sampleEvery} fills, all answered, after a full GC (MB): RSS ${series((s) => s.usage.rss)}; RSS before the GC ${series((s) => s.rssBeforeGc)}; heap used ${series((s) => s.usage.heapUsed)}; external ${series((s) => s.usage.external)} (of which array buffers ${series((s) => s.usage.arrayBuffers)}). RSS growth from the warm-up's end to the last sample (medians of 3 samples): ${(
        (median(samples.slice(-3).map((s) => s.usage.rss)) - median(afterWarmUp.slice(0, 3).map((s) => s.usage.rss))) /
          BYTES_PER_MB
      ).toFixed(1)} MB over ${fills - warmUpFills} fills. 1 MB = 10^6 bytes.`,
    ];
    if (errors.length > 0) notes.push(`${label} errors (${errors.length}): ${errors.slice(0, 3).join(" / ")}`);
    return { rows, notes };
  } finally {
    await server.stop();
  }
}
