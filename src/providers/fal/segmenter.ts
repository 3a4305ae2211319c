/**
 * The `fal` segmenter: fal's SAM 3 image endpoint (`fal-ai/sam-3/image`) on the same queue client as the
 * fal provider (hosted/job.ts: submit once, poll, read `response_url`, download the mask without the key).
 * One request carries the text, the hint points and the box; `apply_mask: false` gives black-and-white
 * masks, `include_scores`/`include_boxes` a score and a normalised box [cx, cy, w, h] per mask. Of several
 * masks the best-scoring one that fits the prompt is used. SAM 2 (`fal-ai/sam2/image`: points and boxes,
 * one mask, no score) stands in for points and boxes when SAM 3 refuses the request or fails on its side.
 * Shapes: fal-ai/fal-js libs/client/src/types/endpoints.ts (Sam3ImageInput/Output, Sam2ImageInput,
 * PointPrompt, BoxPrompt, MaskMetadata).
 *
 * Paid ($0.005 per request, fal's published SAM 3 price; SAM 2's is unpublished and counted the same) and
 * the photo leaves the machine: both are said in every reply. The photo is sent scaled to at most
 * MAX_SENT_SIDE px (SAM works at about 1 k px), the mask scaled back to the photo's size.
 */
import sharp from "sharp";
import { FluxFillError } from "../../errors.js";
import { clipToBox } from "../../images/selection/box-clip.js";
import type {
  Segmentation,
  SegmentImage,
  Segmenter,
  SegmentOptions,
  SegmentPrompt,
} from "../../images/selection/segmenter.js";
import { formatValidationItem, upstreamMessage } from "../upstream/answers.js";
import {
  createHostedProvider,
  dataUri,
  type HostAdapter,
  type HostedProviderOptions,
  PARAM_DEFAULTS,
  type PollStep,
} from "../hosted/job.js";
import { checkApiKey, type HttpAnswer } from "../upstream/send.js";
import type { FillRequest } from "../types.js";
import { falAdapter } from "./index.js";

export const SAM3_ENDPOINT = "fal-ai/sam-3/image";
export const SAM2_ENDPOINT = "fal-ai/sam2/image";
/** What one segmentation request costs on fal (SAM 3's published price). */
export const FAL_SEGMENT_PRICE_USD = 0.005;
/** Longest side of the photo sent: SAM reads about 1 k px, and less of the photo leaves the machine. */
export const MAX_SENT_SIDE = 1536;
/** Masks asked of SAM 3 (its default). */
const MAX_MASKS = 3;
/** A mask fits a box when at least this share of its bounding box lies inside the box. */
const FITS_BOX_SHARE = 0.85;

export const PRIVACY_NOTE = `fal's hosted SAM was paid $${FAL_SEGMENT_PRICE_USD} (0.5 credit) for this and the photo was sent to fal`;

export interface FalSegmenterOptions extends Omit<HostedProviderOptions, "apiKey"> {
  apiKey: string;
  baseUrl: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The photo as sent: scaled to fit MAX_SENT_SIDE, JPEG; `scale` maps photo pixels to sent pixels. */
async function sentPhoto(image: SegmentImage): Promise<{ bytes: Buffer; width: number; height: number; scale: number }> {
  const scale = Math.min(1, MAX_SENT_SIDE / Math.max(image.width, image.height));
  const width = Math.max(1, Math.round(image.width * scale));
  const height = Math.max(1, Math.round(image.height * scale));
  let pipeline = sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
    raw: { width: image.width, height: image.height, channels: image.channels },
  });
  if (image.channels === 4) pipeline = pipeline.removeAlpha();
  if (scale < 1) pipeline = pipeline.resize(width, height, { fit: "fill" });
  const bytes = await pipeline.jpeg({ quality: 92 }).toBuffer();
  return { bytes, width, height, scale: width / image.width };
}

interface Candidate {
  url: string;
  score: number | undefined;
  /** In sent pixels, when the host gave one. */
  box: { x0: number; y0: number; x1: number; y1: number } | undefined;
}

