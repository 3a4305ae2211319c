import { improveBand, type MeasureJob, measureBand, type SearchJob } from "./patchmatch.js";
import { type CopyJob, copyBand, type VoteJob, voteBand } from "./voting.js";

export { FIELD_BANDS } from "./patchmatch.js";

/**
 * One band of a pass of the engine: plain data (typed arrays on shared memory plus numbers) that can be
 * posted to a helper thread. The bands of one pass are independent, so they may run in any order or at once.
 */
export type BandJob = SearchJob | MeasureJob | VoteJob | CopyJob;

/** Runs every job (in any order, on any threads) and returns once all are done. */
export type BandRunner = (jobs: BandJob[]) => void;

export function runBand(job: BandJob): void {
  switch (job.kind) {
    case "search":
      improveBand(job);
      break;
    case "measure":
      measureBand(job);
      break;
    case "vote":
      voteBand(job);
      break;
    case "copy":
      copyBand(job);
      break;
  }
}

export const runBandsInOrder: BandRunner = (jobs) => {
  for (const job of jobs) runBand(job);
};

/** Every typed array a job reads or writes: a helper thread can only share them if they are shared memory. */
export function bandArrays(job: BandJob): ArrayBufferView[] {
  const common = [job.level.pixels, job.level.hole, job.field.nnf, job.field.dist];
  switch (job.kind) {
    case "search":
      return [...common, job.sets.valid, job.sets.targets, ...(job.usage ? [job.usage.counts] : [])];
    case "measure":
      return [...common, job.sets.valid, job.sets.targets];
    case "vote":
      return [...common, job.holes, job.weights];
    case "copy":
      return [...common, job.holes];
  }
}

/** Rough cost of a job in patch visits, to decide whether waking a helper is worth it. */
export function bandWork(job: BandJob): number {
  return (job.end - job.first) * (job.kind === "search" ? Math.max(1, job.iterations) : 1);
}
