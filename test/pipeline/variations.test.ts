/** variationsOf: N runs of one prepared request, each with its own seed and request identity. */
import { describe, expect, it } from "vitest";
import { variationSeeds, variationsOf } from "../../src/pipeline/variations.js";
import { requestIdentity } from "../../src/state/identity.js";
import { fillRequest } from "../helpers/fill-request.js";

const pixels = { data: Buffer.alloc(4), width: 2, height: 2, channels: 1 as const };
const PARAMS = { prompt: "a lamp", steps: 50, prompt_upsampling: false, guidance: 60, output_format: "jpeg", safety_tolerance: 2 } as const;
const upload = { image: Buffer.from("image bytes"), mask: Buffer.from("mask bytes") };
const who = { provider: "bfl", user: undefined, putBack: false };

describe("variationSeeds", () => {
  it("counts up from the given seed", () => {
    expect(variationSeeds(41, 3)).toEqual([41, 42, 43]);
  });
});

describe("variationsOf", () => {
  it("is the request itself for one run, with the identity of its parameters as asked", () => {
    const request = fillRequest(pixels, pixels, upload, { ...PARAMS, seed: 7 });
    const [only, ...rest] = variationsOf(request, request.params, 1, who);
    expect(rest).toEqual([]);
    expect(only!.request).toBe(request);
    expect(only!.identity).toBe(
      requestIdentity({ kind: "fill", provider: "bfl", uploads: upload, params: request.params, user: undefined }),
    );
  });

  it("gives N runs consecutive seeds and N distinct identities, none equal to the single run's", () => {
    const request = fillRequest(pixels, pixels, upload, { ...PARAMS, seed: 100 });
    const runs = variationsOf(request, request.params, 3, who);
    expect(runs.map((r) => r.request.params.seed)).toEqual([100, 101, 102]);
    expect(runs.map((r) => r.params.seed)).toEqual([100, 101, 102]);
    const identities = new Set(runs.map((r) => r.identity));
    expect(identities.size).toBe(3);
    expect(identities.has(variationsOf(request, request.params, 1, who)[0]!.identity)).toBe(false);
  });

  it("without a seed, names runs by their number only, so a repeat of the same call has the same identities", () => {
    const request = fillRequest(pixels, pixels, upload, { ...PARAMS });
    const first = variationsOf(request, request.params, 2, who).map((r) => r.identity);
    const again = variationsOf(request, request.params, 2, who).map((r) => r.identity);
    expect(again).toEqual(first);
  });

  it("makes another request when the result is put back, or another user asks", () => {
    const request = fillRequest(pixels, pixels, upload, { ...PARAMS, seed: 1 });
    const plain = variationsOf(request, request.params, 1, who)[0]!.identity;
    expect(variationsOf(request, request.params, 1, { ...who, putBack: true })[0]!.identity).not.toBe(plain);
    expect(variationsOf(request, request.params, 1, { ...who, user: "alice" })[0]!.identity).not.toBe(plain);
  });
});
