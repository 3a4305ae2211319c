import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import { localResultStore } from "./local.js";
import { S3ResultStore, type S3StoreOptions } from "./s3.js";
import type { ResultStore } from "./types.js";

export type { Health, ResultStore, StoredResult } from "./types.js";

/** The one place that picks where results are kept, from the config, once at start-up. */
export function createResultStore(
  config: Config,
  logger: Logger,
  options: Pick<S3StoreOptions, "retryMs" | "requestTimeoutMs" | "local"> = {},
): ResultStore {
  if (config.results.kind === "local") return localResultStore(config.outputDir, options.local);
  return new S3ResultStore({ settings: config.results.s3, spoolDir: config.outputDir, logger, ...options });
}
