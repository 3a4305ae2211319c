import { describe, expect, it } from "vitest";
import { FluxFillError } from "../../src/errors.js";
import {
  assertSameSize,
  boundsAtOrAbove,
  boxOf,
  dropOpaqueAlpha,
  hasTransparency,
  MASK_THRESHOLD,
  maskFromAlpha,
  maskFromLuminance,
  maskStats,
  toRgb,
  toRgbInPlace,
} from "../../src/images/mask.js";
import type { RasterImage } from "../../src/images/raster.js";

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

/** Deterministic PRNG (mulberry32), so a failing case can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `bytes` copied into a fresh buffer at `offset`, optionally with `after` extra bytes of `fill` behind it. */
function placed(bytes: Uint8Array, offset: number, after = 0, fill = 0): Buffer {
  const whole = Buffer.alloc(offset + bytes.length + after, fill);
  whole.set(bytes, offset);
  return whole.subarray(offset, offset + bytes.length);
}

/** The plain definition: one pixel at a time. */
function referenceStats(data: Uint8Array, width: number, height: number) {
  let count = 0;
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // A pixel missing from a short buffer is "keep", as in the plain loop.
      if ((data[y * width + x] ?? 0) < 128) continue;
      count++;
      minX = Math.min(minX, x);
      maxX = Math.max(maxX, x);
      minY = Math.min(minY, y);
      maxY = Math.max(maxY, y);
    }
  }
  return {
    coverage: count / (width * height),
    bbox: count === 0 ? null : { x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1 },
  };
}

type Fill = (random: () => number, width: number, height: number) => Uint8Array;

const fills: Record<string, Fill> = {
  zeros: (_r, w, h) => new Uint8Array(w * h),
  full: (_r, w, h) => new Uint8Array(w * h).fill(255),
  noise: (r, w, h) => Uint8Array.from({ length: w * h }, () => Math.floor(r() * 256)),
  "127/128 only": (r, w, h) => Uint8Array.from({ length: w * h }, () => (r() < 0.5 ? 127 : 128)),
  "sparse, near the threshold": (r, w, h) => {
    const data = new Uint8Array(w * h);
    const n = Math.floor(r() * 4);
    for (let k = 0; k < n; k++) data[Math.floor(r() * data.length)] = [127, 128, 129, 200, 255][Math.floor(r() * 5)]!;
    return data;
  },
  "soft below the threshold": (r, w, h) => Uint8Array.from({ length: w * h }, () => Math.floor(r() * 128)),
  "a box of 255 with soft edges": (r, w, h) => {
    const data = new Uint8Array(w * h);
    const x0 = Math.floor(r() * w);
    const y0 = Math.floor(r() * h);
    const x1 = x0 + Math.floor(r() * (w - x0));
    const y1 = y0 + Math.floor(r() * (h - y0));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) data[y * w + x] = x === x0 || x === x1 ? 127 + Math.floor(r() * 3) : 255;
    }
    return data;
  },
  "runs of 0 and 255": (r, w, h) => {
    const data = new Uint8Array(w * h);
    let v = 0;
    for (let i = 0; i < data.length; i++) {
      if (r() < 0.05) v = 255 - v;
      data[i] = v;
    }
    return data;
  },
};

