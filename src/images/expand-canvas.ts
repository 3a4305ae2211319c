import sharp from "sharp";
import type { ExpandSides } from "./expand.js";
import type { RasterImage } from "./raster.js";

/**
 * The picture flux_expand's dry run returns: the expanded canvas, small, with the photo in place and the
 * area the upstream would paint striped, so the agent sees where the new pixels go before paying.
 */

/** The two colours of the stripes over the new area, and the line drawn round the photo. */
export const NEW_AREA_STRIPES: readonly [readonly [number, number, number], readonly [number, number, number]] = [
  [255, 0, 255],
  [235, 235, 235],
];
export const PHOTO_OUTLINE: readonly [number, number, number] = [255, 255, 0];
/** Width of one stripe, in pixels of the picture. */
const STRIPE_PX = 6;
/** Longest side of the picture: a PNG this size stays well under the inline budget whatever the photo. */
export const EXPAND_CANVAS_MAX_SIDE = 384;

/** Where the photo lies on a canvas, in its pixels: [x0, x1) × [y0, y1). */
export interface PhotoBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** The canvas size and the photo's box on it, scaled so the longest side is at most `maxSide` (never enlarged). */
export function canvasLayout(
  photo: { width: number; height: number },
  sides: ExpandSides,
  maxSide: number,
): { width: number; height: number; box: PhotoBox } {
  const fullWidth = photo.width + sides.left + sides.right;
  const fullHeight = photo.height + sides.top + sides.bottom;
  const scale = Math.min(1, maxSide / Math.max(fullWidth, fullHeight));
  const at = (v: number) => Math.round(v * scale);
  const width = Math.max(1, at(fullWidth));
  const height = Math.max(1, at(fullHeight));
  // At least one pixel of photo, and of each new side that has pixels, however small the picture.
  const x0 = Math.min(width - 1, Math.max(sides.left > 0 ? 1 : 0, at(sides.left)));
  const y0 = Math.min(height - 1, Math.max(sides.top > 0 ? 1 : 0, at(sides.top)));
  const x1 = Math.max(x0 + 1, Math.min(sides.right > 0 ? width - 1 : width, at(sides.left + photo.width)));
  const y1 = Math.max(y0 + 1, Math.min(sides.bottom > 0 ? height - 1 : height, at(sides.top + photo.height)));
  return { width, height, box: { x0, y0, x1, y1 } };
}

/**
 * Pure: the canvas with `photo` (already scaled to the box) in its box, the rest striped, and a one-pixel
 * outline on the photo's edges that face new pixels.
 */
export function drawExpandCanvas(photo: RasterImage, width: number, height: number, box: PhotoBox): RasterImage {
  if (photo.channels !== 3 || photo.width !== box.x1 - box.x0 || photo.height !== box.y1 - box.y0) {
    throw new Error("drawExpandCanvas needs an RGB photo the size of its box");
  }
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      const inside = x >= box.x0 && x < box.x1 && y >= box.y0 && y < box.y1;
      if (inside) {
        const edge =
          (x === box.x0 && box.x0 > 0) ||
          (x === box.x1 - 1 && box.x1 < width) ||
          (y === box.y0 && box.y0 > 0) ||
          (y === box.y1 - 1 && box.y1 < height);
        if (edge) {
          data[o] = PHOTO_OUTLINE[0];
          data[o + 1] = PHOTO_OUTLINE[1];
          data[o + 2] = PHOTO_OUTLINE[2];
        } else {
          photo.data.copy(data, o, ((y - box.y0) * photo.width + (x - box.x0)) * 3, ((y - box.y0) * photo.width + (x - box.x0)) * 3 + 3);
        }
        continue;
      }
      const colour = NEW_AREA_STRIPES[Math.floor((x + y) / STRIPE_PX) % 2]!;
      data[o] = colour[0];
      data[o + 1] = colour[1];
      data[o + 2] = colour[2];
    }
  }
  return { data, width, height, channels: 3 };
}

/** The photo: its size, and a way to get it smaller (opaque RGB). */
export interface ScalablePhoto {
  width: number;
  height: number;
  scaled(width: number, height: number): Promise<RasterImage>;
}

export interface ExpandCanvasPicture {
  base64: string;
  mimeType: "image/png";
  width: number;
  height: number;
}

/** The dry run's picture of the canvas: a PNG at most `maxSide` on its longest side. */
export async function renderExpandCanvas(
  image: ScalablePhoto,
  sides: ExpandSides,
  maxSide: number = EXPAND_CANVAS_MAX_SIDE,
): Promise<ExpandCanvasPicture> {
  const { width, height, box } = canvasLayout(image, sides, Math.min(maxSide, EXPAND_CANVAS_MAX_SIDE));
  const photo = await image.scaled(box.x1 - box.x0, box.y1 - box.y0);
  const canvas = drawExpandCanvas(photo, width, height, box);
  const png = await sharp(canvas.data, { raw: { width, height, channels: 3 } }).png({ compressionLevel: 9 }).toBuffer();
  return { base64: png.toString("base64"), mimeType: "image/png", width, height };
}
