/**
 * Every way of giving the mask, end to end: a real SDK Client calls flux_fill on the real server, the
 * upstream emulator records what it received, and the mask it got is decoded and compared pixel for pixel
 * with the mask the call describes.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/client";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { featherMask } from "../../src/images/morphology.js";
import { FluxFillOutput } from "../../src/schema/tool.js";
import {
  decodeRaw,
  encodeRaster,
  insideShape,
  makeMask,
  makePhoto,
  makeRgbaWithHole,
  maskPixels,
  objectScenePixels,
  orientedAs,
  type Shape,
} from "../helpers/images.js";
import { callTool, textOf as text } from "../helpers/mcp.js";
import { useServerOnEmulator } from "../helpers/use-emulator.js";

const KEY = "test-mask-key-77";
const { emulator, server } = useServerOnEmulator(
  { apiKey: KEY, generationMs: 30 },
  { FLUX_FILL_POLL_INTERVAL_MS: "10", FLUX_FILL_TIMEOUT_S: "20" },
);

const W = 96;
const H = 64;

async function file(name: string, bytes: Buffer | Promise<Buffer>): Promise<string> {
  const target = path.join(server.workDir, name);
  await writeFile(target, await bytes);
  return target;
}

const call = (args: Record<string, unknown>) => callTool(server.client, "flux_fill", { prompt: "p", seed: 1, ...args });

/** Fills, expects success, and returns the mask and image the emulator received, decoded. */
async function sentMask(args: Record<string, unknown>) {
  const result = await call(args);
  expect(result.isError, text(result)).toBeFalsy();
  expect(emulator.submitCount).toBe(1);
  const submit = emulator.submits[0]!;
  const body = submit.body as Record<string, unknown>;
  // Mask options are tool-only: the upstream never sees them.
  for (const field of ["mask_regions", "mask_svg", "units", "alpha_convention", "invert_mask", "grow_mask", "feather_mask", "fit_mask"]) {
    expect(body, field).not.toHaveProperty(field);
  }
  const mask = await decodeRaw(submit.mask!);
  expect(mask.channels).toBe(1);
  return { mask, image: await decodeRaw(submit.image!), result };
}

/** Asserts equality and, on failure, says how many pixels differ and where the first one is. */
function expectSameMask(actual: { data: Buffer; width: number; height: number }, expected: { data: Buffer; width: number; height: number }) {
  expect([actual.width, actual.height]).toEqual([expected.width, expected.height]);
  let diff = 0;
  let first = -1;
  for (let i = 0; i < expected.data.length; i++) {
    if (actual.data[i] !== expected.data[i]) {
      diff++;
      if (first < 0) first = i;
    }
  }
  expect(diff, `first difference at x=${first % expected.width}, y=${Math.floor(first / expected.width)}`).toBe(0);
}

const photo = () => file("photo.png", makePhoto(W, H, { seed: 11 }));

