import http from "node:http";
import type { AddressInfo } from "node:net";
import sharp from "sharp";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { FluxFillError } from "../../../src/errors.js";
import { type BflProviderOptions, buildSubmitBody, createBflProvider } from "../../../src/providers/bfl/provider.js";
import type { FillContext, FillOutput, FillProgress, FillRequest } from "../../../src/providers/types.js";
import { type Emulator, fillColour, startEmulator } from "../../helpers/emulator.js";
import { fillRequest } from "../../helpers/fill-request.js";
import { noisePixels, photoPixels } from "../../helpers/images.js";
import { closeTo, DEFAULT_PARAMS, encodePng, makeRequest, pixelAt, rectMask } from "./fixtures.js";

const KEY = "bfl-test-key-9f8e7d6c5b4a";
const WEBHOOK_SECRET = "whsec-0a1b2c3d4e5f";

let emu: Emulator;
/** Every error and progress message any fill produced in the current test; checked for the key after each test. */
let observed: string[] = [];

beforeAll(async () => {
  emu = await startEmulator({ apiKey: KEY, generationMs: 60 });
});
afterAll(async () => {
  await emu.close();
});
/** Tasks of earlier tests: a poll of one that was in flight when its test ended may land after the reset. */
const earlierTaskIds = new Set<string>();
/** Polls of this test's tasks (or of no known task), not the late ones of earlier tests. */
function pollsOfThisTest() {
  return emu.requestsTo("polling").filter((r) => ![...earlierTaskIds].some((id) => r.url.includes(id)));
}
beforeEach(() => {
  emu.reset();
  observed = [];
});
afterEach(() => {
  for (const id of emu.tasks.keys()) earlierTaskIds.add(id);
  for (const text of observed) {
    expect(text).not.toContain(KEY);
    expect(text).not.toContain(WEBHOOK_SECRET);
  }
  expect(emu.internalErrors).toEqual([]);
});

function provider(overrides: Partial<BflProviderOptions> = {}) {
  return createBflProvider({
    apiKey: KEY,
    baseUrl: emu.apiBaseUrl,
    pollIntervalMs: 20,
    timeoutMs: 5000,
    retryBaseMs: 50,
    ...overrides,
  });
}

interface Run {
  output?: FillOutput;
  error?: FluxFillError;
  progress: FillProgress[];
  ms: number;
}

/** Runs one fill, recording its progress and error for the leak check. */
async function run(
  request: FillRequest,
  options: { overrides?: Partial<BflProviderOptions>; signal?: AbortSignal } = {},
): Promise<Run> {
  const progress: FillProgress[] = [];
  const context: FillContext = {
    signal: options.signal ?? new AbortController().signal,
    onProgress: (p) => {
      progress.push(p);
      observed.push(JSON.stringify(p));
    },
  };
  const started = Date.now();
  try {
    const output = await provider(options.overrides).fill(request, context);
    return { output, progress, ms: Date.now() - started };
  } catch (error) {
    if (!(error instanceof FluxFillError)) throw error;
    observed.push(error.message, error.suggestion ?? "", JSON.stringify(error.details ?? {}), error.stack ?? "");
    return { error, progress, ms: Date.now() - started };
  }
}

function expectError(result: Run, kind: FluxFillError["kind"]): FluxFillError {
  expect(result.output).toBeUndefined();
  expect(result.error?.kind).toBe(kind);
  return result.error!;
}

