/**
 * `npm run demo`: the product end to end, as an MCP client sees it. Starts the built server over stdio,
 * connects the SDK's real Client, lists the tools, calls flux_fill on the bundled example and prints
 * where the result was saved. Runs on the embedded engine unless FLUX_FILL_PROVIDER says otherwise, so a
 * stray BFL_API_KEY in the shell never spends credits by surprise.
 */
import { fileURLToPath } from "node:url";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { Client } from "@modelcontextprotocol/client";
import type { CallToolResult } from "@modelcontextprotocol/client";

const root = new URL("../", import.meta.url);
const example = (name: string) => fileURLToPath(new URL(`examples/${name}`, root));

async function main(): Promise<void> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  env.FLUX_FILL_PROVIDER ??= "local";

  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [fileURLToPath(new URL("cli.js", import.meta.url))],
    env,
    stderr: "inherit",
  });
  const client = new Client({ name: "flux-fill-demo", version: "1.0.0" });
  await client.connect(transport);
  try {
    const { tools } = await client.listTools();
    console.log(`Tools: ${tools.map((t) => t.name).join(", ")} (provider: ${env.FLUX_FILL_PROVIDER})`);
    const result = (await client.callTool(
      {
        name: "flux_fill",
        arguments: {
          image: example("scene.jpg"),
          mask: example("scene-mask.png"),
          prompt: "green grass, no ball",
          output_format: "png",
        },
      },
      {
        timeout: 600_000,
        resetTimeoutOnProgress: true,
        onprogress: (p) => console.log(`  … ${p.message ?? p.progress}`),
      },
    )) as CallToolResult;
    for (const block of result.content) {
      if (block.type === "text") console.log(block.text);
      if (block.type === "image") console.log(`[preview: ${block.mimeType}, ${block.data.length} base64 chars]`);
      if (block.type === "resource_link") console.log(`[resource: ${block.uri}]`);
    }
    if (result.isError) process.exitCode = 1;
    else console.log(`\nResult saved to: ${(result.structuredContent as { path: string }).path}`);
  } finally {
    await client.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
