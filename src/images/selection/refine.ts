import { GAMMA, HARD, ellipseRadius, priorCosts, type Segmentation } from "./grabcut.js";
import { logDensity } from "./gmm.js";
import { gridNeighbours, minCut, SLOT_OFFSETS, SLOTS } from "./maxflow.js";
import type { ObjectHints, PixelPoint, SelectionImage } from "./types.js";
import type { Rect, Work } from "./working-grid.js";

/**
 * Full-resolution refinement band: the working cells on the edge (±1 cell), grown by whole cells until it
 * reaches at least ±BAND_PIXELS full-resolution pixels.
 */
const BAND_PIXELS = 4;

/** Colour of image pixel `index` (RGB, grey or RGBA), written to out[0..2]. */
function readColour(image: SelectionImage, index: number, out: Float64Array): void {
  const { data, channels } = image;
  const p = index * channels;
  const r = data[p]!;
  out[0] = r;
  out[1] = channels === 1 ? r : data[p + 1]!;
  out[2] = channels === 1 ? r : data[p + 2]!;
}

/** OpenCV's β over the 8-neighbour pairs of `rect` at full resolution, every `rowStep`-th row. */
function contrastBetaFull(image: SelectionImage, rect: Rect, rowStep: number): number {
  const a = new Float64Array(3);
  const b = new Float64Array(3);
  let total = 0;
  let pairs = 0;
  for (let y = rect.y0; y < rect.y1; y += rowStep) {
    for (let x = rect.x0; x < rect.x1; x++) {
      readColour(image, y * image.width + x, a);
      for (let k = 0; k < 4; k++) {
        const nx = x + (k === 0 ? 1 : k - 2);
        const ny = y + (k === 0 ? 0 : 1);
        if (nx < rect.x0 || nx >= rect.x1 || ny >= rect.y1) continue;
        readColour(image, ny * image.width + nx, b);
        total += (a[0]! - b[0]!) ** 2 + (a[1]! - b[1]!) ** 2 + (a[2]! - b[2]!) ** 2;
        pairs++;
      }
    }
  }
  return total > 0 ? pairs / (2 * total) : 0;
}

/**
 * The full-resolution mask: the working labels upsampled (nearest cell), except in a band of ±bandRadius
 * working cells around their boundary, which gets its own graph cut at full resolution with the learnt
 * colour models (banded graph cut, Lombaert et al. 2005).
 */
