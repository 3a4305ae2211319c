import type { ServerContext } from "@modelcontextprotocol/server";
import type { FillProgress } from "../providers/types.js";

/** What the SDK hands a tool handler besides its arguments (signal, progress token, notifications). */
export type ToolExtra = ServerContext;

/** Least time between two notifications with the same status (the poll loop may report up to 10 a second). */
export const REPEAT_STATUS_INTERVAL_MS = 1000;

/**
 * Decides which progress reports become notifications: every change of status at once, a repeat of the
 * same status at most once per `intervalMs` of the fill's own elapsed time (so it is deterministic).
 */
export function progressGate(intervalMs = REPEAT_STATUS_INTERVAL_MS): (progress: FillProgress) => boolean {
  let lastStatus: string | undefined;
  let lastSentMs = Number.NEGATIVE_INFINITY;
  return (p) => {
    if (p.status === lastStatus && p.elapsedMs - lastSentMs < intervalMs) return false;
    lastStatus = p.status;
    lastSentMs = p.elapsedMs;
    return true;
  };
}

/**
 * Turns pipeline progress into `notifications/progress` when the call carries a progress token (the SDK
 * client only sends one when the caller asked for progress). `progress` must grow with each notification,
 * so it counts notifications; the message carries the status and elapsed time.
 */
export function progressReporter(extra: ToolExtra): (progress: FillProgress) => void {
  const token = extra.mcpReq._meta?.progressToken;
  if (token === undefined) return () => {};
  const worthSending = progressGate();
  let count = 0;
  return (p) => {
    if (!worthSending(p)) return;
    count += 1;
    const seconds = (p.elapsedMs / 1000).toFixed(1);
    const percent = p.fraction === undefined ? "" : ` (${Math.round(p.fraction * 100)}%)`;
    extra.mcpReq
      .notify({
        method: "notifications/progress",
        params: {
          progressToken: token,
          progress: count,
          message: `${p.message}${percent} — ${p.status}, ${seconds} s elapsed`,
        },
      })
      .catch(() => {
        // A client that went away cannot be told; the fill itself goes on and is saved.
      });
  };
}
