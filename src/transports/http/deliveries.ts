/** Calls whose reply never reached the caller: their results are marked lost (either era). */
import type { Response } from "express";
import type { FluxFillServer } from "../../server.js";

/** The ids of the JSON-RPC requests in a POST body (one message or a batch). */
function requestIdsOf(body: unknown): Array<string | number> {
  const messages = Array.isArray(body) ? body : [body];
  return messages.flatMap((m) => {
    const id = (m as { id?: unknown; method?: unknown } | null)?.id;
    return (typeof id === "string" || typeof id === "number") && typeof (m as { method?: unknown }).method === "string"
      ? [id]
      : [];
  });
}

/** A response stream that closed before it finished: its callers never got their results. */
export function reportLostResponses(res: Response, body: unknown, server: FluxFillServer): void {
  res.once("close", () => {
    if (!res.writableFinished) server.deliveries.lost(requestIdsOf(body));
  });
}
