import { z } from "zod";

/**
 * The upstream request body of `POST /v1/flux-pro-1.0-fill`, field for field as Black Forest Labs
 * defines it (ranges and defaults from the provider's OpenAPI document). The tool's input schema is
 * derived from this object (src/schema/tool.ts); nothing else restates these bounds.
 */
export const FluxProFillInputs = z
  .object({
    image: z
      .string()
      .min(1)
      .describe(
        "The image to edit, base64-encoded. Transparent pixels mark the area to inpaint when no mask is given.",
      ),
    mask: z
      .string()
      .min(1)
      .optional()
      .describe("Mask of the same size as the image, base64-encoded: white = inpaint, black = keep."),
    prompt: z
      .string()
      .default("")
      .describe("What to paint into the masked area, described as it should look. Empty lets the model continue the surroundings."),
    steps: z
      .number()
      .int()
      .min(15)
      .max(50)
      .default(50)
      .describe("Diffusion steps: more is slower and finer. Leave at the default unless asked."),
    prompt_upsampling: z
      .boolean()
      .default(false)
      .describe("Let the upstream rewrite the prompt into a more detailed one (more creative, less literal)."),
    seed: z
      .number()
      .int()
      .optional()
      .describe("Integer seed for reproducible results; omit for a random one."),
    guidance: z
      .number()
      .min(1.5)
      .max(100)
      .default(60)
      .describe("How strictly the fill follows the prompt: higher is more literal, lower more natural."),
    output_format: z
      .enum(["jpeg", "png"])
      .default("jpeg")
      .describe("File format of the result: jpeg (smaller) or png (lossless)."),
    safety_tolerance: z
      .number()
      .int()
      .min(0)
      .max(6)
      .default(2)
      .describe("Moderation strictness from 0 (strictest) to 6 (most permissive)."),
    webhook_url: z
      .url()
      .min(1)
      .max(2083)
      .optional()
      .describe("URL the upstream notifies when the task finishes. Only set when the user asks for a webhook."),
    webhook_secret: z
      .string()
      .optional()
      .describe("Secret used to sign webhook notifications. Only with webhook_url."),
  })
  .strict();

export type FluxProFillInputs = z.infer<typeof FluxProFillInputs>;

/** The upstream parameters other than the two images, after defaults are applied. */
export type FillParams = Omit<FluxProFillInputs, "image" | "mask">;
