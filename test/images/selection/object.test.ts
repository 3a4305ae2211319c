import { describe, expect, it } from "vitest";
import type { RasterImage } from "../../../src/images/raster.js";
import { selectObject } from "../../../src/images/selection/object.js";
import { DOUBTFUL_CONFIDENCE } from "../../../src/images/selection/segmenter.js";
import type { PixelBox } from "../../../src/images/selection/types.js";
import { createRandom } from "../../../src/random.js";

type Rgb = [number, number, number];

/**
 * A width × height RGB image: `paint(x, y)` gives each pixel's colour, plus uniform noise of ±`noise`
 * (seeded) so no region is perfectly flat.
 */
function makeImage(
  width: number,
  height: number,
  paint: (x: number, y: number) => Rgb,
  noise = 8,
  seed = 1,
): RasterImage {
  const random = createRandom(seed);
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const colour = paint(x, y);
      for (let c = 0; c < 3; c++) {
        const v = colour[c]! + Math.round((random() * 2 - 1) * noise);
        data[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, v));
      }
    }
  }
  return { data, width, height, channels: 3 };
}

/** Green and blue diagonal stripes with a brown checker: a busy background none of whose colours is red. */
function texture(x: number, y: number): Rgb {
  if ((((x >> 3) + (y >> 3)) & 1) === 0) return [120, 90, 60];
  return ((x + y) >> 2) % 2 === 0 ? [40, 160, 60] : [40, 80, 190];
}

const inDisk = (cx: number, cy: number, r: number) => (x: number, y: number) =>
  (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r;

/** IoU of a selection with the pixels where `truth` holds. */
function iou(mask: Uint8Array, width: number, height: number, truth: (x: number, y: number) => boolean): number {
  let both = 0;
  let either = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const selected = mask[y * width + x]! >= 128;
      const wanted = truth(x, y);
      if (selected && wanted) both++;
      if (selected || wanted) either++;
    }
  }
  return both / either;
}

function selectedCount(mask: Uint8Array, inside?: (x: number, y: number) => boolean, width = 0): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i]! < 128) continue;
    if (!inside || inside(i % width, Math.floor(i / width))) n++;
  }
  return n;
}

const boxAround = (cx: number, cy: number, r: number, pad: number): PixelBox => ({
  x: Math.floor(cx - r - pad),
  y: Math.floor(cy - r - pad),
  width: Math.ceil(2 * (r + pad)),
  height: Math.ceil(2 * (r + pad)),
});

