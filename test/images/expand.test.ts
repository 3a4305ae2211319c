import { describe, expect, it } from "vitest";
import { FluxFillError } from "../../src/errors.js";
import { type Anchor, parseAspectRatio, resolveExpansion, sidesForAspectRatio } from "../../src/images/expand.js";

const NO_SIDES = { top: 0, bottom: 0, left: 0, right: 0 };
const LIMIT = 50_000_000;

function errorOf(run: () => unknown): FluxFillError {
  try {
    run();
  } catch (error) {
    if (error instanceof FluxFillError) return error;
    throw error;
  }
  throw new Error("expected a FluxFillError");
}

describe("parseAspectRatio", () => {
  it("reads width:height and width/height, with decimals and spaces", () => {
    expect(parseAspectRatio("16:9")).toBeCloseTo(16 / 9, 12);
    expect(parseAspectRatio(" 4 / 5 ")).toBeCloseTo(0.8, 12);
    expect(parseAspectRatio("2.39:1")).toBeCloseTo(2.39, 12);
  });

  it.each(["16x9", "wide", "16:", ":9", "0:1", "1:0", "-16:9", "16:9:1", "100:1", ""])(
    "rejects %j with the accepted form",
    (text) => {
      const error = errorOf(() => parseAspectRatio(text));
      expect(error.kind).toBe("bad_input");
      expect(error.message).toMatch(/aspect_ratio must be width:height.*"16:9"/);
    },
  );
});

describe("sidesForAspectRatio", () => {
  it("grows only the short dimension: width for a wider ratio, height for a taller one", () => {
    // 1000×1000 to 16:9 → 1778 wide (1777.78 rounded): 778 new columns, split 389/389.
    expect(sidesForAspectRatio(1000, 1000, 16 / 9, "center")).toEqual({ top: 0, bottom: 0, left: 389, right: 389 });
    // 1000×500 to 4:5 → 1250 high: 750 new rows.
    expect(sidesForAspectRatio(1000, 500, 4 / 5, "center")).toEqual({ top: 375, bottom: 375, left: 0, right: 0 });
  });

  it("puts the odd pixel of a centred split on the right and at the bottom", () => {
    // 100×100 to 3:2 → 150 wide: 50 columns, even. 101×100 to 3:2 → 150: 49 columns → 24 left, 25 right.
    expect(sidesForAspectRatio(101, 100, 3 / 2, "center")).toEqual({ top: 0, bottom: 0, left: 24, right: 25 });
    // 100×99 to 1:1 → 100 high: 1 row, at the bottom.
    expect(sidesForAspectRatio(100, 99, 1, "center")).toEqual({ top: 0, bottom: 1, left: 0, right: 0 });
    expect(sidesForAspectRatio(100, 97, 1, "left")).toEqual({ top: 1, bottom: 2, left: 0, right: 0 });
  });

  it("keeps the photo at its anchor: all new pixels go to the opposite side", () => {
    const wider = (anchor: Anchor) => sidesForAspectRatio(90, 90, 2, anchor);
    expect(wider("left")).toEqual({ top: 0, bottom: 0, left: 0, right: 90 });
    expect(wider("right")).toEqual({ top: 0, bottom: 0, left: 90, right: 0 });
    expect(wider("top_left")).toEqual(wider("left"));
    expect(wider("bottom_right")).toEqual(wider("right"));
    // A vertical anchor does not decide a horizontal growth: centred.
    expect(wider("top")).toEqual({ top: 0, bottom: 0, left: 45, right: 45 });
    const taller = (anchor: Anchor) => sidesForAspectRatio(90, 90, 0.5, anchor);
    expect(taller("bottom")).toEqual({ top: 90, bottom: 0, left: 0, right: 0 });
    expect(taller("top_right")).toEqual({ top: 0, bottom: 90, left: 0, right: 0 });
    expect(taller("bottom_left")).toEqual(taller("bottom"));
    expect(taller("right")).toEqual({ top: 45, bottom: 45, left: 0, right: 0 });
  });

  it("returns no sides when the image already has the ratio to the nearest pixel", () => {
    expect(sidesForAspectRatio(1920, 1080, 16 / 9, "center")).toEqual(NO_SIDES);
    expect(sidesForAspectRatio(1080, 1350, 4 / 5, "center")).toEqual(NO_SIDES);
    // One pixel off is not the ratio: 1921×1080 gets a row (1921 ÷ 16/9 = 1080.6).
    expect(sidesForAspectRatio(1921, 1080, 16 / 9, "center")).toEqual({ top: 0, bottom: 1, left: 0, right: 0 });
  });
});

