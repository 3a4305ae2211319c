import { describe, expect, it } from "vitest";
import { FluxFillError } from "../../src/errors.js";
import { checkRegionGeometry, looksLikeFractions, shareOutside } from "../../src/images/region-checks.js";
import type { MaskRegion } from "../../src/images/regions.js";

function refusal(fn: () => unknown): FluxFillError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FluxFillError);
    expect((error as FluxFillError).kind).toBe("bad_input");
    return error as FluxFillError;
  }
  throw new Error("expected a refusal");
}

describe("looksLikeFractions", () => {
  it("every value within 0..1 for each shape, hint points included", () => {
    expect(looksLikeFractions({ shape: "rect", x: 0.4, y: 0.3, width: 0.2, height: 0.2 })).toBe(true);
    expect(looksLikeFractions({ shape: "ellipse", cx: 0.5, cy: 0.5, rx: 0.1, ry: 0.1 })).toBe(true);
    expect(looksLikeFractions({ shape: "polygon", points: [[0, 0], [1, 0], [0.5, 1]] })).toBe(true);
    expect(looksLikeFractions({ shape: "object", x: 0.1, y: 0.1, width: 0.5, height: 0.5, include: [[0.3, 0.3]] })).toBe(true);
    expect(looksLikeFractions({ shape: "object", x: 0.1, y: 0.1, width: 0.5, height: 0.5, include: [[30, 30]] })).toBe(false);
    expect(looksLikeFractions({ shape: "wand", x: 0.5, y: 0.05 })).toBe(true);
  });

  it("a value above 1 or below 0 means pixels; a wand seed on pixel 0 or 1 is a corner, not a fraction", () => {
    expect(looksLikeFractions({ shape: "rect", x: 0.4, y: 0.3, width: 2, height: 0.2 })).toBe(false);
    expect(looksLikeFractions({ shape: "rect", x: -0.1, y: 0.3, width: 0.2, height: 0.2 })).toBe(false);
    expect(looksLikeFractions({ shape: "wand", x: 0, y: 0 })).toBe(false);
    expect(looksLikeFractions({ shape: "wand", x: 1, y: 0 })).toBe(false);
    // A 1×1 rect at the corner in px is no useful mask either: refused like fractions.
    expect(looksLikeFractions({ shape: "rect", x: 0, y: 0, width: 1, height: 1 })).toBe(true);
  });
});

describe("checkRegionGeometry: fractions in px", () => {
  it("names the entries and the fix; nothing for units fraction", () => {
    const regions: MaskRegion[] = [
      { shape: "rect", x: 0.4, y: 0.3, width: 0.2, height: 0.2 },
      { shape: "ellipse", cx: 0.5, cy: 0.5, rx: 0.1, ry: 0.1 },
    ];
    const error = refusal(() => checkRegionGeometry(regions, "px", 600, 400));
    expect(error.message).toBe(
      'mask_regions[0] (rect) and mask_regions[1] (ellipse) have every coordinate and size within 0..1, but units is "px" (the default), so they mark at most a pixel of the 600×400 image. These look like fractions; add "units": "fraction".',
    );
    expect(error.suggestion).toMatch(/^Add "units": "fraction"/);
    expect(checkRegionGeometry(regions, "fraction", 600, 400)).toEqual([]);
  });

  it("mixed with pixel entries: names only the suspect one and says units applies to all", () => {
    const error = refusal(() =>
      checkRegionGeometry(
        [
          { shape: "rect", x: 10, y: 10, width: 50, height: 50 },
          { shape: "wand", x: 0.5, y: 0.1 },
        ],
        "px",
        600,
        400,
      ),
    );
    expect(error.message).toMatch(/^mask_regions\[1\] \(wand\) has every coordinate/);
    expect(error.suggestion).toMatch(/units applies to every entry/);
  });

  it("value errors still come first (a negative size is that error, not a fractions one)", () => {
    expect(refusal(() => checkRegionGeometry([{ shape: "rect", x: 0.1, y: 0.1, width: -0.2, height: 0.2 }], "px", 60, 40)).message).toMatch(
      /width is -0.2; sizes must be positive/,
    );
  });
});

