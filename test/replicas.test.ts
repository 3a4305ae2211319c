/**
 * Two replicas as real processes (`flux-fill-mcp --http --stateless`, the built CLI) sharing one Redis
 * (Debian's redis-server) and one S3-compatible bucket (s3rver), in front of the upstream emulator, which
 * refuses more than 4 active tasks per key like the real upstream refuses more than 24. All on 127.0.0.1.
 */
import { type ChildProcess, spawn } from "node:child_process";
import os from "node:os";
import path from "node:path";
import type { Client } from "@modelcontextprotocol/client";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FluxFillOutput } from "../src/schema/tool.js";
import { type Emulator, startEmulator } from "./helpers/emulator.js";
import { CLI_PATH, savedResults, tempDir } from "./helpers/mcp.js";
import { type RedisServer, startRedis } from "./helpers/redis-server.js";
import { type S3Server, startS3 } from "./helpers/s3-server.js";
import { callTool, connectClient, rawRequest, textOf, writeInputs } from "./transports/http-fixture.js";

const KEY = "test-bfl-key-replicas-7c1e";
const UPSTREAM_CAP = 4;
const LEASE_S = 3;

let emulator: Emulator;
let redis: RedisServer;
let s3: S3Server;
let inputs: { image: string; mask: string };
const running: Replica[] = [];
const clients: Client[] = [];

interface Replica {
  url: string;
  base: string;
  child: ChildProcess;
  stderr: () => string;
  stop: () => Promise<void>;
  kill: () => Promise<void>;
}

/** The built server as its own process, configured like a replica behind a load balancer. */
async function startReplica(): Promise<Replica> {
  const workDir = await tempDir("flux-fill-replica-");
  const child = spawn(process.execPath, [CLI_PATH, "--http", "--stateless", "--port", "0"], {
    cwd: workDir,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? os.homedir(),
      BFL_API_KEY: KEY,
      BFL_API_BASE_URL: emulator.apiBaseUrl,
      FLUX_FILL_OUTPUT_DIR: path.join(workDir, "out"),
      FLUX_FILL_POLL_INTERVAL_MS: "50",
      FLUX_FILL_TIMEOUT_S: "60",
      FLUX_FILL_MAX_ACTIVE: String(UPSTREAM_CAP),
      FLUX_FILL_REDIS_URL: redis.url,
      FLUX_FILL_REDIS_LEASE_S: String(LEASE_S),
      ...s3.env("replicas"),
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
      const match = /serving MCP over HTTP at (http:\/\/\S+\/mcp)/.exec(stderr);
      if (match) resolve(match[1]!);
    });
    child.once("exit", (code) => reject(new Error(`replica exited with ${code}:\n${stderr}`)));
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const replica: Replica = {
    url,
    base: url.replace(/\/mcp$/, ""),
    child,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
    kill: async () => {
      child.kill("SIGKILL");
      await exited;
    },
  };
  running.push(replica);
  return replica;
}

async function connect(replica: Replica): Promise<Client> {
  const client = await connectClient(replica.url);
  clients.push(client);
  return client;
}

function fill(client: Client, prompt: string) {
  return callTool(client, "flux_fill", { ...inputs, prompt, output_format: "png" }, { timeout: 90_000 });
}

const refusedWith429 = () => emulator.submits.filter((s) => s.status === 429).length;

beforeAll(async () => {
  [emulator, redis, s3] = await Promise.all([
    startEmulator({ apiKey: KEY, generationMs: 300, maxActiveTasks: UPSTREAM_CAP, reportProgress: false }),
    startRedis(),
    startS3(),
  ]);
  inputs = await writeInputs(await tempDir("flux-fill-replica-inputs-"), 48, 32);
});
afterAll(async () => {
  await Promise.all([emulator?.close(), redis?.close(), s3?.close()]);
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  await Promise.all(running.splice(0).map((r) => r.stop()));
  await redis.start();
  expect(emulator.internalErrors).toEqual([]);
});

