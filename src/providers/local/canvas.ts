import type { RasterImage } from "../../images/raster.js";

/** Pixels to add on each side (the pipeline's ExpandSides; this stage knows only plain data). */
interface Sides {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/**
 * An RGB photo placed on a larger canvas with `sides` pixels added around it, and the mask the engine
 * fills: 255 on the new border, 0 over the photo (so its pixels come back bit for bit). Pure.
 */
export function padCanvas(photo: RasterImage, sides: Sides): { image: RasterImage; mask: RasterImage } {
  if (photo.channels !== 3) throw new Error(`padCanvas: needs an RGB raster, got ${photo.channels} channels`);
  const width = photo.width + sides.left + sides.right;
  const height = photo.height + sides.top + sides.bottom;
  const data = Buffer.alloc(width * height * 3);
  const mask = Buffer.alloc(width * height, 255);
  const row = photo.width * 3;
  for (let y = 0; y < photo.height; y++) {
    const start = (y + sides.top) * width + sides.left;
    photo.data.copy(data, start * 3, y * row, (y + 1) * row);
    mask.fill(0, start, start + photo.width);
  }
  return {
    image: { data, width, height, channels: 3 },
    mask: { data: mask, width, height, channels: 1 },
  };
}
