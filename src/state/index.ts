import { FileCreditLedger, FileTaskJournal, FileUndeliveredResults } from "./files.js";
import { type JoinOptions, MemoryInFlightRuns } from "./memory.js";
import type { RedisConnection } from "./redis-connection.js";
import { RedisCreditLedger, redisPaidTaskState } from "./redis-paid.js";
import type { CreditLedger, PaidTaskState } from "./types.js";

export type { PaidTaskState } from "./types.js";

/**
 * The state of one server process: runs in memory, the rest in files under the output directory; or, for
 * replicas (FLUX_FILL_REDIS_URL), all of it in Redis. The one place that chooses the implementations.
 */
/** A credit ledger in `dir` (a user's own spend, besides the server's in the state above). */
export function createCreditLedger(dir: string, redis?: { connection: RedisConnection; user: string }): CreditLedger {
  return redis === undefined ? new FileCreditLedger(dir) : RedisCreditLedger.forUser(redis.connection, redis.user);
}

export function createPaidTaskState(outputDir: string, options: JoinOptions, redis?: RedisConnection): PaidTaskState {
  if (redis !== undefined) return redisPaidTaskState(redis, options);
  return {
    inFlight: new MemoryInFlightRuns(options),
    undelivered: new FileUndeliveredResults(outputDir),
    journal: new FileTaskJournal(outputDir),
    credits: new FileCreditLedger(outputDir),
  };
}
