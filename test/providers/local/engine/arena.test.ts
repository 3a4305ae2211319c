import { describe, expect, it } from "vitest";
import {
  Arena,
  sharedFloat32Array,
  sharedInt32Array,
  sharedUint8Array,
  withArena,
} from "../../../../src/providers/local/engine/arena.js";

describe("Arena", () => {
  it("hands out zeroed, 8-byte aligned pieces of shared memory, reused after a reset", () => {
    const arena = new Arena(1024, 4096);
    const a = arena.take(10);
    const b = arena.take(100);
    expect(a.byteOffset).toBe(0);
    expect(b.byteOffset).toBe(16);
    expect(b.buffer).toBe(a.buffer);
    expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    new Uint8Array(b.buffer, b.byteOffset, 100).fill(7);
    arena.reset();
    const again = arena.take(116);
    expect(again.buffer).toBe(a.buffer);
    expect(new Uint8Array(again.buffer, again.byteOffset, 116).every((v) => v === 0)).toBe(true);
  });

  it("opens a new chunk when one is full, and one of its own for a large request", () => {
    const arena = new Arena(1024, 1 << 20);
    const first = arena.take(1000);
    const second = arena.take(100);
    expect(second.buffer).not.toBe(first.buffer);
    const large = arena.take(5000);
    expect(large.buffer.byteLength).toBe(5000);
    expect(arena.heldBytes).toBe(1024 + 1024 + 5000);
    // After a reset the same sequence lands in the same places.
    arena.reset();
    expect(arena.take(1000).buffer).toBe(first.buffer);
    expect(arena.take(100).buffer).toBe(second.buffer);
    expect(arena.take(5000).buffer).toBe(large.buffer);
  });

  it("lets go of chunks beyond what it keeps, at the reset", () => {
    const arena = new Arena(1024, 2048);
    arena.take(1024);
    arena.take(1024);
    arena.take(1024);
    expect(arena.heldBytes).toBe(3072);
    arena.reset();
    expect(arena.heldBytes).toBe(2048);
  });
});

describe("withArena", () => {
  it("takes the engine's arrays from the arena inside the step, fresh memory outside", () => {
    const arena = new Arena(1 << 16);
    const inside = withArena(arena, () => [sharedFloat32Array(10), sharedInt32Array(3), sharedUint8Array(5)] as const);
    expect(inside[0].buffer).toBe(inside[1].buffer);
    expect(inside[2].buffer).toBe(inside[0].buffer);
    expect(inside[1].byteOffset).toBe(40);
    const outside = sharedFloat32Array(10);
    expect(outside.buffer).not.toBe(inside[0].buffer);
    expect(outside.buffer.byteLength).toBe(40);
    expect(outside.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it("restores the previous arena after the step, also when it throws", () => {
    const outer = new Arena(1 << 16);
    const inner = new Arena(1 << 16);
    withArena(outer, () => {
      expect(() =>
        withArena(inner, () => {
          throw new Error("boom");
        }),
      ).toThrow("boom");
      const after = sharedUint8Array(8);
      expect(after.buffer).toBe(withArena(outer, () => sharedUint8Array(8)).buffer);
    });
  });
});