describe("selectObject", () => {
  it("segments a red disk on a busy green/blue/brown background (IoU ≥ 0.95)", () => {
    const disk = inDisk(150, 110, 60);
    const image = makeImage(320, 240, (x, y) => (disk(x, y) ? [200, 40, 40] : texture(x, y)));
    const selection = selectObject(image, boxAround(150, 110, 60, 6));
    expect(selection.decided).toBe("segmented");
    expect(selection.reason).toMatch(/^object segmented: \d+ % of the box/);
    expect(selection.mask.length).toBe(320 * 240);
    expect(iou(selection.mask, 320, 240, disk)).toBeGreaterThanOrEqual(0.95);
    // A clean cut of a well separated object is not doubtful.
    expect(selection.confidence).toBeGreaterThan(0.8);
    // Only 0 and 255.
    expect(selection.mask.every((v) => v === 0 || v === 255)).toBe(true);
  });

  it("refines the edge at full resolution when it works on a reduced grid (a 1.2 MP image)", () => {
    const disk = inDisk(700, 480, 330);
    const image = makeImage(1400, 900, (x, y) => (disk(x, y) ? [200, 40, 40] : texture(x, y)));
    const selection = selectObject(image, boxAround(700, 480, 330, 25));
    expect(selection.decided).toBe("segmented");
    expect(iou(selection.mask, 1400, 900, disk)).toBeGreaterThanOrEqual(0.97);
  });

  it("gives the same mask, byte for byte, for the same inputs", () => {
    const disk = inDisk(100, 90, 45);
    const image = makeImage(220, 180, (x, y) => (disk(x, y) ? [220, 200, 40] : texture(x, y)), 30);
    const box = boxAround(100, 90, 45, 5);
    const first = selectObject(image, box, { include: [[100, 90]] });
    const second = selectObject(image, box, { include: [[100, 90]] });
    expect(Buffer.from(second.mask).equals(first.mask)).toBe(true);
    expect(second.reason).toBe(first.reason);
  });

  it("drops an excluded second object and fills an included notch of background colour", () => {
    // A red disk overlapped by a yellow one on grey; a grey notch bites into the red disk's top.
    const red = inDisk(120, 120, 45);
    const yellow = inDisk(175, 120, 25);
    const notch = (x: number, y: number) => x >= 105 && x < 135 && y >= 70 && y < 95;
    const image = makeImage(320, 240, (x, y) => {
      if (notch(x, y)) return [128, 128, 128];
      if (red(x, y)) return [200, 40, 40];
      if (yellow(x, y)) return [230, 210, 40];
      return [128, 128, 128];
    });
    const box: PixelBox = { x: 68, y: 68, width: 138, height: 104 };
    const share = (mask: Uint8Array, region: (x: number, y: number) => boolean) =>
      selectedCount(mask, region, 320) / selectedCount(Buffer.alloc(320 * 240, 255), region, 320);
    const yellowOnly = (x: number, y: number) => yellow(x, y) && !red(x, y);
    const notchInDisk = (x: number, y: number) => notch(x, y) && red(x, y);

    const plain = selectObject(image, box);
    expect(share(plain.mask, yellowOnly)).toBeGreaterThan(0.9);
    expect(share(plain.mask, notchInDisk)).toBeLessThan(0.1);

    const excluded = selectObject(image, box, { exclude: [[185, 120]] });
    expect(share(excluded.mask, yellowOnly)).toBeLessThan(0.1);
    expect(iou(excluded.mask, 320, 240, (x, y) => red(x, y) && !notch(x, y))).toBeGreaterThan(0.95);

    const included = selectObject(image, box, { include: [[120, 86]] });
    expect(share(included.mask, notchInDisk)).toBeGreaterThan(0.9);
    expect(share(included.mask, yellowOnly)).toBeGreaterThan(0.9);
    // The grey beside the box's far side stays out: the hint's pull fades with distance.
    expect(share(included.mask, (x, y) => !red(x, y) && !yellow(x, y) && !notch(x, y))).toBeLessThan(0.02);
  });

  it("falls back to a shape fitted to the box when colours cannot tell object from background, and says why", () => {
    // The same noisy colours everywhere: nothing to separate.
    const image = makeImage(240, 200, () => [120, 110, 100], 60, 4);
    const box: PixelBox = { x: 60, y: 40, width: 120, height: 110 };
    const selection = selectObject(image, box);
    expect(selection.decided).toBe("fallback");
    expect(selection.reason).toMatch(/separation 0\.\d\d/);
    // A shape fitted to the box is a guess: doubtful (≤ DOUBTFUL_CONFIDENCE).
    expect(selection.confidence).toBeLessThanOrEqual(DOUBTFUL_CONFIDENCE);
    const inBox = (x: number, y: number) => x >= 60 && x < 180 && y >= 40 && y < 150;
    const selected = selectedCount(selection.mask);
    expect(selected).toBeGreaterThan(0.3 * 120 * 110);
    expect(selected).toBeLessThan(0.95 * 120 * 110);
    // Nothing outside the box.
    expect(selectedCount(selection.mask, inBox, 240)).toBe(selected);
  });

  it("does not pass off nearly the whole box as the object: it falls back to the ellipse and says so", () => {
    // The box holds one colour edge to edge, unlike anything around it.
    const inBox = (x: number, y: number) => x >= 50 && x < 150 && y >= 40 && y < 120;
    const image = makeImage(200, 160, (x, y) => (inBox(x, y) ? [200, 40, 40] : texture(x, y)));
    const selection = selectObject(image, { x: 50, y: 40, width: 100, height: 80 });
    expect(selection.decided).toBe("fallback");
    expect(selection.reason).toMatch(/nearly the whole box .*ellipse fitted to the box/);
    expect(selection.confidence).toBeLessThanOrEqual(DOUBTFUL_CONFIDENCE);
    const selected = selectedCount(selection.mask);
    // An ellipse inscribed in the box: π/4 of it.
    expect(selected / (100 * 80)).toBeCloseTo(Math.PI / 4, 1);
    expect(selectedCount(selection.mask, inBox, 200)).toBe(selected);
  });

  it("clips a box that reaches past the image and still finds the object in the corner", () => {
    const disk = inDisk(20, 25, 40);
    const image = makeImage(200, 160, (x, y) => (disk(x, y) ? [200, 40, 40] : texture(x, y)));
    const selection = selectObject(image, { x: -30, y: -25, width: 95, height: 95 });
    expect(selection.mask.length).toBe(200 * 160);
    expect(iou(selection.mask, 200, 160, disk)).toBeGreaterThanOrEqual(0.9);
  });

  it("answers a one-pixel-wide or tiny box with a fallback, without crashing", () => {
    const image = makeImage(64, 48, texture);
    for (const box of [
      { x: 10, y: 5, width: 1, height: 30 },
      { x: 10, y: 5, width: 3, height: 2 },
      { x: 63, y: 47, width: 1, height: 1 },
      { x: 62.4, y: 10.6, width: 0.5, height: 0.5 },
    ]) {
      const selection = selectObject(image, box);
      expect(selection.decided).toBe("fallback");
      expect(selection.reason).toMatch(/too small/);
      const selected = selectedCount(selection.mask);
      expect(selected).toBeGreaterThan(0);
      // Within the pixels the box touches.
      const touched =
        (Math.ceil(box.x + box.width) - Math.floor(box.x)) * (Math.ceil(box.y + box.height) - Math.floor(box.y));
      expect(selected).toBeLessThanOrEqual(touched);
    }
  });

  it("handles a box a few pixels wide on a large image (thinner than one working cell)", () => {
    const image = makeImage(2000, 1500, texture, 8, 3);
    for (const box of [
      { x: 1995, y: 0, width: 5, height: 1500 },
      { x: 0, y: 700, width: 2000, height: 5 },
    ]) {
      const selection = selectObject(image, box);
      const inBox = (x: number, y: number) =>
        x >= box.x && x < box.x + box.width && y >= box.y && y < box.y + box.height;
      const selected = selectedCount(selection.mask);
      expect(selected).toBeGreaterThan(0);
      expect(selectedCount(selection.mask, inBox, 2000)).toBe(selected);
      expect(selection.reason.length).toBeGreaterThan(10);
    }
  });

  it("tells textures apart in a grey image (intensity alone cannot)", () => {
    // Fine stripes inside the disk, coarse checks outside, both the same two greys.
    const disk = inDisk(150, 120, 70);
    const image = makeImage(
      300,
      240,
      (x, y) => {
        const dark = disk(x, y) ? (x >> 1) % 2 === 0 : (((x >> 4) + (y >> 4)) & 1) === 0;
        return dark ? [70, 70, 70] : [170, 170, 170];
      },
      4,
    );
    const grey = Buffer.alloc(300 * 240);
    for (let i = 0; i < grey.length; i++) grey[i] = image.data[i * 3]!;
    const selection = selectObject({ data: grey, width: 300, height: 240, channels: 1 }, boxAround(150, 120, 70, 6));
    expect(selection.decided).toBe("segmented");
    expect(iou(selection.mask, 300, 240, disk)).toBeGreaterThanOrEqual(0.9);
  });

  it("keeps the hints in a fallback: an included corner is in, an excluded centre is out", () => {
    const image = makeImage(240, 200, () => [120, 110, 100], 60, 4);
    const box: PixelBox = { x: 60, y: 40, width: 120, height: 110 };
    const selection = selectObject(image, box, { include: [[62, 42]], exclude: [[120, 95]] });
    expect(selection.decided).toBe("fallback");
    expect(selection.mask[42 * 240 + 62]).toBe(255);
    expect(selection.mask[95 * 240 + 120]).toBe(0);
    const tiny = selectObject(
      image,
      { x: 10, y: 10, width: 3, height: 3 },
      { include: [[10, 10]], exclude: [[11, 11]] },
    );
    expect(tiny.mask[10 * 240 + 10]).toBe(255);
    expect(tiny.mask[11 * 240 + 11]).toBe(0);
  });

  it("takes grey and RGBA images", () => {
    const disk = inDisk(80, 70, 35);
    const rgb = makeImage(
      160,
      140,
      (x, y) => (disk(x, y) ? [230, 230, 230] : (x >> 2) % 2 ? [30, 30, 30] : [90, 90, 90]),
      6,
    );
    const grey = Buffer.alloc(160 * 140);
    const rgba = Buffer.alloc(160 * 140 * 4);
    for (let i = 0; i < 160 * 140; i++) {
      grey[i] = rgb.data[i * 3]!;
      for (let c = 0; c < 3; c++) rgba[i * 4 + c] = rgb.data[i * 3]!;
      rgba[i * 4 + 3] = 255;
    }
    const box = boxAround(80, 70, 35, 4);
    const fromGrey = selectObject({ data: grey, width: 160, height: 140, channels: 1 }, box);
    const fromRgba = selectObject({ data: rgba, width: 160, height: 140, channels: 4 }, box);
    expect(iou(fromGrey.mask, 160, 140, disk)).toBeGreaterThanOrEqual(0.95);
    expect(Buffer.from(fromRgba.mask).equals(fromGrey.mask)).toBe(true);
  });

  it("selects the object when the box covers the whole image (no ring of background to learn from)", () => {
    const disk = inDisk(80, 60, 40);
    const image = makeImage(160, 120, (x, y) => (disk(x, y) ? [200, 40, 40] : texture(x, y)));
    const selection = selectObject(image, { x: 0, y: 0, width: 160, height: 120 });
    expect(iou(selection.mask, 160, 120, disk)).toBeGreaterThanOrEqual(0.9);
  });
  it("is doubtful when the cut stays far from a side of the box (part of the object lost, or a wrong box)", () => {
    // The box reaches far below the disk: nothing of the object comes near its bottom side.
    const disk = inDisk(150, 90, 50);
    const image = makeImage(300, 300, (x, y) => (disk(x, y) ? [200, 40, 40] : texture(x, y)));
    const tight = selectObject(image, boxAround(150, 90, 50, 5));
    const loose = selectObject(image, { x: 95, y: 35, width: 110, height: 165 });
    expect(tight.confidence).toBeGreaterThan(0.8);
    expect(loose.decided).toBe("segmented");
    expect(loose.confidence).toBeLessThanOrEqual(DOUBTFUL_CONFIDENCE);
  });

  it("an exclude point removes the connected region of its colour, not only the dot under it", () => {
    // A box over a red disk with a band of yellow wall across its top: nothing around the box is yellow, so
    // the plain cut takes the wall as part of the object.
    const disk = inDisk(160, 150, 55);
    const box: PixelBox = { x: 90, y: 20, width: 140, height: 195 };
    const wall = (x: number, y: number) => y >= 20 && y < 80 && x >= 90 && x < 230;
    const image = makeImage(320, 240, (x, y) =>
      disk(x, y) ? [200, 40, 40] : wall(x, y) ? [230, 210, 40] : texture(x, y),
    );
    const share = (mask: Uint8Array) => selectedCount(mask, wall, 320) / (140 * 60);
    const plain = selectObject(image, box);
    expect(share(plain.mask)).toBeGreaterThan(0.5);
    const excluded = selectObject(image, box, { exclude: [[100, 30]] });
    // The whole band goes, far beyond the hint's own disk of a few pixels, and the disk stays.
    expect(share(excluded.mask)).toBeLessThan(0.05);
    expect(iou(excluded.mask, 320, 240, disk)).toBeGreaterThan(0.9);
  });
});
