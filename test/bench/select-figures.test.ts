import { describe, expect, it } from "vitest";
import { seededRandom } from "../../bench/random.js";
import {
  atLeast,
  atMost,
  BLOB_MAX_REACH,
  blobAlpha,
  blobRadiusAt,
  composite,
  ellipseMask,
  flipHorizontal,
  maskBounds,
  padRect,
  polygonMask,
  randomBlob,
  ranks,
  rectMask,
  renderGoals,
  scaleMaskNearest,
  scaleRect,
  score,
  spearman,
  summarise,
} from "../../bench/select/figures.js";

const circle = (radius: number) => ({ radius, amplitudes: [0, 0, 0, 0], phases: [0, 0, 0, 0] });

describe("the random blob", () => {
  it("draws R in the range and each a_k within 0.18/(k − 1), the same for the same seed", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const blob = randomBlob(seededRandom(seed), 400, [0.2, 0.3]);
      expect(blob.radius).toBeGreaterThanOrEqual(80);
      expect(blob.radius).toBeLessThanOrEqual(120);
      blob.amplitudes.forEach((a, i) => {
        expect(a).toBeGreaterThanOrEqual(0);
        expect(a).toBeLessThanOrEqual(0.18 / (i + 1));
      });
    }
    expect(randomBlob(seededRandom(3), 400, [0.2, 0.3])).toEqual(randomBlob(seededRandom(3), 400, [0.2, 0.3]));
    expect(BLOB_MAX_REACH).toBeCloseTo(1.375, 10);
  });

  it("r(θ) is R · (1 + Σ a_k cos(kθ + φ_k))", () => {
    const blob = { radius: 10, amplitudes: [0.1, 0, 0, 0.02], phases: [0, 0, 0, Math.PI] };
    expect(blobRadiusAt(blob, 0)).toBeCloseTo(10 * (1 + 0.1 - 0.02), 10);
    expect(blobRadiusAt(blob, Math.PI / 2)).toBeCloseTo(10 * (1 - 0.1 + 0.02 * Math.cos(2.5 * Math.PI + Math.PI)), 10);
  });

  it("a circle's alpha sums to its area, is 1 inside, 0 far outside and fractional on the rim", () => {
    const { alpha, side } = blobAlpha(circle(20));
    const area = alpha.reduce((s, a) => s + a, 0);
    expect(area).toBeGreaterThan(Math.PI * 400 * 0.99);
    expect(area).toBeLessThan(Math.PI * 400 * 1.01);
    expect(alpha[(side / 2) * side + side / 2]).toBe(1);
    expect(alpha[0]).toBe(0);
    const rim = [...alpha].filter((a) => a > 0 && a < 1);
    expect(rim.length).toBeGreaterThan(0);
    for (const a of rim) expect(Number.isInteger(a * 16)).toBe(true);
  });
});

describe("rectangles", () => {
  it("maskBounds finds the smallest rectangle, or null", () => {
    const data = new Uint8Array(6 * 5);
    data[1 * 6 + 2] = 255;
    data[3 * 6 + 4] = 255;
    expect(maskBounds({ data, width: 6, height: 5 })).toEqual({ x: 2, y: 1, width: 3, height: 3 });
    expect(maskBounds({ data: new Uint8Array(4), width: 2, height: 2 })).toBeNull();
  });

  it("padRect grows each side by the margin times the size, outward to whole pixels", () => {
    expect(padRect({ x: 100, y: 50, width: 200, height: 100 }, 0.05)).toEqual({
      x: 90,
      y: 45,
      width: 220,
      height: 110,
    });
    expect(padRect({ x: 10, y: 10, width: 30, height: 30 }, 0.05)).toEqual({ x: 8, y: 8, width: 34, height: 34 });
  });

  it("rectMask fills the rectangle clipped to the image; ellipseMask is the inscribed ellipse", () => {
    const box = rectMask(4, 3, { x: -1, y: 1, width: 3, height: 5 });
    expect([...box.data]).toEqual([0, 0, 0, 0, 255, 255, 0, 0, 255, 255, 0, 0]);
    const ellipse = ellipseMask(200, 100, { x: 0, y: 0, width: 200, height: 100 });
    const area = ellipse.data.reduce((s, v) => s + (v ? 1 : 0), 0);
    expect(area / (Math.PI * 100 * 50)).toBeCloseTo(1, 2);
    expect(ellipse.data[0]).toBe(0);
    expect(ellipse.data[50 * 200 + 100]).toBe(255);
  });

  it("scaleRect scales outward; scaleMaskNearest keeps every value and the proportions", () => {
    expect(scaleRect({ x: 3, y: 2, width: 5, height: 4 }, 2, 1.5)).toEqual({ x: 6, y: 3, width: 10, height: 6 });
    const mask = { data: Uint8Array.from([255, 0, 0, 255]), width: 2, height: 2 };
    expect([...scaleMaskNearest(mask, 4, 4).data]).toEqual([
      255, 255, 0, 0, 255, 255, 0, 0, 0, 0, 255, 255, 0, 0, 255, 255,
    ]);
  });
});

