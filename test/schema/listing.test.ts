/**
 * What every conversation pays: the whole tools/list answer, as a real client receives it, stays within its
 * budget with every tool in, and what the other tools share with flux_fill is said once, in flux_fill.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ListToolsResult } from "@modelcontextprotocol/client";
import { TOOLS_LIST_BUDGET_BYTES } from "../../src/schema/listing.js";
import { MaskOptionsShape } from "../../src/schema/tool.js";
import { FluxProExpandInputs, FluxProFillInputs } from "../../src/schema/upstream.js";
import { startInMemory, type TestServer } from "../helpers/mcp.js";

type Schema = { properties: Record<string, Record<string, unknown>> };

let server: TestServer;
let list: ListToolsResult;
beforeAll(async () => {
  server = await startInMemory({ FLUX_FILL_PROVIDER: "local" });
  list = await server.client.listTools();
});
afterAll(() => server.close());

const tool = (name: string) => list.tools.find((t) => t.name === name)!;

/** Every key named `description`, anywhere in a JSON value. */
function descriptions(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(descriptions);
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([key, inner]) =>
    key === "description" && typeof inner === "string" ? [inner] : descriptions(inner),
  );
}

const withoutDescriptions = (value: unknown): unknown =>
  JSON.parse(JSON.stringify(value, (key, inner) => (key === "description" ? undefined : inner)));

describe("tools/list", () => {
  it(`stays within ${TOOLS_LIST_BUDGET_BYTES} bytes of JSON with every tool of the round in`, () => {
    expect(list.tools.map((t) => t.name).sort()).toEqual([
      "flux_expand",
      "flux_fill",
      "get_result",
      "open_mask_editor",
      "preview_mask",
    ]);
    const bytes = Buffer.byteLength(JSON.stringify(list));
    const perTool = Object.fromEntries(list.tools.map((t) => [t.name, Buffer.byteLength(JSON.stringify(t))]));
    expect(bytes, JSON.stringify(perTool)).toBeLessThanOrEqual(TOOLS_LIST_BUDGET_BYTES);
  });

  it("stays within the budget with a paid provider and the hosted segmenter too (the longest descriptions)", async () => {
    const paid = await startInMemory({ FLUX_FILL_PROVIDER: "fal", FAL_KEY: "test-key", FLUX_FILL_SEGMENTER: "fal" });
    try {
      const paidList = await paid.client.listTools();
      const fill = paidList.tools.find((t) => t.name === "flux_fill")!;
      expect(fill.description).toMatch(/Paid: about 5 credits/);
      expect(fill.description).not.toMatch(/offline|Free here/);
      // fal hosts no FLUX.1 Expand: said before the agent tries it.
      const expand = paidList.tools.find((t) => t.name === "flux_expand")!;
      expect(expand.description).toMatch(/^Not available on this server: the fal provider hosts no FLUX.1 Expand/);
      expect(Buffer.byteLength(JSON.stringify(paidList))).toBeLessThanOrEqual(TOOLS_LIST_BUDGET_BYTES);
    } finally {
      await paid.close();
    }
  });

  it("carries no $schema line and no ±2^53 integer bounds in output schemas", () => {
    const text = JSON.stringify(list);
    expect(text).not.toContain("$schema");
    for (const t of list.tools) expect(JSON.stringify(t.outputSchema), t.name).not.toContain("9007199254740991");
    // Input integers keep the bounds their zod definitions give (the upstream's published fields).
    expect(tool("flux_fill").inputSchema.properties?.seed).toMatchObject({
      type: "integer",
      minimum: Number.MIN_SAFE_INTEGER,
    });
  });

  it("says the shared fields once, in flux_fill: the others list them with the same definition and no description", () => {
    const fill = tool("flux_fill").inputSchema as Schema;
    const shared: Array<[string, string[]]> = [
      ["preview_mask", ["image", "mask", ...Object.keys(MaskOptionsShape)]],
      ["open_mask_editor", ["image", "mask", "mask_regions", "units", "mask_id"]],
      // Expand's upstream fields that Fill has too (prompt means the new areas there, as its description says).
      ["flux_expand", Object.keys(FluxProExpandInputs.shape).filter((field) => field in FluxProFillInputs.shape)],
    ];
    for (const [name, fields] of shared) {
      const other = tool(name).inputSchema as Schema;
      for (const field of fields) {
        expect(other.properties[field], `${name}.${field}`).toEqual(withoutDescriptions(fill.properties[field]));
      }
      expect(tool(name).description, name).toMatch(/flux_fill/);
    }
    // flux_fill describes them.
    for (const field of ["image", "mask", "mask_regions", "mask_svg", "units", "grow_mask"])
      expect(fill.properties[field]?.description, field).toBeTruthy();
  });

  it("keeps one worked example per tool at most, and says cost and when to use it", () => {
    for (const t of list.tools) {
      const examples =
        [t.description ?? "", ...descriptions(t.inputSchema)].join("\n").match(/(E\.g\.|e\.g\.|Example)[^.]*[[{]/g) ??
        [];
      expect(examples.length, `${t.name}: ${examples.join(" | ")}`).toBeLessThanOrEqual(1);
      expect(t.description, t.name).toMatch(/free|paid|credits/i);
    }
    // No provider key here: the local engine, free, and the reply it gives to a prompt said up front.
    expect(tool("flux_fill").description).toMatch(
      /Free here: no provider key is set.*ignores the prompt.*BFL_API_KEY, FAL_KEY or REPLICATE_API_TOKEN/,
    );
    expect(tool("flux_fill").description).not.toMatch(/Paid|credits/);
    expect(tool("flux_expand").description).not.toMatch(/Not available/);
    // mask_regions' one example shows a selection of each kind and a subtraction (issue 12).
    const regions = String((tool("flux_fill").inputSchema as Schema).properties.mask_regions?.description);
    expect(regions).toMatch(/\[\{"shape":"wand".*\{"shape":"object".*"op":"subtract"\}\]/);
    expect(regions).toMatch(/preview first/i);
    expect(tool("flux_expand").description).toMatch(/\{"image":.*"aspect_ratio"/);
  });
});