describe("createBflProvider: happy path", () => {
  it("submits image+mask as base64, polls the given polling URL and downloads the sample without the key", async () => {
    emu.configure({ generationMs: 200 });
    const request = await makeRequest({ params: { seed: 1234, prompt: "moss" } });
    const result = await run(request);
    const output = result.output!;
    expect(result.error).toBeUndefined();

    // What the upstream received.
    expect(emu.submitCount).toBe(1);
    const submit = emu.submits[0]!;
    expect(submit.image?.equals(request.upload.image)).toBe(true);
    expect(submit.mask?.equals(request.upload.mask)).toBe(true);
    expect(submit.body).toMatchObject({
      prompt: "moss",
      seed: 1234,
      steps: 50,
      guidance: 60,
      safety_tolerance: 2,
      output_format: "jpeg",
    });
    expect(submit.body).not.toHaveProperty("webhook_url");

    // Key on api and polling hosts, never on delivery.
    const api = emu.requestsTo("api");
    const polls = pollsOfThisTest();
    const deliveries = emu.requestsTo("delivery");
    expect(api).toHaveLength(1);
    expect(polls.length).toBeGreaterThanOrEqual(2);
    expect(deliveries).toHaveLength(1);
    for (const r of [...api, ...polls]) expect(r.headers["x-key"]).toBe(KEY);
    expect(deliveries[0]!.headers["x-key"]).toBeUndefined();
    expect(JSON.stringify(deliveries[0]!.headers)).not.toContain(KEY);

    // The result: the emulated task's bytes, with the mask honoured.
    const task = emu.task(output.upstreamId!);
    expect(output).toMatchObject({ provider: "bfl", format: "jpeg", cost: 5, seed: 1234, notes: [] });
    expect(output.bytes.equals(await task.result)).toBe(true);
    const meta = await sharp(output.bytes).metadata();
    expect([meta.width, meta.height]).toEqual([64, 48]);
    const colour = fillColour("moss", 1234);
    expect(closeTo(await pixelAt(output.bytes, 28, 20), colour, 12)).toBe(true);
    const pixels = await request.image.pixels();
    expect(closeTo(await pixelAt(output.bytes, 2, 2), [pixels.data[6]!, pixels.data[7]!, 128], 12)).toBe(true);

    // Progress on every poll while pending, with a fraction in 0..1.
    const pending = result.progress.filter((p) => p.status === "Pending");
    expect(pending.length).toBe(task.polls - 1);
    for (const p of pending) {
      expect(p.fraction).toBeGreaterThanOrEqual(0);
      expect(p.fraction).toBeLessThanOrEqual(1);
      expect(p.message).toContain(task.id);
    }
    // Downloaded promptly after Ready: the sample was fetched at the first poll that saw Ready.
    expect(task.deliveryTimes[0]! - task.pollTimes.at(-1)!).toBeLessThan(500);
  });

  it("never decodes the image: it uploads the bytes it is given and reads only the size", async () => {
    const request = await makeRequest();
    const { width, height } = request.image;
    const result = await run({
      ...request,
      image: { width, height, pixels: () => Promise.reject(new Error("the bfl provider decoded the image")) },
    });
    expect(result.error).toBeUndefined();
    expect(result.output?.notes).toEqual([]);
    expect(emu.submits[0]?.image?.equals(request.upload.image)).toBe(true);
  });

  it("returns PNG when asked, and the upstream's seed when none was sent", async () => {
    const request = await makeRequest({ params: { output_format: "png", prompt: "sky" } });
    const { output } = await run(request);
    expect(output?.format).toBe("png");
    const task = emu.task(output!.upstreamId!);
    expect(emu.submits[0]!.body).not.toHaveProperty("seed");
    expect(output?.seed).toBe(task.seed);
    expect(await pixelAt(output!.bytes, 20, 15)).toEqual(fillColour("sky", task.seed));
    expect(await pixelAt(output!.bytes, 0, 0)).toEqual([0, 0, 128]);
  });

  it("falls back to {baseUrl}/v1/get_result?id= when the submit answer has no polling_url", async () => {
    emu.configure({ includePollingUrl: false });
    const { output } = await run(await makeRequest());
    expect(output?.upstreamId).toBeDefined();
    expect(pollsOfThisTest()).toHaveLength(0);
    const polls = emu.requestsTo("api").filter((r) => r.method === "GET");
    expect(polls.length).toBeGreaterThan(0);
    expect(polls[0]!.url).toBe(`/v1/get_result?id=${output!.upstreamId}`);
  });

  it("does not follow a redirect of a status request: the key never reaches the host it points to", async () => {
    const elsewhere: http.IncomingHttpHeaders[] = [];
    const thief = http.createServer((req, res) => {
      elsewhere.push(req.headers);
      res.writeHead(200, { "content-type": "application/json" }).end('{"status":"Ready"}');
    });
    await new Promise<void>((resolve) => thief.listen(0, "127.0.0.1", resolve));
    const thiefUrl = `http://127.0.0.1:${(thief.address() as AddressInfo).port}/steal`;
    // A BFL look-alike whose status URL answers with a redirect to another server.
    const api = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        if (req.method === "POST") {
          const { port } = api.address() as AddressInfo;
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ id: "t-1", polling_url: `http://127.0.0.1:${port}/v1/get_result?id=t-1` }));
        } else res.writeHead(302, { location: thiefUrl }).end();
      });
    });
    await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
    try {
      const baseUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
      const result = await run(await makeRequest(), { overrides: { baseUrl } });
      const error = expectError(result, "upstream_failed");
      expect(error.message).toContain("The status of Black Forest Labs task t-1 could not be read");
      expect(elsewhere).toEqual([]);
    } finally {
      api.close();
      thief.close();
    }
  });

  it("waits for a free slot when the upstream's active-task limit is reached, without duplicate tasks", async () => {
    emu.configure({ maxActiveTasks: 1, generationMs: 250 });
    const [a, b] = await Promise.all([run(await makeRequest()), run(await makeRequest())]);
    expect(a.output && b.output).toBeTruthy();
    expect(emu.tasks.size).toBe(2);
    expect(emu.maxActiveSeen).toBe(1);
    expect(emu.submits.filter((s) => s.status === 429).length).toBeGreaterThan(0);
    expect(new Set([a.output!.upstreamId, b.output!.upstreamId]).size).toBe(2);
  });
});

