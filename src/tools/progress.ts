import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { ServerNotification, ServerRequest } from "@modelcontextprotocol/sdk/types.js";
import type { FillProgress } from "../providers/types.js";

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/**
 * Turns pipeline progress into `notifications/progress` when the call carries a progress token (the SDK
 * client only sends one when the caller asked for progress). `progress` must grow with each notification,
 * so it counts notifications; the message carries the status and elapsed time.
 */
export function progressReporter(extra: Extra): (progress: FillProgress) => void {
  const token = extra._meta?.progressToken;
  if (token === undefined) return () => {};
  let count = 0;
  return (p) => {
    count += 1;
    const seconds = (p.elapsedMs / 1000).toFixed(1);
    const percent = p.fraction === undefined ? "" : ` (${Math.round(p.fraction * 100)}%)`;
    extra
      .sendNotification({
        method: "notifications/progress",
        params: { progressToken: token, progress: count, message: `${p.message}${percent} — ${p.status}, ${seconds} s elapsed` },
      })
      .catch(() => {
        // A client that went away cannot be told; the fill itself goes on and is saved.
      });
  };
}
