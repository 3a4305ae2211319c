/**
 * Geometry mistakes caught before paying (issue 21), through a real SDK Client against the real server and
 * the bfl emulator, which counts what reaches it: fractions written in px, a final mask of a few pixels, an
 * object box written as two corners, entries clipped at the edge (a note), a square SVG viewBox on a 3:2
 * photo (stretched to the image), and paths: a relative name found in an allowed folder, a system folder
 * never suggested.
 */
import { mkdir, realpath, writeFile } from "node:fs/promises";
import path from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { decodeRaw, encodeRaster, makeMask, makePhoto, makeRgbaWithHole, maskPixels } from "../helpers/images.js";
import { callTool, startInMemory, tempDir, type TestServer, textOf as text } from "../helpers/mcp.js";
import { useServerOnEmulator } from "../helpers/use-emulator.js";

const KEY = "test-guards-key-21";
const { emulator, server } = useServerOnEmulator(
  { apiKey: KEY, generationMs: 20 },
  { FLUX_FILL_POLL_INTERVAL_MS: "10", FLUX_FILL_TIMEOUT_S: "20" },
);

const W = 600;
const H = 400;

async function file(name: string, bytes: Buffer | Promise<Buffer>): Promise<string> {
  const target = path.join(server.workDir, name);
  await writeFile(target, await bytes);
  return target;
}

const photo = () => file("photo.png", makePhoto(W, H, { seed: 21 }));

const call = (tool: string, args: Record<string, unknown>) =>
  callTool(server.client, tool, tool === "flux_fill" ? { prompt: "p", seed: 1, ...args } : args);

/**
 * No submit that could create a task. A mask file and image both sent as they are start uploading while
 * the pixels are checked; a refusal then stops the body before its end, so no task exists (bfl provider).
 */
async function expectNothingSubmitted(): Promise<void> {
  // The emulator learns that a stopped body is incomplete when its socket closes: wait for that event.
  await vi.waitFor(() => expect(emulator.submits.filter((s) => !s.bodyIncomplete)).toEqual([]));
  expect(emulator.tasks.size).toBe(0);
}

/** Calls the tool, expects a tool error matching `pattern`, and that no task reached the upstream. */
async function refused(tool: string, args: Record<string, unknown>, pattern: RegExp): Promise<string> {
  const result = await call(tool, args);
  expect(result.isError, text(result)).toBe(true);
  expect(text(result)).toMatch(pattern);
  await expectNothingSubmitted();
  return text(result);
}

const FRACTIONS_IN_PX = [
  { shape: "rect", x: 0.4, y: 0.3, width: 0.2, height: 0.2 },
  { shape: "ellipse", cx: 0.5, cy: 0.5, rx: 0.1, ry: 0.1 },
];

describe("fractions written in px are refused in every route that draws regions", () => {
  it("flux_fill: names the entries and the fix, submits nothing", async () => {
    const message = await refused(
      "flux_fill",
      { image: await photo(), mask_regions: FRACTIONS_IN_PX },
      /mask_regions\[0\] \(rect\) and mask_regions\[1\] \(ellipse\) have every coordinate and size within 0\.\.1, but units is "px"/,
    );
    expect(message).toContain('These look like fractions; add "units": "fraction".');
    // The same call with the units it meant goes through.
    const ok = await call("flux_fill", { image: await photo(), mask_regions: FRACTIONS_IN_PX, units: "fraction" });
    expect(ok.isError, text(ok)).toBeFalsy();
    expect(emulator.submitCount).toBe(1);
  });

  it("preview_mask and open_mask_editor give the same error", async () => {
    const image = await photo();
    await refused("preview_mask", { image, mask_regions: FRACTIONS_IN_PX }, /These look like fractions; add "units": "fraction"/);
    await refused("open_mask_editor", { image, mask_regions: FRACTIONS_IN_PX }, /These look like fractions; add "units": "fraction"/);
  });
});

