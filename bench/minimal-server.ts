/**
 * The cold-start floor: the smallest MCP server over stdio the SDK makes (one trivial tool), started the
 * same way as ours. Spawn → `initialize` answered for this is what Node plus the SDK cost by themselves.
 */
import { StdioServerTransport } from "@modelcontextprotocol/server/stdio";
import { McpServer } from "@modelcontextprotocol/server";

const server = new McpServer({ name: "minimal", version: "1.0.0" });
server.registerTool("ping", { description: "Answers pong." }, async () => ({
  content: [{ type: "text", text: "pong" }],
}));
await server.connect(new StdioServerTransport());
