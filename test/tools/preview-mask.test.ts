/**
 * preview_mask through a real SDK Client: no upstream call, a picture whose tinted pixels are exactly the
 * mask, coverage and bounding box in the text and structuredContent.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { type CallToolResult, CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OUTLINE, TINT } from "../../src/images/mask-preview.js";
import { PreviewMaskOutput } from "../../src/tools/preview-mask.js";
import { type Emulator, startEmulator } from "../helpers/emulator.js";
import { decodeRaw, makePhoto, makeRgbaWithHole, noisePixels, encodeRaster, orientedAs, photoPixels, type Shape, insideShape } from "../helpers/images.js";
import { startInMemory, type TestServer } from "../helpers/mcp.js";

const KEY = "preview-key";
let emulator: Emulator;
let server: TestServer;

beforeAll(async () => {
  emulator = await startEmulator({ apiKey: KEY });
  server = await startInMemory({ BFL_API_KEY: KEY, BFL_API_BASE_URL: emulator.apiBaseUrl });
});
afterAll(async () => {
  await server.close();
  await emulator.close();
});

async function file(name: string, bytes: Buffer | Promise<Buffer>): Promise<string> {
  const target = path.join(server.workDir, name);
  await writeFile(target, await bytes);
  return target;
}

async function preview(args: Record<string, unknown>): Promise<CallToolResult> {
  return (await server.client.callTool({ name: "preview_mask", arguments: args }, CallToolResultSchema)) as CallToolResult;
}

const text = (r: CallToolResult) => r.content.map((b) => (b.type === "text" ? b.text : "")).join("\n");

async function picture(result: CallToolResult) {
  const block = result.content.find((b) => b.type === "image") as { data: string; mimeType: string };
  expect(block.mimeType).toBe("image/png");
  return { bytes: Buffer.from(block.data, "base64"), raster: await decodeRaw(Buffer.from(block.data, "base64")) };
}

describe("preview_mask", () => {
  it("is listed read-only and idempotent, with coverage and bbox in its output schema", async () => {
    const { tools } = await server.client.listTools();
    const tool = tools.find((t) => t.name === "preview_mask")!;
    expect(tool.annotations).toMatchObject({ readOnlyHint: true, idempotentHint: true, destructiveHint: false });
    expect(Object.keys(tool.outputSchema?.properties ?? {})).toEqual(expect.arrayContaining(["coverage", "bbox", "width", "height"]));
    const fill = tools.find((t) => t.name === "flux_fill")!;
    expect(fill.description).toMatch(/preview_mask/);
    // Same mask fields as flux_fill, derived from the same definitions; the descriptions are given once, in
    // flux_fill, and preview_mask's own description points there.
    const withoutDescription = (schema: unknown) => ({ ...(schema as object), description: undefined });
    for (const field of ["image", "mask", "mask_regions", "mask_svg", "alpha_convention", "units", "invert_mask", "grow_mask", "feather_mask", "fit_mask"]) {
      const ours = tool.inputSchema.properties?.[field] as { description?: string };
      const theirs = fill.inputSchema.properties?.[field] as { description?: string };
      expect(withoutDescription(ours), field).toEqual(withoutDescription(theirs));
      expect(ours.description, field).toBeUndefined();
    }
    expect(tool.description).toMatch(/flux_fill.*image and mask fields/);
  });

  it("tints exactly the masked pixels and outlines the edge; reports coverage and bbox; calls nothing upstream", async () => {
    const image = await file("photo.png", makePhoto(96, 64, { seed: 9 }));
    const shape: Shape = { kind: "rect", x: 24, y: 16, width: 32, height: 20 };
    const result = await preview({ image, units: "fraction", mask_regions: [{ shape: "rect", x: 0.25, y: 0.25, width: 1 / 3, height: 0.3125 }] });
    expect(result.isError, text(result)).toBeFalsy();
    const out = PreviewMaskOutput.parse(result.structuredContent);
    expect(out).toMatchObject({ width: 96, height: 64, bbox: { x: 24, y: 16, width: 32, height: 20 }, preview: { width: 96, height: 64 } });
    expect(out.coverage).toBeCloseTo(((32 * 20) / (96 * 64)) * 100, 2);
    expect(text(result)).toContain(`covers ${out.coverage}% of the 96×64 image; bounding box x=24, y=16, 32×20 px`);

    const { raster } = await picture(result);
    const original = photoPixels(96, 64, 9);
    for (let y = 0; y < 64; y++) {
      for (let x = 0; x < 96; x++) {
        const o = (y * 96 + x) * 3;
        const got = [...raster.data.subarray(o, o + 3)];
        const orig = [...original.data.subarray(o, o + 3)];
        const inside = insideShape(shape, x, y);
        const edge = inside && (!insideShape(shape, x - 1, y) || !insideShape(shape, x + 1, y) || !insideShape(shape, x, y - 1) || !insideShape(shape, x, y + 1));
        if (!inside) expect(got, `keep ${x},${y}`).toEqual(orig);
        else if (edge) expect(got, `edge ${x},${y}`).toEqual([...OUTLINE]);
        else expect(got, `tint ${x},${y}`).toEqual(orig.map((v, c) => Math.round(v / 2 + TINT[c]! / 2)));
      }
    }
    expect(emulator.submitCount).toBe(0);
  });

  it("shows an EXIF-rotated photo and its shapes as displayed", async () => {
    const view = await makePhoto(96, 64, { format: "jpeg", seed: 2 });
    const image = await file("rotated.jpg", orientedAs(view, 8, "jpeg"));
    const result = await preview({ image, units: "fraction", mask_regions: [{ shape: "rect", x: 0.75, y: 0, width: 0.25, height: 0.5 }] });
    const out = PreviewMaskOutput.parse(result.structuredContent);
    expect(out).toMatchObject({ width: 96, height: 64, bbox: { x: 72, y: 0, width: 24, height: 32 } });
    const { raster } = await picture(result);
    expect([raster.width, raster.height]).toEqual([96, 64]);
    // Top-right interior pixel is tinted (red and blue pulled up towards magenta), bottom-left is not.
    const at = (x: number, y: number) => [...raster.data.subarray((y * 96 + x) * 3, (y * 96 + x) * 3 + 3)];
    expect(at(85, 10)[1]).toBeLessThan(at(85, 10)[0]!);
    expect(at(5, 60)).not.toEqual([...OUTLINE]);
  });

  it("previews the image's own transparency and the modifiers", async () => {
    const image = await file("cutout.png", makeRgbaWithHole(80, 60, { kind: "rect", x: 30, y: 20, width: 10, height: 10 }));
    const plain = PreviewMaskOutput.parse((await preview({ image })).structuredContent);
    expect(plain.bbox).toEqual({ x: 30, y: 20, width: 10, height: 10 });
    const grown = PreviewMaskOutput.parse((await preview({ image, grow_mask: 4 })).structuredContent);
    expect(grown.bbox).toEqual({ x: 26, y: 16, width: 18, height: 18 });
    expect(grown.mask_source).toMatch(/alpha channel of the image, grown 4 px/);
  });

  it("keeps a large image's picture small (under 1 MiB)", async () => {
    const image = await file("noise.png", encodeRaster(noisePixels(2400, 1600, 3)));
    const result = await preview({ image, mask_regions: [{ shape: "ellipse", cx: 1200, cy: 800, rx: 500, ry: 300 }] });
    expect(result.isError, text(result)).toBeFalsy();
    const { bytes, raster } = await picture(result);
    expect(bytes.length).toBeLessThan(1024 * 1024);
    expect(Math.max(raster.width, raster.height)).toBeLessThanOrEqual(512);
    expect(JSON.stringify(result).length).toBeLessThan(1024 * 1024);
  });

  it("gives flux_fill's errors for a bad mask", async () => {
    const image = await file("photo2.png", makePhoto(40, 30));
    const conflict = await preview({ image, mask: image, mask_svg: "<svg/>" });
    expect(conflict.isError).toBe(true);
    expect(text(conflict)).toMatch(/this call has mask and mask_svg/);
    const empty = await preview({ image, mask_svg: '<svg><rect width="5" height="5" fill="black"/></svg>' });
    expect(text(empty)).toMatch(/draws nothing white/);
    const unknown = await preview({ image, prompt: "x" });
    expect(unknown.isError).toBe(true);
    expect(text(unknown)).toMatch(/Unknown field\(s\): prompt/);
  });
});
