/**
 * The fal and replicate providers end to end: the SDK's real Client (in memory) against the real server,
 * with each host's emulator on 127.0.0.1 (test/helpers/host-emulators.ts) standing in for queue.fal.run
 * and api.replicate.com.
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { effectiveProvider, loadConfig } from "../../../src/config.js";
import { FluxFillOutput } from "../../../src/schema/tool.js";
import { fillColour } from "../../helpers/emulator.js";
import {
  type HostBehaviour,
  type HostEmulator,
  startFalEmulator,
  startReplicateEmulator,
} from "../../helpers/host-emulators.js";
import { decodeRaw, makeMask, makePhoto, pixelAt } from "../../helpers/images.js";
import { callTool, savedResults, startInMemory, type TestServer, textOf as text } from "../../helpers/mcp.js";

const FAL_KEY = "fal-secret-key-7c1d:9e2f";
const REPLICATE_TOKEN = "r8_secret_token_51ab";

let fal: HostEmulator;
let replicate: HostEmulator;
let current: TestServer | undefined;

beforeAll(async () => {
  [fal, replicate] = await Promise.all([
    startFalEmulator({ apiKey: FAL_KEY, queueMs: 30, generationMs: 120 }),
    startReplicateEmulator({ apiKey: REPLICATE_TOKEN, queueMs: 30, generationMs: 120 }),
  ]);
});
afterAll(async () => {
  await Promise.all([fal.close(), replicate.close()]);
});
beforeEach(() => {
  fal.reset();
  replicate.reset();
});
afterEach(async () => {
  await current?.close();
  current = undefined;
  expect(fal.internalErrors).toEqual([]);
  expect(replicate.internalErrors).toEqual([]);
});

interface Host {
  name: "fal" | "replicate";
  key: string;
  keySetting: string;
  emulator: () => HostEmulator;
  env: () => Record<string, string>;
  /** The submitted input fields (fal: the body; Replicate: body.input). */
  input: (body: Record<string, unknown>) => Record<string, unknown>;
}

const HOSTS: Host[] = [
  {
    name: "fal",
    key: FAL_KEY,
    keySetting: "FAL_KEY",
    emulator: () => fal,
    env: () => ({ FAL_KEY, FLUX_FILL_FAL_BASE_URL: fal.apiBaseUrl }),
    input: (body) => body,
  },
  {
    name: "replicate",
    key: REPLICATE_TOKEN,
    keySetting: "REPLICATE_API_TOKEN",
    emulator: () => replicate,
    env: () => ({ REPLICATE_API_TOKEN: REPLICATE_TOKEN, FLUX_FILL_REPLICATE_BASE_URL: replicate.apiBaseUrl }),
    input: (body) => body.input as Record<string, unknown>,
  },
];

async function start(env: Record<string, string>) {
  current = await startInMemory({ FLUX_FILL_POLL_INTERVAL_MS: "20", FLUX_FILL_TIMEOUT_S: "10", ...env });
  return current;
}

async function writeInputs(dir: string) {
  const image = path.join(dir, "photo.png");
  const mask = path.join(dir, "mask.png");
  await writeFile(image, await makePhoto(96, 64, { format: "png", seed: 7 }));
  await writeFile(mask, await makeMask(96, 64, { kind: "rect", x: 40, y: 20, width: 24, height: 16 }));
  return { image, mask };
}

const call = (server: TestServer, args: Record<string, unknown>, options: { signal?: AbortSignal } = {}, tool = "flux_fill") =>
  callTool(server.client, tool, args, options);

/** Every file the server wrote (results, sidecars, journal, audit log) as text. */
async function everythingWritten(dir: string): Promise<string> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const texts = await Promise.all(
    entries.filter((e) => e.isFile()).map((e) => readFile(path.join(e.parentPath, e.name), "latin1")),
  );
  return texts.join("\n");
}

