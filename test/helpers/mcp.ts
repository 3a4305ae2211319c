/**
 * Real MCP clients for tests: the SDK's `Client` connected in-memory to `createServer` (for behaviour),
 * or over stdio to the built `dist/cli.js` (for start-up, framing and size limits).
 */
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { type CallToolResult, Client, InMemoryTransport } from "@modelcontextprotocol/client";
import { type Config, loadConfig } from "../../src/config.js";
import { silentLogger } from "../../src/log.js";
import { createServer, type CreateServerOptions, type FluxFillServer } from "../../src/server.js";

export const CLI_PATH = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));

/** The protocol eras the server speaks: 2026-07-28 (stateless, `_meta` envelope) and 2025 (initialize, sessions). */
export const ERAS = ["2026-07-28", "2025"] as const;
export type Era = (typeof ERAS)[number];

/** The SDK's v2 client pinned to one era: no probe, no fallback. */
export function clientOf(name: string, era: Era = "2025"): Client {
  return new Client(
    { name, version: "1.0.0" },
    { versionNegotiation: { mode: era === "2025" ? "legacy" : { pin: "2026-07-28" } } },
  );
}

/** One tools/call through a real client, its result typed as a tool result. */
export async function callTool(
  client: Client,
  name: string,
  args: Record<string, unknown>,
  options: Parameters<Client["callTool"]>[1] = {},
): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args }, options)) as CallToolResult;
}

/** A tool result's text blocks, one after another. */
export function textOf(result: CallToolResult): string {
  return result.content
    .filter((b) => b.type === "text")
    .map((b) => (b as { text: string }).text)
    .join("\n");
}

export interface TestServer {
  client: Client;
  server: FluxFillServer;
  config: Config;
  /** A fresh temporary directory: the output dir lives in it; it is also the working directory. */
  workDir: string;
  close: () => Promise<void>;
}

export async function tempDir(prefix = "flux-fill-test-"): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

/** The server in-process, configured from `env` like the real one (output dir defaults to a temp dir). */
export async function startInMemory(env: Record<string, string> = {}, options: CreateServerOptions = {}): Promise<TestServer> {
  const workDir = await tempDir();
  // The audit log goes to a file in the test's directory rather than into the test output.
  const config = loadConfig(
    { FLUX_FILL_OUTPUT_DIR: path.join(workDir, "out"), FLUX_FILL_AUDIT_LOG: path.join(workDir, "audit.jsonl"), ...env },
    workDir,
  );
  const server = createServer(config, { logger: silentLogger, ...options });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: "test-client", version: "1.0.0" });
  await Promise.all([server.mcp.connect(serverSide), client.connect(clientSide)]);
  let closing: Promise<void> | undefined;
  return {
    client,
    server,
    config,
    workDir,
    // Once, however often it is called (a test may close a server the file's after-hook closes again).
    close: () =>
      (closing ??= (async () => {
        await client.close();
        await server.idle();
        await server.mcp.close();
        await server.close();
      })()),
  };
}

/**
 * The built server as a child process over stdio, the way an MCP client runs it; `launch` starts another
 * copy instead (an installed package's bin, an unpacked bundle).
 */
export async function startStdio(
  env: Record<string, string>,
  cwd: string,
  launch: { command: string; args: string[] } = { command: process.execPath, args: [CLI_PATH] },
  era: Era = "2025",
): Promise<{ client: Client; transport: StdioClientTransport; stderr: () => string }> {
  const transport = new StdioClientTransport({
    ...launch,
    cwd,
    // Only what the test sets, plus PATH/HOME: no developer's BFL_API_KEY leaks into a test.
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? os.homedir(), ...env },
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const client = clientOf("test-stdio-client", era);
  await client.connect(transport);
  return { client, transport, stderr: () => stderr };
}

/** Saved results in a resources/list answer (the server also lists its ui:// app page). */
export function savedResults<T extends { uri: string }>(list: { resources: T[] }): T[] {
  return list.resources.filter((r) => r.uri.startsWith("flux-fill://results/"));
}
