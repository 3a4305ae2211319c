import { FluxFillError } from "../../../errors.js";
import type { RasterImage } from "../../../images/raster.js";
import { diffusionFill, matchBoundary } from "./diffusion.js";
import { extractWithFeatures, halfLevelWithFeatures } from "./features.js";
import { COLOR_CHANNELS, holeIndices, type Level, sharedFloat32Array } from "./level.js";
import { type Arena, withArena } from "./arena.js";
import { type BandRunner, runBandsInOrder } from "./bands.js";
import {
  type Field,
  findPatches,
  improveField,
  PATCH_RADIUS,
  type PatchSets,
  randomField,
  refreshDistances,
  upsampleField,
} from "./patchmatch.js";
import { downsample, upsampleIntoHole } from "./pyramid.js";
import {
  composite,
  contextRect,
  copyColors,
  DEPTH_UNIT,
  extractHole,
  extractLevel,
  holeDepth,
  maskBounds,
  type Rect,
  thicknessOf,
  UNREACHABLE,
} from "./region.js";
import { createRandom, type Random } from "../../../random.js";
import { type LevelSchedule, levelSchedule, levelWork } from "./schedule.js";
import { bestProposal, vote, voteBest } from "./voting.js";

export interface InpaintOptions {
  /** Fixes the random choices of the patch search: same inputs and seed, same pixels. Default 0. */
  seed?: number;
  /**
   * Runs the bands of each patch-search pass (default: one after the other on this thread). A runner that
   * spreads them over threads gives the same pixels, only sooner.
   */
  runBands?: BandRunner;
  /**
   * Where the working arrays come from (default: fresh memory). A thread that runs job after job passes the
   * same arena each time and resets it in between; the result never lives in it.
   */
  arena?: Arena;
  /** Cost of reusing a source (default USAGE_WEIGHT; 0 turns it off, as before issue 24, for benchmarks). */
  usageWeight?: number;
}

/** Reported between stages; `fraction` is the share of the estimated work done (0..1). */
export interface EngineProgress {
  stage: "prepare" | "synthesize" | "done";
  fraction: number;
  message: string;
}

/** Coarsening stops once every hole pixel is this close (in pixels) to a known one… */
const COARSEST_THICKNESS = PATCH_RADIUS;
/** …or when the next level would be narrower than this (a few patches across). */
const MIN_LEVEL_SIDE = 4 * (2 * PATCH_RADIUS + 1);
/** Vote weighting: σ² is this percentile of the patch distances (Wexler et al. use the 75th). */
const VOTE_PERCENTILE = 0.75;
/** Scale of the texture channels against colour in patch distances. */
const FEATURE_WEIGHT = 3;
/** Confidence falls by this factor per pixel of depth into the hole (Wexler et al. use 1.3). */
const CONFIDENCE_BASE = 1.3;
/**
 * Cost of reusing a source, as a share of the median match distance per even share of uses (see
 * `usagePenalty`). Deep in a large hole (an expansion's border) every target holds the same smooth estimate,
 * so without it the search sends them all to the few flattest sources and the border comes out flat or a
 * mosaic of one small spot; 0.1 was chosen on three of the shared photos and checked on the two held out
 * (bench/results-expand.md).
 */
export const USAGE_WEIGHT = 0.1;

/**
 * Fills the masked part of an RGB image with texture continued from its surroundings. Pixels whose mask is
 * 0 are returned bit for bit; mask 255 takes the fill; values between blend linearly.
 *
 * Exemplar-based inpainting after Wexler, Shechtman & Irani (2007): only the mask's bounding box plus a
 * context band is processed; a pyramid is built down to where the hole is about a patch radius thick; the
 * coarsest level starts from a smooth (diffusion) fill; at each level PatchMatch (Barnes et al. 2009) finds
 * for every patch touching the hole a similar patch outside it, and the hole is re-voted from those matches
 * (a few EM rounds, see schedule.ts), then the matches are carried one level up; a source used by many
 * targets costs more (`usagePenalty`), so a deep hole is not all copied from one flat spot. Patches are compared on
 * colour plus two texture channels (Newson et al. 2014) so smooth areas do not replace textured ones. The
 * finest level copies the best match per pixel (no averaging, so texture stays sharp) and then blends the
 * copy into its surroundings in the gradient domain. Levels too large to search are only re-voted, bounding
 * the time. The passes over targets and over the hole run in independent bands (`runBands`, possibly on
 * other threads); working arrays may come from a reusable `arena`. Memory is linear in the processed area.
 */
