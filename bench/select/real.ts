/**
 * bench:select's real-photo section (issue 22's "How we know"): objects hand-labelled as polygons in
 * bench/select/truth.json, on the original photos of ../shared/data/photos; each gets a box = its ground
 * truth's bounding box + 5 % per side and a looser one + 15 %, given to every method. Objects marked
 * `held-out` were never looked at while tuning the classic selection: they are reported on their own.
 * Photos listed under truth.json's `photos` come from bench/select/photos (free licence, in the repository)
 * or, when their licence is not stated, from a local folder only (BENCH_LOCAL_PHOTOS_DIR, default
 * bench/select/photos/local, ignored by git); each is checked against its SHA-256, and one that is missing
 * or differs is skipped with the reason (the polygons fit that exact file only).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import sharp from "sharp";
import { mean } from "../figures.js";
import {
  type Mask,
  maskBounds,
  type Polygon,
  padRect,
  polygonMask,
  type Rect,
  type Rgb,
  summarise,
} from "./figures.js";

export const REAL_MARGINS = [0.05, 0.15] as const;

/** Where a photo comes from: the shared photos, the repository's bench/select/photos, or a local folder. */
export type PhotoStore = "shared" | "bench/select/photos" | "local";

interface TruthPhoto {
  sha256: string;
  stored: Exclude<PhotoStore, "shared">;
  source: string;
  licence: string;
}

interface TruthObject {
  image: string;
  label: string;
  split: "tune" | "held-out";
  how: string;
  polygons: Polygon[];
}

export interface RealCase {
  image: string;
  label: string;
  split: TruthObject["split"];
  stored: PhotoStore;
  margin: number;
  photo: Rgb;
  truth: Mask;
  box: Rect;
  /** Absolute path of the photo (OpenCV reads it from there). */
  file: string;
  /** Prefix of grabCut's mask files in the exchange folder. */
  maskPrefix: string;
}

export interface RealResult {
  case: RealCase;
  classic?: { iou: number; missed: number; spill: number; confidence?: number; decided: string; ms: number };
  grabcut: { iou: number; range: [number, number]; ms: number };
  onnx?: { iou: number; confidence: number };
}

export interface RealCases {
  cases: RealCase[];
  /** Photos of truth.json that are not here (or not the labelled file), with the reason. */
  skipped: string[];
}

export async function loadRealCases(root: string, photosDir: string, localDir: string): Promise<RealCases> {
  const truth = JSON.parse(readFileSync(path.join(root, "bench/select/truth.json"), "utf8")) as {
    photos?: Record<string, TruthPhoto>;
    objects: TruthObject[];
  };
  const photos = new Map<string, Rgb>();
  const cases: RealCase[] = [];
  const skipped = new Map<string, string>();
  for (const object of truth.objects) {
    const listed = truth.photos?.[object.image];
    const stored: PhotoStore = listed?.stored ?? "shared";
    const folder = stored === "shared" ? photosDir : stored === "local" ? localDir : path.join(root, stored);
    const file = path.join(folder, object.image);
    if (skipped.has(object.image)) continue;
    if (!existsSync(file)) {
      skipped.set(
        object.image,
        stored === "local"
          ? `not in ${path.relative(root, folder) || folder} (${listed!.source}; licence ${listed!.licence})`
          : `not found at ${file}`,
      );
      continue;
    }
    let photo = photos.get(object.image);
    if (!photo) {
      if (listed) {
        const sha256 = createHash("sha256").update(readFileSync(file)).digest("hex");
        if (sha256 !== listed.sha256) {
          skipped.set(
            object.image,
            `${file} is not the labelled file (SHA-256 ${sha256.slice(0, 12)}…, expected ${listed.sha256.slice(0, 12)}…)`,
          );
          continue;
        }
      }
      const { data, info } = await sharp(file)
        .removeAlpha()
        .toColourspace("srgb")
        .raw()
        .toBuffer({ resolveWithObject: true });
      photo = {
        data: new Uint8Array(data.buffer, data.byteOffset, data.length),
        width: info.width,
        height: info.height,
      };
      photos.set(object.image, photo);
    }
    const mask = polygonMask(photo.width, photo.height, object.polygons);
    const bounds = maskBounds(mask);
    if (!bounds) throw new Error(`truth.json: ${object.image} "${object.label}" selects no pixel`);
    for (const margin of REAL_MARGINS) {
      cases.push({
        image: object.image,
        label: object.label,
        split: object.split,
        stored,
        margin,
        photo,
        truth: mask,
        box: padRect(bounds, margin),
        file,
        maskPrefix: `real-${cases.length}`,
      });
    }
  }
  return { cases, skipped: [...skipped].map(([image, why]) => `${image}: ${why}`) };
}

/**
 * The `onnx` column: a Segmenter made by the build's segmentation module with FLUX_FILL_SEGMENTER=onnx,
 * when the build has one and its model weights are on this machine. Returns the reason otherwise (no
 * weights here or in CI: the column then reads "not measured" with that reason).
 */
