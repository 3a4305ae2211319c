/**
 * Crop and stitch end to end (issue 24): flux_fill and flux_expand through the SDK's real Client against
 * the real server and the bfl emulator in its round-trip mode (the whole returned image carries one colour
 * cast and noise, as the real model's VAE round trip does). A 24 MP photo is built from a shared photo.
 */
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { FluxFillOutput } from "../../src/schema/tool.js";
import { fillColour, VAE_CAST } from "../helpers/emulator.js";
import { giantFlatPng } from "../helpers/images.js";
import { callTool, tempDir, type TestServer, textOf as text } from "../helpers/mcp.js";
import { useServersOnEmulator } from "../helpers/use-emulator.js";

const KEY = "test-secret-key-stitch";
/** The shared photos (read-only, beside the checkout: ../shared/data/photos). */
const PHOTOS = [
  process.env.BENCH_PHOTOS_DIR,
  path.resolve(import.meta.dirname, "../../../shared/data/photos"),
  "/work/shared/data/photos",
].find((dir) => dir !== undefined && existsSync(path.join(dir, "astronaut.png")));
if (PHOTOS === undefined) throw new Error("the shared photos (../shared/data/photos) are missing; set BENCH_PHOTOS_DIR");
const PHOTO = path.join(PHOTOS, "astronaut.png");
const servers = useServersOnEmulator(
  { apiKey: KEY, generationMs: 50, roundTrip: VAE_CAST },
  { FLUX_FILL_POLL_INTERVAL_MS: "20", FLUX_FILL_TIMEOUT_S: "120" },
);
const emulator = servers.emulator;
const start = (dir: string) => servers.start({ FLUX_FILL_ALLOWED_DIRS: dir });

const call = (server: TestServer, name: string, args: Record<string, unknown>) =>
  callTool(server.client, name, args, { timeout: 120_000 });

async function rgb(bytes: Buffer | string) {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

type Rect = { x: number; y: number; width: number; height: number };

/** Whether (x, y) is within `margin` px (Chebyshev) of the rectangle. */
const near = (r: Rect, margin: number, x: number, y: number) =>
  x >= r.x - margin && x < r.x + r.width + margin && y >= r.y - margin && y < r.y + r.height + margin;

/** Pixels outside the rectangle grown by `margin` that differ, and the PSNR over them. */
function outside(a: Buffer, b: Buffer, width: number, height: number, r: Rect, margin: number) {
  let changed = 0;
  let squared = 0;
  let count = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (near(r, margin, x, y)) continue;
      const o = (y * width + x) * 3;
      let differs = false;
      for (let c = 0; c < 3; c++) {
        const d = a[o + c]! - b[o + c]!;
        squared += d * d;
        if (d !== 0) differs = true;
      }
      count += 3;
      if (differs) changed++;
    }
  }
  return { changed, psnr: squared === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / (squared / count)) };
}

/** Mean absolute difference per channel between the rectangle's inner pixels and a colour. */
function meanDistanceTo(image: { data: Buffer; width: number }, r: Rect, colour: number[], inset: number): number {
  let sum = 0;
  let n = 0;
  for (let y = r.y + inset; y < r.y + r.height - inset; y += 3) {
    for (let x = r.x + inset; x < r.x + r.width - inset; x += 3) {
      const o = (y * image.width + x) * 3;
      for (let c = 0; c < 3; c++) sum += Math.abs(image.data[o + c]! - colour[c]!);
      n += 3;
    }
  }
  return sum / n;
}

const BAND_MAX = 48;

