import { type McpServer, ResourceTemplate } from "@modelcontextprotocol/server";
import { resultUri } from "../results/store.js";
import type { ServerDeps } from "../tools/deps.js";

/** `flux-fill://results/{id}`: every saved result, listed newest first and readable as a blob. */
export function registerResultResources(server: McpServer, deps: ServerDeps): void {
  server.registerResource(
    "results",
    new ResourceTemplate("flux-fill://results/{id}", {
      list: async () => ({
        resources: (await deps.results.list()).map((meta) => ({
          uri: resultUri(meta.id),
          name: meta.file,
          title: `Inpainted image ${meta.id}`,
          mimeType: meta.mime_type,
          description: `${meta.width}×${meta.height} by ${meta.provider}, ${meta.created_at}${meta.prompt ? `: "${meta.prompt.slice(0, 80)}"` : ""}`,
        })),
      }),
    }),
    {
      title: "Inpainting results",
      description: "Images saved by flux_fill, full size, with their metadata in the listing.",
    },
    async (uri, variables) => {
      const id = String(variables.id);
      const { meta, bytes } = await deps.results.read(id);
      return { contents: [{ uri: uri.href, mimeType: meta.mime_type, blob: bytes.toString("base64") }] };
    },
  );
}
