import { describe, expect, it } from "vitest";
import { type BandJob, runBandsInOrder } from "../../../../src/providers/local/engine/bands.js";
import { createLevel, holeIndices, type Level } from "../../../../src/providers/local/engine/level.js";
import {
  type Field,
  findPatches,
  PATCH_RADIUS,
  type PatchSets,
  randomField,
} from "../../../../src/providers/local/engine/patchmatch.js";
import { createRandom } from "../../../../src/random.js";
import { bestProposal, distancePercentile, vote, voteBest } from "../../../../src/providers/local/engine/voting.js";
import { seededRandom } from "../images.js";

/** A noisy 4-channel level with a hole touching its left border and a random field over it. */
function setup(): { level: Level; sets: PatchSets; field: Field; holes: Int32Array } {
  const level = createLevel(48, 40, 4);
  const random = seededRandom(5);
  for (let i = 0; i < level.pixels.length; i++) level.pixels[i] = Math.floor(random() * 256);
  for (let y = 10; y < 26; y++) for (let x = 0; x < 14; x++) level.hole[y * 48 + x] = 1;
  for (let y = 20; y < 34; y++) for (let x = 30; x < 36; x++) level.hole[y * 48 + x] = 1;
  const sets = findPatches(level);
  const field = randomField(level, sets, createRandom(3));
  return { level, sets, field, holes: holeIndices(level.hole) };
}

const r = PATCH_RADIUS;

describe("vote", () => {
  it("sets every hole pixel to the weighted mean of what the patches covering it propose (as a scatter would)", () => {
    const { level, sets, field, holes } = setup();
    const confidence = new Float32Array(48 * 40).map((_, i) => 0.5 + (i % 7) / 10);
    // The reference: scatter each target patch's weighted proposal onto the hole pixels it covers.
    const sigma2 = Math.max(distancePercentile(sets.targets, field.dist, 0.75), 1);
    const sums = new Float64Array(48 * 40 * 4);
    const weights = new Float64Array(48 * 40);
    for (const t of sets.targets) {
      const weight = confidence[t]! * Math.exp(-Math.min(field.dist[t]! / (2 * sigma2), 30));
      for (let dy = -r; dy <= r; dy++) {
        for (let dx = -r; dx <= r; dx++) {
          const q = t + dy * 48 + dx;
          if (!level.hole[q]) continue;
          weights[q]! += weight;
          for (let c = 0; c < 4; c++)
            sums[q * 4 + c]! += weight * level.pixels[(field.nnf[t]! + dy * 48 + dx) * 4 + c]!;
        }
      }
    }
    const before = Float32Array.from(level.pixels);
    vote(level, sets, field, holes, 0.75, confidence);
    for (let q = 0; q < 48 * 40; q++) {
      for (let c = 0; c < 4; c++) {
        if (level.hole[q]) expect(level.pixels[q * 4 + c]).toBeCloseTo(sums[q * 4 + c]! / weights[q]!, 2);
        else expect(level.pixels[q * 4 + c]).toBe(before[q * 4 + c]);
      }
    }
  });

  it("splits the hole into bands that give the same pixels in any order", () => {
    const run = (reverse: boolean) => {
      const { level, sets, field, holes } = setup();
      const seen: BandJob[] = [];
      vote(level, sets, field, holes, 0.75, new Float32Array(48 * 40).fill(1), (jobs) => {
        seen.push(...jobs);
        runBandsInOrder(reverse ? [...jobs].reverse() : jobs);
      });
      expect(seen.map((job) => [job.kind, job.first, job.end])).toEqual([
        ["vote", 0, Math.floor(holes.length / 2)],
        ["vote", Math.floor(holes.length / 2), holes.length],
      ]);
      return level.pixels;
    };
    expect(Buffer.compare(Buffer.from(run(false).buffer), Buffer.from(run(true).buffer))).toBe(0);
  });
});

describe("voteBest and bestProposal", () => {
  it("copy to each hole pixel what the best (lowest-distance) patch covering it proposes", () => {
    const { level, sets, field, holes } = setup();
    const expected = new Float32Array(level.pixels);
    for (const q of holes) {
      let best = -1;
      let bestD = Number.POSITIVE_INFINITY;
      for (const t of sets.targets) {
        const dx = (q % 48) - (t % 48);
        const dy = Math.floor(q / 48) - Math.floor(t / 48);
        if (Math.abs(dx) > r || Math.abs(dy) > r) continue;
        if (field.dist[t]! < bestD) {
          bestD = field.dist[t]!;
          best = field.nnf[t]! + dy * 48 + dx;
        }
      }
      expect(bestProposal(level, field, q)).toBe(best);
      for (let c = 0; c < 4; c++) expected[q * 4 + c] = level.pixels[best * 4 + c]!;
    }
    voteBest(level, field, holes);
    expect(Array.from(level.pixels)).toEqual(Array.from(expected));
  });

  it("proposes nothing for a pixel no target patch covers", () => {
    const { level, field } = setup();
    expect(bestProposal(level, field, 39 * 48 + 47)).toBe(-1);
    // A known pixel next to the hole is covered, and what it is proposed is a known pixel.
    const ring = bestProposal(level, field, 10 * 48 + 14);
    expect(ring).toBeGreaterThanOrEqual(0);
    expect(level.hole[ring]).toBe(0);
  });
});
