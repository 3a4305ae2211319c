import { FileCreditLedger, FileTaskJournal, FileUndeliveredResults } from "./files.js";
import { type JoinOptions, MemoryInFlightRuns } from "./memory.js";
import type { PaidTaskState } from "./types.js";

export type { PaidTaskState } from "./types.js";

/**
 * The state of one server process: runs in memory, the rest in files under the output directory. The one
 * place that chooses the implementations (the replicas issue adds a Redis choice here).
 */
export function createPaidTaskState(outputDir: string, options: JoinOptions): PaidTaskState {
  return {
    inFlight: new MemoryInFlightRuns(options),
    undelivered: new FileUndeliveredResults(outputDir),
    journal: new FileTaskJournal(outputDir),
    credits: new FileCreditLedger(outputDir),
  };
}