describe("createBflProvider: terminal statuses", () => {
  it.each([
    ["Request Moderated", "upstream_moderated", /request \(image, mask or prompt\) was flagged/],
    ["Content Moderated", "upstream_moderated", /generated result was flagged/],
    ["Error", "upstream_failed", /status "Error"/],
    ["Failed", "upstream_failed", /status "Failed"/],
    ["Task not found", "upstream_failed", /status "Task not found"/],
    ["Exploded", "upstream_failed", /unrecognised status "Exploded"/],
  ] as const)("%s → %s naming the task", async (outcome, kind, pattern) => {
    emu.configure({ outcome });
    const result = await run(await makeRequest({ params: { safety_tolerance: 3 } }));
    const error = expectError(result, kind);
    const id = emu.submits[0]!.taskId!;
    expect(error.message).toMatch(pattern);
    expect(error.message).toContain(id);
    expect(error.details).toMatchObject({ taskId: id, status: outcome });
    if (kind === "upstream_moderated") {
      expect(error.message).toContain("safety_tolerance was 3");
      expect(error.suggestion).toMatch(/raise safety_tolerance .*currently 3/);
    }
    expect(emu.submitCount).toBe(1);
    expect(emu.requestsTo("delivery")).toHaveLength(0);
  });

  it("a moderated task at safety_tolerance 6 is not told to raise it", async () => {
    emu.configure({ outcome: "Content Moderated" });
    const error = expectError(await run(await makeRequest({ params: { safety_tolerance: 6 } })), "upstream_moderated");
    expect(error.suggestion).toContain("already at its most permissive");
  });

  it("a task that never finishes times out, naming the task id and polling URL", async () => {
    emu.configure({ outcome: "never" });
    const result = await run(await makeRequest(), { overrides: { timeoutMs: 300 } });
    const error = expectError(result, "timeout");
    const id = emu.submits[0]!.taskId!;
    expect(error.message).toContain(id);
    expect(error.message).toContain("Pending");
    expect(error.details).toMatchObject({ taskId: id, pollingUrl: `${emu.pollingBaseUrl}/v1/get_result?id=${id}` });
    // Not before its deadline; a provider that ignored it would never answer ("never" stays Pending).
    expect(result.ms).toBeGreaterThanOrEqual(290);
  });
});

