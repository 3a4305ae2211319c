/**
 * The onnx segmenter on a tiny MobileSAM-shaped model (SAM 1's ONNX layout, test/helpers/sam-models.ts):
 * the photo's longest side to 1024 with the aspect kept, points in that frame with the box's corners last
 * and a padding point without a box, orig_im_size as (h, w), SAM 1's own preference among its 4 masks, the
 * shared upscaling and thresholds; which model `auto` takes; and the same through a real MCP client.
 */
import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.js";
import { isFluxFillError } from "../../../src/errors.js";
import type { SegmentImage } from "../../../src/images/selection/segmenter.js";
import { MOBILE_SAM, SAM21_TINY } from "../../../src/models/catalogue.js";
import { pullModel } from "../../../src/models/store.js";
import { describeSegmenter } from "../../../src/segmentation/index.js";
import { createOnnxSegmenter, presentOnnxModel } from "../../../src/segmentation/onnx/index.js";
import { makePhoto } from "../../helpers/images.js";
import { startInMemory, tempDir } from "../../helpers/mcp.js";
import { startModelHost } from "../../helpers/model-host.js";
import {
  installTinyMobileSam,
  installTinySam,
  maskIou,
  maskOf,
  TINY_MOBILE_SAM,
  tinySamDecoder,
  tinySamEncoder,
} from "../../helpers/sam-models.js";

let modelsDir: string;
beforeAll(async () => {
  modelsDir = await tempDir("mobilesam-");
  await installTinyMobileSam(modelsDir);
});

/** The FluxFillError's message and suggestion. */
async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isFluxFillError(error)) return `${error.message}\n${error.suggestion ?? ""}`;
    throw error;
  }
  throw new Error("expected a failure");
}

function flatImage(width: number, height: number, key: string): SegmentImage {
  return { data: new Uint8Array(width * height * 3).fill(128), width, height, channels: 3, key };
}

const { scores, labelWeight } = TINY_MOBILE_SAM;

describe("onnx segmenter on a tiny MobileSAM-shaped model", () => {
  it("a box alone: its corners (labels 2 and 3) in the longest-side frame; of the ambiguous masks 1–3 the one inside the box", async () => {
    const segmenter = createOnnxSegmenter({ modelsDir });
    const result = await segmenter.segment(flatImage(800, 600, "box"), { box: { x: 200, y: 150, width: 300, height: 200 } });
    // Candidate 2 is the rectangle between the last two points; the discs around the first corner spill out.
    expect(result).toMatchObject({ decided: "segmented", candidates: 4, segmenter: "onnx", costUsd: 0 });
    expect(result.confidence).toBeCloseTo(scores[1] + labelWeight * (2 + 3), 5);
    expect(result.reason).toBe("MobileSAM selected the object (candidate 2 of 4, predicted IoU 0.85).");
    expect(maskIou(result.mask, maskOf(800, 600, (x, y) => x > 200 && x < 500 && y > 150 && y < 350))).toBeGreaterThan(0.99);
    const row = 250 * 800;
    expect([result.mask[row + 199], result.mask[row + 200], result.mask[row + 499], result.mask[row + 500]]).toEqual([0, 255, 255, 0]);
  });

  it("an include point alone goes with a padding point (label −1); mapped back it is a circle, not an ellipse", async () => {
    const segmenter = createOnnxSegmenter({ modelsDir });
    const result = await segmenter.segment(flatImage(800, 600, "point"), { include: [[400, 300]] });
    expect(result.confidence).toBeCloseTo(scores[2] + labelWeight * (1 - 1), 5);
    expect(result.reason).toContain("candidate 3 of 4");
    const r = TINY_MOBILE_SAM.largeRadius * (800 / 1024);
    expect(maskIou(result.mask, maskOf(800, 600, (x, y) => Math.hypot(x - 400, y - 300) < r))).toBeGreaterThan(0.98);
  });

  it("points and a box: the points first, the corners last, and SAM's single mask (mask 0) preferred for 3+ points", async () => {
    const segmenter = createOnnxSegmenter({ modelsDir });
    const box = { x: 200, y: 150, width: 300, height: 200 };
    const result = await segmenter.segment(flatImage(800, 600, "both"), { box, include: [[350, 250]] });
    // Mask 0 is the small disc around the first point — the include point, not a corner.
    expect(result.confidence).toBeCloseTo(scores[0] + labelWeight * (1 + 2 + 3), 5);
    expect(result.reason).toContain("candidate 1 of 4");
    const r = TINY_MOBILE_SAM.smallRadius * (800 / 1024);
    expect(maskIou(result.mask, maskOf(800, 600, (x, y) => Math.hypot(x - 350, y - 250) < r))).toBeGreaterThan(0.95);
  });

  it("a portrait photo: orig_im_size is (h, w) of the resized frame (683 × 1024 for 600 × 900)", async () => {
    const segmenter = createOnnxSegmenter({ modelsDir });
    const result = await segmenter.segment(flatImage(600, 900, "portrait"), { box: { x: 100, y: 200, width: 300, height: 400 } });
    expect(result.reason).toContain("candidate 2 of 4");
    expect(maskIou(result.mask, maskOf(600, 900, (x, y) => x > 100 && x < 400 && y > 200 && y < 600))).toBeGreaterThan(0.98);
  });

  it("encodes each photo once for every prompt on it", async () => {
    const segmenter = createOnnxSegmenter({ modelsDir });
    const image = flatImage(640, 480, "reuse");
    await segmenter.segment(image, { box: { x: 100, y: 100, width: 200, height: 150 } });
    await segmenter.segment(image, { include: [[320, 240]] });
    expect(segmenter.encoderRuns).toBe(1);
  });
});

