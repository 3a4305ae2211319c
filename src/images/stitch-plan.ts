/**
 * Where a fill is sent, pure: the mask's context box, the part of the photo that goes upstream, the size
 * it is sent at (a multiple of 32, padded by reflection, never distorted) and the band through which the
 * upstream's pixels are blended back (stitch.ts). Practice this follows: Krita AI Diffusion, ComfyUI
 * Inpaint-CropAndStitch, AUTOMATIC1111 "only masked" (docs/tools.md, "What is sent").
 */
import type { Box } from "./mask.js";
import { GRID, LARGE_PIXELS } from "./model-size.js";

export const CROP_MODES = ["auto", "off"] as const;
export type CropMode = (typeof CROP_MODES)[number];

/** Context around the mask: at least this many px per side, and this share of its longer side. */
const MIN_CONTEXT_PX = 64;
const CONTEXT_SHARE = 0.5;
/** The smallest context box (per side) where the photo is that big. */
const MIN_CONTEXT_SIDE = 512;
/** A context box at least this share of the photo's area sends the whole photo instead. */
export const WHOLE_PHOTO_SHARE = 0.8;
/** A crop is sent between these pixel counts: small boxes enlarged (more detail), large ones reduced. */
export const CROP_MIN_PIXELS = 1024 * 1024;
export const CROP_MAX_PIXELS = 2_000_000;
/** The whole photo is reduced to at most this many pixels. */
export const WHOLE_MAX_PIXELS = LARGE_PIXELS;
/** The blend band: this share of the context box's diagonal, within these bounds (px of the photo). */
const BAND_SHARE = 0.02;
export const MIN_BAND_PX = 8;
export const MAX_BAND_PX = 48;

export interface StitchPlan {
  /**
   * "crop": the context box only; "whole": the whole photo, resized and/or padded; "as_is": the photo
   * exactly as it is (crop "off", or a whole photo that needs no change), so its file can go byte for byte.
   */
  kind: "crop" | "whole" | "as_is";
  photo: { width: number; height: number };
  /** The mask's context box, in photo pixels (sets the band). */
  context: Box;
  /** The part of the photo sent, in photo pixels. */
  area: Box;
  /** The area scaled by `scale` (rounded): where the photo's pixels are in the sent image (top left). */
  content: { width: number; height: number };
  /** The size sent: `content` padded on the right and bottom by reflection to multiples of 32. */
  sent: { width: number; height: number };
  /** Sent pixels per photo pixel (1 = unscaled). */
  scale: number;
  /** Blend band around the mask, in photo pixels. */
  band: number;
}

const ceilToGrid = (n: number) => Math.max(GRID, Math.ceil(n / GRID) * GRID);

/** [start, start + length) of `length` around [lo, hi), shifted to stay within [0, limit). */
function placeSpan(lo: number, hi: number, length: number, limit: number): [number, number] {
  const size = Math.min(length, limit);
  let start = Math.round((lo + hi - size) / 2);
  start = Math.max(0, Math.min(limit - size, start));
  return [start, size];
}

/**
 * The mask's context box: its bounding box grown on each side by half its longer side (at least 64 px),
 * at least 512 px a side where the photo is that big, its sides rounded up to multiples of 32, inside the photo.
 */
export function contextBox(photo: { width: number; height: number }, mask: Box): Box {
  const grow = Math.max(MIN_CONTEXT_PX, Math.ceil(Math.max(mask.width, mask.height) * CONTEXT_SHARE));
  const span = (start: number, length: number, limit: number): [number, number] => {
    const lo = Math.max(0, start - grow);
    const hi = Math.min(limit, start + length + grow);
    const wanted = ceilToGrid(Math.max(hi - lo, Math.min(MIN_CONTEXT_SIDE, limit)));
    // Centred on the grown box, kept inside the photo (a box at an edge grows inwards).
    return placeSpan(lo, hi, wanted, limit);
  };
  const [x, width] = span(mask.x, mask.width, photo.width);
  const [y, height] = span(mask.y, mask.height, photo.height);
  return { x, y, width, height };
}

/** The blend band for a context box: ~2 % of its diagonal, 8..48 px. */
export function bandFor(context: Box): number {
  const diagonal = Math.hypot(context.width, context.height);
  return Math.max(MIN_BAND_PX, Math.min(MAX_BAND_PX, Math.round(diagonal * BAND_SHARE)));
}

