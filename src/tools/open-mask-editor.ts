import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { RESOURCE_MIME_TYPE, registerAppResource, registerAppTool } from "@modelcontextprotocol/ext-apps/server";
import type { McpServer } from "@modelcontextprotocol/server";
import type { CallToolResult } from "@modelcontextprotocol/server";
import sharp from "sharp";
import { z } from "zod";
import {
  createMask,
  formatCoverage,
  INPAINT,
  KEEP,
  type Mask,
  MASK_THRESHOLD,
  maskCoverage,
  workingSize,
} from "../app/mask-math.js";
import type { Config } from "../config.js";
import { FluxFillError } from "../errors.js";
import { decodeInput, decodeMaskInput } from "../images/decode.js";
import { toRgbInPlace } from "../images/mask.js";
import { maskFromImageAlpha, selectionNotes } from "../images/mask-spec.js";
import { renderPreview } from "../images/preview.js";
import { checkRegionGeometry } from "../images/region-checks.js";
import { regionsNeedPixels } from "../images/regions.js";
import { drawRegionsWithSegmenter } from "../images/region-selections.js";
import type { SegmentContext } from "../images/selection/segmenter.js";
import { segmentContext } from "../pipeline/deps.js";
import { classifyReference } from "../inputs/reference.js";
import { resolveReference } from "../inputs/resolve.js";
import type { RasterImage } from "../images/raster.js";
import { MaskOptionsShape, FluxFillToolInputSchema } from "../schema/tool.js";
import type { ServerDeps } from "./deps.js";
import { FLUX_FILL_TOOL } from "./flux-fill.js";
import { previewedMask } from "./mask-id.js";
import { toolError } from "./result.js";
import { assertPreviewedImage, type PreviewedMask } from "../state/masks.js";
import { listed, listedOutput, outputInt, outputObject, saidInFluxFill } from "../schema/listing.js";

export const OPEN_MASK_EDITOR_TOOL = "open_mask_editor";
export const MASK_EDITOR_URI = "ui://flux-fill/mask-editor";
export const MASK_EDITOR_MIME_TYPE: typeof RESOURCE_MIME_TYPE = RESOURCE_MIME_TYPE;
/** Longest side the editor paints at; larger images get a scaled mask, enlarged again when sent. */
export const EDITOR_MAX_SIDE = 1536;

/** The page, built by `npm run build` (src/app/build.ts); the same relative path from src/tools and dist/tools. */
export const MASK_EDITOR_HTML_PATH = fileURLToPath(new URL("../../dist/app/mask-editor.html", import.meta.url));

const DESCRIPTION = `Open a mask editor (free) where a person marks the area, types a prompt and applies flux_fill (paid, on their click), then compares. Use it when the user wants to show the area, or it is hard to describe. image, mask, mask_regions, units, mask_id as in flux_fill (a starting area); prompt prefills. Without MCP Apps the reply still gives the size and a preview.`;

export const OpenMaskEditorInput = z
  .object({
    // Described once, in flux_fill and in this tool's description.
    image: saidInFluxFill(FluxFillToolInputSchema.shape.image),
    mask: saidInFluxFill(FluxFillToolInputSchema.shape.mask),
    mask_regions: saidInFluxFill(MaskOptionsShape.mask_regions),
    units: saidInFluxFill(MaskOptionsShape.units),
    mask_id: saidInFluxFill(FluxFillToolInputSchema.shape.mask_id),
    prompt: z.string().max(10_000).optional(),
  })
  .strict();

export type OpenMaskEditorInput = z.infer<typeof OpenMaskEditorInput>;

/**
 * `image` is the reference to give flux_fill (null when the image came inline); `editor_mask` is the
 * resolution the editor paints at (scaled to the image when applied); `start_mask_coverage` is a fraction.
 */
export const OpenMaskEditorOutput = z.object({
  image: z.string().nullable(),
  width: outputInt(),
  height: outputInt(),
  format: z.string(),
  preview: outputObject({ width: outputInt(), height: outputInt() }),
  editor_mask: outputObject({ width: outputInt(), height: outputInt() }),
  start_mask_coverage: z.number().nullable().describe("0..1; null without a starting mask."),
  prompt: z.string().nullable(),
  fill_tool: z.literal(FLUX_FILL_TOOL),
});

