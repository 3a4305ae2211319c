import { describe, expect, it } from "vitest";
import {
  addSelection,
  blackWhitePixels,
  clearMask,
  createMask,
  distanceToSegmentSquared,
  formatCoverage,
  INPAINT,
  invertMask,
  KEEP,
  type Mask,
  maskCoverage,
  maskFromRgba,
  overlayPixels,
  paintEllipse,
  paintRect,
  paintStroke,
  pixelBox,
  resampleMask,
  rgbFromRgba,
  scaleBox,
  UndoHistory,
  unionBox,
  viewToMask,
  workingSize,
} from "../../src/app/mask-math.js";

/** Every painted pixel, as "x,y" strings. */
function painted(mask: Mask): Set<string> {
  const out = new Set<string>();
  for (let y = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++) if (mask.data[y * mask.width + x] === INPAINT) out.add(`${x},${y}`);
  }
  return out;
}

/** The pixels whose centres satisfy `inside`, by brute force over the whole mask (the reference). */
function expected(width: number, height: number, inside: (cx: number, cy: number) => boolean): Set<string> {
  const out = new Set<string>();
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (inside(x + 0.5, y + 0.5)) out.add(`${x},${y}`);
  return out;
}

function boxContains(box: { x: number; y: number; width: number; height: number } | null, pixels: Set<string>) {
  for (const key of pixels) {
    const [x, y] = key.split(",").map(Number) as [number, number];
    expect(box).not.toBeNull();
    expect(x >= box!.x && x < box!.x + box!.width && y >= box!.y && y < box!.y + box!.height, key).toBe(true);
  }
}

describe("createMask", () => {
  it("is all keep, one byte per pixel", () => {
    const mask = createMask(7, 3);
    expect(mask.data.length).toBe(21);
    expect(mask.data.every((v) => v === KEEP)).toBe(true);
  });

  it.each([
    [0, 3],
    [3, 0],
    [2.5, 3],
    [-1, 4],
  ])("refuses the size %s×%s", (w, h) => {
    expect(() => createMask(w, h)).toThrow(/positive integer size/);
  });
});

describe("pixelBox and unionBox", () => {
  it("keeps the pixels whose centres can fall in the range, clipped to the mask", () => {
    expect(pixelBox({ width: 10, height: 10 }, 1.5, 2.5, 3.5, 2.5)).toEqual({ x: 1, y: 2, width: 3, height: 1 });
    expect(pixelBox({ width: 10, height: 10 }, -5, -5, 2, 2)).toEqual({ x: 0, y: 0, width: 2, height: 2 });
    expect(pixelBox({ width: 10, height: 10 }, 9.6, 0, 20, 1)).toBeNull();
    expect(pixelBox({ width: 10, height: 10 }, 4, 4, 1, 1)).toEqual({ x: 1, y: 1, width: 3, height: 3 });
  });

  it("unites boxes and treats null as empty", () => {
    const a = { x: 1, y: 1, width: 2, height: 2 };
    const b = { x: 5, y: 0, width: 1, height: 1 };
    expect(unionBox(a, b)).toEqual({ x: 1, y: 0, width: 5, height: 3 });
    expect(unionBox(null, b)).toBe(b);
    expect(unionBox(a, null)).toBe(a);
  });
});

describe("distanceToSegmentSquared", () => {
  it("measures to the nearest point of the segment, ends included", () => {
    const a = { x: 0, y: 0 };
    const b = { x: 10, y: 0 };
    expect(distanceToSegmentSquared({ x: 5, y: 3 }, a, b)).toBe(9);
    expect(distanceToSegmentSquared({ x: -3, y: 4 }, a, b)).toBe(25);
    expect(distanceToSegmentSquared({ x: 13, y: 4 }, a, b)).toBe(25);
    expect(distanceToSegmentSquared({ x: 1, y: 1 }, a, a)).toBe(2);
  });
});

