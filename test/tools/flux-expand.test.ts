/**
 * flux_expand end to end through the SDK's real Client (in memory) against the real server, with the
 * upstream emulator on 127.0.0.1 standing in for api.bfl.ai, and the local engine offline.
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/client";
import sharp from "sharp";
import { describe, expect, it, vi } from "vitest";
import { laplacianStd } from "../../src/providers/local/engine/metrics.js";
import type { RasterImage } from "../../src/images/raster.js";
import { ANCHORS } from "../../src/images/expand.js";
import { NEW_AREA_STRIPES, PHOTO_OUTLINE } from "../../src/images/expand-canvas.js";
import { STATE_DIR_NAME } from "../../src/state/files.js";
import { FluxExpandDryRunOutput, FluxExpandOutput } from "../../src/schema/tool.js";
import { fillColour } from "../helpers/emulator.js";
import { decodeRaw, encodeRaster, makePhoto, pixelAt } from "../helpers/images.js";
import { callTool, savedResults, type TestServer, textOf as text } from "../helpers/mcp.js";
import { useServersOnEmulator } from "../helpers/use-emulator.js";
import { noisyTexture } from "../providers/local/images.js";

const KEY = "test-secret-key-expand-77";
const { emulator, start } = useServersOnEmulator(
  { apiKey: KEY, generationMs: 100 },
  { FLUX_FILL_POLL_INTERVAL_MS: "20", FLUX_FILL_TIMEOUT_S: "10" },
);

const call = (server: TestServer, args: Record<string, unknown>, options?: Parameters<typeof callTool>[3]) =>
  callTool(server.client, "flux_expand", args, options);

/** A 160×120 photo saved as a PNG in the server's working directory. */
async function writePhoto(dir: string, width = 160, height = 120): Promise<string> {
  const file = path.join(dir, "photo.png");
  await writeFile(file, await makePhoto(width, height, { format: "png", seed: 5 }));
  return file;
}

function submittedSides() {
  const body = emulator.submits.at(-1)!.body as Record<string, unknown>;
  return { top: body.top, bottom: body.bottom, left: body.left, right: body.right };
}

