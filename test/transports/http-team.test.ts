/**
 * A server a team shares, over real HTTP with the SDK client: named users and OAuth users each see only
 * their own results; refused tokens get 401/403 with a challenge naming the Protected Resource Metadata;
 * the upstream queue serves a second user before the rest of a first user's burst; the audit log.
 */
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { ProtocolError } from "@modelcontextprotocol/client";
import type { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { queuesOf } from "../../src/providers/queue.js";
import { FluxFillOutput } from "../../src/schema/tool.js";
import { type Emulator, startEmulator } from "../helpers/emulator.js";
import { tempDir } from "../helpers/mcp.js";
import { startS3 } from "../helpers/s3-server.js";
import {
  callTool,
  type HttpTestServer,
  initializeBody,
  MCP_HEADERS,
  rawRequest,
  startHttp,
  textOf,
  writeInputs,
} from "./http-fixture.js";

const ALICE = "alice-token-0123456789abcdef";
const BOB = "bob-token-fedcba9876543210";
const sha256 = (value: string) => createHash("sha256").update(value).digest("hex");

let current: HttpTestServer | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

async function tokensFile(lines: string): Promise<string> {
  const file = path.join(await tempDir("flux-fill-tokens-"), "tokens");
  await writeFile(file, lines);
  return file;
}

async function start(env: Record<string, string>, options: Parameters<typeof startHttp>[1] = {}) {
  current = await startHttp(env, options);
  return current;
}

/** A fill's id, or the test fails with the tool's error text. */
async function fill(client: Client, image: string, mask: string, prompt: string): Promise<FluxFillOutput> {
  const result = await callTool(
    client,
    "flux_fill",
    { image, mask, prompt, output_format: "png" },
    { timeout: 60_000 },
  );
  expect(result.isError, textOf(result)).toBeFalsy();
  return FluxFillOutput.parse(result.structuredContent);
}

/** The text of an error with the id in it replaced, so two answers can be compared. */
const withoutId = (text: string, id: string) => text.replaceAll(id, "<id>");
const OTHER_UNKNOWN_ID = "20200101-000000-0badc0de";

async function readError(client: Client, uri: string): Promise<string> {
  try {
    await client.readResource({ uri });
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return (error as ProtocolError).message;
  }
  throw new Error(`reading ${uri} succeeded`);
}

/** Everything one user can learn about result `id` that is not theirs, each made comparable with an unknown id. */
async function probes(client: Client, id: string) {
  const got = await callTool(client, "get_result", { id });
  return {
    isError: got.isError,
    getResult: withoutId(textOf(got), id),
    read: withoutId(await readError(client, `flux-fill://results/${id}`), id),
  };
}

describe("named users (FLUX_FILL_HTTP_TOKENS_FILE)", () => {
  it("with results in a bucket, keeps each user's under their own prefix, and each lists only theirs", async () => {
    const s3 = await startS3();
    try {
      const server = await start({
        FLUX_FILL_HTTP_TOKENS_FILE: await tokensFile(`alice:${ALICE}\nbob:${BOB}\n`),
        ...s3.env("team"),
      });
      const { image, mask } = await writeInputs(server.workDir);
      const alice = await server.connect({ token: ALICE });
      const bob = await server.connect({ token: BOB });
      const a = await fill(alice, image, mask, "alice's edit");
      const b = await fill(bob, image, mask, "bob's edit");
      expect(a.path).toBe(`s3://${s3.bucket}/team/users/alice/${a.id}.png`);
      expect(b.path).toBe(`s3://${s3.bucket}/team/users/bob/${b.id}.png`);
      const bucket = new S3Client({
        endpoint: s3.endpoint,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
      });
      const keys = (await bucket.send(new ListObjectsV2Command({ Bucket: s3.bucket }))).Contents?.map((o) => o.Key);
      expect(keys?.sort()).toEqual(
        [
          `team/users/alice/${a.id}.json`,
          `team/users/alice/${a.id}.png`,
          `team/users/bob/${b.id}.json`,
          `team/users/bob/${b.id}.png`,
        ].sort(),
      );
      const uris = async (client: Client) =>
        (await client.listResources()).resources.map((r) => r.uri).filter((u) => u.startsWith("flux-fill://results/"));
      expect(await uris(alice)).toEqual([a.uri]);
      expect(await uris(bob)).toEqual([b.uri]);
      expect((await probes(alice, b.id)).isError).toBe(true);
    } finally {
      await current?.close();
      current = undefined;
      await s3.close();
    }
  }, 60_000);

  it("each sees only their own results: lists, reads, get_result by id and latest; another's id answers like an unknown one", async () => {
    const server = await start({
      FLUX_FILL_HTTP_TOKENS_FILE: await tokensFile(`alice:${ALICE}\nbob:sha256:${sha256(BOB)}\n`),
    });
    const { image, mask } = await writeInputs(server.workDir);
    const alice = await server.connect({ token: ALICE });
    const bob = await server.connect({ token: BOB });
    const a = await fill(alice, image, mask, "alice's edit");
    const b = await fill(bob, image, mask, "bob's edit");

    const uris = async (client: Client) =>
      (await client.listResources()).resources.map((r) => r.uri).filter((u) => u.startsWith("flux-fill://results/"));
    expect(await uris(alice)).toEqual([a.uri]);
    expect(await uris(bob)).toEqual([b.uri]);

    const own = await alice.readResource({ uri: a.uri });
    expect(own.contents[0]).toMatchObject({ uri: a.uri, mimeType: "image/png" });

    for (const [client, mine] of [
      [alice, a],
      [bob, b],
    ] as const) {
      const latest = await callTool(client, "get_result", { id: "latest" });
      expect(FluxFillOutput.parse(latest.structuredContent).id).toBe(mine.id);
      const byId = await callTool(client, "get_result", { id: mine.id });
      expect(FluxFillOutput.parse(byId.structuredContent).id).toBe(mine.id);
    }

    // Bob's id, to Alice, is exactly an id that does not exist.
    const foreign = await probes(alice, b.id);
    expect(foreign.isError).toBe(true);
    expect(foreign).toEqual(await probes(alice, OTHER_UNKNOWN_ID));

    // Nor can Alice reach Bob's file by its path, as flux_fill's or the mask editor's image.
    for (const tool of ["flux_fill", "open_mask_editor"]) {
      const byPath = await callTool(alice, tool, { image: b.path, mask, prompt: "x" });
      expect(byPath.isError, tool).toBe(true);
      expect(textOf(byPath)).toMatch(/not_allowed/);
    }
    expect(textOf(await callTool(bob, "open_mask_editor", { image: b.path }))).toContain("Mask editor for");
  }, 60_000);

  it("refuses an unknown token with 401 and a challenge; a session is only its user's", async () => {
    const server = await start({ FLUX_FILL_HTTP_TOKENS_FILE: await tokensFile(`alice:${ALICE}\nbob:${BOB}\n`) });
    const unknown = await rawRequest(server.handle.url, {
      method: "POST",
      headers: { ...MCP_HEADERS, authorization: "Bearer not-a-known-token-000" },
      body: initializeBody(),
    });
    expect(unknown.status).toBe(401);
    expect(unknown.headers["www-authenticate"]).toMatch(/^Bearer realm="flux-fill-mcp", error="invalid_token"/);
    await expect(server.connect({ token: "not-a-known-token-000" })).rejects.toThrow();

    const alice = await server.connect({ token: ALICE });
    await alice.listTools();
    const aliceSession = (alice.transport as StreamableHTTPClientTransport).sessionId!;
    const asBob = await rawRequest(server.handle.url, {
      method: "POST",
      headers: { ...MCP_HEADERS, authorization: `Bearer ${BOB}`, "mcp-session-id": aliceSession },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }),
    });
    expect(asBob.status).toBe(404);
    const asAlice = await rawRequest(server.handle.url, {
      method: "POST",
      headers: { ...MCP_HEADERS, authorization: `Bearer ${ALICE}`, "mcp-session-id": aliceSession },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" }),
    });
    expect(asAlice.status).toBe(200);
  });

  it("reloads the tokens file when it changes and on SIGHUP", async () => {
    const file = await tokensFile(`alice:${ALICE}\n`);
    const server = await start({ FLUX_FILL_HTTP_TOKENS_FILE: file }, { tokensFileIntervalMs: 20 });
    const status = async (token: string) =>
      (
        await rawRequest(server.handle.url, {
          method: "POST",
          headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
          body: initializeBody(),
        })
      ).status;
    expect(await status(BOB)).toBe(401);
    await writeFile(file, `alice:${ALICE}\nbob:${BOB}\n`);
    const deadline = Date.now() + 20_000;
    while ((await status(BOB)) !== 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await status(BOB)).toBe(200);

    // SIGHUP (emitted to the listeners, not sent to the test process) re-reads it at once.
    await writeFile(file, `bob:${BOB}\n`);
    process.emit("SIGHUP", "SIGHUP");
    expect(await status(ALICE)).toBe(401);
    expect(await status(BOB)).toBe(200);
  });

  it("writes one audit line per fill: user, tool, ids, cost, outcome; no prompt unless asked, no token", async () => {
    const auditFile = path.join(await tempDir("flux-fill-audit-"), "audit.jsonl");
    const server = await start({
      FLUX_FILL_HTTP_TOKENS_FILE: await tokensFile(`alice:${ALICE}\nbob:${BOB}\n`),
      FLUX_FILL_AUDIT_LOG: auditFile,
    });
    const { image, mask } = await writeInputs(server.workDir);
    const a = await fill(await server.connect({ token: ALICE }), image, mask, "secret plans");
    const failed = await callTool(await server.connect({ token: BOB }), "flux_fill", {
      image: "/nope.png",
      mask,
      prompt: "p",
    });
    expect(failed.isError).toBe(true);
    await server.runtime.deps.audit.flushed();
    const text = await readFile(auditFile, "utf8");
    const lines = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines.find((l) => l.user === "alice")).toMatchObject({
      event: "fill",
      tool: "flux_fill",
      result_id: a.id,
      upstream_id: null,
      cost: null,
      outcome: "ok",
    });
    expect(lines.find((l) => l.user === "bob")).toMatchObject({ result_id: null, outcome: "not_allowed" });
    expect(typeof lines[0]!.time).toBe("string");
    for (const secret of ["secret plans", ALICE, BOB, "base64"]) expect(text).not.toContain(secret);
  }, 30_000);
});