describe("checkRegionGeometry: object boxes outside the image", () => {
  it("x1,y1,x2,y2 written as a box: refused, with the box it would be", () => {
    const error = refusal(() =>
      checkRegionGeometry([{ shape: "object", x: 320, y: 230, width: 410, height: 330 }], "px", 640, 427),
    );
    expect(error.message).toBe(
      "mask_regions[0] (object) box x=320, y=230, width=410, height=330 has 53% of its area outside the 640 × 427 px image; a box is x, y (top-left corner), width, height — not x1, y1, x2, y2. It looks like a second corner (x2=410, y2=330): as x, y, width, height that box is x=320, y=230, width=90, height=100.",
    );
    expect(error.suggestion).toMatch(/x=0, y=0, width=640, height=427 is the whole image/);
  });

  it("in fractions too, in the call's units", () => {
    const error = refusal(() =>
      checkRegionGeometry([{ shape: "object", x: 0.5, y: 0.5, width: 0.8, height: 0.9 }], "fraction", 640, 427),
    );
    expect(error.message).toMatch(/outside the 1 × 1 \(fractions\) image/);
    expect(error.message).toMatch(/that box is x=0.5, y=0.5, width=0.3, height=0.4\.$/);
  });

  it("no corner reading when the second corner would not fit either", () => {
    const error = refusal(() => checkRegionGeometry([{ shape: "object", x: 500, y: 10, width: 400, height: 50 }], "px", 640, 427));
    expect(error.message).not.toMatch(/second corner/);
  });

  it("up to a quarter outside: accepted, clipped with a note", () => {
    // 100×100 box, 25 columns past the right edge: exactly 25% outside.
    expect(checkRegionGeometry([{ shape: "object", x: 565, y: 100, width: 100, height: 100 }], "px", 640, 427)).toEqual([
      "Note: mask_regions[0] (object) ran past the right edge; clipped to x=565, y=100, width=75, height=100.",
    ]);
  });
});

describe("checkRegionGeometry: clip notes", () => {
  it("names the entry, the edges and the part kept, in the call's units", () => {
    const notes = checkRegionGeometry(
      [
        { shape: "rect", x: 10, y: 10, width: 20, height: 20 },
        { shape: "rect", x: 500, y: 350, width: 200, height: 100 },
        { shape: "ellipse", cx: 0, cy: 200, rx: 50, ry: 50, op: "subtract" },
        { shape: "polygon", points: [[300, -20], [350, 100], [250, 100]] },
      ],
      "px",
      600,
      400,
    );
    expect(notes).toEqual([
      "Note: mask_regions[1] (rect) ran past the right and bottom edges; clipped to x=500, y=350, width=100, height=50.",
      "Note: mask_regions[2] (ellipse, subtracted) ran past the left edge; clipped to the image (the part inside spans x=0, y=150, width=50, height=100).",
      "Note: mask_regions[3] (polygon) ran past the top edge; clipped to the image (the part inside spans x=250, y=0, width=100, height=100).",
    ]);
    expect(checkRegionGeometry([{ shape: "rect", x: 0.5, y: 0, width: 0.6, height: 1 }], "fraction", 600, 400)).toEqual([
      "Note: mask_regions[0] (rect) ran past the right edge; clipped to x=0.5, y=0, width=0.5, height=1.",
    ]);
  });

  it("no note for shapes that end exactly at the edge (fraction rounding included), for wands, or for entries wholly outside", () => {
    expect(checkRegionGeometry([{ shape: "rect", x: 0.3, y: 0.1, width: 0.7, height: 0.9 }], "fraction", 601, 401)).toEqual([]);
    expect(checkRegionGeometry([{ shape: "rect", x: 0, y: 0, width: 600.4, height: 400 }], "px", 600, 400)).toEqual([]);
    expect(checkRegionGeometry([{ shape: "wand", x: 10, y: 10 }], "px", 600, 400)).toEqual([]);
    expect(checkRegionGeometry([{ shape: "rect", x: 700, y: 10, width: 10, height: 10 }], "px", 600, 400)).toEqual([]);
  });
});

describe("shareOutside", () => {
  it("is the outside share of the box's area", () => {
    expect(shareOutside({ x0: 0, y0: 0, x1: 10, y1: 10 }, 10, 10)).toBe(0);
    expect(shareOutside({ x0: 5, y0: 0, x1: 15, y1: 10 }, 10, 10)).toBe(0.5);
    expect(shareOutside({ x0: 20, y0: 20, x1: 30, y1: 30 }, 10, 10)).toBe(1);
    expect(shareOutside({ x0: -5, y0: -5, x1: 5, y1: 5 }, 10, 10)).toBe(0.75);
  });
});