describe("mask routes reach the upstream pixel for pixel", () => {
  it("mask_regions in pixels: rect and ellipse, unioned", async () => {
    const shapes: Shape[] = [
      { kind: "rect", x: 5, y: 6, width: 20, height: 10 },
      { kind: "ellipse", cx: 60.5, cy: 40.25, rx: 18.5, ry: 12 },
    ];
    const { mask } = await sentMask({
      image: await photo(),
      mask_regions: [
        { shape: "rect", x: 5, y: 6, width: 20, height: 10 },
        { shape: "ellipse", cx: 60.5, cy: 40.25, rx: 18.5, ry: 12 },
      ],
    });
    expectSameMask(mask, maskPixels(W, H, shapes));
  });

  it("mask_regions as fractions of width and height", async () => {
    const { mask } = await sentMask({
      image: await photo(),
      units: "fraction",
      mask_regions: [
        { shape: "rect", x: 0.25, y: 0.5, width: 0.5, height: 0.25 },
        { shape: "ellipse", cx: 0.5, cy: 0.25, rx: 0.125, ry: 0.125 },
      ],
    });
    expectSameMask(
      mask,
      maskPixels(W, H, [
        { kind: "rect", x: 24, y: 32, width: 48, height: 16 },
        { kind: "ellipse", cx: 48, cy: 16, rx: 12, ry: 8 },
      ]),
    );
  });

  it("a polygon (an L shape equals the union of two rects)", async () => {
    const { mask } = await sentMask({
      image: await photo(),
      mask_regions: [{ shape: "polygon", points: [[10, 10], [40, 10], [40, 20], [20, 20], [20, 50], [10, 50]] }],
    });
    expectSameMask(
      mask,
      maskPixels(W, H, [
        { kind: "rect", x: 10, y: 10, width: 30, height: 10 },
        { kind: "rect", x: 10, y: 20, width: 10, height: 30 },
      ]),
    );
  });

  it("mask_svg, in image pixels and in viewBox fractions", async () => {
    const inPixels = await sentMask({ image: await photo(), mask_svg: '<svg><rect x="30" y="12" width="40" height="24" fill="white"/></svg>' });
    expectSameMask(inPixels.mask, maskPixels(W, H, { kind: "rect", x: 30, y: 12, width: 40, height: 24 }));
    emulator.reset();
    const inFractions = await sentMask({
      image: await photo(),
      mask_svg: '<svg viewBox="0 0 1 1" preserveAspectRatio="none"><rect x="0.5" y="0.5" width="0.5" height="0.5" fill="white"/></svg>',
    });
    expectSameMask(inFractions.mask, maskPixels(W, H, { kind: "rect", x: 48, y: 32, width: 48, height: 32 }));
  });

  it("the image's alpha, transparent_is_inpaint (default) and opaque_is_inpaint", async () => {
    const hole: Shape = { kind: "rect", x: 20, y: 10, width: 30, height: 20 };
    const image = await file("cutout.png", makeRgbaWithHole(W, H, hole));
    const transparent = await sentMask({ image });
    expectSameMask(transparent.mask, maskPixels(W, H, hole));
    expect(transparent.image.channels).toBe(3); // sent opaque, the alpha became the mask
    emulator.reset();
    const opaque = await sentMask({ image, alpha_convention: "opaque_is_inpaint" });
    const inverted = maskPixels(W, H, hole);
    for (let i = 0; i < inverted.data.length; i++) inverted.data[i] = 255 - inverted.data[i]!;
    expectSameMask(opaque.mask, inverted);
  });

  it('an OpenAI-style mask file (transparent = edit) with alpha_convention "openai"', async () => {
    const hole: Shape = { kind: "ellipse", cx: 50, cy: 30, rx: 15, ry: 10 };
    const openaiMask = maskPixels(W, H, hole);
    const rgba = Buffer.alloc(W * H * 4);
    for (let i = 0; i < W * H; i++) rgba[i * 4 + 3] = 255 - openaiMask.data[i]!; // black, transparent in the hole
    const mask = await file("openai-mask.png", encodeRaster({ data: rgba, width: W, height: H, channels: 4 }));
    const { mask: sent } = await sentMask({ image: await photo(), mask, alpha_convention: "openai" });
    expectSameMask(sent, maskPixels(W, H, hole));
  });

  it("invert_mask, grow_mask and feather_mask on a mask file", async () => {
    const rect: Shape = { kind: "rect", x: 30, y: 20, width: 20, height: 12 };
    const mask = await file("mask.png", makeMask(W, H, rect));

    const inverted = await sentMask({ image: await photo(), mask, invert_mask: true });
    const expectedInverted = maskPixels(W, H, rect);
    for (let i = 0; i < expectedInverted.data.length; i++) expectedInverted.data[i] = 255 - expectedInverted.data[i]!;
    expectSameMask(inverted.mask, expectedInverted);

    emulator.reset();
    const grown = await sentMask({ image: await photo(), mask, grow_mask: 5 });
    // Grown = every pixel within 5 px (Euclidean, centres) of the rect's pixels: rounded corners.
    const expectedGrown = Buffer.alloc(W * H);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const dx = Math.max(30 - x, 0, x - 49);
        const dy = Math.max(20 - y, 0, y - 31);
        if (dx * dx + dy * dy <= 25) expectedGrown[y * W + x] = 255;
      }
    }
    expectSameMask(grown.mask, { data: expectedGrown, width: W, height: H });

    emulator.reset();
    const feathered = await sentMask({ image: await photo(), mask, grow_mask: 5, feather_mask: 6 });
    expectSameMask(feathered.mask, featherMask({ data: expectedGrown, width: W, height: H, channels: 1 }, 6));
    const soft = feathered.mask.data.filter((v) => v > 0 && v < 255).length;
    expect(soft).toBeGreaterThan(100); // the edge really is soft
  });

  it("fit_mask stretches a half-size mask to the image (nearest neighbour, binary)", async () => {
    const small = await file("small-mask.png", makeMask(W / 2, H / 2, { kind: "rect", x: 5, y: 4, width: 10, height: 6 }));
    const refused = await call({ image: await photo(), mask: small });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/The mask is 48×32 but the image is 96×64.*fit_mask: true/s);
    const { mask } = await sentMask({ image: await photo(), mask: small, fit_mask: true });
    expectSameMask(mask, maskPixels(W, H, { kind: "rect", x: 10, y: 8, width: 20, height: 12 }));
  });

  it("applies EXIF orientation before drawing: shapes land where the user sees them", async () => {
    // Displayed 96×64; stored rotated (orientation 6) as 64×96.
    const rotated = await file("phone.jpg", orientedAs(await makePhoto(W, H, { format: "jpeg", seed: 3 }), 6, "jpeg"));
    const { mask, image } = await sentMask({
      image: rotated,
      units: "fraction",
      mask_regions: [{ shape: "rect", x: 0, y: 0, width: 0.25, height: 0.5 }],
    });
    expect([image.width, image.height]).toEqual([W, H]);
    expectSameMask(mask, maskPixels(W, H, { kind: "rect", x: 0, y: 0, width: 24, height: 32 }));
  });
});