/** SAM 3's answer → its masks with scores and boxes (scores/boxes from the top level, else from metadata). */
function candidatesOf(body: Record<string, unknown>, width: number, height: number): Candidate[] {
  const masks = Array.isArray(body.masks) ? body.masks : [];
  const scores = Array.isArray(body.scores) ? body.scores : [];
  const boxes = Array.isArray(body.boxes) ? body.boxes : [];
  const metadata = Array.isArray(body.metadata) ? body.metadata.filter(isRecord) : [];
  const out: Candidate[] = [];
  masks.forEach((mask, i) => {
    if (!isRecord(mask) || typeof mask.url !== "string") return;
    const meta = metadata.find((m) => m.index === i);
    const score = typeof scores[i] === "number" ? scores[i] : typeof meta?.score === "number" ? meta.score : undefined;
    const raw = Array.isArray(boxes[i]) ? boxes[i] : Array.isArray(meta?.box) ? meta.box : undefined;
    const [cx, cy, w, h] = Array.isArray(raw) && raw.length === 4 && raw.every((v) => typeof v === "number") ? raw : [];
    const box =
      cx === undefined
        ? undefined
        : {
            x0: (cx - w! / 2) * width,
            y0: (cy! - h! / 2) * height,
            x1: (cx + w! / 2) * width,
            y1: (cy! + h! / 2) * height,
          };
    out.push({ url: mask.url, score, box });
  });
  return out;
}

/** Whether a candidate fits the prompt (in sent pixels): inside the box, around the include points. */
function fits(candidate: Candidate, prompt: SentPrompt): boolean {
  const b = candidate.box;
  if (b === undefined) return true; // nothing to judge by: the score decides
  if (prompt.box) {
    const ix = Math.max(0, Math.min(b.x1, prompt.box.x1) - Math.max(b.x0, prompt.box.x0));
    const iy = Math.max(0, Math.min(b.y1, prompt.box.y1) - Math.max(b.y0, prompt.box.y0));
    const area = Math.max(1e-9, (b.x1 - b.x0) * (b.y1 - b.y0));
    if ((ix * iy) / area < FITS_BOX_SHARE) return false;
  }
  return prompt.include.every(([x, y]) => x >= b.x0 && x <= b.x1 && y >= b.y0 && y <= b.y1);
}

interface SentPrompt {
  text: string | undefined;
  box: { x0: number; y0: number; x1: number; y1: number } | undefined;
  include: Array<[number, number]>;
  exclude: Array<[number, number]>;
}

function sentPromptOf(prompt: SegmentPrompt, scale: number, width: number, height: number): SentPrompt {
  const point = ([x, y]: readonly [number, number]): [number, number] => [
    Math.min(width - 1, Math.max(0, Math.round(x * scale))),
    Math.min(height - 1, Math.max(0, Math.round(y * scale))),
  ];
  const box = prompt.box
    ? {
        x0: Math.max(0, Math.round(prompt.box.x * scale)),
        y0: Math.max(0, Math.round(prompt.box.y * scale)),
        x1: Math.min(width, Math.round((prompt.box.x + prompt.box.width) * scale)),
        y1: Math.min(height, Math.round((prompt.box.y + prompt.box.height) * scale)),
      }
    : undefined;
  return {
    text: prompt.text,
    box,
    include: (prompt.include ?? []).map(point),
    exclude: (prompt.exclude ?? []).map(point),
  };
}

/** What the chosen mask came from, for the reason and the confidence. */
interface Picked {
  model: "SAM 3" | "SAM 2";
  score: number | undefined;
  candidates: number;
  fitted: boolean;
}