describe("flux_expand with the bfl provider (upstream emulator)", () => {
  it("sends explicit sides as given with the image unpadded; saves the expanded result with the photo in place", async () => {
    const server = await start();
    const image = await writePhoto(server.workDir);
    const sides = { top: 32, bottom: 0, left: 16, right: 48 };
    const result = await call(server, { image, ...sides, prompt: "more beach", seed: 9, output_format: "png" });
    expect(result.isError, text(result)).toBeFalsy();

    // The upstream got the expand endpoint, the sides, the photo at its own size and no mask.
    expect(emulator.submitCount).toBe(1);
    const submit = emulator.submits[0]!;
    expect(submit.endpoint).toBe("expand");
    expect(emulator.requestsTo("api")[0]!.url).toBe("/v1/flux-pro-1.0-expand");
    expect(submit.body).toMatchObject({ ...sides, prompt: "more beach", seed: 9, steps: 50, guidance: 60 });
    expect(Object.keys(submit.body as object)).not.toContain("mask");
    const sent = await decodeRaw(submit.image!);
    const photo = await decodeRaw(await readFile(image));
    expect([sent.width, sent.height]).toEqual([160, 120]);
    expect(Buffer.compare(sent.data, photo.data)).toBe(0);

    // The result: 224×152, the photo at (16, 32), the new border in the emulator's colour.
    const structured = FluxExpandOutput.parse(result.structuredContent);
    expect(structured).toMatchObject({ provider: "bfl", width: 224, height: 152, sides, seed: 9, cost: 5 });
    const saved = await decodeRaw(await readFile(structured.path));
    expect([saved.width, saved.height]).toEqual([224, 152]);
    const colour = fillColour("more beach", 9);
    for (const [x, y] of [
      [0, 0],
      [223, 151],
      [10, 100],
      [200, 60],
      [100, 20],
    ] as const) {
      expect(pixelAt(saved, x, y).slice(0, 3), `border at ${x},${y}`).toEqual(colour);
    }
    for (const [x, y] of [
      [0, 0],
      [159, 119],
      [80, 60],
    ] as const) {
      expect(pixelAt(saved, x + 16, y + 32), `photo at ${x},${y}`).toEqual(pixelAt(photo, x, y));
    }

    // Text, preview, resource link; the sidecar keeps the sides.
    expect(text(result)).toMatch(/Expanded with FLUX\.1 Expand \[pro\].*top 32, bottom 0, left 16, right 48/);
    expect(text(result)).toContain(structured.path);
    const preview = result.content.find((b) => b.type === "image") as { mimeType: string };
    expect(preview.mimeType).toBe("image/jpeg");
    const link = result.content.find((b) => b.type === "resource_link") as { uri: string; title: string };
    expect(link).toMatchObject({ uri: structured.uri, title: `Expanded image ${structured.id}` });
    const sidecar = JSON.parse(await readFile(structured.path.replace(/\.png$/, ".json"), "utf8"));
    expect(sidecar.inputs).toMatchObject({ image: { width: 160, height: 120 }, expand: sides });
    // The four sides and nothing else (not the other upstream parameters), in the sidecar and the reply.
    expect(sidecar.inputs.expand).toEqual(sides);
    expect((result.structuredContent as { sides: unknown }).sides).toEqual(sides);
    expect(JSON.stringify(sidecar)).not.toContain(KEY);
  });

  it.each([
    // 160×120 → 16:9 is 213 wide: 53 new columns, the odd one on the right; anchor bottom does not move columns.
    ["16:9", "bottom", { top: 0, bottom: 0, left: 26, right: 27 }],
    ["16:9", undefined, { top: 0, bottom: 0, left: 26, right: 27 }],
    ["16:9", "left", { top: 0, bottom: 0, left: 0, right: 53 }],
    ["16:9", "top_right", { top: 0, bottom: 0, left: 53, right: 0 }],
    // 160×120 → 4:5 is 200 high: 80 new rows.
    ["4:5", "bottom", { top: 80, bottom: 0, left: 0, right: 0 }],
    ["4:5", "top_left", { top: 0, bottom: 80, left: 0, right: 0 }],
    ["4:5", "center", { top: 40, bottom: 40, left: 0, right: 0 }],
    // 160×120 → 1:1 is 160 high: 40 rows.
    ["1:1", "center", { top: 20, bottom: 20, left: 0, right: 0 }],
    // 160×121 → 1:1: 39 rows, the odd one at the bottom.
    ["1:1", undefined, { top: 19, bottom: 20, left: 0, right: 0 }, 121],
  ])("aspect_ratio %s with anchor %s sends %o", async (ratio, anchor, sides, height = 120) => {
    const server = await start();
    const image = await writePhoto(server.workDir, 160, height);
    const result = await call(server, { image, aspect_ratio: ratio, ...(anchor ? { anchor } : {}) });
    expect(result.isError, text(result)).toBeFalsy();
    expect(submittedSides()).toEqual(sides);
    const structured = FluxExpandOutput.parse(result.structuredContent);
    expect(structured.sides).toEqual(sides);
    expect([structured.width, structured.height]).toEqual([160 + sides.left + sides.right, height + sides.top + sides.bottom]);
  });

  it("adds the given sides first, then grows the width to reach the ratio: 16:9 with more sky on a 3:2 photo", async () => {
    const server = await start();
    const image = await writePhoto(server.workDir, 640, 427);
    const result = await call(server, { image, top: 113, aspect_ratio: "16:9", prompt: "clear blue sky", output_format: "png" });
    expect(result.isError, text(result)).toBeFalsy();
    // 640×427 + 113 rows = 640×540; 16:9 of 540 rows is 960 wide: 320 new columns, centred.
    const sides = { top: 113, bottom: 0, left: 160, right: 160 };
    expect(emulator.submitCount).toBe(1);
    expect(submittedSides()).toEqual(sides);
    const sent = await decodeRaw(emulator.submits[0]!.image!);
    expect([sent.width, sent.height]).toEqual([640, 427]);
    const structured = FluxExpandOutput.parse(result.structuredContent);
    expect(structured).toMatchObject({ width: 960, height: 540, sides });
    const saved = await decodeRaw(await readFile(structured.path));
    expect([saved.width, saved.height]).toEqual([960, 540]);
    // The photo sits below the new sky, between the new columns.
    const photo = await decodeRaw(await readFile(image));
    expect(pixelAt(saved, 160, 113)).toEqual(pixelAt(photo, 0, 0));
    expect(pixelAt(saved, 160 + 639, 113 + 426)).toEqual(pixelAt(photo, 639, 426));
    expect(pixelAt(saved, 480, 50).slice(0, 3)).toEqual(fillColour("clear blue sky", structured.seed!));
    expect(text(result)).not.toMatch(/anchor/);
  });

  it.each(ANCHORS.map((anchor) => [anchor]))(
    "sides + aspect_ratio with anchor %s: the emulator receives the sides and the photo unpadded",
    async (anchor) => {
      const server = await start();
      const image = await writePhoto(server.workDir, 160, 120);
      // 160×120 + left 20 = 180×120; 1:1 needs 60 more rows, placed by the anchor (the photo stays at it).
      const result = await call(server, { image, left: 20, aspect_ratio: "1:1", anchor });
      expect(result.isError, text(result)).toBeFalsy();
      const rows =
        anchor.startsWith("top") ? { top: 0, bottom: 60 } : anchor.startsWith("bottom") ? { top: 60, bottom: 0 } : { top: 30, bottom: 30 };
      const sides = { ...rows, left: 20, right: 0 };
      expect(submittedSides()).toEqual(sides);
      const sent = await decodeRaw(emulator.submits[0]!.image!);
      expect([sent.width, sent.height]).toEqual([160, 120]);
      const structured = FluxExpandOutput.parse(result.structuredContent);
      expect(structured).toMatchObject({ width: 180, height: 180, sides });
      // Only "left" and "right" name an edge across the growing height: they get the note, centred.
      if (anchor === "left" || anchor === "right") {
        expect(text(result)).toMatch(new RegExp(`anchor "${anchor}" could not apply: reaching 1:1 from 180×120 grows the height \\(top 30, bottom 30 px, centred\\)`));
      } else {
        expect(text(result)).not.toMatch(/could not apply/);
      }
    },
  );

  it("the issue's call (16:9, anchor bottom) widens the photo and the reply says how to add sky; the sidecar keeps the note", async () => {
    const server = await start();
    const image = await writePhoto(server.workDir, 640, 427);
    const result = await call(server, { image, aspect_ratio: "16:9", anchor: "bottom" });
    expect(result.isError, text(result)).toBeFalsy();
    expect(submittedSides()).toEqual({ top: 0, bottom: 0, left: 59, right: 60 });
    expect(text(result)).toMatch(/Note: anchor "bottom" could not apply: reaching 16:9 from 640×427 grows the width \(left 59, right 60 px, centred\)\. To add rows above the photo \(e\.g\. sky\), give "top" in pixels/);
    const structured = FluxExpandOutput.parse(result.structuredContent);
    const sidecar = JSON.parse(await readFile(structured.path.replace(/\.jpg$/, ".json"), "utf8"));
    expect(sidecar.notes.join("\n")).toMatch(/anchor "bottom" could not apply/);
  });

  it('refuses "3:2" on a 640×427 photo (one new column) before paying', async () => {
    const server = await start();
    const image = await writePhoto(server.workDir, 640, 427);
    const result = await call(server, { image, aspect_ratio: "3:2" });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/Nothing worth expanding: the 640×427 image is already 3:2 \(to within 1 px\)/);
    expect(emulator.submitCount).toBe(0);
    expect(emulator.requestsTo("api")).toEqual([]);
  });

  it("a cancelled call stops waiting, but the paid result is still downloaded and saved", async () => {
    const server = await start();
    emulator.configure({ generationMs: 500 });
    const image = await writePhoto(server.workDir);
    const controller = new AbortController();
    const messages: string[] = [];
    const pending = call(
      server,
      { image, aspect_ratio: "16:9" },
      { signal: controller.signal, onprogress: (p) => messages.push(p.message ?? "") },
    );
    await vi.waitFor(() => expect(messages.some((m) => /Pending/.test(m))).toBe(true));
    controller.abort("user cancelled");
    await expect(pending).rejects.toThrow();
    await server.server.idle();
    expect(emulator.submitCount).toBe(1);
    const [saved] = savedResults(await server.client.listResources());
    expect(saved).toBeDefined();
    const taskId = [...emulator.tasks.keys()][0]!;
    expect(emulator.task(taskId).deliveries).toBe(1);
  });

  it("get_result returns a saved expansion with its sides", async () => {
    const server = await start();
    const image = await writePhoto(server.workDir);
    const first = FluxExpandOutput.parse((await call(server, { image, right: 40 })).structuredContent);
    const again = (await server.client.callTool({ name: "get_result", arguments: { id: first.id } })) as CallToolResult;
    expect(again.isError, text(again)).toBeFalsy();
    expect(again.structuredContent).toMatchObject({ id: first.id, sides: { top: 0, bottom: 0, left: 0, right: 40 } });
  });
});

