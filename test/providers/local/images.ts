import type { RasterImage } from "../../../src/images/raster.js";

/** Small synthetic pictures and masks for the local engine's tests (pure, deterministic). */

export function rgbImage(width: number, height: number, color: (x: number, y: number) => [number, number, number]): RasterImage {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = color(x, y);
      const i = (y * width + x) * 3;
      data[i] = r;
      data[i + 1] = g;
      data[i + 2] = b;
    }
  }
  return { data, width, height, channels: 3 };
}

export function maskImage(width: number, height: number, value: (x: number, y: number) => number): RasterImage {
  const data = Buffer.alloc(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = value(x, y);
  return { data, width, height, channels: 1 };
}

export function rectMask(width: number, height: number, x0: number, y0: number, w: number, h: number, value = 255): RasterImage {
  return maskImage(width, height, (x, y) => (x >= x0 && x < x0 + w && y >= y0 && y < y0 + h ? value : 0));
}

export function emptyMask(width: number, height: number): RasterImage {
  return maskImage(width, height, () => 0);
}

/** Seeded uniform numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 4294967296;
  };
}

/** A stochastic texture: blobs of random grey levels over fine noise, tinted (like gravel or foliage). */
export function noisyTexture(width: number, height: number, seed = 1): RasterImage {
  const random = seededRandom(seed);
  const cell = 4;
  const cw = Math.ceil(width / cell) + 1;
  const cells = Array.from({ length: cw * (Math.ceil(height / cell) + 1) }, () => random());
  return rgbImage(width, height, (x, y) => {
    const v = 60 + 120 * cells[Math.floor(y / cell) * cw + Math.floor(x / cell)]! + 40 * random();
    return [Math.round(v), Math.round(v * 0.85), Math.round(v * 0.7)];
  });
}

/**
 * Thick random strokes, like a user scribbling over an object: `strokes` polylines of 5 segments each,
 * `thickness` pixels wide.
 */
export function scribbleMask(width: number, height: number, thickness: number, seed = 3, strokes = 3): RasterImage {
  const random = seededRandom(seed);
  const data = Buffer.alloc(width * height);
  const radius = thickness / 2;
  for (let s = 0; s < strokes; s++) {
    let x = random() * width;
    let y = random() * height;
    for (let k = 0; k < 5; k++) {
      const nx = Math.min(width - 1, Math.max(0, x + (random() - 0.5) * width * 0.6));
      const ny = Math.min(height - 1, Math.max(0, y + (random() - 0.5) * height * 0.6));
      const dx = nx - x;
      const dy = ny - y;
      const length2 = dx * dx + dy * dy;
      for (let py = 0; py < height; py++) {
        for (let px = 0; px < width; px++) {
          const t = length2 > 0 ? Math.max(0, Math.min(1, ((px - x) * dx + (py - y) * dy) / length2)) : 0;
          const ex = x + t * dx - px;
          const ey = y + t * dy - py;
          if (ex * ex + ey * ey <= radius * radius) data[py * width + px] = 255;
        }
      }
      x = nx;
      y = ny;
    }
  }
  return { data, width, height, channels: 1 };
}

/** Largest absolute channel difference between two images over the pixels where `where` holds. */
export function maxDifference(a: RasterImage, b: RasterImage, where: (i: number) => boolean): number {
  let max = 0;
  for (let i = 0; i < a.width * a.height; i++) {
    if (!where(i)) continue;
    for (let c = 0; c < 3; c++) max = Math.max(max, Math.abs(a.data[i * 3 + c]! - b.data[i * 3 + c]!));
  }
  return max;
}

export function countWhere(mask: RasterImage, predicate: (value: number) => boolean): number {
  let n = 0;
  for (const v of mask.data) if (predicate(v)) n++;
  return n;
}
