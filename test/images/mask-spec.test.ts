import { describe, expect, it } from "vitest";
import { FluxFillError } from "../../src/errors.js";
import {
  applyMaskModifiers,
  checkCoverage,
  chooseMaskRoute,
  MIN_MASKED_PIXELS,
  maskFromImageAlpha,
  maskFromMaskFile,
  tinyMaskProblem,
} from "../../src/images/mask-spec.js";
import type { RasterImage } from "../../src/images/raster.js";

const rgba = (pixels: number[][]): RasterImage => ({ data: Buffer.from(pixels.flat()), width: pixels.length, height: 1, channels: 4 });

function error(fn: () => unknown): FluxFillError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(FluxFillError);
    return e as FluxFillError;
  }
  throw new Error("expected an error");
}

describe("chooseMaskRoute", () => {
  it("picks the one route given, alpha when none is", () => {
    expect(chooseMaskRoute(true, {})).toBe("mask");
    expect(chooseMaskRoute(false, {})).toBe("alpha");
    expect(chooseMaskRoute(false, { mask_regions: [] })).toBe("mask_regions");
    expect(chooseMaskRoute(false, { mask_svg: "<svg/>" })).toBe("mask_svg");
    expect(chooseMaskRoute(false, { mask_svg: "<svg/>", alpha_convention: "transparent_is_inpaint", units: "px", fit_mask: false })).toBe("mask_svg");
  });

  it("names the conflicting fields", () => {
    expect(error(() => chooseMaskRoute(true, { mask_svg: "<svg/>" })).message).toBe(
      "Give only one way to mark the area: this call has mask and mask_svg.",
    );
    expect(error(() => chooseMaskRoute(true, { mask_regions: [], mask_svg: "x" })).message).toMatch(/mask and mask_regions and mask_svg/);
    expect(error(() => chooseMaskRoute(false, { mask_regions: [], alpha_convention: "openai" })).message).toMatch(/alpha_convention "openai" .* mask_regions/);
    expect(error(() => chooseMaskRoute(true, { units: "fraction" })).message).toMatch(/units "fraction" applies to mask_regions/);
    expect(error(() => chooseMaskRoute(false, { fit_mask: true })).message).toMatch(/fit_mask .* the image's transparency/);
  });
});

describe("alpha conventions", () => {
  const pixels = rgba([
    [10, 20, 30, 0],
    [200, 200, 200, 255],
    [255, 255, 255, 128],
  ]);
  it("image alpha: transparent or opaque is the area", () => {
    expect([...maskFromImageAlpha(pixels).data]).toEqual([255, 0, 127]);
    expect([...maskFromImageAlpha(pixels, "openai").data]).toEqual([255, 0, 127]);
    expect([...maskFromImageAlpha(pixels, "opaque_is_inpaint").data]).toEqual([0, 255, 128]);
  });
  it("mask file: luminance by default, alpha only (colour ignored) for openai and opaque_is_inpaint", () => {
    expect([...maskFromMaskFile(pixels).data]).toEqual([0, 200, 128]);
    expect([...maskFromMaskFile(pixels, "openai").data]).toEqual([255, 0, 127]);
    expect([...maskFromMaskFile(pixels, "opaque_is_inpaint").data]).toEqual([0, 255, 128]);
  });
  it("refuses an alpha convention for a mask file without transparency", () => {
    const rgb: RasterImage = { data: Buffer.alloc(3, 255), width: 1, height: 1, channels: 3 };
    expect(error(() => maskFromMaskFile(rgb, "openai")).message).toMatch(/mask file has no transparent pixels/);
  });
});

describe("modifiers and coverage", () => {
  it("inverts before growing", () => {
    const m: RasterImage = { data: Buffer.from([255, 255, 255, 255, 0, 255, 255, 255, 255]), width: 9, height: 1, channels: 1 };
    expect([...applyMaskModifiers(m, { invert_mask: true, grow_mask: 1 }).data]).toEqual([0, 0, 0, 255, 255, 255, 0, 0, 0]);
  });

  it("refuses empty and full masks, warns when nearly full", () => {
    expect(error(() => checkCoverage({ coverage: 0, bbox: null }, "mask_regions", {})).message).toMatch(/covers no pixel/);
    expect(error(() => checkCoverage({ coverage: 0, bbox: null }, "mask", { invert_mask: true })).message).toMatch(/after being inverted/);
    const full = error(() => checkCoverage({ coverage: 1, bbox: { x: 0, y: 0, width: 1, height: 1 } }, "mask", {}));
    expect(full.message).toMatch(/covers the whole image/);
    expect(full.suggestion).toMatch(/invert_mask/);
    expect(checkCoverage({ coverage: 0.95, bbox: null }, "mask", {})[0]).toMatch(/covers 95.0%/);
    expect(checkCoverage({ coverage: 0.5, bbox: null }, "mask", {})).toEqual([]);
  });
});

describe("tinyMaskProblem", () => {
  it("refuses 1..63 masked pixels with the count and the image size; 0 and 64+ are not its business", () => {
    const of = (count: number) => tinyMaskProblem({ coverage: count / (600 * 400), bbox: null }, 600, 400);
    expect(MIN_MASKED_PIXELS).toBe(64);
    expect(of(1)?.message).toBe("The mask marks only 1 pixel of the 600×400 image; flux_fill needs at least 64, so nothing was sent.");
    expect(of(63)?.details).toEqual({ masked_pixels: 63, width: 600, height: 400 });
    expect(of(63)?.kind).toBe("bad_input");
    expect(of(0)).toBeUndefined();
    expect(of(64)).toBeUndefined();
  });
});