describe("bad mask inputs fail clearly, before any upstream call", () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ["two routes", { mask: "mask.png", mask_regions: [{ shape: "rect", x: 0, y: 0, width: 5, height: 5 }] }, /this call has mask and mask_regions/],
    ["svg and shapes", { mask_svg: "<svg/>", mask_regions: [{ shape: "rect", x: 0, y: 0, width: 5, height: 5 }] }, /mask_regions and mask_svg/],
    ["an empty shape", { mask_regions: [{ shape: "rect", x: 3, y: 3, width: 0, height: 5 }] }, /mask_regions\[0\]\.width is 0, so the shape is empty/],
    ["a negative size", { mask_regions: [{ shape: "ellipse", cx: 3, cy: 3, rx: 4, ry: -2 }] }, /mask_regions\[0\]\.ry is -2; sizes must be positive/],
    ["a fraction over 1", { units: "fraction", mask_regions: [{ shape: "rect", x: 0.5, y: 0.5, width: 1.2, height: 0.1 }] }, /width is 1.2, but with units "fraction" it must be between 0 and 1/],
    ["an empty list of shapes", { mask_regions: [] }, /mask_regions must be a list of at least one shape/],
    ["an unknown shape", { mask_regions: [{ shape: "star", x: 1 }] }, /mask_regions entry must be an object with shape "rect", "ellipse", "polygon", "object" or "wand"/],
    ["an object box of zero width", { mask_regions: [{ shape: "object", x: 3, y: 3, width: 0, height: 5 }] }, /mask_regions\[0\]\.width is 0, so the shape is empty/],
    ["an object box of negative height", { mask_regions: [{ shape: "object", x: 3, y: 3, width: 5, height: -4 }] }, /mask_regions\[0\]\.height is -4; sizes must be positive/],
    ["an object box wholly outside", { mask_regions: [{ shape: "object", x: 100, y: 3, width: 20, height: 20 }] }, /mask_regions\[0\] lies entirely outside the 96×64 image/],
    ["an include point outside the box", { mask_regions: [{ shape: "object", x: 10, y: 10, width: 20, height: 20, include: [[50, 15]] }] }, /mask_regions\[0\]\.include\[0\] \(50, 15\) lies outside the object's box/],
    ["a wand seed outside the image", { mask_regions: [{ shape: "wand", x: 96, y: 10 }] }, /mask_regions\[0\] is a wand whose seed \(x, y\) lies outside the 96×64 image/],
    ["a wand seed outside in fractions", { units: "fraction", mask_regions: [{ shape: "wand", x: 0.5, y: 1.2 }] }, /mask_regions\[0\]\.y is 1.2, but with units "fraction" it must be between 0 and 1/],
    ["a wand tolerance over 255", { mask_regions: [{ shape: "wand", x: 5, y: 5, tolerance: 300 }] }, /wand tolerance must be a number from 0 to 255/],
    ["a negative wand tolerance", { mask_regions: [{ shape: "wand", x: 5, y: 5, tolerance: -1 }] }, /wand tolerance must be a number from 0 to 255/],
    ["an unknown op", { mask_regions: [{ shape: "rect", x: 0, y: 0, width: 5, height: 5, op: "intersect" }] }, /op must be "add" or "subtract"/],
    ["a field of another shape", { mask_regions: [{ shape: "wand", x: 5, y: 5, width: 3 }] }, /width/],
    ["only subtracting", { mask_regions: [{ shape: "rect", x: 0, y: 0, width: 5, height: 5, op: "subtract" }] }, /marks nothing|empty|nothing to inpaint/],
    ["too many selections", { mask_regions: Array.from({ length: 9 }, () => ({ shape: "wand", x: 5, y: 5 })) }, /9 object and wand entries; at most 8/],
    ["malformed SVG", { mask_svg: '<svg><rect width="10"' }, /mask_svg could not be rendered/],
    ["SVG with an external href", { mask_svg: '<svg><use href="https://evil.example/x.svg#a"/></svg>' }, /only links to elements of the same document/],
    ["SVG with a script", { mask_svg: "<svg><script>alert(1)</script></svg>" }, /<script> element/],
    ["SVG that draws nothing white", { mask_svg: '<svg><rect width="10" height="10" fill="black"/></svg>' }, /mask_svg draws nothing white/],
    ["a full mask", { mask_regions: [{ shape: "rect", x: 0, y: 0, width: 96, height: 64 }] }, /covers the whole image/],
    ["a mask inverted to nothing", { mask_regions: [{ shape: "rect", x: 0, y: 0, width: 96, height: 64 }], invert_mask: true }, /after being inverted/],
    ["grow_mask out of range", { mask_regions: [{ shape: "rect", x: 0, y: 0, width: 5, height: 5 }], grow_mask: -1 }, /grow_mask must be an integer from 0 to 512/],
    ["fit_mask without a mask file", { mask_regions: [{ shape: "rect", x: 0, y: 0, width: 5, height: 5 }], fit_mask: true }, /fit_mask resizes a mask file/],
  ];
  it.each(cases)("%s", async (_name, args, pattern) => {
    await file("mask.png", makeMask(W, H, { kind: "rect", x: 1, y: 1, width: 5, height: 5 }));
    const result = await call({ image: await photo(), ...args });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(pattern);
    expect(emulator.submitCount).toBe(0);
  });

  it("a 100k-point polygon is refused quickly, and the server keeps serving", async () => {
    const points = Array.from({ length: 100_000 }, (_, i) => [i % W, (i * 7) % H]);
    const started = Date.now();
    const result = await call({ image: await photo(), mask_regions: [{ shape: "polygon", points }] });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/at most 10000/);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(emulator.submitCount).toBe(0);
    const ok = await call({ image: await photo(), mask_regions: [{ shape: "rect", x: 1, y: 1, width: 10, height: 10 }] });
    expect(ok.isError, text(ok)).toBeFalsy();
  });
});

