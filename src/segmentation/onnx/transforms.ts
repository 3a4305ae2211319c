import type { PixelBox, PixelPoint } from "../../images/selection/types.js";

/**
 * The pure maths around SAM's encoders and decoders, for both layouts the onnx segmenter runs: the image →
 * the encoder's input, a prompt → the decoder's points and labels, and the decoder's logits → a mask at the
 * image's size, with the choice among the candidate masks. No I/O; exact unit tests.
 *
 * SAM 2.1 (samexporter export) resizes the photo to 1024×1024 without keeping its aspect ratio, so x and y
 * scale separately (SAM2Transforms: coordinates / [w, h] × 1024), and its masks are upsampled straight back
 * to the photo's size (bilinear, align_corners=False) and thresholded at 0.
 *
 * SAM 1 (MobileSAM; facebookresearch/segment-anything's ResizeLongestSide and SamOnnxModel) resizes the
 * longest side to 1024 keeping the aspect ratio and pads bottom/right (inside the encoder graph here), so
 * points scale by the resized size over the photo's; its decoder puts a box's corners after the points and
 * wants a padding point (0, 0) labelled −1 when there is no box.
 */

/** The side of the square the encoder sees. */
export const SAM_INPUT_SIZE = 1024;
/** ImageNet normalisation, RGB, on values /255 (SAM 2's preprocessing). */
export const SAM_MEAN = [0.485, 0.456, 0.406] as const;
export const SAM_STD = [0.229, 0.224, 0.225] as const;
/** Point labels of SAM's prompt encoder (−1: not a point, SAM 1's padding). */
export const SAM_LABEL = { padding: -1, exclude: 0, include: 1, boxTopLeft: 2, boxBottomRight: 3 } as const;
/** A candidate still fits a box prompt with at most this share of its pixels outside the box. */
export const MAX_OUTSIDE_BOX = 0.05;

/** The photo's size once resized for the encoder (before any padding). */
export interface ModelFrame {
  width: number;
  height: number;
}

/** SAM 2's frame: every photo is stretched to 1024×1024. */
export const SQUARE_FRAME: ModelFrame = { width: SAM_INPUT_SIZE, height: SAM_INPUT_SIZE };

/**
 * SAM 1's frame: the longest side to 1024, the other scaled alike and rounded half up
 * (ResizeLongestSide.get_preprocess_shape; SamOnnxModel.resize_longest_image_size rounds the same way).
 */
export function longestSideFrame(width: number, height: number): ModelFrame {
  const scale = SAM_INPUT_SIZE / Math.max(width, height);
  return { width: Math.floor(width * scale + 0.5), height: Math.floor(height * scale + 0.5) };
}

/** Image pixels → the encoder's frame. */
export function toModelFrame(point: PixelPoint, width: number, height: number, frame: ModelFrame = SQUARE_FRAME): [number, number] {
  return [(point[0] * frame.width) / width, (point[1] * frame.height) / height];
}

/** The encoder's frame → image pixels (the inverse of toModelFrame). */
export function toImageFrame(point: PixelPoint, width: number, height: number, frame: ModelFrame = SQUARE_FRAME): [number, number] {
  return [(point[0] * width) / frame.width, (point[1] * height) / frame.height];
}

/** The part of `box` inside a width × height image, as corners [x0, y0, x1, y1]; undefined when none is. */
export function clipBox(box: PixelBox, width: number, height: number): [number, number, number, number] | undefined {
  const x0 = Math.max(0, Math.min(box.x, box.x + box.width));
  const y0 = Math.max(0, Math.min(box.y, box.y + box.height));
  const x1 = Math.min(width, Math.max(box.x, box.x + box.width));
  const y1 = Math.min(height, Math.max(box.y, box.y + box.height));
  return x1 > x0 && y1 > y0 ? [x0, y0, x1, y1] : undefined;
}

export interface SamPromptInput {
  box?: PixelBox;
  include?: ReadonlyArray<PixelPoint>;
  exclude?: ReadonlyArray<PixelPoint>;
}

/** The decoder's `point_coords` ([1, N, 2], 1024 frame) and `point_labels` ([1, N]). */
export interface SamPoints {
  coords: Float32Array;
  labels: Float32Array;
  count: number;
}

