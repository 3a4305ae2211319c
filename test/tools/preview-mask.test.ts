/**
 * preview_mask through a real SDK Client: no upstream call, a picture whose tinted pixels are exactly the
 * mask, coverage and bounding box in the text and structuredContent.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/client";
import { describe, expect, it } from "vitest";
import { OUTLINE, OUTLINE_OUTSIDE, TINT, TINT_STRENGTH } from "../../src/images/mask-preview.js";
import { PreviewMaskOutput } from "../../src/tools/preview-mask.js";
import { decodeRaw, makePhoto, makeRgbaWithHole, noisePixels, encodeRaster, orientedAs, photoPixels, type Shape, insideShape } from "../helpers/images.js";
import { callTool, textOf as text } from "../helpers/mcp.js";
import { useServerOnEmulator } from "../helpers/use-emulator.js";

const KEY = "preview-key";
const { emulator, server } = useServerOnEmulator({ apiKey: KEY });

async function file(name: string, bytes: Buffer | Promise<Buffer>): Promise<string> {
  const target = path.join(server.workDir, name);
  await writeFile(target, await bytes);
  return target;
}

const preview = (args: Record<string, unknown>) => callTool(server.client, "preview_mask", args);

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

  it("tints the masked pixels lightly, outlines the edge, rules the edges; reports coverage and bbox; calls nothing upstream", async () => {
    const image = await file("photo.png", makePhoto(96, 64, { seed: 9 }));
    const shape: Shape = { kind: "rect", x: 24, y: 16, width: 48, height: 24 };
    const result = await preview({ image, units: "fraction", mask_regions: [{ shape: "rect", x: 0.25, y: 0.25, width: 0.5, height: 0.375 }] });
    expect(result.isError, text(result)).toBeFalsy();
    const out = PreviewMaskOutput.parse(result.structuredContent);
    expect(out).toMatchObject({ width: 96, height: 64, bbox: { x: 24, y: 16, width: 48, height: 24 } });
    expect(out.coverage).toBeCloseTo(((48 * 24) / (96 * 64)) * 100, 2);
    expect(text(result)).toContain(`covers ${out.coverage}% of the 96×64 image; bounding box x=24, y=16, 48×24 px`);
    expect(text(result)).toMatch(/rulers on the top and left edges give image coordinates in fractions/);
    // The box is 19 % of the image (over 1/9): one picture, no zoom.
    expect(result.content.filter((b) => b.type === "image")).toHaveLength(1);

    const { raster } = await picture(result);
    expect([raster.width, raster.height]).toEqual([out.preview.width, out.preview.height]);
    // The photo sits at full size after the ruler bands on the left and top.
    const left = raster.width - 96;
    const top = raster.height - 64;
    expect(left).toBeGreaterThan(10);
    expect(top).toBeGreaterThan(10);
    const original = photoPixels(96, 64, 9);
    const at = (x: number, y: number) => [...raster.data.subarray(((top + y) * raster.width + left + x) * 3, ((top + y) * raster.width + left + x) * 3 + 3)];
    for (let y = 0; y < 64; y++) {
      for (let x = 0; x < 96; x++) {
        const o = (y * 96 + x) * 3;
        const got = at(x, y);
        const orig = [...original.data.subarray(o, o + 3)];
        const inside = insideShape(shape, x, y);
        const around = [insideShape(shape, x - 1, y), insideShape(shape, x + 1, y), insideShape(shape, x, y - 1), insideShape(shape, x, y + 1)];
        if (inside && around.some((n) => !n)) expect(got, `edge ${x},${y}`).toEqual([...OUTLINE]);
        else if (inside) expect(got, `tint ${x},${y}`).toEqual(orig.map((v, c) => Math.round(v * (1 - TINT_STRENGTH) + TINT[c]! * TINT_STRENGTH)));
        else if (around.some(Boolean)) expect(got, `outside edge ${x},${y}`).toEqual([...OUTLINE_OUTSIDE]);
        else expect(got, `keep ${x},${y}`).toEqual(orig);
      }
    }
    // Rulers: white bands with dark ticks; the tick of fraction 0.5 marks image x 48 at the photo's top edge.
    const band = (x: number, y: number) => raster.data[(y * raster.width + x) * 3]!;
    expect(band(left + 48, top - 1)).toBeLessThan(64);
    expect(band(left + 45, top - 1)).toBe(255);
    // …and the tick of y = 0.5 (image y 32) at the photo's left edge.
    expect(band(left - 1, top + 32)).toBeLessThan(64);
    expect(emulator.submitCount).toBe(0);
  });

  it("adds a zoomed picture only for a small area, ruled in the image's own coordinates", async () => {
    const image = await file("wide.png", makePhoto(640, 400, { seed: 4 }));
    const small = await preview({ image, mask_regions: [{ shape: "rect", x: 400, y: 100, width: 40, height: 30 }] });
    expect(small.isError, text(small)).toBeFalsy();
    const images = small.content.filter((b) => b.type === "image") as { data: string; mimeType: string }[];
    expect(images).toHaveLength(2);
    expect(text(small)).toMatch(/second picture zooms on the small area: x 380\.\.460, y 80\.\.150 px/);
    const zoom = await decodeRaw(Buffer.from(images[1]!.data, "base64"));
    // The zoom is enlarged: its photo part is far wider than the 80 px it shows.
    expect(zoom.width).toBeGreaterThan(300);
    const large = await preview({ image, mask_regions: [{ shape: "rect", x: 100, y: 50, width: 300, height: 200 }] });
    expect(large.content.filter((b) => b.type === "image")).toHaveLength(1);
    expect(JSON.stringify(small).length).toBeLessThan(1024 * 1024);
  });

  it("shows an EXIF-rotated photo and its shapes as displayed", async () => {
    const view = await makePhoto(96, 64, { format: "jpeg", seed: 2 });
    const image = await file("rotated.jpg", orientedAs(view, 8, "jpeg"));
    const result = await preview({ image, units: "fraction", mask_regions: [{ shape: "rect", x: 0.75, y: 0, width: 0.25, height: 0.5 }] });
    const out = PreviewMaskOutput.parse(result.structuredContent);
    expect(out).toMatchObject({ width: 96, height: 64, bbox: { x: 72, y: 0, width: 24, height: 32 } });
    const { raster } = await picture(result);
    const left = raster.width - 96;
    const top = raster.height - 64;
    // Top-right interior pixel is tinted (red and blue pulled up towards magenta), bottom-left is not.
    const at = (x: number, y: number) => [...raster.data.subarray(((top + y) * raster.width + left + x) * 3, ((top + y) * raster.width + left + x) * 3 + 3)];
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
    expect(Math.max(raster.width, raster.height)).toBeLessThanOrEqual(512 + 64);
    expect(JSON.stringify(result).length).toBeLessThan(1024 * 1024);
  });

  it("says nothing about a size off the 32 px grid: flux_fill's default crop pads it (with crop off the fill still says so)", async () => {
    const image = await file("off-grid.png", makePhoto(600, 400, { seed: 3 }));
    const mask_regions = [{ shape: "rect", x: 200, y: 100, width: 120, height: 90 }];
    const shown = await preview({ image, mask_regions });
    expect(shown.isError, text(shown)).toBeFalsy();
    expect(text(shown)).not.toMatch(/multiple of 32|pad to/);
    expect(PreviewMaskOutput.parse(shown.structuredContent).notes.join("\n")).not.toMatch(/multiple of 32/);
    const call = (crop: string) =>
      server.client.callTool({ name: "flux_fill", arguments: { image, mask_regions, prompt: "a vase", crop } });
    const padded = (await call("auto")) as CallToolResult;
    expect(padded.isError, text(padded)).toBeFalsy();
    expect(text(padded)).toMatch(/padded to a multiple of 32/);
    expect(text(padded)).not.toMatch(/is not a multiple of 32/);
    const asIs = (await call("off")) as CallToolResult;
    expect(asIs.isError, text(asIs)).toBeFalsy();
    expect(text(asIs)).toMatch(/600×400 is not a multiple of 32 px/);
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
