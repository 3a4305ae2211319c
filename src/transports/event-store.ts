import type { EventId, EventStore, StreamId, JSONRPCMessage } from "@modelcontextprotocol/server";

interface StoredEvent {
  id: EventId;
  streamId: StreamId;
  /**
   * Undefined once dropped: the budget's index keeps dropped events until it compacts (up to ~1,000 of
   * them), and with their messages (a fill's reply carries its preview) that was ~30 MB beyond the budget.
   */
  message: JSONRPCMessage | undefined;
  bytes: number;
  store: BoundedEventStore;
  /** Dropped from its store (by its own limits, the shared budget, or the session's end). */
  dropped: boolean;
}

/**
 * One byte budget for the replay events of every session: a thousand sessions each within their own
 * limit could still hold gigabytes. Past the budget the oldest events of any session are dropped first.
 */
export class ReplayBudget {
  /** Every session's events in the order they were stored; dropped ones are skipped and compacted away. */
  private order: StoredEvent[] = [];
  private head = 0;
  private live = 0;
  private totalBytes = 0;

  constructor(readonly maxBytes: number) {}

  get bytes(): number {
    return this.totalBytes;
  }

  get events(): number {
    return this.live;
  }

  /** @internal Called by a store for each event it keeps. */
  added(event: StoredEvent): void {
    this.order.push(event);
    this.live += 1;
    this.totalBytes += event.bytes;
    while (this.totalBytes > this.maxBytes && this.head < this.order.length) {
      const oldest = this.order[this.head]!;
      this.head += 1;
      if (!oldest.dropped) oldest.store.dropOldest();
    }
    this.compact();
  }

  /** @internal Called by a store for each event it drops. */
  removed(event: StoredEvent): void {
    this.live -= 1;
    this.totalBytes -= event.bytes;
    this.compact();
  }

  /** Forgets the skipped prefix and, when most entries are dead, the dead ones, so the index stays small. */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
    if (this.order.length > 1024 && this.live * 2 < this.order.length - this.head) {
      this.order = this.order.slice(this.head).filter((e) => !e.dropped);
      this.head = 0;
    }
  }
}

export interface EventStoreLimits {
  /** Most events kept (oldest dropped first). */
  maxEvents: number;
  /** Most bytes of JSON kept (a fill's result carries a preview image of up to ~1 MB). */
  maxBytes: number;
}

export const DEFAULT_EVENT_STORE_LIMITS: EventStoreLimits = { maxEvents: 1000, maxBytes: 16 * 1024 * 1024 };

/**
 * One session's SSE events, kept so a client that lost its connection can resume with `Last-Event-ID`
 * (the SDK replays what it missed). Bounded in count and bytes, and by a budget shared with the other
 * sessions: a client that comes back after the oldest events were dropped gets what is left.
 */
export class BoundedEventStore implements EventStore {
  private readonly events: StoredEvent[] = [];
  private readonly byId = new Map<EventId, StoredEvent>();
  private bytes = 0;
  private sequence = 0;

  constructor(
    private readonly limits: EventStoreLimits = DEFAULT_EVENT_STORE_LIMITS,
    private readonly budget?: ReplayBudget,
  ) {}

  get size(): { events: number; bytes: number } {
    return { events: this.events.length, bytes: this.bytes };
  }

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    this.sequence += 1;
    // The sequence comes last so a stream id containing "_" (the SDK's "_GET_stream") still parses.
    const id = `${streamId}_${this.sequence.toString().padStart(10, "0")}`;
    const event: StoredEvent = {
      id,
      streamId,
      message,
      bytes: Buffer.byteLength(JSON.stringify(message)),
      store: this,
      dropped: false,
    };
    this.events.push(event);
    this.byId.set(id, event);
    this.bytes += event.bytes;
    while (
      this.events.length > this.limits.maxEvents ||
      (this.bytes > this.limits.maxBytes && this.events.length > 1)
    ) {
      this.dropOldest();
    }
    this.budget?.added(event);
    return id;
  }

  /** Drops this store's oldest event (its own limits, or the shared budget). */
  dropOldest(): void {
    const dropped = this.events.shift();
    if (dropped === undefined) return;
    this.byId.delete(dropped.id);
    this.bytes -= dropped.bytes;
    dropped.dropped = true;
    dropped.message = undefined;
    if (this.budget !== undefined) this.budget.removed(dropped);
  }

  /** Drops every event (the session ended), giving their bytes back to the shared budget. */
  clear(): void {
    while (this.events.length > 0) this.dropOldest();
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    return this.byId.get(eventId)?.streamId;
  }

  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    const last = this.byId.get(lastEventId);
    if (!last) return "";
    const index = this.events.indexOf(last);
    for (const event of this.events.slice(index + 1)) {
      if (event.streamId === last.streamId && event.message !== undefined) await send(event.id, event.message);
    }
    return last.streamId;
  }
}
