/**
 * The reference clients the server is measured against, talking to the emulator directly with fetch:
 * - the P1 floor: the least work any client must do (read, base64, POST, one poll, GET, write), told the
 *   exact ready moment by the emulator so it spends no time polling;
 * - the P2 baseline: what peers do, polling every 500 ms.
 */
import { readFile, writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { Emulator } from "../test/helpers/emulator.js";

const SUBMIT_PATH = "/v1/flux-pro-1.0-fill";

interface Submitted {
  id: string;
  pollingUrl: string;
}

async function submit(
  emu: Emulator,
  apiKey: string,
  imagePath: string,
  maskPath: string,
  params: Record<string, unknown>,
): Promise<Submitted> {
  const [image, mask] = await Promise.all([readFile(imagePath), readFile(maskPath)]);
  const body = { ...params, image: image.toString("base64"), mask: mask.toString("base64") };
  const response = await fetch(`${emu.apiBaseUrl}${SUBMIT_PATH}`, {
    method: "POST",
    headers: { "x-key": apiKey, "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as { id?: string; polling_url?: string };
  if (response.status !== 200 || !answer.id || !answer.polling_url) {
    throw new Error(`floor submit failed: HTTP ${response.status} ${JSON.stringify(answer).slice(0, 300)}`);
  }
  return { id: answer.id, pollingUrl: answer.polling_url };
}

interface PollAnswer {
  status: string;
  result?: { sample?: string } | null;
}

async function poll(apiKey: string, pollingUrl: string): Promise<PollAnswer> {
  const response = await fetch(pollingUrl, { headers: { "x-key": apiKey, accept: "application/json" } });
  return (await response.json()) as PollAnswer;
}

async function download(sampleUrl: string, outPath: string): Promise<void> {
  const response = await fetch(sampleUrl);
  if (response.status !== 200) throw new Error(`sample download failed: HTTP ${response.status}`);
  await writeFile(outPath, Buffer.from(await response.arrayBuffer()));
}

export interface FloorRun {
  taskId: string;
  startedAt: number;
  /** Submit answered (task created), ms since the epoch. */
  submittedAt: number;
  /** The poll that saw Ready was answered. */
  readySeenAt: number;
  writtenAt: number;
  wallMs: number;
}

/** P1 floor: read both files, base64, POST, wait for the emulator's own ready time, poll once, GET, write. */
export async function floorFill(
  emu: Emulator,
  apiKey: string,
  imagePath: string,
  maskPath: string,
  params: Record<string, unknown>,
  outPath: string,
): Promise<FloorRun> {
  const startedAt = Date.now();
  const task = await submit(emu, apiKey, imagePath, maskPath, params);
  const submittedAt = Date.now();
  const readyAt = emu.task(task.id).readyAt;
  if (readyAt === undefined) throw new Error("floor: the emulator task will never be Ready");
  await sleep(Math.max(0, readyAt - Date.now()));
  let answer = await poll(apiKey, task.pollingUrl);
  while (answer.status === "Pending") {
    await sleep(1);
    answer = await poll(apiKey, task.pollingUrl);
  }
  const readySeenAt = Date.now();
  const sample = answer.result?.sample;
  if (answer.status !== "Ready" || !sample) throw new Error(`floor: task ended ${answer.status}`);
  await download(sample, outPath);
  const writtenAt = Date.now();
  return { taskId: task.id, startedAt, submittedAt, readySeenAt, writtenAt, wallMs: writtenAt - startedAt };
}

export interface PolledRun {
  taskId: string;
  /** The sample was written to disk. */
  deliveredAt: number;
}

/** P2 baseline: submit, then poll every `intervalMs` until Ready, download and write. */
export async function fixedIntervalFill(
  emu: Emulator,
  apiKey: string,
  imagePath: string,
  maskPath: string,
  params: Record<string, unknown>,
  outPath: string,
  intervalMs = 500,
  maxPolls = 600,
): Promise<PolledRun> {
  const task = await submit(emu, apiKey, imagePath, maskPath, params);
  for (let i = 0; i < maxPolls; i++) {
    await sleep(intervalMs);
    const answer = await poll(apiKey, task.pollingUrl);
    if (answer.status === "Pending") continue;
    const sample = answer.result?.sample;
    if (answer.status !== "Ready" || !sample) throw new Error(`baseline: task ended ${answer.status}`);
    await download(sample, outPath);
    return { taskId: task.id, deliveredAt: Date.now() };
  }
  throw new Error(`baseline: task ${task.id} still pending after ${maxPolls} polls`);
}
