import { describe, expect, it } from "vitest";
import { srgbToLab } from "../../../src/images/selection/lab.js";
import { selectWand, WAND_DELTA_E_PER_TOLERANCE } from "../../../src/images/selection/wand.js";
import type { RasterImage } from "../../../src/images/raster.js";
import { prng } from "../../helpers/images.js";

const rgb = (width: number, height: number, data: Buffer): RasterImage => ({ data, width, height, channels: 3 });

/** A random image of a few colours, some close to each other, in blobs so regions are non-trivial. */
function fewColourImage(width: number, height: number, seed: number): RasterImage {
  const rand = prng(seed);
  const palette = [
    [200, 40, 40],
    [205, 45, 38],
    [40, 40, 200],
    [230, 230, 230],
    [120, 120, 120],
  ];
  const data = Buffer.alloc(width * height * 3);
  let colour = 0;
  for (let i = 0; i < width * height; i++) {
    // Mostly copy the pixel above (or to the left), sometimes start a new colour: streaky, connected patches.
    const r = rand() / 2 ** 32;
    if (r < 0.25) colour = rand() % palette.length;
    else if (i >= width && r < 0.6) colour = palette.findIndex((c) => c[0] === data[(i - width) * 3]);
    data.set(palette[colour]!, i * 3);
  }
  return rgb(width, height, data);
}

/** Straightforward reference: breadth-first search over 4-neighbours with an array queue, ΔE from srgbToLab. */
function referenceWand(image: RasterImage, x: number, y: number, tolerance: number, contiguous: boolean): number[] {
  const { width, height, data } = image;
  const lab = (i: number) => srgbToLab(data[i * 3]!, data[i * 3 + 1]!, data[i * 3 + 2]!);
  const seed = lab(y * width + x);
  const inside = (i: number) => {
    const c = lab(i);
    const deltaE = Math.hypot(c[0] - seed[0], c[1] - seed[1], c[2] - seed[2]);
    return deltaE * (255 / 100) <= tolerance + 1e-9;
  };
  const out = new Array<number>(width * height).fill(0);
  if (!contiguous) {
    for (let i = 0; i < out.length; i++) out[i] = inside(i) ? 255 : 0;
    return out;
  }
  const queue = [[x, y]];
  out[y * width + x] = 255;
  while (queue.length > 0) {
    const [px, py] = queue.shift()!;
    for (const [nx, ny] of [
      [px! - 1, py!],
      [px! + 1, py!],
      [px!, py! - 1],
      [px!, py! + 1],
    ]) {
      if (nx! < 0 || ny! < 0 || nx! >= width || ny! >= height) continue;
      const i = ny! * width + nx!;
      if (out[i] === 0 && inside(i)) {
        out[i] = 255;
        queue.push([nx!, ny!]);
      }
    }
  }
  return out;
}

