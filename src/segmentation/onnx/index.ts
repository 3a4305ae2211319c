import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { FluxFillError } from "../../errors.js";
import {
  DOUBTFUL_CONFIDENCE,
  type SegmentImage,
  type Segmentation,
  type Segmenter,
  type SegmentOptions,
  type SegmentPrompt,
} from "../../images/selection/segmenter.js";
import { clipToBox } from "../../images/selection/box-clip.js";
import type { SelectionImage } from "../../images/selection/types.js";
import { type ModelSpec, SAM21_TINY } from "../../models/catalogue.js";
import { inspectModel, MANIFEST_FILE, type ModelManifest, modelFolder, PULL_FIX } from "../../models/store.js";
import { EmbeddingCache } from "./embedding-cache.js";
import { loadOnnxRuntime, type OrtModule } from "./runtime.js";
import {
  chooseCandidate,
  clipBox,
  type LowResMasks,
  promptToPoints,
  rgbToSamInput,
  SAM_INPUT_SIZE,
  upscaleMask,
} from "./transforms.js";

/**
 * The `onnx` segmenter: SAM 2.1 Hiera-Tiny (samexporter export) on the CPU through ONNX Runtime. The
 * encoder runs once per image (its embedding is cached by SegmentImage.key); every prompt on that image
 * runs only the small decoder. The weights are checked (SHA-256 against the manifest written by
 * `models pull`) and the runtime is loaded on first use; any failure is a FluxFillError naming the fix.
 */

export const ENCODER_INPUTS = ["image"] as const;
export const ENCODER_OUTPUTS = ["high_res_feats_0", "high_res_feats_1", "image_embed"] as const;
export const DECODER_INPUTS = [
  "image_embed",
  "high_res_feats_0",
  "high_res_feats_1",
  "point_coords",
  "point_labels",
  "mask_input",
  "has_mask_input",
] as const;
export const DECODER_OUTPUTS = ["masks", "iou_predictions"] as const;
/** The mask_input grid (4 × the 64² embedding). */
const MASK_INPUT_SIZE = 256;
/** One SAM 2.1 embedding is ~16.8 MB: four images (preview, fill and editor of a few photos). */
export const DEFAULT_EMBEDDING_CACHE_BYTES = 72 * 1024 * 1024;

type Tensor = InstanceType<OrtModule["Tensor"]>;
type Session = Awaited<ReturnType<OrtModule["InferenceSession"]["create"]>>;

interface Embedding {
  high_res_feats_0: Tensor;
  high_res_feats_1: Tensor;
  image_embed: Tensor;
}

interface Loaded {
  ort: OrtModule;
  encoder: Session;
  decoder: Session;
}

export interface OnnxSegmenterOptions {
  /** FLUX_FILL_MODELS_DIR. */
  modelsDir: string;
  model?: ModelSpec;
  cacheBytes?: number;
  /** Tests: another way to load the runtime (default: `import("onnxruntime-node")`). */
  loadRuntime?: () => Promise<OrtModule>;
}

export interface OnnxSegmenter extends Segmenter {
  /** How many times the encoder ran (once per image while its embedding stays cached). */
  readonly encoderRuns: number;
}

/**
 * Whether the weights are there, synchronously and cheaply (the manifest and both files at their recorded
 * sizes; hashes are checked when the segmenter first loads them): what `auto` asks at start-up.
 */
export function onnxWeightsPresent(modelsDir: string, model: ModelSpec = SAM21_TINY): boolean {
  try {
    const folder = modelFolder(modelsDir, model);
    const manifest = JSON.parse(readFileSync(path.join(folder, MANIFEST_FILE), "utf8")) as ModelManifest;
    return [manifest.files.encoder, manifest.files.decoder].every((f) => statSync(path.join(folder, f.file)).size === f.bytes);
  } catch {
    return false;
  }
}

/** Whether the weights are there, with what is wrong and the fix (sizes, not hashes). */
export async function checkOnnxWeights(
  modelsDir: string,
  model: ModelSpec = SAM21_TINY,
): Promise<{ present: boolean; problem?: string; fix: string }> {
  const state = await inspectModel(model, modelsDir);
  return state.status === "ready"
    ? { present: true, fix: PULL_FIX(model) }
    : { present: false, problem: state.problem ?? state.status, fix: PULL_FIX(model) };
}