describe("flux_expand input errors: a clear tool error, nothing submitted", () => {
  it.each([
    ["an unparsable ratio", { aspect_ratio: "widescreen" }, /aspect_ratio must be width:height.*"widescreen"/],
    ["an unknown anchor", { aspect_ratio: "16:9", anchor: "middle" }, /anchor must be "center", "top".*"bottom_right"; got "middle"/],
    ["an anchor without a ratio", { top: 10, anchor: "top" }, /anchor only applies with aspect_ratio/],
    ["a side over 2048", { top: 3000 }, /top must be an integer from 0 to 2048 \(pixels\); got 3000/],
    ["a negative side", { left: -4 }, /left must be an integer from 0 to 2048 \(pixels\); got -4/],
    ["nothing to expand", {}, /Nothing to expand: top, bottom, left and right are all 0/],
    ["a ratio the photo already has", { aspect_ratio: "4:3" }, /Nothing worth expanding: the 160×120 image is already 4:3/],
    ["fewer than 8 px in total", { top: 3, right: 4 }, /adds 7 px in total; fewer than 8 are refused/],
    ["fewer than 8 px, and a dry run of it", { top: 3, right: 4, dry_run: true }, /adds 7 px in total; fewer than 8 are refused/],
    ["a mask (not an expand field)", { top: 10, mask: "mask.png" }, /Unknown field\(s\): mask/],
  ])("rejects %s", async (_name, args, message) => {
    const server = await start();
    const image = await writePhoto(server.workDir);
    const result = await call(server, { image, ...args });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(message);
    expect(emulator.submitCount).toBe(0);
    expect(savedResults(await server.client.listResources())).toEqual([]);
  });

  it("rejects a result over the pixel limit before anything is sent", async () => {
    const server = await start({ FLUX_FILL_MAX_INPUT_MP: "0.03" });
    const image = await writePhoto(server.workDir); // 0.0192 MP
    const result = await call(server, { image, aspect_ratio: "16:9" }); // 213×120: 0.0256 MP, fine
    expect(result.isError, text(result)).toBeFalsy();
    const over = await call(server, { image, right: 100 }); // 260×120: 0.0312 MP
    expect(over.isError).toBe(true);
    expect(text(over)).toMatch(/260×120 .* over this server's limit of 0\.0 MP \(FLUX_FILL_MAX_INPUT_MP\)/);
    expect(emulator.submitCount).toBe(1);
  });
});

/** Files under the server's state directory (journal, credit ledger), relative to it. */
async function stateFiles(outputDir: string): Promise<string[]> {
  const dir = path.join(outputDir, STATE_DIR_NAME);
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

describe("flux_expand dry_run: the plan and a picture of the canvas, nothing submitted or charged", () => {
  it("answers the size, the sides, the price and the canvas with the new area striped; submits nothing", async () => {
    const server = await start({ FLUX_FILL_DAILY_CREDIT_LIMIT: "100" });
    const image = await writePhoto(server.workDir, 640, 427);
    const result = await call(server, { image, top: 113, aspect_ratio: "16:9", anchor: "bottom", dry_run: true });
    expect(result.isError, text(result)).toBeFalsy();
    expect(emulator.submitCount).toBe(0);
    expect(emulator.requestsTo("api")).toEqual([]);
    expect(savedResults(await server.client.listResources())).toEqual([]);
    // Nothing journalled, nothing reserved against the credit limit.
    expect(await stateFiles(server.config.outputDir)).toEqual([]);

    const structured = FluxExpandDryRunOutput.parse(result.structuredContent);
    expect(structured).toEqual({
      dry_run: true,
      provider: "bfl",
      width: 960,
      height: 540,
      sides: { top: 113, bottom: 0, left: 160, right: 160 },
      cost: 5,
    });
    const said = text(result);
    expect(said).toMatch(/^Dry run: nothing was submitted or charged\./);
    expect(said).toContain("Would expand the 640×427 photo to 960×540: added top 113, bottom 0, left 160, right 160 px.");
    expect(said).toMatch(/Price: about 5 credits \(~\$0\.05\) with FLUX\.1 Expand \[pro\]/);
    expect(said).toMatch(/anchor "bottom" could not apply/);

    // The picture: 384×216 (960×540 scaled by 0.4); the photo's box at (64, 45)..(320, 216), outlined.
    const picture = result.content.find((b) => b.type === "image") as { data: string; mimeType: string };
    expect(picture.mimeType).toBe("image/png");
    const drawn = await decodeRaw(Buffer.from(picture.data, "base64"));
    expect([drawn.width, drawn.height]).toEqual([384, 216]);
    const stripes = NEW_AREA_STRIPES.map((c) => [...c].join());
    for (const [x, y] of [[5, 5], [380, 200], [30, 150], [200, 20]] as const)
      expect(stripes, `new area at ${x},${y}`).toContain(pixelAt(drawn, x, y).slice(0, 3).join());
    expect(pixelAt(drawn, 64, 120).slice(0, 3)).toEqual([...PHOTO_OUTLINE]);
    expect(pixelAt(drawn, 200, 45).slice(0, 3)).toEqual([...PHOTO_OUTLINE]);
    // Inside the box, the photo scaled to it.
    const small = await decodeRaw(await sharp(await readFile(image)).resize(256, 171, { fit: "fill" }).png().toBuffer());
    for (const [x, y] of [[128, 85], [10, 10], [250, 165]] as const)
      expect(pixelAt(drawn, 64 + x, 45 + y).slice(0, 3), `photo at ${x},${y}`).toEqual(pixelAt(small, x, y).slice(0, 3));

    // The same call for real is then paid once, with the sides the dry run announced.
    const real = await call(server, { image, top: 113, aspect_ratio: "16:9", anchor: "bottom" });
    expect(real.isError, text(real)).toBeFalsy();
    expect(emulator.submitCount).toBe(1);
    expect(submittedSides()).toEqual(structured.sides);
    expect((await stateFiles(server.config.outputDir)).some((f) => f.startsWith("credits/"))).toBe(true);
  });

  it("with the local engine the price is nothing, and the same checks refuse what a real call would", async () => {
    const server = await start({ BFL_API_KEY: "", FLUX_FILL_PROVIDER: "local" });
    const image = await writePhoto(server.workDir, 640, 427);
    const result = await call(server, { image, aspect_ratio: "16:9", dry_run: true });
    expect(result.isError, text(result)).toBeFalsy();
    expect(FluxExpandDryRunOutput.parse(result.structuredContent)).toMatchObject({ provider: "local", cost: 0, width: 759, height: 427 });
    expect(text(result)).toMatch(/Price: free/);
    expect(savedResults(await server.client.listResources())).toEqual([]);
    const tooSmall = await call(server, { image, aspect_ratio: "3:2", dry_run: true });
    expect(tooSmall.isError).toBe(true);
    expect(text(tooSmall)).toMatch(/already 3:2 \(to within 1 px\)/);
  });
});

/** Mean absolute horizontal difference of luma over the pixels where `inside` holds (edge-clamp detector). */
function horizontalDetail(image: RasterImage, inside: (x: number, y: number) => boolean): number {
  const luma = (x: number, y: number) => {
    const i = (y * image.width + x) * image.channels;
    return 0.299 * image.data[i]! + 0.587 * image.data[i + 1]! + 0.114 * image.data[i + 2]!;
  };
  let sum = 0;
  let n = 0;
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x + 1 < image.width; x++) {
      if (!inside(x, y) || !inside(x + 1, y)) continue;
      sum += Math.abs(luma(x + 1, y) - luma(x, y));
      n++;
    }
  }
  return sum / n;
}

