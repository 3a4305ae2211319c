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

const gather = (input: string, index: string, output: string, axis = 1): Node => ({
  op: "Gather",
  inputs: [input, index],
  outputs: [output],
  attributes: [{ name: "axis", int: axis }],
});
const op = (name: string, inputs: string[], output: string): Node => ({ op: name, inputs, outputs: [output] });

/** Point `index` (an initializer) of point_coords as `${name}x` and `${name}y`, each [1, 1, 1, 1]. */
function pointNodes(index: string, name: string): Node[] {
  return [
    gather("point_coords", index, name),
    gather(name, "first", `${name}x1`),
    gather(name, "second", `${name}y1`),
    op("Reshape", [`${name}x1`, "s4"], `${name}x`),
    op("Reshape", [`${name}y1`, "s4"], `${name}y`),
  ];
}

/**
 * Over the grid cells (gx, gy): `d`, the distance from point p0, and `rect`, the rectangle spanned by points
 * `a` and `b` (logit = distance inside its nearest edge).
 */
function distanceAndRectNodes(a: string, b: string): Node[] {
  return [
    op("Sub", ["gx", "p0x"], "dx"),
    op("Sub", ["gy", "p0y"], "dy"),
    op("Mul", ["dx", "dx"], "dx2"),
    op("Mul", ["dy", "dy"], "dy2"),
    op("Add", ["dx2", "dy2"], "d2"),
    op("Sqrt", ["d2"], "d"),
    op("Min", [`${a}x`, `${b}x`], "x0"),
    op("Max", [`${a}x`, `${b}x`], "x1"),
    op("Min", [`${a}y`, `${b}y`], "y0"),
    op("Max", [`${a}y`, `${b}y`], "y1"),
    op("Sub", ["gx", "x0"], "left"),
    op("Sub", ["x1", "gx"], "right"),
    op("Sub", ["gy", "y0"], "top"),
    op("Sub", ["y1", "gy"], "bottom"),
    { op: "Min", inputs: ["left", "right", "top", "bottom"], outputs: ["rect"] },
  ];
}

export function tinySamDecoder(): Uint8Array {
  const grid = Array.from({ length: 256 }, (_, j) => (j + 0.5) * 4);
  const nodes: Node[] = [
    ...pointNodes("first", "p0"),
    ...pointNodes("last", "pl"),
    // Two discs around the first point (logit = radius − distance), the rectangle between the first and the last point.
    ...distanceAndRectNodes("p0", "pl"),
    op("Sub", ["small_r", "d"], "small"),
    op("Sub", ["large_r", "d"], "large"),
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

/** A width × height 0/255 mask of the pixels whose centre is `inside`. */
export function maskOf(width: number, height: number, inside: (x: number, y: number) => boolean): Uint8Array {
  const mask = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (inside(x + 0.5, y + 0.5)) mask[y * width + x] = 255;
  return mask;
}

/** Intersection over union of two 0/255 masks. */
export function maskIou(a: Uint8Array, b: Uint8Array): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] && b[i]) inter++;
    if (a[i] || b[i]) union++;
  }
  return union === 0 ? 1 : inter / union;
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

/**
 * Tiny stand-ins for MobileSAM as Acly/MobileSAM publishes it (SAM 1's ONNX layout), with the same input
 * and output names, ranks and element types, and a decoder whose masks are known from the prompt alone.
 *
 * Encoder: input_image[h, w, 3] (raw RGB, longest side 1024) → image_embeddings[1,256,64,64], filled with
 * the pixels' mean.
 *
 * Decoder: image_embeddings, point_coords[1,N,2], point_labels[1,N], mask_input[1,1,256,256],
 * has_mask_input[1], orig_im_size[2] = (h, w) → masks[1,4,h,w] (logits on the h × w grid whose cell (x, y)
 * covers x..x+1, y..y+1 of the resized frame), iou_predictions[1,4], low_res_masks[1,4,256,256] (zeros):
 *   0: a disc of radius SMALL_RADIUS around the first point (the "single mask" SAM prefers for 3+ points);
 *   1: the rectangle spanned by the last two points (a box's corners: SAM 1 takes them last);
 *   2: a disc of radius LARGE_RADIUS around the first point;
 *   3: a disc of radius MEDIUM_RADIUS around the first point.
 * iou_predictions = scores + LABEL_WEIGHT × the sum of point_labels, so a reply's score shows which labels
 * were sent (a box's 2 + 3, an include point's 1 with the padding point's −1).
 */
export const TINY_MOBILE_SAM = {
  smallRadius: 64,
  mediumRadius: 200,
  largeRadius: 400,
  scores: [0.7, 0.8, 0.9, 0.85],
  labelWeight: 0.01,
} as const;

export function tinyMobileSamEncoder(): Uint8Array {
  return writeOnnxModel({
    name: "tiny-mobilesam-encoder",
    inputs: [{ name: "input_image", type: DataType.FLOAT, shape: ["image_height", "image_width", 3] }],
    outputs: [{ name: "image_embeddings", type: DataType.FLOAT, shape: [1, 256, 64, 64] }],
    initializers: [shape("s", [1, 256, 64, 64])],
    nodes: [
      { op: "ReduceMean", inputs: ["input_image"], outputs: ["mean"], attributes: [{ name: "keepdims", int: 1 }] },
      { op: "Expand", inputs: ["mean", "s"], outputs: ["image_embeddings"] },
    ],
  });
}

