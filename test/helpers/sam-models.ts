import { createHash } from "node:crypto";
import { DataType, type Node, type Tensor, writeOnnxModel } from "./onnx-writer.js";

/**
 * Tiny stand-ins for SAM 2.1 Hiera-Tiny exported the samexporter way: the same input and output names,
 * shapes and element types, a few ops each, and a decoder whose masks are known from the prompt alone, so
 * tests can check the coordinate transforms, labels, thresholds, upscaling and the choice among candidates.
 *
 * Encoder: image[1,3,1024,1024] → high_res_feats_0[1,32,256,256], high_res_feats_1[1,64,128,128],
 * image_embed[1,256,64,64], each filled with the image's mean (so it depends on the pixels).
 *
 * Decoder: image_embed, high_res_feats_0, high_res_feats_1, point_coords[n,N,2], point_labels[n,N],
 * mask_input[n,1,256,256], has_mask_input[n] → masks[1,3,256,256] (logits on the 256 grid, whose cell j
 * covers 4j..4j+4 of the 1024 frame), iou_predictions[1,3], low_res_masks[1,3,256,256]:
 *   0: a disc of radius SMALL_RADIUS (1024-frame pixels) around the first point, predicted IoU 0.9;
 *   1: the rectangle spanned by the first and the last point (a box prompt's corners), predicted IoU 0.8;
 *   2: a disc of radius LARGE_RADIUS around the first point, predicted IoU 0.95.
 */
export const TINY_SAM = {
  smallRadius: 64,
  largeRadius: 400,
  scores: [0.9, 0.8, 0.95],
} as const;

const scalarInt = (name: string, value: number): Tensor => ({ name, type: DataType.INT64, dims: [], values: [value] });
const scalarFloat = (name: string, value: number): Tensor => ({ name, type: DataType.FLOAT, dims: [], values: [value] });
const shape = (name: string, dims: number[]): Tensor => ({ name, type: DataType.INT64, dims: [dims.length], values: dims });

export function tinySamEncoder(): Uint8Array {
  return writeOnnxModel({
    name: "tiny-sam2-encoder",
    inputs: [{ name: "image", type: DataType.FLOAT, shape: [1, 3, 1024, 1024] }],
    outputs: [
      { name: "high_res_feats_0", type: DataType.FLOAT, shape: [1, 32, 256, 256] },
      { name: "high_res_feats_1", type: DataType.FLOAT, shape: [1, 64, 128, 128] },
      { name: "image_embed", type: DataType.FLOAT, shape: [1, 256, 64, 64] },
    ],
    initializers: [shape("s0", [1, 32, 256, 256]), shape("s1", [1, 64, 128, 128]), shape("s2", [1, 256, 64, 64])],
    nodes: [
      { op: "ReduceMean", inputs: ["image"], outputs: ["mean"], attributes: [{ name: "keepdims", int: 1 }] },
      { op: "Expand", inputs: ["mean", "s0"], outputs: ["high_res_feats_0"] },
      { op: "Expand", inputs: ["mean", "s1"], outputs: ["high_res_feats_1"] },
      { op: "Expand", inputs: ["mean", "s2"], outputs: ["image_embed"] },
    ],
  });
}

