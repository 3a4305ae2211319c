import { FluxFillError } from "../errors.js";
import type { RasterImage } from "./raster.js";
import { type MaskStats, maskFromAlpha, maskFromLuminance } from "./mask.js";
import { featherMask, growMask, invertMask } from "./morphology.js";
import { checkRegionGeometry } from "./region-checks.js";
import { drawRegionsWithSegmenter } from "./region-selections.js";
import { type DrawnRegions, type MaskRegion, type RegionReport, type RegionUnits, regionsNeedPixels } from "./regions.js";
import type { SegmentContext } from "./selection/segmenter.js";
import { renderSvgMask } from "./svg-mask.js";

/**
 * How a call says where to inpaint: exactly one route (a mask file, the image's alpha, shapes, or SVG),
 * then the same modifiers for all of them. Pure except for `renderSvgMask` (sharp).
 */

export const ALPHA_CONVENTIONS = ["transparent_is_inpaint", "opaque_is_inpaint", "openai"] as const;
export type AlphaConvention = (typeof ALPHA_CONVENTIONS)[number];

/** The mask options of a call, as the tool schema gives them (defaults applied or left out). */
export interface MaskOptions {
  alpha_convention?: AlphaConvention | undefined;
  mask_regions?: MaskRegion[] | undefined;
  units?: RegionUnits | undefined;
  mask_svg?: string | undefined;
  invert_mask?: boolean | undefined;
  grow_mask?: number | undefined;
  feather_mask?: number | undefined;
  fit_mask?: boolean | undefined;
}

/** The option names, for separating them from the upstream parameters. */
export const MASK_OPTION_NAMES = [
  "alpha_convention",
  "mask_regions",
  "units",
  "mask_svg",
  "invert_mask",
  "grow_mask",
  "feather_mask",
  "fit_mask",
] as const satisfies ReadonlyArray<keyof MaskOptions>;

export type MaskRoute = "mask" | "alpha" | "mask_regions" | "mask_svg";

const ROUTES_HELP =
  "Mark the area in exactly one way: `mask` (an image file, white = inpaint), the image's own transparency (no mask field), `mask_regions` (shapes), or `mask_svg` (SVG markup).";

function conflict(message: string, suggestion = ROUTES_HELP): FluxFillError {
  return new FluxFillError("bad_input", message, { suggestion });
}

/**
 * The one route a call uses; throws naming the conflicting fields when it gives more than one, or when a
 * modifier does not apply to the chosen route.
 */
export function chooseMaskRoute(hasMaskFile: boolean, options: MaskOptions): MaskRoute {
  const given: MaskRoute[] = [];
  if (hasMaskFile) given.push("mask");
  if (options.mask_regions !== undefined) given.push("mask_regions");
  if (options.mask_svg !== undefined) given.push("mask_svg");
  if (given.length > 1) {
    throw conflict(`Give only one way to mark the area: this call has ${given.join(" and ")}.`);
  }
  const route = given[0] ?? "alpha";
  const convention = options.alpha_convention;
  if (
    (route === "mask_regions" || route === "mask_svg") &&
    convention !== undefined &&
    convention !== "transparent_is_inpaint"
  ) {
    throw conflict(
      `alpha_convention "${convention}" applies to a mask file or the image's transparency, but this call marks the area with ${route}.`,
      `Remove alpha_convention, or remove ${route} and let the image's or mask's transparency mark the area.`,
    );
  }
  if (options.units === "fraction" && route !== "mask_regions") {
    throw conflict(
      'units "fraction" applies to mask_regions, which this call does not give.',
      "Remove units, or give mask_regions.",
    );
  }
  if (options.fit_mask === true && route !== "mask") {
    throw conflict(
      `fit_mask resizes a mask file to the image, but this call marks the area with ${route === "alpha" ? "the image's transparency" : route}.`,
      "Remove fit_mask (shapes and SVG are always drawn at the image's size).",
    );
  }
  return route;
}

/** Alpha channel of an RGBA raster, as a mask: opaque = 255. */
function alphaOf(rgba: RasterImage): RasterImage {
  const pixels = rgba.width * rgba.height;
  const data = Buffer.alloc(pixels);
  for (let i = 0; i < pixels; i++) data[i] = rgba.data[i * 4 + 3]!;
  return { data, width: rgba.width, height: rgba.height, channels: 1 };
}

/**
 * The image's transparency as a mask. `transparent_is_inpaint` (the upstream's rule) and `openai` (OpenAI's
 * rule for an image without a separate mask) both read transparent pixels as the area; `opaque_is_inpaint`
 * reads the opaque ones.
 */
export function maskFromImageAlpha(
  rgba: RasterImage,
  convention: AlphaConvention = "transparent_is_inpaint",
): RasterImage {
  return convention === "opaque_is_inpaint" ? alphaOf(rgba) : maskFromAlpha(rgba);
}

