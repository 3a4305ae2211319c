import { describe, expect, it } from "vitest";
import { EmbeddingCache } from "../../../src/segmentation/onnx/embedding-cache.js";

describe("EmbeddingCache", () => {
  const sized = () => new EmbeddingCache<Uint8Array>(100, (v) => v.byteLength);

  it("drops the least recently used entries to stay within its byte budget", () => {
    const cache = sized();
    cache.set("a", new Uint8Array(40));
    cache.set("b", new Uint8Array(40));
    expect(cache.get("a")).toBeDefined(); // a is now the most recent
    cache.set("c", new Uint8Array(40)); // 120 > 100: b goes
    expect(cache.has("b")).toBe(false);
    expect(cache.has("a")).toBe(true);
    expect(cache.has("c")).toBe(true);
    expect(cache.bytes).toBe(80);
  });

  it("does not keep a value larger than the whole budget, and replacing a key frees the old bytes", () => {
    const cache = sized();
    cache.set("big", new Uint8Array(101));
    expect(cache.size).toBe(0);
    cache.set("a", new Uint8Array(60));
    cache.set("a", new Uint8Array(30));
    expect(cache.bytes).toBe(30);
  });

  it("computes once for callers asking at the same time, then serves from memory", async () => {
    const cache = sized();
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const compute = async () => {
      runs++;
      await gate;
      return new Uint8Array(10);
    };
    const first = cache.getOrCompute("img", compute);
    const second = cache.getOrCompute("img", compute);
    release();
    expect(await first).toBe(await second);
    await cache.getOrCompute("img", compute);
    expect(runs).toBe(1);
  });

  it("a failed computation is not cached: the next caller tries again", async () => {
    const cache = sized();
    await expect(cache.getOrCompute("img", () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await cache.getOrCompute("img", async () => new Uint8Array(1))).toHaveLength(1);
  });
});