export function tinySamDecoder(): Uint8Array {
  const grid = Array.from({ length: 256 }, (_, j) => (j + 0.5) * 4);
  const gather = (input: string, index: string, output: string): Node => ({
    op: "Gather",
    inputs: [input, index],
    outputs: [output],
    attributes: [{ name: "axis", int: 1 }],
  });
  const op = (name: string, inputs: string[], output: string): Node => ({ op: name, inputs, outputs: [output] });
  const nodes: Node[] = [
    gather("point_coords", "first", "p0"),
    gather("point_coords", "last", "pl"),
    gather("p0", "first", "p0x1"),
    gather("p0", "second", "p0y1"),
    gather("pl", "first", "plx1"),
    gather("pl", "second", "ply1"),
    op("Reshape", ["p0x1", "s4"], "p0x"),
    op("Reshape", ["p0y1", "s4"], "p0y"),
    op("Reshape", ["plx1", "s4"], "plx"),
    op("Reshape", ["ply1", "s4"], "ply"),
    // Distance from the first point → two discs (logit = radius − distance).
    op("Sub", ["gx", "p0x"], "dx"),
    op("Sub", ["gy", "p0y"], "dy"),
    op("Mul", ["dx", "dx"], "dx2"),
    op("Mul", ["dy", "dy"], "dy2"),
    op("Add", ["dx2", "dy2"], "d2"),
    op("Sqrt", ["d2"], "d"),
    op("Sub", ["small_r", "d"], "small"),
    op("Sub", ["large_r", "d"], "large"),
    // The rectangle between the first and the last point (logit = distance inside its nearest edge).
    op("Min", ["p0x", "plx"], "x0"),
    op("Max", ["p0x", "plx"], "x1"),
    op("Min", ["p0y", "ply"], "y0"),
    op("Max", ["p0y", "ply"], "y1"),
    op("Sub", ["gx", "x0"], "left"),
    op("Sub", ["x1", "gx"], "right"),
    op("Sub", ["gy", "y0"], "top"),
    op("Sub", ["y1", "gy"], "bottom"),
    { op: "Min", inputs: ["left", "right", "top", "bottom"], outputs: ["rect"] },
    { op: "Concat", inputs: ["small", "rect", "large"], outputs: ["masks"], attributes: [{ name: "axis", int: 1 }] },
    op("Identity", ["scores"], "iou_predictions"),
    op("Identity", ["masks"], "low_res_masks"),
  ];
  return writeOnnxModel({
    name: "tiny-sam2-decoder",
    inputs: [
      { name: "image_embed", type: DataType.FLOAT, shape: [1, 256, 64, 64] },
      { name: "high_res_feats_0", type: DataType.FLOAT, shape: [1, 32, 256, 256] },
      { name: "high_res_feats_1", type: DataType.FLOAT, shape: [1, 64, 128, 128] },
      { name: "point_coords", type: DataType.FLOAT, shape: ["num_labels", "num_points", 2] },
      { name: "point_labels", type: DataType.FLOAT, shape: ["num_labels", "num_points"] },
      { name: "mask_input", type: DataType.FLOAT, shape: ["num_labels", 1, 256, 256] },
      { name: "has_mask_input", type: DataType.FLOAT, shape: ["num_labels"] },
    ],
    outputs: [
      { name: "masks", type: DataType.FLOAT, shape: [1, 3, 256, 256] },
      { name: "iou_predictions", type: DataType.FLOAT, shape: [1, 3] },
      { name: "low_res_masks", type: DataType.FLOAT, shape: [1, 3, 256, 256] },
    ],
    initializers: [
      scalarInt("first", 0),
      scalarInt("second", 1),
      scalarInt("last", -1),
      shape("s4", [1, 1, 1, 1]),
      { name: "gx", type: DataType.FLOAT, dims: [1, 1, 1, 256], values: grid },
      { name: "gy", type: DataType.FLOAT, dims: [1, 1, 256, 1], values: grid },
      scalarFloat("small_r", TINY_SAM.smallRadius),
      scalarFloat("large_r", TINY_SAM.largeRadius),
      { name: "scores", type: DataType.FLOAT, dims: [1, 3], values: [...TINY_SAM.scores] },
    ],
    nodes,
  });
}

/**
 * The tiny models installed in `modelsDir` the way users get the real ones: zipped as the host publishes
 * them, served from 127.0.0.1 and fetched with `pullModel` (so a manifest with their SHA-256 is written).
 */
export async function installTinySam(modelsDir: string): Promise<void> {
  const { SAM21_TINY } = await import("../../src/models/catalogue.js");
  const { pullModel } = await import("../../src/models/store.js");
  const { startModelHost, zipOf } = await import("./model-host.js");
  const archive = zipOf({
    [SAM21_TINY.files.encoder.entry]: tinySamEncoder(),
    [SAM21_TINY.files.decoder.entry]: tinySamDecoder(),
  });
  const host = await startModelHost({ [SAM21_TINY.archive.file]: archive });
  // The catalogue pins the published archive's SHA-256; this one is pinned to the tiny archive instead.
  const sha256 = createHash("sha256").update(archive).digest("hex");
  try {
    await pullModel({ ...SAM21_TINY, archive: { ...SAM21_TINY.archive, sha256 } }, { dir: modelsDir, baseUrl: host.url });
  } finally {
    await host.close();
  }
}
