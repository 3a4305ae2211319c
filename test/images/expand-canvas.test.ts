import { describe, expect, it } from "vitest";
import {
  canvasLayout,
  drawExpandCanvas,
  NEW_AREA_STRIPES,
  PHOTO_OUTLINE,
  renderExpandCanvas,
} from "../../src/images/expand-canvas.js";
import { resizeRaster } from "../../src/images/decode.js";
import type { RasterImage } from "../../src/images/raster.js";
import { decodeRaw, photoPixels, pixelAt } from "../helpers/images.js";

const NO_SIDES = { top: 0, bottom: 0, left: 0, right: 0 };

describe("canvasLayout", () => {
  it("scales the canvas to the longest side and places the photo's box by the sides", () => {
    // 640×427 + top 113, left 160, right 160 = 960×540 → ×0.4.
    expect(canvasLayout({ width: 640, height: 427 }, { top: 113, bottom: 0, left: 160, right: 160 }, 384)).toEqual({
      width: 384,
      height: 216,
      box: { x0: 64, y0: 45, x1: 320, y1: 216 },
    });
  });

  it("never enlarges a small canvas", () => {
    expect(canvasLayout({ width: 100, height: 50 }, { ...NO_SIDES, right: 20 }, 384)).toEqual({
      width: 120,
      height: 50,
      box: { x0: 0, y0: 0, x1: 100, y1: 50 },
    });
  });

  it("keeps at least one pixel of every side that has new pixels, however far it is scaled down", () => {
    // 4000×3000 + 2 px on each side at 100 px: each side would round to 0.
    const { width, height, box } = canvasLayout({ width: 4000, height: 3000 }, { top: 2, bottom: 2, left: 2, right: 2 }, 100);
    expect([width, height]).toEqual([100, 75]);
    expect(box.x0).toBe(1);
    expect(box.y0).toBe(1);
    expect(box.x1).toBe(99);
    expect(box.y1).toBe(74);
  });
});

describe("drawExpandCanvas", () => {
  const photo: RasterImage = { data: Buffer.alloc(4 * 3 * 3, 7), width: 4, height: 3, channels: 3 };

  it("stripes the new area, outlines the photo's edges that face it, and copies the rest of the photo", () => {
    // Photo at x 2..5, y 0..2 on a 10×3 canvas: new columns on both sides, none above or below.
    const canvas = drawExpandCanvas(photo, 10, 3, { x0: 2, y0: 0, x1: 6, y1: 3 });
    const stripes = NEW_AREA_STRIPES.map((c) => [...c].join());
    for (const x of [0, 1, 6, 9]) for (const y of [0, 2]) expect(stripes).toContain(pixelAt(canvas, x, y).join());
    for (const y of [0, 1, 2]) {
      expect(pixelAt(canvas, 2, y)).toEqual([...PHOTO_OUTLINE]);
      expect(pixelAt(canvas, 5, y)).toEqual([...PHOTO_OUTLINE]);
    }
    // Top and bottom rows of the photo face the canvas edge, not new pixels: photo, not outline.
    expect(pixelAt(canvas, 3, 0)).toEqual([7, 7, 7]);
    expect(pixelAt(canvas, 4, 2)).toEqual([7, 7, 7]);
  });

  it("alternates the two stripe colours diagonally", () => {
    const canvas = drawExpandCanvas(photo, 40, 3, { x0: 36, y0: 0, x1: 40, y1: 3 });
    const row = Array.from({ length: 30 }, (_, x) => pixelAt(canvas, x, 0).join());
    expect(new Set(row)).toEqual(new Set(NEW_AREA_STRIPES.map((c) => [...c].join())));
    expect(pixelAt(canvas, 5, 1)).toEqual(pixelAt(canvas, 6, 0));
  });

  it("refuses a photo that is not the box's size", () => {
    expect(() => drawExpandCanvas(photo, 10, 3, { x0: 2, y0: 0, x1: 7, y1: 3 })).toThrow(/size of its box/);
  });
});

describe("renderExpandCanvas", () => {
  it("returns a PNG of the layout's size with the photo scaled into its box", async () => {
    const rgb = photoPixels(300, 200, 3);
    const image = { width: 300, height: 200, scaled: (w: number, h: number) => resizeRaster(rgb, w, h) };
    const picture = await renderExpandCanvas(image, { ...NO_SIDES, top: 100 }, 150);
    // 300×300 → 150×150; the photo in the lower 150×100.
    expect(picture).toMatchObject({ mimeType: "image/png", width: 150, height: 150 });
    const decoded = await decodeRaw(Buffer.from(picture.base64, "base64"));
    expect([decoded.width, decoded.height]).toEqual([150, 150]);
    const small = await resizeRaster(rgb, 150, 100);
    expect(pixelAt(decoded, 75, 50 + 40).slice(0, 3)).toEqual(pixelAt(small, 75, 40));
    expect(pixelAt(decoded, 75, 50).slice(0, 3)).toEqual([...PHOTO_OUTLINE]);
    expect(NEW_AREA_STRIPES.map((c) => [...c].join())).toContain(pixelAt(decoded, 75, 20).slice(0, 3).join());
  });
});
