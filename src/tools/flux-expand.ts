import type { McpServer } from "@modelcontextprotocol/server";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { renderExpandCanvas } from "../images/expand-canvas.js";
import { planExpansion } from "../pipeline/expand-request.js";
import type { ExpandJob } from "../pipeline/job.js";
import { effectiveProvider, type ProviderName } from "../config.js";
import type { Provider } from "../providers/types.js";
import {
  type FluxExpandDryRunOutput,
  FluxExpandReplyOutput,
  FluxExpandToolInputSchema,
  type FluxExpandToolInput,
} from "../schema/tool.js";
import type { ServerDeps } from "./deps.js";
import { runForCall } from "./flux-fill.js";
import type { ToolExtra } from "./progress.js";
import { toolError } from "./result.js";
import { listed, listedOutput } from "../schema/listing.js";

export const FLUX_EXPAND_TOOL = "flux_expand";

const DESCRIPTION = `Outpaint with FLUX.1 Expand [pro]: add pixels around a photo ("make it 16:9", "more sky"); prompt describes the new areas. Give pixels per side, aspect_ratio, or both (sides first); dry_run shows the canvas and price free. E.g. 16:9 with more sky: {"image":"/photos/beach.jpg","top":200,"aspect_ratio":"16:9"}.
Other fields, cost, free repeats and reply as in flux_fill.`;

/** On fal and Replicate (no FLUX.1 Expand there) the agent learns it before trying, not from a refusal. */
export function expandDescription(provider: ProviderName): string {
  if (provider === "local" || provider === "bfl") return DESCRIPTION;
  return `Not available on this server: the ${provider} provider hosts no FLUX.1 Expand (it needs BFL_API_KEY). ${DESCRIPTION}`;
}

/** What one expansion would cost on this provider, in credits (null: it cannot expand), and the reply's line. */
function priceOf(provider: Provider): { credits: number | null; line: string } {
  if (provider.name === "local") {
    return {
      credits: 0,
      line: "Price: free — the local offline engine continues the photo and ignores the prompt (FLUX.1 Expand [pro] needs BFL_API_KEY).",
    };
  }
  if (provider.name !== "bfl") {
    return {
      credits: null,
      line: `Price: none — the ${provider.name} provider hosts no FLUX.1 Expand, so the real call would be refused; use the bfl provider (BFL_API_KEY) or the local engine.`,
    };
  }
  const credits = provider.estimateCredits("expand");
  return {
    credits,
    line: `Price: about ${credits} credits (~$${(credits / 100).toFixed(2)}) with FLUX.1 Expand [pro]; the real call's reply states what was charged.`,
  };
}

/**
 * `dry_run`: the same reading and checks as a real call (errors included), then the plan instead of a
 * task — the canvas, the sides, the price and a picture. Nothing is submitted, charged or journalled.
 */
async function dryRun(job: ExpandJob, deps: ServerDeps, extra: ToolExtra): Promise<CallToolResult> {
  try {
    const { prepared, expansion } = await planExpansion(job, deps.config, extra.mcpReq.signal);
    const { sides, width, height } = expansion;
    const picture = await renderExpandCanvas(prepared.image, sides);
    const provider = deps.provider();
    const price = priceOf(provider);
    const structured: FluxExpandDryRunOutput = {
      dry_run: true,
      provider: provider.name,
      width,
      height,
      sides,
      cost: price.credits,
    };
    const lines = [
      "Dry run: nothing was submitted or charged.",
      `Would expand the ${prepared.info.width}×${prepared.info.height} photo to ${width}×${height}: added top ${sides.top}, bottom ${sides.bottom}, left ${sides.left}, right ${sides.right} px.`,
      price.line,
      `The picture (${picture.width}×${picture.height}) is the new canvas: the photo outlined in yellow, the area to be painted striped magenta.`,
      ...prepared.notes,
      ...expansion.notes,
      "To run it, call again without dry_run.",
    ];
    return {
      content: [
        { type: "text", text: lines.join("\n") },
        { type: "image", data: picture.base64, mimeType: picture.mimeType },
      ],
      structuredContent: structured,
    };
  } catch (error) {
    return toolError(error, deps.logger);
  }
}

export function registerFluxExpandTool(server: McpServer, deps: ServerDeps): void {
  server.registerTool(
    FLUX_EXPAND_TOOL,
    {
      title: "Expand (outpaint) with FLUX.1 Expand [pro]",
      description: expandDescription(effectiveProvider(deps.config)),
      inputSchema: listed(FluxExpandToolInputSchema),
      outputSchema: listedOutput(FluxExpandReplyOutput),
      annotations: {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: true,
      },
    },
    async (args: FluxExpandToolInput, extra): Promise<CallToolResult> => {
      const { image, aspect_ratio, anchor, dry_run, ...params } = args;
      const job: ExpandJob = { kind: "expand", image, params, aspectRatio: aspect_ratio, anchor };
      if (dry_run === true) return dryRun(job, deps, extra);
      return runForCall(job, deps, extra, FLUX_EXPAND_TOOL);
    },
  );
}
