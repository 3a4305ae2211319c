import { describe, expect, it } from "vitest";
import { FluxFillError } from "../../src/errors.js";
import { drawRegions, MAX_POLYGON_POINTS, type MaskRegion, type RegionUnits } from "../../src/images/regions.js";
import { drawRegionsWithSegmenter } from "../../src/images/region-selections.js";
import { createClassicSegmenter } from "../../src/segmentation/classic.js";
import { maskPixels } from "../helpers/images.js";

/** Naive reference: even-odd point-in-polygon at every pixel centre (equal to non-zero for simple polygons). */
function naivePolygon(width: number, height: number, points: number[][]): Buffer {
  const data = Buffer.alloc(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const px = x + 0.5;
      const py = y + 0.5;
      let inside = false;
      for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
        const [xi, yi] = points[i] as [number, number];
        const [xj, yj] = points[j] as [number, number];
        if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
      }
      if (inside) data[y * width + x] = 255;
    }
  }
  return data;
}

/** The mask of shape-only regions (no photo needed). */
function rasteriseRegions(regions: MaskRegion[], units: RegionUnits, width: number, height: number) {
  return drawRegions(regions, units, width, height).mask;
}

function badInput(fn: () => unknown): FluxFillError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FluxFillError);
    expect((error as FluxFillError).kind).toBe("bad_input");
    return error as FluxFillError;
  }
  throw new Error("expected an error");
}

describe("rasteriseRegions", () => {
  it("fills a pixel rect exactly over x..x+width-1, y..y+height-1", () => {
    const mask = rasteriseRegions([{ shape: "rect", x: 10, y: 5, width: 7, height: 3 }], "px", 40, 20);
    expect(mask.data.equals(maskPixels(40, 20, { kind: "rect", x: 10, y: 5, width: 7, height: 3 }).data)).toBe(true);
  });

  it("scales fractions by width (x) and height (y)", () => {
    const mask = rasteriseRegions([{ shape: "rect", x: 0.25, y: 0.5, width: 0.5, height: 0.25 }], "fraction", 96, 64);
    expect(mask.data.equals(maskPixels(96, 64, { kind: "rect", x: 24, y: 32, width: 48, height: 16 }).data)).toBe(true);
  });

  it("fills an ellipse at pixel centres, in px and in fractions", () => {
    const expected = maskPixels(96, 64, { kind: "ellipse", cx: 40.3, cy: 30.2, rx: 20.7, ry: 11.4 }).data;
    expect(
      rasteriseRegions([{ shape: "ellipse", cx: 40.3, cy: 30.2, rx: 20.7, ry: 11.4 }], "px", 96, 64).data.equals(
        expected,
      ),
    ).toBe(true);
    const frac = rasteriseRegions([{ shape: "ellipse", cx: 0.5, cy: 0.5, rx: 0.25, ry: 0.25 }], "fraction", 96, 64);
    expect(frac.data.equals(maskPixels(96, 64, { kind: "ellipse", cx: 48, cy: 32, rx: 24, ry: 16 }).data)).toBe(true);
  });

  it("fills polygons like a point-in-polygon test at every pixel centre (convex, concave, clipped)", () => {
    const shapes = [
      [
        [5, 5],
        [50, 8],
        [30, 40],
      ],
      [
        [2.5, 2.5],
        [60, 3],
        [60, 45],
        [30, 20],
        [4, 44],
      ],
      [
        [-10, -10],
        [80, 10],
        [20, 90],
      ],
    ];
    for (const points of shapes) {
      const mask = rasteriseRegions([{ shape: "polygon", points }], "px", 64, 48);
      expect(mask.data.equals(naivePolygon(64, 48, points)), JSON.stringify(points)).toBe(true);
    }
  });

  it("unions overlapping shapes", () => {
    const regions: MaskRegion[] = [
      { shape: "rect", x: 0, y: 0, width: 10, height: 10 },
      { shape: "rect", x: 5, y: 5, width: 10, height: 10 },
    ];
    const mask = rasteriseRegions(regions, "px", 20, 20);
    const expected = maskPixels(20, 20, [
      { kind: "rect", x: 0, y: 0, width: 10, height: 10 },
      { kind: "rect", x: 5, y: 5, width: 10, height: 10 },
    ]);
    expect(mask.data.equals(expected.data)).toBe(true);
  });

  it("fills a self-overlapping polygon by the non-zero rule (a doubly wound square stays filled)", () => {
    const square = [
      [2, 2],
      [12, 2],
      [12, 12],
      [2, 12],
    ];
    const mask = rasteriseRegions([{ shape: "polygon", points: [...square, ...square] }], "px", 16, 16);
    expect(mask.data.equals(maskPixels(16, 16, { kind: "rect", x: 2, y: 2, width: 10, height: 10 }).data)).toBe(true);
  });

  it("refuses bad shapes with a message naming the field and value", () => {
    expect(
      badInput(() => rasteriseRegions([{ shape: "rect", x: 0, y: 0, width: -5, height: 3 }], "px", 10, 10)).message,
    ).toBe("mask_regions[0].width is -5; sizes must be positive.");
    expect(
      badInput(() => rasteriseRegions([{ shape: "ellipse", cx: 1, cy: 1, rx: 0, ry: 3 }], "px", 10, 10)).message,
    ).toMatch(/^mask_regions\[0\]\.rx is 0, so the shape is empty/);
    expect(
      badInput(() => rasteriseRegions([{ shape: "rect", x: 0.1, y: 1.5, width: 0.2, height: 0.2 }], "fraction", 10, 10))
        .message,
    ).toBe('mask_regions[0].y is 1.5, but with units "fraction" it must be between 0 and 1.');
    expect(
      badInput(() =>
        rasteriseRegions(
          [
            {
              shape: "polygon",
              points: [
                [0, 0],
                [1, 1],
              ],
            },
          ],
          "px",
          10,
          10,
        ),
      ).message,
    ).toMatch(/needs at least 3/);
    expect(badInput(() => rasteriseRegions([], "px", 10, 10)).message).toMatch(/mask_regions is empty/);
    expect(
      badInput(() => rasteriseRegions([{ shape: "rect", x: 20, y: 0, width: 5, height: 5 }], "px", 10, 10)).message,
    ).toBe("mask_regions[0] lies entirely outside the 10×10 image.");
    expect(
      badInput(() => rasteriseRegions([{ shape: "rect", x: Number.NaN, y: 0, width: 5, height: 5 }], "px", 10, 10))
        .message,
    ).toMatch(/x must be a finite number/);
  });

  // The zigzag's speed is a goal of `npm run bench:kernels`.
  it("refuses a 100k-point polygon, and fills a 10k-point zigzag", () => {
    const huge = Array.from({ length: 100_000 }, (_, i) => [i % 2 ? 0 : 100, i / 1000]);
    const error = badInput(() => rasteriseRegions([{ shape: "polygon", points: huge }], "px", 100, 100));
    expect(error.message).toBe(
      `mask_regions has 100000 polygon points in all; at most ${MAX_POLYGON_POINTS} are accepted.`,
    );

    // Worst case at the limit: every edge crosses every row of a 1024×1024 image.
    const zigzag = Array.from({ length: MAX_POLYGON_POINTS }, (_, i) => [
      (i * 1024) / MAX_POLYGON_POINTS,
      i % 2 ? 0 : 1024,
    ]);
    const mask = rasteriseRegions([{ shape: "polygon", points: zigzag }], "px", 1024, 1024);
    expect(mask.data.some((v) => v === 255)).toBe(true);
  });
});

