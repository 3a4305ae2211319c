import { FluxFillError } from "../../../errors.js";
import type { RasterImage } from "../../types.js";
import { diffusionFill, matchBoundary } from "./diffusion.js";
import { withTextureFeatures } from "./features.js";
import { createLevel, type Level } from "./level.js";
import {
  type BandRunner,
  type Field,
  findPatches,
  improveField,
  PATCH_RADIUS,
  type PatchSets,
  randomField,
  refreshDistances,
  runBandsInOrder,
  upsampleField,
} from "./patchmatch.js";
import { downsample, upsampleIntoHole } from "./pyramid.js";
import { composite, contextRect, distanceToKnown, extractLevel, holeThickness, maskBounds } from "./region.js";
import { createRandom, type Random } from "./rng.js";
import { vote, voteBest } from "./voting.js";

export interface InpaintOptions {
  /** Fixes the random choices of the patch search: same inputs and seed, same pixels. Default 0. */
  seed?: number;
  /**
   * Runs the bands of each patch-search pass (default: one after the other on this thread). A runner that
   * spreads them over threads gives the same pixels, only sooner.
   */
  runBands?: BandRunner;
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
/** Above this many target patches a level (not the coarsest) only re-votes the matches it inherited. */
const HEAVY_LEVEL_TARGETS = 600_000;
/** Vote weighting: σ² is this percentile of the patch distances (Wexler et al. use the 75th). */
const VOTE_PERCENTILE = 0.75;
/** Scale of the texture channels against colour in patch distances. */
const FEATURE_WEIGHT = 3;
/** Confidence falls by this factor per pixel of depth into the hole (Wexler et al. use 1.3). */
const CONFIDENCE_BASE = 1.3;
/** Random search reaches this many hole thicknesses around the current match… */
const SEARCH_THICKNESSES = 8;
/** …but never less than this many pixels. */
const MIN_SEARCH_RADIUS = 32;
/** At the finest level of a pyramid only small corrections of the inherited matches are sought. */
const FINEST_SEARCH_RADIUS = 8;

interface Schedule {
  emIterations: number;
  searchIterations: number;
  /** Random-search radius in pixels; 0 = propagation only. */
  searchRadius: number;
}

/**
 * Fills the masked part of an RGB image with texture continued from its surroundings. Pixels whose mask is
 * 0 are returned bit for bit; mask 255 takes the fill; values between blend linearly.
 *
 * Exemplar-based inpainting after Wexler, Shechtman & Irani (2007): only the mask's bounding box plus a
 * context band is processed; a pyramid is built down to where the hole is about a patch radius thick; the
 * coarsest level starts from a smooth (diffusion) fill; at each level PatchMatch (Barnes et al. 2009) finds
 * for every patch touching the hole a similar patch outside it, and the hole is re-voted from those matches
 * (a few EM rounds), then the matches are carried one level up. Patches are compared on colour plus two
 * texture channels (Newson et al. 2014) so smooth areas do not replace textured ones. The finest level copies
 * the best match per pixel (no averaging, so texture stays sharp) and then blends the copy into its
 * surroundings in the gradient domain. Levels too large to search are only re-voted, bounding the time.
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
  checkInputs(image, mask);
  const bounds = maskBounds(mask);
  if (bounds === undefined) {
    return { data: Buffer.from(image.data), width: image.width, height: image.height, channels: 3 };
  }
  const rect = contextRect(bounds, image.width, image.height);
  const colors = extractLevel(image, mask, rect);
  const random = createRandom(options.seed ?? 0);

  const levelCount = planLevelCount(colors);
  const finest = withTextureFeatures(colors, Math.max(1, 2 ** (levelCount - 2)), FEATURE_WEIGHT);
  const pyramid = buildPyramid(finest, levelCount);
  const coarsest = pyramid[pyramid.length - 1]!;
  diffusionFill(coarsest.level);
  if (coarsest.sets.validList.length === 0 || coarsest.sets.targets.length === 0) {
    // Nothing to copy from (the mask covers almost everything or the image is tiny): a smooth fill.
    diffusionFill(finest);
    return composite(image, mask, rect, finest);
  }

  const schedules = pyramid.map((entry, index) => scheduleFor(index, pyramid.length, entry));
  const work = pyramid.map((entry, index) => levelWork(entry.sets, schedules[index]!));
  const totalWork = work.reduce((a, b) => a + b, 0);
  let doneWork = 0;
  yield { stage: "prepare", fraction: 0, message: `Pyramid of ${pyramid.length} levels over ${rect.width}×${rect.height} px.` };

  const runBands = options.runBands ?? runBandsInOrder;
  let field: Field | undefined;
  for (let index = pyramid.length - 1; index >= 0; index--) {
    const entry = pyramid[index]!;
    const { level, sets } = entry;
    const coarser = pyramid[index + 1]?.level;
    if (field === undefined || coarser === undefined) {
      field = randomField(level, sets, random);
    } else {
      upsampleIntoHole(coarser, level);
      field = upsampleField(field, coarser, level, sets, random, schedules[index]!.emIterations > 0, runBands);
    }
    synthesizeLevel(entry, field, schedules[index]!, random, index === 0, runBands);
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

interface PyramidEntry {
  level: Level;
  sets: PatchSets;
  /** Vote weight of each target patch by how far its centre lies inside the hole. */
  confidence: Float32Array;
  /** Largest distance from a hole pixel to a known one. */
  thickness: number;
}

