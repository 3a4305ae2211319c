/**
 * The model weights `flux-fill-mcp models pull` knows: where they come from, how big they may be, which
 * SHA-256 they must have, and their licence. Data only.
 *
 * SAM 2.1 Hiera-Tiny in the samexporter export (encoder `image` → `high_res_feats_0`, `high_res_feats_1`,
 * `image_embed`; decoder `point_coords`, `point_labels`, `mask_input`, `has_mask_input` → `masks`,
 * `iou_predictions`) is published by the exporter's author as one zip per backbone in the Hugging Face
 * repository below (AnyLabeling uses the same files); the default download base at a pinned
 * revision. The archive's SHA-256 and size are those two independent public projects pin for the
 * same file at that revision (a download script and a model catalogue; they also agree on the extracted
 * encoder's and decoder's hashes). Every pull is checked against it; the files' own SHA-256 measured at
 * extraction (kept in manifest.json) catch later corruption.
 */

/** What a model's ONNX files look like, so the onnx segmenter knows how to feed them (segmentation/onnx/graphs.ts). */
export type ModelLayout = "sam2-samexporter" | "sam1-onnx";

interface ModelSpecBase {
  /** What `models pull NAME` takes. */
  name: string;
  /** How replies name the model that decided ("SAM 2.1", "MobileSAM"). */
  shortName: string;
  title: string;
  licence: string;
  licenceUrl: string;
  /** Where a person can read about the weights. */
  homepage: string;
  /** The public home of the downloads; FLUX_FILL_MODELS_BASE_URL, when set, replaces it for every model. */
  baseUrl: string;
  /** The download's size, for `models list` before it is pulled. */
  downloadMB: number;
  layout: ModelLayout;
}

/** A model published as one zip holding both ONNX files. */
export interface ArchiveModelSpec extends ModelSpecBase {
  /** The download, relative to the base URL. */
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

/** One ONNX file downloaded on its own, checked against its pinned SHA-256. */
export interface DownloadedFile {
  /** Path relative to the base URL. */
  download: string;
  /** Lower-case hex. */
  sha256: string;
  /** The published size; a larger download is stopped. */
  bytes: number;
  /** Its name in the model's folder. */
  file: string;
}

/** A model published as separate encoder and decoder files (no archive). */
export interface FilesModelSpec extends ModelSpecBase {
  archive?: undefined;
  files: { encoder: DownloadedFile; decoder: DownloadedFile };
}

export type ModelSpec = ArchiveModelSpec | FilesModelSpec;

export const SAM21_TINY: ArchiveModelSpec = {
  name: "sam2.1-tiny",
  shortName: "SAM 2.1",
  title: "SAM 2.1 Hiera-Tiny (Meta), ONNX export by samexporter",
  licence: "Apache-2.0",
  licenceUrl: "https://github.com/facebookresearch/sam2/blob/main/LICENSE",
  homepage: "https://huggingface.co/vietanhdev/segment-anything-2.1-onnx-models",
  baseUrl: "https://huggingface.co/vietanhdev/segment-anything-2.1-onnx-models/resolve/6a3ac868340a3196a349050a6efae22a5acc0330",
  downloadMB: 111.1,
  layout: "sam2-samexporter",
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

/**
 * MobileSAM (TinyViT encoder distilled from SAM, with SAM's own decoder), exported by Acly (the author of
 * dlimgedit/vision.cpp) as separate files in the Hugging Face repository below, pinned to a revision. Sizes
 * and SHA-256 as published there. The weights are Apache-2.0 (ChaoningZhang/MobileSAM); the repository
 * labels its export MIT, a mechanical conversion, so the weights' licence is the one that binds.
 * Encoder `input_image` [h, w, 3] → `image_embeddings` [1, 256, 64, 64]; decoder (SAM's SamOnnxModel,
 * return_single_mask=False) `image_embeddings`, `point_coords`, `point_labels`, `mask_input`,
 * `has_mask_input`, `orig_im_size` → `masks` (4 candidates), `iou_predictions`, `low_res_masks`.
 */
export const MOBILE_SAM: FilesModelSpec = {
  name: "mobilesam",
  shortName: "MobileSAM",
  title: "MobileSAM (TinyViT + SAM decoder), ONNX export by Acly",
  licence: "Apache-2.0",
  licenceUrl: "https://github.com/ChaoningZhang/MobileSAM/blob/master/LICENSE",
  homepage: "https://huggingface.co/Acly/MobileSAM",
  baseUrl: "https://huggingface.co/Acly/MobileSAM/resolve/0d3b403339b4674a82493d5e97964dd78089ddc8",
  downloadMB: 42.6,
  layout: "sam1-onnx",
  files: {
    encoder: {
      download: "mobile_sam_image_encoder.onnx",
      sha256: "580f5fb648ea1062c0aabc26217aed56921985f03f0cbbd852bba81d760cc749",
      bytes: 28_157_093,
      file: "encoder.onnx",
    },
    decoder: {
      download: "sam_mask_decoder_multi.onnx",
      sha256: "8976b90a87ba50a6a72217a5ff994f7d25ce16f2229fcc1ed259e1294c622ffe",
      bytes: 16_496_559,
      file: "decoder.onnx",
    },
  },
};

/** In the order `auto` prefers them: the first one present is used. */
export const MODELS: ReadonlyArray<ModelSpec> = [SAM21_TINY, MOBILE_SAM];

export function findModel(name: string): ModelSpec | undefined {
  return MODELS.find((m) => m.name === name);
}
