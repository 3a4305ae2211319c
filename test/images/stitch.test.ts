import { describe, expect, it } from "vitest";
import { meanDeltaE } from "../../src/images/colour-match.js";
import { srgbToLab } from "../../src/images/selection/lab.js";
import { maskStats } from "../../src/images/mask.js";
import type { RasterImage } from "../../src/images/raster.js";
import { composeExpand, composeFill, cropForUpload, markedBox, reflectPad } from "../../src/images/stitch.js";
import { planStitch } from "../../src/images/stitch-plan.js";
import { maskPixels, photoPixels } from "../helpers/images.js";

/** The image with one cast over every pixel (gain, offset per channel), and `inside` painted in `colour`. */
function roundTrip(image: RasterImage, mask: RasterImage, colour: number[] | undefined): RasterImage {
  const data = Buffer.alloc(image.data.length);
  const gain = [0.95, 0.97, 0.93];
  const offset = [10, 4, -3];
  for (let i = 0; i < image.width * image.height; i++) {
    for (let c = 0; c < 3; c++) {
      const v = colour && mask.data[i]! > 0 ? colour[c]! : image.data[i * 3 + c]!;
      data[i * 3 + c] = Math.max(0, Math.min(255, Math.round(v * gain[c]! + offset[c]!)));
    }
  }
  return { ...image, data };
}

const distance = (a: number[], b: number[]) => Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!);

/** The mean LAB colour of the image on a ring of `band` px around the mask's pixels. */
function meanLab(image: RasterImage, mask: RasterImage, band: number): number[] {
  const box = markedBox(mask)!;
  const sum = [0, 0, 0];
  let n = 0;
  for (let y = box.y - band; y < box.y + box.height + band; y++) {
    for (let x = box.x - band; x < box.x + box.width + band; x++) {
      if (mask.data[y * mask.width + x]! > 0) continue;
      const o = (y * image.width + x) * 3;
      const lab = srgbToLab(image.data[o]!, image.data[o + 1]!, image.data[o + 2]!);
      for (let c = 0; c < 3; c++) sum[c]! += lab[c]!;
      n++;
    }
  }
  return sum.map((v) => v / n);
}

const indicesWhere = (mask: RasterImage, keep: (v: number) => boolean) => {
  const out: number[] = [];
  for (let i = 0; i < mask.data.length; i++) if (keep(mask.data[i]!)) out.push(i);
  return out;
};

describe("markedBox", () => {
  it("boxes every pixel above 0, soft edges included, where maskStats boxes only those to inpaint", () => {
    // 6×4: a hard 2×2 square at (2,1)..(3,2) with a feathered edge of 1s and 100s around parts of it.
    const data = Buffer.alloc(6 * 4);
    for (const [x, y] of [[2, 1], [3, 1], [2, 2], [3, 2]] as const) data[y * 6 + x] = 255;
    data[0 * 6 + 1] = 1;
    data[3 * 6 + 5] = 100;
    const mask: RasterImage = { data, width: 6, height: 4, channels: 1 };
    expect(markedBox(mask)).toEqual({ x: 1, y: 0, width: 5, height: 4 });
    expect(maskStats(mask).bbox).toEqual({ x: 2, y: 1, width: 2, height: 2 });
  });

  it("is null for an empty mask", () => {
    expect(markedBox({ data: Buffer.alloc(12), width: 4, height: 3, channels: 1 })).toBeNull();
  });
});

