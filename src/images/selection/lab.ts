import type { SelectionImage } from "./types.js";

/**
 * 8-bit sRGB → CIELAB (CIE 1976 L*a*b*, D65 white, 2° observer), for colour distances people agree with:
 * ΔE*ab (CIE76) is the Euclidean distance in this space; about 2.3 is a just-noticeable difference.
 */

/** sRGB's linear RGB → XYZ matrix (IEC 61966-2-1, D65), rows X, Y, Z. */
const M = [0.4124564, 0.3575761, 0.1804375, 0.2126729, 0.7151522, 0.072175, 0.0193339, 0.119192, 0.9503041] as const;
/** D65 reference white: the matrix's row sums, so rgb(255, 255, 255) lands exactly on a* = b* = 0. */
const XN = M[0] + M[1] + M[2];
const YN = M[3] + M[4] + M[5];
const ZN = M[6] + M[7] + M[8];

/** The sRGB transfer function undone for every 8-bit value: 256 entries instead of a pow() per channel. */
const SRGB_TO_LINEAR: Float64Array = (() => {
  const table = new Float64Array(256);
  for (let v = 0; v < 256; v++) {
    const c = v / 255;
    table[v] = c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }
  return table;
})();

const DELTA = 6 / 29;
const DELTA_CUBED = DELTA ** 3;
const LINEAR_SLOPE = 1 / (3 * DELTA * DELTA);

function f(t: number): number {
  return t > DELTA_CUBED ? Math.cbrt(t) : t * LINEAR_SLOPE + 4 / 29;
}

/** One 8-bit sRGB colour → [L* (0..100), a*, b*], written into `out` at `offset`. */
export function srgbToLabInto(r: number, g: number, b: number, out: Float32Array | Float64Array, offset: number): void {
  const lr = SRGB_TO_LINEAR[r]!;
  const lg = SRGB_TO_LINEAR[g]!;
  const lb = SRGB_TO_LINEAR[b]!;
  const fx = f((M[0] * lr + M[1] * lg + M[2] * lb) / XN);
  const fy = f((M[3] * lr + M[4] * lg + M[5] * lb) / YN);
  const fz = f((M[6] * lr + M[7] * lg + M[8] * lb) / ZN);
  out[offset] = 116 * fy - 16;
  out[offset + 1] = 500 * (fx - fy);
  out[offset + 2] = 200 * (fy - fz);
}

/** One 8-bit sRGB colour → [L*, a*, b*] in double precision. */
export function srgbToLab(r: number, g: number, b: number): [number, number, number] {
  const out = new Float64Array(3);
  srgbToLabInto(r, g, b, out, 0);
  return [out[0]!, out[1]!, out[2]!];
}

/**
 * A whole raster → interleaved L*, a*, b* (3 floats per pixel, row-major). One channel is grey (r = g = b);
 * a fourth channel (alpha) is ignored: the selection works on the colours as displayed.
 */
export function labRaster(image: SelectionImage): Float32Array {
  const { data, channels } = image;
  const count = image.width * image.height;
  const lab = new Float32Array(count * 3);
  for (let i = 0, p = 0; i < count; i++, p += channels) {
    const r = data[p]!;
    const g = channels === 1 ? r : data[p + 1]!;
    const b = channels === 1 ? r : data[p + 2]!;
    srgbToLabInto(r, g, b, lab, i * 3);
  }
  return lab;
}