describe("a final mask of fewer than 64 pixels is refused by flux_fill, whatever the route", () => {
  const tiny = /The mask marks only 25 pixels of the 600×400 image; flux_fill needs at least 64/;

  it("mask_regions", async () => {
    await refused("flux_fill", { image: await photo(), mask_regions: [{ shape: "rect", x: 100, y: 100, width: 5, height: 5 }] }, tiny);
  });

  it("a mask file", async () => {
    const mask = await file("tiny-mask.png", makeMask(W, H, { kind: "rect", x: 100, y: 100, width: 5, height: 5 }));
    await refused("flux_fill", { image: await photo(), mask }, tiny);
  });

  it("the image's alpha", async () => {
    const image = await file("hole.png", makeRgbaWithHole(W, H, { kind: "rect", x: 100, y: 100, width: 5, height: 5 }));
    await refused("flux_fill", { image }, tiny);
  });

  it("mask_svg", async () => {
    await refused("flux_fill", { image: await photo(), mask_svg: '<svg><rect x="100" y="100" width="5" height="5" fill="white"/></svg>' }, tiny);
  });

  it("after invert_mask (the check is on the final mask)", async () => {
    const inverse = maskPixels(W, H, { kind: "rect", x: 100, y: 100, width: 5, height: 5 });
    for (let i = 0; i < inverse.data.length; i++) inverse.data[i] = 255 - inverse.data[i]!;
    const mask = await file("inverse-mask.png", encodeRaster(inverse, "png"));
    await refused("flux_fill", { image: await photo(), mask, invert_mask: true }, tiny);
  });

  it("grow_mask brings the same spot over the limit: sent", async () => {
    const result = await call("flux_fill", {
      image: await photo(),
      mask_regions: [{ shape: "rect", x: 100, y: 100, width: 5, height: 5 }],
      grow_mask: 4,
    });
    expect(result.isError, text(result)).toBeFalsy();
    expect(emulator.submitCount).toBe(1);
  });

  it("preview_mask still shows such a mask and says flux_fill would refuse it", async () => {
    const result = await call("preview_mask", { image: await photo(), mask_regions: [{ shape: "rect", x: 100, y: 100, width: 5, height: 5 }] });
    expect(result.isError, text(result)).toBeFalsy();
    expect(result.content.some((b) => b.type === "image")).toBe(true);
    expect(text(result)).toMatch(/Warning: flux_fill would refuse this mask: it marks only 25 pixels \(at least 64 are needed\)/);
    expect((result.structuredContent as { notes: string[] }).notes.join("\n")).toMatch(/flux_fill would refuse this mask/);
    expect(emulator.requests).toHaveLength(0);
  });

  it("the previewed tiny mask sent by mask_id is refused all the same", async () => {
    const image = await photo();
    const preview = await call("preview_mask", { image, mask_regions: [{ shape: "rect", x: 100, y: 100, width: 5, height: 5 }] });
    const maskId = (preview.structuredContent as { mask_id?: string }).mask_id;
    expect(maskId, text(preview)).toBeDefined();
    await refused("flux_fill", { image, mask_id: maskId }, tiny);
  });
});

describe("object boxes mostly outside the image; other entries clipped with a note", () => {
  const corners = { shape: "object", x: 320, y: 230, width: 410, height: 330 };

  it("a box written as x1,y1,x2,y2 is refused with the box it would be", async () => {
    const message = await refused(
      "flux_fill",
      { image: await photo(), mask_regions: [corners] },
      /mask_regions\[0\] \(object\) box x=320, y=230, width=410, height=330 has \d+% of its area outside the 600 × 400 px image; a box is x, y \(top-left corner\), width, height — not x1, y1, x2, y2/,
    );
    expect(message).toContain("as x, y, width, height that box is x=320, y=230, width=90, height=100.");
    await refused("preview_mask", { image: await photo(), mask_regions: [corners] }, /not x1, y1, x2, y2/);
  });

  it("a rect past the right edge: clipped, and both replies name the entry", async () => {
    const regions = [
      { shape: "rect", x: 20, y: 20, width: 50, height: 50 },
      { shape: "rect", x: 500, y: 100, width: 200, height: 50 },
    ];
    const note = "Note: mask_regions[1] (rect) ran past the right edge; clipped to x=500, y=100, width=100, height=50.";
    const preview = await call("preview_mask", { image: await photo(), mask_regions: regions });
    expect(preview.isError, text(preview)).toBeFalsy();
    expect(text(preview)).toContain(note);
    expect((preview.structuredContent as { notes: string[] }).notes).toContain(note);

    // crop off: the mask reaches the upstream at the photo's size, as drawn.
    const fill = await call("flux_fill", { image: await photo(), mask_regions: regions, crop: "off" });
    expect(fill.isError, text(fill)).toBeFalsy();
    expect(text(fill)).toContain(note);
    expect(emulator.submitCount).toBe(1);
    const sent = await decodeRaw(emulator.submits[0]!.mask!);
    const expected = maskPixels(W, H, [
      { kind: "rect", x: 20, y: 20, width: 50, height: 50 },
      { kind: "rect", x: 500, y: 100, width: 100, height: 50 },
    ]);
    expect(sent.data.equals(expected.data)).toBe(true);
  });
});

