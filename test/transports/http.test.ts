import { savedResults } from "../helpers/mcp.js";
/**
 * The Streamable HTTP transport through the SDK's real `StreamableHTTPClientTransport` (and raw requests
 * where a client would never send such headers), with the upstream emulator on 127.0.0.1.
 */
import { rm, writeFile } from "node:fs/promises";
import { Client } from "@modelcontextprotocol/client";
import { describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../src/config.js";
import { FluxFillError } from "../../src/errors.js";
import { silentLogger } from "../../src/log.js";
import { FluxFillOutput } from "../../src/schema/tool.js";
import { startHttpServer } from "../../src/transports/http/index.js";
import { freePort } from "../helpers/free-port.js";
import { useEmulator } from "../helpers/use-emulator.js";
import { encodeRaster, noisePixels } from "../helpers/images.js";
import {
  callTool,
  clientTransport,
  type HttpTestServer,
  initializeBody,
  MCP_HEADERS,
  rawRequest,
  startHttp,
  textOf,
  writeInputs,
} from "./http-fixture.js";

const KEY = "test-bfl-key-http-7c1d";
const TOKEN = "http-token-0b5e1f9a3c";
let current: HttpTestServer | undefined;
const emulator = useEmulator({ apiKey: KEY, generationMs: 80 }, async () => {
  await current?.close();
  current = undefined;
});

async function start(env: Record<string, string> = {}, options: Parameters<typeof startHttp>[1] = {}) {
  current = await startHttp(
    {
      BFL_API_KEY: KEY,
      BFL_API_BASE_URL: emulator.apiBaseUrl,
      FLUX_FILL_POLL_INTERVAL_MS: "20",
      FLUX_FILL_TIMEOUT_S: "20",
      ...env,
    },
    options,
  );
  return current;
}

/** The error a rejected promise carries (the test fails when it resolves). */
/** A rejection; a request the server refused over HTTP is the SDK's SdkHttpError, which carries the status. */
async function failure(promise: Promise<unknown>): Promise<Error & { status?: number }> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error as Error & { status?: number },
  );
  expect(outcome, "expected a rejection").toBeInstanceOf(Error);
  return outcome!;
}

