import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isFluxFillError } from "../../../src/errors.js";
import type { SegmentImage } from "../../../src/images/selection/segmenter.js";
import { checkOnnxWeights, createOnnxSegmenter, onnxWeightsPresent } from "../../../src/segmentation/onnx/index.js";
import { loadOnnxRuntime } from "../../../src/segmentation/onnx/runtime.js";
import { installTinySam, maskIou, maskOf, TINY_SAM } from "../../helpers/sam-models.js";

let modelsDir: string;
beforeAll(async () => {
  modelsDir = await mkdtemp(path.join(os.tmpdir(), "onnx-seg-"));
  await installTinySam(modelsDir);
});
afterAll(async () => {
  await rm(modelsDir, { recursive: true, force: true });
});

function flatImage(width: number, height: number, key: string, channels: 1 | 3 | 4 = 3): SegmentImage {
  return { data: new Uint8Array(width * height * channels).fill(128), width, height, channels, key };
}

async function failure(promise: Promise<unknown>): Promise<{ kind: string; text: string }> {
  try {
    await promise;
  } catch (error) {
    if (isFluxFillError(error)) return { kind: error.kind, text: `${error.message}\n${error.suggestion ?? ""}` };
    throw error;
  }
  throw new Error("expected a failure");
}

describe("onnx segmenter on a tiny SAM 2.1-shaped model", () => {
  it("a box becomes the corners labelled 2 and 3; the candidate inside the box wins over better-scoring ones", async () => {
    const segmenter = createOnnxSegmenter({ modelsDir });
    const box = { x: 200, y: 150, width: 300, height: 200 };
    const result = await segmenter.segment(flatImage(800, 600, "box"), { box });
    // The decoder's candidate 2 is the rectangle between the first and the last point: the box's corners.
    expect(result).toMatchObject({ decided: "segmented", candidates: 3, segmenter: "onnx", costUsd: 0 });
    expect(result.confidence).toBeCloseTo(TINY_SAM.scores[1], 5);
    expect(result.reason).toContain("candidate 2 of 3, predicted IoU 0.80");
    const expected = maskOf(800, 600, (x, y) => x > 200 && x < 500 && y > 150 && y < 350);
    expect(maskIou(result.mask, expected)).toBeGreaterThan(0.99);
    // Away from the corners the upscaled edges land on the exact pixels.
    const row = 250 * 800;
    expect(result.mask[row + 199]).toBe(0);
    expect(result.mask[row + 200]).toBe(255);
    expect(result.mask[row + 499]).toBe(255);
    expect(result.mask[row + 500]).toBe(0);
  });

  it("an include point alone: the best-scoring candidate, mapped back through the 1024 frame (an ellipse on a 4:3 photo)", async () => {
    const segmenter = createOnnxSegmenter({ modelsDir });
    const result = await segmenter.segment(flatImage(800, 600, "point"), { include: [[400, 300]] });
    expect(result.confidence).toBeCloseTo(TINY_SAM.scores[2], 5);
    const r = TINY_SAM.largeRadius;
    const expected = maskOf(800, 600, (x, y) => Math.hypot(((x - 400) * 1024) / 800, ((y - 300) * 1024) / 600) < r);
    expect(maskIou(result.mask, expected)).toBeGreaterThan(0.98);
  });

  it("an exclude point rules out the candidates that contain it", async () => {
    const segmenter = createOnnxSegmenter({ modelsDir });
    const result = await segmenter.segment(flatImage(800, 600, "exclude"), { include: [[400, 300]], exclude: [[550, 300]] });
    // The large disc holds (550, 300); the rectangle between the two points is empty; the small disc is left.
    expect(result.confidence).toBeCloseTo(TINY_SAM.scores[0], 5);
    const r = TINY_SAM.smallRadius;
    const expected = maskOf(800, 600, (x, y) => Math.hypot(((x - 400) * 1024) / 800, ((y - 300) * 1024) / 600) < r);
    expect(maskIou(result.mask, expected)).toBeGreaterThan(0.95);
  });

  it("when no candidate fits, the best-scoring one is used, reported doubtful and cut to the box with 3 % slack", async () => {
    const segmenter = createOnnxSegmenter({ modelsDir });
    // On a 1024² image the frames coincide. The include point's cell (centre 602) lies just outside the
    // rectangle from the box's corner to (601, 601), and outside both discs around (200, 200): none fits.
    const box = { x: 200, y: 200, width: 600, height: 600 };
    const result = await segmenter.segment(flatImage(1024, 1024, "none-fits"), { box, include: [[601, 601]] });
    expect(result.confidence).toBe(0.5);
    expect(result.reason).toContain("all spill out of the box or ignore a hint point");
    expect(result.reason).toContain("candidate 3 of 3, predicted IoU 0.95");
    // The large disc (radius 400 around the box's corner) reaches x = −200; the cut keeps x ≥ 182.
    let outside = 0;
    let inside = 0;
    for (let y = 0; y < 1024; y++)
      for (let x = 0; x < 1024; x++) {
        if (!result.mask[y * 1024 + x]) continue;
        if (x < 182 || y < 182 || x >= 818 || y >= 818) outside++;
        else inside++;
      }
    expect(outside).toBe(0);
    expect(inside).toBeGreaterThan(100_000);
  });

  it("computes the embedding once per image and reuses it for every prompt on it", async () => {
    const segmenter = createOnnxSegmenter({ modelsDir });
    const width = 640;
    const height = 480;
    const data = new Uint8Array(width * height * 3).map((_, i) => (i * 7) % 251);
    const image: SegmentImage = { data, width, height, channels: 3, key: "gradient" };
    const box = { x: image.width * 0.3, y: image.height * 0.3, width: image.width * 0.3, height: image.height * 0.3 };
    const [preview, fill] = await Promise.all([segmenter.segment(image, { box }), segmenter.segment(image, { box })]);
    await segmenter.segment(image, { include: [[image.width / 2, image.height / 2]] });
    expect(segmenter.encoderRuns).toBe(1);
    expect(Buffer.compare(preview.mask, fill.mask)).toBe(0);
    await segmenter.segment({ ...image, key: "another" }, { box });
    expect(segmenter.encoderRuns).toBe(2);
  });

  it("takes grey and RGBA pixels as well as RGB", async () => {
    const segmenter = createOnnxSegmenter({ modelsDir });
    const box = { x: 10, y: 10, width: 40, height: 30 };
    for (const channels of [1, 4] as const) {
      const result = await segmenter.segment(flatImage(64, 48, `c${channels}`, channels), { box });
      expect(result.mask.length).toBe(64 * 48);
      expect(result.decided).toBe("segmented");
    }
  });

  it("refuses text, and a prompt with neither a box nor an include point", async () => {
    const segmenter = createOnnxSegmenter({ modelsDir });
    const text = await failure(segmenter.segment(flatImage(10, 10, "t"), { text: "the spoon", box: { x: 0, y: 0, width: 5, height: 5 } }));
    expect(text.kind).toBe("bad_input");
    expect(text.text).toContain("FLUX_FILL_SEGMENTER=fal");
    const none = await failure(segmenter.segment(flatImage(10, 10, "n"), { exclude: [[1, 1]] }));
    expect(none.text).toContain("needs a box");
  });
});

