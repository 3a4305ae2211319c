/**
 * Object entries through fal's SAM, end to end: the SDK's real Client (in memory) against the real server,
 * fal's queue and SAM endpoints emulated on 127.0.0.1 (test/helpers/host-emulators.ts, sam-emulation.ts)
 * with objects outlined by hand on the real photos (photo-objects.ts). The fill itself runs on the local
 * engine, so every fal request seen is a segmentation.
 */
import { copyFile } from "node:fs/promises";
import path from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/client";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type HostEmulator, startFalEmulator } from "../helpers/host-emulators.js";
import { callTool, startInMemory, type TestServer, textOf as text } from "../helpers/mcp.js";
import { ASTRONAUT_FLAG, ASTRONAUT_SUIT, COFFEE_CUP, COFFEE_SPOON } from "../helpers/photo-objects.js";
import type { SamObject } from "../helpers/sam-emulation.js";

const PHOTOS = "/work/shared/data/photos";
const FAL_KEY = "fal-seg-key-41c2:77aa";

let fal: HostEmulator;
let current: TestServer | undefined;

beforeAll(async () => {
  fal = await startFalEmulator({ apiKey: FAL_KEY, queueMs: 10, generationMs: 40 });
});
afterAll(() => fal.close());
beforeEach(() => fal.reset({ samObjects: [COFFEE_SPOON, COFFEE_CUP] }));
afterEach(async () => {
  await current?.close();
  current = undefined;
  expect(fal.internalErrors).toEqual([]);
});

async function start(env: Record<string, string> = {}): Promise<TestServer> {
  current = await startInMemory({
    FLUX_FILL_PROVIDER: "local",
    FLUX_FILL_SEGMENTER: "fal",
    FAL_KEY,
    FLUX_FILL_FAL_BASE_URL: fal.apiBaseUrl,
    FLUX_FILL_POLL_INTERVAL_MS: "10",
    ...env,
  });
  for (const name of ["coffee.png", "astronaut.png"]) await copyFile(path.join(PHOTOS, name), path.join(current.workDir, name));
  return current;
}

const call = (server: TestServer, tool: string, args: Record<string, unknown>) => callTool(server.client, tool, args);

type Region = { segmenter?: string; confidence?: number; candidates?: number; decided: string; reason: string | null };
const regionsOf = (result: CallToolResult) => (result.structuredContent as { regions: Region[] }).regions;
const bboxOf = (result: CallToolResult) =>
  (result.structuredContent as { bbox: { x: number; y: number; width: number; height: number } }).bbox;

/** SAM requests the emulator received (the fill runs locally, so these are all of fal's work). */
const samJobs = () => [...fal.jobs.values()].filter((j) => j.model.startsWith("fal-ai/sam"));

/** The pixel bounding box of a hand-drawn object on a photo of `width`×`height`. */
function pixelBox(object: SamObject, width: number, height: number) {
  const xs = object.polygon.map((p) => p[0] * width);
  const ys = object.polygon.map((p) => p[1] * height);
  return { x0: Math.min(...xs), y0: Math.min(...ys), x1: Math.max(...xs), y1: Math.max(...ys) };
}

function expectBoxNear(actual: { x: number; y: number; width: number; height: number }, object: SamObject, width: number, height: number) {
  const want = pixelBox(object, width, height);
  expect(Math.abs(actual.x - want.x0)).toBeLessThanOrEqual(3);
  expect(Math.abs(actual.y - want.y0)).toBeLessThanOrEqual(3);
  expect(Math.abs(actual.x + actual.width - want.x1)).toBeLessThanOrEqual(3);
  expect(Math.abs(actual.y + actual.height - want.y1)).toBeLessThanOrEqual(3);
}