describe("HTTP transport: MCP over Streamable HTTP", () => {
  it("lists the tools and runs a fill with progress, for a real SDK client", async () => {
    const server = await start();
    const client = await server.connect();
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["flux_expand", "flux_fill", "get_result", "open_mask_editor", "preview_mask"]);
    const { image, mask } = await writeInputs(server.workDir);
    const progress: string[] = [];
    const result = await callTool(
      client,
      "flux_fill",
      { image, mask, prompt: "moss", seed: 3 },
      {
        onprogress: (p) => progress.push(p.message ?? ""),
      },
    );
    expect(result.isError, textOf(result)).toBeFalsy();
    const out = FluxFillOutput.parse(result.structuredContent);
    expect(out).toMatchObject({ provider: "bfl", width: 64, height: 48, seed: 3 });
    expect(result.content.map((b) => b.type)).toEqual(["text", "image", "resource_link"]);
    expect(progress.some((m) => /Pending|Submitted/.test(m))).toBe(true);
    expect(emulator.submitCount).toBe(1);
    // The saved result is a resource of every session, and get_result returns it.
    const other = await server.connect();
    const resources = savedResults(await other.listResources());
    expect(resources.map((r) => r.uri)).toEqual([out.uri]);
    const fetched = await callTool(other, "get_result", { id: "latest" });
    expect(FluxFillOutput.parse(fetched.structuredContent).id).toBe(out.id);
  });

  it("keeps one session per client across requests, and ends it on DELETE", async () => {
    const server = await start();
    const first = new Client({ name: "a", version: "1" });
    const transport = clientTransport(server.handle.url);
    await first.connect(transport);
    const sessionId = transport.sessionId;
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    await first.listTools();
    await first.listResources();
    await first.ping();
    expect(transport.sessionId).toBe(sessionId);
    expect(server.handle.sessionCount()).toBe(1);

    const second = await server.connect();
    await second.listTools();
    expect(server.handle.sessionCount()).toBe(2);

    // A request naming an unknown session is told to start over.
    const stale = await rawRequest(server.handle.url, {
      method: "POST",
      headers: { ...MCP_HEADERS, "mcp-session-id": "00000000-0000-0000-0000-000000000000" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 5, method: "tools/list" }),
    });
    expect(stale.status).toBe(404);
    expect(JSON.parse(stale.body)).toMatchObject({ jsonrpc: "2.0", error: { code: -32001 } });

    await transport.terminateSession();
    expect(server.handle.sessionCount()).toBe(1);
    await first.close();
  });

  it("closes sessions left idle; at the cap ends the least recently used idle one, refusing only when all are busy", async () => {
    const server = await start({}, { sessionIdleMs: 2000, maxSessions: 2 });
    const open = () => rawRequest(server.handle.url, { method: "POST", headers: MCP_HEADERS, body: initializeBody() });
    const ping = (id: string) =>
      rawRequest(server.handle.url, {
        method: "POST",
        headers: { ...MCP_HEADERS, "mcp-session-id": id },
        body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" }),
      });
    const first = String((await open()).headers["mcp-session-id"]);
    const second = String((await open()).headers["mcp-session-id"]);
    expect((await ping(first)).status).toBe(200); // first is now the more recently used
    const third = await open();
    expect(third.status).toBe(200);
    expect(server.handle.sessionCount()).toBe(2);
    expect((await ping(second)).status).toBe(404);
    expect((await ping(first)).status).toBe(200);

    // Sessions with an open request (here a GET stream each) are never ended for room: then it is 503.
    const streams = [first, String(third.headers["mcp-session-id"])].map((id) => {
      const controller = new AbortController();
      const response = fetch(server.handle.url, {
        headers: { accept: "text/event-stream", "mcp-session-id": id },
        signal: controller.signal,
      });
      return { controller, response };
    });
    await Promise.all(streams.map((s) => s.response));
    const refused = await open();
    expect(refused.status).toBe(503);
    expect(refused.body).toMatch(/Too many open sessions \(2\), all busy/);
    for (const s of streams) s.controller.abort();

    // Neither client sends anything more: the sweep closes both.
    const deadline = Date.now() + 10_000;
    while (server.handle.sessionCount() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(server.handle.sessionCount()).toBe(0);
    expect((await ping(first)).status).toBe(404);
  });

  it("refuses a request without a session that is not an initialize", async () => {
    const server = await start();
    const response = await rawRequest(server.handle.url, {
      method: "POST",
      headers: MCP_HEADERS,
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(response.status).toBe(400);
    expect(server.handle.sessionCount()).toBe(0);
  });

  it("serves stateless: no session id, every request stands alone, GET is not allowed", async () => {
    const server = await start({}, { stateless: true });
    const transport = clientTransport(server.handle.url);
    const client = new Client({ name: "stateless", version: "1" });
    await client.connect(transport);
    expect(transport.sessionId).toBeUndefined();
    expect((await client.listTools()).tools).toHaveLength(5);
    const { image, mask } = await writeInputs(server.workDir);
    const result = await callTool(client, "flux_fill", { image, mask, prompt: "sand" });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(server.handle.sessionCount()).toBe(0);
    const get = await rawRequest(server.handle.url, { headers: { accept: "text/event-stream" } });
    expect(get.status).toBe(405);
    await client.close();
  });
});

describe("HTTP transport: auth", () => {
  it("needs the bearer token when one is set: 401 with WWW-Authenticate otherwise", async () => {
    const server = await start({ FLUX_FILL_HTTP_TOKEN: TOKEN });
    const missing = await failure(server.connect());
    expect(missing.status).toBe(401);
    const wrong = await failure(server.connect({ token: "not-the-token" }));
    expect(wrong.status).toBe(401);

    const raw = await rawRequest(server.handle.url, { method: "POST", headers: MCP_HEADERS, body: initializeBody() });
    expect(raw.status).toBe(401);
    expect(raw.headers["www-authenticate"]).toBe('Bearer realm="flux-fill-mcp"');
    expect(JSON.parse(raw.body)).toMatchObject({
      jsonrpc: "2.0",
      id: null,
      error: { message: expect.stringContaining("Bearer") },
    });
    const rawWrong = await rawRequest(server.handle.url, {
      method: "POST",
      headers: { ...MCP_HEADERS, authorization: "Bearer nope" },
      body: initializeBody(),
    });
    expect(rawWrong.status).toBe(401);
    expect(rawWrong.headers["www-authenticate"]).toMatch(/error="invalid_token"/);
    expect(rawWrong.body).not.toContain(TOKEN);

    const client = await server.connect({ token: TOKEN });
    expect((await client.listTools()).tools.length).toBe(5);
    expect(server.handle.sessionCount()).toBe(1);
  });

  it("serves /healthz and /readyz without auth and without secrets", async () => {
    const server = await start({ FLUX_FILL_HTTP_TOKEN: TOKEN });
    const base = server.handle.url.replace(/\/mcp$/, "");
    const health = await rawRequest(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: "ok" });
    const ready = await rawRequest(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({
      status: "ready",
      checks: {
        provider: { ok: true, name: "bfl" },
        segmenter: { ok: true, name: "classic", hosted: false },
        output_dir: { ok: true },
      },
      credits: { spent: 0, limit: null },
    });
    for (const body of [health.body, ready.body]) {
      expect(body).not.toContain(TOKEN);
      expect(body).not.toContain(KEY);
    }
  });

  it("is not ready without an API key for bfl, nor for FLUX_FILL_SEGMENTER=fal, nor with an unwritable output directory", async () => {
    const noKey = await startHttp({ FLUX_FILL_PROVIDER: "bfl" });
    try {
      const base = noKey.handle.url.replace(/\/mcp$/, "");
      const ready = await rawRequest(`${base}/readyz`);
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.body)).toMatchObject({
        status: "not_ready",
        checks: { provider: { ok: false, problem: expect.stringContaining("BFL_API_KEY") } },
      });
    } finally {
      await noKey.close();
    }
    const noFalKey = await startHttp({ FLUX_FILL_PROVIDER: "local", FLUX_FILL_SEGMENTER: "fal" });
    try {
      const ready = await rawRequest(`${noFalKey.handle.url.replace(/\/mcp$/, "")}/readyz`);
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.body)).toMatchObject({
        checks: { segmenter: { ok: false, name: "fal", hosted: true, problem: expect.stringContaining("FAL_KEY") } },
      });
    } finally {
      await noFalKey.close();
    }
    const server = await start();
    // The output directory became a file while the server runs: nothing can be created there.
    await rm(server.config.outputDir, { recursive: true, force: true });
    await writeFile(server.config.outputDir, "");
    const base = server.handle.url.replace(/\/mcp$/, "");
    const ready = await rawRequest(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toMatchObject({ checks: { output_dir: { ok: false } } });
  });

  it("with Redis and a bucket that cannot be reached: not ready, calls fail naming Redis, nothing submitted, no secret shown", async () => {
    const closed = await freePort();
    const server = await start({
      FLUX_FILL_REDIS_URL: `redis://flux:redis-password-5e1c@127.0.0.1:${closed}/0`,
      FLUX_FILL_RESULTS_URL: "s3://flux-results/team",
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${closed}`,
      AWS_ACCESS_KEY_ID: "flux-access-key",
      AWS_SECRET_ACCESS_KEY: "aws-secret-9d2b",
      FLUX_FILL_S3_FORCE_PATH_STYLE: "1",
    });
    const base = server.handle.url.replace(/\/mcp$/, "");
    const ready = await rawRequest(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toMatchObject({
      checks: {
        redis: { ok: false, where: `redis://127.0.0.1:${closed}/0` },
        results: { ok: false, where: "s3://flux-results/team/", details: { waiting_upload: 0 } },
      },
    });
    const client = await server.connect();
    const { image, mask } = await writeInputs(server.workDir);
    const result = await callTool(client, "flux_fill", { image, mask, prompt: "a door" });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain(`Redis at redis://127.0.0.1:${closed}/0 cannot be reached`);
    expect(emulator.submitCount).toBe(0);
    for (const text of [ready.body, textOf(result)]) {
      expect(text).not.toContain("redis-password-5e1c");
      expect(text).not.toContain("aws-secret-9d2b");
    }
  });

  it("refuses to listen off loopback without a token", async () => {
    const config = loadConfig({ FLUX_FILL_HTTP_HOST: "0.0.0.0" }, process.cwd());
    config.http.port = 0;
    const error = await failure(startHttpServer(config, { logger: silentLogger }));
    expect(error).toBeInstanceOf(FluxFillError);
    expect((error as unknown as FluxFillError).kind).toBe("not_allowed");
    expect(error.message).toMatch(/Refusing to listen on 0\.0\.0\.0 without FLUX_FILL_HTTP_TOKEN/);
  });
});