describe("onnx segmenter failures name the fix", () => {
  it("no weights", async () => {
    const empty = await mkdtemp(path.join(os.tmpdir(), "onnx-none-"));
    try {
      expect(await checkOnnxWeights(empty)).toMatchObject({ present: false, fix: "flux-fill-mcp models pull sam2.1-tiny" });
      expect(onnxWeightsPresent(empty)).toBe(false);
      expect(onnxWeightsPresent(modelsDir)).toBe(true);
      const error = await failure(createOnnxSegmenter({ modelsDir: empty }).segment(flatImage(10, 10, "x"), { include: [[5, 5]] }));
      expect(error.kind).toBe("service_unavailable");
      expect(error.text).toContain("has no weights");
      expect(error.text).toContain("flux-fill-mcp models pull sam2.1-tiny");
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it("a corrupt weight file (its SHA-256 no longer matches)", async () => {
    const copy = await mkdtemp(path.join(os.tmpdir(), "onnx-bad-"));
    try {
      await installTinySam(copy);
      const file = path.join(copy, "sam2.1-tiny", "encoder.onnx");
      const bytes = await readFile(file);
      bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
      await writeFile(file, bytes);
      expect((await checkOnnxWeights(copy)).present).toBe(true); // the cheap checks see sizes only
      expect(onnxWeightsPresent(copy)).toBe(true);
      const error = await failure(createOnnxSegmenter({ modelsDir: copy }).segment(flatImage(10, 10, "x"), { include: [[5, 5]] }));
      expect(error.text).toContain("weights are damaged");
      expect(error.text).toContain("does not match its SHA-256");
      expect(error.text).toContain("flux-fill-mcp models pull sam2.1-tiny");
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });

  it("ONNX Runtime not installed", async () => {
    const segmenter = createOnnxSegmenter({ modelsDir, loadRuntime: () => loadOnnxRuntime("onnxruntime-node-not-installed") });
    const error = await failure(segmenter.segment(flatImage(10, 10, "x"), { include: [[5, 5]] }));
    expect(error.kind).toBe("service_unavailable");
    expect(error.text).toContain("needs ONNX Runtime (the onnxruntime-node-not-installed package), which is not installed");
    expect(error.text).toContain("npm install -g flux-fill-mcp onnxruntime-node --onnxruntime-node-install=skip");
    expect(error.text).toContain("FLUX_FILL_SEGMENTER=classic");
  });
});