/** Scaled sizes padded to the grid; the scale is nudged down until the padded size is within `maxPixels`. */
function sizes(area: Box, scale: number, maxPixels: number) {
  let s = scale;
  for (;;) {
    const content = { width: Math.max(1, Math.round(area.width * s)), height: Math.max(1, Math.round(area.height * s)) };
    const sent = { width: ceilToGrid(content.width), height: ceilToGrid(content.height) };
    if (sent.width * sent.height <= maxPixels || s < 1e-3) return { scale: s, content, sent };
    s *= 0.995;
  }
}

/**
 * The plan for a photo and its mask's bounding box (null: no pixel marked, the whole photo is sent).
 * `enlarge: false` keeps small crops at the photo's own scale (the embedded engine gains nothing from it).
 */
export function planStitch(
  photo: { width: number; height: number },
  maskBox: Box | null,
  crop: CropMode,
  options: { enlarge?: boolean } = {},
): StitchPlan {
  const whole: Box = { x: 0, y: 0, width: photo.width, height: photo.height };
  const context = maskBox === null ? whole : contextBox(photo, maskBox);
  const band = bandFor(context);
  const asIs: StitchPlan = {
    kind: "as_is",
    photo,
    context,
    area: whole,
    content: { width: photo.width, height: photo.height },
    sent: { width: photo.width, height: photo.height },
    scale: 1,
    band,
  };
  if (crop === "off") return asIs;
  const photoPixels = photo.width * photo.height;
  if (context.width * context.height < WHOLE_PHOTO_SHARE * photoPixels) {
    const pixels = context.width * context.height;
    let scale = 1;
    if (pixels < CROP_MIN_PIXELS && options.enlarge !== false) scale = Math.sqrt(CROP_MIN_PIXELS / pixels);
    else if (pixels > CROP_MAX_PIXELS) scale = Math.sqrt(CROP_MAX_PIXELS / pixels);
    return { kind: "crop", photo, context, area: context, ...sizes(context, scale, CROP_MAX_PIXELS), band };
  }
  const scale = photoPixels > WHOLE_MAX_PIXELS ? Math.sqrt(WHOLE_MAX_PIXELS / photoPixels) : 1;
  // A photo under the cap may go over it by its padding alone.
  const cap = scale < 1 ? WHOLE_MAX_PIXELS : Math.max(WHOLE_MAX_PIXELS, ceilToGrid(photo.width) * ceilToGrid(photo.height));
  const planned = sizes(whole, scale, cap);
  if (planned.scale === 1 && planned.sent.width === photo.width && planned.sent.height === photo.height) return asIs;
  return { kind: "whole", photo, context, area: whole, ...planned, band };
}

/** Whether the plan changes what is sent (else the photo's own upload goes as it is). */
export function changesUpload(plan: StitchPlan): boolean {
  return plan.kind !== "as_is";
}

const mp = (pixels: number) => `${(pixels / 1e6).toFixed(pixels < 1e5 ? 2 : 1)} MP`;

/** What was sent, in a few words: "a 1024×1024 crop (1.0 MP) of 1200×1200 px, 2.5 % of the photo". */
export function describeSent(plan: StitchPlan): string {
  const { sent, area, photo } = plan;
  const padded = sent.width !== plan.content.width || sent.height !== plan.content.height;
  const pad = padded ? ", padded to a multiple of 32" : "";
  if (plan.kind === "as_is") return `the whole ${photo.width}×${photo.height} photo as it is`;
  if (plan.kind === "whole") {
    const resized = plan.scale === 1 ? "" : ` at ${plan.content.width}×${plan.content.height}`;
    return `the whole ${photo.width}×${photo.height} photo${resized} as ${sent.width}×${sent.height} (${mp(sent.width * sent.height)}${pad})`;
  }
  const share = ((area.width * area.height) / (photo.width * photo.height)) * 100;
  return `a ${sent.width}×${sent.height} (${mp(sent.width * sent.height)}) crop of ${area.width}×${area.height} px at (${area.x}, ${area.y}), ${share < 10 ? share.toFixed(1) : share.toFixed(0)} % of the ${photo.width}×${photo.height} photo${pad}`;
}
