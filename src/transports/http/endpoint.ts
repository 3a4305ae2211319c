/** The one MCP endpoint, and the JSON-RPC error answer for problems found before the MCP layer. */
import type { Response } from "express";

export const MCP_PATH = "/mcp";

/** A JSON-RPC error response for problems found before the MCP layer (no request id is known yet). */
export function jsonRpcError(
  res: Response,
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  res.status(status).set(headers).json({ jsonrpc: "2.0", id: null, error: { code, message } });
}
