import type { JSONRPCMessage } from "@modelcontextprotocol/client";
import { describe, expect, it } from "vitest";
import { BoundedEventStore, DEFAULT_EVENT_STORE_LIMITS, ReplayBudget } from "../../src/transports/event-store.js";
import { collectGarbage } from "../helpers/gc.js";

const note = (n: number): JSONRPCMessage => ({ jsonrpc: "2.0", method: "notifications/message", params: { n } });

async function replay(store: BoundedEventStore, after: string) {
  const sent: Array<{ id: string; message: JSONRPCMessage }> = [];
  const stream = await store.replayEventsAfter(after, {
    send: async (id, message) => {
      sent.push({ id, message });
    },
  });
  return { stream, sent };
}

describe("BoundedEventStore", () => {
  it("replays the events of the same stream after the given one, in order", async () => {
    const store = new BoundedEventStore();
    const a1 = await store.storeEvent("stream-a", note(1));
    await store.storeEvent("_GET_stream", note(2));
    const a2 = await store.storeEvent("stream-a", note(3));
    const a3 = await store.storeEvent("stream-a", note(4));
    const { stream, sent } = await replay(store, a1);
    expect(stream).toBe("stream-a");
    expect(sent.map((e) => e.id)).toEqual([a2, a3]);
    expect(sent.map((e) => (e.message as unknown as { params: { n: number } }).params.n)).toEqual([3, 4]);
    expect(await store.getStreamIdForEventId(a2)).toBe("stream-a");
  });

  it("handles stream ids that contain underscores (the SDK's standalone stream)", async () => {
    const store = new BoundedEventStore();
    const first = await store.storeEvent("_GET_stream", note(1));
    await store.storeEvent("_GET_stream", note(2));
    expect(await store.getStreamIdForEventId(first)).toBe("_GET_stream");
    expect((await replay(store, first)).sent).toHaveLength(1);
  });

  it("gives unique, increasing ids", async () => {
    const store = new BoundedEventStore();
    const ids = [];
    for (let i = 0; i < 20; i++) ids.push(await store.storeEvent("s", note(i)));
    expect(new Set(ids).size).toBe(20);
    expect([...ids].sort()).toEqual(ids);
  });

  it("answers an unknown event id with no stream and sends nothing", async () => {
    const store = new BoundedEventStore();
    await store.storeEvent("s", note(1));
    expect(await replay(store, "s_9999999999")).toEqual({ stream: "", sent: [] });
    expect(await store.getStreamIdForEventId("nope")).toBeUndefined();
  });

  it("drops the oldest events beyond the count limit", async () => {
    const store = new BoundedEventStore({ maxEvents: 3, maxBytes: 1e9 });
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await store.storeEvent("s", note(i)));
    expect(store.size.events).toBe(3);
    expect(await store.getStreamIdForEventId(ids[1]!)).toBeUndefined();
    expect((await replay(store, ids[2]!)).sent.map((e) => e.id)).toEqual([ids[3], ids[4]]);
  });

  it("drops the oldest events beyond the byte limit, but keeps the newest even when it alone is over", async () => {
    const big = (n: number): JSONRPCMessage => ({ jsonrpc: "2.0", method: "x", params: { data: "x".repeat(n) } });
    const store = new BoundedEventStore({ maxEvents: 100, maxBytes: 2500 });
    await store.storeEvent("s", big(1000));
    await store.storeEvent("s", big(1000));
    expect(store.size.events).toBe(2);
    await store.storeEvent("s", big(1000));
    expect(store.size.events).toBe(2);
    expect(store.size.bytes).toBeLessThanOrEqual(2500);
    await store.storeEvent("s", big(5000));
    expect(store.size.events).toBe(1);
  });
});

describe("ReplayBudget: one byte budget for every session's events", () => {
  const big = (n: number): JSONRPCMessage => ({
    jsonrpc: "2.0",
    method: "notifications/message",
    params: { n, pad: "x".repeat(1000) },
  });
  const bytesOf = (n: number) => Buffer.byteLength(JSON.stringify(big(n)));

  it("drops the oldest events of any session first once the sum passes the budget", async () => {
    const budget = new ReplayBudget(bytesOf(0) * 3 + 10);
    const a = new BoundedEventStore(DEFAULT_EVENT_STORE_LIMITS, budget);
    const b = new BoundedEventStore(DEFAULT_EVENT_STORE_LIMITS, budget);
    const a1 = await a.storeEvent("s", big(1));
    const b1 = await b.storeEvent("s", big(2));
    const a2 = await a.storeEvent("s", big(3));
    expect(budget.events).toBe(3);
    const b2 = await b.storeEvent("s", big(4));
    // a1 was the oldest of all: gone; the rest stay and replay.
    expect(budget.events).toBe(3);
    expect(budget.bytes).toBeLessThanOrEqual(budget.maxBytes);
    expect(await a.getStreamIdForEventId(a1)).toBeUndefined();
    expect(await a.getStreamIdForEventId(a2)).toBe("s");
    expect((await replay(b, b1)).sent.map((e) => e.id)).toEqual([b2]);
    await b.storeEvent("s", big(5));
    expect(await b.getStreamIdForEventId(b1)).toBeUndefined();
    expect(a.size.events + b.size.events).toBe(3);
  });

  it("gives a closed session's bytes back, and stays small over many sessions", async () => {
    const budget = new ReplayBudget(bytesOf(0) * 50);
    for (let session = 0; session < 500; session++) {
      const store = new BoundedEventStore(DEFAULT_EVENT_STORE_LIMITS, budget);
      for (let i = 0; i < 5; i++) await store.storeEvent("s", big(i));
      if (session % 2 === 0) store.clear();
      expect(budget.bytes).toBeLessThanOrEqual(budget.maxBytes);
    }
    expect(budget.events).toBeLessThanOrEqual(50);
    const stores = [new BoundedEventStore(DEFAULT_EVENT_STORE_LIMITS, budget)];
    await stores[0]!.storeEvent("s", big(1));
    stores[0]!.clear();
    expect(stores[0]!.size).toEqual({ events: 0, bytes: 0 });
  });

  it("holds no more than its budget: the messages of dropped events can be collected", async () => {
    const budget = new ReplayBudget(bytesOf(0) * 10);
    const stores = [0, 1, 2].map(() => new BoundedEventStore(DEFAULT_EVENT_STORE_LIMITS, budget));
    const messages: Array<WeakRef<JSONRPCMessage>> = [];
    for (let i = 0; i < 300; i++) {
      const message = big(i);
      messages.push(new WeakRef(message));
      await stores[i % 3]!.storeEvent("s", message);
    }
    stores[0]!.clear();
    expect(budget.events).toBeLessThanOrEqual(10);
    await collectGarbage();
    // The ~7 events still kept, not the 300 stored (the budget's index of them compacts only past 1,024).
    expect(messages.filter((m) => m.deref() !== undefined).length).toBeLessThanOrEqual(10);
  });
});
