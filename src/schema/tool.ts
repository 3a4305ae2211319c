import { z } from "zod";
import { ANCHORS } from "../images/expand.js";
import { ALPHA_CONVENTIONS } from "../images/mask-spec.js";
import { MAX_POLYGON_POINTS, MAX_REGIONS, MAX_SELECTIONS, REGION_OPS } from "../images/regions.js";
import { WAND_DEFAULT_TOLERANCE, WAND_TOLERANCE_MAX } from "../images/selection/wand.js";
import { MAX_SVG_CHARS } from "../images/svg-mask.js";
import { CROP_MODES } from "../images/stitch-plan.js";
import { fieldError, unknownFieldsError } from "./issues.js";
import { outputInt, outputObject, saidInFluxFill } from "./listing.js";
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
  // The box is optional when `text` names the object; a partial box, or neither, is refused in regions.ts.
  x: coordinate("object x").optional(),
  y: coordinate("object y").optional(),
  width: coordinate("object width").optional(),
  height: coordinate("object height").optional(),
  // At most MAX_HINT_POINTS each, checked with the box (regions.ts) to keep tools/list small.
  include: pointList("object include").optional(),
  exclude: pointList("object exclude").optional(),
  // Length (≤ MAX_OBJECT_TEXT) checked in regions.ts, to keep tools/list small.
  text: z.string({ error: fieldError("object text", 'a short description such as "the spoon"') }).optional(),
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
    .describe("What transparency marks; openai: mask is an OpenAI edit mask."),
  mask_regions: z
    .array(MaskRegionSchema, { error: fieldError("mask_regions", "a list of shapes") })
    .min(1, { error: fieldError("mask_regions", "a list of at least one shape") })
    .max(MAX_REGIONS, { error: fieldError("mask_regions", `a list of at most ${MAX_REGIONS} shapes`) })
    .optional()
    .describe(
      `In order (op: add, or subtract): shapes rect {x,y,width,height}, ellipse {cx,cy,rx,ry}, polygon {points:[[x,y],…]} (≤${MAX_POLYGON_POINTS}); from the pixels (≤${MAX_SELECTIONS}): object {x,y,width,height,text?,include?,exclude?} = the thing in that box, cut at its edges (person, car), or named by text ("the spoon"; needs a text segmenter); include/exclude = hint points [[x,y],…] on/off it; wand {x,y,tolerance? 0-${WAND_TOLERANCE_MAX} (${WAND_DEFAULT_TOLERANCE}),contiguous? (true)} = the seed's colour, for flat areas (sky, wall). Preview first. E.g. sky minus tree, units "fraction": [{"shape":"wand","x":0.5,"y":0.05},{"shape":"object","x":0.6,"y":0,"width":0.2,"height":0.5,"op":"subtract"}].`,
    ),
  units: z
    .enum(["px", "fraction"], { error: fieldError("units", '"px" or "fraction"') })
    .default("px")
    .describe("Of mask_regions; fraction (0..1) is easiest when the size is unknown."),
  mask_svg: z
    .string({ error: fieldError("mask_svg", "SVG markup as a string") })
    .min(1, { error: fieldError("mask_svg", "SVG markup as a non-empty string") })
    .max(MAX_SVG_CHARS, { error: fieldError("mask_svg", `SVG markup of at most ${MAX_SVG_CHARS} characters`) })
    .optional()
    .describe('White = inpaint; pixels, or fractions with viewBox="0 0 1 1". No scripts, images or links.'),
  invert_mask: z
    .boolean({ error: fieldError("invert_mask", "true or false") })
    .default(false)
    .describe("Repaint all but the marked area (e.g. a new background)."),
  grow_mask: z
    .number({ error: fieldError("grow_mask", `an integer from 0 to ${MAX_GROW_PX}`) })
    .int()
    .min(0)
    .max(MAX_GROW_PX)
    .default(0)
    .describe("Grow the area by px; 8-32 hides seams of a removal."),
  feather_mask: z
    .number({ error: fieldError("feather_mask", `an integer from 0 to ${MAX_FEATHER_PX}`) })
    .int()
    .min(0)
    .max(MAX_FEATHER_PX)
    .default(0)
    .describe("Soften the edge over about this many px, e.g. 8."),
  fit_mask: z
    .boolean({ error: fieldError("fit_mask", "true or false") })
    .default(false)
    .describe("Stretch a mask file of another size to the image."),
};

/** A mask preview_mask kept (state/masks.ts checks the form; anything else is simply not found). */
const maskId = z.string({ error: fieldError("mask_id", "the mask_id string preview_mask returned") });

/**
 * How the result is made (tool-only, never sent upstream; docs/tools.md "What is sent"): the area sent,
 * and whether only the mask is put back onto the original. Listed without descriptions (the defaults are
 * what an agent wants; the docs say the rest). flux_expand always keeps the photo's pixels.
 */
export const StitchShape = {
  crop: z.enum(CROP_MODES, { error: fieldError("crop", '"auto" or "off"') }).default("auto"),
  keep_unmasked: z.boolean({ error: fieldError("keep_unmasked", "true or false") }).default(true),
  variations: variationsField(),
};

