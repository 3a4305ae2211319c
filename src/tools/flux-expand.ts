import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { FluxExpandOutput, FluxExpandToolInputSchema, type FluxExpandToolInput } from "../schema/tool.js";
import type { ServerDeps } from "./deps.js";
import { runForCall } from "./flux-fill.js";
import { listed, listedOutput } from "../schema/listing.js";

export const FLUX_EXPAND_TOOL = "flux_expand";

const DESCRIPTION = `Outpaint with FLUX.1 Expand [pro]: add pixels around a photo ("make it 16:9", "more sky"); prompt describes the new areas. Give aspect_ratio (the short side grows; anchor = where the photo stays, default center) or pixels per side. E.g. {"image":"/photos/beach.jpg","aspect_ratio":"16:9","anchor":"bottom"}.
Other fields, cost, free repeats and reply as in flux_fill.`;

export function registerFluxExpandTool(server: McpServer, deps: ServerDeps): void {
  server.registerTool(
    FLUX_EXPAND_TOOL,
    {
      title: "Expand (outpaint) with FLUX.1 Expand [pro]",
      description: DESCRIPTION,
      inputSchema: listed(FluxExpandToolInputSchema),
      outputSchema: listedOutput(FluxExpandOutput),
      annotations: {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: true,
      },
    },
    async (args: FluxExpandToolInput, extra): Promise<CallToolResult> => {
      const { image, aspect_ratio, anchor, ...params } = args;
      return runForCall(
        { kind: "expand", image, params, aspectRatio: aspect_ratio, anchor },
        deps,
        extra,
        FLUX_EXPAND_TOOL,
      );
    },
  );
}
