import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { FluxFillToolInputSchema, MaskOptionsShape, StitchShape } from "../../src/schema/tool.js";
import { ANCHORS } from "../../src/images/expand.js";
import { FluxProExpandInputs, FluxProFillInputs } from "../../src/schema/upstream.js";
import { startInMemory, type TestServer } from "../helpers/mcp.js";

type JsonSchema = { type?: string; properties: Record<string, Record<string, unknown>>; required?: string[]; additionalProperties?: boolean };

let server: TestServer;
let listed: JsonSchema;
beforeAll(async () => {
  server = await startInMemory();
  const { tools } = await server.client.listTools();
  listed = tools.find((t) => t.name === "flux_fill")!.inputSchema as JsonSchema;
});
afterAll(() => server.close());

describe("flux_fill's input schema as a real client sees it", () => {
  const model = z.toJSONSchema(FluxProFillInputs, { io: "input", target: "draft-7" }) as unknown as JsonSchema;

  it("has exactly the upstream model's fields plus the tool-only mask options and mask_id, rejects others, and requires only image", () => {
    expect(Object.keys(listed.properties).sort()).toEqual(
      [...Object.keys(FluxProFillInputs.shape), ...Object.keys(MaskOptionsShape), "mask_id", ...Object.keys(StitchShape)].sort(),
    );
    expect(listed.additionalProperties).toBe(false);
    expect(listed.required).toEqual(["image"]);
    expect(model.required).toEqual(["image"]);
  });

  it("carries every type, bound, enum and default of the model, field by field", () => {
    for (const field of Object.keys(FluxProFillInputs.shape)) {
      if (field === "image" || field === "mask") continue;
      expect(listed.properties[field], field).toEqual(model.properties[field]);
      // Described where the name, type and enum leave something out (tools/list is paid on every turn).
      if (field === "output_format" || field === "webhook_secret") continue;
      expect(String(listed.properties[field]?.description ?? "").length, `${field} has a description`).toBeGreaterThan(20);
    }
  });

  it("widens image and mask to references and describes the accepted forms", () => {
    for (const field of ["image", "mask"]) {
      expect(listed.properties[field]?.type).toBe("string");
      expect(String(listed.properties[field]?.description)).toMatch(/path|URL|data:|base64|forms as image/);
    }
    expect(String(listed.properties.image?.description)).toMatch(/file:\/\/.*http\(s\):\/\/.*data: URI.*base64/);
  });

  it("carries each tool-only mask option exactly as its own zod definition converts", () => {
    for (const [field, schema] of Object.entries(MaskOptionsShape)) {
      const own = z.toJSONSchema(z.object({ [field]: schema }), { io: "input", target: "draft-7" }) as unknown as JsonSchema;
      expect(listed.properties[field], field).toEqual(own.properties[field]);
      expect(String(listed.properties[field]?.description ?? "").length, `${field} has a description`).toBeGreaterThan(40);
    }
    expect(listed.properties.mask_regions?.maxItems).toBe(100);
    expect(listed.properties.alpha_convention?.enum).toEqual(["transparent_is_inpaint", "opaque_is_inpaint", "openai"]);
  });

  it("is not the empty schema zod-to-json-schema would give for a zod 4 object", () => {
    expect(Object.keys(listed.properties).length).toBe(12 + Object.keys(MaskOptionsShape).length + Object.keys(StitchShape).length);
  });
});

describe("the model matches the upstream's published rules", () => {
  const valid = { image: "aGVsbG8=" };
  const accepts = (extra: Record<string, unknown>) => FluxProFillInputs.safeParse({ ...valid, ...extra }).success;

  it("applies the upstream defaults", () => {
    expect(FluxProFillInputs.parse(valid)).toEqual({
      image: "aGVsbG8=",
      prompt: "",
      steps: 50,
      prompt_upsampling: false,
      guidance: 60,
      output_format: "jpeg",
      safety_tolerance: 2,
    });
  });

  it("enforces the ranges at their edges", () => {
    expect([accepts({ steps: 15 }), accepts({ steps: 50 }), accepts({ steps: 14 }), accepts({ steps: 51 }), accepts({ steps: 20.5 })]).toEqual([true, true, false, false, false]);
    expect([accepts({ guidance: 1.5 }), accepts({ guidance: 100 }), accepts({ guidance: 1.4 }), accepts({ guidance: 100.1 })]).toEqual([true, true, false, false]);
    expect([accepts({ safety_tolerance: 0 }), accepts({ safety_tolerance: 6 }), accepts({ safety_tolerance: 7 }), accepts({ safety_tolerance: -1 })]).toEqual([true, true, false, false]);
    expect([accepts({ output_format: "png" }), accepts({ output_format: "webp" })]).toEqual([true, false]);
    expect([accepts({ seed: -5 }), accepts({ seed: 1.5 })]).toEqual([true, false]);
    expect(accepts({ webhook_url: `https://example.com/${"a".repeat(2000)}` })).toBe(true);
    expect(accepts({ webhook_url: `https://example.com/${"a".repeat(2100)}` })).toBe(false);
    expect(accepts({ webhook_url: "not a url" })).toBe(false);
  });

  it("the tool input differs from the model only in image and mask, plus the mask options and mask_id", () => {
    const tool = z.toJSONSchema(FluxFillToolInputSchema, { io: "input", target: "draft-7" }) as unknown as JsonSchema;
    const model = z.toJSONSchema(FluxProFillInputs, { io: "input", target: "draft-7" }) as unknown as JsonSchema;
    const { image: _i, mask: _m, ...toolRest } = tool.properties;
    const { image: _mi, mask: _mm, ...modelRest } = model.properties;
    for (const field of [...Object.keys(MaskOptionsShape), "mask_id", ...Object.keys(StitchShape)]) delete toolRest[field];
    expect(toolRest).toEqual(modelRest);
  });
});

