/**
 * Variations: N runs of the same prepared request with distinct seeds, each its own request (own identity)
 * for the pay-once guard.
 */
import type { ProviderRequest } from "../providers/types.js";
import { requestIdentity } from "../state/identity.js";

/** Distinct seeds for `count` variations: the given seed and the next ones, or a random start. */
export function variationSeeds(given: number | undefined, count: number): number[] {
  const start = given ?? Math.floor(Math.random() * 2 ** 31);
  return Array.from({ length: count }, (_, i) => start + i);
}

/** One of the runs of a prepared request: what is sent, the parameters as asked, its request identity. */
export interface Variation {
  request: ProviderRequest;
  params: ProviderRequest["params"];
  identity: string;
}

/**
 * The `count` runs of `request` (1: the request itself). `params` are the parameters as the caller asked
 * them (the request may ask the upstream for PNG); `putBack` whether the result is put back onto the
 * original, which makes it another request.
 */
export function variationsOf(
  request: ProviderRequest,
  params: ProviderRequest["params"],
  count: number,
  who: { provider: string; user: string | undefined; putBack: boolean },
): Variation[] {
  const seeds = count === 1 ? [params.seed] : variationSeeds(params.seed, count);
  return seeds.map((seed, index) => {
    const variation = count === 1 ? {} : { variation: `${index + 1}/${count}` };
    const variationRequest = (count === 1 ? request : { ...request, params: { ...request.params, seed } }) as ProviderRequest;
    const variationParams = count === 1 ? params : { ...params, seed };
    // What would be sent upstream, from validated input only: the same request whatever the tool call looked like.
    // A variation is its own request: its number (and its seed when the caller gave one) are part of it.
    const identity = requestIdentity({
      kind: request.kind,
      provider: who.provider,
      uploads: request.upload,
      params: {
        ...(count === 1 || params.seed !== undefined ? variationParams : params),
        ...variation,
        ...(who.putBack ? { keep_unmasked: true } : {}),
      },
      user: who.user,
    });
    return { request: variationRequest, params: variationParams, identity };
  });
}
