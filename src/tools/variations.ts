import type { CallToolResult } from "@modelcontextprotocol/server";
import { contactSheet } from "../images/contact-sheet.js";
import type { FillOutcome } from "../pipeline/save.js";

/**
 * The reply for several candidates (`variations`): one line per candidate (number, id, seed, saved path),
 * one contact-sheet picture with the candidates numbered, a resource link per result, and the first
 * candidate's metadata as structuredContent with every candidate in `variations`.
 */
export async function variationsResult(
  outcomes: FillOutcome[],
  asked: number,
  elapsedMs: number,
  previewMaxSize: number,
): Promise<CallToolResult> {
  const sheet = await contactSheet(
    outcomes.map((o) => o.bytes),
    Math.max(128, Math.floor(previewMaxSize / 2)),
    previewMaxSize,
  );
  const first = outcomes[0]!;
  const expanded = first.meta.inputs.expand !== undefined;
  const seconds = (elapsedMs / 1000).toFixed(1);
  const lines = [
    `${outcomes.length} of ${asked} candidates ${expanded ? "expanded" : "inpainted"} with ${first.meta.provider} in ${seconds} s, numbered as in the picture below:`,
    ...outcomes.map(
      (o, i) =>
        `${i + 1}. id ${o.meta.id}, seed ${o.meta.seed ?? "?"}: ${o.path} (${o.meta.width}×${o.meta.height} ${o.meta.format.toUpperCase()})${o.meta.cost === null ? "" : `, ${o.meta.cost} credits`}${o.reuse === "none" ? "" : ` (${o.reuse === "earlier_result" ? "an earlier identical call's result, free" : "shared with an identical call"})`}.`,
    ),
    ...(outcomes.length < asked ? [`${asked - outcomes.length} candidate(s) failed; the ones above were saved.`] : []),
    "Ask the user which one to keep; each is saved (get_result by id).",
    ...[...new Set(outcomes.flatMap((o) => [...o.meta.notes, ...o.callNotes]))],
  ];
  const structured = {
    id: first.meta.id,
    provider: first.meta.provider,
    path: first.path,
    uri: first.uri,
    mime_type: first.meta.mime_type,
    width: first.meta.width,
    height: first.meta.height,
    seed: first.meta.seed,
    upstream_id: first.meta.upstream_id,
    cost: first.meta.cost,
    elapsed_ms: elapsedMs,
    reuse: first.reuse,
    ...(first.meta.inputs.expand === undefined ? {} : { sides: first.meta.inputs.expand }),
    variations: outcomes.map((o) => ({ id: o.meta.id, seed: o.meta.seed, path: o.path, uri: o.uri })),
  };
  return {
    content: [
      { type: "text", text: lines.join("\n") },
      { type: "image", data: sheet.base64, mimeType: sheet.mimeType },
      ...outcomes.map((o, i) => ({
        type: "resource_link" as const,
        uri: o.uri,
        name: o.meta.file,
        title: `Candidate ${i + 1} (${o.meta.id}, seed ${o.meta.seed ?? "?"})`,
        mimeType: o.meta.mime_type,
        description: `Full-size result (${o.meta.width}×${o.meta.height}), saved at ${o.path}`,
      })),
    ],
    structuredContent: structured,
  };
}
