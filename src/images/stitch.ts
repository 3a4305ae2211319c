/**
 * The two image steps around the provider call (the pipeline calls them; providers never know):
 * - cropForUpload: the planned area of the photo and its mask, scaled and padded to the size sent;
 * - composeFill / composeExpand: the upstream's pixels put back onto the original photo. Only the mask
 *   and a feathered band around it (or an expansion's new border) take generated pixels, colour-matched
 *   to the original first; every other pixel is the original's, exactly.
 * No I/O: rasters in, rasters out (sharp only resizes).
 */
import sharp from "sharp";
import { applyLabTransform, labStats, MIN_RING_PIXELS, transformBetween } from "./colour-match.js";
import type { ExpandSides } from "./expand.js";
import { type Box, boundsAtOrAbove, boxOf } from "./mask.js";
import { squaredDistanceToMask } from "./morphology.js";
import type { RasterImage } from "./raster.js";
import { bandFor, type StitchPlan } from "./stitch-plan.js";

/** Smallest rectangle holding every pixel of the mask above 0 (soft edges count); null when none. */
export function markedBox(mask: RasterImage): Box | null {
  return boxOf(boundsAtOrAbove(mask, 1));
}

async function raw(pipeline: sharp.Sharp, channels: 1 | 3): Promise<RasterImage> {
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== channels) throw new Error(`expected ${channels} channels, got ${info.channels}`);
  return { data, width: info.width, height: info.height, channels };
}

const rawInput = (r: RasterImage) => ({ raw: { width: r.width, height: r.height, channels: r.channels } });

/**
 * The image and mask to upload: the plan's area, scaled to `content` (lanczos; the mask linearly) and
 * padded on the right and bottom to `sent` — the image by reflection, the mask with "keep".
 */
export async function cropForUpload(
  image: RasterImage,
  mask: RasterImage,
  plan: StitchPlan,
): Promise<{ image: RasterImage; mask: RasterImage }> {
  if (plan.kind === "as_is") return { image, mask };
  const { area, content, sent } = plan;
  const extract = { left: area.x, top: area.y, width: area.width, height: area.height };
  const pad = { top: 0, left: 0, right: sent.width - content.width, bottom: sent.height - content.height };
  const scaled = content.width !== area.width || content.height !== area.height;
  const shape = (input: RasterImage, kernel: "lanczos3" | "linear") => {
    let p = sharp(input.data, rawInput(input)).extract(extract);
    if (scaled) p = p.resize(content.width, content.height, { fit: "fill", kernel });
    return p;
  };
  // Two pipelines: sharp applies one `extend` after the resize; the padding is added with a second one.
  const [imageContent, maskContent] = await Promise.all([
    raw(shape(toRgb(image), "lanczos3"), 3),
    raw(shape(mask, "linear").toColourspace("b-w"), 1),
  ]);
  if (pad.right === 0 && pad.bottom === 0) return { image: imageContent, mask: maskContent };
  return { image: reflectPad(imageContent, sent.width, sent.height), mask: zeroPad(maskContent, sent.width, sent.height) };
}

function toRgb(image: RasterImage): RasterImage {
  if (image.channels === 3) return image;
  throw new Error(`cropForUpload needs an RGB image, got ${image.channels} channels`);
}

/** Index of a reflected coordinate (…, 2, 1, [0, 1, …, n−1], n−2, …), for any overshoot. */
function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const m = ((i % period) + period) % period;
  return m < n ? m : period - m;
}

/** Right and bottom padding by reflection to width × height (the source stays at the top left). */
export function reflectPad(src: RasterImage, width: number, height: number): RasterImage {
  const c = src.channels;
  const data = Buffer.alloc(width * height * c);
  for (let y = 0; y < height; y++) {
    const sy = reflect(y, src.height);
    const srcRow = sy * src.width * c;
    const row = y * width * c;
    src.data.copy(data, row, srcRow, srcRow + src.width * c);
    for (let x = src.width; x < width; x++) {
      const sx = reflect(x, src.width);
      for (let k = 0; k < c; k++) data[row + x * c + k] = src.data[srcRow + sx * c + k]!;
    }
  }
  return { data, width, height, channels: src.channels };
}

