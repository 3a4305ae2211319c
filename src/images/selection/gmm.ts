import { createRandom } from "../../random.js";

/**
 * Colour models for GrabCut: a mixture of up to K = 5 full-covariance Gaussians over RGB triples (0..255),
 * fitted as OpenCV's grabCut does (k-means++ init, 10 Lloyd rounds, maximum-likelihood fit per cluster;
 * then GrabCut's own refit: each colour to its most likely component). Deterministic: the k-means++ draws
 * come from a fixed seed.
 */

export const COMPONENTS = 5;
const KMEANS_ROUNDS = 10;
/** Samples k-means looks at, at most (an evenly strided subset of larger inputs). */
const KMEANS_SAMPLES = 20_000;
/**
 * Added to every covariance's diagonal: a noise floor of about one 8-bit level, so a flat colour does not
 * give an infinitely sharp component (OpenCV adds 0.01 only when the determinant is ≤ 1e-6).
 */
export const COVARIANCE_FLOOR = 1;

export interface ColourModel {
  /** Components with at least one colour. */
  count: number;
  /** Mixture weights π_k (sum 1). */
  weights: Float64Array;
  /** means[3k..3k+2]. */
  means: Float64Array;
  /** Inverse covariances, row-major 3 × 3 per component. */
  inverses: Float64Array;
  /** log π_k − ½ log det Σ_k: the component's log density at its mean (the (2π)^-3/2 factor is dropped). */
  logScales: Float64Array;
}

/** Some of the colours of an image: `colours` holds RGB triples, `members` the indices of those in the set. */
export interface ColourSet {
  colours: Float32Array;
  /** Indices (pixel numbers) into colours / 3. */
  members: Int32Array;
}

function squaredDistance(colours: Float32Array, pixel: number, centres: Float64Array, k: number): number {
  const dr = colours[pixel * 3]! - centres[k * 3]!;
  const dg = colours[pixel * 3 + 1]! - centres[k * 3 + 1]!;
  const db = colours[pixel * 3 + 2]! - centres[k * 3 + 2]!;
  return dr * dr + dg * dg + db * db;
}

/** k-means++ seeding then Lloyd rounds on an evenly strided sample; returns the centres. */
function kmeansCentres(set: ColourSet, k: number, seed: number): Float64Array {
  const { colours, members } = set;
  const stride = Math.max(1, Math.floor(members.length / KMEANS_SAMPLES));
  const sample = new Int32Array(Math.ceil(members.length / stride));
  for (let i = 0, s = 0; i < members.length; i += stride) sample[s++] = members[i]!;
  const n = sample.length;
  const random = createRandom(seed);
  const centres = new Float64Array(k * 3);
  const nearest = new Float64Array(n);
  const first = sample[Math.floor(random() * n)]!;
  for (let c = 0; c < 3; c++) centres[c] = colours[first * 3 + c]!;
  for (let i = 0; i < n; i++) nearest[i] = squaredDistance(colours, sample[i]!, centres, 0);
  for (let j = 1; j < k; j++) {
    let total = 0;
    for (let i = 0; i < n; i++) total += nearest[i]!;
    let pick = n - 1;
    if (total > 0) {
      let target = random() * total;
      for (let i = 0; i < n; i++) {
        target -= nearest[i]!;
        if (target < 0) {
          pick = i;
          break;
        }
      }
    } else pick = Math.floor(random() * n);
    for (let c = 0; c < 3; c++) centres[j * 3 + c] = colours[sample[pick]! * 3 + c]!;
    for (let i = 0; i < n; i++) nearest[i] = Math.min(nearest[i]!, squaredDistance(colours, sample[i]!, centres, j));
  }
  const sums = new Float64Array(k * 3);
  const counts = new Float64Array(k);
  for (let round = 0; round < KMEANS_ROUNDS; round++) {
    sums.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const pixel = sample[i]!;
      const best = nearestCentre(colours, pixel, centres, k);
      counts[best]!++;
      for (let c = 0; c < 3; c++) sums[best * 3 + c]! += colours[pixel * 3 + c]!;
    }
    let moved = false;
    for (let j = 0; j < k; j++) {
      if (counts[j] === 0) continue;
      for (let c = 0; c < 3; c++) {
        const mean = sums[j * 3 + c]! / counts[j]!;
        if (mean !== centres[j * 3 + c]) moved = true;
        centres[j * 3 + c] = mean;
      }
    }
    if (!moved) break;
  }
  return centres;
}

function nearestCentre(colours: Float32Array, pixel: number, centres: Float64Array, k: number): number {
  let best = 0;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (let j = 0; j < k; j++) {
    const d = squaredDistance(colours, pixel, centres, j);
    if (d < bestDistance) {
      bestDistance = d;
      best = j;
    }
  }
  return best;
}

/**
 * Maximum-likelihood Gaussians of the members grouped by `component` (values 0..k−1), `floor` added to
 * each covariance's diagonal.
 */