describe("cropForUpload and composeFill", () => {
  const width = 1200;
  const height = 900;
  const image = photoPixels(width, height, 4);
  const rect = { kind: "rect" as const, x: 500, y: 400, width: 120, height: 80 };
  const mask = maskPixels(width, height, rect);

  it("crops the planned area with its mask, on the 32 px grid; composes back with every pixel outside mask + band the original's", async () => {
    const plan = planStitch({ width, height }, markedBox(mask), "auto");
    expect(plan.kind).toBe("crop");
    const sent = await cropForUpload(image, mask, plan);
    expect([sent.image.width, sent.image.height]).toEqual([plan.sent.width, plan.sent.height]);
    expect(sent.mask.channels).toBe(1);
    // The whole mask is inside the crop.
    expect(indicesWhere(sent.mask, (v) => v >= 128).length).toBeGreaterThan(120 * 80 * plan.scale * plan.scale * 0.9);

    const colour = [20, 60, 230];
    const returned = roundTrip(sent.image, sent.mask, colour);
    const { image: out, report } = await composeFill(image, mask, plan, returned);
    expect(report.colourMatched).toBe(true);
    let changedOutside = 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const inBand =
          x >= rect.x - plan.band && x < rect.x + rect.width + plan.band && y >= rect.y - plan.band && y < rect.y + rect.height + plan.band;
        const o = (y * width + x) * 3;
        if (!inBand && !out.data.subarray(o, o + 3).equals(image.data.subarray(o, o + 3))) changedOutside++;
      }
    }
    expect(changedOutside).toBe(0);
    // Inside: the new colour (a saturated blue, far from the photo's), not pulled towards the photo's colours.
    const o = ((rect.y + 40) * width + rect.x + 60) * 3;
    const centre = srgbToLab(out.data[o]!, out.data[o + 1]!, out.data[o + 2]!);
    const target = srgbToLab(colour[0]!, colour[1]!, colour[2]!);
    const surroundings = meanLab(image, mask, plan.band);
    expect(distance(centre, target)).toBeLessThan(10);
    expect(distance(centre, surroundings)).toBeGreaterThan(0.9 * distance(target, surroundings));
  });

  it("colour matching removes most of a cast when the model redraws what was there", async () => {
    const plan = planStitch({ width, height }, markedBox(mask), "auto");
    const sent = await cropForUpload(image, mask, plan);
    const returned = roundTrip(sent.image, sent.mask, undefined);
    const inside = indicesWhere(mask, (v) => v >= 128);
    const withMatch = await composeFill(image, mask, plan, returned);
    const without = await composeFill(image, mask, plan, returned, { colourMatch: false });
    const before = meanDeltaE(without.image.data, image.data, inside);
    const after = meanDeltaE(withMatch.image.data, image.data, inside);
    expect(before).toBeGreaterThan(3);
    expect(after).toBeLessThan(before * 0.4);
  });
});

describe("reflectPad", () => {
  it("pads right and bottom by reflection", () => {
    const src: RasterImage = { data: Buffer.from([1, 2, 3, 4, 5, 6]), width: 3, height: 2, channels: 1 };
    const out = reflectPad(src, 5, 3);
    expect([...out.data]).toEqual([1, 2, 3, 2, 1, 4, 5, 6, 5, 4, 1, 2, 3, 2, 1]);
  });
});

describe("composeExpand", () => {
  it("keeps the photo's pixels exactly and matches the new border's colours to the photo", async () => {
    const photo = photoPixels(200, 150, 2);
    const sides = { top: 0, bottom: 0, left: 40, right: 40 };
    // The upstream's canvas: the photo (cast) with a border continuing it (cast too).
    const canvas: RasterImage = { data: Buffer.alloc(280 * 150 * 3), width: 280, height: 150, channels: 3 };
    for (let y = 0; y < 150; y++) {
      for (let x = 0; x < 280; x++) {
        const sx = Math.min(199, Math.max(0, x - 40));
        for (let c = 0; c < 3; c++) canvas.data[(y * 280 + x) * 3 + c] = Math.min(255, photo.data[(y * 200 + sx) * 3 + c]! + 12);
      }
    }
    const { image, report } = await composeExpand(photo, sides, canvas);
    expect(report.colourMatched).toBe(true);
    for (let y = 0; y < 150; y++) {
      const row = image.data.subarray((y * 280 + 40) * 3, (y * 280 + 240) * 3);
      expect(row.equals(photo.data.subarray(y * 600, (y + 1) * 600))).toBe(true);
    }
    // Border pixels lost the +12 cast: the leftmost column is close to the photo's first column.
    let diff = 0;
    for (let y = 0; y < 150; y++) diff += Math.abs(image.data[y * 280 * 3]! - photo.data[y * 600]!);
    expect(diff / 150).toBeLessThan(4);
  });
});
