import { z } from "zod";
import { fieldError, unknownFieldsError } from "./issues.js";
import { FluxProFillInputs } from "./upstream.js";

const REFERENCE_FORMS =
  "an absolute path, a path relative to the server's working directory, a file:// URL, an http(s):// URL, a data: URI or raw base64";

/** `image` and `mask` in the tool accept a reference to the bytes instead of the bytes themselves. */
function reference(field: "image" | "mask") {
  return z.string({ error: fieldError(field, `a non-empty string: ${REFERENCE_FORMS}`) }).min(1);
}

/**
 * The `flux_fill` tool input: the upstream model with `image` and `mask` widened to references. Every
 * other field, bound, default and description comes from `FluxProFillInputs` itself.
 */
const toolShape = {
  ...FluxProFillInputs.shape,
  image: reference("image").describe(
    `The photo to edit: ${REFERENCE_FORMS}. Prefer a file path. Its transparent pixels mark the area to inpaint when no mask is given.`,
  ),
  mask: reference("mask")
    .optional()
    .describe(
      "Mask of the same size as the image (same reference forms): white = inpaint, black = keep, grey = soft edge. Omit when the image's transparency marks the area.",
    ),
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
});

export type FluxFillOutput = z.infer<typeof FluxFillOutput>;