describe("flux_fill puts only the mask back (crop auto, keep_unmasked)", () => {
  let dir: string;
  let photoFile: string;
  let original: { data: Buffer; width: number; height: number };
  // 2.1 % of the 24 MP photo: a 1000×500 area.
  const mask: Rect = { x: 2400, y: 1800, width: 1000, height: 500 };

  beforeAll(async () => {
    dir = await tempDir("flux-fill-stitch-");
    photoFile = path.join(dir, "photo-24mp.jpg");
    await writeFile(
      photoFile,
      await sharp(PHOTO).removeAlpha().resize(6000, 4000, { fit: "fill" }).jpeg({ quality: 92 }).toBuffer(),
    );
    original = await rgb(photoFile);
  }, 60_000);

  const fill = (server: TestServer, extra: Record<string, unknown> = {}) =>
    call(server, "flux_fill", {
      image: photoFile,
      mask_regions: [{ shape: "rect", ...mask }],
      prompt: "a blue car",
      seed: 3,
      output_format: "png",
      ...extra,
    });

  it("sends a 1-2 MP crop holding the mask; saves the photo's size, the original outside mask + band, the upstream's content inside", async () => {
    const server = await start(dir);
    const result = await fill(server);
    expect(result.isError, text(result)).toBeFalsy();

    const submit = emulator.submits.at(-1)!;
    const sent = await sharp(submit.image!).metadata();
    expect(sent.width * sent.height).toBeGreaterThanOrEqual(1_000_000);
    expect(sent.width * sent.height).toBeLessThanOrEqual(2_000_000);
    expect([sent.width % 32, sent.height % 32]).toEqual([0, 0]);
    expect((submit.body as { output_format: string }).output_format).toBe("png");
    // The mask sent marks the area, inside the crop.
    const sentMask = await sharp(submit.mask!).greyscale().raw().toBuffer({ resolveWithObject: true });
    const marked = sentMask.data.reduce((n, v) => n + (v >= 128 ? 1 : 0), 0);
    expect(marked / (sentMask.info.width * sentMask.info.height)).toBeGreaterThan(0.1);

    const out = FluxFillOutput.parse(result.structuredContent);
    expect([out.width, out.height]).toEqual([6000, 4000]);
    const saved = await rgb(await readFile(out.path));
    const band = Number(/a (\d+) px band/.exec(text(result))?.[1]);
    expect(band).toBeGreaterThanOrEqual(8);
    expect(band).toBeLessThanOrEqual(BAND_MAX);
    expect(outside(saved.data, original.data, 6000, 4000, mask, band + 1).changed).toBe(0);
    // Inside: the upstream's new colour, its cast removed (not pulled towards the photo's colours).
    const colour = fillColour("a blue car", 3);
    expect(meanDistanceTo(saved, mask, colour, band)).toBeLessThan(6);
    expect(text(result)).toMatch(/Sent a \d+×\d+ \([\d.]+ MP\) crop of \d+×\d+ px .*% of the 6000×4000 photo.*put back:/);
  }, 120_000);

  it("with JPEG output the outside is within one encode of the original (PSNR ≥ 45 dB)", async () => {
    const server = await start(dir);
    const result = await fill(server, { output_format: "jpeg" });
    expect(result.isError, text(result)).toBeFalsy();
    const saved = await rgb(FluxFillOutput.parse(result.structuredContent).path);
    expect(outside(saved.data, original.data, 6000, 4000, mask, BAND_MAX + 1).psnr).toBeGreaterThanOrEqual(45);
  }, 120_000);
});

