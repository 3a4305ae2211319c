import { z } from "zod";
import { type ExpandSides, MAX_EXPAND_SIDE } from "../images/expand.js";
import { fieldError, unknownFieldsError } from "./issues.js";

/**
 * The upstream request bodies of `POST /v1/flux-pro-1.0-fill` and `POST /v1/flux-pro-1.0-expand`, field
 * for field as Black Forest Labs defines them (ranges and defaults from the provider's OpenAPI document).
 * The tools' input schemas are derived from these objects (src/schema/tool.ts, src/schema/expand.ts);
 * nothing else restates these bounds.
 */

const base64Image = () => z.string({ error: fieldError("image", "a base64-encoded image") }).min(1);

/**
 * The fields Fill and Expand share, with the same bounds and defaults in both. Descriptions are what
 * flux_fill lists (flux_expand points there), and only where the name, type and enum leave something out.
 */
const sharedShape = {
  prompt: z
    .string({ error: fieldError("prompt", "a string") })
    .default("")
    .describe("What the area should show. Empty continues the surroundings."),
  steps: z
    .number({ error: fieldError("steps", "an integer from 15 to 50") })
    .int()
    .min(15)
    .max(50)
    .default(50)
    .describe("Leave the default unless asked."),
  prompt_upsampling: z
    .boolean({ error: fieldError("prompt_upsampling", "true or false") })
    .default(false)
    .describe("The upstream rewrites the prompt in more detail."),
  seed: z
    .number({ error: fieldError("seed", "an integer") })
    .int()
    .optional()
    .describe("Omit for a random one."),
  guidance: z
    .number({ error: fieldError("guidance", "a number from 1.5 to 100") })
    .min(1.5)
    .max(100)
    .default(60)
    .describe("Higher is more literal, lower more natural."),
  output_format: z
    .enum(["jpeg", "png"], {
      error: fieldError("output_format", '"jpeg" or "png"'),
    })
    .default("jpeg"),
  safety_tolerance: z
    .number({
      error: fieldError("safety_tolerance", "an integer from 0 (strictest) to 6 (most permissive)"),
    })
    .int()
    .min(0)
    .max(6)
    .default(2)
    .describe("Moderation: 0 strictest to 6 most permissive."),
  webhook_url: z
    .url({
      protocol: /^https?$/,
      error: fieldError("webhook_url", "an http(s) URL of 1 to 2083 characters"),
    })
    .min(1)
    .max(2083)
    .optional()
    .describe("Notified when done; only if the user asks."),
  webhook_secret: z.string({ error: fieldError("webhook_secret", "a string") }).optional(),
};

const fillShape = {
  image: base64Image().describe(
    "The image to edit. Transparent pixels mark the area to inpaint when no mask is given.",
  ),
  mask: z
    .string({ error: fieldError("mask", "a base64-encoded image") })
    .min(1)
    .optional()
    .describe("Mask of the same size as the image: white = inpaint, black = keep."),
  ...sharedShape,
};

export const FluxProFillInputs = z
  .object(fillShape, {
    error: unknownFieldsError(() => Object.keys(fillShape)),
  })
  .strict();

export type FluxProFillInputs = z.infer<typeof FluxProFillInputs>;

/** The upstream parameters other than the two images, after defaults are applied. */
export type FillParams = Omit<FluxProFillInputs, "image" | "mask">;

const side = (name: keyof ExpandSides) =>
  z
    .number({ error: fieldError(name, `an integer from 0 to ${MAX_EXPAND_SIDE} (pixels)`) })
    .int()
    .min(0)
    .max(MAX_EXPAND_SIDE)
    .default(0)
    .describe(`Pixels to add on the ${name}.`);

const expandShape = {
  image: base64Image().describe("The image to expand."),
  top: side("top"),
  bottom: side("bottom"),
  left: side("left"),
  right: side("right"),
  ...sharedShape,
  prompt: sharedShape.prompt.describe(
    "What the new areas should show, described as they should look. Empty continues the photo.",
  ),
};

export const FluxProExpandInputs = z
  .object(expandShape, {
    error: unknownFieldsError(() => Object.keys(expandShape)),
  })
  .strict();

export type FluxProExpandInputs = z.infer<typeof FluxProExpandInputs>;

/** The upstream parameters other than the image, after defaults are applied (the sides included). */
export type ExpandParams = Omit<FluxProExpandInputs, "image">;