describe("boundsAtOrAbove", () => {
  // 5×3: a hard pixel (128) at (2,1), soft edge values 1 and 127 at (0,0) and (4,2), a 255 at (3,1).
  const t = MASK_THRESHOLD;
  const mask = raster(5, 3, 1, [1, 0, 0, 0, 0, 0, 0, t, 255, 0, 0, 0, 0, 0, 127]);

  it("with MASK_THRESHOLD counts and boxes the pixels to inpaint, as maskStats does", () => {
    const bounds = boundsAtOrAbove(mask, MASK_THRESHOLD);
    expect(bounds).toEqual({ count: 2, minX: 2, minY: 1, maxX: 3, maxY: 1 });
    expect(boxOf(bounds)).toEqual(maskStats(mask).bbox);
  });

  it("with 1 counts every pixel the mask touches, soft edges included (markedBox)", () => {
    const bounds = boundsAtOrAbove(mask, 1);
    expect(bounds).toEqual({ count: 4, minX: 0, minY: 0, maxX: 4, maxY: 2 });
    expect(boxOf(bounds)).toEqual({ x: 0, y: 0, width: 5, height: 3 });
  });

  it("finds nothing in a mask below the threshold: count 0, no box", () => {
    const soft = raster(3, 2, 1, [0, 10, 127, 0, 0, 1]);
    expect(boundsAtOrAbove(soft, MASK_THRESHOLD).count).toBe(0);
    expect(boxOf(boundsAtOrAbove(soft, MASK_THRESHOLD))).toBeNull();
    expect(boxOf(boundsAtOrAbove(raster(2, 1, 1, [0, 0]), 1))).toBeNull();
  });
});

describe("maskStats against the plain pixel loop", () => {
  const check = (data: Buffer, width: number, height: number, what: string) => {
    const mask: RasterImage = { data, width, height, channels: 1 };
    expect(maskStats(mask), what).toEqual(referenceStats(data, width, height));
  };

  it("agrees on random masks of odd sizes at every byte offset", () => {
    const random = prng(20240501);
    for (const [name, fill] of Object.entries(fills)) {
      for (let k = 0; k < 40; k++) {
        // Mostly narrow rows (where head, words and tail meet), some wide ones (where the 4-word skips run).
        const width = k % 4 === 3 ? 200 + Math.floor(random() * 1200) : 1 + Math.floor(random() * 70);
        const height = 1 + Math.floor(random() * (k % 4 === 3 ? 6 : 24));
        const pixels = fill(random, width, height);
        const offset = k % 8;
        const what = `${name}, ${width}×${height}, byteOffset ${offset}`;
        check(placed(pixels, offset), width, height, what);
        // Bytes after the mask (here 255, "inpaint") must be ignored.
        check(placed(pixels, offset, 5, 255), width, height, `${what}, trailing 255s`);
      }
    }
  });

  it("finds inpaint pixels in the bytes before and after a row's whole words", () => {
    const width = 13;
    const height = 3;
    for (let offset = 0; offset < 4; offset++) {
      for (let x = 0; x < width; x++) {
        for (const y of [0, 1, 2]) {
          const pixels = new Uint8Array(width * height);
          pixels[y * width + x] = 128;
          const data = placed(pixels, offset);
          expect(maskStats({ data, width, height, channels: 1 })).toEqual({
            coverage: 1 / (width * height),
            bbox: { x, y, width: 1, height: 1 },
          });
          // With the rest of the row full, the box spans the row either way.
          pixels.fill(255, y * width, y * width + width);
          pixels[y * width + x] = 127;
          const row = maskStats({ data: placed(pixels, offset), width, height, channels: 1 });
          expect(row.coverage).toBe((width - 1) / (width * height));
          expect(row.bbox).toEqual(
            x === 0 || x === width - 1
              ? { x: x === 0 ? 1 : 0, y, width: width - 1, height: 1 }
              : { x: 0, y, width, height: 1 },
          );
        }
      }
    }
  });

  it("handles 1-pixel masks, single columns and single rows", () => {
    for (const v of [0, 127, 128, 255]) {
      for (let offset = 0; offset < 4; offset++) {
        check(placed(Uint8Array.of(v), offset), 1, 1, `1×1 of ${v} at ${offset}`);
        check(placed(new Uint8Array(37).fill(v), offset), 1, 37, `1×37 of ${v} at ${offset}`);
        check(placed(new Uint8Array(37).fill(v), offset), 37, 1, `37×1 of ${v} at ${offset}`);
      }
    }
  });

  it("agrees on all-0 and all-255 masks that fill their buffer to the last byte", () => {
    for (const [width, height] of [
      [4000, 3],
      [333, 7],
      [8, 1],
    ] as const) {
      for (let offset = 0; offset < 8; offset++) {
        for (const v of [0, 255]) {
          // No bytes after the view: the word view must stop inside the buffer.
          const data = Buffer.alloc(offset + width * height, v).subarray(offset);
          check(data, width, height, `${width}×${height} of ${v} at ${offset}`);
        }
      }
    }
  });

  it("counts pixels missing from a short buffer as keep, even when the memory behind it is 255", () => {
    const pixels = new Uint8Array(40 * 3 - 6).fill(255);
    check(placed(pixels, 0, 16, 255), 40, 3, "40×3 with 6 bytes missing");
    expect(maskStats({ data: placed(pixels, 0, 16, 255), width: 40, height: 3, channels: 1 }).bbox).toEqual({
      x: 0,
      y: 0,
      width: 40,
      height: 3,
    });
  });

  it("agrees on a pooled buffer (Buffer.from)", () => {
    const random = prng(7);
    const pixels = fills.noise!(random, 31, 9);
    check(Buffer.from(pixels), 31, 9, "pooled noise");
  });
});

