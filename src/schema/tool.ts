import { z } from "zod";
import { ANCHORS } from "../images/expand.js";
import { ALPHA_CONVENTIONS } from "../images/mask-spec.js";
import { MAX_POLYGON_POINTS, MAX_REGIONS, MAX_SELECTIONS, REGION_OPS } from "../images/regions.js";
import { WAND_TOLERANCE_MAX } from "../images/selection/wand.js";
import { MAX_SVG_CHARS } from "../images/svg-mask.js";
import { fieldError, unknownFieldsError } from "./issues.js";
import { FluxProExpandInputs, FluxProFillInputs } from "./upstream.js";

const REFERENCE_FORMS =
  "an absolute path, a path relative to the server's working directory, a file:// URL, an http(s):// URL, a data: URI or raw base64";

/** `image` and `mask` in the tools accept a reference to the bytes instead of the bytes themselves. */
function reference(field: "image" | "mask") {
  return z.string({ error: fieldError(field, `a non-empty string: ${REFERENCE_FORMS}`) }).min(1);
}

/** Most pixels grow_mask and feather_mask accept (a larger pad is better drawn into the mask itself). */
export const MAX_GROW_PX = 512;
export const MAX_FEATHER_PX = 256;

const coordinate = (field: string) => z.number({ error: fieldError(field, "a number") });

/** `op` on every entry: entries apply in order, "subtract" removes an entry's pixels from those before it. */
const op = z.enum(REGION_OPS, { error: fieldError("op", '"add" or "subtract"') }).optional();

/** A list of [x, y] pairs (polygon vertices, object hints). */
function pointList(field: string) {
  return z.array(
    z.array(coordinate(`${field}: x and y`)).length(2, { error: fieldError(`each of ${field}`, "a pair [x, y]") }),
    {
      error: fieldError(field, "a list of [x, y] pairs"),
    },
  );
}

/** One mask_regions entry kind: its fields plus `op`, strict, naming the accepted fields when another is given. */
function region<Shape extends z.core.$ZodLooseShape>(fields: Shape) {
  const shape = { ...fields, op };
  return z.object(shape, { error: unknownFieldsError(() => Object.keys(shape)) }).strict();
}

const RectRegion = region({
  shape: z.literal("rect"),
  x: coordinate("rect x"),
  y: coordinate("rect y"),
  width: coordinate("rect width"),
  height: coordinate("rect height"),
});

const EllipseRegion = region({
  shape: z.literal("ellipse"),
  cx: coordinate("ellipse cx"),
  cy: coordinate("ellipse cy"),
  rx: coordinate("ellipse rx"),
  ry: coordinate("ellipse ry"),
});

const PolygonRegion = region({
  shape: z.literal("polygon"),
  points: pointList("polygon points")
    .min(3, { error: fieldError("polygon points", "at least 3 [x, y] pairs") })
    .max(MAX_POLYGON_POINTS, {
      error: (issue: { input?: unknown }) =>
        `polygon points must be at most ${MAX_POLYGON_POINTS} [x, y] pairs; got ${Array.isArray(issue.input) ? issue.input.length : "more"}. Simplify the outline or use mask_svg.`,
    }),
});

const ObjectRegion = region({
  shape: z.literal("object"),
  x: coordinate("object x"),
  y: coordinate("object y"),
  width: coordinate("object width"),
  height: coordinate("object height"),
  // At most MAX_HINT_POINTS each, checked with the box (regions.ts) to keep tools/list small.
  include: pointList("object include").optional(),
  exclude: pointList("object exclude").optional(),
});

const WandRegion = region({
  shape: z.literal("wand"),
  x: coordinate("wand x"),
  y: coordinate("wand y"),
  tolerance: z
    .number({ error: fieldError("wand tolerance", `a number from 0 to ${WAND_TOLERANCE_MAX}`) })
    .min(0, { error: fieldError("wand tolerance", `a number from 0 to ${WAND_TOLERANCE_MAX}`) })
    .max(WAND_TOLERANCE_MAX, { error: fieldError("wand tolerance", `a number from 0 to ${WAND_TOLERANCE_MAX}`) })
    .optional(),
  contiguous: z.boolean({ error: fieldError("wand contiguous", "true or false") }).optional(),
});

export const MaskRegionSchema = z.discriminatedUnion(
  "shape",
  [RectRegion, EllipseRegion, PolygonRegion, ObjectRegion, WandRegion],
  {
    error: fieldError(
      "each mask_regions entry",
      'an object with shape "rect", "ellipse", "polygon", "object" or "wand"',
    ),
  },
);

