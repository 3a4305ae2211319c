/** Real images (made with sharp) and fill requests for the bfl provider's tests. */
import sharp from "sharp";
import type { FillParams } from "../../../src/schema/upstream.js";
import type { FillRequest } from "../../../src/providers/types.js";
import type { RasterImage } from "../../../src/images/raster.js";
import { fillRequest } from "../../helpers/fill-request.js";

export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** An opaque RGB gradient, so every pixel differs from a flat fill colour. */
export function gradient(width: number, height: number): RasterImage {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = Math.round((x / Math.max(1, width - 1)) * 255);
      data[i + 1] = Math.round((y / Math.max(1, height - 1)) * 255);
      data[i + 2] = 128;
    }
  }
  return { data, width, height, channels: 3 };
}

/** One channel: 255 inside `rect`, 0 elsewhere. */
export function rectMask(width: number, height: number, rect: Rect): RasterImage {
  const data = Buffer.alloc(width * height);
  for (let y = rect.top; y < rect.top + rect.height; y++) {
    for (let x = rect.left; x < rect.left + rect.width; x++) data[y * width + x] = 255;
  }
  return { data, width, height, channels: 1 };
}

export function encodePng(image: RasterImage): Promise<Buffer> {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } })
    .png()
    .toBuffer();
}

export const DEFAULT_PARAMS: FillParams = {
  prompt: "a red brick wall",
  steps: 50,
  prompt_upsampling: false,
  guidance: 60,
  output_format: "jpeg",
  safety_tolerance: 2,
};

export async function makeRequest(
  options: { width?: number; height?: number; rect?: Rect; params?: Partial<FillParams> } = {},
): Promise<FillRequest> {
  const width = options.width ?? 64;
  const height = options.height ?? 48;
  const rect = options.rect ?? { left: 16, top: 12, width: 24, height: 16 };
  const image = gradient(width, height);
  const mask = rectMask(width, height, rect);
  return fillRequest(
    image,
    mask,
    { image: await encodePng(image), mask: await encodePng(mask) },
    { ...DEFAULT_PARAMS, ...options.params },
  );
}

/** RGB of one pixel of an encoded image. */
export async function pixelAt(bytes: Buffer, x: number, y: number): Promise<[number, number, number]> {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * info.channels;
  return [data[i]!, data[i + 1]!, data[i + 2]!];
}

export function closeTo(actual: readonly number[], expected: readonly number[], tolerance: number): boolean {
  return actual.every((v, i) => Math.abs(v - expected[i]!) <= tolerance);
}