export type OpenMaskEditorOutput = z.infer<typeof OpenMaskEditorOutput>;

/** One-channel raster (any size) → editor mask of `size`, nearest-neighbour, thresholded. */
async function rasterToEditorMask(raster: RasterImage, size: { width: number; height: number }): Promise<Mask> {
  const data = await sharp(raster.data, {
    raw: { width: raster.width, height: raster.height, channels: raster.channels },
  })
    .resize(size.width, size.height, { kernel: "nearest", fit: "fill" })
    .extractChannel(0)
    .raw()
    .toBuffer();
  const mask = createMask(size.width, size.height);
  for (let i = 0; i < mask.data.length; i++) mask.data[i] = data[i]! >= MASK_THRESHOLD ? INPAINT : KEEP;
  return mask;
}

/** The reference flux_fill should get for this image later, or null when it was inline data. */
function reusableReference(ref: string, source: string): string | null {
  const kind = classifyReference(ref, "image");
  if (kind === "path" || kind === "file_url") return source; // the real path: independent of later cwd changes
  if (kind === "http_url") return ref.trim();
  return null;
}

export interface MaskEditorPayload {
  result: CallToolResult;
  structured: OpenMaskEditorOutput;
}

/** Everything the tool returns, from its arguments (no MCP objects: testable on its own). */
export async function openMaskEditor(
  args: OpenMaskEditorInput,
  config: Config,
  signal?: AbortSignal,
  previewed?: PreviewedMask,
  segmentation?: SegmentContext,
): Promise<MaskEditorPayload> {
  const resolved = await resolveReference(args.image, { label: "image", config, ...(signal ? { signal } : {}) });
  if (previewed) assertPreviewedImage(previewed, resolved.bytes, resolved.source);
  const decoded = await decodeInput(resolved.bytes, "image", { maxPixels: config.maxInputPixels });
  const { width, height } = decoded;
  const editorSize = workingSize(width, height, EDITOR_MAX_SIDE);

  let start: Mask | undefined;
  let startSource = "";
  if (args.mask !== undefined) {
    const maskBytes = await resolveReference(args.mask, { label: "mask", config, ...(signal ? { signal } : {}) });
    const raster = await decodeMaskInput(maskBytes.bytes, { maxPixels: config.maxInputPixels });
    if (raster.width !== width || raster.height !== height) {
      throw new FluxFillError(
        "bad_input",
        `The mask is ${raster.width}×${raster.height} but the image is ${width}×${height}; they must be the same size.`,
        { suggestion: "Give a mask made for this image, or omit it and let the person paint one in the editor." },
      );
    }
    start = await rasterToEditorMask(raster, editorSize);
    startSource = "the mask you gave";
  } else if (previewed) {
    start = await rasterToEditorMask(await decodeMaskInput(previewed.png, { maxPixels: config.maxInputPixels }), editorSize);
    startSource = `mask_id ${previewed.id} (${previewed.source})`;
  } else if (decoded.raster.channels === 4) {
    start = await rasterToEditorMask(maskFromImageAlpha(decoded.raster), editorSize);
    startSource = "the image's transparent pixels";
  }
  let regionNotes: string[] = [];
  if (args.mask_regions !== undefined) {
    const edgeNotes = checkRegionGeometry(args.mask_regions, args.units, width, height);
    // The alpha has been read above, so the raster can be packed to RGB for object and wand entries.
    const pixels = regionsNeedPixels(args.mask_regions) ? toRgbInPlace(decoded.raster) : undefined;
    const drawn = await drawRegionsWithSegmenter(args.mask_regions, args.units, width, height, pixels, segmentation);
    regionNotes = [...edgeNotes, ...selectionNotes(drawn.reports)];
    const shapes = await rasterToEditorMask(drawn.mask, editorSize);
    if (start) for (let i = 0; i < start.data.length; i++) start.data[i] = Math.max(start.data[i]!, shapes.data[i]!);
    else start = shapes;
    const count = args.mask_regions.length;
    const entries = `${count} mask_regions ${count === 1 ? "entry" : "entries"}`;
    startSource = startSource ? `${startSource} plus ${entries}` : entries;
  }

  const preview = await renderPreview(resolved.bytes, config.previewMaxSize);
  const coverage = start ? maskCoverage(start) : null;
  const structured: OpenMaskEditorOutput = {
    image: reusableReference(args.image, resolved.source),
    width,
    height,
    format: decoded.format,
    preview: { width: preview.width, height: preview.height },
    editor_mask: editorSize,
    start_mask_coverage: coverage,
    prompt: args.prompt ?? null,
    fill_tool: FLUX_FILL_TOOL,
  };
  const lines = [
    `Mask editor for ${resolved.source}: ${width}×${height} ${decoded.format.toUpperCase()}.`,
    "In clients that show MCP Apps, the person paints the area to change, types a prompt and clicks apply (which runs flux_fill and shows before/after). Nothing has been inpainted yet.",
    `If no editor appears, make the mask yourself: a ${width}×${height} PNG, white = inpaint, black = keep, passed to flux_fill as mask.`,
    `The first image below is a ${preview.width}×${preview.height} preview of the photo.`,
  ];
  const content: CallToolResult["content"] = [
    { type: "text", text: "" },
    { type: "image", data: preview.base64, mimeType: preview.mimeType },
  ];
  if (start && coverage !== null) {
    lines.push(
      `Starting mask from ${startSource}: ${formatCoverage(coverage)} of the image; the second image shows it at ${start.width}×${start.height} (white = inpaint).`,
    );
    const png = await sharp(Buffer.from(start.data.buffer, start.data.byteOffset, start.data.byteLength), {
      raw: { width: start.width, height: start.height, channels: 1 },
    })
      .png({ compressionLevel: 9 })
      .toBuffer();
    content.push({ type: "image", data: png.toString("base64"), mimeType: "image/png" });
  }
  lines.push(...regionNotes);
  content[0] = { type: "text", text: lines.join("\n") };
  return { result: { content, structuredContent: structured }, structured };
}