describe("resolveExpansion", () => {
  it("passes explicit sides through with the canvas they make", () => {
    const sides = { top: 10, bottom: 0, left: 3, right: 2048 };
    expect(resolveExpansion(100, 50, { sides }, LIMIT)).toEqual({ sides, width: 2151, height: 60, notes: [] });
  });

  it("computes sides from a ratio; zero sides beside it are not a conflict", () => {
    expect(resolveExpansion(160, 120, { sides: NO_SIDES, aspectRatio: "16:9", anchor: "left" }, LIMIT)).toEqual({
      sides: { top: 0, bottom: 0, left: 0, right: 53 },
      width: 213,
      height: 120,
      notes: [],
    });
  });

  it("adds the given sides first, then grows the dimension short of the ratio, placed by the anchor", () => {
    // "16:9 with more sky" on a 640×427 photo: top 113 → 640×540, then the width grows to 960 (160 + 160).
    expect(resolveExpansion(640, 427, { sides: { ...NO_SIDES, top: 113 }, aspectRatio: "16:9" }, LIMIT)).toEqual({
      sides: { top: 113, bottom: 0, left: 160, right: 160 },
      width: 960,
      height: 540,
      notes: [],
    });
    const withAnchor = (anchor: Anchor) =>
      resolveExpansion(640, 427, { sides: { ...NO_SIDES, top: 113 }, aspectRatio: "16:9", anchor }, LIMIT).sides;
    expect(withAnchor("left")).toEqual({ top: 113, bottom: 0, left: 0, right: 320 });
    expect(withAnchor("bottom_right")).toEqual({ top: 113, bottom: 0, left: 320, right: 0 });
    // Sides that make the canvas wider than the ratio: the height grows instead (1140×427 → 641 high).
    const wide = resolveExpansion(640, 427, { sides: { ...NO_SIDES, left: 500 }, aspectRatio: "16:9", anchor: "bottom" }, LIMIT);
    expect(wide).toMatchObject({ sides: { top: 214, bottom: 0, left: 500, right: 0 }, width: 1140, height: 641, notes: [] });
    // Sides that reach the ratio by themselves: nothing more (1280×720 is 16:9).
    expect(resolveExpansion(1280, 640, { sides: { ...NO_SIDES, bottom: 80 }, aspectRatio: "16:9" }, LIMIT).sides).toEqual({
      ...NO_SIDES,
      bottom: 80,
    });
  });

  it.each([
    // [anchor, ratio, side to give instead]: an anchor across the dimension that grows places nothing.
    ["bottom", "16:9", "top"],
    ["top", "16:9", "bottom"],
    ["left", "4:5", "right"],
    ["right", "4:5", "left"],
  ] as const)("notes that anchor %s cannot place %s growth and names the side %s", (anchor, ratio, side) => {
    const resolved = resolveExpansion(640, 427, { sides: NO_SIDES, aspectRatio: ratio, anchor }, LIMIT);
    expect(resolved.notes).toHaveLength(1);
    expect(resolved.notes[0]).toMatch(new RegExp(`anchor "${anchor}" could not apply: reaching ${ratio} from 640×427 grows the (width|height)`));
    expect(resolved.notes[0]).toContain(`give "${side}" in pixels`);
    // Growth is centred, as for "center".
    expect(resolved.sides).toEqual(resolveExpansion(640, 427, { sides: NO_SIDES, aspectRatio: ratio }, LIMIT).sides);
  });

  it("the issue's case: 16:9 with anchor bottom on a 3:2 photo widens it, centred, and says how to add sky", () => {
    const resolved = resolveExpansion(640, 427, { sides: NO_SIDES, aspectRatio: "16:9", anchor: "bottom" }, LIMIT);
    expect(resolved.sides).toEqual({ top: 0, bottom: 0, left: 59, right: 60 });
    expect(resolved.notes[0]).toMatch(/grows the width \(left 59, right 60 px, centred\)\. To add rows above the photo \(e\.g\. sky\), give "top"/);
  });

  it("gives no note for an anchor along the growth, a corner or the centre", () => {
    for (const anchor of ["left", "right", "top_left", "bottom_right", "center"] as const)
      expect(resolveExpansion(640, 427, { sides: NO_SIDES, aspectRatio: "16:9", anchor }, LIMIT).notes, anchor).toEqual([]);
    for (const anchor of ["top", "bottom", "top_right", "bottom_left"] as const)
      expect(resolveExpansion(640, 427, { sides: NO_SIDES, aspectRatio: "4:5", anchor }, LIMIT).notes, anchor).toEqual([]);
  });

  it("refuses fewer than 8 new pixels in total, and takes 8", () => {
    // "3:2" on 640×427 adds one column (427 × 1.5 = 640.5 → 641).
    const ratio = errorOf(() => resolveExpansion(640, 427, { sides: NO_SIDES, aspectRatio: "3:2" }, LIMIT));
    expect(ratio.message).toMatch(/the 640×427 image is already 3:2 \(to within 1 px\); fewer than 8 new pixels are refused/);
    const sides = errorOf(() => resolveExpansion(640, 427, { sides: { ...NO_SIDES, top: 3, left: 4 } }, LIMIT));
    expect(sides.message).toMatch(/top 3, bottom 0, left 4, right 0 adds 7 px in total; fewer than 8 are refused/);
    expect(sides.suggestion).toMatch(/at least 8/);
    expect(resolveExpansion(640, 427, { sides: { ...NO_SIDES, top: 4, left: 4 } }, LIMIT).width).toBe(644);
    // Sides of 8 or more with a ratio that adds a pixel more: fine.
    expect(resolveExpansion(640, 419, { sides: { ...NO_SIDES, top: 8 }, aspectRatio: "3:2" }, LIMIT).sides).toEqual({
      top: 8,
      bottom: 0,
      left: 0,
      right: 1,
    });
  });

  it.each([
    ["an unreadable ratio", { sides: NO_SIDES, aspectRatio: "wide" }, /aspect_ratio must be width:height/],
    ["an anchor without a ratio", { sides: { ...NO_SIDES, top: 8 }, anchor: "top" as const }, /anchor only applies with aspect_ratio/],
    ["nothing to expand", { sides: NO_SIDES }, /Nothing to expand: top, bottom, left and right are all 0/],
    ["a ratio the image already has", { sides: NO_SIDES, aspectRatio: "4:3" }, /Nothing worth expanding: the 160×120 image is already 4:3 \(to the nearest pixel\)/],
  ])("rejects %s", (_name, geometry, message) => {
    const error = errorOf(() => resolveExpansion(160, 120, geometry, LIMIT));
    expect(error.kind).toBe("bad_input");
    expect(error.message).toMatch(message);
    expect(error.suggestion).toBeTruthy();
  });

  it("rejects a ratio that needs more than 2048 px on a side, naming the sides", () => {
    expect(resolveExpansion(3000, 1000, { sides: NO_SIDES, aspectRatio: "1:1", anchor: "top" }, LIMIT).sides.bottom).toBe(2000);
    const over = errorOf(() => resolveExpansion(5000, 1000, { sides: NO_SIDES, aspectRatio: "1:1", anchor: "top" }, LIMIT));
    expect(over.message).toMatch(/needs top 0, bottom 4000, left 0, right 0 px, and the upstream adds at most 2048 px per side/);
  });

  it("rejects a canvas over the pixel limit, at the limit's edge", () => {
    const sides = { ...NO_SIDES, right: 100 };
    expect(resolveExpansion(100, 100, { sides }, 20_000).width).toBe(200);
    const error = errorOf(() => resolveExpansion(100, 100, { sides }, 19_999));
    expect(error.message).toMatch(/200×100 .* over this server's limit .*FLUX_FILL_MAX_INPUT_MP/);
  });
});