describe("fal's SAM 3 as the segmenter", () => {
  it('selects "the spoon" by text: the spoon\'s mask, scored, paid and said so; the request is SAM 3\'s shape', async () => {
    const server = await start();
    const result = await call(server, "preview_mask", {
      image: "coffee.png",
      mask_regions: [{ shape: "object", text: "the spoon" }],
    });
    expect(result.isError, text(result)).toBeFalsy();
    expectBoxNear(bboxOf(result), COFFEE_SPOON, 600, 400);
    const [region] = regionsOf(result);
    expect(region).toMatchObject({ segmenter: "fal", confidence: 0.93, candidates: 1, decided: "segmented" });
    expect(text(result)).toMatch(/segmenter fal, confidence 0\.93\)/);
    expect(text(result)).toMatch(/paid \$0\.005 .*photo was sent to fal/);
    // The photo did go out (to fal): the picture's line must not say nothing was sent.
    expect(text(result)).not.toMatch(/Nothing was sent upstream/);
    expect(text(result)).toMatch(/Nothing was sent to the fill's provider\./);
    const jobs = samJobs();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.model).toBe("fal-ai/sam-3");
    expect(jobs[0]!.body).toMatchObject({
      prompt: "the spoon",
      apply_mask: false,
      include_scores: true,
      include_boxes: true,
      return_multiple_masks: true,
      output_format: "png",
    });
    expect(String(jobs[0]!.body.image_url)).toMatch(/^data:image\/jpeg;base64,/);
    // The key went to the API only, never to the delivery host that served the mask.
    const delivery = fal.requests.filter((r) => r.server === "delivery");
    expect(delivery.length).toBeGreaterThan(0);
    for (const r of delivery) expect(r.headers.authorization).toBeUndefined();
  });

  it("preview, then fill, then the same fill again: one SAM request, the later replies say it was not charged again", async () => {
    const server = await start();
    const args = { image: "coffee.png", mask_regions: [{ shape: "object", text: "the spoon" }] };
    const preview = await call(server, "preview_mask", args);
    expect(preview.isError, text(preview)).toBeFalsy();
    const fill = await call(server, "flux_fill", { ...args, prompt: "an empty saucer" });
    expect(fill.isError, text(fill)).toBeFalsy();
    expect(text(fill)).toMatch(/segmenter fal, confidence 0\.93\).*not charged again/);
    const again = await call(server, "flux_fill", { ...args, prompt: "an empty saucer", seed: 5 });
    expect(again.isError, text(again)).toBeFalsy();
    expect(samJobs()).toHaveLength(1);
  });

  it("open_mask_editor starts from the segmented object and names the segmenter and the cost", async () => {
    const server = await start();
    const result = await call(server, "open_mask_editor", {
      image: "coffee.png",
      mask_regions: [{ shape: "object", text: "the spoon" }],
    });
    expect(result.isError, text(result)).toBeFalsy();
    expect(text(result)).toMatch(/mask_regions\[0\] \(object, segmenter fal, confidence 0\.93\).*photo was sent to fal/);
    const coverage = (result.structuredContent as { start_mask_coverage: number }).start_mask_coverage;
    expect(coverage).toBeGreaterThan(0.02);
    expect(coverage).toBeLessThan(0.05); // the spoon (≈3 % of the photo), not the cup
    expect(samJobs()).toHaveLength(1);
  });

  it("with a box, the best-scoring mask that lies in it wins; the reply counts the candidates", async () => {
    // A second "spoon" scored higher lies outside the box (the cup's outline stands in for it).
    fal.reset({ samObjects: [COFFEE_SPOON, { ...COFFEE_CUP, label: "spoon", score: 0.99 }] });
    const server = await start();
    const result = await call(server, "preview_mask", {
      image: "coffee.png",
      mask_regions: [{ shape: "object", text: "spoon", x: 315, y: 55, width: 120, height: 285 }],
    });
    expect(result.isError, text(result)).toBeFalsy();
    expect(regionsOf(result)[0]).toMatchObject({ segmenter: "fal", confidence: 0.93, candidates: 2 });
    expect(text(result)).toMatch(/best of 2 candidates/);
    expectBoxNear(bboxOf(result), COFFEE_SPOON, 600, 400);
    expect(samJobs()[0]!.body.box_prompts).toEqual([{ x_min: 315, y_min: 55, x_max: 435, y_max: 340 }]);
  });

  it('"change the flag": the flag, not the orange suit the colour models took with it', async () => {
    fal.reset({ samObjects: [ASTRONAUT_FLAG, ASTRONAUT_SUIT] });
    const server = await start();
    const result = await call(server, "preview_mask", {
      image: "astronaut.png",
      mask_regions: [{ shape: "object", text: "the flag" }],
    });
    expect(result.isError, text(result)).toBeFalsy();
    expectBoxNear(bboxOf(result), ASTRONAUT_FLAG, 512, 512);
    expect(regionsOf(result)[0]).toMatchObject({ segmenter: "fal", candidates: 1 });
  });

  it("hint points on the wrong side of the final mask are reported one by one; a low score is doubtful", async () => {
    // An exclude point on the spoon's bowl: the emulated SAM gives up on the spoon and returns a low-scored blob.
    const server = await start();
    const result = await call(server, "preview_mask", {
      image: "coffee.png",
      mask_regions: [{ shape: "object", x: 320, y: 60, width: 110, height: 270, exclude: [[366, 290]], include: [[412, 75]] }],
    });
    expect(result.isError, text(result)).toBeFalsy();
    const reason = regionsOf(result)[0]!.reason!;
    expect(regionsOf(result)[0]!.confidence).toBe(0.35);
    expect(reason).toMatch(/doubtful — check the preview/);
    expect(reason).toMatch(/hint exclude\[0\] \(366, 290\) ended inside the mask: the fal segmenter did not follow it/);
    // The include point on the handle's tip lies outside the blob: reported too, each point on its own.
    expect(reason).toMatch(/hint include\[0\] \(412, 75\) ended outside the mask: the fal segmenter did not follow it/);
  });

  it("a hint point the selection followed but a later entry undid is reported as such; points on the right side are not", async () => {
    const server = await start();
    const result = await call(server, "preview_mask", {
      image: "coffee.png",
      mask_regions: [
        { shape: "object", text: "the spoon", include: [[366, 290], [400, 120]] },
        { shape: "rect", x: 340, y: 270, width: 50, height: 40, op: "subtract" },
      ],
    });
    expect(result.isError, text(result)).toBeFalsy();
    const reason = regionsOf(result)[0]!.reason!;
    expect(reason).toMatch(/hint include\[0\] \(366, 290\) ended outside the mask: the selection followed it, a later entry changed it/);
    expect(reason).not.toMatch(/include\[1\]/);
    expect(reason).not.toMatch(/doubtful/);
  });

  it("a text SAM 3 finds nothing in → a clear error asking for another name or a box (that request was paid)", async () => {
    const server = await start();
    const result = await call(server, "preview_mask", {
      image: "coffee.png",
      mask_regions: [{ shape: "object", text: "the zebra" }],
    });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/found nothing matching "the zebra"/);
    expect(text(result)).toMatch(/give the box/);
  });

  it("SAM 3 refusing a geometry-only request → SAM 2 selects the box instead, and the reply says so", async () => {
    fal.reset({ samObjects: [COFFEE_SPOON], sam3Outcome: "invalid" });
    const server = await start();
    const result = await call(server, "preview_mask", {
      image: "coffee.png",
      mask_regions: [{ shape: "object", x: 315, y: 55, width: 120, height: 285 }],
    });
    expect(result.isError, text(result)).toBeFalsy();
    expect(samJobs().map((j) => j.model)).toEqual(["fal-ai/sam-3", "fal-ai/sam2"]);
    expect(regionsOf(result)[0]).toMatchObject({ segmenter: "fal", confidence: 0.6 });
    expect(text(result)).toMatch(/SAM 2 was asked instead/);
    expectBoxNear(bboxOf(result), COFFEE_SPOON, 600, 400);
  });

  it("counts each request in the daily credit limit (0.5 credit) and refuses before paying past it", async () => {
    const server = await start({ FLUX_FILL_DAILY_CREDIT_LIMIT: "1" });
    for (const word of ["spoon", "the spoon"]) {
      const ok = await call(server, "preview_mask", { image: "coffee.png", mask_regions: [{ shape: "object", text: word }] });
      expect(ok.isError, text(ok)).toBeFalsy();
    }
    const refused = await call(server, "preview_mask", { image: "coffee.png", mask_regions: [{ shape: "object", text: "cup" }] });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/FLUX_FILL_DAILY_CREDIT_LIMIT is 1 credits.* 1 were spent today/);
    expect(samJobs()).toHaveLength(2);
  });
});