describe("two replicas, one Redis, one bucket", () => {
  it("share one upstream budget: 16 calls on a 4-task key all succeed with 16 submits and no 429", async () => {
    emulator.reset();
    const [a, b] = await Promise.all([startReplica(), startReplica()]);
    const [clientA, clientB] = await Promise.all([connect(a), connect(b)]);
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, i) => fill(i % 2 === 0 ? clientA : clientB, `budget ${i}`)),
    );
    expect(results.filter((r) => r.isError).map(textOf)).toEqual([]);
    expect(emulator.submitCount).toBe(16);
    expect(refusedWith429()).toBe(0);
    expect(emulator.maxActiveSeen).toBeLessThanOrEqual(UPSTREAM_CAP);
    // Both replicas worked, each within the shared budget.
    const paths = results.map((r) => FluxFillOutput.parse(r.structuredContent).path);
    expect(paths.every((p) => p.startsWith(`s3://${s3.bucket}/replicas/`))).toBe(true);
  });

  it("serve a result made on one replica from the other, and report Redis and the bucket on /readyz", async () => {
    emulator.reset();
    const [a, b] = await Promise.all([startReplica(), startReplica()]);
    const made = await fill(await connect(a), "made on A");
    expect(made.isError, textOf(made)).toBeFalsy();
    const { id, uri } = FluxFillOutput.parse(made.structuredContent);
    const clientB = await connect(b);
    const fetched = await callTool(clientB, "get_result", { id });
    expect(fetched.isError, textOf(fetched)).toBeFalsy();
    expect(FluxFillOutput.parse(fetched.structuredContent)).toMatchObject({ id, upstream_id: emulator.submits[0]?.taskId });
    expect(savedResults(await clientB.listResources()).map((r) => r.uri)).toContain(uri);
    const blob = (await clientB.readResource({ uri })).contents[0] as { blob: string };
    expect(Buffer.from(blob.blob, "base64").subarray(1, 4).toString("latin1")).toBe("PNG");

    const ready = JSON.parse((await rawRequest(`${b.base}/readyz`)).body);
    expect(ready).toMatchObject({
      status: "ready",
      checks: {
        redis: { ok: true, where: redis.url },
        results: { ok: true, where: `s3://${s3.bucket}/replicas/`, details: { waiting_upload: 0 } },
      },
    });
  });

  it("give a killed replica's slots back once its leases lapse", async () => {
    emulator.reset({ generationMs: (task) => (String(task.body.prompt).startsWith("held") ? 1500 : 300) });
    const [a, b] = await Promise.all([startReplica(), startReplica()]);
    const clientA = await connect(a);
    // A takes every slot, then dies with its tasks running.
    // Their calls never get an answer (the client is closed after the test).
    for (let i = 0; i < UPSTREAM_CAP; i++) fill(clientA, `held ${i}`).catch(() => undefined);
    await expect.poll(() => emulator.submitCount, { timeout: 30_000 }).toBe(UPSTREAM_CAP);
    await a.kill();
    const killedAt = Date.now();
    const onB = await fill(await connect(b), "after the kill");
    expect(onB.isError, textOf(onB)).toBeFalsy();
    const submittedAt = emulator.submits.at(-1)!.at;
    // B waited for the leases to lapse (renewed every LEASE_S/3 until the kill), not longer than the issue allows.
    expect(submittedAt - killedAt).toBeGreaterThanOrEqual(((LEASE_S * 2) / 3) * 1000 - 250);
    expect(submittedAt - killedAt).toBeLessThan(45_000);
    expect(refusedWith429()).toBe(0);
  }, 60_000);

  it("attach a retry on another replica to the running task: one submit, both get the result", async () => {
    emulator.reset({ generationMs: 1500 });
    const [a, b] = await Promise.all([startReplica(), startReplica()]);
    const onA = fill(await connect(a), "one task for two calls");
    await expect.poll(() => emulator.submitCount, { timeout: 30_000 }).toBe(1);
    const onB = await fill(await connect(b), "one task for two calls");
    const first = await onA;
    expect(first.isError, textOf(first)).toBeFalsy();
    expect(onB.isError, textOf(onB)).toBeFalsy();
    expect(emulator.submitCount).toBe(1);
    expect(textOf(onB)).toContain("shared its one upstream task");
    expect(FluxFillOutput.parse(onB.structuredContent).id).toBe(FluxFillOutput.parse(first.structuredContent).id);
  }, 60_000);

  it("adopt a killed replica's running task: the other saves its result, and the retry gets it without a submit", async () => {
    emulator.reset({ generationMs: 2500 });
    const [a, b] = await Promise.all([startReplica(), startReplica()]);
    const watcher = new Redis(redis.url);
    try {
      const clientB = await connect(b);
      const before = savedResults(await clientB.listResources()).length;
      fill(await connect(a), "paid, then the replica died").catch(() => undefined);
      // Submitted and journalled: then the replica is killed mid-task.
      await expect.poll(() => watcher.hlen("flux-fill:journal"), { timeout: 30_000 }).toBe(1);
      await a.kill();
      const killedAt = Date.now();
      await expect
        .poll(async () => savedResults(await clientB.listResources()).length, { timeout: 45_000, interval: 250 })
        .toBe(before + 1);
      expect(Date.now() - killedAt).toBeLessThan(45_000);
      // The adopter saves the result, files it as undelivered, then clears the journal entry: wait for that last
      // step (on a loaded machine it can follow the listing by a moment) before the retry.
      await expect.poll(() => watcher.hlen("flux-fill:journal"), { timeout: 10_000, interval: 100 }).toBe(0);
      const retry = await fill(clientB, "paid, then the replica died");
      expect(retry.isError, textOf(retry)).toBeFalsy();
      expect(textOf(retry)).toContain("never reached its caller");
      expect(emulator.submitCount).toBe(1);
    } finally {
      watcher.disconnect();
    }
  }, 90_000);

  it("fail with an error naming Redis while it is away, submitting nothing, and work again once it is back", async () => {
    emulator.reset();
    const a = await startReplica();
    const client = await connect(a);
    await redis.stop();
    const refused = await fill(client, "while Redis is away");
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/service_unavailable.*Redis at redis:\/\/127\.0\.0\.1:\d+\/0 cannot be reached/s);
    expect(emulator.submitCount).toBe(0);
    const notReady = await rawRequest(`${a.base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(JSON.parse(notReady.body)).toMatchObject({ checks: { redis: { ok: false } } });

    await redis.start();
    await expect
      .poll(async () => (await rawRequest(`${a.base}/readyz`)).status, { timeout: 20_000, interval: 200 })
      .toBe(200);
    const done = await fill(client, "Redis is back");
    expect(done.isError, textOf(done)).toBeFalsy();
    expect(emulator.submitCount).toBe(1);
  });
});