export function refineAtFullResolution(
  image: SelectionImage,
  box: Rect,
  work: Work,
  seg: Segmentation,
  hints: ObjectHints,
  hintRadius: number,
): Uint8Array {
  const { region, cols, rows } = work;
  const rw = region.x1 - region.x0;
  const rh = region.y1 - region.y0;
  const gw = work.box.x1 - work.box.x0;
  const gh = work.box.y1 - work.box.y0;
  const labels = seg.labels;
  const fbw = box.x1 - box.x0;
  const fbh = box.y1 - box.y0;
  const cellX = new Int32Array(fbw);
  for (let x = 0; x < fbw; x++) {
    cellX[x] = Math.min(gw - 1, Math.max(0, Math.floor(((box.x0 + x - region.x0) * cols) / rw) - work.box.x0));
  }
  const cellY = new Int32Array(fbh);
  for (let y = 0; y < fbh; y++) {
    cellY[y] = Math.min(gh - 1, Math.max(0, Math.floor(((box.y0 + y - region.y0) * rows) / rh) - work.box.y0));
  }
  const mask = new Uint8Array(image.width * image.height);
  const fullScale = cols / rw;
  if (fullScale >= 1) {
    for (let y = 0; y < fbh; y++) {
      for (let x = 0; x < fbw; x++)
        if (labels[cellY[y]! * gw + cellX[x]!]) mask[(box.y0 + y) * image.width + box.x0 + x] = 255;
    }
    return mask;
  }
  // Cells on the boundary (a neighbour, or the outside of the box, labelled otherwise), grown by the radius.
  const edge = new Uint8Array(gw * gh);
  for (let y = 0; y < gh; y++) {
    for (let x = 0; x < gw; x++) {
      const l = labels[y * gw + x]!;
      let differs = false;
      for (let dy = -1; dy <= 1 && !differs; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          const ny = y + dy;
          const other = nx < 0 || ny < 0 || nx >= gw || ny >= gh ? 0 : labels[ny * gw + nx]!;
          if (other !== l) {
            differs = true;
            break;
          }
        }
      }
      if (differs) edge[y * gw + x] = 1;
    }
  }
  const band = new Uint8Array(gw * gh);
  const r = Math.max(0, Math.ceil(BAND_PIXELS * fullScale) - 1);
  for (let y = 0; y < gh; y++) {
    for (let x = 0; x < gw; x++) {
      if (!edge[y * gw + x]) continue;
      for (let ny = Math.max(0, y - r); ny <= Math.min(gh - 1, y + r); ny++) {
        for (let nx = Math.max(0, x - r); nx <= Math.min(gw - 1, x + r); nx++) band[ny * gw + nx] = 1;
      }
    }
  }
  const bandPixels: number[] = [];
  for (let y = 0; y < fbh; y++) {
    const rowCells = cellY[y]! * gw;
    for (let x = 0; x < fbw; x++) {
      const cell = rowCells + cellX[x]!;
      if (band[cell]) bandPixels.push(y * fbw + x);
      else if (labels[cell]) mask[(box.y0 + y) * image.width + box.x0 + x] = 255;
    }
  }
  const nodes = bandPixels.length;
  if (nodes === 0) return mask;
  const pixels = Int32Array.from(bandPixels);
  const neighbours = gridNeighbours(fbw, fbh, pixels);
  const rowStep = Math.max(1, Math.floor((fbw * fbh) / 250_000));
  const beta = contrastBetaFull(image, box, rowStep);
  const capacities = new Float64Array(nodes * SLOTS);
  const source = new Float64Array(nodes);
  const sink = new Float64Array(nodes);
  const hard = new Int8Array(nodes);
  const fullHintRadius = hintRadius / fullScale;
  const mark = (points: ReadonlyArray<PixelPoint> | undefined, value: 1 | -1) => {
    if (!points?.length) return;
    for (let node = 0; node < nodes; node++) {
      const p = pixels[node]!;
      const x = box.x0 + (p % fbw) + 0.5;
      const y = box.y0 + Math.floor(p / fbw) + 0.5;
      for (const [px, py] of points) {
        if ((x - px - 0.5) ** 2 + (y - py - 0.5) ** 2 <= fullHintRadius * fullHintRadius) hard[node] = value;
      }
    }
  };
  mark(hints.include, 1);
  mark(hints.exclude, -1);
  const a = new Float64Array(3);
  const b = new Float64Array(3);
  for (let node = 0; node < nodes; node++) {
    const p = pixels[node]!;
    const bx = p % fbw;
    const by = (p - bx) / fbw;
    const x = box.x0 + bx;
    const y = box.y0 + by;
    readColour(image, y * image.width + x, a);
    // What the colour models saw: RGB, or intensity + the cell's texture for a grey image.
    let f1 = a[1]!;
    let f2 = a[2]!;
    if (work.texture) {
      const cell = (cellY[by]! + work.box.y0) * cols + cellX[bx]! + work.box.x0;
      f1 = work.texture[cell * 2]!;
      f2 = work.texture[cell * 2 + 1]!;
    }
    let s = -logDensity(seg.bg, a[0]!, f1, f2);
    let t = -logDensity(seg.fg, a[0]!, f1, f2);
    if (seg.priorWeight > 0) {
      const [f, g] = priorCosts(ellipseRadius(box, x + 0.5, y + 0.5));
      s += seg.priorWeight * g;
      t += seg.priorWeight * f;
    }
    if (seg.hints.any) {
      const cell = cellY[by]! * gw + cellX[bx]!;
      s += seg.hints.toObject[cell]!;
      t += seg.hints.toBackground[cell]!;
    }
    for (let slot = 0; slot < SLOTS; slot++) {
      const [dx, dy] = SLOT_OFFSETS[slot]!;
      const nx = x + dx;
      const ny = y + dy;
      if (nx < 0 || ny < 0 || nx >= image.width || ny >= image.height) continue;
      readColour(image, ny * image.width + nx, b);
      const d = (a[0]! - b[0]!) ** 2 + (a[1]! - b[1]!) ** 2 + (a[2]! - b[2]!) ** 2;
      const weight = (dx !== 0 && dy !== 0 ? Math.SQRT1_2 : 1) * GAMMA * Math.exp(-beta * d);
      if (neighbours[node * SLOTS + slot]! >= 0) {
        capacities[node * SLOTS + slot] = weight;
        continue;
      }
      const inBox = nx >= box.x0 && nx < box.x1 && ny >= box.y0 && ny < box.y1;
      const fixed = inBox ? labels[cellY[ny - box.y0]! * gw + cellX[nx - box.x0]!]! : 0;
      if (fixed) s += weight;
      else t += weight;
    }
    if (hard[node] === 1) s = HARD;
    else if (hard[node] === -1) t = HARD;
    const floor = Math.min(s, t);
    source[node] = s - floor;
    sink[node] = t - floor;
  }
  const cut = minCut({ nodeCount: nodes, neighbours, capacities, source, sink });
  for (let node = 0; node < nodes; node++) {
    if (!cut.sourceSide[node]) continue;
    const p = pixels[node]!;
    const bx = p % fbw;
    mask[(box.y0 + (p - bx) / fbw) * image.width + box.x0 + bx] = 255;
  }
  return mask;
}