describe("fal's SAM failing: never silent", () => {
  it("a submit whose answer is lost is counted (it may have been charged) and not repeated", async () => {
    fal.configure({ dropNextSubmits: 1 });
    const server = await start({ FLUX_FILL_DAILY_CREDIT_LIMIT: "0.5" });
    const lost = await call(server, "preview_mask", { image: "coffee.png", mask_regions: [{ shape: "object", text: "spoon" }] });
    expect(lost.isError).toBe(true);
    expect(text(lost)).toMatch(/NOT resubmitted, to avoid paying twice/);
    const next = await call(server, "preview_mask", { image: "coffee.png", mask_regions: [{ shape: "object", text: "cup" }] });
    expect(text(next)).toMatch(/FLUX_FILL_DAILY_CREDIT_LIMIT is 0.5 credits.* 0.5 were spent today/);
    expect(samJobs()).toHaveLength(1);
  });


  const box = { shape: "object", x: 315, y: 55, width: 120, height: 285 };

  it.each([
    ["a refused key (401)", { apiKey: "another-key" }, /rejected the API key.*\n.*Check FAL_KEY/],
    ["no credit (402)", { outOfCredits: true }, /out of credit.*\n.*Add credit at https:\/\/fal\.ai\/dashboard\/billing, or set FLUX_FILL_SEGMENTER=classic/],
    ["throttled (429)", { rateLimitNextSubmits: 10, retryAfter: "0" }, /HTTP 429.*\n.*Wait a minute and try again, or set FLUX_FILL_SEGMENTER=classic/],
  ] as const)("%s with FLUX_FILL_SEGMENTER=fal → an error naming the fix", async (_name, behaviour, pattern) => {
    fal.configure(behaviour);
    const server = await start();
    const result = await call(server, "preview_mask", { image: "coffee.png", mask_regions: [box] });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/^Error \(\w+\): mask_regions\[0\] \(object\): Segmenting with fal's SAM: /);
    expect(text(result)).toMatch(pattern);
    expect(text(result)).not.toContain(FAL_KEY);
  });

  it("the host down → an error naming FLUX_FILL_FAL_BASE_URL", async () => {
    const down = await startFalEmulator({ apiKey: FAL_KEY });
    const url = down.apiBaseUrl;
    await down.close();
    const server = await start({ FLUX_FILL_FAL_BASE_URL: url });
    const result = await call(server, "preview_mask", { image: "coffee.png", mask_regions: [box] });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/Could not connect.*\n.*FLUX_FILL_FAL_BASE_URL, or set FLUX_FILL_SEGMENTER=classic/);
  });

  it("with auto, out of credit → classic selects the box, with a note; a text prompt still fails clearly", async () => {
    fal.configure({ outOfCredits: true });
    const server = await start({ FLUX_FILL_SEGMENTER: "auto" });
    const result = await call(server, "preview_mask", { image: "coffee.png", mask_regions: [box] });
    expect(result.isError, text(result)).toBeFalsy();
    expect(regionsOf(result)[0]).toMatchObject({ segmenter: "classic" });
    expect(text(result)).toMatch(/the fal segmenter failed \(.*out of credit.*\), so FLUX_FILL_SEGMENTER=auto used classic instead/);
    const named = await call(server, "preview_mask", { image: "coffee.png", mask_regions: [{ shape: "object", text: "spoon" }] });
    expect(named.isError).toBe(true);
    expect(text(named)).toMatch(/out of credit/);
  });
});

