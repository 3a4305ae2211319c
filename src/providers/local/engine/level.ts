import { sharedFloat32Array, sharedInt32Array, sharedUint8Array } from "./arena.js";

export { sharedFloat32Array, sharedInt32Array, sharedUint8Array } from "./arena.js";

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

/** Indices of the hole pixels, in scan order (shared memory, so helper threads can vote over it). */
export function holeIndices(hole: Uint8Array): Int32Array {
  let count = 0;
  for (let i = 0; i < hole.length; i++) count += hole[i]!;
  const list = sharedInt32Array(count);
  let k = 0;
  for (let i = 0; i < hole.length; i++) if (hole[i]) list[k++] = i;
  return list;
}