function zeroPad(src: RasterImage, width: number, height: number): RasterImage {
  const data = Buffer.alloc(width * height * src.channels);
  const line = src.width * src.channels;
  for (let y = 0; y < src.height; y++) src.data.copy(data, y * width * src.channels, y * line, (y + 1) * line);
  return { data, width, height, channels: src.channels };
}

function intersect(a: Box, b: Box): Box | null {
  const x = Math.max(a.x, b.x);
  const y = Math.max(a.y, b.y);
  const right = Math.min(a.x + a.width, b.x + b.width);
  const bottom = Math.min(a.y + a.height, b.y + b.height);
  return right > x && bottom > y ? { x, y, width: right - x, height: bottom - y } : null;
}

/** The rectangle `box` of a raster, copied out. */
function subRaster(r: RasterImage, box: Box): RasterImage {
  const c = r.channels;
  const data = Buffer.alloc(box.width * box.height * c);
  for (let y = 0; y < box.height; y++) {
    const from = ((box.y + y) * r.width + box.x) * c;
    r.data.copy(data, y * box.width * c, from, from + box.width * c);
  }
  return { data, width: box.width, height: box.height, channels: r.channels };
}

export interface ComposeOptions {
  /** Match the generated area's colours to the original's (LAB, measured on the ring). Default true. */
  colourMatch?: boolean;
}

/** What composing did, for the reply and the benchmark. */
export interface ComposeReport {
  /** The rectangle of the photo whose pixels may differ from the original's (mask + band), or null. */
  changed: Box | null;
  band: number;
  /** Whether colours were matched (false when asked not to, or the ring was too small). */
  colourMatched: boolean;
}

/** smoothstep falloff: 1 at the mask's edge, 0 at `band` px from it. */
function falloff(distance: number, band: number): number {
  if (distance >= band) return 0;
  const t = 1 - distance / band;
  return t * t * (3 - 2 * t);
}

/**
 * The upstream's fill put back onto the original: its output (the plan's `sent` size) cut to `content`,
 * scaled back to the area's size, colour-matched on the ring just outside the mask, and blended through the
 * mask grown by the plan's band with a smooth falloff. Pixels outside mask + band are the original's.
 */
export async function composeFill(
  original: RasterImage,
  mask: RasterImage,
  plan: StitchPlan,
  returned: RasterImage,
  options: ComposeOptions = {},
): Promise<{ image: RasterImage; report: ComposeReport }> {
  const band = plan.band;
  const out: RasterImage = { ...original, data: Buffer.from(original.data) };
  const marked = markedBox(mask);
  const grown =
    marked &&
    intersect(
      { x: marked.x - band, y: marked.y - band, width: marked.width + 2 * band, height: marked.height + 2 * band },
      plan.area,
    );
  if (!grown) return { image: out, report: { changed: null, band, colourMatched: false } };
  // The generated pixels of the region, at the photo's scale.
  const { area, content } = plan;
  let generated: RasterImage;
  const region = { left: grown.x - area.x, top: grown.y - area.y, width: grown.width, height: grown.height };
  if (returned.width === area.width && returned.height === area.height && plan.scale === 1) {
    generated = subRaster(returned, { x: region.left, y: region.top, width: region.width, height: region.height });
  } else {
    generated = await raw(
      sharp(returned.data, rawInput(returned))
        .extract({ left: 0, top: 0, width: Math.min(content.width, returned.width), height: Math.min(content.height, returned.height) })
        .resize(area.width, area.height, { fit: "fill", kernel: "lanczos3" })
        .extract(region),
      3,
    );
  }
  const regionMask = subRaster(mask, grown);
  // Distance to the nearest marked pixel (any value above 0).
  const binary: RasterImage = { ...regionMask, data: Buffer.alloc(regionMask.data.length) };
  for (let i = 0; i < binary.data.length; i++) binary.data[i] = regionMask.data[i]! > 0 ? 255 : 0;
  const distance = squaredDistanceToMask(binary);
  const pixels = grown.width * grown.height;
  const weights = new Float32Array(pixels);
  const blendedAt = new Uint32Array(pixels);
  const ringAt = new Uint32Array(pixels);
  let blendedCount = 0;
  let ringCount = 0;
  const ringInner = 2 * 2;
  const ringOuter = Math.max(band, 8) ** 2;
  for (let i = 0; i < pixels; i++) {
    const d2 = distance[i]!;
    const w = d2 === 0 ? 1 : falloff(Math.sqrt(d2), band);
    weights[i] = w;
    if (w > 0) blendedAt[blendedCount++] = i;
    if (d2 > ringInner && d2 <= ringOuter) ringAt[ringCount++] = i;
  }
  const blended = blendedAt.subarray(0, blendedCount);
  const ring = ringAt.subarray(0, ringCount);
  const before = subRaster(original, grown);
  let colourMatched = false;
  if (options.colourMatch !== false && ring.length >= MIN_RING_PIXELS) {
    const transform = transformBetween(labStats(generated.data, ring), labStats(before.data, ring));
    applyLabTransform(generated.data, blended, transform);
    colourMatched = true;
  }
  for (const i of blended) {
    const w = weights[i]!;
    const y = Math.floor(i / grown.width);
    const x = i - y * grown.width;
    const o = ((grown.y + y) * original.width + grown.x + x) * 3;
    for (let c = 0; c < 3; c++) {
      out.data[o + c] = Math.round(before.data[i * 3 + c]! * (1 - w) + generated.data[i * 3 + c]! * w);
    }
  }
  return { image: out, report: { changed: grown, band, colourMatched } };
}

