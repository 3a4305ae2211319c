import { z } from "zod";
import { fieldError, unknownFieldsError } from "./issues.js";

/**
 * The upstream request body of `POST /v1/flux-pro-1.0-fill`, field for field as Black Forest Labs
 * defines it (ranges and defaults from the provider's OpenAPI document). The tool's input schema is
 * derived from this object (src/schema/tool.ts); nothing else restates these bounds.
 */
const upstreamShape = {
  image: z
    .string({ error: fieldError("image", "a base64-encoded image") })
    .min(1)
    .describe("The image to edit. Transparent pixels mark the area to inpaint when no mask is given."),
  mask: z
    .string({ error: fieldError("mask", "a base64-encoded image") })
    .min(1)
    .optional()
    .describe("Mask of the same size as the image: white = inpaint, black = keep."),
  prompt: z
    .string({ error: fieldError("prompt", "a string") })
    .default("")
    .describe("What the masked area should show, described as it should look. Empty continues the surroundings."),
  steps: z
    .number({ error: fieldError("steps", "an integer from 15 to 50") })
    .int()
    .min(15)
    .max(50)
    .default(50)
    .describe("Diffusion steps: more is slower and finer. Leave at the default unless asked."),
  prompt_upsampling: z
    .boolean({ error: fieldError("prompt_upsampling", "true or false") })
    .default(false)
    .describe("Let the upstream rewrite the prompt in more detail (more creative, less literal)."),
  seed: z
    .number({ error: fieldError("seed", "an integer") })
    .int()
    .optional()
    .describe("Integer seed for reproducible results; omit for a random one."),
  guidance: z
    .number({ error: fieldError("guidance", "a number from 1.5 to 100") })
    .min(1.5)
    .max(100)
    .default(60)
    .describe("How strictly the fill follows the prompt: higher is more literal, lower more natural."),
  output_format: z
    .enum(["jpeg", "png"], {
      error: fieldError("output_format", '"jpeg" or "png"'),
    })
    .default("jpeg")
    .describe("File format of the result: jpeg (smaller) or png (lossless)."),
  safety_tolerance: z
    .number({
      error: fieldError("safety_tolerance", "an integer from 0 (strictest) to 6 (most permissive)"),
    })
    .int()
    .min(0)
    .max(6)
    .default(2)
    .describe("Moderation strictness from 0 (strictest) to 6 (most permissive)."),
  webhook_url: z
    .url({
      protocol: /^https?$/,
      error: fieldError("webhook_url", "an http(s) URL of 1 to 2083 characters"),
    })
    .min(1)
    .max(2083)
    .optional()
    .describe("URL the upstream notifies when the task finishes. Only set when the user asks for a webhook."),
  webhook_secret: z
    .string({ error: fieldError("webhook_secret", "a string") })
    .optional()
    .describe("Secret used to sign webhook notifications. Only with webhook_url."),
};

export const FluxProFillInputs = z
  .object(upstreamShape, {
    error: unknownFieldsError(() => Object.keys(upstreamShape)),
  })
  .strict();

export type FluxProFillInputs = z.infer<typeof FluxProFillInputs>;

/** The upstream parameters other than the two images, after defaults are applied. */
export type FillParams = Omit<FluxProFillInputs, "image" | "mask">;
