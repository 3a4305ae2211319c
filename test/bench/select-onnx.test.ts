/**
 * bench:select's onnx column: with weights in FLUX_FILL_MODELS_DIR (here the tiny SAM 2.1-shaped model)
 * the hook segments through the built server's createSegmenter; without them it says why it measured nothing.
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadOnnxSegmenter } from "../../bench/select/real.js";
import { REPO_ROOT } from "../helpers/package.js";
import { tempDir } from "../helpers/mcp.js";
import { installTinySam } from "../helpers/sam-models.js";

const DIST = path.join(REPO_ROOT, "dist");

describe("bench:select's onnx hook", () => {
  it("measures when the weights are there", async () => {
    const modelsDir = await tempDir("bench-onnx-");
    await installTinySam(modelsDir);
    const onnx = await loadOnnxSegmenter(DIST, await tempDir("bench-exchange-"), modelsDir);
    expect(onnx.why).toBeUndefined();
    const width = 800;
    const height = 600;
    const answer = await onnx.segment!(
      { data: new Uint8Array(width * height * 3).fill(90), width, height, key: "bench" },
      { x: 200, y: 150, width: 300, height: 200 },
    );
    // The tiny decoder's box candidate: the box itself (the corners' pixels rounded off by the upscaling).
    let inside = 0;
    for (let y = 150; y < 350; y++) for (let x = 200; x < 500; x++) if (answer.mask[y * width + x]) inside++;
    const selected = answer.mask.reduce((n, v) => n + (v ? 1 : 0), 0);
    expect(selected).toBe(inside);
    expect(inside / (300 * 200)).toBeGreaterThan(0.99);
    expect(answer.confidence).toBeCloseTo(0.8, 5);
  });

  it("says why not when they are missing", async () => {
    const onnx = await loadOnnxSegmenter(DIST, await tempDir("bench-exchange-"), await tempDir("bench-none-"));
    expect(onnx.segment).toBeUndefined();
    expect(onnx.why).toContain("The onnx segmenter has no weights");
  });
});