describe("flux_expand's input schema: the upstream Expand model, image widened, plus aspect_ratio, anchor and dry_run", () => {
  let expandListed: JsonSchema;
  beforeAll(async () => {
    const { tools } = await server.client.listTools();
    expandListed = tools.find((t) => t.name === "flux_expand")!.inputSchema as JsonSchema;
  });
  const model = z.toJSONSchema(FluxProExpandInputs, { io: "input", target: "draft-7" }) as unknown as JsonSchema;

  it("has exactly the upstream model's fields plus aspect_ratio, anchor and dry_run, and requires only image", () => {
    expect(Object.keys(expandListed.properties).sort()).toEqual(
      [...Object.keys(FluxProExpandInputs.shape), "aspect_ratio", "anchor", "dry_run", "variations"].sort(),
    );
    expect(expandListed.additionalProperties).toBe(false);
    expect(expandListed.required).toEqual(["image"]);
    // Same definitions as the upstream model; the fields Fill shares are described in flux_fill, which
    // flux_expand points to; the sides and the tool's own fields carry their descriptions.
    const withoutDescription = ({ description: _d, ...rest }: Record<string, unknown>) => rest;
    for (const field of Object.keys(FluxProExpandInputs.shape)) {
      if (field === "image") continue;
      const shared = field in FluxProFillInputs.shape;
      expect(expandListed.properties[field], field).toEqual(shared ? withoutDescription(model.properties[field]!) : model.properties[field]);
    }
    for (const field of ["top", "bottom", "left", "right", "aspect_ratio", "anchor", "dry_run"])
      expect(expandListed.properties[field]?.description, field).toBeTruthy();
    expect(expandListed.properties.aspect_ratio?.description).toMatch(/width grows if narrower, else the height/);
    expect(expandListed.properties.anchor?.enum).toEqual([...ANCHORS]);
    expect(expandListed.properties.image).toEqual(withoutDescription(listed.properties.image!));
  });

  it("mirrors the upstream's sides (0..2048, default 0) and shares every other field's definition with Fill", () => {
    for (const side of ["top", "bottom", "left", "right"]) {
      expect(model.properties[side]).toMatchObject({ type: "integer", minimum: 0, maximum: 2048, default: 0 });
    }
    const fill = z.toJSONSchema(FluxProFillInputs, { io: "input", target: "draft-7" }) as unknown as JsonSchema;
    for (const field of ["steps", "prompt_upsampling", "seed", "guidance", "output_format", "safety_tolerance", "webhook_url", "webhook_secret"]) {
      expect(model.properties[field], field).toEqual(fill.properties[field]);
      expect(FluxProExpandInputs.shape[field as keyof typeof FluxProExpandInputs.shape]).toBe(
        FluxProFillInputs.shape[field as keyof typeof FluxProFillInputs.shape],
      );
    }
    expect(FluxProExpandInputs.parse({ image: "aGVsbG8=" })).toEqual({
      image: "aGVsbG8=",
      top: 0,
      bottom: 0,
      left: 0,
      right: 0,
      prompt: "",
      steps: 50,
      prompt_upsampling: false,
      guidance: 60,
      output_format: "jpeg",
      safety_tolerance: 2,
    });
    expect(FluxProExpandInputs.safeParse({ image: "aGVsbG8=", mask: "aGVsbG8=" }).success).toBe(false);
  });

  it("keeps tools/list small: the expand description stays under 600 characters", async () => {
    const { tools } = await server.client.listTools();
    const tool = tools.find((t) => t.name === "flux_expand")!;
    expect(tool.description!.length).toBeLessThan(600);
    expect(tool.description).toMatch(/aspect_ratio, or both \(sides first.*dry_run/s);
    expect(tool.outputSchema?.properties).toHaveProperty("sides");
    expect(tool.outputSchema?.properties).toHaveProperty("dry_run");
  });
});