describe("createBflProvider: submit failures", () => {
  it("402 → upstream_credits with a top-up suggestion, nothing polled", async () => {
    emu.configure({ outOfCredits: true });
    const error = expectError(await run(await makeRequest()), "upstream_credits");
    expect(error.message).toContain("out of credits");
    expect(error.message).toContain("Insufficient credits");
    expect(error.suggestion).toContain("dashboard.bfl.ai");
    expect(pollsOfThisTest()).toHaveLength(0);
  });

  it("422 → bad_input with every upstream validation message (field: msg)", async () => {
    const request = await makeRequest();
    const small = await makeRequest({ width: 32, height: 32, rect: { left: 0, top: 0, width: 8, height: 8 } });
    const mismatched = {
      ...request,
      upload: { image: request.upload.image, mask: small.upload.mask },
      params: { ...request.params, steps: 99 },
    };
    const error = expectError(await run(mismatched), "bad_input");
    expect(error.message).toContain("HTTP 422");
    expect(error.message).toContain("mask: Value error, Mask dimensions (32x32) must match image dimensions (64x48)");
    expect(error.message).toContain("steps: Input should be less than or equal to 50");
    expect(emu.tasks.size).toBe(0);
  });

  it("a wrong key → upstream_failed saying the key was rejected, without echoing it", async () => {
    const wrongKey = "wrong-key-1234567890";
    const result = await run(await makeRequest(), { overrides: { apiKey: wrongKey } });
    const error = expectError(result, "upstream_failed");
    expect(error.message).toContain("rejected the API key (HTTP 403: Invalid API key)");
    expect(error.suggestion).toContain("BFL_API_KEY");
    expect(JSON.stringify([error.message, error.suggestion, error.details])).not.toContain(wrongKey);
  });

  it("429 with Retry-After: waits that long, then submits again — exactly one task", async () => {
    emu.configure({ rateLimitNextSubmits: 1, retryAfter: "1" });
    const result = await run(await makeRequest());
    expect(result.output).toBeDefined();
    expect(emu.submits.map((s) => s.status)).toEqual([429, 200]);
    expect(emu.tasks.size).toBe(1);
    const gap = emu.submits[1]!.at - emu.submits[0]!.at;
    expect(gap).toBeGreaterThanOrEqual(990);
    expect(gap).toBeLessThan(2500);
    expect(result.progress.some((p) => p.status === "RateLimited")).toBe(true);
  });

  it("429 with an HTTP-date Retry-After is honoured too", async () => {
    emu.configure({ rateLimitNextSubmits: 1, retryAfter: new Date(Date.now() + 1500).toUTCString() });
    const result = await run(await makeRequest());
    expect(result.output).toBeDefined();
    expect(emu.submits[1]!.at - emu.submits[0]!.at).toBeGreaterThanOrEqual(400);
    expect(emu.tasks.size).toBe(1);
  });

  it("429 forever → upstream_rate_limited after a bounded number of attempts, nothing created", async () => {
    emu.configure({ rateLimitNextSubmits: 1000, retryAfter: "0" });
    const error = expectError(await run(await makeRequest()), "upstream_rate_limited");
    expect(emu.submitCount).toBe(5);
    expect(emu.tasks.size).toBe(0);
    expect(error.message).toContain("Gave up after 5 attempts");
    expect(error.details).toMatchObject({ attempts: 5, httpStatus: 429 });
  });

  it("429 without Retry-After backs off exponentially and stops at the deadline", async () => {
    emu.configure({ rateLimitNextSubmits: 1000 });
    const result = await run(await makeRequest(), { overrides: { timeoutMs: 500, retryBaseMs: 100 } });
    const error = expectError(result, "upstream_rate_limited");
    // 100 + 200 ms waits fit in 500 ms, the 400 ms one would not.
    expect(emu.submitCount).toBe(3);
    const times = emu.submits.map((s) => s.at);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(95);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(195);
    expect(error.message).toContain("would pass the deadline");
    expect(result.ms).toBeLessThan(500);
  });

  it("a Retry-After beyond the deadline gives up at once", async () => {
    emu.configure({ rateLimitNextSubmits: 1, retryAfter: "3600" });
    const result = await run(await makeRequest(), { overrides: { timeoutMs: 2000 } });
    expectError(result, "upstream_rate_limited");
    expect(emu.submitCount).toBe(1);
    expect(result.ms).toBeLessThan(500);
  });

  it("5xx on submit → upstream_failed, outcome unknown, NOT resubmitted", async () => {
    emu.configure({ failNextSubmits: 1, submitFailureStatus: 502 });
    const error = expectError(await run(await makeRequest()), "upstream_failed");
    expect(emu.submitCount).toBe(1);
    expect(error.message).toContain("HTTP 502");
    expect(error.message).toContain("NOT resubmitted");
    expect(error.details).toMatchObject({ outcomeUnknown: true, httpStatus: 502 });
  });

  it("a connection dropped after the task was created → upstream_failed, NOT resubmitted", async () => {
    emu.configure({ dropNextSubmits: 1 });
    const error = expectError(await run(await makeRequest()), "upstream_failed");
    expect(emu.submitCount).toBe(1);
    expect(emu.tasks.size).toBe(1); // the upstream did create (and charge) one
    expect(error.message).toContain("NOT resubmitted");
    expect(error.details).toMatchObject({ outcomeUnknown: true });
  });

  it("a submit that gets no answer before the deadline → upstream_failed, outcome unknown", async () => {
    const hung = await hangingServer();
    try {
      const result = await run(await makeRequest(), { overrides: { baseUrl: hung.url, timeoutMs: 300 } });
      const error = expectError(result, "upstream_failed");
      expect(error.message).toContain("got no answer within");
      expect(error.message).toContain("NOT resubmitted");
      expect(hung.requests()).toBe(1);
      expect(result.ms).toBeLessThan(1000);
    } finally {
      await hung.close();
    }
  });

  it("a refused connection → upstream_unreachable (nothing was sent)", async () => {
    const closed = await hangingServer();
    await closed.close();
    const error = expectError(
      await run(await makeRequest(), { overrides: { baseUrl: closed.url } }),
      "upstream_unreachable",
    );
    expect(error.message).toContain("ECONNREFUSED");
    expect(error.message).toContain("nothing was charged");
  });

  it("a non-JSON error page (proxy HTML) is summarised as text", async () => {
    const fakeFetch: typeof fetch = async () =>
      new Response("<html><body><h1>504 Gateway Time-out</h1></body></html>", {
        status: 504,
        headers: { "content-type": "text/html" },
      });
    const error = expectError(await run(await makeRequest(), { overrides: { fetch: fakeFetch } }), "upstream_failed");
    expect(error.message).toContain("HTTP 504: 504 Gateway Time-out");
    expect(error.message).not.toContain("<h1>");
  });

  it("other 4xx → upstream_failed with the upstream's message", async () => {
    const fakeFetch: typeof fetch = async () => Response.json({ message: "Endpoint deprecated" }, { status: 410 });
    const error = expectError(await run(await makeRequest(), { overrides: { fetch: fakeFetch } }), "upstream_failed");
    expect(error.message).toBe("Black Forest Labs rejected the submit with HTTP 410: Endpoint deprecated.");
  });
});

