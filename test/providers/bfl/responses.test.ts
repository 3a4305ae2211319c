import { describe, expect, it } from "vitest";
import {
  classifyTaskStatus,
  compactDetails,
  parsePollResponse,
  parseSubmitResponse,
  progressFraction,
  submitHttpError,
  terminalStatusError,
} from "../../../src/providers/bfl/responses.js";

const TASK = { id: "task-1", pollingUrl: "https://api.eu.bfl.ai/v1/get_result?id=task-1" };

describe("parseSubmitResponse", () => {
  it("uses the polling_url exactly as given, and the cost", () => {
    expect(
      parseSubmitResponse(
        { id: "a", polling_url: "https://api.us1.bfl.ai/v1/get_result?id=a", cost: 5 },
        "https://api.bfl.ai",
      ),
    ).toEqual({
      id: "a",
      pollingUrl: "https://api.us1.bfl.ai/v1/get_result?id=a",
      cost: 5,
    });
  });

  it("falls back to {baseUrl}/v1/get_result?id= for a webhook answer or an unusable polling_url", () => {
    const expected = { id: "a b", pollingUrl: "https://api.bfl.ai/v1/get_result?id=a%20b", cost: undefined };
    expect(
      parseSubmitResponse({ id: "a b", status: "Pending", webhook_url: "https://h" }, "https://api.bfl.ai/"),
    ).toEqual(expected);
    expect(parseSubmitResponse({ id: "a b", polling_url: "not a url" }, "https://api.bfl.ai")).toEqual(expected);
    expect(parseSubmitResponse({ id: "a b", polling_url: "file:///etc/passwd" }, "https://api.bfl.ai")).toEqual(
      expected,
    );
  });

  it("never sends the key to a polling_url outside BFL's hosts (or the configured host): the base URL is polled instead", () => {
    const expected = { id: "a", pollingUrl: "https://api.bfl.ai/v1/get_result?id=a", cost: undefined };
    for (const elsewhere of [
      "https://evil.example/v1/get_result?id=a",
      "https://bfl.ai.evil.example/v1/get_result?id=a",
      "https://notbfl.ai/v1/get_result?id=a",
      "http://api.us1.bfl.ai/v1/get_result?id=a", // BFL's host, but not over https
      "http://169.254.169.254/latest/meta-data/",
    ])
      expect(parseSubmitResponse({ id: "a", polling_url: elsewhere }, "https://api.bfl.ai"), elsewhere).toEqual(
        expected,
      );
    for (const bfl of [
      "https://api.eu.bfl.ai/v1/get_result?id=a",
      "https://api.bfl.ml/v1/get_result?id=a",
      "https://bfl.ai/r?id=a",
    ])
      expect(parseSubmitResponse({ id: "a", polling_url: bfl }, "https://api.bfl.ai")?.pollingUrl, bfl).toBe(bfl);
    // A proxy or an emulator configured as the base URL: its host (any port) is trusted, over http too.
    expect(
      parseSubmitResponse({ id: "a", polling_url: "http://127.0.0.1:9/v1/get_result?id=a" }, "http://127.0.0.1:8")
        ?.pollingUrl,
    ).toBe("http://127.0.0.1:9/v1/get_result?id=a");
  });

  it("ignores a non-numeric cost", () => {
    expect(parseSubmitResponse({ id: "a", polling_url: "https://x/p", cost: "5" }, "https://x")?.cost).toBeUndefined();
  });

  it.each([undefined, null, [], "id", {}, { id: 5 }, { id: "  " }])("no usable id in %j → undefined", (body) => {
    expect(parseSubmitResponse(body, "https://x")).toBeUndefined();
  });
});

describe("progressFraction", () => {
  it.each([
    [0, 0],
    [0.42, 0.42],
    [1, 1],
    [42, 0.42],
    [100, 1],
    [250, 1],
  ])("%j → %j", (input, out) => {
    expect(progressFraction(input)).toBeCloseTo(out);
  });

  it.each([null, undefined, -0.1, Number.NaN, "0.5"])("%j → undefined", (input) => {
    expect(progressFraction(input)).toBeUndefined();
  });
});

describe("parsePollResponse", () => {
  it("reads status, progress, result and details", () => {
    expect(
      parsePollResponse({
        id: "a",
        status: "Ready",
        result: { sample: "https://d/s.jpg" },
        progress: null,
        details: null,
      }),
    ).toEqual({
      id: "a",
      status: "Ready",
      progress: undefined,
      result: { sample: "https://d/s.jpg" },
      details: undefined,
    });
    expect(parsePollResponse({ status: "Pending", progress: 0.5, details: { q: 1 } })).toMatchObject({
      status: "Pending",
      progress: 0.5,
      details: { q: 1 },
    });
  });

  it.each([undefined, "Ready", [], {}, { status: 3 }])("no string status in %j → undefined", (body) => {
    expect(parsePollResponse(body)).toBeUndefined();
  });
});

