import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { FluxFillError } from "../../../src/errors.js";
import { createBflProvider } from "../../../src/providers/bfl/provider.js";
import {
  BASE64_SLICE_BYTES,
  base64Chunks,
  base64Length,
  buildSubmitBody,
  streamSubmitBody,
} from "../../../src/providers/bfl/submit-body.js";
import type { FillRequest } from "../../../src/providers/types.js";
import { type Emulator, startEmulator } from "../../helpers/emulator.js";
import { prng } from "../../helpers/images.js";
import { DEFAULT_PARAMS, makeRequest } from "./fixtures.js";

function randomBytes(length: number, seed: number): Buffer {
  const rand = prng(seed);
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = rand() & 255;
  return out;
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<{ bytes: Buffer; chunks: number[] }> {
  const parts: Buffer[] = [];
  const chunks: number[] = [];
  const reader = stream.getReader();
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    parts.push(Buffer.from(next.value));
    chunks.push(next.value.length);
  }
  return { bytes: Buffer.concat(parts), chunks };
}

function bodySource(image: Buffer, mask: Buffer, params: Partial<FillRequest["params"]> = {}) {
  return { params: { ...DEFAULT_PARAMS, ...params }, upload: { image, mask } };
}

describe("base64Chunks", () => {
  it.each([0, 1, 2, 3, 4, 5, 6, 7, 100, 3 * 1024 + 2])("joins to the whole base64 of %i bytes", (length) => {
    const bytes = randomBytes(length, length + 1);
    for (const slice of [3, 6, 9, 3072]) {
      const joined = [...base64Chunks(bytes, slice)].map((c) => c.toString("latin1")).join("");
      expect(joined).toBe(bytes.toString("base64"));
      expect(joined.length).toBe(base64Length(length));
    }
  });

  it("refuses a slice size that would put padding inside the stream", () => {
    expect(() => [...base64Chunks(Buffer.alloc(10), 4)]).toThrow(/multiple of 3/);
    expect(() => [...base64Chunks(Buffer.alloc(10), 0)]).toThrow(/multiple of 3/);
  });
});