/** A fal result's error (any non-200 answer of the model), in the fal provider's words. */
function resultError(answer: HttpAnswer, model: string, id: string): FluxFillError {
  const body = answer.body;
  const detail =
    isRecord(body) && Array.isArray(body.detail)
      ? body.detail.map(formatValidationItem).join("; ")
      : upstreamMessage(body, answer.text);
  const said = detail ? `: ${detail}` : "";
  const details = { provider: "fal", taskId: id, httpStatus: answer.status };
  if (answer.status === 422)
    return new FluxFillError("bad_input", `fal's ${model} refused the request ${id} (HTTP 422)${said}.`, {
      suggestion: "Check the object entry's box and hint points.",
      details,
    });
  return new FluxFillError("upstream_failed", `fal's ${model} request ${id} failed (HTTP ${answer.status})${said}.`, {
    suggestion: "Try again.",
    details,
  });
}

/**
 * The queue client's adapter for one segmentation: fal's own (auth, status, cancel), with this request's
 * endpoint and body, and a result reader that picks the mask (recorded in `picked`).
 */
function segmentAdapter(
  options: FalSegmenterOptions,
  model: "SAM 3" | "SAM 2",
  body: Record<string, unknown>,
  prompt: SentPrompt,
  size: { width: number; height: number },
  picked: { value?: Picked },
): HostAdapter {
  const fal = falAdapter({ apiKey: options.apiKey, baseUrl: options.baseUrl, model: "pro" });
  const endpoint = model === "SAM 3" ? SAM3_ENDPOINT : SAM2_ENDPOINT;
  return {
    ...fal,
    planSubmit: () => ({ url: `${options.baseUrl.replace(/\/+$/, "")}/${endpoint}`, body: JSON.stringify(body), notes: [] }),
    parseSubmit: (answer) => {
      // Without status_url, fal's rule: owner/app (without the sub-path) + /requests/{id}/status.
      const job = fal.parseSubmit(answer);
      if (job === undefined || (isRecord(answer.body) && typeof answer.body.status_url === "string")) return job;
      const base = `${options.baseUrl.replace(/\/+$/, "")}/${endpoint.split("/").slice(0, 2).join("/")}/requests/${encodeURIComponent(job.id)}`;
      return { id: job.id, statusUrl: `${base}/status`, resultUrl: base, cancelUrl: `${base}/cancel` };
    },
    readResult(answer, job): PollStep {
      if (answer.status !== 200 || !isRecord(answer.body)) return { state: "failed", error: resultError(answer, model, job.id) };
      if (model === "SAM 2") {
        const image = answer.body.image;
        if (!isRecord(image) || typeof image.url !== "string")
          return { state: "failed", error: new FluxFillError("upstream_failed", `fal's SAM 2 request ${job.id} returned no mask.`, { suggestion: "Try again." }) };
        picked.value = { model, score: undefined, candidates: 1, fitted: true };
        return { state: "ready", status: "COMPLETED", imageUrl: image.url };
      }
      const candidates = candidatesOf(answer.body, size.width, size.height);
      if (candidates.length === 0) {
        return {
          state: "failed",
          error: new FluxFillError(
            "bad_input",
            `fal's SAM 3 found nothing${prompt.text === undefined ? "" : ` matching "${prompt.text}"`}${prompt.box ? " in the box" : ""} (request ${job.id}, paid).`,
            {
              suggestion: "Name the object differently (a short noun such as \"spoon\"), or give the box it lies in.",
              details: { provider: "fal", taskId: job.id },
            },
          ),
        };
      }
      const fitting = candidates.filter((c) => fits(c, prompt));
      const pool = fitting.length > 0 ? fitting : candidates;
      const best = pool.reduce((a, b) => ((b.score ?? 0) > (a.score ?? 0) ? b : a));
      picked.value = { model, score: best.score, candidates: candidates.length, fitted: fitting.length > 0 };
      return { state: "ready", status: "COMPLETED", imageUrl: best.url };
    },
  };
}