/** How a decoder wants its points: in which frame, where the box goes, and whether to pad. */
export interface PointLayout {
  frame: ModelFrame;
  /** The box's corners after the points (SAM 1) instead of before them (SAM 2). */
  boxLast: boolean;
  /** A point (0, 0) labelled −1 at the end when there is no box (SAM 1's ONNX decoder, as its notebook does). */
  padWithoutBox: boolean;
}

export const SAM2_POINTS: PointLayout = { frame: SQUARE_FRAME, boxLast: false, padWithoutBox: false };

/**
 * A prompt → SAM points: the box as its top-left and bottom-right corners labelled 2 and 3 (clipped to the
 * image), include points labelled 1, exclude points labelled 0, in the encoder's frame. SAM 2 takes the box
 * first; SAM 1 takes it last, or a padding point when there is none.
 */
export function promptToPoints(prompt: SamPromptInput, width: number, height: number, layout: PointLayout = SAM2_POINTS): SamPoints {
  const box: Array<[PixelPoint, number]> = [];
  const corners = prompt.box ? clipBox(prompt.box, width, height) : undefined;
  if (corners) {
    box.push([[corners[0], corners[1]], SAM_LABEL.boxTopLeft], [[corners[2], corners[3]], SAM_LABEL.boxBottomRight]);
  }
  const hints: Array<[PixelPoint, number]> = [
    ...(prompt.include ?? []).map((p): [PixelPoint, number] => [p, SAM_LABEL.include]),
    ...(prompt.exclude ?? []).map((p): [PixelPoint, number] => [p, SAM_LABEL.exclude]),
  ];
  const framed = (points: Array<[PixelPoint, number]>) =>
    points.map(([p, label]): [PixelPoint, number] => [toModelFrame(p, width, height, layout.frame), label]);
  const points = layout.boxLast ? [...framed(hints), ...framed(box)] : [...framed(box), ...framed(hints)];
  if (layout.padWithoutBox && box.length === 0) points.push([[0, 0], SAM_LABEL.padding]);
  const coords = new Float32Array(points.length * 2);
  const labels = new Float32Array(points.length);
  points.forEach(([[x, y], label], i) => {
    coords[i * 2] = x;
    coords[i * 2 + 1] = y;
    labels[i] = label;
  });
  return { coords, labels, count: points.length };
}

/**
 * SAM 1's own preference among its four masks (SamOnnxModel.select_masks): mask 0 answers an unambiguous
 * prompt (three points or more, padding included), masks 1–3 an ambiguous one (a box or a single point).
 * The predicted IoUs with that rule folded in, for ranking only (the reported score stays the model's).
 */
export function sam1RankingScores(scores: ArrayLike<number>, pointCount: number): Float32Array {
  const ranked = Float32Array.from(scores);
  if (ranked.length > 0) ranked[0] = ranked[0]! + (pointCount - 2.5) * 1000;
  return ranked;
}

/**
 * Interleaved 8-bit RGB at SAM_INPUT_SIZE² (already resized) → the encoder's `image` tensor data,
 * [1, 3, 1024, 1024] channel-first, (v/255 − mean) / std.
 */
export function rgbToSamInput(rgb: Uint8Array, size = SAM_INPUT_SIZE): Float32Array {
  const plane = size * size;
  if (rgb.length !== plane * 3) throw new Error(`expected ${plane * 3} RGB bytes, got ${rgb.length}`);
  const out = new Float32Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    const mean = SAM_MEAN[c]!;
    const std = SAM_STD[c]!;
    const base = c * plane;
    for (let i = 0; i < plane; i++) out[base + i] = (rgb[i * 3 + c]! / 255 - mean) / std;
  }
  return out;
}

/** One candidate of the decoder's output: `size` = lowWidth × lowHeight logits starting at `offset`. */
export interface LowResMasks {
  data: Float32Array;
  count: number;
  lowWidth: number;
  lowHeight: number;
}

/**
 * Candidate `index`'s logits upsampled to width × height (bilinear, align_corners=False, as SAM 2's
 * postprocessing) and thresholded at 0: 255 where the logit is > 0, else 0.
 */
