/**
 * Both protocol eras through real SDK clients: the v2 client pinned to 2026-07-28 (no initialize, no session,
 * the `_meta` envelope on every request) and pinned to the 2025 handshake, over stdio (the built server as a
 * child process) and over HTTP (one /mcp endpoint): tools/list, every tool, progress, cancel then the
 * identical retry, results as resources, the App's ui:// page, 401 without a token, users kept apart.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { Client } from "@modelcontextprotocol/client";
import { describe, expect, it } from "vitest";
import { FluxFillOutput } from "../../src/schema/tool.js";
import { MASK_EDITOR_URI } from "../../src/tools/open-mask-editor.js";
import { makeMask, makePhoto } from "../helpers/images.js";
import { ERAS, type Era, savedResults, startStdio, tempDir } from "../helpers/mcp.js";
import { useEmulator } from "../helpers/use-emulator.js";
import { callTool, type HttpTestServer, startHttp, textOf } from "./http-fixture.js";

const KEY = "test-bfl-key-eras-5d2c";
const ALICE = "alice-token-3f8a1c";
const BOB = "bob-token-9e2b7d";
let closeCurrent: (() => Promise<void>) | undefined;
const emulator = useEmulator({ apiKey: KEY, generationMs: 60 }, async () => {
  await closeCurrent?.();
  closeCurrent = undefined;
});

const upstream = () => ({
  BFL_API_KEY: KEY,
  BFL_API_BASE_URL: emulator.apiBaseUrl,
  FLUX_FILL_POLL_INTERVAL_MS: "20",
  FLUX_FILL_TIMEOUT_S: "30",
});

async function inputs(dir: string): Promise<{ image: string; mask: string }> {
  const image = path.join(dir, "photo.png");
  const mask = path.join(dir, "mask.png");
  await writeFile(image, await makePhoto(64, 48, { format: "png", seed: 7 }));
  await writeFile(mask, await makeMask(64, 48, { kind: "rect", x: 20, y: 12, width: 16, height: 12 }));
  return { image, mask };
}

const until = async (done: () => boolean) => {
  while (!done()) await new Promise((r) => setTimeout(r, 10));
};

/** A connected client of `era` on stdio or HTTP, in a fresh working directory. */
interface Connection {
  client: Client;
  workDir: string;
  /** Another client of the same server (HTTP: a token; stdio: a second process sharing the output dir). */
  another: (token?: string) => Promise<Client>;
}

async function overStdio(era: Era, env: Record<string, string> = {}): Promise<Connection> {
  const workDir = await tempDir("flux-fill-eras-");
  const base = { ...upstream(), FLUX_FILL_OUTPUT_DIR: path.join(workDir, "out"), ...env };
  const clients: Client[] = [];
  const open = async () => {
    const { client } = await startStdio(base, workDir, undefined, era);
    clients.push(client);
    return client;
  };
  const client = await open();
  closeCurrent = async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  };
  return { client, workDir, another: () => open() };
}

async function overHttp(
  era: Era,
  env: Record<string, string> = {},
  token?: string,
): Promise<Connection & { server: HttpTestServer }> {
  const server = await startHttp({ ...upstream(), ...env });
  closeCurrent = server.close;
  const client = await server.connect({ era, ...(token === undefined ? {} : { token }) });
  return {
    client,
    workDir: server.workDir,
    server,
    another: (t) => server.connect({ era, ...(t === undefined ? {} : { token: t }) }),
  };
}

const TRANSPORTS = { stdio: overStdio, http: overHttp } as const;