describe("streamSubmitBody", () => {
  it.each([
    ["lengths 0, 1, 2 mod 3 and tiny slices", 3 * 37, 3 * 11 + 1, 6],
    ["uneven slices", 3 * 40 + 2, 5, 9],
    ["the default slice", BASE64_SLICE_BYTES * 2 + 1, 1000, BASE64_SLICE_BYTES],
  ])(
    "is byte for byte JSON.stringify(buildSubmitBody()), with the exact length (%s)",
    async (_, imageLength, maskLength, slice) => {
      const source = bodySource(randomBytes(imageLength, 1), randomBytes(maskLength, 2), {
        // Escapes in parameters are JSON.stringify's own.
        prompt: 'a "quoted" \\ back-slashed\nline, ünïcødé 🎨 and </script>',
        seed: 123,
        webhook_url: undefined,
      });
      const body = streamSubmitBody(source, slice);
      const { bytes } = await collect(body.stream());
      const expected = JSON.stringify(buildSubmitBody(source));
      expect(bytes.toString("utf8")).toBe(expected);
      expect(body.length).toBe(bytes.length);
      expect(body.length).toBe(Buffer.byteLength(expected));
      const parsed = JSON.parse(bytes.toString("utf8")) as Record<string, unknown>;
      expect(Buffer.from(parsed.image as string, "base64").equals(source.upload.image)).toBe(true);
      expect(Buffer.from(parsed.mask as string, "base64").equals(source.upload.mask)).toBe(true);
      expect("webhook_url" in parsed).toBe(false);
    },
  );

  it("works with no parameters at all", async () => {
    const source = {
      params: {} as FillRequest["params"],
      upload: { image: Buffer.from("abc"), mask: Buffer.from("d") },
    };
    const { bytes } = await collect(streamSubmitBody(source).stream());
    expect(JSON.parse(bytes.toString("utf8"))).toEqual({ image: "YWJj", mask: "ZA==" });
  });

  it("sends an expansion's image alone, its sides as parameters (no mask field)", async () => {
    const source = {
      params: { ...DEFAULT_PARAMS, top: 0, bottom: 64, left: 7, right: 2048 },
      upload: { image: randomBytes(3 * 50 + 1, 5) },
    };
    const body = streamSubmitBody(source, 6);
    const { bytes } = await collect(body.stream());
    expect(bytes.toString("utf8")).toBe(JSON.stringify(buildSubmitBody(source)));
    expect(body.length).toBe(bytes.length);
    const parsed = JSON.parse(bytes.toString("utf8")) as Record<string, unknown>;
    expect(parsed).toMatchObject({ top: 0, bottom: 64, left: 7, right: 2048, steps: 50 });
    expect(Buffer.from(parsed.image as string, "base64").equals(source.upload.image)).toBe(true);
    expect("mask" in parsed).toBe(false);
    const bare = await collect(streamSubmitBody({ params: {} as FillRequest["params"], upload: { image: Buffer.from("abc") } }).stream());
    expect(JSON.parse(bare.bytes.toString("utf8"))).toEqual({ image: "YWJj" });
  });

  it("gives a fresh, complete stream each time (a retried submit resends everything)", async () => {
    const source = bodySource(randomBytes(5000, 3), randomBytes(700, 4));
    const body = streamSubmitBody(source, 300);
    const first = await collect(body.stream());
    const second = await collect(body.init().body as ReadableStream<Uint8Array>);
    expect(second.bytes.equals(first.bytes)).toBe(true);
  });

  it("holds back its last bytes until the checks pass, and never sends them when a check fails", async () => {
    let pass!: () => void;
    const passing = new Promise<void>((resolve) => {
      pass = resolve;
    });
    const source = { ...bodySource(randomBytes(900, 8), randomBytes(90, 9)), checked: passing };
    const body = streamSubmitBody(source, 300);
    const reader = body.stream().getReader();
    let received = 0;
    for (let i = 0; i < 20 && received < body.length - 2; i++) received += (await reader.read()).value?.length ?? 0;
    expect(received).toBe(body.length - 2); // everything but the closing `"}`
    const last = reader.read();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(body.handedOverWhole()).toBe(false);
    pass();
    expect((await last).value?.length).toBe(2);
    expect(body.handedOverWhole()).toBe(true);
    expect((await reader.read()).done).toBe(true);

    const problem = new Error("the mask is empty");
    const failing = streamSubmitBody({ ...source, checked: Promise.reject(problem) }, 300);
    await expect(collect(failing.stream())).rejects.toBe(problem);
    expect(failing.handedOverWhole()).toBe(false);
  });

  it("never holds more than one slice of base64 per chunk (memory stays flat for big images)", async () => {
    const image = randomBytes(BASE64_SLICE_BYTES * 5 + 7, 5);
    const { chunks } = await collect(streamSubmitBody(bodySource(image, Buffer.alloc(30))).stream());
    expect(Math.max(...chunks)).toBe(base64Length(BASE64_SLICE_BYTES));
    expect(chunks.length).toBeGreaterThan(6);
  });
});

describe("streamSubmitBody over HTTP", () => {
  let server: http.Server;
  let url: string;
  let last: { headers: http.IncomingHttpHeaders; body: Buffer } | undefined;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on("data", (c: Buffer) => parts.push(c));
      req.on("end", () => {
        last = { headers: req.headers, body: Buffer.concat(parts) };
        res.end("{}");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("is sent by fetch with an exact Content-Length, not chunked", async () => {
    const source = bodySource(randomBytes(BASE64_SLICE_BYTES + 11, 6), randomBytes(99, 7));
    const body = streamSubmitBody(source);
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(body.length) },
      ...body.init(),
    });
    expect(response.status).toBe(200);
    expect(last?.headers["content-length"]).toBe(String(body.length));
    expect(last?.headers["transfer-encoding"]).toBeUndefined();
    expect(last?.body.toString("utf8")).toBe(JSON.stringify(buildSubmitBody(source)));
  });
});

