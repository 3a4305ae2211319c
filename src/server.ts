import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  ErrorCode,
  isJSONRPCErrorResponse,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  McpError,
} from "@modelcontextprotocol/sdk/types.js";
import type { Config } from "./config.js";
import { createLogger, type Logger } from "./log.js";
import { DurationHistory } from "./providers/bfl/duration-history.js";
import { type ProviderName, selectProvider } from "./providers/index.js";
import { attachQueues, FillQueues, queuedProvider, queueKey } from "./providers/queue.js";
import type { Provider } from "./providers/types.js";
import { nothingSubmitted } from "./pay-once.js";
import { recoverUnfinishedTasks } from "./recovery.js";
import { registerResultResources } from "./resources/results.js";
import { KeptResults, type ResultWriter } from "./results/store.js";
import { forbiddenFields, forbiddenFieldsMessage } from "./schema/issues.js";
import { createPaidTaskState, type PaidTaskState } from "./state/index.js";
import { DeliveryTracker } from "./tools/delivery.js";
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
  /** Attach, hand-over, journal and credit limit state, shared by every session. */
  paid: PaidTaskState;
  /** Results no directory could take, kept for get_result. */
  kept: KeptResults;
  /** The file writes of saving a result (tests inject a full disk). */
  writer?: ResultWriter | undefined;
  /** Whether results reached their callers; one per MCP server (connection). */
  deliveries: DeliveryTracker;
  /** Resolves once the tasks journalled before a restart are being collected. */
  recovering: Promise<void>;
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
  /** Told by the HTTP transport when a caller dropped its response stream. */
  deliveries: DeliveryTracker;
}

export interface CreateServerOptions {
  logger?: Logger;
  /** Forces a provider instead of the configured one. */
  provider?: ProviderName | Provider;
  /** Shares running fills and shutdown across servers (one per HTTP session). */
  runtime?: ServerRuntime;
  /** The file writes of saving a result (tests inject a full disk). */
  writer?: ResultWriter;
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
    paid: createPaidTaskState(config.outputDir, { startedNothing: nothingSubmitted }),
    kept: new KeptResults(),
    writer: options.writer,
    // Replaced per connection by createServer; this one is never told about a send.
    deliveries: new DeliveryTracker(),
    recovering: Promise.resolve(),
  };
  attachQueues(deps, queues);
  const recovery = recoverUnfinishedTasks({ ...deps, signal: shutdown.signal });
  deps.recovering = recovery.registered;
  deps.track(recovery.done);
  return {
    deps,
    idle: async () => {
      while (running.size > 0) await Promise.all([...running]);
    },
    abort: () => shutdown.abort(),
  };
}

/**
 * The SDK's server plus two things only the connection can see: whether a response was sent (for
 * DeliveryTracker), and tool arguments the SDK's own parse would silently drop (`"__proto__"`), which are
 * refused like any unknown field before the SDK sees them.
 */
class FluxFillMcpServer extends McpServer {
  readonly deliveries = new DeliveryTracker();

  override async connect(transport: Transport): Promise<void> {
    await super.connect(transport);
    const send = transport.send.bind(transport);
    transport.send = async (message, options) => {
      const responseTo = isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message) ? message.id : undefined;
      try {
        await send(message, options);
      } catch (error) {
        if (responseTo !== undefined) this.deliveries.sent(responseTo, false);
        throw error;
      }
      if (responseTo !== undefined) this.deliveries.sent(responseTo, true);
    };
    const receive = transport.onmessage;
    transport.onmessage = (message, extra) => {
      if (isJSONRPCRequest(message) && message.method === "tools/call") {
        const forbidden = forbiddenFields((message.params as { arguments?: unknown } | undefined)?.arguments);
        if (forbidden.length > 0) {
          const tool = String((message.params as { name?: unknown }).name);
          const text = new McpError(
            ErrorCode.InvalidParams,
            `Input validation error: Invalid arguments for tool ${tool}: ${forbiddenFieldsMessage(forbidden)}`,
          ).message;
          void transport
            .send({ jsonrpc: "2.0", id: message.id, result: { content: [{ type: "text", text }], isError: true } })
            .catch(() => undefined);
          return;
        }
      }
      receive?.(message, extra);
    };
  }
}

export function createServer(config: Config, options: CreateServerOptions = {}): FluxFillServer {
  const runtime = options.runtime ?? createRuntime(config, options);
  const mcp = new FluxFillMcpServer(
    { name: SERVER_NAME, version: SERVER_VERSION, title: "FLUX.1 Fill inpainting" },
    {
      capabilities: { tools: {}, resources: {}, logging: {} },
      instructions:
        "flux_fill inpaints the masked part of a photo (FLUX.1 Fill [pro], or an offline engine without an API key); flux_expand adds pixels around it (outpainting). Results are saved as files and listed as flux-fill://results/{id} resources.",
    },
  );
  const deps: ServerDeps = { ...runtime.deps, deliveries: mcp.deliveries };
  registerFluxFillTool(mcp, deps);
  registerFluxExpandTool(mcp, deps);
  registerGetResultTool(mcp, deps);
  registerOpenMaskEditorTool(mcp, deps);
  registerPreviewMaskTool(mcp, deps);
  registerResultResources(mcp, deps);
  return { mcp, idle: runtime.idle, abort: runtime.abort, deliveries: mcp.deliveries };
}