describe("createBflProvider: polling and download failures", () => {
  it("retries polls that fail with 5xx or dropped connections, then succeeds", async () => {
    emu.configure({ failNextPolls: 2, dropNextPolls: 2 });
    const result = await run(await makeRequest());
    expect(result.output).toBeDefined();
    const statuses = pollsOfThisTest().map((r) => r.status);
    // Drops first (undefined), then two 503s, then real answers.
    expect(statuses.slice(0, 4)).toEqual([undefined, undefined, 503, 503]);
    expect(statuses.at(-1)).toBe(200);
    expect(emu.submitCount).toBe(1);
  });

  it("honours Retry-After on a failed poll", async () => {
    emu.configure({ failNextPolls: 1, pollFailureStatus: 429, retryAfter: "1", generationMs: 10 });
    const result = await run(await makeRequest());
    expect(result.output).toBeDefined();
    const times = pollsOfThisTest().map((r) => r.at);
    expect(pollsOfThisTest().map((r) => r.status)).toEqual([429, 200]);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(990);
  });

  it("gives up after repeated poll failures, naming the task", async () => {
    emu.configure({ failNextPolls: 1000 });
    const result = await run(await makeRequest(), { overrides: { pollIntervalMs: 5 } });
    const error = expectError(result, "upstream_failed");
    const id = emu.submits[0]!.taskId!;
    expect(error.message).toContain(id);
    expect(error.message).toContain("could not be read 8 times in a row (last: HTTP 503");
    expect(pollsOfThisTest()).toHaveLength(8);
    // Backoff: the waits grew.
    const times = pollsOfThisTest().map((r) => r.at);
    expect(times[7]! - times[6]!).toBeGreaterThan(times[1]! - times[0]!);
  });

  it("an expired delivery URL → upstream_failed naming the task id", async () => {
    emu.configure({ generationMs: 10, deliveryExpiryMs: 50 });
    const result = await run(await makeRequest(), { overrides: { pollIntervalMs: 150 } });
    const error = expectError(result, "upstream_failed");
    const id = emu.submits[0]!.taskId!;
    expect(error.message).toContain(`task ${id} is ready but could not be downloaded: HTTP 403`);
    expect(error.message).toContain("expired");
    expect(error.details).toMatchObject({ taskId: id, httpStatus: 403 });
    expect(emu.requestsTo("delivery")).toHaveLength(1); // a 403 is not retried
  });

  it("a sample that is not an image → upstream_failed", async () => {
    const realFetch = fetch;
    const fakeFetch: typeof fetch = async (input, init) =>
      String(input).startsWith(emu.deliveryBaseUrl)
        ? new Response("not an image", { status: 200 })
        : realFetch(input, init);
    const error = expectError(await run(await makeRequest(), { overrides: { fetch: fakeFetch } }), "upstream_failed");
    expect(error.message).toMatch(/task .* is not a usable image/);
  });
});