describe("HTTP transport: Host and Origin", () => {
  it("answers 403 to a foreign Host and to a foreign Origin, 200 to loopback ones", async () => {
    const server = await start();
    const port = server.handle.port;
    const post = (headers: Record<string, string>) =>
      rawRequest(server.handle.url, {
        method: "POST",
        headers: { ...MCP_HEADERS, ...headers },
        body: initializeBody(),
      });

    const foreignHost = await post({ host: `evil.example.com:${port}` });
    expect(foreignHost.status).toBe(403);
    expect(JSON.parse(foreignHost.body)).toMatchObject({
      jsonrpc: "2.0",
      error: { message: expect.stringContaining("evil.example.com") },
    });

    const foreignOrigin = await post({ origin: "http://evil.example.com" });
    expect(foreignOrigin.status).toBe(403);
    expect(foreignOrigin.body).toContain("FLUX_FILL_HTTP_ALLOWED_ORIGINS");

    const local = await post({ host: `localhost:${port}`, origin: `http://localhost:${port}` });
    expect(local.status).toBe(200);
    expect(local.headers["mcp-session-id"]).toBeDefined();
    expect(local.headers["access-control-allow-origin"]).toBe(`http://localhost:${port}`);

    // The real client sending a foreign Origin is refused too.
    const refused = await failure(server.connect({ headers: { Origin: "https://evil.example.com" } }));
    expect(refused.status).toBe(403);
  });

  it("accepts the configured extra hosts and origins, and answers CORS preflights", async () => {
    const server = await start({
      FLUX_FILL_HTTP_ALLOWED_HOSTS: "mcp.internal",
      FLUX_FILL_HTTP_ALLOWED_ORIGINS: "https://app.example.com",
    });
    const viaName = await rawRequest(server.handle.url, {
      method: "POST",
      headers: { ...MCP_HEADERS, host: "mcp.internal:443" },
      body: initializeBody(),
    });
    expect(viaName.status).toBe(200);
    const client = await server.connect({ headers: { Origin: "https://app.example.com" } });
    expect((await client.listTools()).tools).toHaveLength(5);
    const preflight = await rawRequest(server.handle.url, {
      method: "OPTIONS",
      headers: { origin: "https://app.example.com", "access-control-request-method": "POST" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers["access-control-allow-origin"]).toBe("https://app.example.com");
    expect(preflight.headers["access-control-allow-headers"]).toMatch(/Authorization/);
    const otherOrigin = await rawRequest(server.handle.url, {
      method: "OPTIONS",
      headers: { origin: "https://other.example.com", "access-control-request-method": "POST" },
    });
    expect(otherOrigin.status).toBe(403);
  });
});

describe("HTTP transport: request bodies", () => {
  it("answers a body over the limit with 413 and a JSON-RPC error naming the limit, and keeps serving", async () => {
    const server = await start({ FLUX_FILL_MAX_INPUT_MB: "1" }); // limit 2 × 1.4 × 1 MiB + 1 MiB ≈ 3.8 MB
    const client = await server.connect();
    const huge = `data:image/png;base64,${"A".repeat(5 * 1024 * 1024)}`;
    const error = await failure(callTool(client, "flux_fill", { image: huge }));
    expect(error.status).toBe(413);
    expect(error.message).toMatch(/over this server's limit of 3\.8 MB/);
    expect(error.message).toContain("FLUX_FILL_MAX_INPUT_MB");

    const raw = await rawRequest(server.handle.url, {
      method: "POST",
      headers: MCP_HEADERS,
      body: `{"jsonrpc":"2.0","id":1,"method":"x","params":{"pad":"${"B".repeat(4 * 1024 * 1024)}"}}`,
    });
    expect(raw.status).toBe(413);
    const body = JSON.parse(raw.body) as { jsonrpc: string; error: { code: number; message: string } };
    expect(body.jsonrpc).toBe("2.0");
    expect(body.error.message).toContain(`${Math.ceil(2 * 1024 * 1024 * 1.4) + 1024 * 1024} bytes`);
    expect(emulator.submitCount).toBe(0);

    expect((await client.listTools()).tools).toHaveLength(5); // the session is still fine
    const bad = await rawRequest(server.handle.url, { method: "POST", headers: MCP_HEADERS, body: "{not json" });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ error: { code: -32700 } });
  });

  it("accepts a 5 MB image inline as a data URI", async () => {
    const server = await start();
    const client = await server.connect();
    const photo = await encodeRaster(noisePixels(1300, 1300, 9), "png");
    expect(photo.length).toBeGreaterThan(5 * 1000 * 1000);
    const { mask } = await writeInputs(server.workDir, 1300, 1300);
    const result = await callTool(client, "flux_fill", {
      image: `data:image/png;base64,${photo.toString("base64")}`,
      mask,
      prompt: "grass",
    });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(FluxFillOutput.parse(result.structuredContent)).toMatchObject({ width: 1300, height: 1300 });
    expect(emulator.submitCount).toBe(1);
  }, 30_000);
});

describe("HTTP transport: clients that go away", () => {
  it("saves the result of a call the client cancelled, and lists it in the next resources/list", async () => {
    emulator.configure({ generationMs: 500 });
    const server = await start();
    const client = await server.connect();
    const { image, mask } = await writeInputs(server.workDir);
    const controller = new AbortController();
    const call = callTool(client, "flux_fill", { image, mask, prompt: "cancelled" }, { signal: controller.signal });
    // Cancel once the task exists (the inputs are checked and cropped first: no fixed wait).
    await vi.waitFor(() => expect(emulator.tasks.size).toBe(1), { timeout: 10_000, interval: 10 });
    controller.abort();
    await failure(call);
    await server.runtime.idle();
    const resources = savedResults(await client.listResources());
    expect(resources).toHaveLength(1);
    expect(emulator.submitCount).toBe(1);
  });

  it("saves the result of a call whose client disconnected", async () => {
    emulator.configure({ generationMs: 500 });
    const server = await start();
    const leaving = await server.connect();
    const { image, mask } = await writeInputs(server.workDir);
    const call = callTool(leaving, "flux_fill", { image, mask, prompt: "gone" }).catch((e: unknown) => e);
    await vi.waitFor(() => expect(emulator.tasks.size).toBe(1), { timeout: 10_000, interval: 10 });
    await leaving.close();
    await call;
    await server.runtime.idle();
    const later = await server.connect();
    const resources = savedResults(await later.listResources());
    expect(resources).toHaveLength(1);
    const fetched = await callTool(later, "get_result", { id: resources[0]!.uri });
    expect(textOf(fetched)).toMatch(/Saved result .* for "gone"/);
  });

  it("hands the result of a call whose client disconnected to the identical call, free; /readyz shows the spend", async () => {
    emulator.configure({ generationMs: 500 });
    const server = await start({ FLUX_FILL_DAILY_CREDIT_LIMIT: "50" });
    const leaving = await server.connect();
    const { image, mask } = await writeInputs(server.workDir);
    const args = { image, mask, prompt: "gone, then back" };
    const call = callTool(leaving, "flux_fill", args).catch((e: unknown) => e);
    await vi.waitFor(() => expect(emulator.tasks.size).toBe(1), { timeout: 10_000, interval: 10 });
    await leaving.close();
    await call;
    await server.runtime.idle();
    const later = await server.connect();
    const result = await callTool(later, "flux_fill", args);
    expect(FluxFillOutput.parse(result.structuredContent).reuse).toBe("earlier_result");
    expect(textOf(result)).toMatch(/nothing was submitted or charged/);
    expect(emulator.submitCount).toBe(1);
    const ready = await rawRequest(`${server.handle.url.replace(/\/mcp$/, "")}/readyz`);
    expect(JSON.parse(ready.body)).toMatchObject({ credits: { spent: 5, limit: 50 } });
  });

  it("lets a client that lost its stream resume it with Last-Event-ID and get the result", async () => {
    emulator.configure({ generationMs: 400 });
    const server = await start();
    const { image, mask } = await writeInputs(server.workDir);
    const init = await fetch(server.handle.url, { method: "POST", headers: MCP_HEADERS, body: initializeBody() });
    const sessionId = init.headers.get("mcp-session-id")!;
    await init.text();
    const headers = { ...MCP_HEADERS, "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" };
    await (
      await fetch(server.handle.url, {
        method: "POST",
        headers,
        body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
      })
    ).text();

    const controller = new AbortController();
    const call = await fetch(server.handle.url, {
      method: "POST",
      headers,
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 7,
        method: "tools/call",
        params: { name: "flux_fill", arguments: { image, mask, prompt: "resumed" } },
      }),
      signal: controller.signal,
    });
    expect(call.headers.get("content-type")).toContain("text/event-stream");
    // Read the first event (the priming event carries an id), then drop the connection.
    const reader = call.body!.getReader();
    let seen = "";
    while (!/id: (\S+)/.test(seen)) seen += new TextDecoder().decode((await reader.read()).value);
    const lastEventId = /id: (\S+)/.exec(seen)![1]!;
    controller.abort();

    // Until the server has noticed the drop, the stream still counts as connected (409): try again, as clients do.
    let resumed: Response;
    for (let attempt = 0; ; attempt++) {
      resumed = await fetch(server.handle.url, {
        headers: { ...headers, accept: "text/event-stream", "last-event-id": lastEventId },
      });
      if (resumed.status !== 409 || attempt === 20) break;
      await resumed.text();
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(resumed.status).toBe(200);
    const resumedReader = resumed.body!.getReader();
    let text = "";
    const deadline = Date.now() + 10_000;
    while (!text.includes('"id":7') && Date.now() < deadline) {
      const { value, done } = await resumedReader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    await resumedReader.cancel();
    expect(text).toContain('"id":7');
    expect(text).toContain("structuredContent");
    expect(emulator.submitCount).toBe(1);
  });
});
