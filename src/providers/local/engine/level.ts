/**
 * One working picture of the engine: interleaved float channels (RGB 0..255 first, then any texture
 * features) plus the hole, 1 = unknown. Hole pixels hold the current estimate; known pixels are never written.
 */
export interface Level {
  width: number;
  height: number;
  channels: number;
  pixels: Float32Array;
  hole: Uint8Array;
}

/** The colour channels, always the first ones of a level. */
export const COLOR_CHANNELS = 3;

export function createLevel(width: number, height: number, channels: number): Level {
  return {
    width,
    height,
    channels,
    pixels: sharedFloat32Array(width * height * channels),
    hole: sharedUint8Array(width * height),
  };
}

/*
 * The arrays a parallel patch search reads and writes live on SharedArrayBuffers, so a helper thread sees
 * the same memory without copying (see BandRunner). Elsewhere they behave like ordinary typed arrays.
 */
export function sharedFloat32Array(length: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(4 * length));
}

export function sharedInt32Array(length: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * length));
}

export function sharedUint8Array(length: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(length));
}

/** Indices of the hole pixels, in scan order. */
export function holeIndices(hole: Uint8Array): Int32Array {
  let count = 0;
  for (let i = 0; i < hole.length; i++) count += hole[i]!;
  const list = new Int32Array(count);
  let k = 0;
  for (let i = 0; i < hole.length; i++) if (hole[i]) list[k++] = i;
  return list;
}

/**
 * Summed-area table of the hole, (width+1) × (height+1): counts hole pixels in any rectangle in O(1).
 * Used to find which patches touch the hole and which lie fully outside it.
 */
export function holeIntegral(level: Level): Int32Array {
  const { width: w, height: h, hole } = level;
  const stride = w + 1;
  const table = new Int32Array(stride * (h + 1));
  for (let y = 0; y < h; y++) {
    let rowSum = 0;
    for (let x = 0; x < w; x++) {
      rowSum += hole[y * w + x]!;
      table[(y + 1) * stride + x + 1] = table[y * stride + x + 1]! + rowSum;
    }
  }
  return table;
}
