/**
 * The model weights `flux-fill-mcp models pull` knows: where they come from, how big they may be, which
 * SHA-256 they must have, and their licence. Data only.
 *
 * SAM 2.1 Hiera-Tiny in the samexporter export (encoder `image` → `high_res_feats_0`, `high_res_feats_1`,
 * `image_embed`; decoder `point_coords`, `point_labels`, `mask_input`, `has_mask_input` → `masks`,
 * `iou_predictions`) is published by the exporter's author as one zip per backbone in the Hugging Face
 * repository below (AnyLabeling uses the same files); FLUX_FILL_MODELS_BASE_URL defaults to it at a pinned
 * revision (config.ts). The archive's SHA-256 and size are those two independent public projects pin for the
 * same file at that revision (a download script and a model catalogue; they also agree on the extracted
 * encoder's and decoder's hashes). Every pull is checked against it; the files' own SHA-256 measured at
 * extraction (kept in manifest.json) catch later corruption.
 */

export interface ModelSpec {
  /** What `models pull NAME` takes. */
  name: string;
  title: string;
  licence: string;
  licenceUrl: string;
  /** Where a person can read about the weights. */
  homepage: string;
  /** The download, relative to FLUX_FILL_MODELS_BASE_URL. */
  archive: {
    file: string;
    /** Lower-case hex: a download with any other hash is deleted. */
    sha256: string;
    /** A download larger than this is stopped (the published file is 116,507,723 bytes). */
    maxBytes: number;
  };
  /** Base names of the archive entries to keep, and the names they get in the model's folder. */
  files: { encoder: { entry: string; file: string }; decoder: { entry: string; file: string } };
}

export const SAM21_TINY: ModelSpec = {
  name: "sam2.1-tiny",
  title: "SAM 2.1 Hiera-Tiny (Meta), ONNX export by samexporter",
  licence: "Apache-2.0",
  licenceUrl: "https://github.com/facebookresearch/sam2/blob/main/LICENSE",
  homepage: "https://huggingface.co/vietanhdev/segment-anything-2.1-onnx-models",
  archive: {
    file: "sam2.1_hiera_tiny_20260221.zip",
    sha256: "c602cb3f6fd297312a415f885f0df3f0eef9fbb334b069c9d30e828f2ae7c69a",
    maxBytes: 200 * 1024 * 1024,
  },
  files: {
    encoder: { entry: "sam2.1_hiera_tiny.encoder.onnx", file: "encoder.onnx" },
    decoder: { entry: "sam2.1_hiera_tiny.decoder.onnx", file: "decoder.onnx" },
  },
};

export const MODELS: ReadonlyArray<ModelSpec> = [SAM21_TINY];
