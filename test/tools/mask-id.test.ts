/**
 * mask_id through real SDK clients: preview_mask keeps the mask it showed; flux_fill sends exactly those
 * bytes to the emulated upstream without drawing it again (the object selection runs once, in the
 * preview); open_mask_editor starts from it; the image it was drawn on is the only one it fits; it lapses
 * after 30 minutes (an injected clock); another user of a team server cannot use it; return_mask saves it.
 */
import { copyFile, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { describe, expect, it, vi } from "vitest";
import { MASK_ID_TTL_MS } from "../../src/state/masks.js";
import { OpenMaskEditorOutput } from "../../src/tools/open-mask-editor.js";
import { PreviewMaskOutput } from "../../src/tools/preview-mask.js";
import { encodeRaster, makePhoto, objectScenePixels, type Shape } from "../helpers/images.js";
import { callTool, textOf as text } from "../helpers/mcp.js";
import { useServerOnEmulator } from "../helpers/use-emulator.js";
import { startHttp } from "../transports/http-fixture.js";

/** Every object selection the server runs, counted (the real function still does the work). */
const selections = vi.hoisted(() => ({ count: 0 }));
vi.mock("../../src/images/selection/object.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../src/images/selection/object.js")>();
  return {
    ...original,
    selectObject: (...args: Parameters<typeof original.selectObject>) => {
      selections.count++;
      return original.selectObject(...args);
    },
  };
});

const KEY = "mask-id-key-42";
let now = Date.UTC(2026, 11, 6, 12, 0, 0);
const { emulator, server } = useServerOnEmulator(
  { apiKey: KEY, generationMs: 20 },
  { FLUX_FILL_POLL_INTERVAL_MS: "10", FLUX_FILL_TIMEOUT_S: "20" },
  { clock: () => now },
);

const call = (name: string, args: Record<string, unknown>) => callTool(server.client, name, args);

/**
 * flux_fill's arguments for comparing the uploaded mask with the previewed one: when flux_fill can send a
 * crop around the mask (a `crop` field), it is turned off so the whole mask goes up.
 */
async function wholeMask(args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const { tools } = await server.client.listTools();
  const fill = tools.find((t) => t.name === "flux_fill")!;
  return "crop" in (fill.inputSchema.properties ?? {}) ? { ...args, crop: "off" } : args;
}

const scene = objectScenePixels(192, 128, 4);
const disk = scene.disk as Extract<Shape, { kind: "ellipse" }>;
/** The object's box padded 10 %, as an agent would give it. */
const objectEntry = {
  shape: "object",
  x: disk.cx - disk.rx * 1.1,
  y: disk.cy - disk.ry * 1.1,
  width: disk.rx * 2.2,
  height: disk.ry * 2.2,
};

async function sceneFile(name = "scene.png"): Promise<string> {
  const target = path.join(server.workDir, name);
  await writeFile(target, await encodeRaster(scene.raster));
  return target;
}

async function previewed(args: Record<string, unknown>): Promise<PreviewMaskOutput> {
  const result = await call("preview_mask", args);
  expect(result.isError, text(result)).toBeFalsy();
  const out = PreviewMaskOutput.parse(result.structuredContent);
  expect(out.mask_id).toMatch(/^mask_/);
  expect(text(result)).toContain(`mask_id: ${out.mask_id}`);
  return out;
}

