/**
 * Choosing the segmenter once from the config: `auto`'s order, explicit choices, and the words --help and
 * the start-up log use; an unknown value is a configuration error naming the accepted ones.
 */
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/client";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { MANIFEST_FILE } from "../../src/models/store.js";
import { startInMemory, tempDir } from "../helpers/mcp.js";
import { createSegmenter, describeSegmenter, resolveSegmenter, segmenterProblem } from "../../src/segmentation/index.js";

const config = (env: Record<string, string>) =>
  loadConfig({ FLUX_FILL_OUTPUT_DIR: "/tmp/segcore-cfg", FLUX_FILL_MODELS_DIR: "/tmp/segcore-no-models", ...env }, "/tmp");

/** A models folder whose SAM 2.1 files are there at their recorded sizes but are not what the manifest says. */
async function damagedWeights(): Promise<string> {
  const dir = await tempDir("segcore-models-");
  const folder = path.join(dir, "sam2.1-tiny");
  await mkdir(folder, { recursive: true });
  const files = { encoder: "encoder.onnx", decoder: "decoder.onnx" };
  for (const file of Object.values(files)) await writeFile(path.join(folder, file), Buffer.alloc(64, 7));
  const record = (file: string) => ({ file, sha256: "0".repeat(64), bytes: 64 });
  await writeFile(
    path.join(folder, MANIFEST_FILE),
    JSON.stringify({
      model: "sam2.1-tiny",
      source: { url: "http://127.0.0.1/none.zip", sha256: "0".repeat(64) },
      files: { encoder: record(files.encoder), decoder: record(files.decoder) },
      pulledAt: new Date().toISOString(),
    }),
  );
  return dir;
}

describe("FLUX_FILL_SEGMENTER", () => {
  it("auto: onnx when its weights are present, else fal with FAL_KEY, else classic", () => {
    expect(resolveSegmenter(config({}))).toBe("classic");
    expect(resolveSegmenter(config({ FAL_KEY: "k" }))).toBe("fal");
    expect(resolveSegmenter(config({ FAL_KEY: "k" }), { onnxWeightsPresent: () => true })).toBe("onnx");
    expect(createSegmenter(config({}))).toMatchObject({ name: "classic", readsText: false, hosted: false });
    expect(createSegmenter(config({ FAL_KEY: "k" }))).toMatchObject({ name: "fal", readsText: true, hosted: true });
  });

  it("an explicit choice wins over keys; fal without a key is a problem named for /readyz and each call", async () => {
    expect(resolveSegmenter(config({ FLUX_FILL_SEGMENTER: "classic", FAL_KEY: "k" }))).toBe("classic");
    const noKey = config({ FLUX_FILL_SEGMENTER: "FAL" });
    expect(segmenterProblem(noKey)).toMatch(/FAL_KEY is not set/);
    await expect(
      createSegmenter(noKey).segment({ data: new Uint8Array(3), width: 1, height: 1, channels: 3, key: "k" }, { text: "cup" }),
    ).rejects.toThrow(/FAL_KEY is not set/);
    expect(describeSegmenter(config({ FAL_KEY: "k" }))).toBe(
      "fal (FLUX_FILL_SEGMENTER=auto): paid, $0.005 per object, the photo is sent to fal",
    );
  });

  it("an unknown value is refused, naming the accepted ones", () => {
    expect(() => config({ FLUX_FILL_SEGMENTER: "sam" })).toThrow(/FLUX_FILL_SEGMENTER must be auto, classic, onnx, fal, got "sam"/);
  });
});

describe("onnx chosen, its weights damaged", () => {
  const box = { shape: "object", x: 315, y: 55, width: 120, height: 285 };
  const call = async (env: Record<string, string>) => {
    const server = await startInMemory({ FLUX_FILL_PROVIDER: "local", FLUX_FILL_MODELS_DIR: await damagedWeights(), ...env });
    try {
      await copyFile("/work/shared/data/photos/coffee.png", path.join(server.workDir, "coffee.png"));
      const result = (await server.client.callTool(
        { name: "preview_mask", arguments: { image: "coffee.png", mask_regions: [box] } },
      )) as CallToolResult;
      const text = result.content.map((b) => (b.type === "text" ? b.text : "")).join("\n");
      return { result, text };
    } finally {
      await server.close();
    }
  };

  it("auto (weights present by size) → onnx fails on them → classic selects the box, with a note naming the fix", async () => {
    const { result, text } = await call({});
    expect(result.isError, text).toBeFalsy();
    expect((result.structuredContent as { regions: Array<{ segmenter?: string }> }).regions[0]!.segmenter).toBe("classic");
    expect(text).toMatch(/the onnx segmenter failed \(.*weights are damaged.*\), so FLUX_FILL_SEGMENTER=auto used classic instead/);
  });

  it("FLUX_FILL_SEGMENTER=onnx → an error naming `models pull`", async () => {
    const { result, text } = await call({ FLUX_FILL_SEGMENTER: "onnx" });
    expect(result.isError).toBe(true);
    expect(text).toMatch(/weights are damaged[\s\S]*flux-fill-mcp models pull sam2\.1-tiny/);
  });
});
