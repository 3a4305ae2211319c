import { describe, expect, it } from "vitest";
import {
  OUTLINE,
  OUTLINE_OUTSIDE,
  renderMaskPreview,
  TINT,
  TINT_STRENGTH,
  tintMask,
  tintPixel,
  wantsZoom,
  zoomBox,
} from "../../src/images/mask-preview.js";
import { maskStats } from "../../src/images/mask.js";
import { decodedImage, prepareMask } from "../../src/images/prepare.js";
import { PREVIEW_MAX_BASE64_CHARS } from "../../src/images/preview.js";
import { decodeRaw, encodeRaster, maskPixels, noisePixels, photoPixels } from "../helpers/images.js";

describe("tintMask", () => {
  it("keeps pixels away from the area, tints it lightly and outlines its edge yellow inside, black outside", () => {
    const image = photoPixels(20, 10, 3);
    const mask = maskPixels(20, 10, { kind: "rect", x: 5, y: 2, width: 6, height: 5 });
    const out = tintMask(image, mask);
    const inside = (x: number, y: number) => x >= 5 && x < 11 && y >= 2 && y < 7;
    for (let y = 0; y < 10; y++) {
      for (let x = 0; x < 20; x++) {
        const o = (y * 20 + x) * 3;
        const px = [...out.data.subarray(o, o + 3)];
        const orig = [...image.data.subarray(o, o + 3)];
        const neighbours = [inside(x - 1, y), inside(x + 1, y), inside(x, y - 1), inside(x, y + 1)];
        if (inside(x, y) && neighbours.some((n) => !n) && x > 0 && x < 19 && y > 0 && y < 9) expect(px).toEqual([...OUTLINE]);
        else if (inside(x, y)) expect(px).toEqual(orig.map((v, c) => Math.round(v * (1 - TINT_STRENGTH) + TINT[c]! * TINT_STRENGTH)));
        else if (neighbours.some(Boolean)) expect(px, `outside ${x},${y}`).toEqual([...OUTLINE_OUTSIDE]);
        else expect(px).toEqual(orig);
      }
    }
    expect(TINT_STRENGTH).toBeLessThan(0.5);
    expect(tintPixel(100, 255, 0)).toBe(100);
  });
});

describe("zoomBox", () => {
  it("adds half the box's longest side around it, within the image", () => {
    expect(zoomBox({ x: 40, y: 100, width: 60, height: 40 }, 512, 512)).toEqual({ x: 10, y: 70, width: 120, height: 100 });
    expect(zoomBox({ x: 2, y: 3, width: 4, height: 4 }, 50, 50)).toEqual({ x: 0, y: 0, width: 14, height: 15 });
  });

  it("is wanted only for a box under 1/9 of the image", () => {
    expect(wantsZoom({ x: 0, y: 0, width: 33, height: 33 }, 100, 100)).toBe(true);
    expect(wantsZoom({ x: 0, y: 0, width: 34, height: 33 }, 100, 100)).toBe(false);
    expect(wantsZoom(null, 100, 100)).toBe(false);
  });
});

