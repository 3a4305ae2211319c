/**
 * The geometry of an expansion (outpainting), pure: `aspect_ratio` and `anchor` → pixels per side, and
 * the checks made before anything is sent. The upstream itself only knows sides (top/bottom/left/right).
 */
import { FluxFillError } from "../errors.js";

/** The upstream's names for the sides, and the most pixels it adds on one (FluxProExpandInputs). */
export const EXPAND_SIDES = ["top", "bottom", "left", "right"] as const;
export const MAX_EXPAND_SIDE = 2048;

/** Pixels added on each side (0..MAX_EXPAND_SIDE). */
export type ExpandSides = Record<(typeof EXPAND_SIDES)[number], number>;

/** Where the photo stays when an aspect ratio is reached: the added pixels go to the other side(s). */
export const ANCHORS = [
  "center",
  "top",
  "bottom",
  "left",
  "right",
  "top_left",
  "top_right",
  "bottom_left",
  "bottom_right",
] as const;

export type Anchor = (typeof ANCHORS)[number];

/** How the caller asked for the new canvas: sides, or a ratio to reach (with where the photo stays). */
export interface ExpandGeometry {
  sides: ExpandSides;
  aspectRatio?: string | undefined;
  anchor?: Anchor | undefined;
}

export interface ResolvedExpansion {
  sides: ExpandSides;
  /** The expanded canvas. */
  width: number;
  height: number;
}

const RATIO_EXAMPLES = '"16:9", "1:1", "4:5" or "2.39:1"';
/** Ratios beyond this (either way) are mistakes rather than pictures. */
const MAX_RATIO = 20;

/** "16:9", "16/9", "2.39:1" → width ÷ height. */
export function parseAspectRatio(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*[:/]\s*(\d+(?:\.\d+)?)\s*$/.exec(text);
  const width = match ? Number(match[1]) : Number.NaN;
  const height = match ? Number(match[2]) : Number.NaN;
  const ratio = width / height;
  if (!(width > 0 && height > 0) || ratio > MAX_RATIO || ratio < 1 / MAX_RATIO) {
    throw new FluxFillError(
      "bad_input",
      `aspect_ratio must be width:height with two positive numbers, e.g. ${RATIO_EXAMPLES} (at most ${MAX_RATIO}:1 either way); got ${JSON.stringify(text)}.`,
      { suggestion: 'Write the ratio like "16:9" (landscape) or "9:16" (portrait).' },
    );
  }
  return ratio;
}

/**
 * Sides that bring `width`×`height` to `ratio` by growing only the short dimension (rounded to the
 * nearest pixel). The anchor keeps the photo at that edge; centred, an odd number of new pixels puts
 * the extra one on the right (or at the bottom).
 */
export function sidesForAspectRatio(width: number, height: number, ratio: number, anchor: Anchor): ExpandSides {
  const sides: ExpandSides = { top: 0, bottom: 0, left: 0, right: 0 };
  const targetWidth = Math.round(height * ratio);
  const targetHeight = Math.round(width / ratio);
  if (targetWidth > width) {
    const place = anchor.endsWith("left") ? "start" : anchor.endsWith("right") ? "end" : "middle";
    [sides.left, sides.right] = split(targetWidth - width, place);
  } else if (targetHeight > height) {
    const place = anchor.startsWith("top") ? "start" : anchor.startsWith("bottom") ? "end" : "middle";
    [sides.top, sides.bottom] = split(targetHeight - height, place);
  }
  return sides;
}

/** New pixels before and after the photo when it stays at the start, the end or the middle. */
function split(extra: number, photoAt: "start" | "middle" | "end"): [number, number] {
  if (photoAt === "start") return [0, extra];
  if (photoAt === "end") return [extra, 0];
  const before = Math.floor(extra / 2);
  return [before, extra - before];
}

function describeSides(sides: ExpandSides): string {
  return EXPAND_SIDES.map((name) => `${name} ${sides[name]}`).join(", ");
}

/**
 * The sides to send and the canvas they make, for an image of `width`×`height`, or a clear error before
 * anything is spent: both a ratio and sides, an anchor without a ratio, an unreadable ratio, a side over
 * the upstream's limit, nothing to add, or a canvas over `maxPixels`.
 */
export function resolveExpansion(
  width: number,
  height: number,
  geometry: ExpandGeometry,
  maxPixels: number,
): ResolvedExpansion {
  const given = EXPAND_SIDES.filter((name) => geometry.sides[name] !== 0);
  let sides: ExpandSides;
  if (geometry.aspectRatio !== undefined) {
    if (given.length > 0) {
      throw new FluxFillError(
        "bad_input",
        `Give either aspect_ratio or the sides (top, bottom, left, right), not both; got aspect_ratio ${JSON.stringify(geometry.aspectRatio)} and ${given.map((n) => `${n} ${geometry.sides[n]}`).join(", ")}.`,
        { suggestion: "Use aspect_ratio with anchor to reach a shape, or the sides for exact pixel counts." },
      );
    }
    const ratio = parseAspectRatio(geometry.aspectRatio);
    sides = sidesForAspectRatio(width, height, ratio, geometry.anchor ?? "center");
    if (EXPAND_SIDES.every((name) => sides[name] === 0)) {
      throw new FluxFillError(
        "bad_input",
        `Nothing to expand: the ${width}×${height} image is already ${geometry.aspectRatio} (to the nearest pixel).`,
        { suggestion: "Pick another aspect_ratio, or give the sides (top, bottom, left, right) to add in pixels." },
      );
    }
    const over = EXPAND_SIDES.filter((name) => sides[name] > MAX_EXPAND_SIDE);
    if (over.length > 0) {
      throw new FluxFillError(
        "bad_input",
        `Reaching ${geometry.aspectRatio} from ${width}×${height} needs ${describeSides(sides)} px, and the upstream adds at most ${MAX_EXPAND_SIDE} px per side.`,
        {
          suggestion:
            'Choose a ratio closer to the image\'s own, an anchor of "center" to split the growth, or expand in two steps.',
        },
      );
    }
  } else {
    if (geometry.anchor !== undefined) {
      throw new FluxFillError(
        "bad_input",
        `anchor only applies with aspect_ratio; got anchor ${JSON.stringify(geometry.anchor)} without one.`,
        { suggestion: 'Add aspect_ratio (e.g. "16:9"), or leave anchor out and give the sides in pixels.' },
      );
    }
    if (given.length === 0) {
      throw new FluxFillError("bad_input", "Nothing to expand: top, bottom, left and right are all 0.", {
        suggestion: 'Give the pixels to add on at least one side (e.g. "top": 256), or an aspect_ratio such as "16:9".',
      });
    }
    sides = { ...geometry.sides };
  }
  const expandedWidth = width + sides.left + sides.right;
  const expandedHeight = height + sides.top + sides.bottom;
  if (expandedWidth * expandedHeight > maxPixels) {
    throw new FluxFillError(
      "bad_input",
      `The expanded image would be ${expandedWidth}×${expandedHeight} (${((expandedWidth * expandedHeight) / 1e6).toFixed(1)} MP), over this server's limit of ${(maxPixels / 1e6).toFixed(1)} MP (FLUX_FILL_MAX_INPUT_MP).`,
      { suggestion: "Add fewer pixels, or downscale the photo first." },
    );
  }
  return { sides, width: expandedWidth, height: expandedHeight };
}
