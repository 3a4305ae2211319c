/**
 * Sizes FLUX.1 Fill handles badly. The upstream API takes any size and answers with the input's size (its
 * definition; the emulator does the same). With crop "auto" (the default) the stitch plan pads and sizes what
 * is sent, so these notes are dropped; with crop "off" the image is sent unchanged and the result text
 * carries them instead. Pure.
 *
 * - The model works on a 32 px grid: the open-weight Fill [dev] requires multiples of 32 and other hosts
 *   rescale to them, so other sizes may come back with slightly soft or shifted edges.
 * - FLUX generates around 1 MP: below SMALL_SIDE px the model has little to work with; above LARGE_PIXELS
 *   the upload is slow and detail is not higher than at ~2 MP (unconfirmed for Fill [pro]).
 */

export const GRID = 32;
export const SMALL_SIDE = 256;
export const LARGE_PIXELS = 4_194_304; // 2048 × 2048

/** The nearest size with both sides multiples of GRID (at least GRID). */
export function nearestGridSize(width: number, height: number): { width: number; height: number } {
  const snap = (n: number) => Math.max(GRID, Math.round(n / GRID) * GRID);
  return { width: snap(width), height: snap(height) };
}

/** The note for a size off the 32 px grid; undefined when on it. */
export function gridNote(width: number, height: number): string | undefined {
  if (width % GRID === 0 && height % GRID === 0) return undefined;
  const grid = nearestGridSize(width, height);
  return `Note: ${width}×${height} is not a multiple of ${GRID} px on both sides; the model works on a ${GRID} px grid, so edges of the fill may be slightly soft. It was sent unchanged (the result keeps the input's size). For the cleanest result crop or pad to e.g. ${grid.width}×${grid.height}.`;
}

/** The note for a photo over LARGE_PIXELS; undefined when smaller. */
export function largeNote(width: number, height: number): string | undefined {
  if (width * height <= LARGE_PIXELS) return undefined;
  return `Note: ${width}×${height} (${((width * height) / 1_000_000).toFixed(1)} MP) is large; the upload is slow and the fill is unlikely to have more detail than at about 2 MP. Crop to the area around the mask for faster, sharper edits.`;
}

/**
 * `notes` without the ones about the photo's own size that do not hold when crop and stitch sends it on the
 * 32 px grid and at most 4 MP (flux_fill's default): the grid and large-photo notes.
 */
export function withoutCroppedSizeNotes(notes: readonly string[], width: number, height: number): string[] {
  const dropped = [gridNote(width, height), largeNote(width, height)];
  return notes.filter((note) => !dropped.includes(note));
}

/** Notes for the result text about an image size the model handles badly; empty when the size is fine. */
export function sizeNotes(width: number, height: number): string[] {
  const notes: string[] = [];
  const grid = gridNote(width, height);
  if (grid !== undefined) notes.push(grid);
  if (Math.min(width, height) < SMALL_SIDE) {
    notes.push(
      `Note: ${width}×${height} is very small (under ${SMALL_SIDE} px on a side); the model generates around 1 megapixel, so the fill will have little detail. Upscale the image first for a better result.`,
    );
  }
  const large = largeNote(width, height);
  if (large !== undefined) notes.push(large);
  return notes;
}