describe.each(HOSTS)("the $name provider through a real client", (host) => {
  const emulator = () => host.emulator();

  it("fills: the mask's area is painted, the key never leaves for the delivery host, results or logs", async () => {
    const server = await start(host.env());
    const { image, mask } = await writeInputs(server.workDir);
    const result = await call(server, { image, mask, prompt: "a red door", seed: 42, output_format: "png" });
    expect(result.isError, text(result)).toBeFalsy();
    const structured = FluxFillOutput.parse(result.structuredContent);
    expect(structured).toMatchObject({ provider: host.name, width: 96, height: 64, seed: 42, mime_type: "image/png" });

    expect(emulator().submitCount).toBe(1);
    const job = [...emulator().jobs.values()][0]!;
    expect(job.deliveries).toBe(1);
    const input = host.input(job.body);
    expect(input.prompt).toBe("a red door");
    expect(input.seed).toBe(42);
    // Images inline as data URIs, white = fill in the mask (the host's convention too).
    expect(String(input[host.name === "fal" ? "image_url" : "image"])).toMatch(/^data:image\/(png|jpeg);base64,/);
    expect(String(input[host.name === "fal" ? "mask_url" : "mask"])).toMatch(/^data:image\/png;base64,/);
    if (host.name === "fal") {
      expect(emulator().requests[0]!.url).toBe("/fal-ai/flux-pro/v1/fill");
      expect(input).toMatchObject({ num_images: 1, output_format: "png", safety_tolerance: "2", enhance_prompt: false });
      expect(input).not.toHaveProperty("steps");
      expect(input).not.toHaveProperty("guidance");
    } else {
      expect(emulator().requests[0]!.url).toBe("/v1/models/black-forest-labs/flux-fill-pro/predictions");
      expect(input).toMatchObject({ output_format: "png", steps: 50, safety_tolerance: 2, prompt_upsampling: false });
      expect(input).not.toHaveProperty("guidance"); // our default is left to the host's own scale
    }

    const saved = await decodeRaw(await readFile(structured.path));
    expect(pixelAt(saved, 50, 28)).toEqual(fillColour("a red door", 42));
    expect(pixelAt(saved, 5, 5)).not.toEqual(fillColour("a red door", 42));

    const delivery = emulator().requests.filter((r) => r.server === "delivery");
    expect(delivery).toHaveLength(1);
    expect(delivery[0]!.headers.authorization).toBeUndefined();
    for (const request of emulator().requests.filter((r) => r.server === "api")) {
      expect(request.headers.authorization).toContain(host.key);
    }
    await server.server.idle();
    expect(JSON.stringify(result)).not.toContain(host.key);
    expect(await everythingWritten(server.workDir)).not.toContain(host.key);
  });

  it("says which parameters the host does not take instead of dropping them", async () => {
    const server = await start(host.env());
    const { image, mask } = await writeInputs(server.workDir);
    const args = host.name === "fal" ? { steps: 30, guidance: 20 } : { guidance: 4 };
    const result = await call(server, { image, mask, prompt: "p", ...args });
    expect(result.isError, text(result)).toBeFalsy();
    const input = host.input([...emulator().jobs.values()][0]!.body);
    if (host.name === "fal") {
      expect(text(result)).toContain("takes no steps; steps=30 was not sent");
      expect(text(result)).toContain("takes no guidance; guidance=20 was not sent");
    } else {
      expect(input.guidance).toBe(4); // a chosen guidance is sent as given
    }
  });

  it("refuses safety_tolerance 0, which the host does not offer, before anything is submitted", async () => {
    const server = await start(host.env());
    const { image, mask } = await writeInputs(server.workDir);
    const result = await call(server, { image, mask, safety_tolerance: 0 });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain("bad_input");
    expect(text(result)).toMatch(/safety_tolerance 1 \(strictest\) to 6/);
    expect(emulator().submitCount).toBe(0);
  });

  it("turns a rejected key (401) into a clear error naming the setting, without echoing the key", async () => {
    const server = await start({ ...host.env(), [host.keySetting]: `${host.key}-wrong` });
    const { image, mask } = await writeInputs(server.workDir);
    const result = await call(server, { image, mask });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/rejected the API key \(HTTP 401/);
    expect(text(result)).toContain(host.keySetting);
    expect(text(result)).not.toContain(host.key);
    expect(emulator().jobs.size).toBe(0);
  });

  it("turns an empty account (402) into upstream_credits", async () => {
    const server = await start(host.env());
    emulator().configure({ outOfCredits: true });
    const { image, mask } = await writeInputs(server.workDir);
    const result = await call(server, { image, mask });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain("upstream_credits");
    expect(text(result)).toMatch(/out of credit \(HTTP 402/);
  });

  it("retries a submit refused with 429 (nothing was created) and succeeds; gives up with a clear error", async () => {
    const server = await start(host.env());
    emulator().configure({ rateLimitNextSubmits: 2, retryAfter: "0" });
    const { image, mask } = await writeInputs(server.workDir);
    const ok = await call(server, { image, mask });
    expect(ok.isError, text(ok)).toBeFalsy();
    expect(emulator().submitCount).toBe(3);
    expect(emulator().jobs.size).toBe(1);

    emulator().configure({ rateLimitNextSubmits: 100, retryAfter: "0" });
    const refused = await call(server, { image, mask, prompt: "again" });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toContain("upstream_rate_limited");
    expect(text(refused)).toContain("Nothing was charged");
    expect(emulator().jobs.size).toBe(1);
  });

  it("never resubmits after a dropped submit answer: one job exists, the error says the outcome is unknown", async () => {
    const server = await start(host.env());
    emulator().configure({ dropNextSubmits: 1 });
    const { image, mask } = await writeInputs(server.workDir);
    const result = await call(server, { image, mask });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain("NOT resubmitted");
    expect(emulator().submitCount).toBe(1);
    expect(emulator().jobs.size).toBe(1);
    expect(savedResults(await server.client.listResources())).toEqual([]);
  });

  it("reports an expired result URL as such, without retrying the job", async () => {
    const server = await start(host.env());
    emulator().configure({ deliveryExpiryMs: 0 });
    const { image, mask } = await writeInputs(server.workDir);
    const result = await call(server, { image, mask });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/could not be downloaded: HTTP 404 \(File expired\), the result URL may have expired/);
    expect(emulator().submitCount).toBe(1);
  });

  it("cancels the remote job when the caller cancels before anything was produced; nothing is saved", async () => {
    const server = await start(host.env());
    emulator().configure({ queueMs: 5000, generationMs: 6000 });
    const { image, mask } = await writeInputs(server.workDir);
    const controller = new AbortController();
    const pending = call(server, { image, mask }, { signal: controller.signal });
    await vi.waitFor(() => expect(emulator().jobs.size).toBe(1));
    const job = [...emulator().jobs.values()][0]!;
    await vi.waitFor(() => expect(job.polls).toBeGreaterThan(0));
    controller.abort("user cancelled");
    await expect(pending).rejects.toThrow();
    await server.server.idle();
    expect(job.cancelledAt).toBeDefined();
    const cancel = emulator().requests.find((r) => r.url.endsWith("/cancel"));
    expect(cancel?.method).toBe(host.name === "fal" ? "PUT" : "POST");
    expect(job.deliveries).toBe(0);
    expect(emulator().submitCount).toBe(1);
    expect(savedResults(await server.client.listResources())).toEqual([]);
  });

  it("collects and saves a job that had already completed when the caller cancelled (it is paid for)", async () => {
    const server = await start({ ...host.env(), FLUX_FILL_POLL_INTERVAL_MS: "1500" });
    emulator().configure({ queueMs: 10, generationMs: 50 });
    const { image, mask } = await writeInputs(server.workDir);
    const controller = new AbortController();
    const pending = call(server, { image, mask, prompt: "done already" }, { signal: controller.signal });
    await vi.waitFor(() => expect(emulator().jobs.size).toBe(1));
    const job = [...emulator().jobs.values()][0]!;
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(job.createdAt + 60));
    expect(job.polls).toBe(0); // the first poll is still 1.5 s away
    controller.abort("user cancelled");
    await expect(pending).rejects.toThrow();
    await server.server.idle();
    expect(emulator().requests.some((r) => r.url.endsWith("/cancel"))).toBe(true);
    expect(job.cancelledAt).toBeUndefined();
    expect(job.deliveries).toBe(1);
    expect(savedResults(await server.client.listResources())).toHaveLength(1);
  });

  it("refuses flux_expand clearly: the host has no FLUX.1 Expand", async () => {
    const server = await start(host.env());
    const { image } = await writeInputs(server.workDir);
    const result = await call(server, { image, right: 32 }, {}, "flux_expand");
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/hosts no FLUX\.1 Expand model/);
    expect(text(result)).toContain("FLUX_FILL_PROVIDER=local");
    expect(emulator().submitCount).toBe(0);
  });

  it("runs FLUX.1 Fill [dev] with FLUX_FILL_MODEL=dev", async () => {
    const server = await start({ ...host.env(), FLUX_FILL_MODEL: "dev" });
    const { image, mask } = await writeInputs(server.workDir);
    const result = await call(server, { image, mask, prompt: "dev fill", seed: 3, steps: 28, safety_tolerance: 5 });
    expect(result.isError, text(result)).toBeFalsy();
    const input = host.input([...emulator().jobs.values()][0]!.body);
    if (host.name === "fal") {
      expect(emulator().requests[0]!.url).toBe("/fal-ai/flux-lora-fill");
      expect(input).toMatchObject({ num_inference_steps: 28, guidance_scale: 60, enable_safety_checker: true });
    } else {
      expect(emulator().requests[0]!.url).toBe("/v1/models/black-forest-labs/flux-fill-dev/predictions");
      expect(input).toMatchObject({ num_inference_steps: 28, num_outputs: 1, megapixels: "match_input" });
    }
    expect(text(result)).toContain("takes no safety_tolerance; safety_tolerance=5 was not sent");
    // Fill [dev] on fal has no output_format: JPEG, so colours are within rounding.
    const saved = await decodeRaw(await readFile(FluxFillOutput.parse(result.structuredContent).path));
    const painted = pixelAt(saved, 50, 28);
    const distance = Math.max(...fillColour("dev fill", 3).map((channel, i) => Math.abs(painted[i]! - channel)));
    expect(distance).toBeLessThanOrEqual(3);
  });
});

