import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { GLYPH_HEIGHT, labelPath, labelWidth, rulerMargins, rulerSvg, rulerTicks } from "../../src/images/ruler.js";

const labels = (ticks: ReturnType<typeof rulerTicks>) => ticks.filter((t) => t.label !== undefined).map((t) => t.label);

describe("rulerTicks", () => {
  it("labels round pixel values at least 48 picture px apart, with minor ticks between", () => {
    const ticks = rulerTicks(0, 512, 512, 512, "px");
    expect(labels(ticks)).toEqual(["0", "50", "100", "150", "200", "250", "300", "350", "400", "450", "500"]);
    expect(ticks.find((t) => t.label === "250")!.at).toBe(250);
    expect(ticks.filter((t) => t.label === undefined).length).toBeGreaterThan(0);
  });

  it("maps image pixels to the picture's scale (a 2400 px side on 480 px)", () => {
    const ticks = rulerTicks(0, 2400, 2400, 480, "px");
    expect(labels(ticks)).toEqual(["0", "500", "1000", "1500", "2000"]);
    expect(ticks.find((t) => t.label === "1000")!.at).toBe(200);
  });

  it("gives fractions of the image's side, also for a zoomed view starting inside it", () => {
    expect(labels(rulerTicks(0, 600, 600, 512, "fraction"))).toEqual(["0.0", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1.0"]);
    // A zoom on x 255..555 of a 600 px image, drawn 512 px wide: the labels are the image's own fractions.
    const zoom = rulerTicks(255, 300, 600, 512, "fraction");
    expect(labels(zoom)).toEqual(["0.45", "0.50", "0.55", "0.60", "0.65", "0.70", "0.75", "0.80", "0.85", "0.90"]);
    expect(zoom.find((t) => t.label === "0.50")!.at).toBeCloseTo(((0.5 * 600 - 255) * 512) / 300, 6);
  });

  it("labels a zoomed pixel view with the image's coordinates", () => {
    const ticks = rulerTicks(10, 120, 512, 480, "px");
    expect(labels(ticks)).toEqual(["20", "40", "60", "80", "100", "120"]);
    expect(ticks.find((t) => t.label === "20")!.at).toBe(40);
  });
});

describe("rulerSvg", () => {
  it("draws ticks and digits as strokes (no font needed) in bands along the top and left", async () => {
    const photo = { width: 200, height: 100 };
    const top = rulerTicks(0, 400, 400, 200, "px");
    const left = rulerTicks(0, 200, 400, 100, "px", 24);
    const margins = rulerMargins(left);
    expect(margins.top).toBeGreaterThan(GLYPH_HEIGHT);
    expect(margins.left).toBeGreaterThan(labelWidth("150"));
    expect(labelPath("1.5", 0, 0)).toMatch(/^M/);
    const svg = rulerSvg(photo, margins, top, left);
    expect(svg).not.toMatch(/<text/);
    const { data, info } = await sharp(Buffer.from(svg)).flatten({ background: "#808080" }).raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => data[(y * info.width + x) * info.channels]!;
    // The tick of "100" (image px) sits at picture x 50 of the photo, touching the photo's top edge.
    expect(at(margins.left + 50, margins.top - 1)).toBeLessThan(64);
    // Its label is drawn above it: dark strokes in the label's box.
    let ink = 0;
    for (let y = 0; y < margins.top - 5; y++) for (let x = margins.left + 40; x < margins.left + 60; x++) if (at(x, y) < 128) ink++;
    expect(ink).toBeGreaterThan(10);
    // Over the photo the SVG is transparent (the grey background shows).
    expect(at(margins.left + 100, margins.top + 50)).toBe(128);
  });
});
