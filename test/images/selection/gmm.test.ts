import { describe, expect, it } from "vitest";
import {
  COVARIANCE_FLOOR,
  type ColourModel,
  fitColourModel,
  logDensity,
  refitColourModel,
} from "../../../src/images/selection/gmm.js";
import { createRandom } from "../../../src/random.js";

type Vec3 = [number, number, number];

/** `count` draws from N(mean, diag(sd²)) by Box–Muller, appended to `out`. */
function gaussianColours(out: number[], count: number, mean: Vec3, sd: Vec3, random: () => number): void {
  for (let i = 0; i < count; i++) {
    for (let c = 0; c < 3; c++) {
      const u = 1 - random();
      const v = random();
      out.push(mean[c]! + sd[c]! * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
    }
  }
}

function colourSet(values: number[]) {
  const colours = Float32Array.from(values);
  return { colours, members: Int32Array.from({ length: values.length / 3 }, (_, i) => i) };
}

/** Determinant and inverse of a 3 × 3 matrix (row-major), by cofactors. */
function invert3(m: number[]): { det: number; inverse: number[] } {
  const [a, b, c, d, e, f, g, h, i] = m as [number, number, number, number, number, number, number, number, number];
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  const inverse = [
    A,
    -(b * i - c * h),
    b * f - c * e,
    B,
    a * i - c * g,
    -(a * f - c * d),
    C,
    -(a * h - b * g),
    a * e - b * d,
  ];
  return { det, inverse: inverse.map((v) => v / det) };
}

function nearestComponent(model: ColourModel, mean: Vec3): number {
  let best = 0;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (let k = 0; k < model.count; k++) {
    const d =
      (model.means[3 * k]! - mean[0]) ** 2 +
      (model.means[3 * k + 1]! - mean[1]) ** 2 +
      (model.means[3 * k + 2]! - mean[2]) ** 2;
    if (d < bestDistance) {
      bestDistance = d;
      best = k;
    }
  }
  return best;
}

describe("colour models", () => {
  it("recover well separated clusters: means, weights and spreads", () => {
    const random = createRandom(3);
    const values: number[] = [];
    const clusters: Array<{ mean: Vec3; sd: Vec3; count: number }> = [
      { mean: [200, 30, 30], sd: [6, 4, 5], count: 3000 },
      { mean: [30, 180, 60], sd: [3, 8, 4], count: 2000 },
      { mean: [40, 50, 220], sd: [5, 5, 9], count: 1000 },
      { mean: [128, 128, 128], sd: [10, 10, 10], count: 1500 },
      { mean: [240, 240, 60], sd: [4, 4, 4], count: 500 },
    ];
    for (const c of clusters) gaussianColours(values, c.count, c.mean, c.sd, random);
    const set = colourSet(values);
    const model = refitColourModel(set, fitColourModel(set));
    expect(model.count).toBe(5);
    const used = new Set<number>();
    for (const c of clusters) {
      const k = nearestComponent(model, c.mean);
      used.add(k);
      for (let ch = 0; ch < 3; ch++) expect(Math.abs(model.means[3 * k + ch]! - c.mean[ch]!)).toBeLessThan(1);
      expect(model.weights[k]).toBeCloseTo(c.count / 8000, 2);
      // The inverse covariance's diagonal ≈ 1 / (sd² + floor): the spread is right within 15 %.
      for (let ch = 0; ch < 3; ch++) {
        const variance = 1 / model.inverses[9 * k + 4 * ch]!;
        expect(variance / (c.sd[ch]! ** 2 + COVARIANCE_FLOOR)).toBeGreaterThan(0.85);
        expect(variance / (c.sd[ch]! ** 2 + COVARIANCE_FLOOR)).toBeLessThan(1.15);
      }
    }
    expect(used.size).toBe(5);
  });

  it("gives the Gaussian density of one cluster, with the covariance floor (no (2π)^-3/2 factor)", () => {
    // Five colours: fewer clusters than components cannot happen, so one colour repeated makes k = 1.
    const colours = [10, 20, 30, 14, 22, 31, 9, 25, 29, 12, 19, 35, 11, 21, 33];
    const set = colourSet(colours);
    const model = fitColourModel({ colours: set.colours, members: Int32Array.from([0, 1, 2, 3, 4]) });
    // Same data, fitted as one cluster by hand.
    const n = 5;
    const mean = [0, 1, 2].map((c) => colours.filter((_, i) => i % 3 === c).reduce((s, v) => s + v, 0) / n);
    const cov: number[] = [];
    for (let a = 0; a < 3; a++) {
      for (let b = 0; b < 3; b++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += (colours[3 * i + a]! - mean[a]!) * (colours[3 * i + b]! - mean[b]!);
        cov.push(s / n + (a === b ? COVARIANCE_FLOOR : 0));
      }
    }
    const { det, inverse } = invert3(cov);
    const oneCluster = (z: Vec3) => {
      const d = z.map((v, c) => v - mean[c]!);
      let q = 0;
      for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) q += d[a]! * inverse[3 * a + b]! * d[b]!;
      return -0.5 * Math.log(det) - 0.5 * q;
    };
    // k-means splits five colours into up to five clusters; refit them all into one to compare.
    const single = refitColourModel(set, { ...model, count: 1, weights: Float64Array.of(1) });
    for (const z of [
      [12, 21, 31],
      [0, 0, 0],
      [40, 10, 60],
    ] as Vec3[]) {
      expect(logDensity(single, ...z)).toBeCloseTo(oneCluster(z), 9);
    }
  });

  it("sums the weighted components: log Σ π_k det(Σ_k)^-½ exp(−½ dᵀΣ_k⁻¹d)", () => {
    const random = createRandom(5);
    const values: number[] = [];
    gaussianColours(values, 3000, [50, 60, 70], [9, 5, 7], random);
    gaussianColours(values, 1000, [200, 190, 120], [4, 12, 6], random);
    const model = refitColourModel(colourSet(values), fitColourModel(colourSet(values)));
    expect(model.count).toBe(5);
    const naive = (z: Vec3) => {
      let p = 0;
      for (let k = 0; k < model.count; k++) {
        const inverse = Array.from(model.inverses.subarray(9 * k, 9 * k + 9));
        const d = z.map((v, c) => v - model.means[3 * k + c]!);
        let q = 0;
        for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) q += d[a]! * inverse[3 * a + b]! * d[b]!;
        // det(Σ)^-½ = √det(Σ⁻¹).
        p += model.weights[k]! * Math.sqrt(invert3(inverse).det) * Math.exp(-0.5 * q);
      }
      return Math.log(p);
    };
    for (const z of [
      [50, 60, 70],
      [200, 190, 120],
      [120, 120, 100],
      [60, 55, 80],
    ] as Vec3[]) {
      expect(logDensity(model, ...z)).toBeCloseTo(naive(z), 8);
    }
    // Far from both clusters the density is tiny but still finite in the log domain.
    expect(Number.isFinite(logDensity(model, 255, 0, 255))).toBe(true);
    expect(logDensity(model, 255, 0, 255)).toBeLessThan(logDensity(model, 50, 60, 70) - 100);
  });

  it("is deterministic: the same colours give the same model", () => {
    const random = createRandom(9);
    const values: number[] = [];
    gaussianColours(values, 5000, [100, 120, 140], [30, 20, 25], random);
    const a = fitColourModel(colourSet(values));
    const b = fitColourModel(colourSet(values));
    expect(Array.from(a.means)).toEqual(Array.from(b.means));
    expect(Array.from(a.inverses)).toEqual(Array.from(b.inverses));
    expect(Array.from(a.weights)).toEqual(Array.from(b.weights));
  });
});
