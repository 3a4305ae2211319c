import sharp from "sharp";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { closeTo, encodePng, gradient, pixelAt, rectMask } from "../providers/bfl/fixtures.js";
import {
  type Emulator,
  fillColour,
  makeProgressProfile,
  type ProgressShape,
  progressAt,
  progressModeOf,
  seededRandom,
  startEmulator,
} from "./emulator.js";

const KEY = "emulator-key-123";
let emu: Emulator;
let image: Buffer;
let mask: Buffer;

beforeAll(async () => {
  emu = await startEmulator({ apiKey: KEY, generationMs: 50 });
  image = await encodePng(gradient(32, 24));
  mask = await encodePng(rectMask(32, 24, { left: 8, top: 8, width: 8, height: 8 }));
});
afterAll(async () => {
  await emu.close();
});
beforeEach(() => {
  emu.reset();
});

/** `key: null` sends no x-key header. */
const submit = (body: unknown, key: string | null = KEY) =>
  fetch(`${emu.apiBaseUrl}/v1/flux-pro-1.0-fill`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key === null ? {} : { "x-key": key }) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
const poll = (url: string, key: string | null = KEY) =>
  fetch(url, { headers: key === null ? {} : { "x-key": key } }).then(async (r) => ({
    status: r.status,
    body: (await r.json()) as Record<string, unknown>,
  }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function submitValid(extra: Record<string, unknown> = {}) {
  const response = await submit({
    image: image.toString("base64"),
    mask: mask.toString("base64"),
    prompt: "p",
    ...extra,
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { id: string; polling_url: string; cost: number; input_mp: number };
}

async function waitReady(pollingUrl: string) {
  for (let i = 0; i < 100; i++) {
    const answer = await poll(pollingUrl);
    if (answer.body.status !== "Pending") return answer.body;
    await sleep(10);
  }
  throw new Error("not ready");
}

describe("emulator: auth", () => {
  it("401 without x-key, 403 with a wrong one, on submit and poll", async () => {
    expect((await submit({}, null)).status).toBe(401);
    const wrong = await submit({}, "nope");
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toEqual({ detail: "Invalid API key" });
    expect((await poll(`${emu.pollingBaseUrl}/v1/get_result?id=x`, null)).status).toBe(401);
    expect(emu.tasks.size).toBe(0);
  });
});

describe("emulator: validation (422, pydantic style)", () => {
  it("reports every problem at once with loc/msg/type", async () => {
    const response = await submit({
      image: "%%%",
      steps: 10,
      guidance: 101,
      safety_tolerance: 7,
      output_format: "gif",
      webhook_url: "nope",
      extra: 1,
    });
    expect(response.status).toBe(422);
    const { detail } = (await response.json()) as { detail: { loc: string[]; type: string; msg: string }[] };
    expect(detail.map((d) => [d.loc.join("."), d.type])).toEqual([
      ["body.image", "value_error"],
      ["body.steps", "greater_than_equal"],
      ["body.safety_tolerance", "less_than_equal"],
      ["body.guidance", "less_than_equal"],
      ["body.output_format", "enum"],
      ["body.webhook_url", "url_parsing"],
    ]);
    expect(emu.submits[0]!.status).toBe(422);
  });

  it("missing image, undecodable mask, mask of another size, non-integer steps", async () => {
    const cases: [unknown, string, string][] = [
      [{ prompt: "x" }, "body.image", "Field required"],
      [
        { image: image.toString("base64"), mask: Buffer.from("not an image").toString("base64") },
        "body.mask",
        "Could not decode mask",
      ],
      [
        {
          image: image.toString("base64"),
          mask: (await encodePng(rectMask(8, 8, { left: 0, top: 0, width: 1, height: 1 }))).toString("base64"),
        },
        "body.mask",
        "must match image dimensions",
      ],
      [{ image: image.toString("base64"), steps: 20.5 }, "body.steps", "valid integer"],
      [{ image: image.toString("base64"), webhook_url: "ftp://x/y" }, "body.webhook_url", "scheme"],
      [
        { image: image.toString("base64"), webhook_url: `https://x/${"a".repeat(2100)}` },
        "body.webhook_url",
        "at most 2083",
      ],
      ["{not json", "body.0", "JSON decode error"],
    ];
    for (const [body, loc, msg] of cases) {
      const response = await submit(body);
      expect(response.status).toBe(422);
      const { detail } = (await response.json()) as { detail: { loc: (string | number)[]; msg: string }[] };
      expect(detail.map((d) => d.loc.join("."))).toContain(loc);
      expect(detail.find((d) => d.loc.join(".") === loc)!.msg).toContain(msg);
    }
    expect(emu.tasks.size).toBe(0);
  });

  it("ignores extra fields and accepts nulls for optional ones", async () => {
    const answer = await submitValid({ unknown_field: true, seed: null, steps: null, guidance: 30 });
    expect(answer.id).toBeTruthy();
  });
});

describe("emulator: task lifecycle", () => {
  it("answers with a polling URL on another port, Pending with progress, then Ready with a sample", async () => {
    emu.configure({ generationMs: 300 });
    const answer = await submitValid({ seed: 7 });
    expect(answer.cost).toBe(5);
    expect(answer.input_mp).toBeCloseTo((32 * 24) / 1e6, 2);
    expect(answer.polling_url).toBe(`${emu.pollingBaseUrl}/v1/get_result?id=${answer.id}`);
    expect(new URL(answer.polling_url).port).not.toBe(new URL(emu.apiBaseUrl).port);
    const first = await poll(answer.polling_url);
    expect(first.body).toMatchObject({ id: answer.id, status: "Pending", result: null });
    expect(first.body.progress).toBeGreaterThanOrEqual(0);
    expect(emu.activeTaskCount()).toBe(1);
    const ready = await waitReady(answer.polling_url);
    expect(ready).toMatchObject({ status: "Ready", result: { prompt: "p", seed: 7 } });
    expect(emu.activeTaskCount()).toBe(0);
    const task = emu.task(answer.id);
    expect(task.polls).toBe(task.pollTimes.length);
    expect(task.readyAt).toBe(task.createdAt + 300);

    const sampleUrl = (ready.result as { sample: string }).sample;
    expect(sampleUrl.startsWith(`${emu.deliveryBaseUrl}/samples/`)).toBe(true);
    const sample = await fetch(sampleUrl);
    expect(sample.status).toBe(200);
    expect(sample.headers.get("content-type")).toBe("image/jpeg");
    const bytes = Buffer.from(await sample.arrayBuffer());
    expect((await sharp(bytes).metadata()).format).toBe("jpeg");
    // Inside the mask: the prompt's colour; outside: the image.
    expect(closeTo(await pixelAt(bytes, 12, 12), fillColour("p", 7), 10)).toBe(true);
    expect(closeTo(await pixelAt(bytes, 30, 2), await pixelAt(image, 30, 2), 10)).toBe(true);
  });

  it("the delivery host refuses any request that carries x-key", async () => {
    const answer = await submitValid();
    const ready = await waitReady(answer.polling_url);
    const sampleUrl = (ready.result as { sample: string }).sample;
    const withKey = await fetch(sampleUrl, { headers: { "x-key": KEY } });
    expect(withKey.status).toBe(403);
    expect(await withKey.text()).toContain("x-key");
    expect((await fetch(sampleUrl)).status).toBe(200);
    expect(emu.requestsTo("delivery").map((r) => [r.headers["x-key"], r.status])).toEqual([
      [KEY, 403],
      [undefined, 200],
    ]);
  });

  it("uses the image's alpha as the mask when no mask is sent (transparent = inpaint), PNG when asked", async () => {
    const rgba = Buffer.alloc(16 * 16 * 4, 255);
    for (let i = 0; i < 16 * 8; i++) rgba[i * 4 + 3] = 0; // top half transparent
    const withAlpha = await sharp(rgba, { raw: { width: 16, height: 16, channels: 4 } })
      .png()
      .toBuffer();
    const response = await submit({ image: withAlpha.toString("base64"), prompt: "q", seed: 3, output_format: "png" });
    const answer = (await response.json()) as { polling_url: string };
    const ready = await waitReady(answer.polling_url);
    const bytes = Buffer.from(await (await fetch((ready.result as { sample: string }).sample)).arrayBuffer());
    expect((await sharp(bytes).metadata()).format).toBe("png");
    expect(await pixelAt(bytes, 3, 2)).toEqual(fillColour("q", 3));
    expect(await pixelAt(bytes, 3, 12)).toEqual([255, 255, 255]);
  });

  it("an unknown id → Task not found", async () => {
    expect((await poll(`${emu.pollingBaseUrl}/v1/get_result?id=nope`)).body).toEqual({
      id: "nope",
      status: "Task not found",
    });
  });

  it("reports each configured terminal outcome verbatim", async () => {
    for (const outcome of ["Request Moderated", "Content Moderated", "Error", "Failed", "Task not found", "Exploded"]) {
      emu.configure({ outcome, generationMs: 0 });
      const answer = await submitValid();
      const body = await waitReady(answer.polling_url);
      expect(body.status).toBe(outcome);
    }
  });

  it("outcome never: Pending forever; generation time and outcome can be functions of the task", async () => {
    emu.configure({ outcome: (t) => (t.index === 0 ? "never" : "Error"), generationMs: (t) => t.index * 10 });
    const a = await submitValid();
    const b = await submitValid();
    await sleep(40);
    expect((await poll(a.polling_url)).body.status).toBe("Pending");
    expect((await poll(b.polling_url)).body.status).toBe("Error");
    expect(emu.task(a.id).terminalAt).toBeUndefined();
    expect(emu.task(b.id).generationMs).toBe(10);
  });

  it("a sample URL expires after deliveryExpiryMs", async () => {
    emu.configure({ generationMs: 0, deliveryExpiryMs: 30 });
    const answer = await submitValid();
    const ready = await waitReady(answer.polling_url);
    await sleep(60);
    const late = await fetch((ready.result as { sample: string }).sample);
    expect(late.status).toBe(403);
    expect(await late.text()).toContain("expired");
  });
});

describe("emulator: configured failures", () => {
  it("402 when out of credits; 429 with Retry-After for the next N; 5xx for the next N", async () => {
    emu.configure({ outOfCredits: true });
    const credits = await submit({ image: image.toString("base64") });
    expect(credits.status).toBe(402);
    expect(((await credits.json()) as { detail: string }).detail).toContain("Insufficient credits");

    emu.configure({
      outOfCredits: false,
      rateLimitNextSubmits: 1,
      retryAfter: "2",
      failNextSubmits: 1,
      submitFailureStatus: 503,
    });
    expect((await submit({ image: image.toString("base64") })).status).toBe(503);
    const limited = await submit({ image: image.toString("base64") });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("2");
    expect((await submit({ image: image.toString("base64") })).status).toBe(200);
    expect(emu.submits.map((s) => s.status)).toEqual([402, 503, 429, 200]);
    expect(emu.tasks.size).toBe(1);
  });

  it("a dropped submit still creates the task", async () => {
    emu.configure({ dropNextSubmits: 1 });
    await expect(submit({ image: image.toString("base64") })).rejects.toThrow();
    expect(emu.tasks.size).toBe(1);
    expect(emu.submits[0]!.taskId).toBe([...emu.tasks.keys()][0]);
    expect(emu.submits[0]!.status).toBeUndefined();
  });

  it("fails and drops the next N polls", async () => {
    const answer = await submitValid();
    emu.configure({ failNextPolls: 1, dropNextPolls: 1 });
    await expect(poll(answer.polling_url)).rejects.toThrow();
    expect((await poll(answer.polling_url)).status).toBe(503);
    expect((await poll(answer.polling_url)).status).toBe(200);
    expect(emu.task(answer.id).polls).toBe(1);
  });

  it("429 beyond maxActiveTasks, and records the max ever active", async () => {
    emu.configure({ maxActiveTasks: 2, generationMs: 10_000 });
    await submitValid();
    await submitValid();
    expect((await submit({ image: image.toString("base64") })).status).toBe(429);
    expect(emu.activeTaskCount()).toBe(2);
    expect(emu.maxActiveSeen).toBe(2);
  });

  it("reset forgets tasks and records and restores the start options", async () => {
    emu.configure({ outOfCredits: true });
    await submit({ image: image.toString("base64") });
    emu.reset();
    expect(emu.submitCount).toBe(0);
    expect(emu.requests).toHaveLength(0);
    expect(emu.behaviour.outOfCredits).toBe(false);
    expect(emu.behaviour.apiKey).toBe(KEY);
  });
});

describe("emulator: progress models (pure)", () => {
  const shape: ProgressShape = { steps: 10, jitter: 0.3, headFraction: 0.15, tailFraction: 0.05 };

  it("linear: elapsed ÷ duration, capped at 0.99", () => {
    const profile = makeProgressProfile("linear", 1000, shape, seededRandom(1));
    expect(progressAt(profile, 0)).toBe(0);
    expect(progressAt(profile, 250)).toBe(0.25);
    expect(progressAt(profile, 999.9)).toBe(0.99);
  });

  it("none: always null", () => {
    const profile = makeProgressProfile("none", 1000, shape, seededRandom(1));
    expect([0, 500, 999].map((t) => progressAt(profile, t))).toEqual([null, null, null]);
  });

  it("steps: null while queued, then uneven steps of 1/steps, then 1 while finishing", () => {
    for (let seed = 0; seed < 50; seed++) {
      const duration = 4000 + seed * 300;
      const profile = makeProgressProfile("steps", duration, shape, seededRandom(seed));
      expect(profile.startMs).toBeGreaterThanOrEqual(0.3 * 0.15 * duration - 1e-9);
      expect(profile.startMs).toBeLessThanOrEqual(0.15 * duration);
      expect(profile.stepEndsMs).toHaveLength(10);
      const last = profile.stepEndsMs.at(-1)!;
      expect(duration - last).toBeGreaterThanOrEqual(0.3 * 0.05 * duration - 1e-6);
      expect(duration - last).toBeLessThanOrEqual(0.05 * duration + 1e-6);
      // Step lengths within ±30 % of each other's mean (after normalising).
      const lengths = profile.stepEndsMs.map(
        (end, i) => end - (i === 0 ? profile.startMs : profile.stepEndsMs[i - 1]!),
      );
      const mean = lengths.reduce((a, b) => a + b, 0) / lengths.length;
      for (const l of lengths) expect(Math.abs(l / mean - 1)).toBeLessThanOrEqual(0.3 / 0.7 + 1e-9);
      expect(progressAt(profile, profile.startMs - 1)).toBeNull();
      expect(progressAt(profile, profile.startMs)).toBe(0);
      let previous = 0;
      for (let t = profile.startMs; t < duration; t += 37) {
        const p = progressAt(profile, t)!;
        expect(p).toBeGreaterThanOrEqual(previous);
        expect(Math.abs(p * 10 - Math.round(p * 10))).toBeLessThan(1e-9);
        previous = p;
      }
      expect(progressAt(profile, last)).toBe(1);
      expect(progressAt(profile, last - 1)).toBe(0.9);
    }
  });

  it("steps: the same seed gives the same profile, another seed another one", () => {
    const a = makeProgressProfile("steps", 9000, shape, seededRandom(5));
    expect(makeProgressProfile("steps", 9000, shape, seededRandom(5))).toEqual(a);
    expect(makeProgressProfile("steps", 9000, shape, seededRandom(6))).not.toEqual(a);
  });

  it("progressMode overrides reportProgress, which stays the shorthand for linear/none", () => {
    expect(progressModeOf({ progressMode: undefined, reportProgress: true })).toBe("linear");
    expect(progressModeOf({ progressMode: undefined, reportProgress: false })).toBe("none");
    expect(progressModeOf({ progressMode: "steps", reportProgress: false })).toBe("steps");
  });
});

describe("emulator: progress over HTTP and the poll log", () => {
  it("steps mode answers null, then tenths; the poll log records every poll, its status and progress", async () => {
    emu.configure({ progressMode: "steps", generationMs: 400 });
    const answer = await submitValid();
    const seen: unknown[] = [];
    let body: Record<string, unknown>;
    do {
      body = (await poll(answer.polling_url)).body;
      if (body.status === "Pending") seen.push(body.progress);
      await sleep(5);
    } while (body.status === "Pending");
    const task = emu.task(answer.id);
    expect(task.progressProfile.mode).toBe("steps");
    expect(seen[0]).toBeNull();
    const numbers = seen.filter((p): p is number => typeof p === "number");
    expect(numbers.length).toBeGreaterThan(0);
    for (const p of numbers) expect(Math.abs(p * 10 - Math.round(p * 10))).toBeLessThan(1e-9);
    expect(task.pollLog).toHaveLength(task.polls);
    expect(task.pollLog.map((e) => e.at)).toEqual(task.pollTimes);
    expect(task.pollLog.slice(0, -1).map((e) => e.progress)).toEqual(seen);
    const ready = task.pollLog.at(-1)!;
    expect(ready).toMatchObject({ status: "Ready", progress: null });
    // What a benchmark needs: the first poll that saw Ready, and how late it was.
    expect(ready.at).toBeGreaterThanOrEqual(task.readyAt!);
    expect(task.pollLog.slice(0, -1).every((e) => e.status === "Pending" && e.at < task.readyAt!)).toBe(true);
  });

  it("reportProgress false still means null progress (compatibility), and terminal failures are logged", async () => {
    emu.configure({ reportProgress: false, generationMs: 60, outcome: "Content Moderated" });
    const answer = await submitValid();
    const first = await poll(answer.polling_url);
    expect(first.body.progress).toBeNull();
    await sleep(80);
    await poll(answer.polling_url);
    expect(emu.task(answer.id).pollLog.map((e) => [e.status, e.progress])).toEqual([
      ["Pending", null],
      ["Content Moderated", null],
    ]);
  });
});

describe("emulator: shutdown", () => {
  it("close() ends all servers, even with idle keep-alive connections", async () => {
    const other = await startEmulator();
    await fetch(`${other.pollingBaseUrl}/v1/get_result?id=x`, { headers: { "x-key": other.behaviour.apiKey } });
    await other.close();
    await expect(fetch(`${other.apiBaseUrl}/v1/get_result?id=x`)).rejects.toThrow();
  });
});

describe("emulator: the expand endpoint", () => {
  const expand = (body: unknown) =>
    fetch(`${emu.apiBaseUrl}/v1/flux-pro-1.0-expand`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-key": KEY },
      body: JSON.stringify(body),
    });

  it("validates the sides like the upstream's model (0..2048 integers, null allowed) with the shared fields", async () => {
    const response = await expand({ image: image.toString("base64"), top: -1, bottom: 2049, left: 1.5, right: null, steps: 10 });
    expect(response.status).toBe(422);
    const { detail } = (await response.json()) as { detail: { loc: string[]; type: string }[] };
    expect(detail.map((d) => [d.loc.join("."), d.type])).toEqual([
      ["body.top", "greater_than_equal"],
      ["body.bottom", "less_than_equal"],
      ["body.left", "int_type"],
      ["body.steps", "greater_than_equal"],
    ]);
    expect(emu.tasks.size).toBe(0);
  });

  it("adds the sides around the image in the prompt's colour; a mask field is ignored; sizes in the answer", async () => {
    const response = await expand({
      image: image.toString("base64"),
      mask: "ignored",
      top: 4,
      left: 2,
      right: 6,
      prompt: "sky",
      seed: 3,
      output_format: "png",
    });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { polling_url: string; input_mp: number; output_mp: number };
    expect(answer).toMatchObject({ input_mp: 0, output_mp: 0 });
    expect(emu.submits[0]!.endpoint).toBe("expand");
    expect(emu.submits[0]!.mask).toBeUndefined();
    const ready = await waitReady(answer.polling_url);
    const bytes = Buffer.from(await (await fetch((ready.result as { sample: string }).sample)).arrayBuffer());
    const info = await sharp(bytes).metadata();
    expect([info.width, info.height]).toEqual([40, 28]);
    expect(await pixelAt(bytes, 0, 0)).toEqual(fillColour("sky", 3));
    expect(await pixelAt(bytes, 39, 27)).toEqual(fillColour("sky", 3));
    expect(await pixelAt(bytes, 2 + 5, 4 + 7)).toEqual(await pixelAt(image, 5, 7));
    expect(await pixelAt(bytes, 2 + 31, 4 + 23)).toEqual(await pixelAt(image, 31, 23));
  });
});
