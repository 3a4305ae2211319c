import { describe, expect, it } from "vitest";
import { FluxFillError } from "../../src/errors.js";
import {
  assertSameSize,
  dropOpaqueAlpha,
  hasTransparency,
  MASK_THRESHOLD,
  maskFromAlpha,
  maskFromLuminance,
  maskStats,
  toRgb,
  toRgbInPlace,
} from "../../src/images/mask.js";
import type { RasterImage } from "../../src/providers/types.js";

const raster = (width: number, height: number, channels: 1 | 3 | 4, values: number[]): RasterImage => {
  if (values.length !== width * height * channels) throw new Error("test raster has the wrong number of values");
  return { data: Buffer.from(values), width, height, channels };
};

describe("maskFromAlpha", () => {
  it("maps each alpha to 255 − alpha, one channel, same size", () => {
    const rgba = raster(3, 1, 4, [10, 20, 30, 0, 40, 50, 60, 255, 70, 80, 90, 100]);
    const mask = maskFromAlpha(rgba);
    expect(mask).toMatchObject({ width: 3, height: 1, channels: 1 });
    expect([...mask.data]).toEqual([255, 0, 155]);
  });

  it("refuses a raster without alpha (a bug in the caller)", () => {
    expect(() => maskFromAlpha(raster(1, 1, 3, [1, 2, 3]))).toThrow(/4-channel/);
  });
});

describe("hasTransparency", () => {
  it("is true only for an alpha channel with some pixel below 255", () => {
    expect(hasTransparency(raster(2, 1, 4, [0, 0, 0, 255, 0, 0, 0, 254]))).toBe(true);
    expect(hasTransparency(raster(2, 1, 4, [0, 0, 0, 255, 9, 9, 9, 255]))).toBe(false);
    // Colour values of 0 are not alpha.
    expect(hasTransparency(raster(1, 1, 3, [0, 0, 0]))).toBe(false);
    expect(hasTransparency(raster(1, 1, 1, [0]))).toBe(false);
  });
});

describe("toRgb and dropOpaqueAlpha", () => {
  it("drops alpha keeping the RGB values, even under transparent pixels", () => {
    const rgb = toRgb(raster(2, 1, 4, [1, 2, 3, 0, 4, 5, 6, 255]));
    expect(rgb.channels).toBe(3);
    expect([...rgb.data]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("replicates grey and returns RGB unchanged", () => {
    expect([...toRgb(raster(2, 1, 1, [7, 200])).data]).toEqual([7, 7, 7, 200, 200, 200]);
    const rgb = raster(1, 1, 3, [1, 2, 3]);
    expect(toRgb(rgb)).toBe(rgb);
  });

  it("toRgbInPlace gives toRgb's pixels inside the RGBA buffer itself (no second copy of a big image)", () => {
    for (const [width, height] of [
      [1, 1],
      [3, 2],
      [17, 5],
    ] as const) {
      const values = Array.from({ length: width * height * 4 }, (_, i) => (i * 37 + 11) % 256);
      const expected = toRgb(raster(width, height, 4, values));
      const rgba = raster(width, height, 4, values);
      const packed = toRgbInPlace(rgba);
      expect(packed).toMatchObject({ width, height, channels: 3 });
      expect(packed.data.equals(expected.data)).toBe(true);
      expect(packed.data.buffer).toBe(rgba.data.buffer);
      expect(packed.data.byteOffset).toBe(rgba.data.byteOffset);
    }
    const rgb = raster(1, 1, 3, [1, 2, 3]);
    expect(toRgbInPlace(rgb)).toBe(rgb);
    expect([...toRgbInPlace(raster(2, 1, 1, [7, 200])).data]).toEqual([7, 7, 7, 200, 200, 200]);
  });

  it("drops the alpha channel only when every pixel is opaque", () => {
    expect(dropOpaqueAlpha(raster(1, 1, 4, [1, 2, 3, 255])).channels).toBe(3);
    const translucent = raster(1, 1, 4, [1, 2, 3, 254]);
    expect(dropOpaqueAlpha(translucent)).toBe(translucent);
  });
});

describe("maskFromLuminance", () => {
  it("keeps white 255 and black 0 exactly and weights green most", () => {
    const mask = maskFromLuminance(raster(5, 1, 3, [255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]));
    expect(mask.channels).toBe(1);
    const [white, black, red, green, blue] = [...mask.data];
    expect([white, black]).toEqual([255, 0]);
    expect(green!).toBeGreaterThan(red!);
    expect(red!).toBeGreaterThan(blue!);
    expect(red! + green! + blue!).toBeGreaterThanOrEqual(254);
  });

  it("flattens transparency onto black", () => {
    const mask = maskFromLuminance(raster(3, 1, 4, [255, 255, 255, 0, 255, 255, 255, 128, 255, 255, 255, 255]));
    expect([...mask.data]).toEqual([0, 128, 255]);
  });

  it("returns a one-channel raster as it is", () => {
    const one = raster(1, 1, 1, [77]);
    expect(maskFromLuminance(one)).toBe(one);
  });
});

describe("assertSameSize", () => {
  it("accepts equal sizes", () => {
    expect(() => assertSameSize({ width: 10, height: 5 }, { width: 10, height: 5 })).not.toThrow();
  });

  it("names both sizes in a bad_input error", () => {
    let error: unknown;
    try {
      assertSameSize({ width: 1024, height: 800 }, { width: 512, height: 400 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FluxFillError);
    const e = error as FluxFillError;
    expect(e.kind).toBe("bad_input");
    expect(e.message).toBe(
      "The mask is 512×400 but the image is 1024×800; they must be the same size (the upstream requires it).",
    );
    expect(e.suggestion).toContain("1024×800");
  });

  it("points at rotation when the sizes are swapped", () => {
    expect(() => assertSameSize({ width: 640, height: 480 }, { width: 480, height: 640 })).toThrow(
      expect.objectContaining({ suggestion: expect.stringContaining("EXIF orientation") }),
    );
  });
});

describe("maskStats", () => {
  it("counts pixels at or above the threshold and boxes them", () => {
    // 4×3: the 'on' pixels are (1,0), (3,1) and (2,2); 127 and soft values below the threshold do not count.
    const t = MASK_THRESHOLD;
    const mask = raster(4, 3, 1, [0, t, 127, 0, 5, 0, 0, 255, 0, 0, 200, 0]);
    expect(maskStats(mask)).toEqual({ coverage: 3 / 12, bbox: { x: 1, y: 0, width: 3, height: 3 } });
  });

  it("gives coverage 1 and the whole frame for a full mask", () => {
    expect(maskStats(raster(2, 2, 1, [255, 255, 255, 255]))).toEqual({
      coverage: 1,
      bbox: { x: 0, y: 0, width: 2, height: 2 },
    });
  });

  it("gives coverage 0 and no box for an empty mask", () => {
    expect(maskStats(raster(3, 2, 1, [0, 10, 127, 0, 0, 1]))).toEqual({ coverage: 0, bbox: null });
  });

  it("boxes a single pixel", () => {
    const data = new Array(6 * 5).fill(0);
    data[3 * 6 + 4] = 255;
    expect(maskStats(raster(6, 5, 1, data)).bbox).toEqual({ x: 4, y: 3, width: 1, height: 1 });
  });

  it("refuses a multi-channel raster", () => {
    expect(() => maskStats(raster(1, 1, 3, [255, 255, 255]))).toThrow(/1-channel/);
  });
});
