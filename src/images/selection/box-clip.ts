import type { PixelBox } from "./types.js";

/** Pixels of slack (as a share of the box's size) around a box when a segmenter's mask is clipped to it. */
export const BOX_SLACK = 0.03;

/**
 * Keeps a learned segmenter's mask inside the prompt's box, with a little slack: with a box, the object lies
 * in it (SAM may spill onto a neighbour of the same texture). In place; a mask without a box is untouched.
 */
export function clipToBox(mask: Uint8Array, width: number, height: number, box: PixelBox | undefined): void {
  if (box === undefined) return;
  const sx = box.width * BOX_SLACK;
  const sy = box.height * BOX_SLACK;
  const x0 = Math.max(0, Math.floor(box.x - sx));
  const y0 = Math.max(0, Math.floor(box.y - sy));
  const x1 = Math.min(width, Math.ceil(box.x + box.width + sx));
  const y1 = Math.min(height, Math.ceil(box.y + box.height + sy));
  for (let y = 0; y < height; y++) {
    const row = y * width;
    if (y < y0 || y >= y1) mask.fill(0, row, row + width);
    else {
      mask.fill(0, row, row + x0);
      mask.fill(0, row + x1, row + width);
    }
  }
}
