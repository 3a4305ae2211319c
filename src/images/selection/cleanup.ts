/**
 * Tidying a binary segmentation: drop specks, fill holes. Linear-time labelling with an explicit stack
 * (no recursion), on masks of 0/1 bytes.
 */

/**
 * Labels the 8-connected components of pixels equal to `value` (4-connected when `eight` is false); returns
 * the label per pixel (−1 for other pixels) and each component's size.
 */
export function labelComponents(
  mask: Uint8Array,
  width: number,
  height: number,
  value: number,
  eight: boolean,
): { labels: Int32Array; sizes: number[] } {
  const labels = new Int32Array(width * height).fill(-1);
  const sizes: number[] = [];
  const stack = new Int32Array(width * height);
  for (let start = 0; start < mask.length; start++) {
    if (mask[start] !== value || labels[start] !== -1) continue;
    const label = sizes.length;
    let size = 0;
    let top = 0;
    stack[top++] = start;
    labels[start] = label;
    while (top > 0) {
      const p = stack[--top]!;
      size++;
      const x = p % width;
      const y = (p - x) / width;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          if ((dx === 0 && dy === 0) || (!eight && dx !== 0 && dy !== 0)) continue;
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (mask[q] !== value || labels[q] !== -1) continue;
          labels[q] = label;
          stack[top++] = q;
        }
      }
    }
    sizes.push(size);
  }
  return { labels, sizes };
}

export interface TidyOptions {
  /** Other components are kept when at least this fraction of the largest one's size. */
  keepFraction: number;
  /** Holes (background not connected to the mask's border) are filled when at most this many pixels. */
  maxHole: number;
}

/**
 * Keeps the largest 8-connected component of 1s and any other at least `keepFraction` of its size, then fills
 * the 4-connected holes of 0s up to `maxHole` pixels that do not touch the border. In place; returns how
 * many components were kept and the largest one's share of the 1s before tidying (0 for an empty mask).
 */
export function tidyMask(
  mask: Uint8Array,
  width: number,
  height: number,
  options: TidyOptions,
): { kept: number; largestShare: number } {
  const { labels, sizes } = labelComponents(mask, width, height, 1, true);
  if (sizes.length === 0) return { kept: 0, largestShare: 0 };
  const largest = Math.max(...sizes);
  const keep = sizes.map((size) => size >= largest * options.keepFraction);
  for (let i = 0; i < mask.length; i++) if (mask[i] === 1 && !keep[labels[i]!]) mask[i] = 0;
  const holes = labelComponents(mask, width, height, 0, false);
  const touchesBorder = new Uint8Array(holes.sizes.length);
  for (let x = 0; x < width; x++) {
    const top = holes.labels[x]!;
    const bottom = holes.labels[(height - 1) * width + x]!;
    if (top >= 0) touchesBorder[top] = 1;
    if (bottom >= 0) touchesBorder[bottom] = 1;
  }
  for (let y = 0; y < height; y++) {
    const left = holes.labels[y * width]!;
    const right = holes.labels[y * width + width - 1]!;
    if (left >= 0) touchesBorder[left] = 1;
    if (right >= 0) touchesBorder[right] = 1;
  }
  for (let i = 0; i < mask.length; i++) {
    const hole = holes.labels[i]!;
    if (hole >= 0 && !touchesBorder[hole] && holes.sizes[hole]! <= options.maxHole) mask[i] = 1;
  }
  return { kept: keep.filter(Boolean).length, largestShare: largest / sizes.reduce((sum, size) => sum + size, 0) };
}
