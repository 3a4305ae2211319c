/** The HTTP transport as the CLI runs it: until SIGINT/SIGTERM, then a graceful shutdown. */
import type { Config } from "../../config.js";
import { createRuntime } from "../../server.js";
import { formatMegabytes, maxHttpBodyBytes } from "../http-auth.js";
import { type HttpServerOptions, startHttpServer } from "./server.js";

/** Which token kinds the server accepts, for the start-up line (no secrets). */
function authSummary(config: Config): string {
  const kinds = [
    config.http.token === undefined ? undefined : "bearer token",
    config.http.tokensFile === undefined ? undefined : `named tokens from ${config.http.tokensFile}`,
    config.http.oauth === undefined ? undefined : `OAuth tokens from ${config.http.oauth.issuer}`,
  ].filter((k) => k !== undefined);
  return kinds.length === 0 ? "no auth" : `${kinds.join(" or ")} required`;
}

export interface ServeHttpOptions extends HttpServerOptions {
  /** Signals that start the graceful shutdown. Default SIGINT and SIGTERM. */
  signals?: NodeJS.Signals[];
}

/**
 * Runs the HTTP transport until SIGINT/SIGTERM, then shuts down gracefully (see `HttpServerHandle.close`).
 * A second signal exits at once.
 */
export async function serveHttp(config: Config, options: ServeHttpOptions = {}): Promise<void> {
  const runtime = options.runtime ?? createRuntime(config, options.logger ? { logger: options.logger } : {});
  const logger = options.logger ?? runtime.deps.logger;
  const handle = await startHttpServer(config, { ...options, runtime, logger });
  const mode = options.stateless ? "stateless" : "stateful sessions";
  logger.info(
    `serving MCP over HTTP at ${handle.url} (${mode}, ${authSummary(config)}, body limit ${formatMegabytes(maxHttpBodyBytes(config))})`,
  );
  const signals = options.signals ?? ["SIGINT", "SIGTERM"];
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      for (const s of signals) process.off(s, onSignal);
      logger.info(`${signal}: no new requests; waiting for running fills to be saved`);
      const again = () => {
        logger.warn("second signal: exiting now");
        process.exit(1);
      };
      for (const s of signals) process.once(s, again);
      void handle.close().then(async () => {
        if (options.runtime === undefined) await runtime.close();
        for (const s of signals) process.off(s, again);
        logger.info("HTTP transport closed");
        resolve();
      });
    };
    for (const s of signals) process.once(s, onSignal);
  });
}
