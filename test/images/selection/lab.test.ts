import { describe, expect, it } from "vitest";
import { labRaster, srgbToLab } from "../../../src/images/selection/lab.js";

/** Published CIELAB (D65) values of 8-bit sRGB colours, to the two decimals usually printed. */
const KNOWN: Array<[[number, number, number], [number, number, number]]> = [
  [
    [255, 255, 255],
    [100, 0, 0],
  ],
  [
    [0, 0, 0],
    [0, 0, 0],
  ],
  [
    [255, 0, 0],
    [53.24, 80.09, 67.2],
  ],
  [
    [0, 255, 0],
    [87.73, -86.18, 83.18],
  ],
  [
    [0, 0, 255],
    [32.3, 79.19, -107.86],
  ],
  [
    [128, 128, 128],
    [53.59, 0, 0],
  ],
  [
    [1, 1, 1],
    [0.27, 0, 0],
  ],
];

describe("srgbToLab", () => {
  it.each(KNOWN)("rgb%j → Lab %j", (rgb, lab) => {
    const [L, a, b] = srgbToLab(...rgb);
    expect(Math.abs(L - lab[0])).toBeLessThanOrEqual(0.01);
    expect(Math.abs(a - lab[1])).toBeLessThanOrEqual(0.01);
    expect(Math.abs(b - lab[2])).toBeLessThanOrEqual(0.01);
  });

  it("greys have a* = b* = 0 and L* rising with the value", () => {
    let previous = -1;
    for (let v = 0; v < 256; v++) {
      const [L, a, b] = srgbToLab(v, v, v);
      expect(Math.abs(a)).toBeLessThan(1e-9);
      expect(Math.abs(b)).toBeLessThan(1e-9);
      expect(L).toBeGreaterThan(previous);
      previous = L;
    }
  });
});

describe("labRaster", () => {
  it("gives every pixel's L*, a*, b* interleaved, as srgbToLab does", () => {
    const data = Buffer.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 128, 128, 128]);
    const lab = labRaster({ data, width: 2, height: 2, channels: 3 });
    expect(lab).toBeInstanceOf(Float32Array);
    expect(lab.length).toBe(12);
    for (let i = 0; i < 4; i++) {
      const expected = srgbToLab(data[i * 3]!, data[i * 3 + 1]!, data[i * 3 + 2]!);
      for (let c = 0; c < 3; c++) expect(lab[i * 3 + c]).toBeCloseTo(expected[c]!, 4);
    }
  });

  it("reads one channel as grey and ignores alpha", () => {
    const grey = labRaster({ data: Buffer.from([0, 128, 255]), width: 3, height: 1, channels: 1 });
    expect(grey[3]).toBeCloseTo(53.585, 2);
    expect(grey[6]).toBeCloseTo(100, 4);
    const rgba = labRaster({ data: Buffer.from([255, 0, 0, 0, 255, 0, 0, 255]), width: 2, height: 1, channels: 4 });
    expect(rgba[0]).toBeCloseTo(53.2408, 3);
    expect(rgba[3]).toBeCloseTo(53.2408, 3);
    expect(rgba[4]).toBeCloseTo(rgba[1]!, 5);
  });
});
