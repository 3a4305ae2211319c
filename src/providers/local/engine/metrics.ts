import type { RasterImage } from "../../../images/raster.js";

/**
 * Quality measures of a fill against the original picture, over the hole (mask ≥ 128). Used by the tests
 * and the benchmark; pure and independent of the engine.
 */

function luma(image: RasterImage, i: number): number {
  const d = image.data;
  if (image.channels === 1) return d[i]!;
  const j = i * image.channels;
  return 0.299 * d[j]! + 0.587 * d[j + 1]! + 0.114 * d[j + 2]!;
}

/** Standard deviation of the 4-neighbour Laplacian of luma over the hole's interior pixels (not on the image border). */
export function laplacianStd(image: RasterImage, mask: RasterImage): number {
  const { width: w, height: h } = image;
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      if (mask.data[i]! < 128) continue;
      const lap = 4 * luma(image, i) - luma(image, i - 1) - luma(image, i + 1) - luma(image, i - w) - luma(image, i + w);
      n++;
      sum += lap;
      sumSq += lap * lap;
    }
  }
  if (n === 0) return 0;
  const mean = sum / n;
  return Math.sqrt(Math.max(0, sumSq / n - mean * mean));
}

/**
 * How much of the original's fine texture the fill has inside the hole: Laplacian std of the result ÷ that
 * of the original. 1 is the original's amount; smooth fills score near 0, noisy ones above 1.
 */
export function textureRatio(original: RasterImage, result: RasterImage, mask: RasterImage): number {
  const reference = laplacianStd(original, mask);
  return reference === 0 ? Number.NaN : laplacianStd(result, mask) / reference;
}

/** Peak signal-to-noise ratio (dB) of the result against the original over the hole's pixels and channels. */
export function holePsnr(original: RasterImage, result: RasterImage, mask: RasterImage): number {
  const channels = original.channels;
  let n = 0;
  let sumSq = 0;
  for (let i = 0; i < mask.data.length; i++) {
    if (mask.data[i]! < 128) continue;
    for (let c = 0; c < channels; c++) {
      const diff = original.data[i * channels + c]! - result.data[i * channels + c]!;
      sumSq += diff * diff;
      n++;
    }
  }
  if (n === 0) return Number.NaN;
  const mse = sumSq / n;
  return mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / mse);
}