describe("which model the onnx segmenter uses", () => {
  it("MobileSAM when only it is pulled; SAM 2.1 when both are; the choice is named in --help's line", async () => {
    expect(presentOnnxModel(modelsDir)).toBe(MOBILE_SAM);
    const config = loadConfig({ FLUX_FILL_MODELS_DIR: modelsDir, FLUX_FILL_OUTPUT_DIR: path.join(modelsDir, "out") }, modelsDir);
    expect(describeSegmenter(config)).toBe("onnx with MobileSAM (FLUX_FILL_SEGMENTER=auto)");
    const both = await tempDir("mobilesam-both-");
    await installTinyMobileSam(both);
    await installTinySam(both);
    expect(presentOnnxModel(both)).toBe(SAM21_TINY);
    const result = await createOnnxSegmenter({ modelsDir: both }).segment(flatImage(800, 600, "both-models"), {
      box: { x: 200, y: 150, width: 300, height: 200 },
    });
    expect(result).toMatchObject({ candidates: 3 });
    expect(result.reason).toContain("SAM 2.1 selected the object");
  });

  it("no weights: the error names both pull commands; files of another layout in mobilesam's folder are refused by name", async () => {
    const empty = await tempDir("mobilesam-none-");
    const none = await failure(createOnnxSegmenter({ modelsDir: empty }).segment(flatImage(10, 10, "x"), { include: [[5, 5]] }));
    expect(none).toContain("flux-fill-mcp models pull sam2.1-tiny");
    expect(none).toContain("flux-fill-mcp models pull mobilesam");
    // SAM 2.1's files where MobileSAM's belong, pulled with their own pins: names checked on load.
    const wrongDir = await tempDir("mobilesam-wrong-");
    const host = await startModelHost({ "mobile_sam_image_encoder.onnx": tinySamEncoder(), "sam_mask_decoder_multi.onnx": tinySamDecoder() });
    try {
      const pin = (bytes: Uint8Array) => ({ sha256: createHash("sha256").update(bytes).digest("hex"), bytes: bytes.length });
      const files = {
        encoder: { ...MOBILE_SAM.files.encoder, ...pin(tinySamEncoder()) },
        decoder: { ...MOBILE_SAM.files.decoder, ...pin(tinySamDecoder()) },
      };
      await pullModel({ ...MOBILE_SAM, files }, { dir: wrongDir, baseUrl: host.url });
    } finally {
      await host.close();
    }
    const wrong = await failure(createOnnxSegmenter({ modelsDir: wrongDir }).segment(flatImage(10, 10, "y"), { include: [[5, 5]] }));
    expect(wrong).toContain("are not SAM 1's ONNX layout (MobileSAM) (missing encoder input input_image; encoder output image_embeddings; decoder input image_embeddings, orig_im_size)");
    expect(wrong).toContain("flux-fill-mcp models pull mobilesam");
  });

  it("preview_mask through an MCP client names MobileSAM and its score", async () => {
    const server = await startInMemory({ FLUX_FILL_MODELS_DIR: modelsDir });
    try {
      const image = path.join(server.workDir, "photo.png");
      await writeFile(image, await makePhoto(800, 600, { seed: 5 }));
      const result = await server.client.request({
        method: "tools/call",
        params: { name: "preview_mask", arguments: { image, mask_regions: [{ shape: "object", x: 200, y: 150, width: 300, height: 200 }] } },
      });
      expect(result.isError).toBeFalsy();
      const out = result.structuredContent as { coverage: number; regions: Array<Record<string, unknown>> };
      expect(out.regions[0]).toMatchObject({ decided: "segmented", segmenter: "onnx", candidates: 4 });
      expect(out.coverage).toBeGreaterThan(12.3);
      expect(out.coverage).toBeLessThan(12.7);
      expect(JSON.stringify(result.content)).toContain("MobileSAM selected the object (candidate 2 of 4, predicted IoU 0.85)");
    } finally {
      await server.close();
    }
  });
});
