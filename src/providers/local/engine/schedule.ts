/** How much work one pyramid level gets: EM rounds, PatchMatch sweeps per round, random-search reach. */
export interface LevelSchedule {
  /** EM rounds (search, then vote); 0 = the inherited matches are only re-voted, with no search. */
  emIterations: number;
  /** PatchMatch sweeps per EM round. */
  searchIterations: number;
  /** Random-search radius in pixels; 0 = propagation only. */
  searchRadius: number;
}

/** What the schedule of a level is decided on. */
export interface LevelFacts {
  /** 0 = finest. */
  index: number;
  levelCount: number;
  /** Patches touching the hole at this level. */
  targets: number;
  /** Largest distance (pixels) from a hole pixel to a known one at this level. */
  thickness: number;
}

/** Above this many target patches a middle level only re-votes the matches it inherited (bounded time). */
export const HEAVY_LEVEL_TARGETS = 600_000;
/** Middle levels with at most this many targets get a second EM round: cheap there, and it settles the field. */
export const SMALL_LEVEL_TARGETS = 32_768;
/** Random search reaches this many hole thicknesses around the current match… */
const SEARCH_THICKNESSES = 8;
/** …but never less than this many pixels. */
const MIN_SEARCH_RADIUS = 32;

const REVOTE_ONLY: LevelSchedule = { emIterations: 0, searchIterations: 0, searchRadius: 0 };

/**
 * The work each level of the pyramid gets (measured on the benchmark's photos, see bench/results-local.md):
 * - the coarsest level starts from random matches over a smooth fill, so it gets many rounds (8 × 3 sweeps);
 * - middle levels inherit a good field: one round of one sweep, two on small levels where it is cheap;
 * - the finest level (of a pyramid of two or more) only copies the best inherited match per pixel (ranked by
 *   its distance at full resolution) and blends it in: searching again there cost most of the time and
 *   measured no better (the doubled matches from the level below already fit, and copying keeps texture);
 * - a middle level too large to search is only re-voted.
 */
export function levelSchedule({ index, levelCount, targets, thickness }: LevelFacts): LevelSchedule {
  const searchRadius = Math.max(MIN_SEARCH_RADIUS, Math.ceil(SEARCH_THICKNESSES * thickness));
  if (index >= levelCount - 1) return { emIterations: 8, searchIterations: 3, searchRadius };
  if (index === 0 || targets > HEAVY_LEVEL_TARGETS) return REVOTE_ONLY;
  return { emIterations: targets <= SMALL_LEVEL_TARGETS ? 2 : 1, searchIterations: 1, searchRadius };
}

/** Relative cost of a level under its schedule (target patches × patch-distance passes), for progress. */
export function levelWork(targets: number, schedule: LevelSchedule): number {
  return targets * Math.max(1, schedule.emIterations * (schedule.searchIterations + 1));
}
