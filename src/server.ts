import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import {
  isJSONRPCErrorResponse,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  McpServer,
  PROTOCOL_VERSION_META_KEY,
  ProtocolError,
  ProtocolErrorCode,
  type Transport,
} from "@modelcontextprotocol/server";
import { createAuditLog } from "./audit.js";
import { type Config, type ProviderName, providerKey } from "./config.js";
import { createLogger, type Logger } from "./log.js";
import { DurationHistory } from "./providers/bfl/duration-history.js";
import { selectProvider } from "./providers/index.js";
import { attachQueues, FillQueues, queuedProvider, queueKey } from "./providers/queue.js";
import type { Provider } from "./providers/types.js";
import { nothingSubmitted } from "./pay-once.js";
import { recoverUnfinishedTasks } from "./recovery.js";
import { LOCAL_PRINCIPAL, LOCAL_USER, type Principal } from "./principal.js";
import { registerResultResources } from "./resources/results.js";
import { createResultStore } from "./results/index.js";
import { KeptResults, type ResultWriter } from "./results/store.js";
import type { ResultStore } from "./results/types.js";
import { forbiddenFields, forbiddenFieldsMessage } from "./schema/issues.js";
import { createCreditLedger, createPaidTaskState } from "./state/index.js";
import { FileMaskStore, RedisMaskStore } from "./state/masks.js";
import { RedisSlotPool } from "./state/redis.js";
import { RedisConnection } from "./state/redis-connection.js";
import { processSlots, type SlotPool } from "./state/slots.js";
import { DeliveryTracker } from "./tools/delivery.js";
import { registerFluxExpandTool } from "./tools/flux-expand.js";
import { configForUser, userResultsDir } from "./results/users.js";
import type { ServerDeps } from "./tools/deps.js";
import type { Segmenter } from "./images/selection/segmenter.js";
import { createSegmenter } from "./segmentation/index.js";
import { registerFluxFillTool } from "./tools/flux-fill.js";
import { registerGetResultTool } from "./tools/get-result.js";
import { registerOpenMaskEditorTool } from "./tools/open-mask-editor.js";
import { registerPreviewMaskTool } from "./tools/preview-mask.js";

export const SERVER_NAME = "flux-fill-mcp";
export const SERVER_VERSION: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;

/**
 * What every session of one process shares: running fills (so shutdown can wait for them to be saved),
 * the shutdown signal, the provider choice and the upstream queues. The stdio transport has one session;
 * HTTP has many, each of one user.
 */
export interface ServerRuntime {
  /** The local user's view (stdio; HTTP without named users). */
  deps: ServerDeps;
  /** A user's view: their own results directory, their place in the upstream queues. */
  depsFor: (principal: Principal) => ServerDeps;
  /** Resolves when every fill started so far has finished (saved or failed). */
  idle: () => Promise<void>;
  /** Aborts running fills (used on shutdown after a grace period). */
  abort: () => void;
  /** Closes connections to shared state and stops background uploads (after `idle`, on shutdown). */
  close: () => Promise<void>;
}

export interface FluxFillServer extends Omit<ServerRuntime, "deps" | "depsFor" | "close"> {
  mcp: McpServer;
  /** Told by the HTTP transport when a caller dropped its response stream. */
  deliveries: DeliveryTracker;
  /** Closes what this server owns: its runtime's connections when it made its runtime, else nothing. */
  close: () => Promise<void>;
}

export interface CreateServerOptions {
  logger?: Logger;
  /** Forces a provider instead of the configured one. */
  provider?: ProviderName | Provider;
  /** Shares running fills and shutdown across servers (one per HTTP session). */
  runtime?: ServerRuntime;
  /** The file writes of saving a result (tests inject a full disk). */
  writer?: ResultWriter;
  /** Who this server (connection) serves; default the local user. */
  principal?: Principal;
  /** The time, for the expiry of mask ids (tests move it instead of waiting). */
  clock?: () => number;
  /** Forces a segmenter instead of the configured one. */
  segmenter?: Segmenter;
}

