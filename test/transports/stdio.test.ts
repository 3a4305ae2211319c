/**
 * The built server as MCP clients run it: a child process over stdio. Start-up, framing, the tools list,
 * a whole fill, and a message over the size limit that must not take the server down.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { CallToolResult, JSONRPCMessage } from "@modelcontextprotocol/client";
import { describe, expect, it } from "vitest";
import { FluxFillOutput } from "../../src/schema/tool.js";
import { decodeRaw, makeMask, makePhoto } from "../helpers/images.js";
import { ERAS, startStdio, tempDir } from "../helpers/mcp.js";

describe("stdio transport (built server)", () => {
  it("lists flux_fill and fills with the local engine from relative paths", async () => {
    const cwd = await tempDir();
    await writeFile(path.join(cwd, "photo.png"), await makePhoto(64, 48, { seed: 3 }));
    await writeFile(path.join(cwd, "mask.png"), await makeMask(64, 48, { kind: "ellipse", cx: 30, cy: 24, rx: 8, ry: 6 }));
    const { client, stderr } = await startStdio({ FLUX_FILL_OUTPUT_DIR: path.join(cwd, "out") }, cwd);
    try {
      const { tools } = await client.listTools();
      const tool = tools.find((t) => t.name === "flux_fill")!;
      expect(tool.annotations).toMatchObject({ readOnlyHint: false, idempotentHint: false, openWorldHint: true });
      expect(tool.outputSchema?.properties).toHaveProperty("elapsed_ms");
      const result = (await client.callTool(
        { name: "flux_fill", arguments: { image: "photo.png", mask: "./mask.png", output_format: "png" } },
      )) as CallToolResult;
      expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
      const out = FluxFillOutput.parse(result.structuredContent);
      expect(out.provider).toBe("local");
      expect(out.path.startsWith(path.join(cwd, "out"))).toBe(true);
      expect((await decodeRaw(await readFile(out.path))).width).toBe(64);
      expect(stderr()).toContain("[flux-fill-mcp]");
    } finally {
      await client.close();
    }
  });

  it.each(ERAS)("answers a message over the size limit with a tool error and keeps serving (%s)", async (era) => {
    const cwd = await tempDir();
    // 1 MB cap → the stdio limit is about 3.7 MB; send ~5 MB of base64 (the SDK default would allow 10 MiB).
    const { client, transport } = await startStdio(
      { FLUX_FILL_MAX_INPUT_MB: "1", FLUX_FILL_OUTPUT_DIR: path.join(cwd, "out") },
      cwd,
      undefined,
      era,
    );
    // The replies as they came over the pipe, before the client reads them.
    const wire: JSONRPCMessage[] = [];
    const deliver = transport.onmessage;
    transport.onmessage = (message: JSONRPCMessage) => {
      wire.push(message);
      deliver?.(message);
    };
    try {
      const huge = `data:image/png;base64,${"A".repeat(5 * 1024 * 1024)}`;
      // On 2026-07-28 a result without resultType is refused by the client: this call would throw.
      const result = (await client.callTool({ name: "flux_fill", arguments: { image: huge } })) as CallToolResult;
      expect(result.isError).toBe(true);
      expect(JSON.stringify(result.content)).toMatch(/limit[\s\S]*FLUX_FILL_MAX_INPUT_MB/);
      const reply = wire.find((m) => JSON.stringify(m).includes("over this server's limit")) as
        | { result?: Record<string, unknown> }
        | undefined;
      // resultType belongs to 2026-07-28 results; a 2025 connection gets the result as 2025 defines it.
      if (era === "2025") expect(reply?.result).not.toHaveProperty("resultType");
      else expect(reply?.result?.resultType).toBe("complete");
      // Still alive: a second request works.
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain("flux_fill");
      // Just over the input cap but under the message limit: a normal tool error from the input check.
      const over = `data:image/png;base64,${"A".repeat(1.5 * 1024 * 1024)}`;
      const second = (await client.callTool({ name: "flux_fill", arguments: { image: over } })) as CallToolResult;
      expect(second.isError).toBe(true);
      expect(JSON.stringify(second.content)).toMatch(/too_large/);
    } finally {
      await client.close();
    }
  }, 60_000);

  it("above the SDK's own 10 MiB default, a large inline image still reaches the tool", async () => {
    const cwd = await tempDir();
    const { client } = await startStdio({ FLUX_FILL_OUTPUT_DIR: path.join(cwd, "out") }, cwd);
    try {
      // 12 MiB of base64 under the default 50 MB cap: not valid image data, so an input error — not a dead server.
      const big = `data:image/png;base64,${"A".repeat(12 * 1024 * 1024)}`;
      const result = (await client.callTool({ name: "flux_fill", arguments: { image: big } })) as CallToolResult;
      expect(result.isError).toBe(true);
      expect(JSON.stringify(result.content)).not.toMatch(/limit of/);
      expect((await client.listTools()).tools.map((t) => t.name)).toContain("flux_fill");
    } finally {
      await client.close();
    }
  }, 60_000);
});