describe("the bfl provider's submit", () => {
  const KEY = "submit-body-test-key";
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator({ apiKey: KEY, generationMs: 20 });
  });
  afterAll(async () => {
    await emu.close();
  });

  it("sends the streamed body with Content-Length, and sends it whole again after a 429", async () => {
    emu.reset({ rateLimitNextSubmits: 1, retryAfter: "0" });
    const request = await makeRequest({ width: 300, height: 200, params: { seed: 9 } });
    const provider = createBflProvider({
      apiKey: KEY,
      baseUrl: emu.apiBaseUrl,
      pollIntervalMs: 10,
      timeoutMs: 5000,
      retryBaseMs: 10,
    });
    const output = await provider.fill(request, { signal: new AbortController().signal });
    expect(output.upstreamId).toBeDefined();
    expect(emu.submits.map((s) => s.status)).toEqual([429, 200]);
    const expected = JSON.parse(JSON.stringify(buildSubmitBody(request))) as unknown;
    for (const submit of emu.submits) {
      expect(submit.headers["content-length"]).toBe(String(Buffer.byteLength(JSON.stringify(expected))));
      expect(submit.headers["transfer-encoding"]).toBeUndefined();
      expect(submit.body).toEqual(expected);
      expect(submit.image?.equals(request.upload.image)).toBe(true);
      expect(submit.mask?.equals(request.upload.mask)).toBe(true);
    }
    expect(emu.internalErrors).toEqual([]);
  });

  it("does not follow a redirect of the submit: the key and images never reach another host", async () => {
    let elsewhere = 0;
    const other = http.createServer((req, res) => {
      elsewhere++;
      req.resume();
      res.end("{}");
    });
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    const otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    const redirecting = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        // 303 "see other": a client that follows redirects would GET the other host, headers (the key) and all.
        res.writeHead(303, { location: `${otherUrl}${req.url}` });
        res.end();
      });
    });
    await new Promise<void>((resolve) => redirecting.listen(0, "127.0.0.1", resolve));
    try {
      const baseUrl = `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}`;
      const provider = createBflProvider({ apiKey: KEY, baseUrl, pollIntervalMs: 10, timeoutMs: 5000 });
      const error = await provider.fill(await makeRequest(), { signal: new AbortController().signal }).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toMatchObject({ kind: "upstream_failed", details: { outcomeUnknown: true } });
      expect(elsewhere).toBe(0);
    } finally {
      await Promise.all(
        [other, redirecting].map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
      );
    }
  });
  it("uploads while the checks run, and completes the submit only once they pass", async () => {
    emu.reset();
    const request = await makeRequest({ width: 300, height: 200 });
    let passedAt = 0;
    const checked = new Promise<void>((resolve) =>
      setTimeout(() => {
        passedAt = Date.now();
        resolve();
      }, 150),
    );
    const provider = createBflProvider({ apiKey: KEY, baseUrl: emu.apiBaseUrl, pollIntervalMs: 10, timeoutMs: 5000 });
    const output = await provider.fill({ ...request, checked }, { signal: new AbortController().signal });
    const task = emu.task(output.upstreamId!);
    expect(passedAt).toBeGreaterThan(0);
    expect(task.createdAt).toBeGreaterThanOrEqual(passedAt);
    expect(emu.submits[0]?.image?.equals(request.upload.image)).toBe(true);
  });

  it("a check failing during the upload ends it short: its error is thrown and no task exists", async () => {
    emu.reset();
    const request = await makeRequest({ width: 300, height: 200 });
    const problem = new FluxFillError("bad_input", "The mask is empty: no pixel is white.");
    const checked = new Promise<void>((_, reject) => setTimeout(() => reject(problem), 100));
    const provider = createBflProvider({ apiKey: KEY, baseUrl: emu.apiBaseUrl, pollIntervalMs: 10, timeoutMs: 5000 });
    const error = await provider.fill({ ...request, checked }, { signal: new AbortController().signal }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ kind: "bad_input", message: problem.message });
    // The upload began, but never became a task.
    await vi.waitFor(() => expect(emu.submits.map((s) => s.bodyIncomplete)).toEqual([true]));
    expect(emu.tasks.size).toBe(0);
    expect(emu.requestsTo("polling")).toHaveLength(0);
  });

  it("a cancellation while the checks still run is reported as nothing charged", async () => {
    emu.reset();
    const request = await makeRequest({ width: 300, height: 200 });
    const controller = new AbortController();
    const checked = new Promise<void>(() => undefined); // never settles
    setTimeout(() => controller.abort(), 100);
    const provider = createBflProvider({ apiKey: KEY, baseUrl: emu.apiBaseUrl, pollIntervalMs: 10, timeoutMs: 5000 });
    const error = await provider.fill({ ...request, checked }, { signal: controller.signal }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ kind: "cancelled" });
    expect((error as Error).message).toMatch(/before a task was created; nothing was charged/);
    expect(emu.tasks.size).toBe(0);
  });
});
