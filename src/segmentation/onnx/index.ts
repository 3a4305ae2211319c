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
import { MOBILE_SAM, MODELS, type ModelSpec, SAM21_TINY } from "../../models/catalogue.js";
import { inspectModel, MANIFEST_FILE, type ModelManifest, modelFolder, PULL_FIX } from "../../models/store.js";
import { EmbeddingCache } from "./embedding-cache.js";
import { loadOnnxRuntime, type OrtModule } from "./runtime.js";
import { GRAPHS, type SamGraph, type Tensor } from "./graphs.js";
import { chooseCandidate, clipBox, type LowResMasks, type ModelFrame, promptToPoints, upscaleMask } from "./transforms.js";

/**
 * The `onnx` segmenter: SAM on the CPU through ONNX Runtime — SAM 2.1 Hiera-Tiny (samexporter export) or
 * MobileSAM (SAM 1's ONNX layout), whichever `models pull` put in FLUX_FILL_MODELS_DIR, SAM 2.1 first. The
 * encoder runs once per image (its embedding is cached by SegmentImage.key); every prompt on that image
 * runs only the small decoder. The weights are checked (SHA-256 against the manifest written by
 * `models pull`) and the runtime is loaded on first use; any failure is a FluxFillError naming the fix.
 */

/** One SAM 2.1 embedding is ~16.8 MB (MobileSAM's 4 MB): four images (preview, fill and editor of a few photos). */
export const DEFAULT_EMBEDDING_CACHE_BYTES = 72 * 1024 * 1024;

type Session = Awaited<ReturnType<OrtModule["InferenceSession"]["create"]>>;

/** The encoder's outputs by name, and the frame the photo was resized to. */
interface Embedding {
  tensors: Record<string, Tensor>;
  frame: ModelFrame;
}

interface Loaded {
  ort: OrtModule;
  model: ModelSpec;
  graph: SamGraph;
  encoder: Session;
  decoder: Session;
}

export interface OnnxSegmenterOptions {
  /** FLUX_FILL_MODELS_DIR. */
  modelsDir: string;
  /** Default: the first model of the catalogue whose weights are present (SAM 2.1, then MobileSAM). */
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
export function onnxWeightsPresent(modelsDir: string, model?: ModelSpec): boolean {
  if (model === undefined) return presentOnnxModel(modelsDir) !== undefined;
  try {
    const folder = modelFolder(modelsDir, model);
    const manifest = JSON.parse(readFileSync(path.join(folder, MANIFEST_FILE), "utf8")) as ModelManifest;
    return [manifest.files.encoder, manifest.files.decoder].every((f) => statSync(path.join(folder, f.file)).size === f.bytes);
  } catch {
    return false;
  }
}

/** The model the onnx segmenter uses: the first of the catalogue whose weights are present (cheap checks). */
export function presentOnnxModel(modelsDir: string): ModelSpec | undefined {
  return MODELS.find((model) => onnxWeightsPresent(modelsDir, model));
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

/** The photo resized to the encoder's frame as interleaved RGB (an alpha channel is dropped). */
async function resizeForSam(image: SelectionImage, frame: ModelFrame): Promise<Uint8Array> {
  const raw = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  const { data, info } = await sharp(raw, { raw: { width: image.width, height: image.height, channels: image.channels } })
    .removeAlpha()
    .toColourspace("srgb")
    .resize(frame.width, frame.height, { fit: "fill" })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels === 3) return data;
  const pixels = frame.width * frame.height;
  const rgb = new Uint8Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    const v = data[i * info.channels]!;
    rgb[i * 3] = v;
    rgb[i * 3 + 1] = v;
    rgb[i * 3 + 2] = v;
  }
  return rgb;
}

