/**
 * open_mask_editor and its UI resource through the SDK's real Client (in memory) against the real server:
 * what MCP Apps hosts read (tool _meta, resource mime type and HTML) and what text-only clients get.
 */
import { realpath, writeFile } from "node:fs/promises";
import path from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/client";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { EDITOR_MAX_SIDE, OpenMaskEditorOutput } from "../../src/tools/open-mask-editor.js";
import { decodeRaw, insideShape, makeMask, makePhoto, makeRgbaWithHole } from "../helpers/images.js";
import { ensureMaskEditorBuilt } from "../helpers/mask-editor.js";
import { callTool, startInMemory, type TestServer, textOf as text } from "../helpers/mcp.js";

let current: TestServer | undefined;

beforeAll(async () => {
  await ensureMaskEditorBuilt();
}, 60_000);
afterEach(async () => {
  await current?.close();
  current = undefined;
});

async function start() {
  current = await startInMemory();
  return current;
}

const call = (server: TestServer, args: Record<string, unknown>) => callTool(server.client, "open_mask_editor", args);

function images(result: CallToolResult) {
  return result.content.filter((b) => b.type === "image") as Array<{ data: string; mimeType: string }>;
}

async function writePhoto(dir: string, width: number, height: number, name = "photo.png") {
  const file = path.join(dir, name);
  await writeFile(file, await makePhoto(width, height, { seed: 3 }));
  return file;
}

/** Fraction of white pixels in a one-channel picture. */
function whiteFraction(image: { data: Buffer; channels: number }): number {
  let white = 0;
  const pixels = image.data.length / image.channels;
  for (let i = 0; i < pixels; i++) if (image.data[i * image.channels]! >= 128) white++;
  return white / pixels;
}

describe("open_mask_editor in tools/list and resources", () => {
  it("links the tool to ui://flux-fill/mask-editor and describes it for the model", async () => {
    const server = await start();
    const { tools } = await server.client.listTools();
    const tool = tools.find((t) => t.name === "open_mask_editor");
    expect(tool).toBeDefined();
    expect((tool!._meta as { ui?: { resourceUri?: string } }).ui?.resourceUri).toBe("ui://flux-fill/mask-editor");
    expect(tool!.annotations).toMatchObject({ readOnlyHint: true, idempotentHint: true, destructiveHint: false });
    expect(tool!.description).toMatch(/flux_fill/);
    const properties = (tool!.inputSchema as { properties: Record<string, unknown> }).properties;
    expect(Object.keys(properties).sort()).toEqual(["image", "mask", "mask_id", "mask_regions", "prompt", "units"]);
    expect((tool!.inputSchema as { required?: string[] }).required).toEqual(["image"]);
    expect(tool!.outputSchema).toBeDefined();
    // flux_fill stays visible to the model (the editor calls it; the default visibility covers both).
    const fill = tools.find((t) => t.name === "flux_fill");
    expect(
      (fill?._meta as { ui?: { visibility?: string[] } } | undefined)?.ui?.visibility ?? ["model", "app"],
    ).toContain("app");
  });

  it("serves the page as text/html;profile=mcp-app with the test hooks, self-contained", async () => {
    const server = await start();
    const { resources } = await server.client.listResources();
    const listed = resources.find((r) => r.uri === "ui://flux-fill/mask-editor");
    expect(listed?.mimeType).toBe("text/html;profile=mcp-app");
    const read = await server.client.readResource({ uri: "ui://flux-fill/mask-editor" });
    const page = read.contents[0] as { uri: string; mimeType: string; text: string };
    expect(page.uri).toBe("ui://flux-fill/mask-editor");
    expect(page.mimeType).toBe("text/html;profile=mcp-app");
    for (const hook of ["mask-canvas", "prompt", "apply-fill", "result-image"]) {
      expect(page.text).toContain(`data-testid="${hook}"`);
    }
    expect(page.text).not.toMatch(/<script[^>]+src=|<link\b/i);
  });
});