export async function loadOnnxSegmenter(
  distDir: string,
  exchange: string,
  /** Where the weights are (default: FLUX_FILL_MODELS_DIR, else the user's cache folder, as the server). */
  modelsDir: string | undefined = process.env.FLUX_FILL_MODELS_DIR,
): Promise<{
  segment?: (image: Rgb & { key: string }, box: Rect) => Promise<{ mask: Uint8Array; confidence: number }>;
  why?: string;
}> {
  const file = path.join(distDir, "segmentation/index.js");
  if (!existsSync(file)) return { why: "this build has no segmentation module (dist/segmentation/index.js)" };
  try {
    const { loadConfig } = await import(pathToFileURL(path.join(distDir, "config.js")).href);
    const module = (await import(pathToFileURL(file).href)) as {
      createSegmenter?: (config: unknown) => {
        segment(image: unknown, prompt: unknown): Promise<{ mask: Uint8Array; confidence: number }>;
      };
    };
    if (typeof module.createSegmenter !== "function") return { why: `${file} has no createSegmenter export` };
    const config = loadConfig(
      {
        FLUX_FILL_SEGMENTER: "onnx",
        FLUX_FILL_ALLOWED_DIRS: exchange,
        FLUX_FILL_OUTPUT_DIR: path.join(exchange, "out"),
        ...(modelsDir ? { FLUX_FILL_MODELS_DIR: modelsDir } : {}),
        ...(process.env.XDG_CACHE_HOME ? { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME } : {}),
        ...(process.env.LOCALAPPDATA ? { LOCALAPPDATA: process.env.LOCALAPPDATA } : {}),
      },
      exchange,
    );
    const segmenter = module.createSegmenter(config);
    const segment = (image: Rgb & { key: string }, box: Rect) => segmenter.segment({ ...image, channels: 3 }, { box });
    // One probe: without weights the segmenter answers with the error that names the fix.
    const probe = { data: new Uint8Array(64 * 64 * 3), width: 64, height: 64, key: "bench-probe" };
    await segment(probe, { x: 8, y: 8, width: 48, height: 48 });
    return { segment };
  } catch (error) {
    return { why: error instanceof Error ? error.message.split("\n")[0]! : String(error) };
  }
}

const fmt = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? "n/a" : n.toFixed(3));

function line(values: number[]): string {
  const s = summarise(values);
  return `${fmt(s.mean)} / ${fmt(s.median)} / ${fmt(s.min)} (${s.count})`;
}

/**
 * The summary: per method, IoU mean / median / min over all, tuned-on and held-out objects, per margin, and
 * the objects of the shared photos apart from those of the photos added since (bench/select/photos and local).
 */
export function realSummary(results: RealResult[], onnxWhy: string | undefined): string {
  const rows: Array<[string, (r: RealResult) => number | undefined]> = [
    ["classic (ours)", (r) => r.classic?.iou],
    ["OpenCV grabCut", (r) => r.grabcut.iou],
    ["onnx (whichever model is pulled: SAM 2.1 tiny, else MobileSAM)", (r) => r.onnx?.iou],
  ];
  const pick = (f: (r: RealResult) => number | undefined, keep: (r: RealResult) => boolean) =>
    results
      .filter(keep)
      .map(f)
      .filter((v): v is number => v !== undefined);
  const lines = [
    "| method | all: mean / median / min (cases) | tuned on | held out | box + 5 % | box + 15 % | shared photos | added photos |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const [name, f] of rows) {
    if (name.startsWith("onnx") && onnxWhy !== undefined) {
      lines.push(`| ${name} | not measured: ${onnxWhy} | | | | | | |`);
      continue;
    }
    const cells = [
      () => true,
      (r: RealResult) => r.case.split === "tune",
      (r: RealResult) => r.case.split === "held-out",
      (r: RealResult) => r.case.margin === 0.05,
      (r: RealResult) => r.case.margin === 0.15,
      (r: RealResult) => r.case.stored === "shared",
      (r: RealResult) => r.case.stored !== "shared",
    ].map((keep) => line(pick(f, keep)));
    lines.push(`| ${name} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

export function realCaseTable(results: RealResult[]): string {
  const lines = [
    "| photo | object | split | box (+margin) | classic IoU | confidence | decided | missed / spill | time | grabCut IoU (seeds' range) | time | onnx IoU |",
    "|---|---|---|---|---:|---:|---|---:|---:|---:|---:|---:|",
  ];
  for (const r of results) {
    const c = r.classic;
    const b = r.case.box;
    lines.push(
      `| ${r.case.image} | ${r.case.label} | ${r.case.split} | ${b.width}×${b.height} at (${b.x}, ${b.y}) (+${Math.round(r.case.margin * 100)} %) | ${fmt(c?.iou)} | ${c?.confidence === undefined ? "n/a" : c.confidence.toFixed(2)} | ${c?.decided ?? "—"} | ${c ? `${(100 * c.missed).toFixed(1)} % / ${(100 * c.spill).toFixed(1)} %` : "—"} | ${c ? `${Math.round(c.ms)} ms` : "—"} | ${fmt(r.grabcut.iou)} (${fmt(r.grabcut.range[0])}–${fmt(r.grabcut.range[1])}) | ${Math.round(r.grabcut.ms)} ms | ${r.onnx ? fmt(r.onnx.iou) : "—"} |`,
    );
  }
  return lines.join("\n");
}

export function meanOf(results: RealResult[], f: (r: RealResult) => number | undefined): number {
  return mean(results.map(f).filter((v): v is number => v !== undefined));
}