function fitComponents(set: ColourSet, component: Uint8Array, k: number, floor = COVARIANCE_FLOOR): ColourModel {
  const { colours, members } = set;
  // Per component: count, 3 sums, 6 sums of products (rr rg rb gg gb bb).
  const acc = new Float64Array(k * 10);
  for (let i = 0; i < members.length; i++) {
    const p = members[i]! * 3;
    const r = colours[p]!;
    const g = colours[p + 1]!;
    const b = colours[p + 2]!;
    const a = component[i]! * 10;
    acc[a]!++;
    acc[a + 1]! += r;
    acc[a + 2]! += g;
    acc[a + 3]! += b;
    acc[a + 4]! += r * r;
    acc[a + 5]! += r * g;
    acc[a + 6]! += r * b;
    acc[a + 7]! += g * g;
    acc[a + 8]! += g * b;
    acc[a + 9]! += b * b;
  }
  let count = 0;
  for (let j = 0; j < k; j++) if (acc[j * 10]! > 0) count++;
  const model: ColourModel = {
    count,
    weights: new Float64Array(count),
    means: new Float64Array(count * 3),
    inverses: new Float64Array(count * 9),
    logScales: new Float64Array(count),
  };
  let out = 0;
  for (let j = 0; j < k; j++) {
    const a = j * 10;
    const n = acc[a]!;
    if (n === 0) continue;
    const mr = acc[a + 1]! / n;
    const mg = acc[a + 2]! / n;
    const mb = acc[a + 3]! / n;
    const crr = acc[a + 4]! / n - mr * mr + floor;
    const crg = acc[a + 5]! / n - mr * mg;
    const crb = acc[a + 6]! / n - mr * mb;
    const cgg = acc[a + 7]! / n - mg * mg + floor;
    const cgb = acc[a + 8]! / n - mg * mb;
    const cbb = acc[a + 9]! / n - mb * mb + floor;
    // Inverse of the symmetric 3 × 3 covariance by cofactors.
    const i00 = cgg * cbb - cgb * cgb;
    const i01 = crb * cgb - crg * cbb;
    const i02 = crg * cgb - crb * cgg;
    let det = crr * i00 + crg * i01 + crb * i02;
    if (!(det > 1e-9)) det = 1e-9;
    const i11 = crr * cbb - crb * crb;
    const i12 = crb * crg - crr * cgb;
    const i22 = crr * cgg - crg * crg;
    const inv = model.inverses;
    const o = out * 9;
    inv[o] = i00 / det;
    inv[o + 1] = i01 / det;
    inv[o + 2] = i02 / det;
    inv[o + 3] = i01 / det;
    inv[o + 4] = i11 / det;
    inv[o + 5] = i12 / det;
    inv[o + 6] = i02 / det;
    inv[o + 7] = i12 / det;
    inv[o + 8] = i22 / det;
    model.means[out * 3] = mr;
    model.means[out * 3 + 1] = mg;
    model.means[out * 3 + 2] = mb;
    model.weights[out] = n / members.length;
    model.logScales[out] = Math.log(n / members.length) - 0.5 * Math.log(det);
    out++;
  }
  return model;
}

/** ½ dᵀ Σ⁻¹ d for component k of the model at colour (r, g, b). */
function halfMahalanobis(model: ColourModel, k: number, r: number, g: number, b: number): number {
  const m = model.means;
  const inv = model.inverses;
  const dr = r - m[k * 3]!;
  const dg = g - m[k * 3 + 1]!;
  const db = b - m[k * 3 + 2]!;
  const o = k * 9;
  return (
    0.5 * (inv[o]! * dr * dr + inv[o + 4]! * dg * dg + inv[o + 8]! * db * db) +
    inv[o + 1]! * dr * dg +
    inv[o + 2]! * dr * db +
    inv[o + 5]! * dg * db
  );
}

/** log p(z) = log Σ_k π_k det(Σ_k)^-½ exp(−½ dᵀΣ_k⁻¹d), computed stably in the log domain. */
export function logDensity(model: ColourModel, r: number, g: number, b: number): number {
  // One pass of log-sum-exp with a running maximum.
  let best = Number.NEGATIVE_INFINITY;
  let sum = 0;
  for (let k = 0; k < model.count; k++) {
    const v = model.logScales[k]! - halfMahalanobis(model, k, r, g, b);
    if (v > best) {
      sum = sum * Math.exp(best - v) + 1;
      best = v;
    } else sum += Math.exp(v - best);
  }
  return best + Math.log(sum);
}

/** The component whose Gaussian (unweighted, as in OpenCV's grabCut) is most likely to have made z. */
export function likeliestComponent(model: ColourModel, r: number, g: number, b: number): number {
  let best = 0;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < model.count; k++) {
    const v = model.logScales[k]! - Math.log(model.weights[k]!) - halfMahalanobis(model, k, r, g, b);
    if (v > bestValue) {
      bestValue = v;
      best = k;
    }
  }
  return best;
}

/** A fresh model of the set: k-means++ (fixed seed) into min(K, n) clusters, then a Gaussian per cluster. */
export function fitColourModel(set: ColourSet, seed = 1): ColourModel {
  const k = Math.min(COMPONENTS, set.members.length);
  if (k === 0) throw new Error("fitColourModel needs at least one colour");
  const centres = kmeansCentres(set, k, seed);
  const component = new Uint8Array(set.members.length);
  for (let i = 0; i < set.members.length; i++) component[i] = nearestCentre(set.colours, set.members[i]!, centres, k);
  return fitComponents(set, component, k);
}

/** GrabCut's update: every colour of the set goes to its likeliest component of `model`, then each is refitted. */
export function refitColourModel(set: ColourSet, model: ColourModel): ColourModel {
  if (set.members.length === 0) return model;
  const component = new Uint8Array(set.members.length);
  const { colours, members } = set;
  for (let i = 0; i < members.length; i++) {
    const p = members[i]! * 3;
    component[i] = likeliestComponent(model, colours[p]!, colours[p + 1]!, colours[p + 2]!);
  }
  return fitComponents(set, component, model.count);
}

/** One Gaussian of the whole set, `floor` added to its covariance's diagonal (a deliberately wider model). */
export function fitGaussian(set: ColourSet, floor: number): ColourModel {
  if (set.members.length === 0) throw new Error("fitGaussian needs at least one colour");
  return fitComponents(set, new Uint8Array(set.members.length), 1, floor);
}
