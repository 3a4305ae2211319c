/**
 * The built server as the benchmark runs it: a child process over stdio (the SDK's Client and
 * StdioClientTransport, like an MCP host) or over Streamable HTTP (`dist/cli.js --http --port 0`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { findHttpEndpoint, type ProcMemory, parseProcStatCpuSeconds, parseProcStatus } from "./parse.js";

/** The repository root: the nearest folder above this file (or its bundle) with the project's package.json. */
export function findRoot(start = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "package.json")) && existsSync(path.join(dir, "src", "cli.ts"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no flux-fill-mcp checkout above ${start}`);
  }
}

/** The protocol eras the server speaks: 2026-07-28 (stateless, `_meta` envelope) and 2025 (initialize, sessions). */
export type Era = "2026-07-28" | "2025";

/** The SDK's v2 client pinned to one era (no probe, no fallback), as test/helpers/mcp.ts pins it. */
export function benchClient(name: string, era: Era): Client {
  return new Client(
    { name, version: "1.0.0" },
    { versionNegotiation: { mode: era === "2025" ? "legacy" : { pin: "2026-07-28" } } },
  );
}

/** Only what the harness sets, plus PATH/HOME: a developer's real BFL_API_KEY never reaches a run. */
export function childEnv(env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? os.homedir(), ...env };
}

export interface StdioServer {
  client: Client;
  transport: StdioClientTransport;
  pid: number;
  /** Spawn → `initialize` answered (the SDK's connect does both). */
  connectMs: number;
  stderr(): string;
  close(): Promise<void>;
}

/** Starts `node <script>` over stdio and completes the MCP handshake. */
export async function startStdioServer(
  script: string,
  env: Record<string, string>,
  cwd: string,
  era: Era = "2025",
): Promise<StdioServer> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [script],
    cwd,
    env: childEnv(env),
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const client = benchClient("flux-fill-bench", era);
  const started = performance.now();
  await client.connect(transport);
  const connectMs = performance.now() - started;
  const pid = transport.pid;
  if (pid === null) throw new Error("the stdio transport has no child pid");
  return {
    client,
    transport,
    pid,
    connectMs,
    stderr: () => stderr,
    close: async () => {
      await client.close().catch(() => undefined);
    },
  };
}

export async function procMemory(pid: number): Promise<ProcMemory> {
  return parseProcStatus(await readFile(`/proc/${pid}/status`, "utf8"));
}

/** CPU seconds (user + system) the process has used so far. */
export async function procCpuSeconds(pid: number): Promise<number> {
  return parseProcStatCpuSeconds(await readFile(`/proc/${pid}/stat`, "utf8"));
}

/** process.memoryUsage() of a server run with the memory probe (bench/memory-probe.cjs), bytes. */
export interface ServerMemoryUsage {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

export interface HttpServerProcess {
  /** The MCP endpoint, e.g. http://127.0.0.1:40123/mcp. */
  url: string;
  token: string;
  child: ChildProcess;
  stderr(): string;
  /** A new client and transport: an MCP session in the 2025 era (the default), sessionless in 2026-07-28. */
  connect(era?: Era): Promise<Client>;
  /**
   * The server's own memory figures, after a full garbage collection when `gc` is set (and `snapshot`, a
   * heap snapshot written there). Only with `probe: true`.
   */
  memory(options?: { gc?: boolean; snapshot?: string }): Promise<ServerMemoryUsage>;
  /** SIGTERM (graceful: running fills finish) and wait for the exit. */
  stop(): Promise<void>;
}

const PROBE_MESSAGE = "flux-fill-bench:memory";

/** `node dist/cli.js --http --port 0` with a bearer token; resolves once the endpoint is logged. */
export async function startHttpServerProcess(
  cliPath: string,
  env: Record<string, string>,
  cwd: string,
  token: string,
  options: { startTimeoutMs?: number; probe?: boolean } = {},
): Promise<HttpServerProcess> {
  const startTimeoutMs = options.startTimeoutMs ?? 15_000;
  // The probe answers over an IPC channel; --expose-gc lets it collect garbage before measuring.
  const probe =
    options.probe === true ? ["--expose-gc", "--require", path.join(findRoot(), "bench", "memory-probe.cjs")] : [];
  const child = spawn(process.execPath, [...probe, cliPath, "--http", "--port", "0"], {
    cwd,
    env: childEnv({ ...env, FLUX_FILL_HTTP_TOKEN: token }),
    stdio: options.probe === true ? ["ignore", "ignore", "pipe", "ipc"] : ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`HTTP server did not start within ${startTimeoutMs} ms:\n${stderr}`)),
      startTimeoutMs,
    );
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
      const found = findHttpEndpoint(stderr);
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`HTTP server exited (${code}) before listening:\n${stderr}`));
    });
  });
  const clients: Client[] = [];
  let probeRequests = 0;
  return {
    url,
    token,
    child,
    stderr: () => stderr,
    connect: async (era: Era = "2025") => {
      const transport = new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
      });
      const client = benchClient("flux-fill-bench-http", era);
      await client.connect(transport);
      clients.push(client);
      return client;
    },
    memory: (request = {}) => {
      if (options.probe !== true) return Promise.reject(new Error("the server was started without the memory probe"));
      const id = ++probeRequests;
      return new Promise<ServerMemoryUsage>((resolve, reject) => {
        const onMessage = (message: { type?: string; id?: number; usage?: ServerMemoryUsage }) => {
          if (message?.type !== PROBE_MESSAGE || message.id !== id || message.usage === undefined) return;
          child.off("message", onMessage);
          child.off("exit", onExit);
          resolve(message.usage);
        };
        const onExit = () => {
          child.off("message", onMessage);
          reject(new Error(`the server exited before answering the memory probe:\n${stderr}`));
        };
        child.on("message", onMessage);
        child.once("exit", onExit);
        child.send({ type: PROBE_MESSAGE, id, ...request });
      });
    },
    stop: async () => {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
