import type { ObjectHints, PixelBox, SelectionDecision, SelectionImage } from "./types.js";

/**
 * The one interface every object selection goes through (issue 22): an image plus a box and/or hint points
 * and/or text → the chosen mask with a score. Backends are adapters: `classic` (the colour-model maths in
 * this folder, offline), `onnx` (SAM 2.1 or MobileSAM on the CPU, the embedding cached per image) and `fal`
 * (the hosted SAM 3 endpoint, paid). The mask routes (flux_fill, preview_mask, open_mask_editor, the CLI) see only this.
 */

export type SegmenterName = "classic" | "onnx" | "fal";
export const SEGMENTER_NAMES = ["classic", "onnx", "fal"] as const satisfies ReadonlyArray<SegmenterName>;

/** The photo, plus a key that names its pixels (a content hash), so a backend can cache per image. */
export interface SegmentImage extends SelectionImage {
  /** Stable for identical pixels (e.g. SHA-256 of width, height, channels and data); caches key on it. */
  key: string;
}

/** What the agent asked for, in image pixels (units already converted). At least a box or a text. */
export interface SegmentPrompt extends ObjectHints {
  /** The box the object lies in (the box prompt); may reach past the image's edges. */
  box?: PixelBox;
  /** What to select, in words ("the spoon"): only for backends with `readsText`. */
  text?: string;
}

export interface Segmentation {
  /** width × height of the image, one byte per pixel: 255 = selected, 0 = not (values between on soft edges). */
  mask: Uint8Array;
  decided: SelectionDecision;
  /** One sentence: what was selected and, for a fallback, why. */
  reason: string;
  /** 0..1: how likely the mask is right (SAM: the predicted IoU; classic: its own estimate). */
  confidence: number;
  /** How many masks the backend offered before the best-fitting one was chosen (1 when it returns one). */
  candidates: number;
  /** Which backend decided (after any fall-back). */
  segmenter: SegmenterName;
  /** US dollars this selection was charged by a hosted backend (0 when offline or served from cache). */
  costUsd: number;
  /** What the caller should be told besides the reason (a paid call, a cached mask, a fall-back to classic). */
  notes?: string[];
}

/**
 * Counts a paid call against the daily credit limits before it is made (throws a `credit_limit` error when
 * it would pass them); the function it returns settles the count with what was charged (0 when nothing was).
 */
export type PayForSegmentation = (priceUsd: number) => Promise<(chargedUsd: number) => Promise<void>>;

export interface SegmentOptions {
  signal?: AbortSignal;
  /** Given by callers that count spending (the server); a hosted backend without it just pays. */
  pay?: PayForSegmentation;
}

export interface Segmenter {
  readonly name: SegmenterName;
  /** True when `text` prompts are understood. */
  readonly readsText: boolean;
  /** True when a call is paid and sends the photo to a third party. */
  readonly hosted: boolean;
  segment(image: SegmentImage, prompt: SegmentPrompt, options?: SegmentOptions): Promise<Segmentation>;
}

/** The segmenter the mask stage uses for object entries, and what to pass it (signal, paying). */
export interface SegmentContext {
  segmenter: Segmenter;
  options?: SegmentOptions;
}

/** At or below this confidence an entry is reported as doubtful, whichever backend decided. */
export const DOUBTFUL_CONFIDENCE = 0.5;
export const DOUBTFUL_NOTE = "doubtful — check the preview, add hint points or use shapes";