/**
 * The largest share of border pixels that equal the photo's pixel one fixed horizontal shift away (or
 * mirrored about the nearest photo edge): near 1 for a tiled, wrapped or mirrored border.
 */
function largestCopiedShare(result: RasterImage, left: number, photoWidth: number): number {
  const same = (x: number, y: number, sx: number) => {
    if (sx < left || sx >= left + photoWidth) return false;
    const a = (y * result.width + x) * 3;
    const b = (y * result.width + sx) * 3;
    return result.data[a] === result.data[b] && result.data[a + 1] === result.data[b + 1] && result.data[a + 2] === result.data[b + 2];
  };
  const border: Array<[number, number]> = [];
  for (let y = 0; y < result.height; y++)
    for (let x = 0; x < result.width; x++) if (x < left || x >= left + photoWidth) border.push([x, y]);
  let best = 0;
  for (let shift = 1; shift < result.width; shift++) {
    const share = (sign: 1 | -1) => border.filter(([x, y]) => same(x, y, x + sign * shift)).length / border.length;
    best = Math.max(best, share(1), share(-1));
  }
  const mirrored =
    border.filter(([x, y]) => same(x, y, x < left ? 2 * left - 1 - x : 2 * (left + photoWidth) - 1 - x)).length /
    border.length;
  return Math.max(best, mirrored);
}

