/**
 * Colour matching of generated pixels to the original, pure: LAB mean and deviation measured on a ring of
 * pixels both images show (just outside the mask, or the photo's own edge in an expansion), and the
 * transform that maps the generated ring onto the original's applied to the generated area. Measured on
 * the ring only, so it removes the model's cast (a VAE round trip shifts the whole image alike) and never
 * pulls a deliberately new colour towards its surroundings (Krita AI Diffusion measures the whole crop).
 */
import { srgbToLabInto } from "./selection/lab.js";

/** LAB mean and standard deviation per channel (L*, a*, b*). */
export interface LabStats {
  mean: [number, number, number];
  deviation: [number, number, number];
  count: number;
}

/** Fewer ring pixels than this and the statistics are noise: no matching. */
export const MIN_RING_PIXELS = 64;
/** The deviation ratio is clamped (a flat ring would otherwise blow contrast up). */
const MIN_GAIN = 0.8;
const MAX_GAIN = 1.25;
/** The mean shift is clamped too (ΔL*, Δa*, Δb*): a cast is a few units, never a repaint. */
const MAX_SHIFT = 25;

/** The LAB statistics of the RGB pixels at `indices` (pixel offsets into `rgb`, 3 bytes each). */
export function labStats(rgb: Uint8Array, indices: Uint32Array | number[]): LabStats {
  const sum = [0, 0, 0];
  const squares = [0, 0, 0];
  const lab = new Float64Array(3);
  for (const i of indices) {
    srgbToLabInto(rgb[i * 3]!, rgb[i * 3 + 1]!, rgb[i * 3 + 2]!, lab, 0);
    for (let c = 0; c < 3; c++) {
      sum[c]! += lab[c]!;
      squares[c]! += lab[c]! * lab[c]!;
    }
  }
  const n = Math.max(1, indices.length);
  const mean = sum.map((s) => s / n) as [number, number, number];
  const deviation = squares.map((s, c) => Math.sqrt(Math.max(0, s / n - mean[c]! ** 2))) as [number, number, number];
  return { mean, deviation, count: indices.length };
}

/** The per-channel affine LAB map taking `generated`'s ring statistics onto `original`'s, clamped. */
export interface LabTransform {
  gain: [number, number, number];
  offset: [number, number, number];
}

export function transformBetween(generated: LabStats, original: LabStats): LabTransform {
  const gain = [0, 1, 2].map((c) => {
    const g = generated.deviation[c]!;
    const o = original.deviation[c]!;
    // Only lightness contrast is matched: a chroma gain measured on the ring's few colours would push a
    // deliberately new colour (far from them) off; a near-flat ring says nothing about contrast.
    if (c > 0 || g < 0.5 || o < 0.5) return 1;
    return Math.max(MIN_GAIN, Math.min(MAX_GAIN, o / g));
  }) as [number, number, number];
  // L' = o.mean + (L − g.mean)·gain = L·gain + offset; the shift at the ring's mean is clamped.
  const offset = [0, 1, 2].map((c) => {
    const shift = Math.max(-MAX_SHIFT, Math.min(MAX_SHIFT, original.mean[c]! - generated.mean[c]!));
    return generated.mean[c]! + shift - generated.mean[c]! * gain[c]!;
  }) as [number, number, number];
  return { gain, offset };
}

const DELTA = 6 / 29;
/** sRGB's XYZ → linear RGB matrix (inverse of lab.ts's), D65. */
const INV = [3.2404542, -1.5371385, -0.4985314, -0.969266, 1.8760108, 0.041556, 0.0556434, -0.2040259, 1.0572252] as const;
const XN = 0.4124564 + 0.3575761 + 0.1804375;
const YN = 0.2126729 + 0.7151522 + 0.072175;
const ZN = 0.0193339 + 0.119192 + 0.9503041;

function finv(t: number): number {
  return t > DELTA ? t * t * t : 3 * DELTA * DELTA * (t - 4 / 29);
}

function encode(linear: number): number {
  const c = linear <= 0.0031308 ? 12.92 * linear : 1.055 * linear ** (1 / 2.4) - 0.055;
  const v = Math.round(c * 255);
  return Math.max(0, Math.min(255, v));
}

/** One LAB colour → 8-bit sRGB (clamped to the gamut), written at `offset`. */
export function labToSrgbInto(l: number, a: number, b: number, out: Uint8Array, offset: number): void {
  const fy = (l + 16) / 116;
  const x = XN * finv(fy + a / 500);
  const y = YN * finv(fy);
  const z = ZN * finv(fy - b / 200);
  out[offset] = encode(INV[0] * x + INV[1] * y + INV[2] * z);
  out[offset + 1] = encode(INV[3] * x + INV[4] * y + INV[5] * z);
  out[offset + 2] = encode(INV[6] * x + INV[7] * y + INV[8] * z);
}

/** Applies `transform` in place to the RGB pixels at `indices` (pixel offsets into `rgb`). */
export function applyLabTransform(rgb: Uint8Array, indices: Uint32Array | number[], transform: LabTransform): void {
  const lab = new Float64Array(3);
  const { gain, offset } = transform;
  // Photos repeat colours a lot: each distinct colour is converted once.
  const cache = new Map<number, number>();
  for (const i of indices) {
    const p = i * 3;
    const key = (rgb[p]! << 16) | (rgb[p + 1]! << 8) | rgb[p + 2]!;
    let mapped = cache.get(key);
    if (mapped === undefined) {
      srgbToLabInto(rgb[p]!, rgb[p + 1]!, rgb[p + 2]!, lab, 0);
      labToSrgbInto(
        lab[0]! * gain[0] + offset[0],
        lab[1]! * gain[1] + offset[1],
        lab[2]! * gain[2] + offset[2],
        rgb,
        p,
      );
      mapped = (rgb[p]! << 16) | (rgb[p + 1]! << 8) | rgb[p + 2]!;
      if (cache.size < 1 << 20) cache.set(key, mapped);
    } else {
      rgb[p] = mapped >>> 16;
      rgb[p + 1] = (mapped >>> 8) & 255;
      rgb[p + 2] = mapped & 255;
    }
  }
}

/** Mean CIE76 ΔE between two RGB rasters over the pixels at `indices` (for tests and the benchmark). */
export function meanDeltaE(a: Uint8Array, b: Uint8Array, indices: Uint32Array | number[]): number {
  const la = new Float64Array(3);
  const lb = new Float64Array(3);
  let sum = 0;
  for (const i of indices) {
    srgbToLabInto(a[i * 3]!, a[i * 3 + 1]!, a[i * 3 + 2]!, la, 0);
    srgbToLabInto(b[i * 3]!, b[i * 3 + 1]!, b[i * 3 + 2]!, lb, 0);
    sum += Math.hypot(la[0]! - lb[0]!, la[1]! - lb[1]!, la[2]! - lb[2]!);
  }
  return indices.length === 0 ? 0 : sum / indices.length;
}