/**
 * A mask file's pixels (RGB or RGBA as decoded) as a mask:
 * - `transparent_is_inpaint` (default): luminance, white = inpaint; the file's own transparent pixels = keep.
 * - `openai`: a mask made for OpenAI's edit API: transparent = inpaint, colour ignored.
 * - `opaque_is_inpaint`: the file's opaque pixels = inpaint, colour ignored (a painted layer).
 * The last two need a file with transparency.
 */
export function maskFromMaskFile(
  raster: RasterImage,
  convention: AlphaConvention = "transparent_is_inpaint",
): RasterImage {
  if (convention === "transparent_is_inpaint") return maskFromLuminance(raster);
  if (raster.channels !== 4) {
    throw new FluxFillError(
      "bad_input",
      `alpha_convention "${convention}" reads the mask's transparency, but the mask file has no transparent pixels.`,
      {
        suggestion:
          convention === "openai"
            ? "An OpenAI-style mask is a PNG whose transparent pixels mark the edit. For a black-and-white mask (white = inpaint), leave alpha_convention out."
            : "Give a PNG whose opaque pixels mark the area, or leave alpha_convention out for a black-and-white mask (white = inpaint).",
      },
    );
  }
  return convention === "openai" ? maskFromAlpha(raster) : alphaOf(raster);
}

/**
 * The mask drawn by the model at the image's size, what decided each mask_regions entry (none for SVG), and
 * notes on entries clipped at the image's edge. `pixels` gives the photo's opaque RGB pixels; it is called
 * only when an object or wand entry needs them.
 * Object entries go through `segmentation`'s segmenter.
 */
export async function drawnMask(
  route: "mask_regions" | "mask_svg",
  options: MaskOptions,
  width: number,
  height: number,
  pixels: () => Promise<RasterImage>,
  segmentation?: SegmentContext,
): Promise<DrawnRegions & { notes: string[] }> {
  if (route === "mask_svg") {
    return { mask: await renderSvgMask(options.mask_svg ?? "", width, height), reports: [], notes: [] };
  }
  const regions = options.mask_regions ?? [];
  const units = options.units ?? "px";
  const notes = checkRegionGeometry(regions, units, width, height);
  const image = regionsNeedPixels(regions) ? await pixels() : undefined;
  return { ...(await drawRegionsWithSegmenter(regions, units, width, height, image, segmentation)), notes };
}

/** "segmenter fal, confidence 0.93, best of 3 candidates": who decided an object entry, for the notes. */
function decidedBy(r: RegionReport): string {
  if (r.segmenter === undefined) return "";
  const confidence = r.confidence === undefined ? "" : `, confidence ${r.confidence.toFixed(2)}`;
  const candidates = (r.candidates ?? 1) > 1 ? `, best of ${r.candidates} candidates` : "";
  return `, segmenter ${r.segmenter}${confidence}${candidates}`;
}

/** Notes for the result text: what each object and wand entry selected, by whom, and where a fallback decided. */
export function selectionNotes(reports: ReadonlyArray<RegionReport>): string[] {
  return reports
    .filter((r) => r.reason !== undefined)
    .map(
      (r) =>
        `${r.decided === "fallback" ? "Note" : "Selection"}: mask_regions[${r.index}] (${r.shape}${r.op === "subtract" ? ", subtracted" : ""}${decidedBy(r)}): ${[r.reason, ...(r.notes ?? [])].join("; ")}`,
    );
}

/** invert, then grow, then feather: grow pads the area to repaint, feather softens the padded edge. */
export function applyMaskModifiers(mask: RasterImage, options: MaskOptions): RasterImage {
  let out = mask;
  if (options.invert_mask === true) out = invertMask(out);
  if ((options.grow_mask ?? 0) > 0) out = growMask(out, options.grow_mask!);
  if ((options.feather_mask ?? 0) > 0) out = featherMask(out, options.feather_mask!);
  return out;
}

/** What was done to the mask, for the result text ("grown 8 px, feathered 4 px"). */
export function describeModifiers(options: MaskOptions): string[] {
  const done: string[] = [];
  if (options.invert_mask === true) done.push("inverted");
  if ((options.grow_mask ?? 0) > 0) done.push(`grown ${options.grow_mask} px`);
  if ((options.feather_mask ?? 0) > 0) done.push(`feathered ${options.feather_mask} px`);
  return done;
}

/** "rect, object, wand subtracted": the entries' kinds in order, for the sidecar and logs. */
function describeRegions(regions: MaskRegion[]): string {
  return regions.map((r) => (r.op === "subtract" ? `${r.shape} subtracted` : r.shape)).join(", ");
}