describe("drawRegions: op and selections", () => {
  it("applies entries in order: subtract clears what came before, a later add restores it", () => {
    const big = { shape: "rect", x: 2, y: 2, width: 12, height: 8 } as const;
    const hole = { shape: "ellipse", cx: 8, cy: 6, rx: 3, ry: 2, op: "subtract" } as const;
    const minus = drawRegions([big, hole], "px", 20, 12);
    const expected = maskPixels(20, 12, { kind: "rect", x: 2, y: 2, width: 12, height: 8 }).data;
    const cut = maskPixels(20, 12, { kind: "ellipse", cx: 8, cy: 6, rx: 3, ry: 2 }).data;
    for (let i = 0; i < expected.length; i++) if (cut[i]) expected[i] = 0;
    expect(minus.mask.data.equals(expected)).toBe(true);
    expect(minus.reports.map((r) => [r.shape, r.op, r.decided])).toEqual([
      ["rect", "add", "shape"],
      ["ellipse", "subtract", "shape"],
    ]);
    const restored = drawRegions([big, hole, { ...big, op: "add" }], "px", 20, 12);
    expect(restored.mask.data.equals(maskPixels(20, 12, { kind: "rect", x: 2, y: 2, width: 12, height: 8 }).data)).toBe(true);
  });

  it("refuses an unknown op, a wand seed outside the image and a tolerance out of range, naming the entry", () => {
    const rgb = { data: Buffer.alloc(10 * 10 * 3), width: 10, height: 10, channels: 3 as const };
    expect(
      badInput(() => drawRegions([{ shape: "rect", x: 0, y: 0, width: 2, height: 2, op: "xor" as "add" }], "px", 10, 10)).message,
    ).toMatch(/mask_regions\[0\]\.op is "xor"; accepted: "add" \(the default\) or "subtract"/);
    expect(badInput(() => drawRegions([{ shape: "wand", x: -1, y: 3 }], "px", 10, 10, rgb)).message).toMatch(
      /mask_regions\[0\] is a wand whose seed \(x, y\) lies outside the 10×10 image/,
    );
    expect(badInput(() => drawRegions([{ shape: "wand", x: 1, y: 3, tolerance: 256 }], "px", 10, 10, rgb)).message).toMatch(
      /tolerance is 256; it must be a number from 0 to 255/,
    );
    expect(
      badInput(() => drawRegions([{ shape: "object", x: 1, y: 1, width: 4, height: 4, exclude: [[8, 8]] }], "px", 10, 10, rgb))
        .message,
    ).toMatch(/mask_regions\[0\]\.exclude\[0\] \(8, 8\) lies outside the object's box/);
  });

  it("converts object boxes, hints and wand seeds from fractions", async () => {
    const rgb = { data: Buffer.alloc(40 * 20 * 3, 128), width: 40, height: 20, channels: 3 as const };
    // A flat image: the wand selects everything (seed anywhere inside).
    const wand = drawRegions([{ shape: "wand", x: 0.99, y: 0.99 }], "fraction", 40, 20, rgb);
    expect(wand.mask.data.every((v) => v === 255)).toBe(true);
    expect(wand.reports[0]).toMatchObject({ shape: "wand", decided: "segmented", reason: expect.any(String) });
    const object = await drawRegionsWithSegmenter(
      [{ shape: "object", x: 0.25, y: 0.25, width: 0.5, height: 0.5, include: [[0.5, 0.5]] }],
      "fraction",
      40,
      20,
      rgb,
      { segmenter: createClassicSegmenter() },
    );
    // Whatever decided, nothing outside the 20×10 box at (10, 5) is selected, and something inside is.
    for (let y = 0; y < 20; y++)
      for (let x = 0; x < 40; x++) if (x < 10 || x >= 30 || y < 5 || y >= 15) expect(object.mask.data[y * 40 + x]).toBe(0);
    expect(object.mask.data.some((v) => v > 0)).toBe(true);
  });
});