/**
 * Tool-only fields that say where to inpaint without painting a PNG. They are not upstream fields: the
 * pipeline turns them into the mask it uploads (src/images/mask-spec.ts).
 */
export const MaskOptionsShape = {
  alpha_convention: z
    .enum(ALPHA_CONVENTIONS, {
      error: fieldError("alpha_convention", '"transparent_is_inpaint", "opaque_is_inpaint" or "openai"'),
    })
    .default("transparent_is_inpaint")
    .describe(
      'How transparency marks the area (in the image when no mask is given, or in a mask file). "transparent_is_inpaint" (default): transparent pixels are repainted, a mask file is white = inpaint. "opaque_is_inpaint": opaque pixels are repainted. "openai": `mask` is an OpenAI image-edit mask (transparent = edit).',
    ),
  mask_regions: z
    .array(MaskRegionSchema, { error: fieldError("mask_regions", "a list of shapes") })
    .min(1, { error: fieldError("mask_regions", "a list of at least one shape") })
    .max(MAX_REGIONS, { error: fieldError("mask_regions", `a list of at most ${MAX_REGIONS} shapes`) })
    .optional()
    .describe(
      `Area to repaint; entries apply in order (op "add" default, "subtract" removes). Shapes: rect {x,y,width,height} (x,y = top left), ellipse {cx,cy,rx,ry}, polygon {points:[[x,y],...]} in order (≤${MAX_POLYGON_POINTS}). From the pixels (≤${MAX_SELECTIONS}): object {x,y,width,height,include?,exclude?} = the thing in that box, cut at its edges (person, car); wand {x,y,tolerance?,contiguous?} = the seed's colour (tolerance 0..255, default 32 = CIELAB ΔE 12.5; contiguous default true), for flat areas (sky, wall). px, or 0..1 with units "fraction". Preview first. E.g. [{"shape":"object","x":0.3,"y":0.2,"width":0.3,"height":0.6}]; [{"shape":"wand","x":0.5,"y":0.05}]; box minus person: [{"shape":"rect","x":0,"y":0.5,"width":1,"height":0.5},{"shape":"object","x":0.4,"y":0.3,"width":0.2,"height":0.7,"op":"subtract"}].`,
    ),
  units: z
    .enum(["px", "fraction"], { error: fieldError("units", '"px" or "fraction"') })
    .default("px")
    .describe(
      'Units of mask_regions: "px" (0,0 = top left) or "fraction" (0..1 of width and height; easiest when the size is unknown).',
    ),
  mask_svg: z
    .string({ error: fieldError("mask_svg", "SVG markup as a string") })
    .min(1, { error: fieldError("mask_svg", "SVG markup as a non-empty string") })
    .max(MAX_SVG_CHARS, { error: fieldError("mask_svg", `SVG markup of at most ${MAX_SVG_CHARS} characters`) })
    .optional()
    .describe(
      'SVG drawn over the image: white = inpaint, black or transparent = keep. Coordinates are image pixels, or fractions with viewBox="0 0 1 1", e.g. <svg viewBox="0 0 1 1"><circle cx="0.5" cy="0.4" r="0.1" fill="white"/></svg>. No scripts, images or links.',
    ),
  invert_mask: z
    .boolean({ error: fieldError("invert_mask", "true or false") })
    .default(false)
    .describe("Repaint everything except the marked area (e.g. replace the background around a subject)."),
  grow_mask: z
    .number({ error: fieldError("grow_mask", `an integer from 0 to ${MAX_GROW_PX}`) })
    .int()
    .min(0)
    .max(MAX_GROW_PX)
    .default(0)
    .describe("Expand the area by this many pixels; padding hides seams (8-32 is typical when removing an object)."),
  feather_mask: z
    .number({ error: fieldError("feather_mask", `an integer from 0 to ${MAX_FEATHER_PX}`) })
    .int()
    .min(0)
    .max(MAX_FEATHER_PX)
    .default(0)
    .describe("Soften the mask's edge over about this many pixels (after grow_mask), e.g. 8."),
  fit_mask: z
    .boolean({ error: fieldError("fit_mask", "true or false") })
    .default(false)
    .describe("Stretch a mask file of another size to the image instead of failing."),
};

/**
 * The `flux_fill` tool input: the upstream model with `image` and `mask` widened to references, plus the
 * tool-only mask options. Every upstream field, bound, default and description comes from
 * `FluxProFillInputs` itself.
 */
