import type { McpServer } from "@modelcontextprotocol/server";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { z } from "zod";
import { describeError } from "../errors.js";
import { renderMaskPreview, TINT_STRENGTH } from "../images/mask-preview.js";
import { encodePng } from "../images/prepare.js";
import { withoutCroppedSizeNotes } from "../images/model-size.js";
import type { NewPreviewedMask, PreviewedMask } from "../state/masks.js";
import { describeMaskSource, MASK_OPTION_NAMES, type MaskOptions } from "../images/mask-spec.js";
import { segmentContext } from "../pipeline/deps.js";
import { readMaskedImage } from "../pipeline/read-inputs.js";
import { REGION_OPS } from "../images/regions.js";
import { hostedSegmenterNote } from "../segmentation/index.js";
import { FluxFillToolInputSchema, MaskOptionsShape } from "../schema/tool.js";
import { fieldError, unknownFieldsError } from "../schema/issues.js";
import type { ServerDeps } from "./deps.js";
import { toolError } from "./result.js";
import { listed, listedOutput, outputInt, outputObject, saidInFluxFill } from "../schema/listing.js";

export const PREVIEW_MASK_TOOL = "preview_mask";

/** Longest side of the returned picture: enough to judge an area, small enough for every client. */
export const MASK_PREVIEW_MAX_SIDE = 512;

const DESCRIPTION = `Check where flux_fill would repaint (free, instant; its image and mask fields). Returns the photo with the area outlined, rulers in your units (zoom if small), coverage, bbox, what each object or wand entry selected, and a mask_id (30 min) for flux_fill. return_mask: also save a PNG. Use it before flux_fill when unsure.`;

/** flux_fill's image and mask fields, described once there (the tool's description says so). */
const previewShape = Object.fromEntries(
  Object.entries({
    image: FluxFillToolInputSchema.shape.image,
    mask: FluxFillToolInputSchema.shape.mask,
    ...MaskOptionsShape,
  }).map(([name, field]) => [name, saidInFluxFill(field)]),
) as {
  image: typeof FluxFillToolInputSchema.shape.image;
  mask: typeof FluxFillToolInputSchema.shape.mask;
} & typeof MaskOptionsShape;

const previewInputShape = {
  ...previewShape,
  return_mask: z.boolean({ error: fieldError("return_mask", "true or false") }).default(false),
};

export const PreviewMaskInput = z
  .object(previewInputShape, { error: unknownFieldsError(() => Object.keys(previewInputShape)) })
  .strict();
export type PreviewMaskInput = z.infer<typeof PreviewMaskInput>;

const Box = outputObject({ x: outputInt(), y: outputInt(), width: outputInt(), height: outputInt() });

export const PreviewMaskOutput = z.object({
  width: outputInt(),
  height: outputInt(),
  coverage: z.number().describe("Percent (0..100) repainted."),
  bbox: Box.nullable(),
  bbox_fraction: outputObject({ x: z.number(), y: z.number(), width: z.number(), height: z.number() }).nullable(),
  mask_source: z.string(),
  mask_id: z.string().optional(),
  mask_path: z.string().optional(),
  preview: outputObject({ width: outputInt(), height: outputInt() }),
  notes: z.array(z.string()),
  regions: z.array(
    outputObject({
      shape: z.string(),
      op: z.enum(REGION_OPS),
      decided: z.enum(["shape", "segmented", "fallback"]),
      reason: z.string().nullable(),
      segmenter: z.string().optional(),
      confidence: z.number().optional(),
      candidates: outputInt().optional(),
    }),
  ),
});
export type PreviewMaskOutput = z.infer<typeof PreviewMaskOutput>;

const round = (n: number, digits: number) => Number(n.toFixed(digits));

/**
 * Keeps the mask under a new mask_id (and writes it as a PNG in the user's output directory when asked).
 * A failure to keep it is a note: the picture is still worth having.
 */
async function keepMask(
  deps: ServerDeps,
  mask: Omit<NewPreviewedMask, "user">,
  returnMask: boolean,
): Promise<{ id?: string; path?: string; lines: string[] }> {
  let saved: PreviewedMask;
  try {
    saved = await deps.masks.save({ ...mask, user: deps.principal.user });
  } catch (error) {
    deps.logger.warn(`preview_mask: the mask could not be kept for a mask_id: ${describeError(error).text}`);
    return {
      lines: ["Note: no mask_id this time (the mask could not be kept); give flux_fill the same mask fields."],
    };
  }
  const until = new Date(saved.expiresAt).toISOString().slice(11, 16);
  const lines = [
    `mask_id: ${saved.id} (valid until ${until} UTC): pass it to flux_fill (or open_mask_editor) instead of the mask fields to send exactly this mask.`,
  ];
  if (!returnMask) return { id: saved.id, lines };
  const file = path.join(deps.config.outputDir, `${saved.id}.png`);
  await mkdir(deps.config.outputDir, { recursive: true });
  await writeFile(file, mask.png);
  lines.push(`The mask is saved as a black-and-white PNG (white = inpaint): ${file}`);
  return { id: saved.id, path: file, lines };
}

