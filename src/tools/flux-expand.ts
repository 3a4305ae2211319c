import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { FluxExpandOutput, FluxExpandToolInputSchema, type FluxExpandToolInput } from "../schema/tool.js";
import type { ServerDeps } from "./deps.js";
import { runForCall } from "./flux-fill.js";

export const FLUX_EXPAND_TOOL = "flux_expand";

const DESCRIPTION = `Outpaint: add new pixels around a photo with Black Forest Labs' FLUX.1 Expand [pro], e.g. "make it 16:9" or "add more sky". The photo's pixels are kept; prompt describes the new areas.
Give either aspect_ratio (only the short side grows; anchor says where the photo stays, default center) or the pixels to add per side (top/bottom/left/right, 0-2048). Example: {"image":"/photos/beach.jpg","aspect_ratio":"16:9","anchor":"bottom"}.
Each call is a paid task (the upstream reports its cost; usually 5-30 s): do not repeat an expansion. An identical call while it runs, or after a timeout that kept you from its result, is free and gets that result; change the seed for a fresh variant. Without BFL_API_KEY a free offline engine continues the photo's texture and ignores the prompt.
The result is saved as a file; the reply gives its path, a resource link, a preview and the sides used.`;

export function registerFluxExpandTool(server: McpServer, deps: ServerDeps): void {
  server.registerTool(
    FLUX_EXPAND_TOOL,
    {
      title: "Expand (outpaint) with FLUX.1 Expand [pro]",
      description: DESCRIPTION,
      inputSchema: FluxExpandToolInputSchema,
      outputSchema: FluxExpandOutput,
      annotations: {
        title: "Expand (outpaint) with FLUX.1 Expand [pro]",
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: true,
      },
    },
    async (args: FluxExpandToolInput, extra): Promise<CallToolResult> => {
      const { image, aspect_ratio, anchor, ...params } = args;
      return runForCall({ kind: "expand", image, params, aspectRatio: aspect_ratio, anchor }, deps, extra, FLUX_EXPAND_TOOL);
    },
  );
}
