import { describe, expect, it } from "vitest";
import {
  bandFor,
  CROP_MAX_PIXELS,
  CROP_MIN_PIXELS,
  contextBox,
  describeSent,
  planStitch,
  WHOLE_MAX_PIXELS,
} from "../../src/images/stitch-plan.js";

const PHOTO_24MP = { width: 6000, height: 4000 };

describe("contextBox", () => {
  it("grows the mask's box by half its longer side on each side, rounded up to 32 px, around the mask", () => {
    const box = contextBox(PHOTO_24MP, { x: 2000, y: 1500, width: 1000, height: 400 });
    // 1000 + 2×500 = 2000 → 2016; 400 + 2×500 = 1400 → 1408
    expect([box.width, box.height]).toEqual([2016, 1408]);
    expect(box.x).toBeLessThanOrEqual(2000 - 500);
    expect(box.x + box.width).toBeGreaterThanOrEqual(3000 + 500);
    expect([box.width % 32, box.height % 32]).toEqual([0, 0]);
  });

  it("grows at least 64 px and is at least 512×512 where the photo is that big", () => {
    const box = contextBox(PHOTO_24MP, { x: 100, y: 100, width: 20, height: 10 });
    expect([box.width, box.height]).toEqual([512, 512]);
    // At the photo's corner it grows inwards, staying inside.
    expect([box.x, box.y]).toEqual([0, 0]);
    const small = contextBox({ width: 300, height: 200 }, { x: 100, y: 80, width: 20, height: 10 });
    expect(small).toEqual({ x: 0, y: 0, width: 300, height: 200 });
  });
});

describe("planStitch", () => {
  it("crops a small mask's context box and enlarges it to 1-2 MP on the 32 px grid", () => {
    const plan = planStitch(PHOTO_24MP, { x: 3000, y: 2000, width: 100, height: 80 }, "auto");
    expect(plan.kind).toBe("crop");
    expect([plan.area.width, plan.area.height]).toEqual([512, 512]);
    expect(plan.scale).toBeGreaterThan(1);
    const pixels = plan.sent.width * plan.sent.height;
    expect(pixels).toBeGreaterThanOrEqual(CROP_MIN_PIXELS);
    expect(pixels).toBeLessThanOrEqual(CROP_MAX_PIXELS);
    expect([plan.sent.width % 32, plan.sent.height % 32]).toEqual([0, 0]);
    // Never distorted: one scale for both sides (to the pixel).
    expect(Math.abs(plan.content.width / plan.area.width - plan.content.height / plan.area.height)).toBeLessThan(0.01);
  });

  it("reduces a large context box to at most 2 MP; the embedded engine's small boxes stay at scale 1", () => {
    const large = planStitch(PHOTO_24MP, { x: 1500, y: 1000, width: 1500, height: 1000 }, "auto");
    expect(large.kind).toBe("crop");
    expect(large.scale).toBeLessThan(1);
    expect(large.sent.width * large.sent.height).toBeLessThanOrEqual(CROP_MAX_PIXELS);
    const local = planStitch(PHOTO_24MP, { x: 3000, y: 2000, width: 100, height: 80 }, "auto", { enlarge: false });
    expect([local.scale, local.sent.width, local.sent.height]).toEqual([1, 512, 512]);
  });

  it("sends the whole photo when the box is 80 % of it or more, reduced to 4 MP and padded to 32", () => {
    const plan = planStitch(PHOTO_24MP, { x: 500, y: 500, width: 5000, height: 3000 }, "auto");
    expect(plan.kind).toBe("whole");
    expect(plan.sent.width * plan.sent.height).toBeLessThanOrEqual(WHOLE_MAX_PIXELS);
    expect([plan.sent.width % 32, plan.sent.height % 32]).toEqual([0, 0]);
    const odd = planStitch({ width: 1000, height: 750 }, { x: 100, y: 100, width: 800, height: 500 }, "auto");
    expect([odd.kind, odd.scale, odd.sent.width, odd.sent.height]).toEqual(["whole", 1, 1024, 768]);
    const onGrid = planStitch({ width: 1024, height: 768 }, { x: 100, y: 100, width: 800, height: 500 }, "auto");
    expect(onGrid.kind).toBe("as_is");
  });

  it("crop off sends the photo as it is", () => {
    const plan = planStitch(PHOTO_24MP, { x: 3000, y: 2000, width: 100, height: 80 }, "off");
    expect([plan.kind, plan.sent.width, plan.sent.height]).toEqual(["as_is", 6000, 4000]);
    expect(describeSent(plan)).toBe("the whole 6000×4000 photo as it is");
  });

  it("bands ~2 % of the context box's diagonal, 8..48 px", () => {
    expect(bandFor({ x: 0, y: 0, width: 512, height: 512 })).toBe(14);
    expect(bandFor({ x: 0, y: 0, width: 100, height: 100 })).toBe(8);
    expect(bandFor({ x: 0, y: 0, width: 6000, height: 4000 })).toBe(48);
  });
});