describe("object and wand entries: the mask the upstream receives is the selection", () => {
  const scene = objectScenePixels(W * 2, H * 2, 4);
  const SW = scene.raster.width;
  const SH = scene.raster.height;
  const sceneFile = () => file("scene.png", encodeRaster(scene.raster));
  const disk = scene.disk as Extract<Shape, { kind: "ellipse" }>;
  /** The disk's bounding box padded 5 % per side, as an agent would give it. */
  const box = {
    x: disk.cx - disk.rx * 1.1,
    y: disk.cy - disk.ry * 1.1,
    width: disk.rx * 2.2,
    height: disk.ry * 2.2,
  };
  const expected = (inside: (x: number, y: number) => boolean) => {
    const data = Buffer.alloc(SW * SH);
    for (let y = 0; y < SH; y++) for (let x = 0; x < SW; x++) if (inside(x, y)) data[y * SW + x] = 255;
    return { data, width: SW, height: SH };
  };
  const iou = (a: Buffer, b: Buffer) => {
    let both = 0;
    let either = 0;
    for (let i = 0; i < a.length; i++) {
      if (a[i]! > 127 && b[i]! > 127) both++;
      if (a[i]! > 127 || b[i]! > 127) either++;
    }
    return both / either;
  };

  it("object: the disk inside its box, not the box; the reply says what decided", async () => {
    const { mask, result } = await sentMask({ image: await sceneFile(), mask_regions: [{ shape: "object", ...box }] });
    const truth = expected((x, y) => insideShape(disk, x, y));
    const boxOnly = expected((x, y) => x + 0.5 >= box.x && x + 0.5 < box.x + box.width && y + 0.5 >= box.y && y + 0.5 < box.y + box.height);
    expect(iou(mask.data, truth.data)).toBeGreaterThan(0.9);
    expect(iou(mask.data, truth.data)).toBeGreaterThan(iou(boxOnly.data, truth.data) + 0.1);
    // The classic segmenter (the default without keys or weights) decided, with its confidence.
    expect(text(result)).toMatch(/mask_regions\[0\] \(object, segmenter classic, confidence (0|1)\.\d\d\): /);
  });

  it("wand: exactly the sky band (contiguous), and the same colour anywhere with contiguous false", async () => {
    const image = await sceneFile();
    const { mask } = await sentMask({ image, mask_regions: [{ shape: "wand", x: 3, y: 2 }] });
    expectSameMask(mask, expected((_x, y) => y < scene.skyRows));
    emulator.reset();
    const { mask: global } = await sentMask({ image, units: "fraction", mask_regions: [{ shape: "wand", x: 0.55, y: 0.6, contiguous: false }] });
    expectSameMask(global, expected((x, y) => y >= scene.skyRows && insideShape(disk, x, y)));
  });

  it("subtract: entries apply in order (ground rect minus the disk, picked by wand)", async () => {
    const { mask } = await sentMask({
      image: await sceneFile(),
      mask_regions: [
        { shape: "rect", x: 0, y: scene.skyRows, width: SW, height: SH - scene.skyRows },
        { shape: "wand", x: disk.cx, y: disk.cy, op: "subtract" },
      ],
    });
    expectSameMask(mask, expected((x, y) => y >= scene.skyRows && !insideShape(disk, x, y)));
    emulator.reset();
    // Order matters: subtracting first and adding after leaves the later entry whole.
    const { mask: reversed } = await sentMask({
      image: await sceneFile(),
      mask_regions: [
        { shape: "wand", x: disk.cx, y: disk.cy, op: "subtract" },
        { shape: "rect", x: 0, y: scene.skyRows, width: SW, height: SH - scene.skyRows },
      ],
    });
    expectSameMask(reversed, expected((_x, y) => y >= scene.skyRows));
  });

  it("preview_mask reports per entry what decided, and shows the mask flux_fill then sends", async () => {
    const image = await sceneFile();
    const regions = [
      { shape: "wand", x: 3, y: 2 },
      { shape: "object", ...box, op: "subtract" },
      { shape: "ellipse", cx: 10, cy: 60, rx: 6, ry: 6 },
    ];
    const preview = (await server.client.callTool(
      { name: "preview_mask", arguments: { image, mask_regions: regions } },
    )) as CallToolResult;
    expect(preview.isError, text(preview)).toBeFalsy();
    const structured = preview.structuredContent as { coverage: number; bbox: unknown; regions: Array<Record<string, unknown>> };
    expect(structured.regions.map((r) => [r.shape, r.op, r.decided])).toEqual([
      ["wand", "add", "segmented"],
      ["object", "subtract", expect.stringMatching(/^(segmented|fallback)$/)],
      ["ellipse", "add", "shape"],
    ]);
    expect(structured.regions[0]!.reason).toMatch(/\S/);
    expect(structured.regions[2]!.reason).toBeNull();
    const { mask } = await sentMask({ image, mask_regions: regions });
    let selected = 0;
    for (const v of mask.data) if (v > 127) selected++;
    expect(structured.coverage).toBeCloseTo((selected / mask.data.length) * 100, 2);
    expect(emulator.submitCount).toBe(1);
  });
});

