import { describe, expect, it } from "vitest";
import { createLevel, type Level } from "../../../../src/providers/local/engine/level.js";
import { type BandJob, runBandsInOrder } from "../../../../src/providers/local/engine/bands.js";
import {
  bandRanges,
  FIELD_BANDS,
  findPatches,
  improveField,
  PATCH_RADIUS,
  patchDistance,
  randomField,
  refreshDistances,
  type SearchJob,
} from "../../../../src/providers/local/engine/patchmatch.js";
import { createRandom } from "../../../../src/random.js";
import { seededRandom } from "../images.js";

function noiseLevel(width: number, height: number): Level {
  const level = createLevel(width, height, 3);
  const random = seededRandom(17);
  for (let i = 0; i < level.pixels.length; i++) level.pixels[i] = Math.floor(random() * 256);
  return level;
}

describe("findPatches", () => {
  it("splits interior patch centres into targets (touching the hole) and valid sources", () => {
    const level = createLevel(20, 16, 3);
    level.hole[8 * 20 + 10] = 1;
    const { targets, valid, validCount } = findPatches(level);
    const side = 2 * PATCH_RADIUS + 1;
    expect(targets.length).toBe(side * side);
    expect(validCount).toBe((20 - 2 * PATCH_RADIUS) * (16 - 2 * PATCH_RADIUS) - side * side);
    expect(valid.reduce((sum, v) => sum + v, 0)).toBe(validCount);
    for (const t of targets) expect(valid[t]).toBe(0);
    expect(valid[0]).toBe(0); // on the border: no whole patch fits
  });
});

describe("findPatches on any hole", () => {
  it.each([
    [23, 17, 0.05],
    [40, 9, 0.2],
    [7, 7, 0.1],
    [6, 30, 0.1],
  ])("agrees with checking every pixel of every patch (%i×%i, %f of it hole)", (width, height, share) => {
    const level = createLevel(width, height, 3);
    const random = seededRandom(width * height);
    for (let i = 0; i < width * height; i++) level.hole[i] = random() < share ? 1 : 0;
    const { targets, valid, validCount } = findPatches(level);
    const expectedTargets: number[] = [];
    let expectedValid = 0;
    for (let y = PATCH_RADIUS; y < height - PATCH_RADIUS; y++) {
      for (let x = PATCH_RADIUS; x < width - PATCH_RADIUS; x++) {
        let touches = false;
        for (let dy = -PATCH_RADIUS; dy <= PATCH_RADIUS; dy++) {
          for (let dx = -PATCH_RADIUS; dx <= PATCH_RADIUS; dx++)
            touches ||= level.hole[(y + dy) * width + x + dx] === 1;
        }
        if (touches) expectedTargets.push(y * width + x);
        else expectedValid++;
        expect(valid[y * width + x]).toBe(touches ? 0 : 1);
      }
    }
    expect(Array.from(targets)).toEqual(expectedTargets);
    expect(validCount).toBe(expectedValid);
  });
});

describe("PatchMatch", () => {
  it("finds an exact copy of a patch elsewhere in the picture", () => {
    // Smooth but nowhere repeating, so neighbouring offsets score alike and the search can home in.
    const level = createLevel(60, 50, 3);
    for (let i = 0; i < 60 * 50; i++) {
      const x = i % 60;
      const y = Math.floor(i / 60);
      level.pixels[i * 3] = 128 + 60 * Math.sin(x * 0.31 + y * 0.17);
      level.pixels[i * 3 + 1] = 128 + 60 * Math.sin(x * 0.13 - y * 0.29 + 1);
      level.pixels[i * 3 + 2] = 128 + 60 * Math.cos(x * 0.07 * y * 0.05);
    }
    // Copy a 15×15 block from (5,5) to (38,30), then put a one-pixel hole in the copy's centre.
    for (let y = 0; y < 15; y++) {
      for (let x = 0; x < 15; x++) {
        for (let c = 0; c < 3; c++)
          level.pixels[((30 + y) * 60 + 38 + x) * 3 + c] = level.pixels[((5 + y) * 60 + 5 + x) * 3 + c]!;
      }
    }
    const target = (30 + 7) * 60 + 38 + 7;
    level.hole[target] = 1;
    const sets = findPatches(level);
    const field = randomField(level, sets, createRandom(1));
    improveField(level, sets, field, 8, createRandom(2), 100);
    expect(field.nnf[target]).toBe((5 + 7) * 60 + 5 + 7);
    expect(field.dist[target]).toBe(0);
  });

  it("abandons a distance once it passes the bound", () => {
    const level = noiseLevel(30, 30);
    const a = 10 * 30 + 10;
    const b = 20 * 30 + 20;
    const full = patchDistance(level, a, b, Number.POSITIVE_INFINITY);
    expect(full).toBeGreaterThan(0);
    expect(patchDistance(level, a, a, Number.POSITIVE_INFINITY)).toBe(0);
    const partial = patchDistance(level, a, b, 1);
    expect(partial).toBeGreaterThanOrEqual(1);
    expect(partial).toBeLessThanOrEqual(full);
  });
});