describe("text prompts without a text-reading segmenter", () => {
  it("classic → an error naming FLUX_FILL_SEGMENTER=fal with FAL_KEY, before anything is selected", async () => {
    const server = await start({ FLUX_FILL_SEGMENTER: "classic" });
    const result = await call(server, "flux_fill", {
      image: "coffee.png",
      prompt: "an empty saucer",
      mask_regions: [{ shape: "object", x: 315, y: 55, width: 120, height: 285 }, { shape: "object", text: "the spoon" }],
    });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/mask_regions\[1\] names the object by text \("the spoon"\), but this server's segmenter \(classic\) cannot read text/);
    expect(text(result)).toMatch(/FLUX_FILL_SEGMENTER=fal with FAL_KEY/);
    expect(samJobs()).toHaveLength(0);
  });

  it("an object entry with a partial box, or neither box nor text, is refused naming what is missing", async () => {
    const server = await start({ FLUX_FILL_SEGMENTER: "classic" });
    const partial = await call(server, "preview_mask", { image: "coffee.png", mask_regions: [{ shape: "object", x: 10, y: 10 }] });
    expect(text(partial)).toMatch(/mask_regions\[0\] \(object\) gives x, y but not width, height/);
    const neither = await call(server, "preview_mask", { image: "coffee.png", mask_regions: [{ shape: "object" }] });
    expect(text(neither)).toMatch(/has neither a box nor a text/);
  });
});
