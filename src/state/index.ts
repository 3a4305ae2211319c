import { FileCreditLedger, FileTaskJournal, FileUndeliveredResults } from "./files.js";
import { type JoinOptions, MemoryInFlightRuns } from "./memory.js";
import type { CreditLedger, PaidTaskState } from "./types.js";

export type { PaidTaskState } from "./types.js";

/**
 * The state of one server process: runs in memory, the rest in files under the output directory. The one
 * place that chooses the implementations (the replicas issue adds a Redis choice here).
 */
/** A credit ledger in `dir` (a user's own spend, besides the server's in the state above). */
export function createCreditLedger(dir: string): CreditLedger {
  return new FileCreditLedger(dir);
}

export function createPaidTaskState(outputDir: string, options: JoinOptions): PaidTaskState {
  return {
    inFlight: new MemoryInFlightRuns(options),
    undelivered: new FileUndeliveredResults(outputDir),
    journal: new FileTaskJournal(outputDir),
    credits: new FileCreditLedger(outputDir),
  };
}