describe("flux_expand with the local engine", () => {
  it("keeps the photo's pixels and fills the border with texture of the photo's level, not flat, not tiled", async () => {
    const server = await start({ BFL_API_KEY: "", FLUX_FILL_PROVIDER: "auto" });
    const photo = noisyTexture(120, 90, 11);
    const image = path.join(server.workDir, "texture.png");
    await writeFile(image, await encodeRaster(photo, "png"));
    const result = await call(server, { image, aspect_ratio: "16:9", prompt: "sea", output_format: "png" });
    expect(result.isError, text(result)).toBeFalsy();
    const structured = FluxExpandOutput.parse(result.structuredContent);
    // 120×90 → 16:9 is 160 wide: 20 columns each side.
    expect(structured).toMatchObject({ provider: "local", width: 160, height: 90, cost: null });
    expect(structured.sides).toEqual({ top: 0, bottom: 0, left: 20, right: 20 });
    expect(text(result)).toMatch(/ignores the prompt.*new border.*FLUX\.1 Expand \[pro\]/);
    expect(emulator.submitCount).toBe(0);

    const expanded = await decodeRaw(await readFile(structured.path));
    const result3: RasterImage = { data: expanded.data, width: 160, height: 90, channels: 3 };
    for (let y = 0; y < 90; y++) {
      for (let x = 0; x < 120; x++) {
        if (pixelAt(expanded, x + 20, y).join() !== pixelAt(photo, x, y).join())
          throw new Error(`photo pixel ${x},${y} changed`);
      }
    }
    const inPhoto = (x: number, y: number) => x >= 20 && x < 140 && y >= 0;
    const maskOf = (inside: (x: number, y: number) => boolean): RasterImage => {
      const data = Buffer.alloc(160 * 90);
      for (let y = 0; y < 90; y++) for (let x = 0; x < 160; x++) data[y * 160 + x] = inside(x, y) ? 255 : 0;
      return { data, width: 160, height: 90, channels: 1 };
    };
    const ratio =
      laplacianStd(result3, maskOf((x, y) => !inPhoto(x, y))) / laplacianStd(result3, maskOf(inPhoto));
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(1.5);
    // Not flat or smeared sideways (an edge clamp keeps vertical detail only)…
    const detail =
      horizontalDetail(result3, (x, y) => !inPhoto(x, y)) / horizontalDetail(result3, (x, y) => inPhoto(x, y));
    expect(detail).toBeGreaterThan(0.5);
    // …and not a tile, wrap or mirror of the photo.
    expect(largestCopiedShare(result3, 20, 120)).toBeLessThan(0.5);
  });
});
