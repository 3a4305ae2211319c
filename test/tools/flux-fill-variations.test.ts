/**
 * `variations` (issue 24) end to end: flux_fill and flux_expand through the SDK's real Client against the
 * real server and the bfl emulator.
 */
import path from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/client";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { makeMask, makePhoto } from "../helpers/images.js";
import { callTool, type TestServer, textOf as text } from "../helpers/mcp.js";
import { useServersOnEmulator } from "../helpers/use-emulator.js";
import { writeFile } from "node:fs/promises";

const KEY = "test-secret-key-variations";
const { emulator, start } = useServersOnEmulator(
  { apiKey: KEY, generationMs: 150 },
  { FLUX_FILL_POLL_INTERVAL_MS: "20", FLUX_FILL_TIMEOUT_S: "30" },
);

const call = (server: TestServer, name: string, args: Record<string, unknown>) => callTool(server.client, name, args);

async function inputs(dir: string) {
  const image = path.join(dir, "photo.png");
  const mask = path.join(dir, "mask.png");
  await writeFile(image, await makePhoto(256, 192, { format: "png", seed: 3 }));
  await writeFile(mask, await makeMask(256, 192, { kind: "rect", x: 80, y: 60, width: 64, height: 48 }));
  return { image, mask };
}

describe("flux_fill with variations", () => {
  it("submits N tasks with distinct seeds side by side, saves N results retrievable by id, shows one contact sheet", async () => {
    const server = await start();
    const { image, mask } = await inputs(server.workDir);
    const result = await call(server, "flux_fill", { image, mask, prompt: "a vase", variations: 3 });
    expect(result.isError, text(result)).toBeFalsy();
    expect(emulator.submitCount).toBe(3);
    const seeds = emulator.submits.map((s) => (s.body as { seed: number }).seed);
    expect(new Set(seeds).size).toBe(3);
    // Side by side: all three were running at once.
    expect(emulator.maxActiveSeen).toBe(3);

    const images = result.content.filter((b) => b.type === "image");
    expect(images).toHaveLength(1);
    const sheet = await sharp(Buffer.from((images[0] as { data: string }).data, "base64")).metadata();
    expect(sheet.width).toBeGreaterThan(sheet.height * 1.2); // two columns
    const links = result.content.filter((b) => b.type === "resource_link") as Array<{ uri: string; title: string }>;
    expect(links).toHaveLength(3);
    const structured = result.structuredContent as { variations: Array<{ id: string; seed: number }> };
    expect(structured.variations.map((v) => v.seed).sort()).toEqual([...seeds].sort());
    for (const [i, v] of structured.variations.entries()) {
      expect(text(result)).toContain(`${i + 1}. id ${v.id}, seed ${v.seed}`);
      const again = await call(server, "get_result", { id: v.id });
      expect(again.isError, text(again)).toBeFalsy();
      expect((again.structuredContent as { seed: number }).seed).toBe(v.seed);
    }
  });

  it("a credit limit below N × price refuses before any submit", async () => {
    const server = await start({ FLUX_FILL_DAILY_CREDIT_LIMIT: "12" });
    const { image, mask } = await inputs(server.workDir);
    const result = await call(server, "flux_fill", { image, mask, variations: 3 });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/credit_limit[\s\S]*3 variations: 3 tasks of about 5 credits, 15 in all/);
    expect(emulator.submitCount).toBe(0);
    // Within the limit, the same call goes through.
    const two = await call(server, "flux_fill", { image, mask, variations: 2 });
    expect(two.isError, text(two)).toBeFalsy();
    expect(emulator.submitCount).toBe(2);
  });

  it("an identical repeat submits nothing: each variation is its own request, joined by the repeat", async () => {
    const server = await start();
    const { image, mask } = await inputs(server.workDir);
    const args = { image, mask, prompt: "a lamp", variations: 2 };
    const [first, repeat] = await Promise.all([call(server, "flux_fill", args), call(server, "flux_fill", args)]);
    expect(first.isError, text(first)).toBeFalsy();
    expect(repeat.isError, text(repeat)).toBeFalsy();
    expect(emulator.submitCount).toBe(2);
    const ids = (r: CallToolResult) => (r.structuredContent as { variations: Array<{ id: string }> }).variations.map((v) => v.id).sort();
    expect(ids(repeat)).toEqual(ids(first));
  });

  it("flux_expand makes N candidates the same way", async () => {
    const server = await start();
    const { image } = await inputs(server.workDir);
    const result = await call(server, "flux_expand", { image, left: 32, variations: 2, seed: 40 });
    expect(result.isError, text(result)).toBeFalsy();
    expect(emulator.submits.map((s) => [s.endpoint, (s.body as { seed: number }).seed]).sort()).toEqual([
      ["expand", 40],
      ["expand", 41],
    ]);
    expect(result.content.filter((b) => b.type === "resource_link")).toHaveLength(2);
  });
});
