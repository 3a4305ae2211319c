/**
 * The onnx segmenter through a real MCP client (in memory) with FLUX_FILL_SEGMENTER=onnx pointing at the
 * tiny SAM 2.1-shaped model: preview_mask reports onnx, its predicted IoU and the candidates; flux_fill then
 * selects the same pixels without encoding the photo again; missing weights are an error naming the fix.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOnnxSegmenter } from "../../../src/segmentation/onnx/index.js";
import { makePhoto } from "../../helpers/images.js";
import { startInMemory, tempDir, type TestServer } from "../../helpers/mcp.js";
import { installTinySam, TINY_SAM } from "../../helpers/sam-models.js";

let modelsDir: string;
beforeAll(async () => {
  modelsDir = await tempDir("onnx-mcp-models-");
  await installTinySam(modelsDir);
});

const BOX = { shape: "object", x: 200, y: 150, width: 300, height: 200 } as const;

async function photoIn(server: TestServer): Promise<string> {
  const file = path.join(server.workDir, "photo.png");
  await writeFile(file, await makePhoto(800, 600, { seed: 5 }));
  return file;
}

async function call(server: TestServer, name: string, args: Record<string, unknown>) {
  return server.client.request({ method: "tools/call", params: { name, arguments: args } });
}

describe("FLUX_FILL_SEGMENTER=onnx through an MCP client", () => {
  let server: TestServer;
  afterAll(async () => server?.close());

  it("preview_mask selects the object with SAM 2.1 and says so: segmenter, predicted IoU, candidates", async () => {
    server = await startInMemory({ FLUX_FILL_SEGMENTER: "onnx", FLUX_FILL_MODELS_DIR: modelsDir });
    const image = await photoIn(server);
    const result = await call(server, "preview_mask", { image, mask_regions: [BOX] });
    expect(result.isError).toBeFalsy();
    const out = result.structuredContent as { coverage: number; regions: Array<Record<string, unknown>> };
    expect(out.regions[0]).toMatchObject({ decided: "segmented", segmenter: "onnx", candidates: 3 });
    expect(out.regions[0]!.confidence).toBeCloseTo(TINY_SAM.scores[1], 3);
    // The tiny decoder's chosen candidate is the box itself: 300 × 200 of 800 × 600.
    expect(out.coverage).toBeGreaterThan(12.3);
    expect(out.coverage).toBeLessThan(12.7);
    const text = JSON.stringify(result.content);
    expect(text).toContain("SAM 2.1 selected the object (candidate 2 of 3, predicted IoU 0.80)");
  });

  it("auto takes onnx when its weights are in FLUX_FILL_MODELS_DIR", async () => {
    const auto = await startInMemory({ FLUX_FILL_MODELS_DIR: modelsDir });
    try {
      const result = await call(auto, "preview_mask", { image: await photoIn(auto), mask_regions: [BOX] });
      const out = result.structuredContent as { regions: Array<Record<string, unknown>> };
      expect(out.regions[0]).toMatchObject({ segmenter: "onnx", decided: "segmented" });
    } finally {
      await auto.close();
    }
  });
});

describe("the embedding is computed once for preview_mask then flux_fill on the same photo", () => {
  it("encodes once", async () => {
    const segmenter = createOnnxSegmenter({ modelsDir });
    const server = await startInMemory({ FLUX_FILL_PROVIDER: "local" }, { segmenter });
    try {
      const image = await photoIn(server);
      const preview = await call(server, "preview_mask", { image, mask_regions: [BOX] });
      expect(preview.isError).toBeFalsy();
      const fill = await call(server, "flux_fill", { image, mask_regions: [BOX], prompt: "grass" });
      expect(fill.isError, JSON.stringify(fill.content)).toBeFalsy();
      expect(segmenter.encoderRuns).toBe(1);
    } finally {
      await server.close();
    }
  });
});

describe("FLUX_FILL_SEGMENTER=onnx without weights", () => {
  it("answers an object entry with an error naming the pull command, and shapes still work", async () => {
    const empty = await tempDir("onnx-mcp-empty-");
    const server = await startInMemory({ FLUX_FILL_SEGMENTER: "onnx", FLUX_FILL_MODELS_DIR: empty });
    try {
      const image = await photoIn(server);
      const result = await call(server, "preview_mask", { image, mask_regions: [BOX] });
      expect(result.isError).toBe(true);
      expect(JSON.stringify(result.content)).toContain("flux-fill-mcp models pull sam2.1-tiny");
      const shapes = await call(server, "preview_mask", { image, mask_regions: [{ shape: "rect", x: 1, y: 1, width: 10, height: 10 }] });
      expect(shapes.isError).toBeFalsy();
    } finally {
      await server.close();
    }
  });
});