/** A local OAuth authorization server on 127.0.0.1: RFC 8414 metadata, a JWKS, and a signer for tokens. */
async function startIssuer() {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const foreign = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" };
  let issuer = "";
  const server = http.createServer((req, res) => {
    const send = (body: unknown) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.url === "/.well-known/oauth-authorization-server") {
      send({
        issuer,
        jwks_uri: `${issuer}/jwks.json`,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        response_types_supported: ["code"],
      });
    } else if (req.url === "/jwks.json") send({ keys: [jwk] });
    else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sign = (
    claims: JWTPayload,
    options: { audience?: string; expires?: string | number; issuer?: string; key?: CryptoKey } = {},
  ) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", kid: "k1", typ: "at+jwt" })
      .setIssuer(options.issuer ?? issuer)
      .setAudience(options.audience ?? PUBLIC_URL)
      .setIssuedAt()
      .setExpirationTime(options.expires ?? "5m")
      .sign(options.key ?? privateKey);
  return {
    get issuer() {
      return issuer;
    },
    sign,
    foreignKey: foreign.privateKey,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const PUBLIC_URL = "https://mcp.example.test/mcp";
const PRM_URL = "https://mcp.example.test/.well-known/oauth-protected-resource/mcp";

describe("OAuth resource server (FLUX_FILL_OAUTH_ISSUER)", () => {
  let idp: Awaited<ReturnType<typeof startIssuer>>;
  beforeAll(async () => {
    idp = await startIssuer();
  });
  afterAll(async () => {
    await idp.close();
  });

  const oauthEnv = () => ({
    FLUX_FILL_OAUTH_ISSUER: idp.issuer,
    FLUX_FILL_PUBLIC_URL: PUBLIC_URL,
    FLUX_FILL_OAUTH_REQUIRED_SCOPE: "images:write",
  });

  it("accepts a valid token; refuses wrong audience, expired, foreign signature, wrong issuer with 401 naming the PRM", async () => {
    const server = await start(oauthEnv());
    const post = (token?: string) =>
      rawRequest(server.handle.url, {
        method: "POST",
        headers: { ...MCP_HEADERS, ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: initializeBody(),
      });
    const good = await idp.sign({ sub: "u1", scope: "images:write" });
    expect((await post(good)).status).toBe(200);
    const client = await server.connect({ token: good });
    expect((await client.listTools()).tools.map((t) => t.name)).toContain("flux_fill");

    const refused = {
      none: undefined,
      audience: await idp.sign({ sub: "u1", scope: "images:write" }, { audience: "https://other.example.test/mcp" }),
      expired: await idp.sign({ sub: "u1", scope: "images:write" }, { expires: Math.floor(Date.now() / 1000) - 120 }),
      signature: await idp.sign({ sub: "u1", scope: "images:write" }, { key: idp.foreignKey }),
      issuer: await idp.sign({ sub: "u1", scope: "images:write" }, { issuer: "http://127.0.0.1:1" }),
      noUser: await idp.sign({ scope: "images:write" }),
    };
    for (const [why, token] of Object.entries(refused)) {
      const response = await post(token);
      expect(response.status, why).toBe(401);
      const challenge = String(response.headers["www-authenticate"]);
      expect(challenge, why).toContain(`resource_metadata="${PRM_URL}"`);
      expect(challenge, why).toContain('scope="images:write"');
      if (token !== undefined) expect(challenge, why).toContain('error="invalid_token"');
    }

    // A token without the required scope: 403 insufficient_scope, so the client can step up.
    const readOnly = await post(await idp.sign({ sub: "u1", scope: "images:read" }));
    expect(readOnly.status).toBe(403);
    expect(String(readOnly.headers["www-authenticate"])).toMatch(/error="insufficient_scope"/);
  });

  it("serves Protected Resource Metadata at the path-inserted and the root well-known URL", async () => {
    const server = await start(oauthEnv());
    const base = server.handle.url.replace(/\/mcp$/, "");
    for (const wellKnown of ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"]) {
      const response = await rawRequest(`${base}${wellKnown}`);
      expect(response.status, wellKnown).toBe(200);
      expect(JSON.parse(response.body)).toEqual({
        resource: PUBLIC_URL,
        authorization_servers: [idp.issuer],
        scopes_supported: ["images:write"],
        bearer_methods_supported: ["header"],
        resource_name: "flux-fill-mcp",
      });
    }
  });

  it("isolates OAuth users like named ones, with named tokens accepted beside them", async () => {
    const server = await start({ ...oauthEnv(), FLUX_FILL_HTTP_TOKENS_FILE: await tokensFile(`alice:${ALICE}\n`) });
    const { image, mask } = await writeInputs(server.workDir);
    const u1 = await server.connect({ token: await idp.sign({ sub: "user-1|idp", scope: "images:write" }) });
    const u2 = await server.connect({ token: await idp.sign({ sub: "user-2|idp", scope: "images:write openid" }) });
    const alice = await server.connect({ token: ALICE });
    const r1 = await fill(u1, image, mask, "one");
    const r2 = await fill(u2, image, mask, "two");
    const list = async (client: Client) =>
      (await client.listResources()).resources.map((r) => r.uri).filter((u) => u.startsWith("flux-fill://"));
    expect(await list(u1)).toEqual([r1.uri]);
    expect(await list(u2)).toEqual([r2.uri]);
    expect(await list(alice)).toEqual([]);
    expect(FluxFillOutput.parse((await callTool(u2, "get_result", { id: "latest" })).structuredContent).id).toBe(r2.id);
    expect(await probes(u1, r2.id)).toEqual(await probes(u1, OTHER_UNKNOWN_ID));
  }, 60_000);
});

describe("fair share of the upstream", () => {
  const KEY = "test-bfl-key-team-7e1f";
  let emulator: Emulator;
  beforeAll(async () => {
    // The first four tasks run until the test finishes them; later ones take 50 ms.
    emulator = await startEmulator({
      apiKey: KEY,
      generationMs: (task) => (task.index < 4 ? 600_000 : 50),
      reportProgress: false,
    });
  });
  afterAll(async () => {
    await emulator.close();
  });

  it("one user's burst of 12 against 4 slots: another user's call goes up with the next free slot", async () => {
    const server = await start({
      BFL_API_KEY: KEY,
      BFL_API_BASE_URL: emulator.apiBaseUrl,
      FLUX_FILL_POLL_INTERVAL_MS: "25",
      FLUX_FILL_MAX_ACTIVE: "4",
      FLUX_FILL_MAX_ACTIVE_PER_USER: "4",
      FLUX_FILL_HTTP_TOKENS_FILE: await tokensFile(`alice:${ALICE}\nbob:${BOB}\n`),
    });
    const { image, mask } = await writeInputs(server.workDir, 48, 32);
    const alice = await server.connect({ token: ALICE });
    const bob = await server.connect({ token: BOB });
    const queue = () => Object.values(queuesOf(server.runtime.deps)!.snapshot())[0];
    const until = async (done: () => boolean) => {
      while (!done()) await new Promise((r) => setTimeout(r, 10));
    };
    const call = (client: Client, prompt: string) =>
      callTool(client, "flux_fill", { image, mask, prompt, output_format: "png" }, { timeout: 60_000 });

    const burst = Array.from({ length: 12 }, (_, i) => call(alice, `alice ${i + 1}`));
    await until(() => queue()?.active === 4 && queue()?.waiting === 8);
    const bobs = call(bob, "bob");
    await until(() => queue()?.waiting === 9);
    expect(emulator.submits).toHaveLength(4);

    const finish = (index: number) => {
      const task = [...emulator.tasks.values()].find((t) => t.index === index)!;
      task.terminalAt = task.readyAt = Date.now();
    };
    finish(0);
    await until(() => emulator.submits.length >= 5);
    const prompts = () => emulator.submits.map((s) => (s.body as { prompt: string }).prompt);
    expect(prompts()[4]).toBe("bob");
    for (const index of [1, 2, 3]) finish(index);
    const results = await Promise.all([...burst, bobs]);
    expect(results.filter((r) => r.isError).map(textOf)).toEqual([]);
    // Twelve concurrent POSTs reach the server in no fixed order: the first four up are alice's, whichever.
    expect(prompts().slice(0, 4).every((p) => p.startsWith("alice "))).toBe(true);
    console.info(`[fairness] submit order: ${prompts().join(", ")}`);
  }, 60_000);
});

describe("paying once, per user (with the upstream emulator)", () => {
  const KEY = "test-bfl-key-team-paid-42";
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator({ apiKey: KEY, generationMs: 400, reportProgress: false, cost: 5 });
  });
  afterAll(async () => {
    await emulator.close();
  });
  const env = async (extra: Record<string, string> = {}) => ({
    BFL_API_KEY: KEY,
    BFL_API_BASE_URL: emulator.apiBaseUrl,
    FLUX_FILL_POLL_INTERVAL_MS: "25",
    FLUX_FILL_HTTP_TOKENS_FILE: await tokensFile(`alice:${ALICE}\nbob:${BOB}\n`),
    ...extra,
  });

  it("identical calls of two users are two requests: neither attaches to nor is handed the other's result", async () => {
    emulator.reset();
    const server = await start(await env());
    const { image, mask } = await writeInputs(server.workDir, 48, 32);
    const alice = await server.connect({ token: ALICE });
    const bob = await server.connect({ token: BOB });
    const same = { image, mask, prompt: "the same request", seed: 7, output_format: "png" };
    const [a, b] = await Promise.all([callTool(alice, "flux_fill", same), callTool(bob, "flux_fill", same)]);
    const [ra, rb] = [FluxFillOutput.parse(a.structuredContent), FluxFillOutput.parse(b.structuredContent)];
    expect(emulator.tasks.size).toBe(2);
    expect(ra.id).not.toBe(rb.id);
    expect(ra.path).not.toBe(rb.path);
    // The same user's identical call is still one request: it attaches to (or is handed) their own result.
    const again = await callTool(alice, "flux_fill", same);
    expect(emulator.tasks.size).toBeLessThanOrEqual(3);
    expect(await probes(bob, FluxFillOutput.parse(again.structuredContent).id)).toEqual(
      await probes(bob, OTHER_UNKNOWN_ID),
    );
  }, 60_000);

  it("FLUX_FILL_USER_DAILY_CREDIT_LIMIT holds each user to their own spend; others go on", async () => {
    emulator.reset();
    const server = await start(await env({ FLUX_FILL_USER_DAILY_CREDIT_LIMIT: "5" }));
    const { image, mask } = await writeInputs(server.workDir, 48, 32);
    const alice = await server.connect({ token: ALICE });
    const bob = await server.connect({ token: BOB });
    const call = (client: Client, prompt: string) =>
      callTool(client, "flux_fill", { image, mask, prompt, output_format: "png" }, { timeout: 60_000 });
    expect((await call(alice, "first")).isError).toBeFalsy();
    const refused = await call(alice, "second");
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(
      /credit_limit.*FLUX_FILL_USER_DAILY_CREDIT_LIMIT is 5 credits per user.*alice spent 5/s,
    );
    expect(emulator.tasks.size).toBe(1);
    expect((await call(bob, "bob's first")).isError).toBeFalsy();
    expect(emulator.tasks.size).toBe(2);
  }, 60_000);
});

describe("sessions that neither lock people out nor grow without bound (scaled-down soak)", () => {
  it("60 fills over 6 sessions plus 60 abandoned sessions: every call answered, new clients served, replay memory within its budget", async () => {
    const server = await start(
      {
        FLUX_FILL_HTTP_TOKENS_FILE: await tokensFile(`alice:${ALICE}\nbob:${BOB}\n`),
        FLUX_FILL_HTTP_REPLAY_MB: "0.25",
      },
      { maxSessions: 12, maxSessionsPerUser: 8 },
    );
    const { image, mask } = await writeInputs(server.workDir);
    const tokens = [ALICE, BOB];
    const busy = await Promise.all(Array.from({ length: 6 }, (_, s) => server.connect({ token: tokens[s % 2]! })));
    let abandoned = 0;
    const results = [];
    for (let round = 0; round < 10; round++) {
      // Six abandoned sessions per round: initialize, then leave without a DELETE (like the SDK client's close()).
      for (let i = 0; i < 6; i++) {
        const client = await server.connect({ token: tokens[i % 2]! });
        await client.close();
        abandoned += 1;
      }
      results.push(
        ...(await Promise.all(
          busy.map((client, s) =>
            callTool(client, "flux_fill", { image, mask, prompt: `soak ${round}-${s}`, output_format: "png" }),
          ),
        )),
      );
      expect(server.handle.sessionCount()).toBeLessThanOrEqual(12);
      expect(server.handle.replayUsage().bytes).toBeLessThanOrEqual(0.25 * 1024 * 1024);
    }
    expect(abandoned).toBe(60);
    expect(results.filter((r) => r.isError).map(textOf)).toEqual([]);
    expect(results).toHaveLength(60);
    // The busy sessions were never ended for room (they were in use more recently than the abandoned ones).
    for (const client of busy) await client.ping();
    // A new client is still served.
    await (await server.connect({ token: ALICE })).listTools();
  }, 120_000);
});