export function tinyMobileSamDecoder(): Uint8Array {
  const nodes: Node[] = [
    // The grid from orig_im_size: cell centres 0.5 … w − 0.5 and 0.5 … h − 0.5.
    gather("orig_im_size", "first", "h", 0),
    gather("orig_im_size", "second", "w", 0),
    op("Range", ["half", "w", "one"], "xs"),
    op("Range", ["half", "h", "one"], "ys"),
    op("Reshape", ["xs", "row"], "gx"),
    op("Reshape", ["ys", "column"], "gy"),
    ...pointNodes("first", "p0"),
    ...pointNodes("last", "pl"),
    ...pointNodes("second_last", "pm"),
    ...distanceAndRectNodes("pm", "pl"),
    op("Sub", ["small_r", "d"], "small"),
    op("Sub", ["medium_r", "d"], "medium"),
    op("Sub", ["large_r", "d"], "large"),
    { op: "Concat", inputs: ["small", "rect", "large", "medium"], outputs: ["masks"], attributes: [{ name: "axis", int: 1 }] },
    { op: "ReduceSum", inputs: ["point_labels"], outputs: ["label_sum"], attributes: [{ name: "keepdims", int: 1 }] },
    op("Mul", ["label_sum", "label_weight"], "label_term"),
    op("Add", ["scores", "label_term"], "iou_predictions"),
    op("ConstantOfShape", ["low_res_shape"], "low_res_masks"),
  ];
  return writeOnnxModel({
    name: "tiny-mobilesam-decoder",
    inputs: [
      { name: "image_embeddings", type: DataType.FLOAT, shape: [1, 256, 64, 64] },
      { name: "point_coords", type: DataType.FLOAT, shape: [1, "num_points", 2] },
      { name: "point_labels", type: DataType.FLOAT, shape: [1, "num_points"] },
      { name: "mask_input", type: DataType.FLOAT, shape: [1, 1, 256, 256] },
      { name: "has_mask_input", type: DataType.FLOAT, shape: [1] },
      { name: "orig_im_size", type: DataType.FLOAT, shape: [2] },
    ],
    outputs: [
      { name: "masks", type: DataType.FLOAT, shape: [1, 4, "h", "w"] },
      { name: "iou_predictions", type: DataType.FLOAT, shape: [1, 4] },
      { name: "low_res_masks", type: DataType.FLOAT, shape: [1, 4, 256, 256] },
    ],
    initializers: [
      scalarInt("first", 0),
      scalarInt("second", 1),
      scalarInt("last", -1),
      scalarInt("second_last", -2),
      scalarFloat("half", 0.5),
      scalarFloat("one", 1),
      shape("row", [1, 1, 1, -1]),
      shape("column", [1, 1, -1, 1]),
      shape("s4", [1, 1, 1, 1]),
      shape("low_res_shape", [1, 4, 256, 256]),
      scalarFloat("small_r", TINY_MOBILE_SAM.smallRadius),
      scalarFloat("medium_r", TINY_MOBILE_SAM.mediumRadius),
      scalarFloat("large_r", TINY_MOBILE_SAM.largeRadius),
      scalarFloat("label_weight", TINY_MOBILE_SAM.labelWeight),
      { name: "scores", type: DataType.FLOAT, dims: [1, 4], values: [...TINY_MOBILE_SAM.scores] },
    ],
    nodes,
  });
}

/** MobileSAM's catalogue entry with the tiny files' sizes and SHA-256 pinned instead of the real ones. */
export async function tinyMobileSamSpec(): Promise<import("../../src/models/catalogue.js").FilesModelSpec> {
  const { createHash } = await import("node:crypto");
  const { MOBILE_SAM } = await import("../../src/models/catalogue.js");
  const pin = (bytes: Uint8Array) => ({ sha256: createHash("sha256").update(bytes).digest("hex"), bytes: bytes.length });
  return {
    ...MOBILE_SAM,
    files: {
      encoder: { ...MOBILE_SAM.files.encoder, ...pin(tinyMobileSamEncoder()) },
      decoder: { ...MOBILE_SAM.files.decoder, ...pin(tinyMobileSamDecoder()) },
    },
  };
}

/** The tiny MobileSAM files, by the names the model's home publishes them under. */
export function tinyMobileSamHostFiles(): Record<string, Uint8Array> {
  return {
    "mobile_sam_image_encoder.onnx": tinyMobileSamEncoder(),
    "sam_mask_decoder_multi.onnx": tinyMobileSamDecoder(),
  };
}

/** The tiny MobileSAM installed in `modelsDir` as users get the real one: served from 127.0.0.1, pulled with `pullModel`. */
export async function installTinyMobileSam(modelsDir: string): Promise<void> {
  const { pullModel } = await import("../../src/models/store.js");
  const { startModelHost } = await import("./model-host.js");
  const host = await startModelHost(tinyMobileSamHostFiles());
  try {
    await pullModel(await tinyMobileSamSpec(), { dir: modelsDir, baseUrl: host.url });
  } finally {
    await host.close();
  }
}