describe("paintStroke", () => {
  it("paints exactly the pixels within the radius of the polyline", () => {
    const mask = createMask(40, 30);
    const points = [
      { x: 5, y: 5 },
      { x: 30, y: 12 },
      { x: 20, y: 25 },
    ];
    const radius = 3.2;
    const box = paintStroke(mask, points, radius, INPAINT);
    const reference = expected(40, 30, (x, y) =>
      [0, 1].some((i) => distanceToSegmentSquared({ x, y }, points[i]!, points[i + 1]!) <= radius * radius),
    );
    expect(painted(mask)).toEqual(reference);
    boxContains(box, reference);
  });

  it("paints a disc for a single point", () => {
    const mask = createMask(21, 21);
    paintStroke(mask, [{ x: 10.5, y: 10.5 }], 4, INPAINT);
    expect(painted(mask)).toEqual(expected(21, 21, (x, y) => (x - 10.5) ** 2 + (y - 10.5) ** 2 <= 16));
    expect(painted(mask).size).toBe(49); // the pixel-centre disc of radius 4 (Gauss circle count)
  });

  it("paints at least the pixel under a tiny brush", () => {
    const mask = createMask(5, 5);
    paintStroke(mask, [{ x: 2.5, y: 3.5 }], 0.01, INPAINT);
    expect(painted(mask)).toEqual(new Set(["2,3"]));
  });

  it("erases with KEEP and clips at the edges", () => {
    const mask = createMask(10, 10);
    mask.data.fill(INPAINT);
    const box = paintStroke(mask, [{ x: 0, y: 0 }], 2, KEEP);
    expect(box).toEqual({ x: 0, y: 0, width: 2, height: 2 });
    expect(painted(mask).has("0,0")).toBe(false);
    expect(painted(mask).has("1,0")).toBe(false);
    expect(painted(mask).has("0,1")).toBe(false);
    expect(painted(mask).has("1,1")).toBe(true); // centre (1.5, 1.5) is sqrt(4.5) > 2 away
    expect(painted(mask).has("2,0")).toBe(true); // centre at 2.5 > radius 2
    expect(painted(mask).size).toBe(97);
  });

  it("does nothing without points or entirely off the mask", () => {
    const mask = createMask(10, 10);
    expect(paintStroke(mask, [], 5, INPAINT)).toBeNull();
    expect(paintStroke(mask, [{ x: -50, y: -50 }], 5, INPAINT)).toBeNull();
    expect(painted(mask).size).toBe(0);
  });
});

describe("paintRect and paintEllipse", () => {
  it("fills the rectangle between two corners in either order", () => {
    const a = createMask(20, 20);
    const b = createMask(20, 20);
    const box = paintRect(a, { x: 3, y: 4 }, { x: 11, y: 9 }, INPAINT);
    paintRect(b, { x: 11, y: 9 }, { x: 3, y: 4 }, INPAINT);
    expect(box).toEqual({ x: 3, y: 4, width: 8, height: 5 });
    expect(painted(a)).toEqual(expected(20, 20, (x, y) => x >= 3 && x <= 11 && y >= 4 && y <= 9));
    expect(painted(b)).toEqual(painted(a));
    expect(maskCoverage(a)).toBeCloseTo(40 / 400, 10);
  });

  it("fills the ellipse inscribed in the corners' rectangle", () => {
    const mask = createMask(50, 40);
    const box = paintEllipse(mask, { x: 5, y: 8 }, { x: 45, y: 28 }, INPAINT);
    const reference = expected(50, 40, (x, y) => ((x - 25) / 20) ** 2 + ((y - 18) / 10) ** 2 <= 1);
    expect(painted(mask)).toEqual(reference);
    boxContains(box, reference);
    // Area close to pi * rx * ry.
    expect(reference.size / (Math.PI * 20 * 10)).toBeGreaterThan(0.95);
    expect(reference.size / (Math.PI * 20 * 10)).toBeLessThan(1.05);
  });

  it("draws nothing for a degenerate ellipse or a rectangle outside", () => {
    const mask = createMask(10, 10);
    expect(paintEllipse(mask, { x: 2, y: 2 }, { x: 2, y: 8 }, INPAINT)).toBeNull();
    expect(paintRect(mask, { x: 20, y: 20 }, { x: 30, y: 30 }, INPAINT)).toBeNull();
    expect(painted(mask).size).toBe(0);
  });
});

