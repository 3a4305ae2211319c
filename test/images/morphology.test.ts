import { describe, expect, it } from "vitest";
import { featherBoxRadius, featherMask, fitMaskTo, growMask, invertMask, squaredDistanceToMask } from "../../src/images/morphology.js";
import type { RasterImage } from "../../src/images/raster.js";
import { maskPixels, prng } from "../helpers/images.js";

const mask = (width: number, height: number, data: Buffer): RasterImage => ({ data, width, height, channels: 1 });

/** A sparse random binary mask with a few soft pixels. */
function randomMask(width: number, height: number, seed: number, density = 0.02): RasterImage {
  const rand = prng(seed);
  const data = Buffer.alloc(width * height);
  for (let i = 0; i < data.length; i++) {
    const r = rand() / 2 ** 32;
    data[i] = r < density ? 255 : r < density * 1.5 ? 100 : 0;
  }
  return mask(width, height, data);
}

/** Brute force: 255 within radius of an inpaint pixel, else the pixel as it was. */
function naiveGrow(m: RasterImage, radius: number): Buffer {
  const out = Buffer.from(m.data);
  for (let y = 0; y < m.height; y++) {
    for (let x = 0; x < m.width; x++) {
      for (let v = -radius; v <= radius; v++) {
        for (let u = -radius; u <= radius; u++) {
          const sx = x + u;
          const sy = y + v;
          if (sx < 0 || sy < 0 || sx >= m.width || sy >= m.height || u * u + v * v > radius * radius) continue;
          if (m.data[sy * m.width + sx]! >= 128) out[y * m.width + x] = 255;
        }
      }
    }
  }
  return out;
}

/** Direct-sum box blur, three passes per axis, edge samples repeated, rounded half up. */
function naiveFeather(m: RasterImage, radius: number): Buffer {
  const r = featherBoxRadius(radius);
  let a = Array.from(m.data);
  const pass = (horizontal: boolean) => {
    const b = new Array<number>(a.length);
    for (let y = 0; y < m.height; y++) {
      for (let x = 0; x < m.width; x++) {
        let sum = 0;
        for (let k = -r; k <= r; k++) {
          const sx = horizontal ? Math.min(m.width - 1, Math.max(0, x + k)) : x;
          const sy = horizontal ? y : Math.min(m.height - 1, Math.max(0, y + k));
          sum += a[sy * m.width + sx]!;
        }
        b[y * m.width + x] = Math.floor((sum + r) / (2 * r + 1));
      }
    }
    a = b;
  };
  for (let i = 0; i < 3; i++) pass(true);
  for (let i = 0; i < 3; i++) pass(false);
  return Buffer.from(a);
}

describe("invertMask", () => {
  it("maps v to 255 - v", () => {
    expect([...invertMask(mask(4, 1, Buffer.from([0, 255, 100, 128]))).data]).toEqual([255, 0, 155, 127]);
  });
});

describe("squaredDistanceToMask", () => {
  it("equals the brute-force squared distance to the nearest inpaint pixel", () => {
    const m = randomMask(37, 23, 5);
    const d = squaredDistanceToMask(m);
    const on: Array<[number, number]> = [];
    for (let i = 0; i < m.data.length; i++) if (m.data[i]! >= 128) on.push([i % 37, Math.floor(i / 37)]);
    for (let i = 0; i < m.data.length; i++) {
      const x = i % 37;
      const y = Math.floor(i / 37);
      const best = Math.min(...on.map(([px, py]) => (px - x) ** 2 + (py - y) ** 2));
      expect(d[i]).toBe(best);
    }
  });
});

describe("growMask", () => {
  it("matches brute-force disc dilation for several radii, keeping soft pixels outside", () => {
    for (const [seed, radius] of [[1, 1], [2, 3], [3, 7], [4, 12]] as const) {
      const m = randomMask(41, 29, seed, 0.01);
      expect(growMask(m, radius).data.equals(naiveGrow(m, radius)), `radius ${radius}`).toBe(true);
    }
  });

  it("grows a rect into a rounded rect (a disc, not a square)", () => {
    const grown = growMask(maskPixels(40, 40, { kind: "rect", x: 15, y: 15, width: 10, height: 10 }), 5);
    expect(grown.data[10 * 40 + 20]).toBe(255); // 5 px above the top edge
    expect(grown.data[10 * 40 + 10]).toBe(0); // the corner 5,5 away is outside the disc
    expect(grown.data[11 * 40 + 11]).toBe(0); // 4,4 away: distance 5.66
    expect(grown.data[12 * 40 + 12]).toBe(255); // 3,3 away: distance 4.24
  });

  // Its speed (independent of the radius) is a goal of `npm run bench:kernels`, not of a unit test.
  it("grows a 4000×3000 mask by 200 px", () => {
    const big = maskPixels(400, 300, { kind: "rect", x: 100, y: 100, width: 50, height: 50 });
    const m = fitMaskTo(big, 4000, 3000);
    const grown = growMask(m, 200);
    expect(grown.data[(1000 - 150) * 4000 + 1200]).toBe(255);
    expect(grown.data[(1000 - 201) * 4000 + 1200]).toBe(0);
  });
});

describe("featherMask", () => {
  it("matches a direct-sum three-pass box blur", () => {
    for (const [seed, radius] of [[1, 2], [2, 6], [3, 15]] as const) {
      const m = randomMask(33, 27, seed, 0.05);
      expect(featherMask(m, radius).data.equals(naiveFeather(m, radius)), `radius ${radius}`).toBe(true);
    }
  });

  it("softens an edge symmetrically: 0 far outside, 255 far inside, mid-grey on the edge", () => {
    const m = maskPixels(100, 10, { kind: "rect", x: 50, y: 0, width: 50, height: 10 });
    const f = featherMask(m, 9);
    expect(f.data[5 * 100 + 30]).toBe(0);
    expect(f.data[5 * 100 + 70]).toBe(255);
    expect(Math.abs(f.data[5 * 100 + 50]! - 128)).toBeLessThan(20);
    expect(f.data[5 * 100 + 45]! + f.data[5 * 100 + 54]!).toBeGreaterThan(240);
  });

  // Its speed for large radii is a goal of `npm run bench:kernels`.
  it("feathers a 4000×3000 mask by 100 px: 0 far outside, 255 far inside", () => {
    const m = fitMaskTo(maskPixels(40, 30, { kind: "rect", x: 10, y: 10, width: 10, height: 10 }), 4000, 3000);
    const f = featherMask(m, 100);
    expect(f.data[1500 * 4000 + 1500]).toBe(255);
    expect(f.data[500 * 4000 + 500]).toBe(0);
  });
});

describe("fitMaskTo", () => {
  it("doubles each pixel when scaling 2× and re-binarises", () => {
    const small = mask(2, 2, Buffer.from([255, 0, 200, 100]));
    expect([...fitMaskTo(small, 4, 4).data]).toEqual([255, 255, 0, 0, 255, 255, 0, 0, 255, 255, 0, 0, 255, 255, 0, 0]);
  });

  it("takes the source pixel holding each output centre when shrinking", () => {
    const row = mask(6, 1, Buffer.from([0, 255, 0, 0, 255, 0]));
    expect([...fitMaskTo(row, 3, 1).data]).toEqual([255, 0, 0]);
  });
});