describe("what crop and keep_unmasked change", () => {
  let dir: string;
  let photoFile: string;
  let original: { data: Buffer; width: number; height: number };
  const mask: Rect = { x: 400, y: 300, width: 120, height: 90 };

  beforeAll(async () => {
    dir = await tempDir("flux-fill-stitch-small-");
    photoFile = path.join(dir, "photo.png");
    // Not a multiple of 32 on either side.
    await writeFile(photoFile, await sharp(PHOTO).removeAlpha().resize(1000, 750, { fit: "fill" }).png().toBuffer());
    original = await rgb(photoFile);
  });

  const fill = (server: TestServer, extra: Record<string, unknown>) =>
    call(server, "flux_fill", {
      image: photoFile,
      mask_regions: [{ shape: "rect", ...mask }],
      prompt: "a red box",
      seed: 9,
      output_format: "png",
      ...extra,
    });

  it("crop off sends the whole photo as it is, and still keeps the outside exactly", async () => {
    const server = await start(dir);
    const result = await fill(server, { crop: "off" });
    expect(result.isError, text(result)).toBeFalsy();
    const submit = emulator.submits.at(-1)!;
    expect(submit.image!.equals(await readFile(photoFile))).toBe(true);
    const saved = await rgb(FluxFillOutput.parse(result.structuredContent).path);
    expect(outside(saved.data, original.data, 1000, 750, mask, BAND_MAX + 1).changed).toBe(0);
  });

  it("crop auto sends a small photo whole, padded to multiples of 32, and the grid note is gone", async () => {
    const server = await start(dir);
    const big = { x: 100, y: 100, width: 800, height: 550 };
    const result = await call(server, "flux_fill", {
      image: photoFile,
      mask_regions: [{ shape: "rect", ...big }],
      output_format: "png",
      seed: 1,
    });
    expect(result.isError, text(result)).toBeFalsy();
    const sent = await sharp(emulator.submits.at(-1)!.image!).metadata();
    expect([sent.width, sent.height]).toEqual([1024, 768]);
    const out = FluxFillOutput.parse(result.structuredContent);
    expect([out.width, out.height]).toEqual([1000, 750]);
    expect(text(result)).not.toMatch(/not a multiple of 32/);
    const saved = await rgb(out.path);
    expect(outside(saved.data, original.data, 1000, 750, big, BAND_MAX + 1).changed).toBe(0);
  });

  it("keep_unmasked false returns the upstream's image as it was returned", async () => {
    const server = await start(dir);
    const result = await fill(server, { keep_unmasked: false });
    expect(result.isError, text(result)).toBeFalsy();
    const submit = emulator.submits.at(-1)!;
    expect(submit.image!.equals(await readFile(photoFile))).toBe(true);
    const returned = await emulator.task(submit.taskId!).result;
    expect((await readFile(FluxFillOutput.parse(result.structuredContent).path)).equals(returned)).toBe(true);
  });

  it("flux_expand keeps the photo's own pixels exactly", async () => {
    const server = await start(dir);
    const result = await call(server, "flux_expand", { image: photoFile, left: 64, top: 32, output_format: "png", seed: 2 });
    expect(result.isError, text(result)).toBeFalsy();
    const saved = await rgb(FluxFillOutput.parse(result.structuredContent).path);
    expect([saved.width, saved.height]).toEqual([1064, 782]);
    let changed = 0;
    for (let y = 0; y < 750; y++) {
      const from = y * 1000 * 3;
      const to = ((y + 32) * 1064 + 64) * 3;
      if (!saved.data.subarray(to, to + 3000).equals(original.data.subarray(from, from + 3000))) changed++;
    }
    expect(changed).toBe(0);
    expect(text(result)).toMatch(/photo's own 1000×750 pixels kept exactly/);
  });
});

describe("a result is sized up from its header before it is decoded", () => {
  it("refuses a 15000×15000 PNG of under 1 MB for a 256×256 input, naming the task, saving nothing", async () => {
    const dir = await tempDir("flux-fill-giant-");
    const giant = await giantFlatPng(15000, 15000);
    expect(giant.length).toBeLessThan(1024 * 1024);
    const image = path.join(dir, "small.png");
    await writeFile(image, await sharp(PHOTO).removeAlpha().resize(256, 256).png().toBuffer());
    emulator.configure({ resultBytes: () => giant });
    const server = await start(dir);
    const rssBefore = process.memoryUsage().rss;
    const result = await call(server, "flux_fill", {
      image,
      mask_regions: [{ shape: "rect", x: 64, y: 64, width: 64, height: 64 }],
    });
    expect(result.isError).toBe(true);
    const taskId = emulator.submits.at(-1)!.taskId!;
    expect(text(result)).toContain(`paid upstream task ${taskId}`);
    expect(text(result)).toMatch(/15000×15000 image for a 256×256 input.*refused without being decoded/);
    // Decoding it would have taken 675 MB.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(300 * 1024 * 1024);
    const listed = await server.client.listResources();
    expect(listed.resources.filter((r) => r.uri.startsWith("flux-fill://results/"))).toEqual([]);
  });
});