/** Candidates to make, each its own paid task with its own seed (flux_fill and flux_expand). */
function variationsField() {
  const error = fieldError("variations", "an integer from 1 to 4");
  return z.number({ error }).int({ error }).min(1, { error }).max(4, { error }).default(1);
}

/**
 * The `flux_fill` tool input: the upstream model with `image` and `mask` widened to references, plus the
 * tool-only mask options. Every upstream field, bound, default and description comes from
 * `FluxProFillInputs` itself.
 */
const toolShape = {
  ...FluxProFillInputs.shape,
  image: reference("image").describe("File path (best), file:// or http(s):// URL, data: URI or base64."),
  mask: reference("mask").optional().describe("Same size and forms as image: white = inpaint, black = keep."),
  ...MaskOptionsShape,
  mask_id: maskId.optional().describe("From preview_mask: sends exactly that mask (no mask fields)."),
  ...StitchShape,
};

export const FluxFillToolInputSchema = z
  .object(toolShape, { error: unknownFieldsError(() => Object.keys(toolShape)) })
  .strict();

export type FluxFillToolInput = z.infer<typeof FluxFillToolInputSchema>;

/**
 * The metadata every successful `flux_fill` returns in `structuredContent` (never image data). The names say
 * what each field is; the reply's text explains it, so the listing carries no descriptions.
 */
export const FluxFillOutput = z.object({
  id: z.string(),
  provider: z.enum(["bfl", "fal", "replicate", "local"]),
  path: z.string(),
  uri: z.string(),
  mime_type: z.enum(["image/jpeg", "image/png"]),
  width: outputInt(),
  height: outputInt(),
  seed: outputInt().nullable(),
  upstream_id: z.string().nullable(),
  cost: z.number().nullable(),
  elapsed_ms: outputInt(),
  reuse: z.enum(["none", "shared_task", "earlier_result"]).optional(),
});

export type FluxFillOutput = z.infer<typeof FluxFillOutput>;

/** The sides used, in `flux_expand`'s structuredContent and in a saved expansion's sidecar. */
export const ExpandSidesOutput = outputObject({
  top: outputInt(),
  bottom: outputInt(),
  left: outputInt(),
  right: outputInt(),
});

/**
 * The `flux_expand` tool input: the upstream Expand model with `image` widened to a reference (as in
 * `flux_fill`), plus `aspect_ratio`, `anchor` and `dry_run`, which the server handles before anything is
 * sent. Every upstream field, bound and default comes from `FluxProExpandInputs` itself; the fields it
 * shares with Fill are described once, in flux_fill, and the sides keep their own descriptions.
 */
const expandToolShape = {
  ...(Object.fromEntries(
    Object.entries(FluxProExpandInputs.shape).map(([name, field]) => [
      name,
      name in FluxProFillInputs.shape ? saidInFluxFill(field) : field,
    ]),
  ) as typeof FluxProExpandInputs.shape),
  image: reference("image"),
  aspect_ratio: z
    .string({ error: fieldError("aspect_ratio", 'a ratio such as "16:9", "1:1" or "4:5"') })
    .min(1, { error: fieldError("aspect_ratio", 'a ratio such as "16:9", "1:1" or "4:5"') })
    .optional()
    .describe('W:H, e.g. "16:9". After the sides, the width grows if narrower, else the height.'),
  anchor: z
    .enum(ANCHORS, { error: fieldError("anchor", ANCHORS.map((a) => `"${a}"`).join(", ")) })
    .optional()
    .describe("Where the photo stays as aspect_ratio grows the canvas (center)."),
  dry_run: z
    .boolean({ error: fieldError("dry_run", "true or false") })
    .optional()
    .describe("Free: size, sides, price and a canvas picture; nothing sent."),
  variations: variationsField(),
};

export const FluxExpandToolInputSchema = z
  .object(expandToolShape, { error: unknownFieldsError(() => Object.keys(expandToolShape)) })
  .strict();

export type FluxExpandToolInput = z.infer<typeof FluxExpandToolInputSchema>;

/** `flux_fill`'s output plus the sides that were added: a saved expansion. */
export const FluxExpandOutput = FluxFillOutput.extend({ sides: ExpandSidesOutput });

export type FluxExpandOutput = z.infer<typeof FluxExpandOutput>;

/** What `dry_run` answers: the canvas, the sides and the price in credits (null where the provider cannot expand). */
export const FluxExpandDryRunOutput = FluxExpandOutput.pick({ provider: true, width: true, height: true, cost: true, sides: true }).extend({
  dry_run: z.literal(true),
});

export type FluxExpandDryRunOutput = z.infer<typeof FluxExpandDryRunOutput>;

/** flux_expand's output schema: a saved expansion, or a dry run (`dry_run` true, no saved-result fields). */
export const FluxExpandReplyOutput = FluxExpandOutput.partial({
  id: true,
  path: true,
  uri: true,
  mime_type: true,
  seed: true,
  upstream_id: true,
  elapsed_ms: true,
}).extend({ dry_run: z.boolean().optional() });

/** What `get_result` returns for a saved fill or expansion: `flux_fill`'s output, with `sides` for an expansion. */
export const SavedResultOutput = FluxFillOutput.extend({
  sides: ExpandSidesOutput.optional(),
});