/** The SAM 3 request body for a prompt (prompt always set: its default is "wheel"). */
function sam3Body(image: string, prompt: SentPrompt): Record<string, unknown> {
  return {
    image_url: image,
    prompt: prompt.text ?? "",
    apply_mask: false,
    output_format: "png",
    return_multiple_masks: true,
    max_masks: MAX_MASKS,
    include_scores: true,
    include_boxes: true,
    ...(prompt.include.length + prompt.exclude.length > 0
      ? {
          point_prompts: [
            ...prompt.include.map(([x, y]) => ({ x, y, label: 1 })),
            ...prompt.exclude.map(([x, y]) => ({ x, y, label: 0 })),
          ],
        }
      : {}),
    ...(prompt.box ? { box_prompts: [{ x_min: prompt.box.x0, y_min: prompt.box.y0, x_max: prompt.box.x1, y_max: prompt.box.y1 }] } : {}),
  };
}

function sam2Body(image: string, prompt: SentPrompt): Record<string, unknown> {
  return {
    image_url: image,
    apply_mask: false,
    output_format: "png",
    prompts: [
      ...prompt.include.map(([x, y]) => ({ x, y, label: 1 })),
      ...prompt.exclude.map(([x, y]) => ({ x, y, label: 0 })),
    ],
    ...(prompt.box ? { box_prompts: [{ x_min: prompt.box.x0, y_min: prompt.box.y0, x_max: prompt.box.x1, y_max: prompt.box.y1 }] } : {}),
  };
}