describe("invert, clear, coverage", () => {
  it("inverts every pixel (soft values mirrored) and inverting twice restores", () => {
    const mask = createMask(4, 4);
    paintRect(mask, { x: 0, y: 0 }, { x: 2, y: 4 }, INPAINT);
    mask.data[15] = 100;
    const before = mask.data.slice();
    expect(invertMask(mask)).toEqual({ x: 0, y: 0, width: 4, height: 4 });
    expect(maskCoverage(mask)).toBe(8 / 16); // 7 kept pixels became 255, and the soft 100 became 155 (>= 128)
    expect(mask.data[15]).toBe(155);
    expect(mask.data[0]).toBe(KEEP);
    invertMask(mask);
    expect(mask.data).toEqual(before);
  });

  it("counts pixels at or above 128 as inpaint", () => {
    const mask = createMask(4, 1);
    mask.data.set([0, 127, 128, 255]);
    expect(maskCoverage(mask)).toBe(0.5);
    clearMask(mask);
    expect(maskCoverage(mask)).toBe(0);
  });

  it("formats coverage without rounding to 0 % or 100 % wrongly", () => {
    expect(formatCoverage(0)).toBe("0 %");
    expect(formatCoverage(1)).toBe("100 %");
    expect(formatCoverage(0.125)).toBe("12.5 %");
    expect(formatCoverage(0.5)).toBe("50 %");
    expect(formatCoverage(1 / 1_000_000)).toBe("0.01 %");
    expect(formatCoverage(0.00037)).toBe("0.03 %");
    expect(formatCoverage(0.99999)).toBe("99.9 %");
  });
});

describe("sizes and coordinates", () => {
  it("keeps small images at their size and scales big ones to the longest side", () => {
    expect(workingSize(800, 600, 1536)).toEqual({ width: 800, height: 600 });
    expect(workingSize(6000, 4000, 1536)).toEqual({ width: 1536, height: 1024 });
    expect(workingSize(100, 5000, 1000)).toEqual({ width: 20, height: 1000 });
  });

  it("maps displayed CSS pixels to mask pixels, clamped to the mask", () => {
    const view = { width: 400, height: 300 };
    const mask = { width: 1600, height: 1200 };
    expect(viewToMask(100, 150, view, mask)).toEqual({ x: 400, y: 600 });
    expect(viewToMask(-10, 500, view, mask)).toEqual({ x: 0, y: 1200 });
  });

  it("resamples with nearest neighbour and re-binarises", () => {
    const source = createMask(2, 2);
    source.data.set([255, 0, 130, 90]);
    const big = resampleMask(source, 4, 4);
    expect(Array.from(big.data)).toEqual([255, 255, 0, 0, 255, 255, 0, 0, 255, 255, 0, 0, 255, 255, 0, 0]);
  });
});

describe("pixels in and out", () => {
  it("overlays only the box, alpha from the mask value", () => {
    const mask = createMask(3, 2);
    mask.data.set([0, 255, 128, 255, 0, 0]);
    const rgba = overlayPixels(mask, { x: 1, y: 0, width: 2, height: 1 }, [10, 20, 30], 0.5);
    expect(Array.from(rgba)).toEqual([10, 20, 30, 128, 10, 20, 30, 64]);
  });

  it("exports opaque black and white, and reads it back unchanged", () => {
    const mask = createMask(5, 4);
    paintEllipse(mask, { x: 0, y: 0 }, { x: 5, y: 4 }, INPAINT);
    const rgba = blackWhitePixels(mask);
    expect(rgba.length).toBe(80);
    for (let i = 0; i < 20; i++) {
      expect([rgba[i * 4], rgba[i * 4 + 1], rgba[i * 4 + 2], rgba[i * 4 + 3]]).toEqual([
        mask.data[i],
        mask.data[i],
        mask.data[i],
        255,
      ]);
    }
    expect(maskFromRgba(rgba, 5, 4).data).toEqual(mask.data);
  });

  it("reads masks by luminance and treats transparent pixels as keep", () => {
    // white, green (luminance 182), blue (18), transparent white
    const rgba = [255, 255, 255, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255, 255, 255, 0];
    expect(Array.from(maskFromRgba(rgba, 4, 1).data)).toEqual([255, 255, 0, 0]);
  });
});