export function createRuntime(config: Config, options: Omit<CreateServerOptions, "runtime"> = {}): ServerRuntime {
  const logger = options.logger ?? createLogger();
  const running = new Set<Promise<unknown>>();
  const shutdown = new AbortController();
  const forced = options.provider;
  // One queue per upstream key for every session of this runtime (a process has one runtime); the local
  // engine gets its own small limit so parallel runs do not starve each other of the CPU.
  const queues = new FillQueues({ maxWaitMs: config.timeoutMs });
  // Chosen once here: results in the output directory or a bucket, this process's slots or Redis leases.
  const redis = config.redis === undefined ? undefined : new RedisConnection({ settings: config.redis, logger });
  const slots: SlotPool = redis === undefined ? processSlots : new RedisSlotPool(redis);
  const stores = new Map<string, ResultStore>();
  /** Each user's results (their directory, or their prefix in the bucket), made once. */
  const resultsFor = (user: string, kept: KeptResults): ResultStore => {
    let store = stores.get(user);
    if (store === undefined) {
      store = createResultStore(configForUser(config, user), logger, { local: { kept, writer: options.writer } });
      stores.set(user, store);
    }
    return store;
  };
  if (config.results.kind === "s3") {
    logger.info(`results in s3://${config.results.s3.bucket}/${config.results.s3.prefix} (waiting uploads in ${config.outputDir})`);
  }
  if (redis !== undefined) {
    logger.info(`upstream slots and running tasks shared with other replicas through Redis at ${redis.where}`);
  }
  // Past task durations, so each call's poll schedule learns from every earlier one (and concurrent ones).
  const shared = { bflDurations: new DurationHistory() };
  // Users take turns in each queue; on the paid upstream one user may also hold only so many slots.
  const queued = (provider: Provider, user: string): Provider =>
    provider.name !== "local"
      ? queuedProvider(
          provider,
          queues.queue(
            `${provider.name}:${queueKey(providerKey(config, provider.name) ?? "")}`,
            config.maxActive,
            undefined,
            config.maxActivePerUser,
            slots,
          ),
          "upstream task",
          user,
        )
      : queuedProvider(
          provider,
          queues.queue("local", Math.max(1, availableParallelism()), "local engine run"),
          "local engine run",
          user,
        );
  const providerFor = (user: string) => () =>
    queued(typeof forced === "object" ? forced : selectProvider(config, forced, shared), user);
  const localKept = new KeptResults();
  const deps: ServerDeps = {
    config: configForUser(config, LOCAL_USER),
    logger,
    principal: LOCAL_PRINCIPAL,
    audit: createAuditLog(config.audit, logger),
    provider: providerFor(LOCAL_USER),
    track: (job) => {
      const settled = job.then(
        () => undefined,
        () => undefined,
      );
      running.add(settled);
      void settled.finally(() => running.delete(settled));
    },
    shutdownSignal: shutdown.signal,
    paid: createPaidTaskState(config.outputDir, { startedNothing: nothingSubmitted }, redis),
    kept: localKept,
    results: resultsFor(LOCAL_USER, localKept),
    resultsFor: (user) => resultsFor(user, user === LOCAL_USER ? localKept : ownState(user).kept),
    slots,
    masks:
      redis === undefined
        ? new FileMaskStore((user) => userResultsDir(config.outputDir, user), options.clock)
        : new RedisMaskStore(redis, options.clock),
    segmenter: options.segmenter ?? createSegmenter(config),
    writer: options.writer,
    // Replaced per connection by createServer; this one is never told about a send.
    deliveries: new DeliveryTracker(),
    recovering: Promise.resolve(),
  };
  attachQueues(deps, queues);
  // Each named user's results kept in memory and daily spend: one of each per user, shared by their sessions.
  const perUser = new Map<string, Pick<ServerDeps, "kept" | "userCredits" | "results">>();
  function ownState(user: string): Pick<ServerDeps, "kept" | "userCredits" | "results"> {
    let state = perUser.get(user);
    if (state === undefined) {
      const ledger = createCreditLedger(userResultsDir(config.outputDir, user), redis && { connection: redis, user });
      const kept = new KeptResults();
      state = {
        kept,
        userCredits: { user, limit: config.userDailyCreditLimit, ledger },
        results: resultsFor(user, kept),
      };
      perUser.set(user, state);
    }
    return state;
  }
  const recovery = recoverUnfinishedTasks({ ...deps, signal: shutdown.signal });
  deps.recovering = recovery.registered;
  deps.track(recovery.done);
  // Replicas: the tasks of a replica that died are adopted by a live one once its liveness key lapses.
  const adoption =
    redis === undefined
      ? undefined
      : setInterval(() => {
          if (!shutdown.signal.aborted) deps.track(recoverUnfinishedTasks({ ...deps, signal: shutdown.signal }).done);
        }, redis.leaseMs);
  adoption?.unref();
  return {
    deps,
    depsFor: (principal) =>
      principal.user === LOCAL_USER && principal.scopes.length === 0
        ? deps
        : {
            ...deps,
            principal,
            config: configForUser(config, principal.user),
            provider: providerFor(principal.user),
            ...(principal.user === LOCAL_USER ? {} : ownState(principal.user)),
          },
    idle: async () => {
      while (running.size > 0) await Promise.all([...running]);
    },
    abort: () => shutdown.abort(),
    close: async () => {
      clearInterval(adoption);
      await Promise.all([...stores.values()].map((store) => store.close()));
      await slots.close();
      await redis?.close();
    },
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
          const text = new ProtocolError(
            ProtocolErrorCode.InvalidParams,
            `Input validation error: Invalid arguments for tool ${tool}: ${forbiddenFieldsMessage(forbidden)}`,
          ).message;
          // Sent past the SDK, so in the 2026-07-28 era (the request carries its `_meta` envelope) the result
          // says its kind itself, as every result of that era must.
          const modern = (message.params?._meta as Record<string, unknown> | undefined)?.[PROTOCOL_VERSION_META_KEY];
          const result = {
            content: [{ type: "text" as const, text }],
            isError: true,
            ...(modern ? { resultType: "complete" } : {}),
          };
          void transport.send({ jsonrpc: "2.0", id: message.id, result }).catch(() => undefined);
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
  const deps: ServerDeps = {
    ...(options.principal === undefined ? runtime.deps : runtime.depsFor(options.principal)),
    deliveries: mcp.deliveries,
  };
  registerFluxFillTool(mcp, deps);
  registerFluxExpandTool(mcp, deps);
  registerGetResultTool(mcp, deps);
  registerOpenMaskEditorTool(mcp, deps);
  registerPreviewMaskTool(mcp, deps);
  registerResultResources(mcp, deps);
  const close = options.runtime === undefined ? runtime.close : async () => undefined;
  return { mcp, idle: runtime.idle, abort: runtime.abort, deliveries: mcp.deliveries, close };
}