/** The plain definition of maskFromLuminance, one pixel at a time. */
function referenceLuminance(data: Uint8Array, pixels: number, channels: 3 | 4): number[] {
  const out: number[] = [];
  for (let i = 0; i < pixels; i++) {
    const s = i * channels;
    let y = (54 * data[s]! + 183 * data[s + 1]! + 19 * data[s + 2]! + 128) >> 8;
    if (channels === 4) y = Math.round((y * data[s + 3]!) / 255);
    out.push(y);
  }
  return out;
}

describe("maskFromLuminance against the plain pixel loop", () => {
  it("scales every grey by every alpha exactly as Math.round(y · alpha / 255)", () => {
    const values: number[] = [];
    for (let grey = 0; grey < 256; grey++)
      for (let alpha = 0; alpha < 256; alpha++) values.push(grey, grey, grey, alpha);
    const rgba = raster(256, 256, 4, values);
    expect([...maskFromLuminance(rgba).data]).toEqual(referenceLuminance(rgba.data, 256 * 256, 4));
  });

  it("agrees on random black/white/colour rasters of odd sizes at every byte offset", () => {
    const random = prng(99);
    const colours: Array<(channels: 3 | 4) => number[]> = [
      (c) => (c === 4 ? [0, 0, 0, 255] : [0, 0, 0]),
      (c) => (c === 4 ? [255, 255, 255, 255] : [255, 255, 255]),
      (c) => (c === 4 ? [255, 255, 255, 0] : [255, 255, 254]),
      (c) => (c === 4 ? [0, 0, 0, Math.floor(random() * 256)] : [0, 0, 1]),
      // Only one channel lit: each weight on its own.
      (c) => (c === 4 ? [0, 0, 255, 255] : [0, 0, 255]),
      (c) => (c === 4 ? [255, 0, 0, 200] : [255, 0, 0]),
      (c) => (c === 4 ? [0, 255, 0, 255] : [0, 255, 0]),
      (c) => Array.from({ length: c }, () => Math.floor(random() * 256)),
    ];
    for (const channels of [3, 4] as const) {
      for (let k = 0; k < 120; k++) {
        const width = 1 + Math.floor(random() * 40);
        const height = 1 + Math.floor(random() * 9);
        // Mostly one colour, the way masks are, with runs of others.
        const values: number[] = [];
        let colour = colours[0]!;
        for (let i = 0; i < width * height; i++) {
          if (random() < 0.15) colour = colours[Math.floor(random() * colours.length)]!;
          values.push(...colour(channels));
        }
        const bytes = Uint8Array.from(values);
        const offset = k % 8;
        const mask = maskFromLuminance({ data: placed(bytes, offset), width, height, channels });
        expect(mask).toMatchObject({ width, height, channels: 1 });
        expect([...mask.data], `${channels} channels, ${width}×${height}, byteOffset ${offset}`).toEqual(
          referenceLuminance(bytes, width * height, channels),
        );
      }
    }
  });
});