describe("composite", () => {
  const solid = (width: number, height: number, rgb: number[]) => ({
    data: Uint8Array.from({ length: width * height * 3 }, (_, i) => rgb[i % 3]!),
    width,
    height,
  });

  it("blends the source under alpha over the background and marks α ≥ 0.5 as truth", () => {
    const alpha = Float32Array.from([0, 0.25, 0.5, 1]);
    const out = composite(solid(3, 3, [0, 0, 0]), solid(4, 4, [200, 100, 40]), alpha, 2, [1, 1], [2, 2]);
    expect([...out.image.data.subarray((1 * 3 + 1) * 3, (1 * 3 + 3) * 3)]).toEqual([0, 0, 0, 50, 25, 10]);
    expect([...out.image.data.subarray((2 * 3 + 1) * 3, (2 * 3 + 3) * 3)]).toEqual([100, 50, 20, 200, 100, 40]);
    expect([...out.truth.data]).toEqual([0, 0, 0, 0, 0, 0, 0, 255, 255]);
  });

  it("takes the pixels from the source position, and refuses a patch that leaves either image", () => {
    const source = { data: Uint8Array.from([1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]), width: 2, height: 2 };
    const out = composite(solid(2, 2, [0, 0, 0]), source, Float32Array.from([1]), 1, [0, 0], [1, 1]);
    expect([...out.image.data.subarray(0, 3)]).toEqual([4, 4, 4]);
    expect(() => composite(solid(2, 2, [0, 0, 0]), source, Float32Array.from([1, 1, 1, 1]), 2, [1, 0], [0, 0])).toThrow(
      RangeError,
    );
  });

  it("flipHorizontal mirrors each row", () => {
    const image = { data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), width: 2, height: 2 };
    expect([...flipHorizontal(image).data]).toEqual([4, 5, 6, 1, 2, 3, 10, 11, 12, 7, 8, 9]);
  });
});

describe("scores and summaries", () => {
  it("IoU, missed and spill from the confusion counts (soft values at 128 and above count as selected)", () => {
    const truth = Uint8Array.from([255, 255, 255, 255, 0, 0, 0, 0]);
    const predicted = Uint8Array.from([255, 200, 127, 0, 128, 0, 0, 0]);
    // tp 2, fn 2, fp 1
    expect(score(predicted, truth)).toEqual({ iou: 2 / 5, missed: 2 / 4, spill: 1 / 4 });
    expect(score(truth, truth)).toEqual({ iou: 1, missed: 0, spill: 0 });
    expect(() => score(new Uint8Array(3), truth)).toThrow(RangeError);
  });

  it("summarise gives count, mean, median and minimum", () => {
    expect(summarise([1, 6, 2, 3])).toEqual({ count: 4, mean: 3, median: 2.5, min: 1 });
    expect(summarise([]).mean).toBeNaN();
  });

  it("goals: met, not met, or n/a when the figure is missing", () => {
    expect(atLeast(0.86, 0.85)).toBe(true);
    expect(atLeast(0.84, 0.85)).toBe(false);
    expect(atMost(2.9, 3)).toBe(true);
    expect(atMost(undefined, 3)).toBeNull();
    expect(atLeast(Number.NaN, 3)).toBeNull();
    expect(
      renderGoals([
        { goal: "mean IoU ≥ 0.85", measured: "0.90", met: true },
        { goal: "every case ≥ 0.5", measured: "0.31", met: false },
        { goal: "12 MP ≤ 3 s", measured: "n/a", met: null },
      ]),
    ).toBe(
      [
        "| goal | measured | met |",
        "|---|---|---|",
        "| mean IoU ≥ 0.85 | 0.90 | met |",
        "| every case ≥ 0.5 | 0.31 | **not met** |",
        "| 12 MP ≤ 3 s | n/a | n/a |",
      ].join("\n"),
    );
  });
});

describe("polygon ground truth", () => {
  const count = (data: Uint8Array) => data.reduce((n, v) => n + (v === 255 ? 1 : 0), 0);

  it("selects the pixels whose centre lies inside: a 10 × 6 rectangle is 60 pixels, at its place", () => {
    const mask = polygonMask(20, 12, [
      [
        [3, 2],
        [13, 2],
        [13, 8],
        [3, 8],
      ],
    ]);
    expect(count(mask.data)).toBe(60);
    expect(maskBounds(mask)).toEqual({ x: 3, y: 2, width: 10, height: 6 });
  });

  it("unites several polygons (overlaps counted once) and fills a triangle to about its area", () => {
    const square = (x: number, y: number, side: number): Array<[number, number]> => [
      [x, y],
      [x + side, y],
      [x + side, y + side],
      [x, y + side],
    ];
    const mask = polygonMask(40, 40, [square(0, 0, 10), square(5, 5, 10)]);
    expect(count(mask.data)).toBe(100 + 100 - 25);
    const triangle = polygonMask(200, 200, [
      [
        [0, 0],
        [200, 0],
        [0, 200],
      ],
    ]);
    expect(Math.abs(count(triangle.data) - 20_000) / 20_000).toBeLessThan(0.01);
  });
});

describe("Spearman's rank correlation", () => {
  it("is 1 for any increasing relation and −1 for a decreasing one", () => {
    const xs = [0.1, 0.5, 0.3, 0.9, 0.7];
    expect(
      spearman(
        xs,
        xs.map((x) => x ** 3),
      ),
    ).toBeCloseTo(1, 12);
    expect(
      spearman(
        xs,
        xs.map((x) => -Math.exp(x)),
      ),
    ).toBeCloseTo(-1, 12);
  });

  it("gives ties their average rank and matches a hand-worked value", () => {
    expect(ranks([3, 1, 3, 2])).toEqual([3.5, 1, 3.5, 2]);
    // Ranks x: 1 2 3 4 5, y: 2 1 4 3 5 → d² sum 4 → 1 − 6·4 / (5·24) = 0.8 (no ties).
    expect(spearman([1, 2, 3, 4, 5], [20, 10, 40, 30, 50])).toBeCloseTo(0.8, 12);
  });

  it("is NaN when it cannot be defined (fewer than two pairs, or one side constant)", () => {
    expect(spearman([1], [2])).toBeNaN();
    expect(spearman([1, 2, 3], [5, 5, 5])).toBeNaN();
  });
});