function pyramidEntry(level: Level): PyramidEntry {
  const distances = distanceToKnown(level);
  const confidence = new Float32Array(distances.length);
  let thickness = 0;
  for (let i = 0; i < distances.length; i++) {
    const d = distances[i]!;
    if (d > thickness) thickness = d;
    confidence[i] = d === 0 ? 1 : CONFIDENCE_BASE ** -d;
  }
  return { level, sets: findPatches(level), confidence, thickness };
}

/**
 * How many pyramid levels to use: coarser levels are added while the hole is thicker than a patch radius,
 * the level stays a few patches wide and still has source patches. Decided on the hole alone.
 */
function planLevelCount(finest: Level): number {
  let current = createLevel(finest.width, finest.height, 0);
  current.hole.set(finest.hole);
  let count = 1;
  for (;;) {
    if (holeThickness(current) <= COARSEST_THICKNESS) break;
    if ((current.width + 1) >> 1 < MIN_LEVEL_SIDE || (current.height + 1) >> 1 < MIN_LEVEL_SIDE) break;
    const next = downsample(current, "any");
    if (findPatches(next).validList.length === 0) break;
    current = next;
    count++;
  }
  return count;
}

/** Finest first. */
function buildPyramid(finest: Level, levelCount: number): PyramidEntry[] {
  const pyramid: PyramidEntry[] = [pyramidEntry(finest)];
  while (pyramid.length < levelCount) pyramid.push(pyramidEntry(downsample(pyramid[pyramid.length - 1]!.level, "any")));
  return pyramid;
}

function scheduleFor(index: number, levelCount: number, entry: PyramidEntry): Schedule {
  // Too big to search: the inherited matches are only re-voted at this resolution (bounded time).
  if (entry.sets.targets.length > HEAVY_LEVEL_TARGETS && index < levelCount - 1) {
    return { emIterations: 0, searchIterations: 0, searchRadius: 0 };
  }
  const searchRadius = Math.max(MIN_SEARCH_RADIUS, SEARCH_THICKNESSES * entry.thickness);
  if (index === levelCount - 1) return { emIterations: 8, searchIterations: 3, searchRadius };
  // The finest level inherits a good field: one EM step with a local search is enough there.
  if (index === 0 && levelCount > 1) return { emIterations: 1, searchIterations: 1, searchRadius: FINEST_SEARCH_RADIUS };
  return { emIterations: 2, searchIterations: 2, searchRadius };
}

function levelWork(sets: PatchSets, schedule: Schedule): number {
  return sets.targets.length * Math.max(1, schedule.emIterations * (schedule.searchIterations + 1));
}

/** Expectation–maximisation at one level: match every target patch, then re-vote the hole from the matches. */
function synthesizeLevel(
  { level, sets, confidence }: PyramidEntry,
  field: Field,
  schedule: Schedule,
  random: Random,
  isFinest: boolean,
  runBands: BandRunner,
): void {
  if (schedule.emIterations === 0) {
    if (isFinest) matchBoundary(level, voteBest(level, sets, field));
    else vote(level, sets, field, VOTE_PERCENTILE, confidence);
    return;
  }
  for (let em = 0; em < schedule.emIterations; em++) {
    improveField(level, sets, field, schedule.searchIterations, random, schedule.searchRadius, runBands);
    const last = em === schedule.emIterations - 1;
    if (isFinest && last) {
      // The last pass copies rather than averages, so fine texture is not blurred away, then blends the
      // copy seamlessly into its surroundings.
      matchBoundary(level, voteBest(level, sets, field));
    } else {
      vote(level, sets, field, VOTE_PERCENTILE, confidence);
    }
    if (!last) refreshDistances(level, sets, field, random, runBands);
  }
}

function checkInputs(image: RasterImage, mask: RasterImage): void {
  if (image.channels !== 3 || image.data.length !== image.width * image.height * 3) {
    throw new FluxFillError(
      "bad_input",
      `The local engine needs an RGB image (3 channels, ${image.width}×${image.height}×3 bytes); got ${image.channels} channels and ${image.data.length} bytes.`,
    );
  }
  if (mask.channels !== 1 || mask.width !== image.width || mask.height !== image.height || mask.data.length !== mask.width * mask.height) {
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