export async function loadMaskEditorHtml(file = MASK_EDITOR_HTML_PATH): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (cause) {
    throw new FluxFillError("internal", `The mask editor page ${file} is missing: the package was not built.`, {
      suggestion: "Run `npm run build` (it builds dist/app/mask-editor.html).",
      cause,
    });
  }
}

export function registerOpenMaskEditorTool(server: McpServer, deps: ServerDeps): void {
  registerAppTool(
    server,
    OPEN_MASK_EDITOR_TOOL,
    {
      title: "Open the mask editor",
      description: DESCRIPTION,
      inputSchema: listed(OpenMaskEditorInput),
      outputSchema: listedOutput(OpenMaskEditorOutput),
      annotations: {
        readOnlyHint: true,
        destructiveHint: false,
        idempotentHint: true,
        openWorldHint: false,
      },
      _meta: { ui: { resourceUri: MASK_EDITOR_URI } },
    },
    async (args: OpenMaskEditorInput, extra): Promise<CallToolResult> => {
      try {
        const previewed =
          args.mask_id === undefined
            ? undefined
            : await previewedMask(args.mask_id, args, deps.masks, deps.principal.user);
        return (await openMaskEditor(args, deps.config, extra.mcpReq.signal, previewed, segmentContext(deps, extra.mcpReq.signal))).result;
      } catch (error) {
        return toolError(error, deps.logger);
      }
    },
  );

  registerAppResource(
    server,
    "Mask editor",
    MASK_EDITOR_URI,
    {
      mimeType: MASK_EDITOR_MIME_TYPE,
      description: "Paint an inpainting mask on a photo, apply flux_fill and compare before/after (MCP Apps page).",
      _meta: { ui: { prefersBorder: true } },
    },
    async () => ({
      contents: [
        {
          uri: MASK_EDITOR_URI,
          mimeType: MASK_EDITOR_MIME_TYPE,
          text: await loadMaskEditorHtml(),
          _meta: { ui: { prefersBorder: true } },
        },
      ],
    }),
  );
}