describe.each(ERAS)("protocol %s", (era) => {
  describe.each(["stdio", "http"] as const)("over %s", (transport) => {
    const connect = (env?: Record<string, string>) => TRANSPORTS[transport](era, env);

    it("lists the tools; runs every tool; reports progress; lists and reads results; serves the App page", async () => {
      const { client, workDir } = await connect();
      const { image, mask } = await inputs(workDir);
      expect(client.getProtocolEra()).toBe(era === "2025" ? "legacy" : "modern");
      const tools = (await client.listTools()).tools;
      expect(tools.map((t) => t.name).sort()).toEqual([
        "flux_expand",
        "flux_fill",
        "get_result",
        "open_mask_editor",
        "preview_mask",
      ]);
      const editor = tools.find((t) => t.name === "open_mask_editor")!;
      expect(editor._meta).toMatchObject({ ui: { resourceUri: MASK_EDITOR_URI } });

      const progress: string[] = [];
      const filled = await client.callTool(
        { name: "flux_fill", arguments: { image, mask, prompt: "grass", output_format: "png" } },
        { onprogress: (p) => void progress.push(p.message ?? "") },
      );
      expect(filled.isError, textOf(filled as never)).toBeFalsy();
      const fill = FluxFillOutput.parse(filled.structuredContent);
      expect(progress.length).toBeGreaterThan(0);

      const expanded = await client.callTool({
        name: "flux_expand",
        arguments: { image, top: 16, prompt: "sky", output_format: "png" },
      });
      expect(expanded.isError, textOf(expanded as never)).toBeFalsy();
      const preview = await client.callTool({ name: "preview_mask", arguments: { image, mask } });
      expect(preview.isError, textOf(preview as never)).toBeFalsy();
      expect(preview.content.some((c) => c.type === "image")).toBe(true);
      const got = await client.callTool({ name: "get_result", arguments: { id: fill.id } });
      expect(FluxFillOutput.parse(got.structuredContent).id).toBe(fill.id);
      // An argument the SDK's parse would drop silently is refused before the SDK, in either era.
      const sneaky = JSON.parse(`{"id": "latest", "__proto__": {}}`);
      const refused = await client.callTool({ name: "get_result", arguments: sneaky });
      expect(refused.isError).toBe(true);
      expect(textOf(refused as never)).toContain("Unknown field(s): __proto__");
      const opened = await client.callTool({ name: "open_mask_editor", arguments: { image } });
      expect(opened.isError, textOf(opened as never)).toBeFalsy();

      const listed = savedResults(await client.listResources());
      expect(listed.map((r) => r.uri)).toContain(fill.uri);
      const read = await client.readResource({ uri: fill.uri });
      expect(read.contents[0]).toMatchObject({ uri: fill.uri, mimeType: "image/png" });
      const page = await client.readResource({ uri: MASK_EDITOR_URI });
      expect(page.contents[0]).toMatchObject({ uri: MASK_EDITOR_URI });
      expect((page.contents[0] as { text: string }).text).toContain("<!doctype html>");
      expect(emulator.submitCount).toBe(2);
    }, 60_000);

    it("a cancelled fill is still saved and handed, free, to the identical retry", async () => {
      emulator.configure({ generationMs: 600 });
      const { client, workDir } = await connect();
      const { image, mask } = await inputs(workDir);
      const args = { image, mask, prompt: "cancel me", output_format: "png" };
      const controller = new AbortController();
      const call = client.callTool({ name: "flux_fill", arguments: args }, { signal: controller.signal });
      await until(() => emulator.submitCount === 1);
      controller.abort();
      await expect(call).rejects.toThrow();
      // The fill goes on upstream; the identical call joins it (or takes its saved result) without a submit.
      const retry = await client.callTool({ name: "flux_fill", arguments: args }, { timeout: 30_000 });
      expect(retry.isError, textOf(retry as never)).toBeFalsy();
      expect(["shared_task", "earlier_result"]).toContain(FluxFillOutput.parse(retry.structuredContent).reuse);
      expect(emulator.submitCount).toBe(1);
    }, 60_000);
  });

  describe("HTTP users", () => {
    it("401 without a token; named users each see only their own results", async () => {
      const tokens = path.join(await tempDir("flux-fill-eras-tokens-"), "tokens");
      await writeFile(tokens, `alice:${ALICE}\nbob:${BOB}\n`);
      const {
        client: alice,
        workDir,
        server,
        another,
      } = await overHttp(era, { FLUX_FILL_HTTP_TOKENS_FILE: tokens }, ALICE);
      await expect(server.connect({ era })).rejects.toMatchObject({ status: 401 });
      const bob = await another(BOB);
      expect(bob.getProtocolEra()).toBe(era === "2025" ? "legacy" : "modern");
      const { image, mask } = await inputs(workDir);
      const mine = FluxFillOutput.parse(
        (await callTool(alice, "flux_fill", { image, mask, prompt: "alice's", output_format: "png" }))
          .structuredContent,
      );
      expect(savedResults(await alice.listResources()).map((r) => r.uri)).toEqual([mine.uri]);
      expect(savedResults(await bob.listResources())).toEqual([]);
      const probe = await callTool(bob, "get_result", { id: mine.id });
      expect(probe.isError).toBe(true);
      await expect(bob.readResource({ uri: mine.uri })).rejects.toThrow();
    }, 60_000);
  });
});
