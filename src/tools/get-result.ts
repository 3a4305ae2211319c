import type { McpServer } from "@modelcontextprotocol/server";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { z } from "zod";
import { FluxFillError } from "../errors.js";
import { isResultId, RESULT_URI_PREFIX, type ResultMeta, resultUri } from "../results/store.js";
import type { ResultStore } from "../results/types.js";
import { unknownFieldsError } from "../schema/issues.js";
import { SavedResultOutput } from "../schema/tool.js";
import type { ServerDeps } from "./deps.js";
import { fillResult } from "./flux-fill.js";
import { toolError } from "./result.js";
import { listed, listedOutput } from "../schema/listing.js";

export const GET_RESULT_TOOL = "get_result";

const DESCRIPTION = `Fetch a saved flux_fill or flux_expand result (free): same summary, preview and link. After a call timed out or was cancelled on your side, its task goes on and is saved: wait, then ask for "latest".`;

const getResultShape = {
  id: z.string().min(1).max(200).describe('"latest", a result id or its URI.'),
};

export const GetResultInput = z
  .object(getResultShape, { error: unknownFieldsError(() => Object.keys(getResultShape)) })
  .strict();

/** How many recent ids an error lists, so the caller can pick one. */
const SUGGESTED_IDS = 5;

/** The result id a reference names; "latest" is looked up among the saved results. */
export async function resolveResultId(reference: string, results: ResultStore): Promise<string> {
  const trimmed = reference.trim();
  if (trimmed.toLowerCase() === "latest") {
    // Ids sort by the second; created_at has milliseconds.
    const newest = (await results.list()).reduce<ResultMeta | undefined>(
      (best, meta) => (best === undefined || meta.created_at > best.created_at ? meta : best),
      undefined,
    );
    if (!newest) {
      throw new FluxFillError("bad_input", "There is no saved result yet, so there is no latest one.", {
        suggestion: "Run flux_fill first; if a flux_fill call is still running, try again when it has finished.",
      });
    }
    return newest.id;
  }
  return trimmed.startsWith(RESULT_URI_PREFIX) ? trimmed.slice(RESULT_URI_PREFIX.length) : trimmed;
}

async function unknownIdError(id: string, results: ResultStore): Promise<FluxFillError> {
  const recent = (await results.list()).slice(0, SUGGESTED_IDS).map((m) => m.id);
  const what = isResultId(id)
    ? `No saved result has the id "${id}".`
    : `"${id}" is not a result id (expected e.g. 20261127-184716-1a2b3c4d).`;
  return new FluxFillError("bad_input", what, {
    suggestion:
      recent.length > 0
        ? `The newest saved results are: ${recent.join(", ")}. Use one of these, or "latest".`
        : "There are no saved results yet; a flux_fill call that is still running saves its result when it finishes.",
  });
}

export function registerGetResultTool(server: McpServer, deps: ServerDeps): void {
  server.registerTool(
    GET_RESULT_TOOL,
    {
      title: "Get a saved inpainting result",
      description: DESCRIPTION,
      inputSchema: listed(GetResultInput),
      outputSchema: listedOutput(SavedResultOutput),
      annotations: {
        readOnlyHint: true,
        destructiveHint: false,
        idempotentHint: true,
        openWorldHint: false,
      },
    },
    async (args: { id: string }, extra): Promise<CallToolResult> => {
      try {
        const { previewMaxSize } = deps.config;
        const { results } = deps;
        const id = await resolveResultId(args.id, results);
        if (!isResultId(id)) throw await unknownIdError(id, results);
        const saved = await results.read(id).catch(async (error: unknown) => {
          if (error instanceof FluxFillError && error.kind === "bad_input") throw await unknownIdError(id, results);
          if (error instanceof FluxFillError && error.kind === "service_unavailable") throw error;
          throw new FluxFillError("bad_input", `The result ${id} has metadata but its image file cannot be read.`, {
            suggestion: "The file may have been moved or deleted from the output directory; run flux_fill again.",
            cause: error,
          });
        });
        const result = await fillResult(
          { meta: saved.meta, path: saved.path, uri: resultUri(id), bytes: saved.bytes, reuse: "none", callNotes: [] },
          saved.meta.timings.total_ms,
          previewMaxSize,
        );
        // Fetched by its caller: the result is no longer undelivered, so an identical fill runs afresh.
        const identity = saved.meta.request_identity;
        if (identity !== undefined) {
          deps.deliveries.expect(extra.mcpReq.id, extra.mcpReq.signal, (delivered) => {
            if (delivered) void deps.paid.undelivered.forget(identity, id).catch(() => undefined);
          });
        }
        const [summary, ...rest] = result.content;
        const heading = `Saved result ${id}, created ${saved.meta.created_at}${saved.meta.prompt ? ` for "${saved.meta.prompt.slice(0, 120)}"` : ""}.`;
        return {
          ...result,
          content:
            summary?.type === "text"
              ? [{ type: "text", text: `${heading}\n${summary.text}` }, ...rest]
              : result.content,
        };
      } catch (error) {
        return toolError(error, deps.logger);
      }
    },
  );
}
