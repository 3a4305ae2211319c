import type { RasterImage } from "../../providers/types.js";

/**
 * The contract between the selection maths (object-from-box, magic wand) and the mask stage that calls it.
 * Pure data: coordinates are image pixels (units already converted, the box already checked to touch the
 * image), the image is opaque 8-bit RGB as displayed.
 */

/** A rectangle in image pixels; may reach past the image's edges (the maths clips it). */
export interface PixelBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A point in image pixels, [x, y]. */
export type PixelPoint = readonly [number, number];

export interface ObjectHints {
  /** Points known to be on the object (a person's foreground scribble, as points). */
  include?: ReadonlyArray<PixelPoint>;
  /** Points known to be background inside the box. */
  exclude?: ReadonlyArray<PixelPoint>;
}

/** What decided a selection, reported per entry by preview_mask and in flux_fill's notes. */
export type SelectionDecision = "segmented" | "fallback";

export interface Selection {
  /** width × height of the image, one byte per pixel: 255 = selected, 0 = not (values between on soft edges). */
  mask: Buffer;
  decided: SelectionDecision;
  /** One sentence for the person or model: what was selected and, for a fallback, why. */
  reason: string;
}

/** Object inside a box: colour models + edge-aware graph cut, with a shape prior where colours cannot tell. */
export type SelectObject = (image: RasterImage, box: PixelBox, hints?: ObjectHints) => Selection;

/** Magic wand: pixels within `tolerance` (0..255 scale) of the seed's colour, joined to it or anywhere. */
export type SelectWand = (image: RasterImage, seed: PixelPoint, tolerance: number, contiguous: boolean) => Selection;
