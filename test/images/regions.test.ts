import { describe, expect, it } from "vitest";
import { FluxFillError } from "../../src/errors.js";
import { MAX_POLYGON_POINTS, type MaskRegion, rasteriseRegions } from "../../src/images/regions.js";
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
    expect(rasteriseRegions([{ shape: "ellipse", cx: 40.3, cy: 30.2, rx: 20.7, ry: 11.4 }], "px", 96, 64).data.equals(expected)).toBe(true);
    const frac = rasteriseRegions([{ shape: "ellipse", cx: 0.5, cy: 0.5, rx: 0.25, ry: 0.25 }], "fraction", 96, 64);
    expect(frac.data.equals(maskPixels(96, 64, { kind: "ellipse", cx: 48, cy: 32, rx: 24, ry: 16 }).data)).toBe(true);
  });

  it("fills polygons like a point-in-polygon test at every pixel centre (convex, concave, clipped)", () => {
    const shapes = [
      [[5, 5], [50, 8], [30, 40]],
      [[2.5, 2.5], [60, 3], [60, 45], [30, 20], [4, 44]],
      [[-10, -10], [80, 10], [20, 90]],
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
    const square = [[2, 2], [12, 2], [12, 12], [2, 12]];
    const mask = rasteriseRegions([{ shape: "polygon", points: [...square, ...square] }], "px", 16, 16);
    expect(mask.data.equals(maskPixels(16, 16, { kind: "rect", x: 2, y: 2, width: 10, height: 10 }).data)).toBe(true);
  });

  it("refuses bad shapes with a message naming the field and value", () => {
    expect(badInput(() => rasteriseRegions([{ shape: "rect", x: 0, y: 0, width: -5, height: 3 }], "px", 10, 10)).message).toBe(
      "mask_regions[0].width is -5; sizes must be positive.",
    );
    expect(badInput(() => rasteriseRegions([{ shape: "ellipse", cx: 1, cy: 1, rx: 0, ry: 3 }], "px", 10, 10)).message).toMatch(
      /^mask_regions\[0\]\.rx is 0, so the shape is empty/,
    );
    expect(badInput(() => rasteriseRegions([{ shape: "rect", x: 0.1, y: 1.5, width: 0.2, height: 0.2 }], "fraction", 10, 10)).message).toBe(
      'mask_regions[0].y is 1.5, but with units "fraction" it must be between 0 and 1.',
    );
    expect(badInput(() => rasteriseRegions([{ shape: "polygon", points: [[0, 0], [1, 1]] }], "px", 10, 10)).message).toMatch(/needs at least 3/);
    expect(badInput(() => rasteriseRegions([], "px", 10, 10)).message).toMatch(/mask_regions is empty/);
    expect(badInput(() => rasteriseRegions([{ shape: "rect", x: 20, y: 0, width: 5, height: 5 }], "px", 10, 10)).message).toBe(
      "mask_regions[0] lies entirely outside the 10×10 image.",
    );
    expect(badInput(() => rasteriseRegions([{ shape: "rect", x: Number.NaN, y: 0, width: 5, height: 5 }], "px", 10, 10)).message).toMatch(
      /x must be a finite number/,
    );
  });

  it("refuses a 100k-point polygon at once, and fills a 10k-point zigzag quickly", () => {
    const huge = Array.from({ length: 100_000 }, (_, i) => [i % 2 ? 0 : 100, i / 1000]);
    const started = Date.now();
    const error = badInput(() => rasteriseRegions([{ shape: "polygon", points: huge }], "px", 100, 100));
    expect(error.message).toBe(`mask_regions has 100000 polygon points in all; at most ${MAX_POLYGON_POINTS} are accepted.`);
    expect(Date.now() - started).toBeLessThan(200);

    // Worst case at the limit: every edge crosses every row of a 1024×1024 image.
    const zigzag = Array.from({ length: MAX_POLYGON_POINTS }, (_, i) => [(i * 1024) / MAX_POLYGON_POINTS, i % 2 ? 0 : 1024]);
    const t0 = Date.now();
    const mask = rasteriseRegions([{ shape: "polygon", points: zigzag }], "px", 1024, 1024);
    const elapsed = Date.now() - t0;
    expect(mask.data.some((v) => v === 255)).toBe(true);
    expect(elapsed).toBeLessThan(5000);
  });
});
