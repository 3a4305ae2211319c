import { describe, expect, it } from "vitest";
import { canonicalJson, requestIdentity } from "../../src/state/identity.js";

const uploads = { image: Buffer.from("image-bytes"), mask: Buffer.from("mask-bytes") };
const params = { prompt: "p", steps: 50, guidance: 60, output_format: "jpeg", seed: undefined };

describe("requestIdentity", () => {
  it("is the same for the same upload bytes and fields, whatever the key order, with undefined fields left out", () => {
    const a = requestIdentity({ kind: "fill", provider: "bfl", uploads, params });
    const b = requestIdentity({
      kind: "fill",
      provider: "bfl",
      uploads: { mask: Buffer.from("mask-bytes"), image: Buffer.from("image-bytes") },
      params: { output_format: "jpeg", guidance: 60, steps: 50, prompt: "p" },
    });
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
  });

  it("changes with any byte, any field, the seed, the kind and the provider", () => {
    const base = requestIdentity({ kind: "fill", provider: "bfl", uploads, params });
    const variants = [
      requestIdentity({ kind: "expand", provider: "bfl", uploads, params }),
      requestIdentity({ kind: "fill", provider: "local", uploads, params }),
      requestIdentity({
        kind: "fill",
        provider: "bfl",
        uploads: { ...uploads, mask: Buffer.from("mask-bytez") },
        params,
      }),
      requestIdentity({ kind: "fill", provider: "bfl", uploads, params: { ...params, seed: 1 } }),
      requestIdentity({ kind: "fill", provider: "bfl", uploads, params: { ...params, steps: 49 } }),
      // Bytes moved across the image/mask boundary are a different request.
      requestIdentity({
        kind: "fill",
        provider: "bfl",
        uploads: { image: Buffer.from("image-bytesm"), mask: Buffer.from("ask-bytes") },
        params,
      }),
    ];
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
  });

  it("canonicalJson sorts keys at every depth and drops undefined", () => {
    expect(canonicalJson({ b: 1, a: { d: undefined, c: [2, { f: 1, e: 0 }] } })).toBe(
      '{"a":{"c":[2,{"e":0,"f":1}]},"b":1}',
    );
  });
});
