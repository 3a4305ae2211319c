/**
 * Graceful shutdown of the HTTP transport: in-process through `close()`, and the built CLI through
 * SIGTERM (`npm test` builds dist/ first).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { access } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FluxFillOutput } from "../../src/schema/tool.js";
import { useEmulator } from "../helpers/use-emulator.js";
import { CLI_PATH, tempDir } from "../helpers/mcp.js";
import {
  callTool,
  connectClient,
  type HttpTestServer,
  rawRequest,
  startHttp,
  textOf,
  writeInputs,
} from "./http-fixture.js";

const KEY = "test-bfl-key-shutdown-93e0";
let current: HttpTestServer | undefined;
const emulator = useEmulator({ apiKey: KEY, generationMs: 600 }, async () => {
  await current?.close();
  current = undefined;
});

async function start(env: Record<string, string> = {}, graceMs = 5000) {
  current = await startHttp(
    {
      BFL_API_KEY: KEY,
      BFL_API_BASE_URL: emulator.apiBaseUrl,
      FLUX_FILL_POLL_INTERVAL_MS: "20",
      FLUX_FILL_TIMEOUT_S: "20",
      ...env,
    },
    { shutdownGraceMs: graceMs },
  );
  return current;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(10);
  }
}

describe("HTTP transport: graceful shutdown", () => {
  it("stops accepting, lets a running fill finish and answer, saves it, then closes", async () => {
    const server = await start();
    const client = await server.connect();
    const { image, mask } = await writeInputs(server.workDir);
    const call = callTool(client, "flux_fill", { image, mask, prompt: "finish me" });
    await waitUntil(() => emulator.submitCount === 1);
    const closed = server.handle.close();
    await sleep(50);
    // No new connections while it drains.
    await expect(rawRequest(server.handle.url.replace(/\/mcp$/, "/healthz"))).rejects.toThrow(
      /ECONNREFUSED|ECONNRESET|socket hang up/,
    );
    const result = await call;
    expect(result.isError, textOf(result)).toBeFalsy();
    const out = FluxFillOutput.parse(result.structuredContent);
    await access(out.path);
    await closed;
    expect(server.handle.sessionCount()).toBe(0);
    expect(emulator.submitCount).toBe(1);
  });

  it("cancels calls still waiting in the queue without submitting them", async () => {
    const server = await start({ FLUX_FILL_MAX_ACTIVE: "1" });
    const client = await server.connect();
    const { image, mask } = await writeInputs(server.workDir);
    const progress: string[] = [];
    const running = callTool(client, "flux_fill", { image, mask, prompt: "running" });
    await waitUntil(() => emulator.submitCount === 1);
    const waiting = callTool(
      client,
      "flux_fill",
      { image, mask, prompt: "waiting" },
      {
        onprogress: (p) => progress.push(p.message ?? ""),
      },
    );
    await waitUntil(() => progress.some((m) => m.includes("Queued")));
    const closed = server.handle.close();
    const [first, second] = await Promise.all([running, waiting]);
    expect(first.isError, textOf(first)).toBeFalsy();
    expect(second.isError).toBe(true);
    expect(textOf(second)).toMatch(/shutting down.*nothing was submitted or charged/);
    await closed;
    expect(emulator.submitCount).toBe(1);
  });

  it("aborts fills that outlast the grace period and still closes promptly", async () => {
    emulator.configure({ outcome: "never" });
    const server = await start({}, 300);
    const client = await server.connect();
    const { image, mask } = await writeInputs(server.workDir);
    const call = callTool(client, "flux_fill", { image, mask, prompt: "never" }).catch((error: unknown) => error);
    await waitUntil(() => emulator.submitCount === 1);
    const started = Date.now();
    await server.handle.close();
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(3000);
    // The aborted fill's tool error still reached the client before its session was closed.
    const outcome = await call;
    expect(outcome).not.toBeInstanceOf(Error);
    expect(textOf(outcome as Parameters<typeof textOf>[0])).toMatch(
      /^Error \(cancelled\): .*task .* \(last status Pending\)/,
    );
  });
});

describe("HTTP transport: shutdown with a 2026-07-28 subscriptions/listen stream open", () => {
  it("ends the stream gracefully at once instead of holding the close for the grace period; a running fill still finishes", async () => {
    // A grace longer than the test's timeout: a close that waited on the stream could not pass.
    const server = await start({}, 120_000);
    const client = await server.connect({ era: "2026-07-28" });
    const subscription = await client.listen({ toolsListChanged: true, resourcesListChanged: true });
    expect(Object.keys(subscription.honoredFilter).length).toBeGreaterThan(0);
    // A running fill of the same era still finishes and answers: only the listen stream is ended early.
    const { image, mask } = await writeInputs(server.workDir);
    const call = callTool(client, "flux_fill", { image, mask, prompt: "finish me" });
    await waitUntil(() => emulator.submitCount === 1);
    await server.handle.close();
    // "graceful": the server ended the subscription with the spec's final listen result; a stream cut by
    // the closing of the connections would read "remote", and one left open would hold close() for 120 s.
    expect(await subscription.closed).toBe("graceful");
    const result = await call;
    expect(result.isError, textOf(result)).toBeFalsy();
    await access(FluxFillOutput.parse(result.structuredContent).path);
  }, 30_000);
});

describe("flux-fill-mcp --http (built CLI)", () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  });

  function run(args: string[], env: Record<string, string>, cwd: string) {
    const child = spawn(process.execPath, [CLI_PATH, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? os.homedir(), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString("utf8");
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString("utf8");
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    return { child, exited, stdout: () => stdout, stderr: () => stderr };
  }

  it("serves on the given port, answers a real client, and exits 0 on SIGTERM", async () => {
    const cwd = await tempDir();
    const proc = run(
      ["--http", "--host", "127.0.0.1", "--port", "0"],
      { FLUX_FILL_OUTPUT_DIR: path.join(cwd, "out") },
      cwd,
    );
    await waitUntil(() => /serving MCP over HTTP at (\S+)/.test(proc.stderr()), 10_000);
    const url = /serving MCP over HTTP at (\S+)/.exec(proc.stderr())![1]!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const client = await connectClient(url);
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual([
      "flux_expand",
      "flux_fill",
      "get_result",
      "open_mask_editor",
      "preview_mask",
    ]);
    await client.close();
    proc.child.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    expect(proc.stderr()).toContain("HTTP transport closed");
    expect(proc.stdout()).toBe("");
  }, 20_000);

  it("refuses a non-loopback host without a token, and explains the flags in --help", async () => {
    const cwd = await tempDir();
    const refused = run(["--http", "--host", "0.0.0.0", "--port", "0"], {}, cwd);
    expect(await refused.exited).toBe(1);
    expect(refused.stderr()).toMatch(/Refusing to listen on 0\.0\.0\.0 without FLUX_FILL_HTTP_TOKEN/);
    expect(refused.stderr()).toContain("--insecure-no-auth");

    const help = run(["--http", "--help"], {}, cwd);
    expect(await help.exited).toBe(0);
    for (const flag of ["--host", "--port", "--stateless", "--insecure-no-auth", "FLUX_FILL_HTTP_TOKEN", "/healthz"]) {
      expect(help.stdout()).toContain(flag);
    }
    const badPort = run(["--http", "--port", "http"], {}, cwd);
    expect(await badPort.exited).toBe(2);
    expect(badPort.stderr()).toContain("--port must be an integer");
  }, 20_000);
});
