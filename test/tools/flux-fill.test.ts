/**
 * flux_fill end to end through the SDK's real Client (in memory) against the real server, with the
 * upstream emulator on 127.0.0.1 standing in for api.bfl.ai.
 */
import { readFile, symlink, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import sharp from "sharp";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { MAX_UPSTREAM_BODY_BYTES } from "../../src/images/upload-size.js";
import { FluxFillOutput } from "../../src/schema/tool.js";
import { type Emulator, fillColour } from "../helpers/emulator.js";
import { useServersOnEmulator } from "../helpers/use-emulator.js";
import {
  decodeRaw,
  makeMask,
  makePhoto,
  makeRgbaWithHole,
  noisePixels,
  encodeRaster,
  pixelAt,
} from "../helpers/images.js";
import { callTool, savedResults, tempDir, type TestServer, textOf as text } from "../helpers/mcp.js";

const KEY = "test-secret-key-4f9a";
const { emulator, start } = useServersOnEmulator(
  { apiKey: KEY, generationMs: 120 },
  { FLUX_FILL_POLL_INTERVAL_MS: "20", FLUX_FILL_TIMEOUT_S: "10" },
);

/** A 96×64 photo and a mask with a rectangle, saved in the server's working directory. */
async function writeInputs(dir: string, format: "jpeg" | "png" = "jpeg") {
  const image = path.join(dir, `photo.${format === "jpeg" ? "jpg" : "png"}`);
  const mask = path.join(dir, "mask.png");
  await writeFile(image, await makePhoto(96, 64, { format, seed: 7 }));
  await writeFile(mask, await makeMask(96, 64, { kind: "rect", x: 40, y: 20, width: 24, height: 16 }));
  return { image, mask };
}

const call = (server: TestServer, args: Record<string, unknown>, options?: Parameters<typeof callTool>[3]) =>
  callTool(server.client, "flux_fill", args, options);

describe("flux_fill with the bfl provider (upstream emulator)", () => {
  it("fills from file paths: saves the result, returns preview, resource link and structured metadata", async () => {
    const server = await start();
    const { image, mask } = await writeInputs(server.workDir);
    const result = await call(server, { image, mask, prompt: "a red door", seed: 42, output_format: "png" });
    expect(result.isError, text(result)).toBeFalsy();

    const structured = FluxFillOutput.parse(result.structuredContent);
    expect(structured).toMatchObject({
      provider: "bfl",
      width: 96,
      height: 64,
      seed: 42,
      cost: 5,
      mime_type: "image/png",
    });
    expect(structured.uri).toBe(`flux-fill://results/${structured.id}`);
    expect(structured.path.startsWith(server.config.outputDir)).toBe(true);
    expect(JSON.stringify(result.structuredContent).length).toBeLessThan(2000); // metadata only

    // The saved file is the emulator's result: the masked area painted, the rest kept.
    const saved = await decodeRaw(await readFile(structured.path));
    const colour = fillColour("a red door", 42);
    expect(pixelAt(saved, 50, 25).slice(0, 3)).toEqual(colour);
    expect(pixelAt(saved, 5, 5).slice(0, 3)).not.toEqual(colour);

    // The upstream got the mask we sent, the image, and the parameters.
    expect(emulator.submitCount).toBe(1);
    const body = emulator.submits[0]!.body as Record<string, unknown>;
    expect(body).toMatchObject({
      prompt: "a red door",
      seed: 42,
      steps: 50,
      guidance: 60,
      safety_tolerance: 2,
      output_format: "png",
    });
    const sentMask = await decodeRaw(emulator.submits[0]!.mask!);
    expect(pixelAt(sentMask, 50, 25)[0]).toBe(255);
    expect(pixelAt(sentMask, 5, 5)[0]).toBe(0);

    // Content blocks: text with the path, a small preview, a resource link.
    expect(text(result)).toContain(structured.path);
    const preview = result.content.find((b) => b.type === "image") as { data: string; mimeType: string };
    expect(preview.mimeType).toBe("image/jpeg");
    expect((await decodeRaw(Buffer.from(preview.data, "base64"))).width).toBe(96);
    const link = result.content.find((b) => b.type === "resource_link") as { uri: string; mimeType: string };
    expect(link).toMatchObject({ uri: structured.uri, mimeType: "image/png" });

    // The sidecar: metadata, never base64, never secrets.
    const sidecarText = await readFile(path.join(server.config.outputDir, `${structured.id}.json`), "utf8");
    const sidecar = JSON.parse(sidecarText);
    expect(sidecar).toMatchObject({
      id: structured.id,
      provider: "bfl",
      upstream_id: structured.upstream_id,
      cost: 5,
      seed: 42,
      prompt: "a red door",
    });
    expect(sidecar.inputs.image).toMatchObject({ width: 96, height: 64 });
    expect(sidecarText).not.toContain(KEY);
    expect(sidecarText.length).toBeLessThan(4000);

    // The key went to the api and polling hosts, never to the delivery host.
    expect(emulator.requestsTo("api").every((r) => r.headers["x-key"] === KEY)).toBe(true);
    expect(emulator.requestsTo("polling").length).toBeGreaterThan(0);
    expect(emulator.requestsTo("delivery").every((r) => r.headers["x-key"] === undefined)).toBe(true);
  });

  it("lists and reads results as resources", async () => {
    const server = await start();
    const { image, mask } = await writeInputs(server.workDir);
    const result = await call(server, { image, mask, prompt: "x" });
    const { id, uri, path: saved } = FluxFillOutput.parse(result.structuredContent);
    const listed = await server.client.listResources();
    expect(listed.resources.map((r) => r.uri)).toContain(uri);
    const read = await server.client.readResource({ uri });
    const content = read.contents[0] as { blob: string; mimeType: string };
    expect(content.mimeType).toBe("image/jpeg");
    expect(Buffer.from(content.blob, "base64").equals(await readFile(saved))).toBe(true);
    const templates = await server.client.listResourceTemplates();
    expect(templates.resourceTemplates.map((t) => t.uriTemplate)).toContain("flux-fill://results/{id}");
    await expect(server.client.readResource({ uri: "flux-fill://results/20000101-000000-00000000" })).rejects.toThrow(
      /No saved result/,
    );
    expect(id).toMatch(/^\d{8}-\d{6}-[0-9a-f]{8}$/);
  });

  it("uses the image's transparency as the mask and sends an opaque image with an explicit mask", async () => {
    const server = await start();
    const image = path.join(server.workDir, "cutout.png");
    await writeFile(image, await makeRgbaWithHole(80, 60, { kind: "rect", x: 10, y: 10, width: 20, height: 20 }));
    const result = await call(server, { image, prompt: "sky" });
    expect(result.isError, text(result)).toBeFalsy();
    const submit = emulator.submits[0]!;
    const sentImage = await decodeRaw(submit.image!);
    expect(sentImage.channels).toBe(3);
    const sentMask = await decodeRaw(submit.mask!);
    expect(pixelAt(sentMask, 15, 15)[0]).toBe(255);
    expect(pixelAt(sentMask, 50, 40)[0]).toBe(0);
  });

  it("sends progress notifications with status and elapsed time", async () => {
    const server = await start();
    emulator.configure({ generationMs: 300 });
    const { image, mask } = await writeInputs(server.workDir);
    const messages: string[] = [];
    const result = await call(server, { image, mask }, { onprogress: (p) => messages.push(p.message ?? "") });
    expect(result.isError, text(result)).toBeFalsy();
    expect(messages.some((m) => /Pending/.test(m) && /\d+\.\d s elapsed/.test(m))).toBe(true);
  });

  const failures: Array<[string, Parameters<Emulator["configure"]>[0], RegExp, string]> = [
    [
      "request moderated",
      { outcome: "Request Moderated" },
      /request.*moderated[\s\S]*safety_tolerance/i,
      "upstream_moderated",
    ],
    ["content moderated", { outcome: "Content Moderated" }, /moderated[\s\S]*safety_tolerance/i, "upstream_moderated"],
    ["an upstream Error", { outcome: "Error" }, /Error/, "upstream_failed"],
    ["Failed", { outcome: "Failed" }, /Failed/, "upstream_failed"],
    ["Task not found", { outcome: "Task not found" }, /Task not found/, "upstream_failed"],
    ["an unknown status", { outcome: "Exploded" }, /Exploded/, "upstream_failed"],
    ["out of credits (402)", { outOfCredits: true }, /credits/i, "upstream_credits"],
  ];
  for (const [name, behaviour, pattern, kind] of failures) {
    it(`turns ${name} into a clear tool error and saves nothing`, async () => {
      const server = await start();
      emulator.configure(behaviour);
      const { image, mask } = await writeInputs(server.workDir);
      const result = await call(server, { image, mask, prompt: "p" });
      expect(result.isError).toBe(true);
      expect(text(result)).toMatch(pattern);
      expect(text(result)).toContain(kind);
      expect(text(result)).not.toContain(KEY);
      expect(savedResults(await server.client.listResources())).toEqual([]);
    });
  }

  it("times out on a task that never finishes, naming the task id", async () => {
    const server = await start({ FLUX_FILL_TIMEOUT_S: "0.6" });
    emulator.configure({ outcome: "never" });
    const { image, mask } = await writeInputs(server.workDir);
    const result = await call(server, { image, mask });
    expect(result.isError).toBe(true);
    const taskId = [...emulator.tasks.keys()][0]!;
    expect(text(result)).toContain("timeout");
    expect(text(result)).toContain(taskId);
  });

  it("a cancelled call stops waiting, but the produced result is still downloaded and saved", async () => {
    const server = await start();
    emulator.configure({ generationMs: 600 });
    const { image, mask } = await writeInputs(server.workDir);
    const controller = new AbortController();
    const pending = call(server, { image, mask, prompt: "cancelled" }, { signal: controller.signal });
    setTimeout(() => controller.abort("user cancelled"), 250);
    await expect(pending).rejects.toThrow();
    expect(emulator.submitCount).toBe(1);
    await server.server.idle();
    const listed = await server.client.listResources();
    expect(savedResults(listed)).toHaveLength(1);
    const taskId = [...emulator.tasks.keys()][0]!;
    expect(emulator.task(taskId).deliveries).toBe(1);
    expect(emulator.submitCount).toBe(1);
  });

  it("a call cancelled while still queued is never submitted; the running one is saved", async () => {
    const server = await start({ FLUX_FILL_MAX_ACTIVE: "1" });
    emulator.configure({ generationMs: 600 });
    const { image, mask } = await writeInputs(server.workDir);
    const running = call(server, { image, mask, prompt: "first" });
    await vi.waitFor(() => expect(emulator.submitCount).toBe(1)); // the only slot is taken
    const controller = new AbortController();
    const queued = call(server, { image, mask, prompt: "second" }, { signal: controller.signal });
    setTimeout(() => controller.abort("user cancelled"), 150);
    await expect(queued).rejects.toThrow();
    const first = await running;
    expect(first.isError, text(first)).toBeFalsy();
    await server.server.idle();
    expect(emulator.submitCount).toBe(1);
    expect((emulator.submits[0]!.body as { prompt: string }).prompt).toBe("first");
    expect(savedResults(await server.client.listResources())).toHaveLength(1);
  });

  it("keeps the preview under 1 MiB for a 24-megapixel input", async () => {
    const server = await start();
    const image = path.join(server.workDir, "big.png");
    const mask = path.join(server.workDir, "big-mask.png");
    await writeFile(image, await encodeRaster(noisePixels(6000, 4000, 3), "jpeg", 90));
    await writeFile(mask, await makeMask(6000, 4000, { kind: "rect", x: 2000, y: 1000, width: 1500, height: 1000 }));
    const result = await call(server, { image, mask, output_format: "png" });
    expect(result.isError, text(result)).toBeFalsy();
    const preview = result.content.find((b) => b.type === "image") as { data: string };
    expect(preview.data.length).toBeLessThan(1024 * 1024);
    expect(JSON.stringify(result).length).toBeLessThan(1024 * 1024);
    expect(FluxFillOutput.parse(result.structuredContent)).toMatchObject({ width: 6000, height: 4000 });
  }, 60_000);
});

describe("flux_fill input errors", () => {
  it("rejects a mask whose size differs, naming both sizes, before any upstream call", async () => {
    const server = await start();
    const { image } = await writeInputs(server.workDir);
    const mask = path.join(server.workDir, "small-mask.png");
    await writeFile(mask, await makeMask(48, 32, { kind: "rect", x: 1, y: 1, width: 8, height: 8 }));
    const result = await call(server, { image, mask });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain("48×32");
    expect(text(result)).toContain("96×64");
    expect(emulator.submitCount).toBe(0);
  });

  it("refuses an empty mask that would have been uploaded as it is (crop off): the upload is cut short, no task exists", async () => {
    const server = await start();
    const { image } = await writeInputs(server.workDir);
    const blank = path.join(server.workDir, "blank-mask.png");
    await writeFile(blank, await makeMask(96, 64, { kind: "rect", x: 0, y: 0, width: 0, height: 0 }));
    const result = await call(server, { image, mask: blank, crop: "off" });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain("bad_input");
    expect(text(result)).toContain("The mask is empty");
    await vi.waitFor(() => expect(emulator.submits.map((s) => s.bodyIncomplete)).toEqual([true]));
    expect(emulator.tasks.size).toBe(0);
  });

  it("refuses a path outside the allowed roots, naming the setting and the config line", async () => {
    const allowed = await tempDir("allowed-");
    const outside = await tempDir("outside-");
    const server = await start({ FLUX_FILL_ALLOWED_DIRS: allowed });
    const { image, mask } = await writeInputs(outside);
    const inside = path.join(allowed, "link.jpg");
    await symlink(image, inside);
    await writeFile(path.join(allowed, "mask.png"), await readFile(mask));
    for (const reference of [image, inside, `${allowed}/../${path.basename(outside)}/photo.jpg`, `file://${image}`]) {
      const result = await call(server, { image: reference, mask: path.join(allowed, "mask.png") });
      expect(result.isError, reference).toBe(true);
      expect(text(result)).toContain("not_allowed");
      expect(text(result)).toContain("FLUX_FILL_ALLOWED_DIRS");
      expect(text(result)).toMatch(/"env": \{ "FLUX_FILL_ALLOWED_DIRS": /);
    }
    expect(emulator.submitCount).toBe(0);
  });

  it("refuses a private URL by default", async () => {
    const server = await start();
    const png = await makePhoto(32, 32);
    const site = http.createServer((_req, res) => res.writeHead(200, { "content-type": "image/png" }).end(png));
    await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(site.address() as AddressInfo).port}/photo.png`;
      const result = await call(server, { image: url });
      expect(result.isError).toBe(true);
      expect(text(result)).toContain("FLUX_FILL_ALLOW_PRIVATE_URLS");
    } finally {
      site.close();
    }
  });

  it("explains the ways to give a mask when there is none", async () => {
    const server = await start();
    const { image } = await writeInputs(server.workDir);
    const result = await call(server, { image });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/mask/);
    expect(text(result)).toMatch(/transparen/);
  });

  it("names unknown fields and out-of-range values", async () => {
    const server = await start();
    const { image, mask } = await writeInputs(server.workDir);
    const unknown = await call(server, { image, mask, strength: 0.5 });
    expect(unknown.isError).toBe(true);
    expect(text(unknown)).toContain("strength");
    const range = await call(server, { image, mask, steps: 80, guidance: 0.5 });
    expect(range.isError).toBe(true);
    expect(text(range)).toMatch(/steps must be an integer from 15 to 50; got 80/);
    expect(text(range)).toMatch(/guidance must be a number from 1.5 to 100; got 0.5/);
    expect(emulator.submitCount).toBe(0);
  });
});

describe("flux_fill with the local engine", () => {
  it("fills without a key or network and says the prompt was ignored", async () => {
    const server = await start({ BFL_API_KEY: "", FLUX_FILL_PROVIDER: "auto" });
    const { image, mask } = await writeInputs(server.workDir, "png");
    const result = await call(server, { image, mask, prompt: "a dragon", output_format: "png" });
    expect(result.isError, text(result)).toBeFalsy();
    const structured = FluxFillOutput.parse(result.structuredContent);
    expect(structured).toMatchObject({ provider: "local", upstream_id: null, cost: null, width: 96, height: 64 });
    expect(text(result)).toMatch(/ignore/i);
    expect(emulator.submitCount).toBe(0);
    const original = await decodeRaw(await readFile(image));
    const filled = await decodeRaw(await readFile(structured.path));
    // Outside the mask untouched; inside, not a flat colour.
    expect(pixelAt(filled, 5, 5).slice(0, 3)).toEqual(pixelAt(original, 5, 5).slice(0, 3));
    const inside = new Set<string>();
    for (let y = 22; y < 34; y += 2)
      for (let x = 42; x < 62; x += 2) inside.add(pixelAt(filled, x, y).slice(0, 3).join(","));
    expect(inside.size).toBeGreaterThan(10);
  });
});

// First contact with big files: a 24 MP PNG export over 20 MB goes through with the default settings, and the
// upstream request stays within MAX_UPSTREAM_BODY_BYTES.
const WIDTH = 6000;
const HEIGHT = 4000; // 24 MP

/**
 * A 24 MP RGB PNG of `noiseRows` rows of noise (incompressible: 3 bytes a pixel) over a vertical gradient
 * (compresses to almost nothing), so its size is set by the noise and it builds in about a second.
 */
async function bigPng(noiseRows: number): Promise<Buffer> {
  const data = Buffer.alloc(WIDTH * HEIGHT * 3);
  noisePixels(WIDTH, noiseRows, 11).data.copy(data);
  for (let y = noiseRows; y < HEIGHT; y++) {
    const value = Math.round((y / HEIGHT) * 255);
    data.fill(value, y * WIDTH * 3, (y + 1) * WIDTH * 3);
  }
  return sharp(data, { raw: { width: WIDTH, height: HEIGHT, channels: 3 } })
    .png({ compressionLevel: 1 })
    .toBuffer();
}

/** flux_fill on `image` with a small area marked, the whole photo sent as it is and returned as it comes back. */
const fillBig = (server: TestServer, image: string) =>
  call(server, {
    image,
    keep_unmasked: false,
    units: "fraction",
    mask_regions: [{ shape: "rect", x: 0.4, y: 0.5, width: 0.2, height: 0.2 }],
    prompt: "a bench",
  });

describe("flux_fill with a 24 MP PNG over 20 MB sent whole (keep_unmasked false)", () => {
  let dir: string;
  let file: string;
  let bytes: Buffer;
  /** Defaults but for where files live (and the default deadline instead of this file's 10 s). */
  const bigEnv = () => ({ FLUX_FILL_OUTPUT_DIR: path.join(dir, "out"), FLUX_FILL_ALLOWED_DIRS: dir, FLUX_FILL_TIMEOUT_S: "300" });
  beforeAll(async () => {
    dir = await tempDir("flux-fill-big-");
    file = path.join(dir, "export.png");
    bytes = await bigPng(1260);
    await writeFile(file, bytes);
  });

  it("accepts it, sends it as it is (lossless, within the body limit) and saves a 24 MP result", async () => {
    expect(bytes.length).toBeGreaterThan(20 * 1024 * 1024); // what the former 20 MB default refused
    const server = await start(bigEnv());
    const result = await fillBig(server, file);
    expect(result.isError, text(result)).toBeFalsy();
    const out = FluxFillOutput.parse(result.structuredContent);
    expect([out.width, out.height, out.provider]).toEqual([WIDTH, HEIGHT, "bfl"]);

    const submit = emulator.submits.at(-1)!;
    expect(submit.image?.equals(bytes)).toBe(true);
    expect(Number(submit.headers["content-length"])).toBeLessThanOrEqual(MAX_UPSTREAM_BODY_BYTES);
    expect(text(result)).not.toMatch(/re-encoded|as a JPEG/);
  });

  it("is refused by a 20 MB cap, the former default, before anything is sent", async () => {
    const server = await start({ ...bigEnv(), FLUX_FILL_MAX_INPUT_MB: "20" });
    const result = await fillBig(server, file);
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/too large[\s\S]*FLUX_FILL_MAX_INPUT_MB/);
    expect(emulator.submitCount).toBe(0);
  });

  it("sends a 42 MB PNG that no PNG encoding brings within the body limit as a quality-95 JPEG, and says so", async () => {
    // 42 MB of noise: under the 50 MB input default, over the body limit as base64, and no PNG shrinks it.
    const noisy = await bigPng(2300);
    const noisyFile = path.join(dir, "noisy.png");
    await writeFile(noisyFile, noisy);
    expect(Math.ceil(noisy.length / 3) * 4).toBeGreaterThan(MAX_UPSTREAM_BODY_BYTES);
    const server = await start(bigEnv());
    const result = await fillBig(server, noisyFile);
    expect(result.isError, text(result)).toBeFalsy();
    const submit = emulator.submits.at(-1)!;
    expect(Number(submit.headers["content-length"])).toBeLessThanOrEqual(MAX_UPSTREAM_BODY_BYTES);
    const sent = await sharp(submit.image!).metadata();
    expect([sent.format, sent.width, sent.height]).toEqual(["jpeg", WIDTH, HEIGHT]);
    expect(text(result)).toMatch(/sent to Black Forest Labs as a JPEG at quality 95/);
  }, 120_000);
});