describe("createBflProvider: cancellation", () => {
  it("abort before submit → cancelled, nothing sent", async () => {
    const controller = new AbortController();
    controller.abort();
    const error = expectError(await run(await makeRequest(), { signal: controller.signal }), "cancelled");
    expect(error.message).toContain("nothing was charged");
    expect(emu.submitCount).toBe(0);
  });

  it("abort while pending stops waiting at once → cancelled naming the task", async () => {
    emu.configure({ outcome: "never" });
    const controller = new AbortController();
    const request = await makeRequest();
    // Polls every 10 minutes: once the task is created the abort lands in the middle of a wait, so only a
    // provider that stops waiting at once answers before the test's own timeout.
    const pending = run(request, { signal: controller.signal, overrides: { pollIntervalMs: 600_000 } });
    await vi.waitFor(() => expect(emu.submits[0]?.taskId).toBeDefined());
    const id = emu.submits[0]!.taskId!;
    const pollsAtAbort = emu.task(id).polls;
    controller.abort();
    const result = await pending;
    const error = expectError(result, "cancelled");
    expect(error.message).toContain(id);
    expect(error.details).toMatchObject({ taskId: id });
    expect(emu.task(id).polls).toBe(pollsAtAbort);
  });

  it("an abort during the download does not interrupt it: the paid result is returned", async () => {
    const controller = new AbortController();
    const realFetch = fetch;
    const fakeFetch: typeof fetch = async (input, init) => {
      if (String(input).startsWith(emu.deliveryBaseUrl)) controller.abort();
      return realFetch(input, init);
    };
    const result = await run(await makeRequest(), { signal: controller.signal, overrides: { fetch: fakeFetch } });
    expect(controller.signal.aborted).toBe(true);
    expect(result.error).toBeUndefined();
    expect(result.output?.bytes.length).toBeGreaterThan(0);
  });
});

describe("createBflProvider: secrets", () => {
  it("never repeats the key or webhook secret, even when the upstream echoes them", async () => {
    const realFetch = fetch;
    let calls = 0;
    const echoingFetch: typeof fetch = async (input, init) => {
      calls++;
      if (calls === 1) return realFetch(input, init); // the submit
      // A poll answer that quotes the key and the secret back.
      return Response.json({ id: "x", status: `Error ${KEY}`, details: { echoed: WEBHOOK_SECRET, [KEY]: 1 } });
    };
    const request = await makeRequest({
      params: { webhook_url: "https://example.invalid/hook", webhook_secret: WEBHOOK_SECRET },
    });
    const result = await run(request, { overrides: { fetch: echoingFetch } });
    const error = expectError(result, "upstream_failed");
    expect(error.message).toContain("[redacted]");
    const everything = JSON.stringify([error.message, error.suggestion, error.details, error.stack, result.progress]);
    expect(everything).not.toContain(KEY);
    expect(everything).not.toContain(WEBHOOK_SECRET);
  });

  it("rejects an unusable key at creation without echoing it", () => {
    const bad = "abc def\nghi";
    try {
      createBflProvider({ apiKey: bad, baseUrl: emu.apiBaseUrl, pollIntervalMs: 20, timeoutMs: 1000 });
      expect.unreachable();
    } catch (error) {
      expect((error as FluxFillError).kind).toBe("bad_input");
      expect((error as FluxFillError).message).not.toContain("abc def");
    }
  });
});