describe("mask_svg with a viewBox of another aspect is stretched to the image", () => {
  it('viewBox="0 0 1 1" on 600×400: <rect x="0" width="0.5" height="1"> reaches the upstream as columns 0..299', async () => {
    const result = await call("flux_fill", {
      image: await photo(),
      mask_svg: '<svg viewBox="0 0 1 1"><rect x="0" width="0.5" height="1" fill="white"/></svg>',
      crop: "off",
    });
    expect(result.isError, text(result)).toBeFalsy();
    expect(emulator.submitCount).toBe(1);
    const sent = await decodeRaw(emulator.submits[0]!.mask!);
    expect([sent.width, sent.height]).toEqual([W, H]);
    expect(sent.data.equals(maskPixels(W, H, { kind: "rect", x: 0, y: 0, width: 300, height: 400 }).data)).toBe(true);
  });
});

describe("paths: the file the caller meant, and no system folder suggested", () => {
  let pathsServer: TestServer;
  let photos: string;

  beforeAll(async () => {
    // The server's working folder (its workDir) is outside the one allowed folder, as under a desktop client.
    photos = await realpath(await tempDir("flux-fill-photos-"));
    await mkdir(path.join(photos, "kitchen"));
    await writeFile(path.join(photos, "kitchen", "coffee.png"), await makePhoto(W, H, { seed: 5 }));
    pathsServer = await startInMemory({
      BFL_API_KEY: KEY,
      BFL_API_BASE_URL: emulator.apiBaseUrl,
      FLUX_FILL_POLL_INTERVAL_MS: "10",
      FLUX_FILL_ALLOWED_DIRS: photos,
    });
  });
  afterAll(async () => {
    await pathsServer.close();
  });

  const callOn = async (args: Record<string, unknown>) =>
    (await pathsServer.client.callTool(
      { name: "flux_fill", arguments: { prompt: "p", mask_regions: [{ shape: "rect", x: 10, y: 10, width: 50, height: 50 }], ...args } },
    )) as CallToolResult;

  it('a relative "coffee.png": the error names the allowed file, not the working folder; nothing submitted', async () => {
    const result = await callOn({ image: "coffee.png" });
    expect(result.isError).toBe(true);
    const meant = path.join(photos, "kitchen", "coffee.png");
    expect(text(result)).toContain(`Did you mean "${meant}"?`);
    expect(text(result)).toContain("FLUX_FILL_ALLOWED_DIRS");
    expect(text(result)).not.toContain('"env"');
    await expectNothingSubmitted();
    // Following the hint works.
    const ok = await callOn({ image: meant });
    expect(ok.isError, text(ok)).toBeFalsy();
    expect(emulator.submitCount).toBe(1);
  });

  it("/etc/passwd: names the setting, never suggests allowing /etc", async () => {
    const result = await callOn({ image: "/etc/passwd" });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/^Error \(not_allowed\): The image file "\/etc\/passwd" is outside the directories this server may read/);
    expect(text(result)).toContain("Allowed directories are set with FLUX_FILL_ALLOWED_DIRS");
    expect(text(result)).toContain("/etc is a system folder: do not allow it.");
    expect(text(result)).not.toMatch(/"FLUX_FILL_ALLOWED_DIRS": /);
    await expectNothingSubmitted();
  });
});