describe("UndoHistory", () => {
  it("restores snapshots last-first and drops the oldest past the limit", () => {
    const mask = createMask(2, 1);
    const history = new UndoHistory(2);
    for (const value of [1, 2, 3]) {
      history.record(mask);
      mask.data.fill(value);
    }
    expect(history.size).toBe(2);
    expect(history.undo(mask)).toBe(true);
    expect(Array.from(mask.data)).toEqual([2, 2]);
    expect(history.undo(mask)).toBe(true);
    expect(Array.from(mask.data)).toEqual([1, 1]);
    expect(history.undo(mask)).toBe(false); // the state before 1 was dropped
    expect(Array.from(mask.data)).toEqual([1, 1]);
  });

  it("keeps copies, not references", () => {
    const mask = createMask(1, 1);
    const history = new UndoHistory();
    history.record(mask);
    mask.data[0] = 255;
    history.undo(mask);
    expect(mask.data[0]).toBe(0);
    history.clear();
    expect(history.size).toBe(0);
  });
});

describe("selection tools' helpers", () => {
  it("rgbFromRgba drops the alpha and keeps the colours in order", () => {
    const rgba = [1, 2, 3, 255, 4, 5, 6, 0, 7, 8, 9, 128];
    const rgb = rgbFromRgba(rgba, 3, 1);
    expect(Array.from(rgb.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([rgb.width, rgb.height, rgb.channels]).toEqual([3, 1, 3]);
  });

  it("addSelection paints selected pixels (at or above mid-grey) and returns the box of what changed", () => {
    const mask = createMask(5, 4);
    mask.data[0] = INPAINT; // already set: not a change
    const selected = new Uint8Array(20);
    selected[0] = 255;
    selected[1 * 5 + 2] = 200;
    selected[3 * 5 + 3] = 128;
    selected[2 * 5 + 4] = 127; // below the threshold: ignored
    expect(addSelection(mask, selected)).toEqual({ x: 2, y: 1, width: 2, height: 3 });
    expect(maskCoverage(mask)).toBeCloseTo(3 / 20);
    expect(mask.data[2 * 5 + 4]).toBe(KEEP);
    expect(addSelection(mask, selected)).toBeNull();
  });

  it("addSelection keeps only what lies inside the box it is given", () => {
    const mask = createMask(5, 4);
    const selected = new Uint8Array(20).fill(255);
    expect(addSelection(mask, selected, { x: 1, y: 1, width: 2, height: 2 })).toEqual({ x: 1, y: 1, width: 2, height: 2 });
    expect(maskCoverage(mask)).toBeCloseTo(4 / 20);
    expect(mask.data[0]).toBe(KEEP);
    // A box partly off the mask is clipped to it.
    expect(addSelection(mask, selected, { x: 3, y: -2, width: 9, height: 3 })).toEqual({ x: 3, y: 0, width: 2, height: 1 });
  });

  it("scaleBox turns a dragged box into the whole image pixels that contain it", () => {
    const editor = { width: 1536, height: 1024 };
    const image = { width: 6000, height: 4000 };
    // 6000 / 1536 = 3.90625 per editor pixel: 100.5 → 392.58 (floor 392), 300.25 → 1172.85 (ceil 1173).
    expect(scaleBox({ x: 100.5, y: 10, width: 199.75, height: 20 }, editor, image)).toEqual({
      x: 392,
      y: 39,
      width: 1173 - 392,
      height: Math.ceil(30 * (4000 / 1024)) - 39,
    });
    // Same size: whole pixels around a fractional box; clipped at the edges; nothing when outside.
    expect(scaleBox({ x: 1.2, y: 2.8, width: 3, height: 1 }, image, image)).toEqual({ x: 1, y: 2, width: 4, height: 2 });
    expect(scaleBox({ x: 5990, y: -5, width: 50, height: 10 }, image, image)).toEqual({ x: 5990, y: 0, width: 10, height: 5 });
    expect(scaleBox({ x: 7000, y: 0, width: 5, height: 5 }, image, image)).toBeNull();
  });
});