/** How the mask was given, for the sidecar and logs ("mask_regions (2 shapes), grown 8 px"). */
export function describeMaskSource(route: MaskRoute, options: MaskOptions, maskSource?: string): string {
  const base =
    route === "mask"
      ? (maskSource ?? "mask file")
      : route === "alpha"
        ? "alpha channel of the image"
        : route === "mask_regions"
          ? `mask_regions (${describeRegions(options.mask_regions ?? [])}, ${options.units ?? "px"})`
          : "mask_svg";
  const convention =
    options.alpha_convention && options.alpha_convention !== "transparent_is_inpaint"
      ? [`alpha_convention ${options.alpha_convention}`]
      : [];
  const fit = options.fit_mask === true ? ["fitted to the image"] : [];
  return [base, ...convention, ...fit, ...describeModifiers(options)].join(", ");
}

/** Fewest masked pixels flux_fill sends: fewer marks nothing visible and is almost always a unit mistake. */
export const MIN_MASKED_PIXELS = 64;

/**
 * The refusal of a final mask (after every modifier) that marks fewer than MIN_MASKED_PIXELS pixels, or
 * undefined. flux_fill throws it before paying; preview_mask shows the mask and says so.
 */
export function tinyMaskProblem(stats: MaskStats, width: number, height: number): FluxFillError | undefined {
  const count = Math.round(stats.coverage * width * height);
  if (count === 0 || count >= MIN_MASKED_PIXELS) return undefined;
  return new FluxFillError(
    "bad_input",
    `The mask marks only ${count} pixel${count === 1 ? "" : "s"} of the ${width}×${height} image; flux_fill needs at least ${MIN_MASKED_PIXELS}, so nothing was sent.`,
    {
      suggestion:
        'Mark the whole area to repaint (shape values are pixels unless "units": "fraction"); check it with preview_mask.',
      details: { masked_pixels: count, width, height },
    },
  );
}

/** Share of pixels from which a mask counts as nearly everything (a warning, not an error). */
export const NEARLY_FULL_COVERAGE = 0.9;

const EMPTY_SUGGESTION: Record<MaskRoute, string> = {
  mask: 'Paint the area to replace white on a black background. If your mask is the other way round (black = inpaint), set invert_mask: true; for an OpenAI-style mask (transparent = edit), set alpha_convention: "openai".',
  alpha:
    'Make the area to replace fully transparent, or pass a separate `mask` (white = inpaint, black = keep). If the opaque pixels mark the area, set alpha_convention: "opaque_is_inpaint".',
  mask_regions:
    'Check that the shapes lie inside the image and have a size of at least one pixel; with units "fraction" values are 0..1.',
  mask_svg:
    'Fill the area with white (fill="white"); black and transparent mean keep. Check that the shapes lie inside the viewBox.',
};

const EMPTY_MESSAGE: Record<MaskRoute, string> = {
  mask: "The mask is empty: no pixel is white (or lighter than mid-grey), so there is nothing to inpaint.",
  alpha: "The image's transparency marks nothing to inpaint: no pixel is more than half transparent.",
  mask_regions: "mask_regions covers no pixel of the image, so there is nothing to inpaint.",
  mask_svg:
    "mask_svg draws nothing white on the image (no pixel lighter than mid-grey), so there is nothing to inpaint.",
};

/**
 * Errors for masks that would waste an upstream call: empty (nothing to inpaint) or full (nothing kept);
 * returns a warning for a mask covering nearly everything.
 */
export function checkCoverage(stats: MaskStats, route: MaskRoute, options: MaskOptions): string[] {
  const modified = describeModifiers(options);
  const after = modified.length > 0 ? ` (after being ${modified.join(", ")})` : "";
  if (stats.coverage === 0) {
    throw new FluxFillError("bad_input", `${EMPTY_MESSAGE[route].replace(/, so/, `${after}, so`)}`, {
      suggestion:
        options.invert_mask === true
          ? "invert_mask is set: remove it if the mask already marks the area in white."
          : EMPTY_SUGGESTION[route],
    });
  }
  if (stats.coverage >= 1) {
    throw new FluxFillError(
      "bad_input",
      `The mask covers the whole image${after}, so nothing of the photo would be kept: that is generating a new image, not inpainting.`,
      {
        suggestion:
          options.invert_mask === true
            ? "invert_mask is set: remove it if the mask already marks the area in white."
            : "Mark only the part to replace (white = inpaint); if the mask is the wrong way round, set invert_mask: true.",
      },
    );
  }
  if (stats.coverage >= NEARLY_FULL_COVERAGE) {
    return [
      `Warning: the mask covers ${(stats.coverage * 100).toFixed(1)}% of the image, so little of the photo is kept. If that is not intended, check the mask with preview_mask (or set invert_mask).`,
    ];
  }
  return [];
}