function missingNames(actual: readonly string[], expected: readonly string[]): string[] {
  return expected.filter((name) => !actual.includes(name));
}

/** The photo as 1024×1024 interleaved RGB (aspect not kept, as SAM 2 does; an alpha channel is dropped). */
async function resizeForSam(image: SelectionImage): Promise<Uint8Array> {
  const raw = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  const { data, info } = await sharp(raw, { raw: { width: image.width, height: image.height, channels: image.channels } })
    .removeAlpha()
    .toColourspace("srgb")
    .resize(SAM_INPUT_SIZE, SAM_INPUT_SIZE, { fit: "fill" })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels === 3) return data;
  const rgb = new Uint8Array(SAM_INPUT_SIZE * SAM_INPUT_SIZE * 3);
  for (let i = 0; i < SAM_INPUT_SIZE * SAM_INPUT_SIZE; i++) {
    const v = data[i * info.channels]!;
    rgb[i * 3] = v;
    rgb[i * 3 + 1] = v;
    rgb[i * 3 + 2] = v;
  }
  return rgb;
}

export function createOnnxSegmenter(options: OnnxSegmenterOptions): OnnxSegmenter {
  const model = options.model ?? SAM21_TINY;
  const folder = modelFolder(options.modelsDir, model);
  const cache = new EmbeddingCache<Embedding>(options.cacheBytes ?? DEFAULT_EMBEDDING_CACHE_BYTES, (e) =>
    [e.high_res_feats_0, e.high_res_feats_1, e.image_embed].reduce((n, t) => n + (t.data as Float32Array).byteLength, 0),
  );
  let loading: Promise<Loaded> | undefined;
  let encoderRuns = 0;

  async function load(): Promise<Loaded> {
    const state = await inspectModel(model, options.modelsDir, { hash: true });
    if (state.status !== "ready") {
      throw new FluxFillError(
        "service_unavailable",
        state.status === "missing"
          ? `The onnx segmenter has no weights: ${state.problem}.`
          : `The onnx segmenter's weights are damaged: ${state.problem}.`,
        { suggestion: `Run \`${PULL_FIX(model)}\` (FLUX_FILL_MODELS_DIR=${options.modelsDir}), or set FLUX_FILL_SEGMENTER=classic.` },
      );
    }
    const ort = await (options.loadRuntime ?? (() => loadOnnxRuntime()))();
    const open = async (file: string) => {
      try {
        return await ort.InferenceSession.create(path.join(folder, file), { executionProviders: ["cpu"] });
      } catch (error) {
        throw new FluxFillError("service_unavailable", `ONNX Runtime cannot open ${path.join(folder, file)}: ${(error as Error).message}`, {
          suggestion: `Run \`${PULL_FIX(model)}\` again to replace it.`,
          cause: error,
        });
      }
    };
    const encoder = await open(model.files.encoder.file);
    const decoder = await open(model.files.decoder.file);
    const wrong = [
      ...missingNames(encoder.inputNames, ENCODER_INPUTS),
      ...missingNames(encoder.outputNames, ENCODER_OUTPUTS),
      ...missingNames(decoder.inputNames, DECODER_INPUTS),
      ...missingNames(decoder.outputNames, DECODER_OUTPUTS),
    ];
    if (wrong.length > 0) {
      throw new FluxFillError(
        "service_unavailable",
        `The model files in ${folder} are not SAM 2.1 in the samexporter layout (missing ${wrong.join(", ")}).`,
        { suggestion: `Run \`${PULL_FIX(model)}\` to replace them.` },
      );
    }
    return { ort, encoder, decoder };
  }

  function sessions(): Promise<Loaded> {
    loading ??= load().catch((error: unknown) => {
      loading = undefined; // the next call tries again (after a pull, an install)
      throw error;
    });
    return loading;
  }

  async function encode(loaded: Loaded, image: SegmentImage): Promise<Embedding> {
    const input = rgbToSamInput(await resizeForSam(image));
    const tensor = new loaded.ort.Tensor("float32", input, [1, 3, SAM_INPUT_SIZE, SAM_INPUT_SIZE]);
    encoderRuns++;
    const out = await loaded.encoder.run({ image: tensor });
    return {
      high_res_feats_0: out.high_res_feats_0!,
      high_res_feats_1: out.high_res_feats_1!,
      image_embed: out.image_embed!,
    };
  }

  async function segment(image: SegmentImage, prompt: SegmentPrompt, opts: SegmentOptions = {}): Promise<Segmentation> {
    if (prompt.text !== undefined) {
      throw new FluxFillError("bad_input", "The onnx segmenter (SAM 2.1) does not read text prompts.", {
        suggestion: "Give the object's box (x, y, width, height) instead, or set FLUX_FILL_SEGMENTER=fal with FAL_KEY for `text`.",
      });
    }
    const { width, height } = image;
    const points = promptToPoints(prompt, width, height);
    if (!points.labels.some((label) => label !== 0)) {
      throw new FluxFillError("bad_input", "The onnx segmenter needs a box on the image or at least one include point.", {
        suggestion: "Give the object's box (x, y, width, height) on the image.",
      });
    }
    const loaded = await sessions();
    opts.signal?.throwIfAborted();
    const embedding = await cache.getOrCompute(image.key, () => encode(loaded, image));
    opts.signal?.throwIfAborted();
    const { Tensor } = loaded.ort;
    const out = await loaded.decoder.run({
      ...embedding,
      point_coords: new Tensor("float32", points.coords, [1, points.count, 2]),
      point_labels: new Tensor("float32", points.labels, [1, points.count]),
      mask_input: new Tensor("float32", new Float32Array(MASK_INPUT_SIZE * MASK_INPUT_SIZE), [1, 1, MASK_INPUT_SIZE, MASK_INPUT_SIZE]),
      has_mask_input: new Tensor("float32", Float32Array.from([0]), [1]),
    });
    const masksTensor = out.masks!;
    const dims = masksTensor.dims;
    const masks: LowResMasks = {
      data: masksTensor.data as Float32Array,
      count: dims[1] ?? 1,
      lowHeight: dims[2] ?? MASK_INPUT_SIZE,
      lowWidth: dims[3] ?? MASK_INPUT_SIZE,
    };
    const scores = out.iou_predictions!.data as Float32Array;
    const choice = chooseCandidate(masks, scores, prompt, width, height);
    const iou = Math.min(1, Math.max(0, scores[choice.index] ?? 0));
    const candidates = masks.count;
    const base = { candidates, segmenter: "onnx" as const, costUsd: 0 };
    if (choice.fit.area === 0) {
      const box = prompt.box ? clipBox(prompt.box, width, height) : undefined;
      const mask = new Uint8Array(width * height);
      if (box) {
        const [x0, y0, x1, y1] = box.map(Math.round) as [number, number, number, number];
        for (let y = y0; y < y1; y++) mask.fill(255, y * width + x0, y * width + x1);
      }
      return {
        ...base,
        mask,
        decided: "fallback",
        confidence: 0,
        reason: box
          ? `SAM 2.1 found no object in the box (${candidates} candidates, all empty): the whole box is used.`
          : `SAM 2.1 found nothing at the hint points (${candidates} candidates, all empty).`,
      };
    }
    const mask = upscaleMask(masks, choice.index, width, height);
    clipToBox(mask, width, height, prompt.box);
    const picked = `candidate ${choice.index + 1} of ${candidates}, predicted IoU ${iou.toFixed(2)}`;
    return {
      ...base,
      mask,
      decided: "segmented",
      confidence: choice.fits ? iou : Math.min(iou, DOUBTFUL_CONFIDENCE),
      reason: choice.fits
        ? `SAM 2.1 selected the object (${picked}).`
        : `SAM 2.1's candidates all spill out of the box or ignore a hint point; the best-scoring one is used (${picked}).`,
    };
  }

  return {
    name: "onnx",
    readsText: false,
    hosted: false,
    get encoderRuns() {
      return encoderRuns;
    },
    segment,
  };
}