export function registerPreviewMaskTool(server: McpServer, deps: ServerDeps): void {
  server.registerTool(
    PREVIEW_MASK_TOOL,
    {
      title: "Preview the inpainting mask",
      description: deps.segmenter.hosted
        ? `${DESCRIPTION.replace("(free, instant;", "(free for shapes;")} ${hostedSegmenterNote(deps.segmenter)}`
        : DESCRIPTION,
      inputSchema: listed(PreviewMaskInput),
      outputSchema: listedOutput(PreviewMaskOutput),
      annotations: {
        readOnlyHint: true,
        destructiveHint: false,
        idempotentHint: true,
        openWorldHint: false,
      },
    },
    async (args: PreviewMaskInput, extra): Promise<CallToolResult> => {
      try {
        const maskOptions: MaskOptions = {};
        for (const name of MASK_OPTION_NAMES) (maskOptions as Record<string, unknown>)[name] = args[name];
        const { prepared, imageSource, imageSha256, maskSource } = await readMaskedImage(
          args,
          maskOptions,
          deps.config,
          extra.mcpReq.signal,
          segmentContext(deps, extra.mcpReq.signal),
        );
        const { width, height } = prepared.info;
        const { bbox, coverage } = prepared.stats;
        // flux_fill's default crop sends the photo on the 32 px grid and at most 4 MP: notes saying otherwise would mislead.
        const notes = withoutCroppedSizeNotes(prepared.notes, width, height);
        const units = args.mask_regions !== undefined ? args.units : "px";
        const { main: picture, zoom } = await renderMaskPreview(
          prepared.image,
          prepared.mask,
          Math.min(MASK_PREVIEW_MAX_SIDE, deps.config.previewMaxSize),
          { units, bbox },
        );
        const describedSource = describeMaskSource(prepared.info.maskSource, maskOptions, maskSource);
        const kept = await keepMask(
          deps,
          {
            png: await encodePng(prepared.mask),
            image: { sha256: imageSha256, width, height, source: imageSource },
            source: describedSource,
            coverage,
          },
          args.return_mask,
        );
        const structured: PreviewMaskOutput = {
          width,
          height,
          coverage: round(coverage * 100, 2),
          bbox,
          bbox_fraction: bbox && {
            x: round(bbox.x / width, 4),
            y: round(bbox.y / height, 4),
            width: round(bbox.width / width, 4),
            height: round(bbox.height / height, 4),
          },
          mask_source: describedSource,
          ...(kept.id === undefined ? {} : { mask_id: kept.id }),
          ...(kept.path === undefined ? {} : { mask_path: kept.path }),
          preview: { width: picture.width, height: picture.height },
          notes,
          regions: prepared.regions.map((r) => ({
            shape: r.shape,
            op: r.op,
            decided: r.decided,
            // The entry's notes (doubtful, paid, hint points on the wrong side) are part of its reason.
            reason: r.reason === undefined ? null : [r.reason, ...(r.notes ?? [])].join("; "),
            ...(r.segmenter === undefined
              ? {}
              : { segmenter: r.segmenter, confidence: round(r.confidence ?? 0, 3), candidates: r.candidates ?? 1 }),
          })),
        };
        // With a hosted segmenter the object entries did go out (their notes say so and what it cost).
        const segmentedHosted = deps.segmenter.hosted && prepared.regions.some((r) => r.segmenter === deps.segmenter.name);
        const nothingSent = segmentedHosted ? "Nothing was sent to the fill's provider." : "Nothing was sent upstream.";
        const where = bbox
          ? `bounding box x=${bbox.x}, y=${bbox.y}, ${bbox.width}×${bbox.height} px (fractions x=${structured.bbox_fraction!.x}, y=${structured.bbox_fraction!.y}, w=${structured.bbox_fraction!.width}, h=${structured.bbox_fraction!.height})`
          : "no bounding box";
        const text = [
          `The mask covers ${structured.coverage}% of the ${width}×${height} image; ${where}.`,
          `Mask from ${structured.mask_source}.`,
          `In the picture (${picture.width}×${picture.height}) the area flux_fill would repaint is tinted magenta (${Math.round(TINT_STRENGTH * 100)}%) and outlined (yellow inside, black outside); the rulers on the top and left edges give image coordinates in ${units === "px" ? "pixels" : "fractions (0..1)"}.${zoom ? ` The second picture zooms on the small area: x ${zoom.view.x}..${zoom.view.x + zoom.view.width}, y ${zoom.view.y}..${zoom.view.y + zoom.view.height} px, same outline and rulers.` : ""} ${nothingSent}`,
          ...kept.lines,
          ...notes,
        ].join("\n");
        return {
          content: [
            { type: "text", text },
            { type: "image", data: picture.base64, mimeType: picture.mimeType },
            ...(zoom ? [{ type: "image" as const, data: zoom.base64, mimeType: zoom.mimeType }] : []),
          ],
          structuredContent: structured,
        };
      } catch (error) {
        return toolError(error, deps.logger);
      }
    },
  );
}