describe("selectWand", () => {
  it("the contiguous fill equals a breadth-first reference on many random few-colour images", () => {
    const rand = prng(99);
    for (let k = 0; k < 60; k++) {
      const width = 3 + (rand() % 30);
      const height = 3 + (rand() % 30);
      const image = fewColourImage(width, height, 1000 + k);
      const x = rand() % width;
      const y = rand() % height;
      const tolerance = [0, 5, 32, 80][k % 4]!;
      const { mask, decided } = selectWand(image, [x, y], tolerance, true);
      expect(decided).toBe("segmented");
      expect([...mask], `case ${k}: ${width}×${height} seed (${x}, ${y}) tolerance ${tolerance}`).toEqual(
        referenceWand(image, x, y, tolerance, true),
      );
    }
  });

  it("global mode selects every pixel within the tolerance, joined to the seed or not", () => {
    const rand = prng(7);
    for (let k = 0; k < 20; k++) {
      const image = fewColourImage(25, 17, 2000 + k);
      const x = rand() % 25;
      const y = rand() % 17;
      const { mask } = selectWand(image, [x, y], 32, false);
      expect([...mask]).toEqual(referenceWand(image, x, y, 32, false));
    }
    // Two patches of the seed's colour apart from each other: both selected globally, one contiguously.
    const split = rgb(5, 1, Buffer.from([9, 9, 9, 250, 250, 250, 250, 250, 250, 250, 250, 250, 9, 9, 9]));
    expect([...selectWand(split, [0, 0], 10, false).mask]).toEqual([255, 0, 0, 0, 255]);
    expect([...selectWand(split, [0, 0], 10, true).mask]).toEqual([255, 0, 0, 0, 0]);
  });

  it("tolerance 0 selects exactly the seed's colour, not a colour one level away", () => {
    const image = rgb(4, 1, Buffer.from([100, 50, 20, 100, 50, 20, 100, 50, 21, 100, 50, 20]));
    expect([...selectWand(image, [0, 0], 0, true).mask]).toEqual([255, 255, 0, 0]);
    expect([...selectWand(image, [0, 0], 0, false).mask]).toEqual([255, 255, 0, 255]);
  });

  it("tolerance is ΔE × 2.55: a grey step just inside selects, just outside does not", () => {
    const [l0] = srgbToLab(100, 100, 100);
    const [l1] = srgbToLab(130, 130, 130);
    const deltaE = l1 - l0;
    const image = rgb(2, 1, Buffer.from([100, 100, 100, 130, 130, 130]));
    const tolerance = deltaE / WAND_DELTA_E_PER_TOLERANCE;
    expect([...selectWand(image, [0, 0], Math.ceil(tolerance), true).mask]).toEqual([255, 255]);
    expect([...selectWand(image, [0, 0], Math.floor(tolerance), true).mask]).toEqual([255, 0]);
    expect(WAND_DELTA_E_PER_TOLERANCE * 32).toBeCloseTo(12.5, 1);
  });

  it("compares with the seed's colour, so a gradient stops where it drifts past the tolerance", () => {
    // Each step is 10 levels: neighbours are always close, but only the first few are close to the seed.
    const data = Buffer.alloc(20 * 3);
    for (let x = 0; x < 20; x++) data.fill(50 + 10 * x, x * 3, x * 3 + 3);
    const { mask } = selectWand(rgb(20, 1, data), [0, 0], 32, true);
    const reach = [...mask].lastIndexOf(255);
    expect(reach).toBeGreaterThan(0);
    expect(reach).toBeLessThan(19);
    expect([...mask]).toEqual(referenceWand(rgb(20, 1, data), 0, 0, 32, true));
  });

  it("does not leak through a diagonal one-pixel gap (4-connected)", () => {
    // 3×3: seed colour on the diagonal only; the corners touch by a vertex.
    const w = [255, 255, 255];
    const b = [0, 0, 0];
    const image = rgb(3, 3, Buffer.from([w, b, b, b, w, b, b, b, w].flat()));
    expect([...selectWand(image, [0, 0], 32, true).mask]).toEqual([255, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it("works from seeds on every edge and corner", () => {
    const image = fewColourImage(13, 9, 5);
    for (const [x, y] of [
      [0, 0],
      [12, 0],
      [0, 8],
      [12, 8],
      [6, 0],
      [0, 4],
      [12, 4],
      [6, 8],
    ] as const) {
      expect([...selectWand(image, [x, y], 32, true).mask]).toEqual(referenceWand(image, x, y, 32, true));
    }
  });

  it("fills a 4000×3000 image of one colour without overflowing any stack", () => {
    const width = 4000;
    const height = 3000;
    const { mask, reason } = selectWand(
      rgb(width, height, Buffer.alloc(width * height * 3, 90)),
      [1234, 2345],
      0,
      true,
    );
    expect(mask.length).toBe(width * height);
    expect(mask.every((v) => v === 255)).toBe(true);
    expect(reason).toContain("100.0 % of the image");
  });

  it("walks a 4000×3000 serpentine path (one gap per wall, alternating ends) to its end", () => {
    // Rows alternate open/closed with one opening at alternating ends: the fill must walk the whole snake.
    const width = 4000;
    const height = 3000;
    const data = Buffer.alloc(width * height * 3, 255);
    for (let y = 1; y < height; y += 2) {
      const gap = (y >> 1) % 2 === 0 ? width - 1 : 0;
      for (let x = 0; x < width; x++) if (x !== gap) data.fill(0, (y * width + x) * 3, (y * width + x) * 3 + 3);
    }
    const { mask } = selectWand(rgb(width, height, data), [0, 0], 10, true);
    let selected = 0;
    for (let i = 0; i < mask.length; i++) if (mask[i] === 255) selected++;
    // Every open row, plus the one gap in each of the 1500 walls.
    expect(selected).toBe((height / 2) * width + height / 2);
    expect(mask[(height - 1) * width + width - 1]).toBe(0);
  });

  it("reads grey and RGBA images by their colour", () => {
    const grey: RasterImage = { data: Buffer.from([10, 10, 200, 10]), width: 4, height: 1, channels: 1 };
    expect([...selectWand(grey, [0, 0], 5, true).mask]).toEqual([255, 255, 0, 0]);
    const rgba: RasterImage = {
      data: Buffer.from([10, 20, 30, 255, 10, 20, 30, 0, 200, 20, 30, 255]),
      width: 3,
      height: 1,
      channels: 4,
    };
    expect([...selectWand(rgba, [0, 0], 5, false).mask]).toEqual([255, 255, 0]);
  });

  it("says where, which colour, the tolerance in ΔE and how much was selected", () => {
    const image = rgb(4, 1, Buffer.from([120, 30, 60, 120, 30, 60, 0, 0, 0, 0, 0, 0]));
    const { reason } = selectWand(image, [1, 0], 32, true);
    expect(reason).toBe(
      "magic wand at (1, 0): colours within ΔE 12.5 of rgb(120, 30, 60) (tolerance 32), contiguous: 50.0 % of the image",
    );
    expect(selectWand(image, [1, 0], 32, false).reason).toContain("anywhere in the image: 50.0 %");
  });

  it("rejects a seed outside the image and a tolerance outside 0..255", () => {
    const image = rgb(4, 3, Buffer.alloc(36));
    expect(() => selectWand(image, [4, 0], 32, true)).toThrow(/outside the 4×3 image/);
    expect(() => selectWand(image, [0, -1], 32, true)).toThrow(RangeError);
    expect(() => selectWand(image, [Number.NaN, 0], 32, true)).toThrow(RangeError);
    expect(() => selectWand(image, [0, 0], 256, true)).toThrow(/tolerance must be in 0..255/);
    expect(() => selectWand(image, [0, 0], -1, true)).toThrow(RangeError);
  });
});
