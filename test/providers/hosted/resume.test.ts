/**
 * Never paying twice across a restart: each hosted provider reports the job it submitted (what the journal
 * keeps) and a fresh provider collects that job from it alone, without submitting again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFalProvider } from "../../../src/providers/fal/index.js";
import { createReplicateProvider } from "../../../src/providers/replicate/index.js";
import type { Provider, SubmittedTaskInfo } from "../../../src/providers/types.js";
import { FluxProFillInputs } from "../../../src/schema/upstream.js";
import { fillColour } from "../../helpers/emulator.js";
import { fillRequest } from "../../helpers/fill-request.js";
import { type HostEmulator, startFalEmulator, startReplicateEmulator } from "../../helpers/host-emulators.js";
import { decodeRaw, encodeRaster, maskPixels, photoPixels, pixelAt } from "../../helpers/images.js";

let fal: HostEmulator;
let replicate: HostEmulator;
beforeAll(async () => {
  [fal, replicate] = await Promise.all([
    startFalEmulator({ apiKey: "fal-key-resume", generationMs: 150 }),
    startReplicateEmulator({ apiKey: "rep-token-resume", generationMs: 150 }),
  ]);
});
afterAll(async () => {
  await Promise.all([fal.close(), replicate.close()]);
});

const hosts: [string, () => HostEmulator, () => Provider][] = [
  [
    "fal",
    () => fal,
    () =>
      createFalProvider({ apiKey: "fal-key-resume", baseUrl: fal.apiBaseUrl, model: "pro", timeoutMs: 10_000, pollIntervalMs: 20 }),
  ],
  [
    "replicate",
    () => replicate,
    () =>
      createReplicateProvider({
        apiKey: "rep-token-resume",
        baseUrl: replicate.apiBaseUrl,
        model: "pro",
        timeoutMs: 10_000,
        pollIntervalMs: 20,
      }),
  ],
];

describe.each(hosts)("%s: resuming a journalled job", (_name, emulator, provider) => {
  it("a process stopped while waiting; a new one collects the same job from the journal facts, no second submit", async () => {
    emulator().reset();
    const image = photoPixels(48, 32, 5);
    const mask = maskPixels(48, 32, { kind: "rect", x: 10, y: 8, width: 16, height: 12 });
    const params = FluxProFillInputs.parse({ image: "-", prompt: "resumed", seed: 11, output_format: "png" });
    const { image: _i, mask: _m, ...fillParams } = params;
    const request = fillRequest(image, mask, { image: await encodeRaster(image, "png"), mask: await encodeRaster(mask, "png") }, fillParams);

    const shutdown = new AbortController();
    let journalled: SubmittedTaskInfo | undefined;
    const first = provider().fill(request, {
      signal: shutdown.signal,
      onSubmitted: (task) => {
        journalled = task;
        shutdown.abort("shutting down"); // the process goes away right after journalling
      },
    });
    await expect(first).rejects.toMatchObject({ kind: "cancelled" });
    expect(journalled).toBeDefined();
    expect(JSON.stringify(journalled)).not.toMatch(/key-resume|token-resume/);
    const job = emulator().job(journalled!.upstreamId);
    expect(job.cancelledAt).toBeUndefined(); // a shutdown leaves the paid job running

    const output = await provider().resume!(journalled!, { kind: "fill", params: fillParams }, { signal: new AbortController().signal });
    expect(emulator().submitCount).toBe(1);
    expect(output.upstreamId).toBe(journalled!.upstreamId);
    expect(job.deliveries).toBe(1);
    const saved = await decodeRaw(output.bytes);
    expect(pixelAt(saved, 18, 14)).toEqual(fillColour("resumed", 11));
  });
});