describe("the patch search's bands", () => {
  function holeLevel() {
    const level = noiseLevel(70, 60);
    for (let y = 20; y < 40; y++) for (let x = 25; x < 45; x++) level.hole[y * 70 + x] = 1;
    return level;
  }

  it("cover every target once, in fixed bands", () => {
    const level = holeLevel();
    const sets = findPatches(level);
    const field = randomField(level, sets, createRandom(1));
    const seen: SearchJob[] = [];
    improveField(level, sets, field, 1, createRandom(2), 20, (jobs) => seen.push(...(jobs as SearchJob[])));
    expect(seen).toHaveLength(FIELD_BANDS);
    expect(seen.map((j) => [j.first, j.end])).toEqual([
      [0, Math.floor(sets.targets.length / 2)],
      [Math.floor(sets.targets.length / 2), sets.targets.length],
    ]);
    expect(new Set(seen.map((j) => j.seed)).size).toBe(FIELD_BANDS);
  });

  it("are independent: run in any order they give the same field (so threads may run them at once)", () => {
    const level = holeLevel();
    const sets = findPatches(level);
    const run = (reverse: boolean) => {
      const field = randomField(level, sets, createRandom(1));
      const random = createRandom(2);
      const runner = (jobs: BandJob[]) => runBandsInOrder(reverse ? [...jobs].reverse() : jobs);
      improveField(level, sets, field, 3, random, 30, runner);
      refreshDistances(level, sets, field, runner);
      return field;
    };
    const forward = run(false);
    const backward = run(true);
    expect(Buffer.compare(Buffer.from(forward.nnf.buffer), Buffer.from(backward.nnf.buffer))).toBe(0);
    expect(Buffer.compare(Buffer.from(forward.dist.buffer), Buffer.from(backward.dist.buffer))).toBe(0);
    // And the search did something: most targets moved off their random start.
    const start = randomField(level, sets, createRandom(1));
    let moved = 0;
    for (const t of sets.targets) if (forward.nnf[t] !== start.nnf[t]) moved++;
    expect(moved / sets.targets.length).toBeGreaterThan(0.5);
  });

  it("keep the field in shared memory, so a helper thread writes the same arrays", () => {
    const level = holeLevel();
    const sets = findPatches(level);
    const field = randomField(level, sets, createRandom(1));
    for (const array of [level.pixels, sets.valid, sets.targets, field.nnf, field.dist]) {
      expect(array.buffer).toBeInstanceOf(SharedArrayBuffer);
    }
  });
});

describe("bandRanges", () => {
  it("splits items into FIELD_BANDS fixed, numbered ranges and leaves out empty ones", () => {
    expect(FIELD_BANDS).toBe(2);
    expect(bandRanges(11)).toEqual([
      { band: 0, first: 0, end: 5 },
      { band: 1, first: 5, end: 11 },
    ]);
    expect(bandRanges(1)).toEqual([{ band: 1, first: 0, end: 1 }]);
    expect(bandRanges(0)).toEqual([]);
  });
});