export function upscaleMask(masks: LowResMasks, index: number, width: number, height: number): Uint8Array {
  const { data, lowWidth: lw, lowHeight: lh } = masks;
  const offset = index * lw * lh;
  const out = new Uint8Array(width * height);
  const sx = lw / width;
  const sy = lh / height;
  // Source columns and weights once per x (the same for every row).
  const x0s = new Int32Array(width);
  const x1s = new Int32Array(width);
  const wxs = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const src = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), lw - 1);
    const x0 = Math.floor(src);
    x0s[x] = x0;
    x1s[x] = Math.min(x0 + 1, lw - 1);
    wxs[x] = src - x0;
  }
  for (let y = 0; y < height; y++) {
    const srcY = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), lh - 1);
    const y0 = Math.floor(srcY);
    const y1 = Math.min(y0 + 1, lh - 1);
    const wy = srcY - y0;
    const row0 = offset + y0 * lw;
    const row1 = offset + y1 * lw;
    for (let x = 0; x < width; x++) {
      const a = x0s[x]!;
      const b = x1s[x]!;
      const wx = wxs[x]!;
      const top = data[row0 + a]! + (data[row0 + b]! - data[row0 + a]!) * wx;
      const bottom = data[row1 + a]! + (data[row1 + b]! - data[row1 + a]!) * wx;
      if (top + (bottom - top) * wy > 0) out[y * width + x] = 255;
    }
  }
  return out;
}

/** How one candidate fits the prompt, judged on the low-resolution grid. */
export interface CandidateFit {
  /** Cells with a positive logit. */
  area: number;
  /** Share of those cells outside the box (0 without a box). */
  outsideBox: number;
  /** Every include point is inside the mask and no exclude point is. */
  pointsRespected: boolean;
  fits: boolean;
}

/** The low-resolution cell under an image point. */
function cellOf(point: PixelPoint, width: number, height: number, lw: number, lh: number): number {
  const cx = Math.min(lw - 1, Math.max(0, Math.floor((point[0] / width) * lw)));
  const cy = Math.min(lh - 1, Math.max(0, Math.floor((point[1] / height) * lh)));
  return cy * lw + cx;
}

export function candidateFit(
  masks: LowResMasks,
  index: number,
  prompt: SamPromptInput,
  width: number,
  height: number,
): CandidateFit {
  const { data, lowWidth: lw, lowHeight: lh } = masks;
  const offset = index * lw * lh;
  const corners = prompt.box ? clipBox(prompt.box, width, height) : undefined;
  // The box on the grid, one cell wider each side so an edge that straddles a cell is not counted outside.
  const bx0 = corners ? Math.floor((corners[0] / width) * lw) - 1 : -1;
  const by0 = corners ? Math.floor((corners[1] / height) * lh) - 1 : -1;
  const bx1 = corners ? Math.ceil((corners[2] / width) * lw) : lw;
  const by1 = corners ? Math.ceil((corners[3] / height) * lh) : lh;
  let area = 0;
  let outside = 0;
  for (let y = 0; y < lh; y++) {
    for (let x = 0; x < lw; x++) {
      if (data[offset + y * lw + x]! <= 0) continue;
      area++;
      if (x < bx0 || x > bx1 || y < by0 || y > by1) outside++;
    }
  }
  const inMask = (p: PixelPoint) => data[offset + cellOf(p, width, height, lw, lh)]! > 0;
  const pointsRespected =
    (prompt.include ?? []).every(inMask) && !(prompt.exclude ?? []).some((p) => inMask(p));
  const outsideBox = area === 0 ? 0 : outside / area;
  return { area, outsideBox, pointsRespected, fits: area > 0 && outsideBox <= MAX_OUTSIDE_BOX && pointsRespected };
}

export interface CandidateChoice {
  index: number;
  /** False when no candidate fitted the prompt and the best-scoring one was taken anyway. */
  fits: boolean;
  fit: CandidateFit;
}

/**
 * The best-scoring candidate that fits the prompt (inside the box, include points in, exclude points out);
 * when none fits, the best-scoring non-empty one (or the first), flagged `fits: false`.
 */
export function chooseCandidate(
  masks: LowResMasks,
  scores: ArrayLike<number>,
  prompt: SamPromptInput,
  width: number,
  height: number,
): CandidateChoice {
  const fits = Array.from({ length: masks.count }, (_, i) => candidateFit(masks, i, prompt, width, height));
  const byScore = fits.map((_, i) => i).sort((a, b) => (scores[b] ?? 0) - (scores[a] ?? 0));
  const best = byScore.find((i) => fits[i]!.fits) ?? byScore.find((i) => fits[i]!.area > 0) ?? 0;
  return { index: best, fits: fits[best]!.fits, fit: fits[best]! };
}