describe("open_mask_editor results", () => {
  it("returns size, preview and a reusable path for a file, and no starting mask", async () => {
    const server = await start();
    const file = await writePhoto(server.workDir, 120, 80);
    const result = await call(server, { image: "photo.png", prompt: "a red bench" });
    expect(result.isError, text(result)).toBeFalsy();
    const structured = OpenMaskEditorOutput.parse(result.structuredContent);
    expect(structured).toMatchObject({
      image: await realpath(file),
      width: 120,
      height: 80,
      format: "png",
      preview: { width: 120, height: 80 },
      editor_mask: { width: 120, height: 80 },
      start_mask_coverage: null,
      prompt: "a red bench",
      fill_tool: "flux_fill",
    });
    expect(text(result)).toContain("120×80");
    expect(text(result)).toMatch(/white = inpaint/);
    const [preview, ...rest] = images(result);
    expect(rest).toHaveLength(0);
    expect(preview!.mimeType).toBe("image/jpeg");
    const decoded = await decodeRaw(Buffer.from(preview!.data, "base64"));
    expect([decoded.width, decoded.height]).toEqual([120, 80]);
    expect(JSON.stringify(result.structuredContent)).not.toContain(preview!.data.slice(0, 40));
  });

  it("paints starting regions in fractions into the second image and reports their coverage", async () => {
    const server = await start();
    await writePhoto(server.workDir, 200, 100);
    const result = await call(server, {
      image: "photo.png",
      units: "fraction",
      mask_regions: [
        { shape: "rect", x: 0.1, y: 0.2, width: 0.3, height: 0.5 },
        { shape: "ellipse", cx: 0.75, cy: 0.5, rx: 0.1, ry: 0.3 },
      ],
    });
    expect(result.isError, text(result)).toBeFalsy();
    const structured = OpenMaskEditorOutput.parse(result.structuredContent);
    const mask = await decodeRaw(Buffer.from(images(result)[1]!.data, "base64"));
    expect([mask.width, mask.height]).toEqual([200, 100]);
    const rect = { kind: "rect" as const, x: 20, y: 20, width: 60, height: 50 };
    const ellipse = { kind: "ellipse" as const, cx: 150, cy: 50, rx: 20, ry: 30 };
    let mismatches = 0;
    for (let y = 0; y < 100; y++) {
      for (let x = 0; x < 200; x++) {
        const want = insideShape(rect, x, y) || insideShape(ellipse, x, y);
        if (mask.data[(y * 200 + x) * mask.channels]! >= 128 !== want) mismatches++;
      }
    }
    expect(mismatches).toBe(0);
    expect(structured.start_mask_coverage).toBeCloseTo(whiteFraction(mask), 10);
    expect(text(result)).toMatch(/Starting mask from 2 mask_regions entries: \d+(\.\d)? %/);
  });

  it("takes flux_fill's polygon shapes as starting regions", async () => {
    const server = await start();
    await writePhoto(server.workDir, 100, 80);
    const triangle = [
      [10, 10],
      [90, 10],
      [10, 70],
    ];
    const result = await call(server, { image: "photo.png", mask_regions: [{ shape: "polygon", points: triangle }] });
    expect(result.isError, text(result)).toBeFalsy();
    const mask = await decodeRaw(Buffer.from(images(result)[1]!.data, "base64"));
    const at = (x: number, y: number) => mask.data[(y * 100 + x) * mask.channels]!;
    expect(at(20, 20)).toBe(255); // inside, near the right angle
    expect(at(80, 60)).toBe(0); // beyond the hypotenuse
    expect(at(5, 5)).toBe(0);
    expect(OpenMaskEditorOutput.parse(result.structuredContent).start_mask_coverage).toBeCloseTo(
      (0.5 * 80 * 60) / (100 * 80),
      1,
    );
  });

  it("takes a starting mask file, and refuses one of another size naming both sizes", async () => {
    const server = await start();
    await writePhoto(server.workDir, 64, 48);
    const shape = { kind: "ellipse" as const, cx: 30, cy: 20, rx: 12, ry: 9 };
    await writeFile(path.join(server.workDir, "mask.png"), await makeMask(64, 48, shape));
    await writeFile(path.join(server.workDir, "small.png"), await makeMask(32, 24, shape));
    const ok = await call(server, { image: "photo.png", mask: "mask.png" });
    expect(ok.isError, text(ok)).toBeFalsy();
    const mask = await decodeRaw(Buffer.from(images(ok)[1]!.data, "base64"));
    expect([mask.width, mask.height]).toEqual([64, 48]);
    let mismatches = 0;
    for (let y = 0; y < 48; y++) {
      for (let x = 0; x < 64; x++) {
        if (mask.data[(y * 64 + x) * mask.channels]! >= 128 !== insideShape(shape, x, y)) mismatches++;
      }
    }
    expect(mismatches).toBe(0);
    expect(whiteFraction(mask)).toBeGreaterThan(0.05);
    const bad = await call(server, { image: "photo.png", mask: "small.png" });
    expect(bad.isError).toBe(true);
    expect(text(bad)).toContain("32×24");
    expect(text(bad)).toContain("64×48");
  });

  it("uses the image's transparent pixels as the starting mask", async () => {
    const server = await start();
    const hole = { kind: "rect" as const, x: 10, y: 5, width: 20, height: 10 };
    await writeFile(path.join(server.workDir, "hole.png"), await makeRgbaWithHole(50, 40, hole));
    const result = await call(server, { image: "hole.png" });
    expect(result.isError, text(result)).toBeFalsy();
    expect(OpenMaskEditorOutput.parse(result.structuredContent).start_mask_coverage).toBeCloseTo(200 / 2000, 10);
    expect(text(result)).toContain("transparent pixels");
  });

  it("paints big images at a reduced resolution with the same aspect ratio", async () => {
    const server = await start();
    await writePhoto(server.workDir, 3072, 1536);
    const result = await call(server, { image: "photo.png" });
    const structured = OpenMaskEditorOutput.parse(result.structuredContent);
    expect(structured.editor_mask).toEqual({ width: EDITOR_MAX_SIDE, height: EDITOR_MAX_SIDE / 2 });
    expect(Math.max(structured.preview.width, structured.preview.height)).toBe(server.config.previewMaxSize);
  }, 30_000);

  it("gives no reusable reference for inline data (the page uses the tool input)", async () => {
    const server = await start();
    const uri = `data:image/png;base64,${(await makePhoto(16, 16)).toString("base64")}`;
    const result = await call(server, { image: uri });
    expect(result.isError, text(result)).toBeFalsy();
    expect(OpenMaskEditorOutput.parse(result.structuredContent).image).toBeNull();
  });

  it.each([
    [
      { units: "fraction", mask_regions: [{ shape: "rect", x: 0.5, y: 0.5, width: 1.5, height: 0.1 }] },
      /mask_regions\[0\]\.width is 1\.5/,
    ],
    [
      { mask_regions: [{ shape: "ellipse", cx: 500, cy: 10, rx: 5, ry: 5 }] },
      /mask_regions\[0\].*outside the 40×30 image/,
    ],
    [{ mask_regions: [{ shape: "rect", x: 1, y: 1, width: -2, height: 3 }] }, /width/],
    [{ mask_regions: [{ shape: "star", x: 1 }] }, /shape|mask_regions/],
    [{ colour: "red" }, /colour/],
  ])("explains bad arguments (%j)", async (extra, message) => {
    const server = await start();
    await writePhoto(server.workDir, 40, 30);
    const result = await call(server, { image: "photo.png", ...extra });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(message);
  });

  it("reports an unreadable image as a tool error, not a crash", async () => {
    const server = await start();
    const result = await call(server, { image: "missing.png" });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/image/);
    // The server keeps serving.
    await writePhoto(server.workDir, 20, 20);
    expect((await call(server, { image: "photo.png" })).isError).toBeFalsy();
  });
});
