/**
 * Whether a tool result actually reached its caller. The SDK sends a handler's result after the handler
 * returns, and not at all when the call was cancelled; a closed transport makes the send fail; over HTTP
 * a client that dropped its response stream is reported by the transport (`lost`). Each result a tool
 * hands back is settled exactly once: delivered, or not.
 */
import type { RequestId } from "@modelcontextprotocol/server";

/** Ids lost before their tool registered, remembered this many at most. */
const MAX_LOST_IDS = 1000;

export class DeliveryTracker {
  private readonly waiting = new Map<RequestId, (delivered: boolean) => void>();
  private readonly lostEarly = new Set<RequestId>();

  /**
   * Calls `settle` once: true when the response to `requestId` was sent, false when the call was
   * cancelled (`signal`), the send failed, or the transport says the caller went away.
   */
  expect(requestId: RequestId, signal: AbortSignal, settle: (delivered: boolean) => void): void {
    let done = false;
    const finish = (delivered: boolean) => {
      if (done) return;
      done = true;
      signal.removeEventListener("abort", onAbort);
      this.waiting.delete(requestId);
      settle(delivered);
    };
    const onAbort = () => finish(false);
    if (signal.aborted || this.lostEarly.delete(requestId)) {
      finish(false);
      return;
    }
    signal.addEventListener("abort", onAbort, { once: true });
    this.waiting.set(requestId, finish);
  }

  /** The transport finished sending the response to `requestId` (`ok`) or failed to. */
  sent(requestId: RequestId, ok: boolean): void {
    this.waiting.get(requestId)?.(ok);
  }

  /** The caller of these requests went away before their responses reached it. */
  lost(requestIds: RequestId[]): void {
    for (const id of requestIds) {
      const waiting = this.waiting.get(id);
      if (waiting) waiting(false);
      else {
        this.lostEarly.add(id);
        if (this.lostEarly.size > MAX_LOST_IDS) this.lostEarly.delete(this.lostEarly.values().next().value!);
      }
    }
  }
}