describe("renderMaskPreview", () => {
  it("keeps the size of a small image in a lossless PNG, photo after the ruler bands", async () => {
    const image = photoPixels(40, 30, 2);
    const mask = maskPixels(40, 30, { kind: "rect", x: 10, y: 10, width: 20, height: 15 });
    const { main, zoom } = await renderMaskPreview(decodedImage(image), mask, 512, { bbox: maskStats(mask).bbox });
    expect(zoom).toBeUndefined();
    expect(main).toMatchObject({ mimeType: "image/png", view: { x: 0, y: 0, width: 40, height: 30 } });
    expect(main.photo).toMatchObject({ width: 40, height: 30 });
    expect(main.width).toBe(main.photo.x + 40);
    expect(main.height).toBe(main.photo.y + 30);
    const picture = await decodeRaw(Buffer.from(main.base64, "base64"));
    const expected = tintMask(image, mask);
    for (let y = 0; y < 30; y++) {
      const row = picture.data.subarray(((main.photo.y + y) * main.width + main.photo.x) * 3, ((main.photo.y + y) * main.width + main.photo.x + 40) * 3);
      expect(row.equals(expected.data.subarray(y * 120, (y + 1) * 120)), `row ${y}`).toBe(true);
    }
  });

  it("adds a zoom on a small area whose rulers give the image's coordinates", async () => {
    const image = photoPixels(400, 300, 5);
    const mask = maskPixels(400, 300, { kind: "rect", x: 200, y: 100, width: 40, height: 30 });
    const { main, zoom } = await renderMaskPreview(decodedImage(image), mask, 512, { bbox: maskStats(mask).bbox });
    expect(zoom).toBeDefined();
    expect(zoom!.view).toEqual({ x: 180, y: 80, width: 80, height: 70 });
    // Enlarged: the zoom shows the 80 px box over far more picture pixels than the main picture does.
    expect(zoom!.photo.width).toBeGreaterThan(80 * 4);
    expect(main.photo.width).toBe(400);
    // The mask's left edge (image x 200) falls 20 image px into the zoom: outlined there, yellow inside.
    const scale = zoom!.photo.width / 80;
    const picture = await decodeRaw(Buffer.from(zoom!.base64, "base64"));
    const y = zoom!.photo.y + Math.round(35 * scale);
    const edge = zoom!.photo.x + Math.round(20 * scale);
    const row = [-2, -1, 0, 1].map((dx) => [...picture.data.subarray(((y * zoom!.width) + edge + dx) * 3, ((y * zoom!.width) + edge + dx) * 3 + 3)]);
    // The enlarged photo is too large as PNG for its half of the budget: a 4:4:4 JPEG keeps the colours near.
    const near = (colour: readonly number[]) => row.some((px) => px.every((v, c) => Math.abs(v - colour[c]!) <= 24));
    expect(near(OUTLINE), JSON.stringify(row)).toBe(true);
    expect(near(OUTLINE_OUTSIDE), JSON.stringify(row)).toBe(true);
  });

  it("zooms from the file: a region of a JPEG sent as it is, decoded on its own, matches the whole decode", async () => {
    const jpeg = await encodeRaster(photoPixels(120, 80, 8), "jpeg");
    const options = { mask_regions: [{ shape: "rect" as const, x: 70, y: 10, width: 10, height: 8 }] };
    // prepareMask does not decode a JPEG it can send as it is: the region comes straight from the file.
    const lazy = await prepareMask(jpeg, undefined, { maxPixels: 1e6 }, options);
    expect(lazy.sendAsIs.image).toBe(true);
    const region = { x: 60, y: 4, width: 30, height: 20 };
    const part = await lazy.image.scaled(30, 20, region);
    const whole = await (await prepareMask(jpeg, undefined, { maxPixels: 1e6 }, options)).image.pixels();
    const expected = await decodedImage(whole).scaled(30, 20, region);
    expect([part.width, part.height]).toEqual([30, 20]);
    let diff = 0;
    for (let i = 0; i < part.data.length; i++) diff += Math.abs(part.data[i]! - expected.data[i]!);
    expect(diff / part.data.length).toBeLessThan(2);
  });

  it("keeps both pictures of a large noisy image together under the inline budget", async () => {
    const image = noisePixels(3000, 2000, 4);
    const mask = maskPixels(3000, 2000, { kind: "ellipse", cx: 1500, cy: 1000, rx: 300, ry: 200 });
    const { main, zoom } = await renderMaskPreview(decodedImage(image), mask, 512, { bbox: maskStats(mask).bbox });
    expect(zoom).toBeDefined();
    expect(main.base64.length + zoom!.base64.length).toBeLessThanOrEqual(PREVIEW_MAX_BASE64_CHARS);
    expect(Math.max(main.photo.width, main.photo.height)).toBeLessThanOrEqual(512);
  });
});