/** A downloaded mask file → one byte per photo pixel (scaled back from the sent size). */
async function maskAtPhotoSize(bytes: Buffer, width: number, height: number): Promise<Uint8Array> {
  const { data } = await sharp(bytes)
    .flatten({ background: "#000000" })
    .greyscale()
    .resize(width, height, { fit: "fill", kernel: "linear" })
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Whether SAM 2 should be tried after this SAM 3 failure: SAM 3 refused the request or failed on its side. */
function sam2MayHelp(error: unknown, prompt: SegmentPrompt): boolean {
  if (prompt.text !== undefined || !(error instanceof FluxFillError)) return false;
  const status = error.details?.httpStatus;
  if (error.details?.outcomeUnknown === true) return false;
  if (error.kind === "bad_input") return status === 422 || status === 400;
  return error.kind === "upstream_failed" && typeof status === "number" && status >= 500;
}

/** fal's queue client errors, with the fix for a segmentation (not for a fill) named. */
function segmentationError(error: unknown): unknown {
  if (!(error instanceof FluxFillError)) return error;
  const status = error.details?.httpStatus;
  const classic = "or set FLUX_FILL_SEGMENTER=classic (free, offline; boxes only).";
  const suggestion =
    status === 401 || status === 403
      ? `Check FAL_KEY (keys: https://fal.ai/dashboard/keys), ${classic}`
      : error.kind === "upstream_credits"
        ? `Add credit at https://fal.ai/dashboard/billing, ${classic}`
        : error.kind === "upstream_rate_limited"
          ? `Wait a minute and try again, ${classic}`
          : error.kind === "upstream_unreachable"
            ? `Check the network and FLUX_FILL_FAL_BASE_URL, ${classic}`
            : undefined;
  if (suggestion === undefined) return error;
  return new FluxFillError(error.kind, `Segmenting with fal's SAM: ${error.message}`, {
    suggestion,
    ...(error.details ? { details: error.details } : {}),
    cause: error,
  });
}

export function createFalSegmenter(options: FalSegmenterOptions): Segmenter {
  /** One request on the queue client; charged (counted) once the host created a job. */
  async function request(
    model: "SAM 3" | "SAM 2",
    body: Record<string, unknown>,
    prompt: SentPrompt,
    sent: { bytes: Buffer; width: number; height: number },
    segmentOptions: SegmentOptions,
  ): Promise<{ bytes: Buffer; picked: Picked }> {
    checkApiKey(options.apiKey, "FAL_KEY", "https://fal.ai/dashboard/keys");
    const settle = await segmentOptions.pay?.(FAL_SEGMENT_PRICE_USD);
    const picked: { value?: Picked } = {};
    const client = createHostedProvider(segmentAdapter(options, model, body, prompt, sent, picked), options);
    // The queue client runs provider requests; a segmentation rides it as a fill-shaped request of which
    // only the upload is read (by planSubmit, through `body`) and the size (to check the mask's).
    const size = { width: sent.width, height: sent.height, pixels: () => Promise.reject(new Error("not read")) };
    const ride: FillRequest = {
      kind: "fill",
      image: size,
      mask: size,
      upload: { image: sent.bytes, mask: Buffer.alloc(0) },
      params: PARAM_DEFAULTS,
      checked: Promise.resolve(),
    };
    let submitted = false;
    try {
      const output = await client.fill(ride, {
        signal: segmentOptions.signal ?? new AbortController().signal,
        onSubmitted: () => {
          submitted = true;
        },
      });
      await settle?.(FAL_SEGMENT_PRICE_USD);
      return { bytes: output.bytes, picked: picked.value! };
    } catch (error) {
      // fal bills no request that failed with 5xx; anything else that created a job, or may have (a submit
      // whose answer was lost), is counted.
      const details = error instanceof FluxFillError ? error.details : undefined;
      const status = details?.httpStatus;
      const charged = (submitted || details?.outcomeUnknown === true) && !(typeof status === "number" && status >= 500);
      await settle?.(charged ? FAL_SEGMENT_PRICE_USD : 0);
      throw error;
    }
  }

  return {
    name: "fal",
    readsText: true,
    hosted: true,
    async segment(image, prompt, segmentOptions = {}): Promise<Segmentation> {
      const sent = await sentPhoto(image);
      const sentPrompt = sentPromptOf(prompt, sent.scale, sent.width, sent.height);
      const photo = dataUri(sent.bytes);
      let result: { bytes: Buffer; picked: Picked };
      let paid = FAL_SEGMENT_PRICE_USD;
      const notes: string[] = [];
      try {
        try {
          result = await request("SAM 3", sam3Body(photo, sentPrompt), sentPrompt, sent, segmentOptions);
        } catch (error) {
          if (!sam2MayHelp(error, prompt)) throw error;
          notes.push(`SAM 3 failed (${error instanceof Error ? error.message : String(error)}); SAM 2 was asked instead`);
          result = await request("SAM 2", sam2Body(photo, sentPrompt), sentPrompt, sent, segmentOptions);
          paid += FAL_SEGMENT_PRICE_USD;
        }
      } catch (error) {
        throw segmentationError(error);
      }
      const mask = await maskAtPhotoSize(result.bytes, image.width, image.height);
      clipToBox(mask, image.width, image.height, prompt.box);
      let area = 0;
      for (const v of mask) if (v >= 128) area++;
      const { picked } = result;
      const what = prompt.text === undefined ? "the object" : `"${prompt.text}"`;
      const confidence = picked.score === undefined ? 0.6 : Math.min(1, Math.max(0, picked.score));
      const share = `${((area / (image.width * image.height)) * 100).toFixed(1)} % of the image`;
      const decided = area > 0 && picked.fitted ? "segmented" : "fallback";
      const reason =
        area === 0
          ? `fal's ${picked.model} returned an empty mask for ${what}`
          : picked.fitted
            ? `${what} segmented by fal's ${picked.model}: ${share}${picked.score === undefined ? " (SAM 2 gives no score; 0.6 assumed)" : ""}`
            : `none of fal's ${picked.candidates} masks for ${what} fitted the prompt; used the best-scoring one, cut to the box: ${share}`;
      notes.push(`${PRIVACY_NOTE}${paid > FAL_SEGMENT_PRICE_USD ? ` (twice: $${paid.toFixed(3)})` : ""}`);
      return {
        mask,
        decided,
        reason,
        confidence: area === 0 ? 0 : confidence,
        candidates: picked.candidates,
        segmenter: "fal",
        costUsd: paid,
        notes,
      };
    },
  };
}