describe("createBflProvider: the request body stays within maxBodyBytes", () => {
  const width = 256;
  const height = 192;
  /** A fill request whose image is uploaded as an uncompressed PNG (148 KB, 197 KB of base64). */
  async function uncompressed(pixels: ReturnType<typeof photoPixels>): Promise<FillRequest> {
    const mask = rectMask(width, height, { left: 64, top: 48, width: 64, height: 48 });
    const image = await sharp(pixels.data, { raw: { width, height, channels: 3 } })
      .png({ compressionLevel: 0 })
      .toBuffer();
    return fillRequest(pixels, mask, { image, mask: await encodePng(mask) }, DEFAULT_PARAMS);
  }
  const raw = async (bytes: Buffer) => (await sharp(bytes).raw().toBuffer({ resolveWithObject: true })).data;

  it("re-encodes a PNG losslessly when that fits, and says so", async () => {
    const pixels = photoPixels(width, height, 5);
    const request = await uncompressed(pixels);
    const { output, error } = await run(request, { overrides: { maxBodyBytes: 150_000 } });
    expect(error).toBeUndefined();
    const submit = emu.submits[0]!;
    expect(Number(submit.headers["content-length"])).toBeLessThanOrEqual(150_000);
    expect((await sharp(submit.image!).metadata()).format).toBe("png");
    expect(submit.image!.length).toBeLessThan(request.upload.image.length);
    expect((await raw(submit.image!)).equals(pixels.data)).toBe(true);
    expect(submit.mask?.equals(request.upload.mask)).toBe(true);
    expect(output?.notes).toEqual([
      `The image was re-encoded losslessly (PNG, ${request.upload.image.length} bytes → ${submit.image!.length} bytes) to keep the request to Black Forest Labs within 150000 bytes.`,
    ]);
  });

  it("sends a JPEG at the highest quality that fits when no lossless encoding does, and says so", async () => {
    const pixels = noisePixels(width, height, 5);
    const request = await uncompressed(pixels);
    const { output, error } = await run(request, { overrides: { maxBodyBytes: 150_000 } });
    expect(error).toBeUndefined();
    const submit = emu.submits[0]!;
    expect(Number(submit.headers["content-length"])).toBeLessThanOrEqual(150_000);
    const meta = await sharp(submit.image!).metadata();
    expect([meta.format, meta.width, meta.height, meta.chromaSubsampling]).toEqual(["jpeg", width, height, "4:4:4"]);
    expect(output?.notes).toEqual([expect.stringContaining("as a JPEG at quality 95")]);
  });

  it("sends nothing when not even the lowest quality fits", async () => {
    const request = await uncompressed(noisePixels(width, height, 5));
    const { error } = await run(request, { overrides: { maxBodyBytes: 60_000 } });
    expect(error?.kind).toBe("too_large");
    expect(error?.message).toMatch(/Nothing was sent or charged/);
    expect(emu.submitCount).toBe(0);
  });

  it("sends a body within the limit as it is, without decoding the image", async () => {
    const request = await uncompressed(noisePixels(width, height, 5));
    const { width: w, height: h } = request.image;
    const { output } = await run(
      { ...request, image: { width: w, height: h, pixels: () => Promise.reject(new Error("decoded")) } },
      { overrides: { maxBodyBytes: 250_000 } },
    );
    expect(output?.notes).toEqual([]);
    expect(emu.submits[0]?.image?.equals(request.upload.image)).toBe(true);
  });
});

describe("buildSubmitBody", () => {
  it("leaves out undefined parameters and adds both images as base64", async () => {
    const request = await makeRequest({ params: { seed: undefined, webhook_url: undefined } });
    const body = buildSubmitBody(request);
    expect(Object.keys(body).sort()).toEqual(
      ["guidance", "image", "mask", "output_format", "prompt", "prompt_upsampling", "safety_tolerance", "steps"].sort(),
    );
    expect(Buffer.from(body.image as string, "base64").equals(request.upload.image)).toBe(true);
    expect(Buffer.from(body.mask as string, "base64").equals(request.upload.mask)).toBe(true);
  });
});

/** A server that accepts requests and never answers (for submit deadlines). */
async function hangingServer(): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let count = 0;
  const server = http.createServer(() => {
    count++;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
