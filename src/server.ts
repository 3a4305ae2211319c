import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { Config } from "./config.js";
import { createLogger, type Logger } from "./log.js";
import { DurationHistory } from "./providers/bfl/duration-history.js";
import { type ProviderName, selectProvider } from "./providers/index.js";
import { attachQueues, FillQueues, queuedProvider, queueKey } from "./providers/queue.js";
import type { Provider } from "./providers/types.js";
import { registerResultResources } from "./resources/results.js";
import { registerFluxExpandTool } from "./tools/flux-expand.js";
import { registerFluxFillTool } from "./tools/flux-fill.js";
import { registerGetResultTool } from "./tools/get-result.js";
import { registerOpenMaskEditorTool } from "./tools/open-mask-editor.js";
import { registerPreviewMaskTool } from "./tools/preview-mask.js";

export const SERVER_NAME = "flux-fill-mcp";
export const SERVER_VERSION: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;

/** What tools and resources need from the server; no MCP objects, no globals. */
export interface ServerDeps {
  config: Config;
  logger: Logger;
  /** The provider for the next call (chosen per call so a bad key is a tool error, not a crash). */
  provider: () => Provider;
  /** Keeps a running fill alive past a cancelled call, so shutdown can wait for it to be saved. */
  track: (job: Promise<unknown>) => void;
  shutdownSignal: AbortSignal;
}

/**
 * What every session of one process shares: running fills (so shutdown can wait for them to be saved),
 * the shutdown signal, and the provider choice. The stdio transport has one session; HTTP has many.
 */
export interface ServerRuntime {
  deps: ServerDeps;
  /** Resolves when every fill started so far has finished (saved or failed). */
  idle: () => Promise<void>;
  /** Aborts running fills (used on shutdown after a grace period). */
  abort: () => void;
}

export interface FluxFillServer extends Omit<ServerRuntime, "deps"> {
  mcp: McpServer;
}

export interface CreateServerOptions {
  logger?: Logger;
  /** Forces a provider instead of the configured one. */
  provider?: ProviderName | Provider;
  /** Shares running fills and shutdown across servers (one per HTTP session). */
  runtime?: ServerRuntime;
}

export function createRuntime(config: Config, options: Omit<CreateServerOptions, "runtime"> = {}): ServerRuntime {
  const logger = options.logger ?? createLogger();
  const running = new Set<Promise<unknown>>();
  const shutdown = new AbortController();
  const forced = options.provider;
  // One queue per upstream key for every session of this runtime (a process has one runtime); the local
  // engine gets its own small limit so parallel runs do not starve each other of the CPU.
  const queues = new FillQueues({ maxWaitMs: config.timeoutMs });
  // Past task durations, so each call's poll schedule learns from every earlier one (and concurrent ones).
  const shared = { bflDurations: new DurationHistory() };
  const queued = (provider: Provider): Provider =>
    provider.name === "bfl"
      ? queuedProvider(provider, queues.queue(`bfl:${queueKey(config.bfl.apiKey ?? "")}`, config.maxActive))
      : queuedProvider(
          provider,
          queues.queue("local", Math.max(1, availableParallelism()), "local engine run"),
          "local engine run",
        );
  const deps: ServerDeps = {
    config,
    logger,
    provider: () => queued(typeof forced === "object" ? forced : selectProvider(config, forced, shared)),
    track: (job) => {
      const settled = job.then(
        () => undefined,
        () => undefined,
      );
      running.add(settled);
      void settled.finally(() => running.delete(settled));
    },
    shutdownSignal: shutdown.signal,
  };
  attachQueues(deps, queues);
  return {
    deps,
    idle: async () => {
      while (running.size > 0) await Promise.all([...running]);
    },
    abort: () => shutdown.abort(),
  };
}

export function createServer(config: Config, options: CreateServerOptions = {}): FluxFillServer {
  const runtime = options.runtime ?? createRuntime(config, options);
  const mcp = new McpServer(
    { name: SERVER_NAME, version: SERVER_VERSION, title: "FLUX.1 Fill inpainting" },
    {
      capabilities: { tools: {}, resources: {}, logging: {} },
      instructions:
        "flux_fill inpaints the masked part of a photo (FLUX.1 Fill [pro], or an offline engine without an API key); flux_expand adds pixels around it (outpainting). Results are saved as files and listed as flux-fill://results/{id} resources.",
    },
  );
  registerFluxFillTool(mcp, runtime.deps);
  registerFluxExpandTool(mcp, runtime.deps);
  registerGetResultTool(mcp, runtime.deps);
  registerOpenMaskEditorTool(mcp, runtime.deps);
  registerPreviewMaskTool(mcp, runtime.deps);
  registerResultResources(mcp, runtime.deps);
  return { mcp, idle: runtime.idle, abort: runtime.abort };
}
