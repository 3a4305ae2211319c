/**
 * get_result through the SDK's real Client (in memory): a saved result comes back in the same shape as
 * flux_fill returned it. Results are produced by real fills against the upstream emulator.
 */
import { rm } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { FluxFillOutput } from "../../src/schema/tool.js";
import { decodeRaw } from "../helpers/images.js";
import { callTool, type TestServer, textOf as text } from "../helpers/mcp.js";
import { useServersOnEmulator } from "../helpers/use-emulator.js";
import { writeInputs } from "../transports/http-fixture.js";

const KEY = "test-bfl-key-get-result-2d";
const { start } = useServersOnEmulator(
  { apiKey: KEY, generationMs: 40 },
  { FLUX_FILL_POLL_INTERVAL_MS: "10", FLUX_FILL_PREVIEW_MAX_PX: "32" },
);

const call = (server: TestServer, name: string, args: Record<string, unknown>) => callTool(server.client, name, args);

async function fill(server: TestServer, prompt: string) {
  const { image, mask } = await writeInputs(server.workDir, 64, 48);
  const result = await call(server, "flux_fill", { image, mask, prompt, seed: 11 });
  expect(result.isError, text(result)).toBeFalsy();
  return { result, out: FluxFillOutput.parse(result.structuredContent) };
}

describe("get_result", () => {
  it("is listed as a read-only, idempotent, closed-world tool with flux_fill's output schema plus optional sides", async () => {
    const server = await start();
    const { tools } = await server.client.listTools();
    const tool = tools.find((t) => t.name === "get_result")!;
    const fillTool = tools.find((t) => t.name === "flux_fill")!;
    expect(tool.annotations).toMatchObject({
      readOnlyHint: true,
      idempotentHint: true,
      openWorldHint: false,
      destructiveHint: false,
    });
    expect(tool.inputSchema.required).toEqual(["id"]);
    expect(Object.keys(tool.inputSchema.properties ?? {})).toEqual(["id"]);
    const expandTool = tools.find((t) => t.name === "flux_expand")!;
    const { sides, ...fillProperties } = tool.outputSchema!.properties as Record<string, unknown>;
    expect(fillProperties).toEqual(fillTool.outputSchema!.properties);
    expect(tool.outputSchema!.required).toEqual(fillTool.outputSchema!.required);
    expect(sides).toMatchObject({ properties: (expandTool.outputSchema!.properties as Record<string, { properties: unknown }>).sides!.properties });
    expect(tool.description).toMatch(/latest/);
  });

  it("returns a saved result by id in the same shape as flux_fill: summary, preview, resource link, metadata", async () => {
    const server = await start();
    const { result: original, out } = await fill(server, "a stone wall");
    const fetched = await call(server, "get_result", { id: out.id });
    expect(fetched.isError, text(fetched)).toBeFalsy();
    expect(fetched.content.map((b) => b.type)).toEqual(original.content.map((b) => b.type));
    const structured = FluxFillOutput.parse(fetched.structuredContent);
    const { elapsed_ms: _a, ...same } = out;
    expect(structured).toMatchObject(same);
    expect(structured.elapsed_ms).toBeGreaterThan(0);
    expect(fetched.content[2]).toEqual(original.content[2]); // the same resource link
    const preview = fetched.content[1] as { data: string; mimeType: string };
    expect(preview.mimeType).toBe("image/jpeg");
    const decoded = await decodeRaw(Buffer.from(preview.data, "base64"));
    expect(Math.max(decoded.width, decoded.height)).toBe(32);
    expect(text(fetched)).toMatch(new RegExp(`^Saved result ${out.id}, created .* for "a stone wall"\\.`));
    expect(text(fetched)).toContain(out.path);
  });

  it('accepts the resource URI and "latest"', async () => {
    const server = await start();
    const first = await fill(server, "first");
    // Both ids most likely share their second: "latest" must go by the creation time in milliseconds.
    const second = await fill(server, "second");
    const byUri = await call(server, "get_result", { id: first.out.uri });
    expect(FluxFillOutput.parse(byUri.structuredContent).id).toBe(first.out.id);
    const latest = await call(server, "get_result", { id: "latest" });
    expect(FluxFillOutput.parse(latest.structuredContent).id).toBe(second.out.id);
  });

  it("explains an unknown or malformed id and lists the newest ids", async () => {
    const server = await start();
    const none = await call(server, "get_result", { id: "latest" });
    expect(none.isError).toBe(true);
    expect(text(none)).toMatch(/no saved result yet/);
    const { out } = await fill(server, "only one");
    const unknown = await call(server, "get_result", { id: "20000101-000000-00000000" });
    expect(unknown.isError).toBe(true);
    expect(text(unknown)).toMatch(/No saved result has the id "20000101-000000-00000000"/);
    expect(text(unknown)).toContain(out.id);
    const malformed = await call(server, "get_result", { id: "../../etc/passwd" });
    expect(malformed.isError).toBe(true);
    expect(text(malformed)).toMatch(/is not a result id/);
    expect(text(malformed)).toContain(out.id);
  });

  it("says so when a result's image file is gone", async () => {
    const server = await start();
    const { out } = await fill(server, "deleted");
    await rm(out.path);
    const result = await call(server, "get_result", { id: out.id });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(new RegExp(`result ${out.id} has metadata but its image file cannot be read`));
  });
});