describe("terminal statuses", () => {
  const cases: [Host["name"], Partial<HostBehaviour>, RegExp, string][] = [
    ["fal", { outcome: "nsfw" }, /safety checker flagged the result/, "upstream_moderated"],
    ["fal", { outcome: "error" }, /failed \(HTTP 503\): Runner disconnected \[runner_disconnected\]/, "upstream_failed"],
    ["fal", { outcome: "invalid" }, /refused the input .*HTTP 422\): image_url: Image could not be processed/, "bad_input"],
    ["fal", { outcome: "FAILED" }, /ended with status "FAILED"/, "upstream_failed"],
    ["replicate", { outcome: "nsfw" }, /safety filter stopped prediction .*NSFW content detected/, "upstream_moderated"],
    ["replicate", { outcome: "error" }, /failed: CUDA out of memory/, "upstream_failed"],
    ["replicate", { outcome: "canceled" }, /was canceled on Replicate/, "upstream_failed"],
    ["replicate", { outcome: "aborted" }, /aborted before it started/, "upstream_failed"],
    ["replicate", { outcome: "Exploded" }, /unrecognised status "Exploded"/, "upstream_failed"],
  ];
  for (const [name, behaviour, pattern, kind] of cases) {
    it(`${name}: ${behaviour.outcome} → ${kind}, nothing saved`, async () => {
      const host = HOSTS.find((h) => h.name === name)!;
      const server = await start(host.env());
      host.emulator().configure(behaviour);
      const { image, mask } = await writeInputs(server.workDir);
      const result = await call(server, { image, mask });
      expect(result.isError).toBe(true);
      expect(text(result)).toMatch(pattern);
      expect(text(result)).toContain(kind);
      expect(text(result)).not.toContain(host.key);
      expect(host.emulator().submitCount).toBe(1);
      expect(savedResults(await server.client.listResources())).toEqual([]);
    });
  }

  it("replicate: a chosen guidance outside the model's range comes back as a clear 422 naming the field", async () => {
    const server = await start(HOSTS[1]!.env());
    const { image, mask } = await writeInputs(server.workDir);
    const result = await call(server, { image, mask, guidance: 30 });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain("bad_input");
    expect(text(result)).toMatch(/HTTP 422\): - input\.guidance: Must be a number from 2 to 5/);
    expect(replicate.jobs.size).toBe(0);
  });
});