export function inpaint(image: RasterImage, mask: RasterImage, options: InpaintOptions = {}): RasterImage {
  const steps = inpaintSteps(image, mask, options);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** `inpaint`, pausing (yielding progress) between stages so a caller can report progress or stop. */
export function* inpaintSteps(
  image: RasterImage,
  mask: RasterImage,
  options: InpaintOptions = {},
): Generator<EngineProgress, RasterImage, void> {
  const steps = synthesisSteps(image, mask, options);
  // Each stage runs with the caller's arena (if any) as the source of working arrays; see withArena.
  for (;;) {
    const step = withArena(options.arena, () => steps.next());
    if (step.done) return step.value;
    yield step.value;
  }
}

function* synthesisSteps(
  image: RasterImage,
  mask: RasterImage,
  options: InpaintOptions,
): Generator<EngineProgress, RasterImage, void> {
  checkInputs(image, mask);
  const bounds = maskBounds(mask);
  if (bounds === undefined) {
    return { data: Buffer.from(image.data), width: image.width, height: image.height, channels: 3 };
  }
  const rect = contextRect(bounds, image.width, image.height);
  const random = createRandom(options.seed ?? 0);

  // The pyramid is planned on the hole alone; each level's depth map and patch sets are computed once.
  const plan = planPyramid(extractHole(mask, rect), rect.width, rect.height);
  const schedules = plan.map((entry, index) =>
    levelSchedule({ index, levelCount: plan.length, targets: entry.sets.targets.length, thickness: entry.thickness }),
  );
  const pyramid = buildPyramid(image, rect, plan, schedules[0]!.emIterations > 0);
  const finest = pyramid[0]!.level;
  const coarsest = pyramid[pyramid.length - 1]!;
  diffusionFill(coarsest.level);
  if (coarsest.sets.validCount === 0 || coarsest.sets.targets.length === 0) {
    // Nothing to copy from (the mask covers almost everything or the image is tiny): a smooth fill.
    diffusionFill(finest);
    return composite(image, mask, rect, finest);
  }

  const work = pyramid.map((entry, index) => levelWork(entry.sets.targets.length, schedules[index]!));
  const totalWork = work.reduce((a, b) => a + b, 0);
  let doneWork = 0;
  yield {
    stage: "prepare",
    fraction: 0,
    message: `Pyramid of ${pyramid.length} levels over ${rect.width}×${rect.height} px.`,
  };

  const runBands = options.runBands ?? runBandsInOrder;
  let field: Field | undefined;
  for (let index = pyramid.length - 1; index >= 0; index--) {
    const entry = pyramid[index]!;
    const { level, sets } = entry;
    const coarser = pyramid[index + 1]?.level;
    if (field === undefined || coarser === undefined) {
      field = randomField(level, sets, random);
    } else {
      upsampleIntoHole(coarser, level, entry.holes);
      // Searched levels need real distances; so does the finest, which copies the best match per pixel
      // (ranked on its own colours at full resolution). A heavy middle level makes do with scaled ones.
      const measure = schedules[index]!.emIterations > 0 || index === 0;
      field = upsampleField(field, coarser, level, sets, random, measure, runBands);
    }
    synthesizeLevel(entry, field, schedules[index]!, random, index === 0, runBands, options.usageWeight ?? USAGE_WEIGHT);
    doneWork += work[index]!;
    yield {
      stage: "synthesize",
      fraction: totalWork > 0 ? doneWork / totalWork : 1,
      message: `Level ${pyramid.length - index}/${pyramid.length} (${level.width}×${level.height}) done.`,
    };
  }
  yield { stage: "done", fraction: 1, message: "Fill complete." };
  return composite(image, mask, rect, finest);
}

/** One level's hole, planned before any pixel is touched. */
interface HoleLevel {
  width: number;
  height: number;
  hole: Uint8Array;
  /** `holeDepth` of the hole. */
  depth: Int32Array;
  /** Largest distance from a hole pixel to a known one. */
  thickness: number;
  sets: PatchSets;
}

interface PyramidEntry extends HoleLevel {
  level: Level;
  /** The hole's pixel indices, shared with helper threads for voting. */
  holes: Int32Array;
}

function holeLevel(width: number, height: number, hole: Uint8Array): HoleLevel {
  const depth = holeDepth({ width, height, hole });
  const shape = { width, height, channels: 0, pixels: new Float32Array(0), hole };
  return { width, height, hole, depth, thickness: thicknessOf(depth, width, height), sets: findPatches(shape) };
}

/**
 * The pyramid's holes, finest first: coarser levels are added while the hole is thicker than a patch
 * radius, the level stays a few patches wide and still has source patches. Decided on the hole alone.
 */
function planPyramid(finestHole: Uint8Array, width: number, height: number): HoleLevel[] {
  const plan = [holeLevel(width, height, finestHole)];
  for (;;) {
    const current = plan[plan.length - 1]!;
    if (current.thickness <= COARSEST_THICKNESS) break;
    if ((current.width + 1) >> 1 < MIN_LEVEL_SIDE || (current.height + 1) >> 1 < MIN_LEVEL_SIDE) break;
    const coarse = downsample({ ...current, channels: 0, pixels: new Float32Array(0) }, "any");
    const next = holeLevel(coarse.width, coarse.height, coarse.hole);
    if (next.sets.validCount === 0) break;
    plan.push(next);
  }
  return plan;
}

/**
 * The working levels for a plan, finest first (the same holes, by the same rule). Texture channels are
 * computed at full resolution, over a box of 2^(levels−2) pixels, only when the finest level is searched;
 * otherwise the finest level holds colours alone and the one below is made from the image directly.
 */
function buildPyramid(image: RasterImage, rect: Rect, plan: HoleLevel[], searchFinest: boolean): PyramidEntry[] {
  const radius = Math.max(1, 2 ** (plan.length - 2));
  const hole = plan[0]!.hole;
  const levels: Level[] = [];
  if (searchFinest || plan.length === 1) {
    levels.push(extractWithFeatures(image, rect, hole, radius, FEATURE_WEIGHT));
  } else {
    const colours: Level = {
      width: rect.width,
      height: rect.height,
      channels: COLOR_CHANNELS,
      pixels: sharedFloat32Array(rect.width * rect.height * COLOR_CHANNELS),
      hole,
    };
    copyColors(image, rect, colours);
    levels.push(
      colours,
      halfLevelWithFeatures(image, rect, hole, plan[1]!.hole, Math.max(1, radius >> 1), FEATURE_WEIGHT),
    );
  }
  while (levels.length < plan.length) {
    const level = downsample(levels[levels.length - 1]!, "any");
    level.hole = plan[levels.length]!.hole;
    levels.push(level);
  }
  return plan.map((entry, k) => ({ ...entry, level: levels[k]!, holes: holeIndices(entry.hole) }));
}

/** Vote weight of each target patch by how far its centre lies inside the hole (1 outside it). */
function confidenceOf({ depth, width, height }: HoleLevel): Float32Array {
  const confidence = sharedFloat32Array(depth.length);
  const perUnit = CONFIDENCE_BASE ** (-1 / DEPTH_UNIT);
  const floor = CONFIDENCE_BASE ** -Math.max(width, height);
  for (let i = 0; i < depth.length; i++) {
    const d = depth[i]!;
    confidence[i] = d === 0 ? 1 : d >= UNREACHABLE ? floor : perUnit ** d;
  }
  return confidence;
}

/** Expectation–maximisation at one level: match every target patch, then re-vote the hole from the matches. */
function synthesizeLevel(
  entry: PyramidEntry,
  field: Field,
  schedule: LevelSchedule,
  random: Random,
  isFinest: boolean,
  runBands: BandRunner,
  usageWeight: number,
): void {
  const { level, sets, depth, holes } = entry;
  // The last pass at the finest level copies rather than averages, so fine texture is not blurred away,
  // then blends the copy seamlessly into its surroundings.
  const copyBest = () => {
    voteBest(level, field, holes, runBands);
    matchBoundary(level, (q) => bestProposal(level, field, q), depth, holes);
  };
  const average = (confidence: Float32Array) => vote(level, sets, field, holes, VOTE_PERCENTILE, confidence, runBands);
  if (schedule.emIterations === 0) {
    if (isFinest) copyBest();
    else average(confidenceOf(entry));
    return;
  }
  const confidence = confidenceOf(entry);
  for (let em = 0; em < schedule.emIterations; em++) {
    improveField(level, sets, field, schedule.searchIterations, random, schedule.searchRadius, runBands, usageWeight);
    const last = em === schedule.emIterations - 1;
    if (isFinest && last) copyBest();
    else average(confidence);
    if (!last) refreshDistances(level, sets, field, runBands);
  }
}

function checkInputs(image: RasterImage, mask: RasterImage): void {
  if (image.channels !== 3 || image.data.length !== image.width * image.height * 3) {
    throw new FluxFillError(
      "bad_input",
      `The local engine needs an RGB image (3 channels, ${image.width}×${image.height}×3 bytes); got ${image.channels} channels and ${image.data.length} bytes.`,
    );
  }
  if (
    mask.channels !== 1 ||
    mask.width !== image.width ||
    mask.height !== image.height ||
    mask.data.length !== mask.width * mask.height
  ) {
    throw new FluxFillError(
      "bad_input",
      `The local engine needs a one-channel mask of the image's size (${image.width}×${image.height}); got ${mask.width}×${mask.height} with ${mask.channels} channels.`,
    );
  }
}

/**
 * The smooth membrane fill alone (no texture): the engine's fallback, and a baseline to compare it with.
 * Same contract as `inpaint`.
 */
export function smoothFill(image: RasterImage, mask: RasterImage): RasterImage {
  checkInputs(image, mask);
  const bounds = maskBounds(mask);
  if (bounds === undefined) {
    return { data: Buffer.from(image.data), width: image.width, height: image.height, channels: 3 };
  }
  const rect = contextRect(bounds, image.width, image.height);
  const level = extractLevel(image, mask, rect);
  diffusionFill(level);
  return composite(image, mask, rect, level);
}
