/**
 * What fal's SAM endpoints answer, for the fal emulator (host-emulators.ts): `fal-ai/sam-3/image` and
 * `fal-ai/sam2/image` with the input and output shapes of fal-ai/fal-js libs/client/src/types/endpoints.ts
 * (Sam3ImageInput/Output, Sam2ImageInput, PointPrompt, BoxPrompt, MaskMetadata). The "model" knows the
 * objects a test tells it about (hand-drawn polygons on the real photos, with a label and a score) and
 * answers like SAM would: a text finds the objects whose label it names; a box or points find the objects
 * lying in the box or under an include point (else a blob filling the box, scored low); several masks come
 * best score first, with normalised [cx, cy, w, h] boxes and metadata. Masks are black-and-white PNGs at
 * the sent image's size, served by the delivery host.
 */
import sharp from "sharp";

/** An object the emulated model can find: a polygon in fractions (0..1) of the photo, a label, a score. */
export interface SamObject {
  label: string;
  /** [x, y] pairs, fractions of the image's width and height. */
  polygon: ReadonlyArray<readonly [number, number]>;
  score: number;
}

export interface SamInput {
  text: string | undefined;
  points: Array<{ x: number; y: number; label: number }>;
  boxes: Array<{ x0: number; y0: number; x1: number; y1: number }>;
  maxMasks: number;
}