/**
 * An expansion put back around the original: the upstream's canvas (scaled to the expected size if it
 * differs), its new border colour-matched on a ring just inside the photo's edge, and the photo's own
 * pixels pasted over it exactly.
 */
export async function composeExpand(
  original: RasterImage,
  sides: ExpandSides,
  returned: RasterImage,
  options: ComposeOptions = {},
): Promise<{ image: RasterImage; report: ComposeReport }> {
  const width = original.width + sides.left + sides.right;
  const height = original.height + sides.top + sides.bottom;
  const canvas =
    returned.width === width && returned.height === height
      ? { ...returned, data: Buffer.from(returned.data) }
      : await raw(sharp(returned.data, rawInput(returned)).resize(width, height, { fit: "fill", kernel: "lanczos3" }), 3);
  const photo: Box = { x: sides.left, y: sides.top, width: original.width, height: original.height };
  const band = bandFor({ x: 0, y: 0, width, height });
  let colourMatched = false;
  if (options.colourMatch !== false) {
    // The ring: the photo's outermost `band` px on the sides that grew, as the upstream returned them.
    const ringCanvas: number[] = [];
    const ringPhoto: number[] = [];
    for (let y = 0; y < original.height; y++) {
      for (let x = 0; x < original.width; x++) {
        const nearGrown =
          (sides.left > 0 && x < band) ||
          (sides.right > 0 && x >= original.width - band) ||
          (sides.top > 0 && y < band) ||
          (sides.bottom > 0 && y >= original.height - band);
        if (!nearGrown) continue;
        ringPhoto.push(y * original.width + x);
        ringCanvas.push((y + photo.y) * width + x + photo.x);
      }
    }
    if (ringPhoto.length >= MIN_RING_PIXELS) {
      const transform = transformBetween(labStats(canvas.data, ringCanvas), labStats(original.data, ringPhoto));
      const border = new Uint32Array(width * height - original.width * original.height);
      let n = 0;
      for (let y = 0; y < height; y++) {
        const inside = y >= photo.y && y < photo.y + photo.height;
        for (let x = 0; x < width; x++) {
          if (inside && x >= photo.x && x < photo.x + photo.width) continue;
          border[n++] = y * width + x;
        }
      }
      applyLabTransform(canvas.data, border, transform);
      colourMatched = true;
    }
  }
  const line = original.width * 3;
  for (let y = 0; y < original.height; y++) {
    original.data.copy(canvas.data, ((y + photo.y) * width + photo.x) * 3, y * line, (y + 1) * line);
  }
  return { image: canvas, report: { changed: null, band, colourMatched } };
}
