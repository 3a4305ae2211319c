import type { ModelLayout } from "../../models/catalogue.js";
import type { OrtModule } from "./runtime.js";
import {
  longestSideFrame,
  type ModelFrame,
  type PointLayout,
  rgbToSamInput,
  SAM2_POINTS,
  SAM_INPUT_SIZE,
  type SamPoints,
  sam1RankingScores,
  SQUARE_FRAME,
} from "./transforms.js";

/**
 * What differs between the ONNX layouts the onnx segmenter runs — tensor names, the encoder's input, the
 * decoder's extra inputs, where the box goes among the points, how candidates are ranked — as data and
 * small functions; everything else (weights check, embedding cache, candidate choice, upscaling,
 * thresholds, replies) is shared in index.ts and transforms.ts.
 */

export type Tensor = InstanceType<OrtModule["Tensor"]>;

export interface SamGraph {
  encoderInputs: readonly string[];
  encoderOutputs: readonly string[];
  decoderInputs: readonly string[];
  decoderOutputs: readonly string[];
  /** Which layout, for the error when the files are not it. */
  description: string;
  /** The size the photo is resized to for the encoder. */
  frame(width: number, height: number): ModelFrame;
  /** The encoder's feeds from the photo resized to `frame` (interleaved 8-bit RGB). */
  encoderFeeds(ort: OrtModule, rgb: Uint8Array, frame: ModelFrame): Record<string, Tensor>;
  pointLayout(frame: ModelFrame): PointLayout;
  /** The decoder's feeds besides the embedding (the encoder's outputs, by name). */
  decoderFeeds(ort: OrtModule, points: SamPoints, frame: ModelFrame): Record<string, Tensor>;
  /** The candidates' scores for ranking (the model's own preference folded in); reported scores stay raw. */
  rankingScores(scores: Float32Array, points: SamPoints): ArrayLike<number>;
}

/** The mask_input grid (4 × the 64² embedding), the same in both layouts. */
const MASK_INPUT_SIZE = 256;

function pointFeeds(ort: OrtModule, points: SamPoints): Record<string, Tensor> {
  return {
    point_coords: new ort.Tensor("float32", points.coords, [1, points.count, 2]),
    point_labels: new ort.Tensor("float32", points.labels, [1, points.count]),
    // No earlier mask to refine.
    mask_input: new ort.Tensor("float32", new Float32Array(MASK_INPUT_SIZE * MASK_INPUT_SIZE), [1, 1, MASK_INPUT_SIZE, MASK_INPUT_SIZE]),
    has_mask_input: new ort.Tensor("float32", Float32Array.from([0]), [1]),
  };
}

/**
 * SAM 2.1 exported by samexporter: encoder `image` [1, 3, 1024, 1024] (ImageNet-normalised, stretched to
 * the square) → `high_res_feats_0`, `high_res_feats_1`, `image_embed`; decoder takes those three and the
 * points → `masks` (3 candidates, 256² logits over the square), `iou_predictions`.
 */
export const SAM2_SAMEXPORTER: SamGraph = {
  encoderInputs: ["image"],
  encoderOutputs: ["high_res_feats_0", "high_res_feats_1", "image_embed"],
  decoderInputs: ["image_embed", "high_res_feats_0", "high_res_feats_1", "point_coords", "point_labels", "mask_input", "has_mask_input"],
  decoderOutputs: ["masks", "iou_predictions"],
  description: "SAM 2.1 in the samexporter layout",
  frame: () => SQUARE_FRAME,
  encoderFeeds: (ort, rgb) => ({ image: new ort.Tensor("float32", rgbToSamInput(rgb), [1, 3, SAM_INPUT_SIZE, SAM_INPUT_SIZE]) }),
  pointLayout: () => SAM2_POINTS,
  decoderFeeds: pointFeeds,
  rankingScores: (scores) => scores,
};

/**
 * SAM 1's ONNX layout as MobileSAM is published by Acly (Hugging Face Acly/MobileSAM; read from Acly's
 * dlimgedit src/segmentation.cpp and script/export_models.py, which export and run these exact files, and
 * from facebookresearch/segment-anything segment_anything/utils/onnx.py, the SamOnnxModel and
 * ImageEncoderOnnxModel they export):
 * - encoder (exported with use_preprocess=True): `input_image` float32 [h, w, 3], raw RGB 0–255 with the
 *   longest side resized to 1024; the graph normalises (SAM's pixel mean/std), transposes and pads
 *   bottom/right to 1024² itself → `image_embeddings` [1, 256, 64, 64].
 * - decoder `sam_mask_decoder_multi.onnx` (return_single_mask=False): `image_embeddings`, `point_coords`
 *   [1, N, 2] in the resized frame, `point_labels` [1, N], `mask_input` [1, 1, 256, 256],
 *   `has_mask_input` [1], `orig_im_size` [2] = (h, w) → `masks` [1, 4, h, w] logits (upsampled to 1024²,
 *   cropped to the resized size, then resized to orig_im_size), `iou_predictions` [1, 4], `low_res_masks`.
 * We pass the resized size as orig_im_size, so the graph's last resize is the identity and the masks stay
 * at most 1024² (4 candidates at a 50 MP photo's size would be 800 MB of floats); the shared bilinear
 * upscaling (align_corners=False, as SAM's last step) then brings the chosen one to the photo's size.
 */
export const SAM1_ONNX: SamGraph = {
  encoderInputs: ["input_image"],
  encoderOutputs: ["image_embeddings"],
  decoderInputs: ["image_embeddings", "point_coords", "point_labels", "mask_input", "has_mask_input", "orig_im_size"],
  decoderOutputs: ["masks", "iou_predictions"],
  description: "SAM 1's ONNX layout (MobileSAM)",
  frame: longestSideFrame,
  encoderFeeds: (ort, rgb, frame) => ({ input_image: new ort.Tensor("float32", Float32Array.from(rgb), [frame.height, frame.width, 3]) }),
  pointLayout: (frame) => ({ frame, boxLast: true, padWithoutBox: true }),
  decoderFeeds: (ort, points, frame) => ({
    ...pointFeeds(ort, points),
    orig_im_size: new ort.Tensor("float32", Float32Array.from([frame.height, frame.width]), [2]),
  }),
  rankingScores: (scores, points) => sam1RankingScores(scores, points.count),
};

export const GRAPHS: Record<ModelLayout, SamGraph> = { "sam2-samexporter": SAM2_SAMEXPORTER, "sam1-onnx": SAM1_ONNX };
