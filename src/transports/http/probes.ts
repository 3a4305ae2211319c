/** The liveness and readiness probes: no auth, no secrets; /readyz answers 503 while shutting down. */
import type { Express } from "express";
import { type Config, effectiveProvider, providerKey } from "../../config.js";
import { untilUtcMidnight } from "../../pay-once.js";
import { KEYS } from "../../providers/index.js";
import { queuesOf } from "../../providers/queue.js";
import { segmenterProblem } from "../../segmentation/index.js";
import { SERVER_VERSION, type ServerRuntime } from "../../server.js";
import { utcDay } from "../../state/files.js";

export function mountProbes(
  app: Express,
  config: Config,
  runtime: ServerRuntime,
  state: { isClosing: () => boolean; sessionCount: () => number },
): void {
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok", version: SERVER_VERSION });
  });

  /** The day's spend for /readyz; never fails the probe. */
  const creditsToday = async () => {
    const now = Date.now();
    const spent = await runtime.deps.paid.credits.spent(now).catch(() => undefined);
    return {
      day: utcDay(now),
      spent: spent ?? null,
      limit: config.dailyCreditLimit ?? null,
      resets_at: new Date(now + untilUtcMidnight(now)).toISOString(),
    };
  };

  app.get("/readyz", async (_req, res) => {
    const provider = effectiveProvider(config);
    const upstreamConfigured = provider === "local" || providerKey(config, provider) !== undefined;
    const [results, redis] = await Promise.all([runtime.deps.results.check(), runtime.deps.slots.check()]);
    const segmenter = segmenterProblem(config);
    const closing = state.isClosing();
    const ready = !closing && upstreamConfigured && results.ok && (redis?.ok ?? true) && !segmenter;
    const queue = Object.values(queuesOf(runtime.deps)?.snapshot() ?? {}).reduce(
      (sum, q) => ({ active: sum.active + q.active, waiting: sum.waiting + q.waiting }),
      { active: 0, waiting: 0 },
    );
    res.status(ready ? 200 : 503).json({
      status: closing ? "shutting_down" : ready ? "ready" : "not_ready",
      checks: {
        provider: {
          ok: upstreamConfigured,
          name: provider,
          ...(upstreamConfigured ? {} : { problem: `${KEYS[provider].setting} is not set` }),
        },
        // Which segmenter object entries go through (FLUX_FILL_SEGMENTER; fal is paid and sees the photo).
        segmenter: {
          ok: segmenter === undefined,
          name: runtime.deps.segmenter.name,
          hosted: runtime.deps.segmenter.hosted,
          ...(segmenter === undefined ? {} : { problem: segmenter }),
        },
        // The results store: the output directory, or a bucket (with the results waiting to be uploaded).
        [config.results.kind === "s3" ? "results" : "output_dir"]: results,
        ...(redis === undefined ? {} : { redis }),
      },
      fills: { running: queue.active, waiting: queue.waiting },
      credits: await creditsToday(),
      sessions: state.sessionCount(),
    });
  });
}