describe("with crop off, sizes the model handles badly pass through unchanged, with a note", () => {
  it.each([
    [1000, 750, /not a multiple of 32/],
    [17, 13, /very small/],
  ])("%i×%i", async (width, height, note) => {
    const image = await file(`size-${width}.png`, makePhoto(width, height, { seed: 5 }));
    const { mask, image: sent, result } = await sentMask({
      image,
      crop: "off",
      units: "fraction",
      mask_regions: [{ shape: "rect", x: 0.1, y: 0.1, width: 0.8, height: 0.8 }],
    });
    expect([sent.width, sent.height, mask.width, mask.height]).toEqual([width, height, width, height]);
    const saved = FluxFillOutput.parse(result.structuredContent);
    expect([saved.width, saved.height]).toEqual([width, height]);
    expect(text(result)).toMatch(note);
  });

  it("a large (4.3 MP) JPEG is sent as it is and comes back at its size", async () => {
    const jpeg = await sharp({ create: { width: 2080, height: 2080, channels: 3, background: "#446688" } }).jpeg().toBuffer();
    const image = await file("large.jpg", jpeg);
    const { image: sent, result } = await sentMask({
      image,
      crop: "off",
      mask_regions: [{ shape: "rect", x: 100, y: 100, width: 300, height: 200 }],
    });
    expect([sent.width, sent.height]).toEqual([2080, 2080]);
    expect(emulator.submits[0]!.image!.equals(jpeg)).toBe(true);
    expect(text(result)).toMatch(/4.3 MP\) is large/);
  });
});
