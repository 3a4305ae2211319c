/**
 * The contract between the selection maths (object-from-box, magic wand) and its callers: the mask stage on
 * the server and the mask editor page in the browser (which bundles the same code, so it uses typed arrays,
 * never Node's Buffer). Pure data: coordinates are image pixels (units already converted, the box already
 * checked to touch the image), the image is opaque 8-bit RGB as displayed.
 */

/**
 * 8-bit pixels, row-major, no padding: opaque RGB as displayed (grey is read as grey, an alpha channel is
 * ignored). A server RasterImage fits, and so does the page's canvas converted to RGB.
 */
export interface SelectionImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}

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
  mask: Uint8Array;
  decided: SelectionDecision;
  /** One sentence for the person or model: what was selected and, for a fallback, why. */
  reason: string;
  /**
   * 0..1: how likely the mask is what was asked for (object selection's own estimate, see confidence.ts;
   * ≤ DOUBTFUL_CONFIDENCE in segmenter.ts means doubtful). The wand selects exactly what its rule says: 1.
   */
  confidence: number;
}

/** Object inside a box: colour models + edge-aware graph cut, with a shape prior where colours cannot tell. */
export type SelectObject = (image: SelectionImage, box: PixelBox, hints?: ObjectHints) => Selection;

/** Magic wand: pixels within `tolerance` (0..255 scale) of the seed's colour, joined to it or anywhere. */
export type SelectWand = (image: SelectionImage, seed: PixelPoint, tolerance: number, contiguous: boolean) => Selection;