export function createOnnxSegmenter(options: OnnxSegmenterOptions): OnnxSegmenter {
  const cache = new EmbeddingCache<Embedding>(options.cacheBytes ?? DEFAULT_EMBEDDING_CACHE_BYTES, (e) =>
    Object.values(e.tensors).reduce((n, t) => n + (t.data as Float32Array).byteLength, 0),
  );
  let loading: Promise<Loaded> | undefined;
  let encoderRuns = 0;

  async function load(): Promise<Loaded> {
    const present = options.model ?? presentOnnxModel(options.modelsDir);
    const model = present ?? SAM21_TINY;
    const state = await inspectModel(model, options.modelsDir, { hash: true });
    if (state.status !== "ready") {
      const pull =
        present === undefined
          ? `\`${PULL_FIX(SAM21_TINY)}\` (or \`${PULL_FIX(MOBILE_SAM)}\`, the small one)`
          : `\`${PULL_FIX(model)}\``;
      throw new FluxFillError(
        "service_unavailable",
        state.status === "missing"
          ? `The onnx segmenter has no weights: ${state.problem}.`
          : `The onnx segmenter's weights are damaged: ${state.problem}.`,
        { suggestion: `Run ${pull} (FLUX_FILL_MODELS_DIR=${options.modelsDir}), or set FLUX_FILL_SEGMENTER=classic.` },
      );
    }
    const folder = modelFolder(options.modelsDir, model);
    const graph = GRAPHS[model.layout];
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
    const wrong = (
      [
        ["encoder input", missingNames(encoder.inputNames, graph.encoderInputs)],
        ["encoder output", missingNames(encoder.outputNames, graph.encoderOutputs)],
        ["decoder input", missingNames(decoder.inputNames, graph.decoderInputs)],
        ["decoder output", missingNames(decoder.outputNames, graph.decoderOutputs)],
      ] as const
    )
      .filter(([, names]) => names.length > 0)
      .map(([what, names]) => `${what} ${names.join(", ")}`);
    if (wrong.length > 0) {
      throw new FluxFillError(
        "service_unavailable",
        `The model files in ${folder} are not ${graph.description} (missing ${wrong.join("; ")}).`,
        { suggestion: `Run \`${PULL_FIX(model)}\` to replace them.` },
      );
    }
    return { ort, model, graph, encoder, decoder };
  }

  function sessions(): Promise<Loaded> {
    loading ??= load().catch((error: unknown) => {
      loading = undefined; // the next call tries again (after a pull, an install)
      throw error;
    });
    return loading;
  }

  async function encode(loaded: Loaded, image: SegmentImage): Promise<Embedding> {
    const frame = loaded.graph.frame(image.width, image.height);
    const feeds = loaded.graph.encoderFeeds(loaded.ort, await resizeForSam(image, frame), frame);
    encoderRuns++;
    const out = await loaded.encoder.run(feeds);
    const tensors: Record<string, Tensor> = {};
    for (const name of loaded.graph.encoderOutputs) tensors[name] = out[name]!;
    return { tensors, frame };
  }

  async function segment(image: SegmentImage, prompt: SegmentPrompt, opts: SegmentOptions = {}): Promise<Segmentation> {
    if (prompt.text !== undefined) {
      throw new FluxFillError("bad_input", "The onnx segmenter (SAM on this machine) does not read text prompts.", {
        suggestion: "Give the object's box (x, y, width, height) instead, or set FLUX_FILL_SEGMENTER=fal with FAL_KEY for `text`.",
      });
    }
    const { width, height } = image;
    if (!promptToPoints(prompt, width, height).labels.some((label) => label !== 0)) {
      throw new FluxFillError("bad_input", "The onnx segmenter needs a box on the image or at least one include point.", {
        suggestion: "Give the object's box (x, y, width, height) on the image.",
      });
    }
    const loaded = await sessions();
    const { graph, model } = loaded;
    opts.signal?.throwIfAborted();
    const embedding = await cache.getOrCompute(image.key, () => encode(loaded, image));
    opts.signal?.throwIfAborted();
    const points = promptToPoints(prompt, width, height, graph.pointLayout(embedding.frame));
    const out = await loaded.decoder.run({ ...embedding.tensors, ...graph.decoderFeeds(loaded.ort, points, embedding.frame) });
    const masksTensor = out.masks!;
    const dims = masksTensor.dims;
    const masks: LowResMasks = {
      data: masksTensor.data as Float32Array,
      count: dims[1] ?? 1,
      lowHeight: dims[2] ?? 0,
      lowWidth: dims[3] ?? 0,
    };
    const scores = out.iou_predictions!.data as Float32Array;
    const choice = chooseCandidate(masks, graph.rankingScores(scores, points), prompt, width, height);
    const iou = Math.min(1, Math.max(0, scores[choice.index] ?? 0));
    const candidates = masks.count;
    const base = { candidates, segmenter: "onnx" as const, costUsd: 0 };
    const name = model.shortName;
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
          ? `${name} found no object in the box (${candidates} candidates, all empty): the whole box is used.`
          : `${name} found nothing at the hint points (${candidates} candidates, all empty).`,
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
        ? `${name} selected the object (${picked}).`
        : `${name}'s candidates all spill out of the box or ignore a hint point; the best-scoring one is used (${picked}).`,
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