type Problem = { loc: string[]; msg: string; type: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Checks a SAM 3 (`version` 3) or SAM 2 body as fal's validation would; the problems in fal's 422 form. */
export function readSamInput(body: Record<string, unknown>, version: 2 | 3): { input: SamInput; problems: Problem[] } {
  const problems: Problem[] = [];
  const problem = (field: string, msg: string, type = "value_error") => problems.push({ loc: ["body", field], msg, type });
  if (body.apply_mask !== undefined && typeof body.apply_mask !== "boolean") problem("apply_mask", "value could not be parsed to a boolean");
  if (body.output_format !== undefined && !["jpeg", "png", "webp"].includes(body.output_format as string))
    problem("output_format", "value is not a valid enumeration member; permitted: 'jpeg', 'png', 'webp'", "type_error.enum");
  const pointsField = version === 3 ? "point_prompts" : "prompts";
  const points: SamInput["points"] = [];
  const rawPoints = body[pointsField];
  if (rawPoints !== undefined) {
    if (!Array.isArray(rawPoints)) problem(pointsField, "value is not a valid list");
    else
      rawPoints.forEach((p, i) => {
        if (!isRecord(p) || typeof p.x !== "number" || typeof p.y !== "number" || (p.label !== 0 && p.label !== 1))
          problem(`${pointsField}.${i}`, "a point is {x, y, label: 0 | 1}");
        else points.push({ x: p.x, y: p.y, label: p.label });
      });
  }
  const boxes: SamInput["boxes"] = [];
  if (body.box_prompts !== undefined) {
    if (!Array.isArray(body.box_prompts)) problem("box_prompts", "value is not a valid list");
    else
      body.box_prompts.forEach((b, i) => {
        if (!isRecord(b) || [b.x_min, b.y_min, b.x_max, b.y_max].some((v) => typeof v !== "number"))
          problem(`box_prompts.${i}`, "a box is {x_min, y_min, x_max, y_max}");
        else boxes.push({ x0: b.x_min as number, y0: b.y_min as number, x1: b.x_max as number, y1: b.y_max as number });
      });
  }
  let maxMasks = 1;
  let text: string | undefined;
  if (version === 3) {
    if (body.prompt !== undefined && typeof body.prompt !== "string") problem("prompt", "str type expected", "type_error.str");
    // fal's default prompt is "wheel": a caller that leaves it out asks for wheels.
    const prompt = typeof body.prompt === "string" ? body.prompt : "wheel";
    text = prompt.trim() === "" ? undefined : prompt;
    const max = body.max_masks ?? 3;
    if (!Number.isInteger(max) || (max as number) < 1 || (max as number) > 32) problem("max_masks", "ensure this value is between 1 and 32");
    maxMasks = body.return_multiple_masks === true ? (max as number) : 1;
  }
  return { input: { text, points, boxes, maxMasks }, problems };
}

interface Found {
  polygon: Array<[number, number]>;
  score: number;
}

function bboxOf(polygon: ReadonlyArray<readonly [number, number]>) {
  const xs = polygon.map((p) => p[0]);
  const ys = polygon.map((p) => p[1]);
  return { x0: Math.min(...xs), y0: Math.min(...ys), x1: Math.max(...xs), y1: Math.max(...ys) };
}

function insidePolygon(polygon: ReadonlyArray<readonly [number, number]>, x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i]!;
    const [xj, yj] = polygon[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** The objects the model finds for an input on an image of `width`×`height`, best first (pixels). */
export function findObjects(objects: ReadonlyArray<SamObject>, input: SamInput, width: number, height: number): Found[] {
  const inPixels = objects.map((o) => ({
    label: o.label,
    score: o.score,
    polygon: o.polygon.map(([x, y]) => [x * width, y * height] as [number, number]),
  }));
  const include = input.points.filter((p) => p.label === 1);
  const exclude = input.points.filter((p) => p.label === 0);
  const box = input.boxes[0];
  let found = inPixels.filter((o) => {
    if (input.text !== undefined) {
      const words = input.text.toLowerCase().split(/[^a-z]+/);
      return o.label.toLowerCase().split(/\s+/).some((w) => words.includes(w));
    }
    const b = bboxOf(o.polygon);
    const inBox =
      box !== undefined &&
      (Math.max(0, Math.min(b.x1, box.x1) - Math.max(b.x0, box.x0)) * Math.max(0, Math.min(b.y1, box.y1) - Math.max(b.y0, box.y0))) /
        Math.max(1e-9, (b.x1 - b.x0) * (b.y1 - b.y0)) >=
        0.5;
    return inBox || include.some((p) => insidePolygon(o.polygon, p.x, p.y));
  });
  found = found.filter((o) => !exclude.some((p) => insidePolygon(o.polygon, p.x, p.y)));
  const result: Found[] = found.map((o) => ({ polygon: o.polygon, score: o.score }));
  if (result.length === 0 && input.text === undefined && box !== undefined) {
    // Nothing known there: SAM still returns its best blob for the box, with a low score.
    const cx = (box.x0 + box.x1) / 2;
    const cy = (box.y0 + box.y1) / 2;
    const rx = (box.x1 - box.x0) / 2;
    const ry = (box.y1 - box.y0) / 2;
    const polygon = Array.from({ length: 24 }, (_, i) => {
      const a = (i / 24) * 2 * Math.PI;
      return [cx + rx * Math.cos(a), cy + ry * Math.sin(a)] as [number, number];
    });
    result.push({ polygon, score: 0.35 });
  }
  return result.sort((a, b) => b.score - a.score).slice(0, input.maxMasks);
}

/** A black-and-white PNG of `width`×`height` with the polygons filled white. */
export async function maskPng(polygons: ReadonlyArray<ReadonlyArray<readonly [number, number]>>, width: number, height: number): Promise<Buffer> {
  const shapes = polygons
    .map((polygon) => `<polygon points="${polygon.map(([x, y]) => `${x.toFixed(2)},${y.toFixed(2)}`).join(" ")}" fill="white"/>`)
    .join("");
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="black"/>${shapes}</svg>`;
  return sharp(Buffer.from(svg)).greyscale().png().toBuffer();
}

/** The normalised [cx, cy, w, h] box of a polygon on a `width`×`height` image, as SAM 3 reports it. */
export function normalisedBox(polygon: ReadonlyArray<readonly [number, number]>, width: number, height: number): number[] {
  const b = bboxOf(polygon);
  return [(b.x0 + b.x1) / 2 / width, (b.y0 + b.y1) / 2 / height, (b.x1 - b.x0) / width, (b.y1 - b.y0) / height];
}
