import { describe, expect, it } from "vitest";
import { identifyRequest, LineGuard, type OversizeLine } from "../../src/transports/line-guard.js";

async function run(limit: number, chunks: Buffer[]): Promise<{ passed: string[]; dropped: OversizeLine[] }> {
  const dropped: OversizeLine[] = [];
  const guard = new LineGuard(limit, (line) => dropped.push(line));
  const passed: string[] = [];
  guard.on("data", (chunk: Buffer) => passed.push(chunk.toString("utf8")));
  const done = new Promise((resolve) => guard.on("end", resolve));
  for (const chunk of chunks) guard.write(chunk);
  guard.end();
  await done;
  return { passed, dropped };
}

describe("LineGuard", () => {
  it("passes each complete line under the limit as one chunk, however it was split", async () => {
    const text = '{"a":1}\n{"b":2}\n';
    const pieces = [...text].map((c) => Buffer.from(c));
    const { passed, dropped } = await run(100, pieces);
    expect(passed).toEqual(['{"a":1}\n', '{"b":2}\n']);
    expect(dropped).toEqual([]);
  });

  it("drops an oversize line, reports its size, head and tail, and keeps serving the next one", async () => {
    const big = `{"method":"tools/call","params":{"image":"${"A".repeat(5000)}"},"jsonrpc":"2.0","id":7}\n`;
    const chunks: Buffer[] = [];
    for (let i = 0; i < big.length; i += 333) chunks.push(Buffer.from(big.slice(i, i + 333)));
    chunks.push(Buffer.from('{"jsonrpc":"2.0","id":8,"method":"ping"}\n'));
    const { passed, dropped } = await run(1000, chunks);
    expect(passed).toEqual(['{"jsonrpc":"2.0","id":8,"method":"ping"}\n']);
    expect(dropped).toHaveLength(1);
    expect(dropped[0]!.bytes).toBe(big.length);
    expect(dropped[0]!.head.startsWith('{"method":"tools/call"')).toBe(true);
    expect(dropped[0]!.tail.endsWith('"id":7}\n')).toBe(true);
    expect(identifyRequest(dropped[0]!)).toEqual({ id: 7, method: "tools/call" });
  });

  it("a line of exactly the limit passes; one byte more is dropped", async () => {
    const exact = `${"x".repeat(9)}\n`;
    expect((await run(10, [Buffer.from(exact)])).passed).toEqual([exact]);
    expect((await run(9, [Buffer.from(exact)])).dropped).toHaveLength(1);
  });
});

describe("identifyRequest", () => {
  it("finds an id written first, a string id, and none at all", () => {
    expect(identifyRequest({ bytes: 1, head: '{"jsonrpc":"2.0","id":"abc","method":"tools/call","params":{', tail: "...}}" })).toEqual({
      id: "abc",
      method: "tools/call",
    });
    expect(identifyRequest({ bytes: 1, head: '{"params":{"x":"', tail: 'AAAA"}}' })).toEqual({ id: undefined, method: undefined });
  });

  it("does not take an id nested inside params for the request's own", () => {
    expect(identifyRequest({ bytes: 1, head: '{"method":"tools/call","params":{"id":5,"x":"', tail: 'AAA"}}' }).id).toBeUndefined();
  });
});