const toolShape = {
  ...FluxProFillInputs.shape,
  image: reference("image").describe(
    `The photo to edit: ${REFERENCE_FORMS}. Prefer a file path. Its transparent pixels mark the area to inpaint when nothing else does.`,
  ),
  mask: reference("mask")
    .optional()
    .describe(
      "Mask image of the same size (same reference forms as image): white = inpaint, black = keep, grey = soft edge. Omit when mask_regions, mask_svg or transparency marks the area.",
    ),
  ...MaskOptionsShape,
};

export const FluxFillToolInputSchema = z
  .object(toolShape, { error: unknownFieldsError(() => Object.keys(toolShape)) })
  .strict();

export type FluxFillToolInput = z.infer<typeof FluxFillToolInputSchema>;

/** The metadata every successful `flux_fill` returns in `structuredContent` (never image data). */
export const FluxFillOutput = z.object({
  id: z.string().describe("Result id; read it again as the resource flux-fill://results/{id}."),
  provider: z.enum(["bfl", "local"]).describe("Who made the image: bfl = FLUX.1 Fill [pro], local = embedded engine."),
  path: z.string().describe("Absolute path of the saved full-size image."),
  uri: z.string().describe("Resource URI of the saved image."),
  mime_type: z.enum(["image/jpeg", "image/png"]),
  width: z.number().int(),
  height: z.number().int(),
  seed: z.number().int().nullable().describe("Seed used, when known."),
  upstream_id: z.string().nullable().describe("Upstream task id (bfl only)."),
  cost: z.number().nullable().describe("Credits charged by the upstream, when reported."),
  elapsed_ms: z.number().int().describe("Wall time of the whole call."),
  reuse: z
    .enum(["none", "shared_task", "earlier_result"])
    .optional()
    .describe(
      "none: this call ran its own task; shared_task: it joined an identical call's running task (charged once); earlier_result: it got the undelivered result of an identical earlier call (nothing charged).",
    ),
});

export type FluxFillOutput = z.infer<typeof FluxFillOutput>;

/** The sides used, in `flux_expand`'s structuredContent and in a saved expansion's sidecar. */
export const ExpandSidesOutput = z.object({
  top: z.number().int(),
  bottom: z.number().int(),
  left: z.number().int(),
  right: z.number().int(),
});

/**
 * The `flux_expand` tool input: the upstream Expand model with `image` widened to a reference (as in
 * `flux_fill`), plus `aspect_ratio` and `anchor`, which the pipeline turns into sides before anything is
 * sent. Every upstream field, bound, default and description comes from `FluxProExpandInputs` itself.
 */
const expandToolShape = {
  ...FluxProExpandInputs.shape,
  image: reference("image").describe(
    `The photo to expand: ${REFERENCE_FORMS}. Prefer a file path. Its pixels are kept; new ones are added around it.`,
  ),
  aspect_ratio: z
    .string({ error: fieldError("aspect_ratio", 'a ratio such as "16:9", "1:1" or "4:5"') })
    .min(1, { error: fieldError("aspect_ratio", 'a ratio such as "16:9", "1:1" or "4:5"') })
    .optional()
    .describe(
      'Instead of top/bottom/left/right: the shape to reach, e.g. "16:9", "1:1", "4:5" (width:height). Only the short dimension grows.',
    ),
  anchor: z
    .enum(ANCHORS, { error: fieldError("anchor", ANCHORS.map((a) => `"${a}"`).join(", ")) })
    .optional()
    .describe(
      'With aspect_ratio: where the photo stays, e.g. "bottom" adds everything above it (default "center": split evenly).',
    ),
};

export const FluxExpandToolInputSchema = z
  .object(expandToolShape, { error: unknownFieldsError(() => Object.keys(expandToolShape)) })
  .strict();

export type FluxExpandToolInput = z.infer<typeof FluxExpandToolInputSchema>;

/** `flux_fill`'s output plus the sides that were added. */
export const FluxExpandOutput = FluxFillOutput.extend({
  provider: z
    .enum(["bfl", "local"])
    .describe("Who made the image: bfl = FLUX.1 Expand [pro], local = embedded engine."),
  sides: ExpandSidesOutput.describe("Pixels added on each side of the photo."),
});

export type FluxExpandOutput = z.infer<typeof FluxExpandOutput>;

/** What `get_result` returns for a saved fill or expansion: `flux_fill`'s output, with `sides` for an expansion. */
export const SavedResultOutput = FluxFillOutput.extend({
  sides: ExpandSidesOutput.optional().describe("Pixels added on each side, for an expansion (flux_expand)."),
});
