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

/** How the caller asked for the new canvas: sides, a ratio to reach after them (with where the photo stays), or both. */
export interface ExpandGeometry {
  sides: ExpandSides;
  aspectRatio?: string | undefined;
  anchor?: Anchor | undefined;
}

/** Fewer new pixels than this in total are refused: a task is paid whatever it adds. */
export const MIN_EXPAND_TOTAL_PX = 8;

export interface ResolvedExpansion {
  sides: ExpandSides;
  /** The expanded canvas. */
  width: number;
  height: number;
  /** What the caller should know about how the sides were reached (an anchor that could not apply). */
  notes: string[];
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

/** The dimension that must grow for `width`×`height` to reach `ratio` (to the nearest pixel), if any. */
export function dimensionToGrow(width: number, height: number, ratio: number): "width" | "height" | undefined {
  if (Math.round(height * ratio) > width) return "width";
  if (Math.round(width / ratio) > height) return "height";
  return undefined;
}

/**
 * Sides that bring `width`×`height` to `ratio` by growing only the dimension that is short of it (rounded
 * to the nearest pixel). The anchor keeps the photo at that edge; centred, an odd number of new pixels
 * puts the extra one on the right (or at the bottom).
 */
export function sidesForAspectRatio(width: number, height: number, ratio: number, anchor: Anchor): ExpandSides {
  const sides: ExpandSides = { top: 0, bottom: 0, left: 0, right: 0 };
  const grows = dimensionToGrow(width, height, ratio);
  if (grows === "width") {
    const place = anchor.endsWith("left") ? "start" : anchor.endsWith("right") ? "end" : "middle";
    [sides.left, sides.right] = split(Math.round(height * ratio) - width, place);
  } else if (grows === "height") {
    const place = anchor.startsWith("top") ? "start" : anchor.startsWith("bottom") ? "end" : "middle";
    [sides.top, sides.bottom] = split(Math.round(width / ratio) - height, place);
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

function total(sides: ExpandSides): number {
  return sides.top + sides.bottom + sides.left + sides.right;
}

/** For an anchor along the dimension that does not grow: which side to give instead, and what it adds. */
const SIDE_INSTEAD: Partial<Record<Anchor, { side: (typeof EXPAND_SIDES)[number]; adds: string }>> = {
  bottom: { side: "top", adds: "rows above the photo (e.g. sky)" },
  top: { side: "bottom", adds: "rows below the photo (e.g. ground)" },
  right: { side: "left", adds: "columns on its left" },
  left: { side: "right", adds: "columns on its right" },
};

/**
 * The note for an anchor that names an edge along the dimension that does not grow (anchor "bottom" when
 * a wider ratio grows the width): it placed nothing, and the side to give for what was likely meant.
 */
function anchorNote(
  anchor: Anchor,
  grows: "width" | "height",
  ratioText: string,
  canvas: { width: number; height: number },
  growth: ExpandSides,
): string | undefined {
  const instead = SIDE_INSTEAD[anchor];
  const along = anchor === "top" || anchor === "bottom" ? "height" : "width";
  if (instead === undefined || along === grows) return undefined;
  const placed = grows === "width" ? `left ${growth.left}, right ${growth.right}` : `top ${growth.top}, bottom ${growth.bottom}`;
  const example = Math.max(MIN_EXPAND_TOTAL_PX, Math.round((instead.side === "top" || instead.side === "bottom" ? canvas.height : canvas.width) / 4));
  return `Note: anchor "${anchor}" could not apply: reaching ${ratioText} from ${canvas.width}×${canvas.height} grows the ${grows} (${placed} px, centred). To add ${instead.adds}, give "${instead.side}" in pixels (e.g. "${instead.side}": ${example}); with aspect_ratio as well, the ${grows} then grows to match.`;
}

/**
 * The sides to send and the canvas they make, for an image of `width`×`height`, or a clear error before
 * anything is spent. The given sides are added first; then, with a ratio, the dimension short of it grows,
 * placed by the anchor. Refused: an anchor without a ratio, an unreadable ratio, a side over the upstream's
 * limit, fewer than MIN_EXPAND_TOTAL_PX new pixels, or a canvas over `maxPixels`.
 */
export function resolveExpansion(
  width: number,
  height: number,
  geometry: ExpandGeometry,
  maxPixels: number,
): ResolvedExpansion {
  const given = geometry.sides;
  // Only the four sides: callers may pass all the upstream parameters here.
  const sides: ExpandSides = { top: given.top, bottom: given.bottom, left: given.left, right: given.right };
  const notes: string[] = [];
  if (geometry.aspectRatio !== undefined) {
    const ratio = parseAspectRatio(geometry.aspectRatio);
    const canvas = { width: width + sides.left + sides.right, height: height + sides.top + sides.bottom };
    const anchor = geometry.anchor ?? "center";
    const growth = sidesForAspectRatio(canvas.width, canvas.height, ratio, anchor);
    for (const name of EXPAND_SIDES) sides[name] += growth[name];
    const grows = dimensionToGrow(canvas.width, canvas.height, ratio);
    const note = grows && anchorNote(anchor, grows, geometry.aspectRatio, canvas, growth);
    if (note) notes.push(note);
  } else if (geometry.anchor !== undefined) {
    throw new FluxFillError(
      "bad_input",
      `anchor only applies with aspect_ratio; got anchor ${JSON.stringify(geometry.anchor)} without one.`,
      { suggestion: 'Add aspect_ratio (e.g. "16:9"), or leave anchor out and give the sides in pixels.' },
    );
  }
  const added = total(sides);
  if (added < MIN_EXPAND_TOTAL_PX) {
    if (geometry.aspectRatio !== undefined && total(given) === 0) {
      const within = added === 0 ? "to the nearest pixel" : `to within ${added} px`;
      throw new FluxFillError(
        "bad_input",
        `Nothing worth expanding: the ${width}×${height} image is already ${geometry.aspectRatio} (${within}); fewer than ${MIN_EXPAND_TOTAL_PX} new pixels are refused, since a task is paid whatever it adds.`,
        { suggestion: "Pick another aspect_ratio, or give the sides (top, bottom, left, right) to add in pixels." },
      );
    }
    throw new FluxFillError(
      "bad_input",
      added === 0
        ? "Nothing to expand: top, bottom, left and right are all 0."
        : `Too little to expand: ${describeSides(sides)} adds ${added} px in total; fewer than ${MIN_EXPAND_TOTAL_PX} are refused, since a task is paid whatever it adds.`,
      {
        suggestion: `Give the pixels to add on at least one side (e.g. "top": 256, at least ${MIN_EXPAND_TOTAL_PX} in all), or an aspect_ratio such as "16:9".`,
      },
    );
  }
  const over = EXPAND_SIDES.filter((name) => sides[name] > MAX_EXPAND_SIDE);
  if (over.length > 0) {
    throw new FluxFillError(
      "bad_input",
      `${geometry.aspectRatio === undefined ? "The sides" : `Reaching ${geometry.aspectRatio} from ${width}×${height}`} need${geometry.aspectRatio === undefined ? "" : "s"} ${describeSides(sides)} px, and the upstream adds at most ${MAX_EXPAND_SIDE} px per side.`,
      {
        suggestion:
          'Choose a ratio closer to the image\'s own, an anchor of "center" to split the growth, or expand in two steps.',
      },
    );
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
  return { sides, width: expandedWidth, height: expandedHeight, notes };
}
