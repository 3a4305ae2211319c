import { createHash } from "node:crypto";
import { FluxFillError } from "../errors.js";
import type { RasterImage } from "./raster.js";
import {
  type DrawnRegions,
  drawRegions,
  type MaskRegion,
  type RegionOp,
  type RegionUnits,
  regionsInPixels,
} from "./regions.js";
import {
  DOUBTFUL_CONFIDENCE,
  DOUBTFUL_NOTE,
  type SegmentContext,
  type SegmentImage,
  type Segmentation,
  type SegmentPrompt,
} from "./selection/segmenter.js";
import type { PixelPoint } from "./selection/types.js";

/**
 * The async half of drawing mask_regions: every object entry goes through the configured Segmenter (which
 * may be hosted) before anything is drawn; shapes and wands are then drawn synchronously (drawRegions), so
 * shape-only masks never wait on a segmenter. Afterwards each hint point is checked against the final mask.
 */

/** The photo as a segmenter takes it, keyed by a hash of its pixels (caches key on it). */
export function segmentImageOf(rgb: RasterImage): SegmentImage {
  const key = createHash("sha256")
    .update(`${rgb.width}x${rgb.height}x${rgb.channels}:`)
    .update(rgb.data)
    .digest("hex");
  return { data: rgb.data, width: rgb.width, height: rgb.height, channels: rgb.channels === 1 ? 1 : rgb.channels === 4 ? 4 : 3, key };
}

type ObjectInPixels = Extract<MaskRegion, { shape: "object" }> & { op: RegionOp };

function promptOf(r: ObjectInPixels): SegmentPrompt {
  const box =
    r.x === undefined || r.y === undefined || r.width === undefined || r.height === undefined
      ? undefined
      : { x: r.x, y: r.y, width: r.width, height: r.height };
  return {
    ...(box ? { box } : {}),
    include: (r.include ?? []) as PixelPoint[],
    exclude: (r.exclude ?? []) as PixelPoint[],
    ...(r.text === undefined ? {} : { text: r.text }),
  };
}

/** The error for a `text` prompt on a segmenter that cannot read text: names the setting that can. */
export function textNotReadError(index: number, text: string, segmenter: string): FluxFillError {
  return new FluxFillError(
    "bad_input",
    `mask_regions[${index}] names the object by text ("${text.slice(0, 60)}"), but this server's segmenter (${segmenter}) cannot read text. Nothing was selected or charged.`,
    {
      suggestion:
        "Give the object's box {x, y, width, height} instead of text, or ask whoever runs the server to set FLUX_FILL_SEGMENTER=fal with FAL_KEY (fal's hosted SAM 3 reads text; $0.005 per object, and the photo is sent to fal).",
      details: { segmenter },
    },
  );
}

/** "include[1] (412, 80)": a hint point as the agent gave it (in the entry's units). */
function describePoint(name: "include" | "exclude", i: number, given: ReadonlyArray<ReadonlyArray<number>>): string {
  const p = given[i] ?? [];
  return `${name}[${i}] (${p[0]}, ${p[1]})`;
}

/**
 * Hint points that ended on the wrong side of the final mask (an include point outside it, an exclude
 * point inside; the other way round for a subtracted entry), one remark per point, saying whether the
 * entry's own selection followed it (so a later entry undid it) or not.
 */
function hintRemarks(
  region: Extract<MaskRegion, { shape: "object" }>,
  inPixels: ObjectInPixels,
  selection: Segmentation,
  finalMask: Uint8Array,
  width: number,
  height: number,
): string[] {
  const remarks: string[] = [];
  for (const name of ["include", "exclude"] as const) {
    const points = inPixels[name] ?? [];
    points.forEach((p, i) => {
      const x = Math.min(width - 1, Math.max(0, Math.floor(p[0]!)));
      const y = Math.min(height - 1, Math.max(0, Math.floor(p[1]!)));
      const wantSelected = name === "include";
      const wantInFinal = inPixels.op === "subtract" ? !wantSelected : wantSelected;
      const inFinal = finalMask[y * width + x]! >= 128;
      if (inFinal === wantInFinal) return;
      const followed = selection.mask[y * width + x]! >= 128 === wantSelected;
      remarks.push(
        `hint ${describePoint(name, i, region[name] ?? [])} ended ${inFinal ? "inside" : "outside"} the mask: ${
          followed ? "the selection followed it, a later entry changed it" : `the ${selection.segmenter} segmenter did not follow it`
        }`,
      );
    });
  }
  return remarks;
}

/**
 * mask_regions drawn at the image's size, each object entry segmented first through `segmentation`
 * (one after the other: a hosted one is paid per call and counted before each). A text prompt on a
 * segmenter that cannot read text is refused before any entry is segmented.
 */
export async function drawRegionsWithSegmenter(
  regions: ReadonlyArray<MaskRegion>,
  units: RegionUnits,
  width: number,
  height: number,
  image: RasterImage | undefined,
  segmentation: SegmentContext | undefined,
): Promise<DrawnRegions> {
  const inPixels = regionsInPixels(regions, units, width, height);
  const objects = inPixels
    .map((r, index) => ({ r, index }))
    .filter((o): o is { r: ObjectInPixels; index: number } => o.r.shape === "object");
  if (objects.length === 0) return drawRegions(regions, units, width, height, image);
  if (segmentation === undefined || image === undefined) {
    throw new FluxFillError("internal", "Object regions need the photo's pixels and a segmenter.");
  }
  const { segmenter, options } = segmentation;
  for (const { r, index } of objects) {
    if (r.text !== undefined && !segmenter.readsText) throw textNotReadError(index, r.text, segmenter.name);
  }
  const photo = segmentImageOf(image);
  const selections = new Map<number, Segmentation>();
  for (const { r, index } of objects) {
    try {
      selections.set(index, await segmenter.segment(photo, promptOf(r), options));
    } catch (error) {
      if (!(error instanceof FluxFillError)) throw error;
      throw new FluxFillError(error.kind, `mask_regions[${index}] (object): ${error.message}`, {
        ...(error.suggestion === undefined ? {} : { suggestion: error.suggestion }),
        ...(error.details === undefined ? {} : { details: error.details }),
        cause: error,
      });
    }
  }
  const drawn = drawRegions(regions, units, width, height, image, selections);
  for (const { r, index } of objects) {
    const report = drawn.reports[index]!;
    const selection = selections.get(index)!;
    const notes = report.notes ?? [];
    if (selection.confidence <= DOUBTFUL_CONFIDENCE) notes.push(DOUBTFUL_NOTE);
    notes.push(
      ...hintRemarks(regions[index] as Extract<MaskRegion, { shape: "object" }>, r, selection, drawn.mask.data, width, height),
    );
    report.notes = notes;
  }
  return drawn;
}
