/**
 * The HTTP transport in-process on 127.0.0.1 with an ephemeral port, and real SDK clients connected to it
 * through `StreamableHTTPClientTransport`. Shared by the http*.test.ts files.
 */
import { writeFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { type Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { type Config, loadConfig } from "../../src/config.js";
import { silentLogger } from "../../src/log.js";
import { createRuntime, type ServerRuntime } from "../../src/server.js";
import { type HttpServerHandle, type HttpServerOptions, startHttpServer } from "../../src/transports/http/index.js";
import { makeMask, makePhoto } from "../helpers/images.js";
import { clientOf, type Era, tempDir } from "../helpers/mcp.js";

export { callTool, textOf } from "../helpers/mcp.js";

export interface HttpTestServer {
  handle: HttpServerHandle;
  config: Config;
  runtime: ServerRuntime;
  workDir: string;
  /** Closes every client opened with `connect`, then the server (gracefully). */
  close: () => Promise<void>;
  connect: (options?: ConnectOptions) => Promise<Client>;
}

export interface ConnectOptions {
  token?: string;
  headers?: Record<string, string>;
  /** The protocol era the client is pinned to; default 2025. */
  era?: Era;
}

/** The server configured from `env` like the real one, on 127.0.0.1 with a free port, output in a temp dir. */
export async function startHttp(
  env: Record<string, string> = {},
  options: HttpServerOptions = {},
): Promise<HttpTestServer> {
  const workDir = await tempDir("flux-fill-http-");
  // The audit log goes to a file in the test's directory rather than into the test output.
  const config = loadConfig(
    { FLUX_FILL_OUTPUT_DIR: path.join(workDir, "out"), FLUX_FILL_AUDIT_LOG: path.join(workDir, "audit.jsonl"), ...env },
    workDir,
  );
  config.http.port = 0; // a free port (the env parser only takes positive ones)
  const runtime = options.runtime ?? createRuntime(config, { logger: silentLogger });
  const handle = await startHttpServer(config, { logger: silentLogger, shutdownGraceMs: 5000, ...options, runtime });
  const clients: Client[] = [];
  return {
    handle,
    config,
    runtime,
    workDir,
    connect: async (connectOptions = {}) => {
      const client = await connectClient(handle.url, connectOptions);
      clients.push(client);
      return client;
    },
    close: async () => {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await handle.close();
      if (options.runtime === undefined) await runtime.close();
    },
  };
}

export function clientTransport(url: string, options: ConnectOptions = {}): StreamableHTTPClientTransport {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
  return new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
}

/** A real SDK client over Streamable HTTP. */
export async function connectClient(url: string, options: ConnectOptions = {}): Promise<Client> {
  const client = clientOf("http-test-client", options.era);
  await client.connect(clientTransport(url, options));
  return client;
}


/** A small photo and a rectangle mask in `dir`. */
export async function writeInputs(dir: string, width = 64, height = 48): Promise<{ image: string; mask: string }> {
  const image = path.join(dir, "photo.png");
  const mask = path.join(dir, "mask.png");
  await writeFile(image, await makePhoto(width, height, { format: "png", seed: 5 }));
  await writeFile(mask, await makeMask(width, height, { kind: "rect", x: 20, y: 12, width: 16, height: 12 }));
  return { image, mask };
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request with exactly the headers given (fetch will not send a foreign Host). */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: options.method ?? "GET", headers: options.headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks).toString("utf8"),
        }),
      );
      response.on("error", reject);
    });
    request.on("error", reject);
    request.end(options.body);
  });
}

/** The JSON-RPC body of an initialize request, for raw requests. */
export function initializeBody(id = 1): string {
  return JSON.stringify({
    jsonrpc: "2.0",
    id,
    method: "initialize",
    params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
  });
}

export const MCP_HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
} as const;