describe("classifyTaskStatus", () => {
  it.each([
    ["Pending", "pending"],
    ["Queued", "pending"],
    ["Processing", "pending"],
    ["Ready", "ready"],
    ["Request Moderated", "request_moderated"],
    ["Content Moderated", "content_moderated"],
    ["Error", "failed"],
    ["Failed", "failed"],
    ["Task not found", "failed"],
    // Anything else fails fast instead of being waited on until the deadline.
    ["pending", "failed"],
    ["READY", "failed"],
    ["Exploded", "failed"],
    ["", "failed"],
  ])("%j → %s", (status, expected) => {
    expect(classifyTaskStatus(status)).toBe(expected);
  });
});

describe("compactDetails", () => {
  it("keeps small details, clips large ones to text, drops null", () => {
    expect(compactDetails({ a: 1 })).toEqual({ a: 1 });
    expect(compactDetails(null)).toBeUndefined();
    const big = compactDetails({ text: "y".repeat(1000) });
    expect(typeof big).toBe("string");
    expect((big as string).length).toBeLessThanOrEqual(501);
  });
});

describe("terminalStatusError", () => {
  it("Request Moderated → upstream_moderated about the request, with the current tolerance", () => {
    const error = terminalStatusError(
      TASK,
      { status: "Request Moderated", details: { "Moderation Reasons": ["X"] } },
      { safetyTolerance: 2 },
    );
    expect(error.kind).toBe("upstream_moderated");
    expect(error.message).toContain("task-1");
    expect(error.message).toContain("the request (image, mask or prompt) was flagged");
    expect(error.message).toContain('Upstream details: {"Moderation Reasons":["X"]}');
    expect(error.suggestion).toContain("currently 2");
    expect(error.details).toEqual({
      provider: "bfl",
      taskId: "task-1",
      status: "Request Moderated",
      upstreamDetails: { "Moderation Reasons": ["X"] },
      safetyTolerance: 2,
    });
  });

  it("Content Moderated → about the generated result; suggests the seed", () => {
    const error = terminalStatusError(
      TASK,
      { status: "Content Moderated", details: undefined },
      { safetyTolerance: undefined },
    );
    expect(error.message).toContain("the generated result was flagged and withheld");
    expect(error.message).toContain("safety_tolerance was the default 2");
    expect(error.suggestion).toContain("or the seed");
  });

  it("at tolerance 6, suggests changing the content instead", () => {
    const error = terminalStatusError(
      TASK,
      { status: "Content Moderated", details: undefined },
      { safetyTolerance: 6 },
    );
    expect(error.suggestion).toContain("already at its most permissive (6)");
  });

  it.each(["Error", "Failed", "Task not found"])("%s → upstream_failed with the status", (status) => {
    const error = terminalStatusError(TASK, { status, details: { error: "boom" } }, { safetyTolerance: 2 });
    expect(error.kind).toBe("upstream_failed");
    expect(error.message).toBe(
      `Black Forest Labs task task-1 ended with status "${status}". Upstream details: {"error":"boom"}.`,
    );
    expect(error.details).toMatchObject({ taskId: "task-1", status, upstreamDetails: { error: "boom" } });
  });

  it("an unknown status → upstream_failed saying it is unrecognised", () => {
    const error = terminalStatusError(TASK, { status: "Exploded", details: undefined }, { safetyTolerance: 2 });
    expect(error.kind).toBe("upstream_failed");
    expect(error.message).toBe('Black Forest Labs task task-1 ended with an unrecognised status "Exploded".');
  });
});

describe("submitHttpError", () => {
  it.each([
    [401, "upstream_failed", /rejected the API key \(HTTP 401: m\)/],
    [403, "upstream_failed", /rejected the API key \(HTTP 403: m\)/],
    [402, "upstream_credits", /out of credits \(HTTP 402: m\)/],
    [413, "too_large", /too large \(HTTP 413: m\)/],
    [422, "bad_input", /invalid \(HTTP 422\): m\./],
    [429, "upstream_rate_limited", /HTTP 429/],
    [400, "upstream_failed", /rejected the submit with HTTP 400: m\./],
    [404, "upstream_failed", /rejected the submit with HTTP 404: m\./],
    [500, "upstream_failed", /HTTP 500: m\. Whether a task was created .* NOT resubmitted/],
    [503, "upstream_failed", /HTTP 503: m\. Whether a task was created/],
  ] as const)("HTTP %i → %s", (status, kind, pattern) => {
    const error = submitHttpError(status, "m");
    expect(error.kind).toBe(kind);
    expect(error.message).toMatch(pattern);
    expect(error.suggestion).toBeTruthy();
    expect(error.details).toMatchObject({ provider: "bfl", httpStatus: status, upstreamMessage: "m" });
  });

  it("marks 5xx as outcome unknown and points at the dashboard", () => {
    const error = submitHttpError(502, undefined);
    expect(error.details).toEqual({ provider: "bfl", httpStatus: 502, outcomeUnknown: true });
    expect(error.suggestion).toContain("dashboard.bfl.ai");
  });

  it("says so when a 422 comes without details", () => {
    expect(submitHttpError(422, undefined).message).toBe(
      "Black Forest Labs rejected the request as invalid (HTTP 422): no details given.",
    );
  });

  it("402 suggests topping up or the local provider", () => {
    expect(submitHttpError(402, undefined).suggestion).toMatch(/dashboard\.bfl\.ai.*FLUX_FILL_PROVIDER=local/);
  });
});
