import type { CallToolResult } from "@modelcontextprotocol/server";
import { describeError } from "../errors.js";
import type { Logger } from "../log.js";

/**
 * The one place where an error becomes an MCP tool error (`isError: true`), so the model can read it and
 * fix its call. Unexpected errors are logged in full on stderr, but only their message reaches the client.
 */
export function toolError(error: unknown, logger: Logger): CallToolResult {
  const { kind, text } = describeError(error);
  if (kind === "internal") logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  else logger.info(`tool error (${kind}): ${text.split("\n")[0]}`);
  return { content: [{ type: "text", text: `Error (${kind}): ${text}` }], isError: true };
}
