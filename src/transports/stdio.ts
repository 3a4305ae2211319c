import { serveStdio as serveBothEras } from "@modelcontextprotocol/server/stdio";
import { StdioServerTransport } from "@modelcontextprotocol/server/stdio";
import type { Config } from "../config.js";
import { describeError } from "../errors.js";
import type { Logger } from "../log.js";
import { createServer, type ServerRuntime } from "../server.js";
import { identifyRequest, LineGuard, type OversizeLine } from "./line-guard.js";

/** Room for one call carrying image and mask inline as base64 at the configured caps, plus JSON. */
export function maxStdioMessageBytes(config: Config): number {
  return 2 * Math.ceil((config.maxInputBytes * 4) / 3) + 1024 * 1024;
}

/** The protocol era of the stdio connection, once its opening chose one. */
type Era = "legacy" | "modern";

/**
 * The answer to a message dropped for its size. A tools/call gets a tool error (a result), which on
 * 2026-07-28 must carry `resultType`; before the opening chose an era it carries it too (a 2025 client
 * ignores a result field it does not know). Anything else gets a JSON-RPC error, which has no resultType.
 */
function oversizeReply(line: OversizeLine, limit: number, era: Era | undefined) {
  const { id, method } = identifyRequest(line);
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
  const text =
    `Error (too_large): the request was ${mb(line.bytes)}, over this server's limit of ${mb(limit)} for one message. ` +
    "Pass the image and mask as file paths or URLs instead of inline base64, or raise FLUX_FILL_MAX_INPUT_MB in the server's env.";
  if (id === undefined) return undefined;
  if (method === "tools/call") {
    const result = { content: [{ type: "text" as const, text }], isError: true };
    return {
      jsonrpc: "2.0" as const,
      id,
      result: era === "legacy" ? result : { ...result, resultType: "complete" as const },
    };
  }
  return { jsonrpc: "2.0" as const, id, error: { code: -32600, message: text } };
}

/**
 * Serves the server over stdin/stdout until stdin closes, then waits for running fills to be saved. Both
 * protocol eras: the client's opening (`initialize`, or a 2026-07-28 request carrying its `_meta`
 * envelope) pins the connection to one server built for it (the SDK's `serveStdio`).
 * An oversize message gets an error reply (or is dropped when it has no readable id); the server goes on.
 */
export async function serveStdio(runtime: ServerRuntime, config: Config, logger: Logger): Promise<void> {
  const limit = maxStdioMessageBytes(config);
  let transport: StdioServerTransport | undefined;
  let era: Era | undefined;
  const guard = new LineGuard(limit, (line) => {
    const reply = oversizeReply(line, limit, era);
    logger.warn(
      `dropped a ${line.bytes}-byte message over the ${limit}-byte limit${reply ? "" : " (no id to answer)"}`,
    );
    if (reply && transport) void transport.send(reply);
  });
  process.stdin.pipe(guard);
  // The guard hands over whole lines no longer than `limit`; the SDK's own cap sits just above.
  transport = new StdioServerTransport(guard, process.stdout, { maxBufferSize: limit + 1024 });
  const handle = serveBothEras(
    (opening) => {
      era = opening.era;
      const server = createServer(config, { runtime });
      logger.debug(`stdio connection: ${era === "modern" ? "2026-07-28" : "2025"} era`);
      return server.mcp;
    },
    { transport, onerror: (error) => logger.debug(`stdio: ${describeError(error).text}`) },
  );
  logger.info(`serving over stdio (message limit ${limit} bytes)`);
  await new Promise<void>((resolve) => process.stdin.once("end", resolve));
  logger.info("stdin closed; waiting for running fills to be saved");
  await runtime.idle();
  await handle.close();
  await runtime.close();
}