describe("provider choice", () => {
  const keys = { BFL_API_KEY: "b-key", FAL_KEY: "f-key", REPLICATE_API_TOKEN: "r-key" };
  it("auto picks bfl, then fal, then replicate by which key is set, else local", () => {
    const pick = (env: Record<string, string>) => effectiveProvider(loadConfig(env, "/tmp"));
    expect(pick(keys)).toBe("bfl");
    expect(pick({ FAL_KEY: "f", REPLICATE_API_TOKEN: "r" })).toBe("fal");
    expect(pick({ REPLICATE_API_TOKEN: "r" })).toBe("replicate");
    expect(pick({})).toBe("local");
    expect(pick({ ...keys, FLUX_FILL_PROVIDER: "replicate" })).toBe("replicate");
    expect(() => loadConfig({ FLUX_FILL_PROVIDER: "falx" }, "/tmp")).toThrow(/auto, bfl, fal, replicate or local/);
    expect(() => loadConfig({ FLUX_FILL_MODEL: "schnell" }, "/tmp")).toThrow(/FLUX_FILL_MODEL must be pro or dev/);
  });

  it("with fal and Replicate keys, auto sends the call to fal; with only a Replicate token, to Replicate", async () => {
    const both = await start({ ...HOSTS[0]!.env(), ...HOSTS[1]!.env() });
    const { image, mask } = await writeInputs(both.workDir);
    const first = await call(both, { image, mask });
    expect(FluxFillOutput.parse(first.structuredContent).provider).toBe("fal");
    expect([fal.submitCount, replicate.submitCount]).toEqual([1, 0]);
    await both.close();
    current = undefined;

    const only = await start(HOSTS[1]!.env());
    const inputs = await writeInputs(only.workDir);
    const second = await call(only, inputs);
    expect(FluxFillOutput.parse(second.structuredContent).provider).toBe("replicate");
    expect([fal.submitCount, replicate.submitCount]).toEqual([1, 1]);
  });

  it("asking for fal without FAL_KEY is a clear error naming the setting", async () => {
    const server = await start({ FLUX_FILL_PROVIDER: "fal" });
    const { image, mask } = await writeInputs(server.workDir);
    const result = await call(server, { image, mask });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain("FAL_KEY is not set");
  });
});
