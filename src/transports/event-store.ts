import type { EventId, EventStore, StreamId } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

interface StoredEvent {
  id: EventId;
  streamId: StreamId;
  message: JSONRPCMessage;
  bytes: number;
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
 * (the SDK replays what it missed). Bounded in count and bytes: a client that comes back after the
 * oldest events were dropped gets what is left.
 */
export class BoundedEventStore implements EventStore {
  private readonly events: StoredEvent[] = [];
  private readonly byId = new Map<EventId, StoredEvent>();
  private bytes = 0;
  private sequence = 0;

  constructor(private readonly limits: EventStoreLimits = DEFAULT_EVENT_STORE_LIMITS) {}

  get size(): { events: number; bytes: number } {
    return { events: this.events.length, bytes: this.bytes };
  }

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    this.sequence += 1;
    // The sequence comes last so a stream id containing "_" (the SDK's "_GET_stream") still parses.
    const id = `${streamId}_${this.sequence.toString().padStart(10, "0")}`;
    const event: StoredEvent = { id, streamId, message, bytes: Buffer.byteLength(JSON.stringify(message)) };
    this.events.push(event);
    this.byId.set(id, event);
    this.bytes += event.bytes;
    while (
      this.events.length > this.limits.maxEvents ||
      (this.bytes > this.limits.maxBytes && this.events.length > 1)
    ) {
      const dropped = this.events.shift()!;
      this.byId.delete(dropped.id);
      this.bytes -= dropped.bytes;
    }
    return id;
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
      if (event.streamId === last.streamId) await send(event.id, event.message);
    }
    return last.streamId;
  }
}