describe("mask_id", () => {
  it("flux_fill sends the previewed mask byte for byte and runs no selection again; return_mask saves the same PNG", async () => {
    const image = await sceneFile();
    const before = selections.count;
    const out = await previewed({ image, mask_regions: [objectEntry], grow_mask: 3, return_mask: true });
    expect(selections.count).toBe(before + 1);
    // The saved mask: in the caller's output directory, a black-and-white PNG of the image's size.
    expect(path.dirname(out.mask_path!)).toBe(server.config.outputDir);
    const saved = await readFile(out.mask_path!);
    const meta = await sharp(saved).metadata();
    expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(["png", 192, 128, 1]);
    const values = new Set(await sharp(saved).raw().toBuffer());
    expect([...values].sort((a, b) => a - b)).toEqual([0, 255]);

    const fill = await call("flux_fill", await wholeMask({ image, mask_id: out.mask_id, prompt: "a plain table", seed: 3 }));
    expect(fill.isError, text(fill)).toBeFalsy();
    expect(emulator.submitCount).toBe(1);
    expect(emulator.submits[0]!.mask!.equals(saved)).toBe(true);
    expect(selections.count).toBe(before + 1);
    // The result's sidecar says where the mask came from.
    const sidecar = JSON.parse(await readFile(path.join(server.config.outputDir, `${(fill.structuredContent as { id: string }).id}.json`), "utf8"));
    expect(sidecar.inputs.mask.source).toContain(`mask_id ${out.mask_id} (mask_regions (object, px), grown 3 px)`);
    expect(sidecar.inputs.mask.coverage * 100).toBeCloseTo(out.coverage, 1);
  });

  it("keeps a soft (feathered) mask's values exactly", async () => {
    const image = await sceneFile("soft.png");
    const out = await previewed({ image, mask_regions: [{ shape: "ellipse", cx: 90, cy: 60, rx: 30, ry: 20 }], feather_mask: 6, return_mask: true });
    const saved = await readFile(out.mask_path!);
    expect(new Set(await sharp(saved).raw().toBuffer()).size).toBeGreaterThan(10);
    const fill = await call("flux_fill", await wholeMask({ image, mask_id: out.mask_id, prompt: "p" }));
    expect(fill.isError, text(fill)).toBeFalsy();
    expect(emulator.submits[0]!.mask!.equals(saved)).toBe(true);
  });

  it("refuses mask fields beside it, another image, and an unknown id, before anything is sent", async () => {
    const image = await sceneFile("refuse.png");
    const { mask_id } = await previewed({ image, mask_regions: [{ shape: "rect", x: 10, y: 10, width: 40, height: 30 }] });
    const both = await call("flux_fill", { image, mask_id, mask_regions: [{ shape: "rect", x: 0, y: 0, width: 5, height: 5 }], grow_mask: 4, prompt: "p" });
    expect(both.isError).toBe(true);
    expect(text(both)).toMatch(/this call also gives mask_regions, grow_mask/);
    expect(text(both)).toMatch(/Remove mask_regions, grow_mask/);

    const other = path.join(server.workDir, "other.png");
    await writeFile(other, await makePhoto(192, 128, { seed: 11 }));
    const wrongImage = await call("flux_fill", { image: other, mask_id, prompt: "p" });
    expect(wrongImage.isError).toBe(true);
    expect(text(wrongImage)).toMatch(/was previewed on another image \(.*refuse\.png, 192×128\)/);
    expect(text(wrongImage)).toMatch(/call preview_mask on this image/);

    const unknown = await call("flux_fill", { image, mask_id: "mask_AAAAAAAAAAAAAAAAAAAAAA", prompt: "p" });
    expect(unknown.isError).toBe(true);
    expect(text(unknown)).toMatch(/unknown or has expired.*30 minutes/);
    expect(text(unknown)).toMatch(/Call preview_mask again/);
    expect(emulator.submitCount).toBe(0);

    // The same bytes under another name are the same image.
    const copy = path.join(server.workDir, "copy.png");
    await copyFile(image, copy);
    const fill = await call("flux_fill", { image: copy, mask_id, prompt: "p" });
    expect(fill.isError, text(fill)).toBeFalsy();
    expect(emulator.submitCount).toBe(1);
  });

  it("lapses 30 minutes after the preview (injected clock, no waiting)", async () => {
    const image = await sceneFile("expiry.png");
    const { mask_id } = await previewed({ image, mask_regions: [{ shape: "rect", x: 10, y: 10, width: 40, height: 30 }] });
    now += MASK_ID_TTL_MS - 1000;
    const editor = await call("open_mask_editor", { image, mask_id });
    expect(editor.isError, text(editor)).toBeFalsy();
    now += 1000;
    const late = await call("flux_fill", { image, mask_id, prompt: "p" });
    expect(late.isError).toBe(true);
    expect(text(late)).toMatch(/unknown or has expired/);
    expect(emulator.submitCount).toBe(0);
  });

  it("open_mask_editor starts from the previewed mask, refuses it beside mask_regions or on another image", async () => {
    const image = await sceneFile("editor.png");
    const out = await previewed({ image, mask_regions: [objectEntry] });
    const before = selections.count;
    const editor = await call("open_mask_editor", { image, mask_id: out.mask_id, prompt: "wood" });
    expect(editor.isError, text(editor)).toBeFalsy();
    expect(selections.count).toBe(before);
    const structured = OpenMaskEditorOutput.parse(editor.structuredContent);
    expect(structured.start_mask_coverage! * 100).toBeCloseTo(out.coverage, 0);
    expect(text(editor)).toContain(`Starting mask from mask_id ${out.mask_id}`);
    const both = await call("open_mask_editor", { image, mask_id: out.mask_id, mask_regions: [objectEntry] });
    expect(text(both)).toMatch(/this call also gives mask_regions/);
    const other = path.join(server.workDir, "other-editor.png");
    await writeFile(other, await makePhoto(192, 128, { seed: 12 }));
    const wrong = await call("open_mask_editor", { image: other, mask_id: out.mask_id });
    expect(wrong.isError).toBe(true);
    expect(text(wrong)).toMatch(/previewed on another image/);
  });
});

describe("mask_id on a team server", () => {
  it("is private to its user: another user's id answers like an unknown one; return_mask goes to the user's folder", async () => {
    const tokens = path.join(server.workDir, "tokens");
    await writeFile(tokens, "alice:alice-token-0123456789abcdef\nbob:bob-token-fedcba9876543210\n");
    const team = await startHttp({ FLUX_FILL_HTTP_TOKENS_FILE: tokens, FLUX_FILL_PROVIDER: "local" });
    try {
      const image = path.join(team.workDir, "photo.png");
      await writeFile(image, await makePhoto(64, 48, { seed: 5 }));
      const alice = await team.connect({ token: "alice-token-0123456789abcdef" });
      const bob = await team.connect({ token: "bob-token-fedcba9876543210" });
      const preview = await callTool(alice, "preview_mask", {
        image,
        mask_regions: [{ shape: "rect", x: 20, y: 12, width: 16, height: 12 }],
        return_mask: true,
      });
      const out = PreviewMaskOutput.parse(preview.structuredContent);
      expect(out.mask_path).toBe(path.join(team.config.outputDir, "users", "alice", `${out.mask_id}.png`));

      const stolen = await callTool(bob, "flux_fill", { image, mask_id: out.mask_id, prompt: "p" });
      const unknown = await callTool(bob, "flux_fill", { image, mask_id: "mask_BBBBBBBBBBBBBBBBBBBBBB", prompt: "p" });
      expect(stolen.isError).toBe(true);
      expect(text(stolen).replaceAll(out.mask_id!, "<id>")).toBe(text(unknown).replaceAll("mask_BBBBBBBBBBBBBBBBBBBBBB", "<id>"));

      const own = await callTool(alice, "flux_fill", { image, mask_id: out.mask_id, prompt: "p" }, { timeout: 60_000 });
      expect(own.isError, text(own)).toBeFalsy();
    } finally {
      await team.close();
    }
  }, 60_000);
});
