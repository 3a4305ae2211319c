/**
 * Restart recovery with the built server as MCP clients run it (a child process over stdio): a server
 * killed with SIGKILL while a paid task runs, started again, collects that task from its journal, saves
 * the result as undelivered, and hands it to the identical retry without a new submit.
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/client";
import { describe, expect, it, vi } from "vitest";
import { FluxFillOutput } from "../src/schema/tool.js";
import { STATE_DIR_NAME } from "../src/state/files.js";
import { makeMask, makePhoto } from "./helpers/images.js";
import { savedResults, startStdio, tempDir } from "./helpers/mcp.js";
import { useEmulator } from "./helpers/use-emulator.js";

const KEY = "test-bfl-key-recovery-8d2e";
const emulator = useEmulator({ apiKey: KEY, generationMs: 3000 });

async function journalled(outputDir: string): Promise<string[]> {
  const names = await readdir(path.join(outputDir, STATE_DIR_NAME, "journal")).catch(() => []);
  return names.filter((name) => name.endsWith(".json"));
}

describe("restart recovery (built server over stdio)", () => {
  it("a server SIGKILLed mid-task and started again saves that result and hands it to the identical retry: 1 submit", async () => {
    const cwd = await tempDir();
    await writeFile(path.join(cwd, "photo.jpg"), await makePhoto(96, 64, { format: "jpeg", seed: 11 }));
    await writeFile(
      path.join(cwd, "mask.png"),
      await makeMask(96, 64, { kind: "rect", x: 10, y: 10, width: 30, height: 20 }),
    );
    const outputDir = path.join(cwd, "out");
    const env = {
      BFL_API_KEY: KEY,
      BFL_API_BASE_URL: emulator.apiBaseUrl,
      FLUX_FILL_POLL_INTERVAL_MS: "50",
      FLUX_FILL_OUTPUT_DIR: outputDir,
    };
    const args = { image: "photo.jpg", mask: "mask.png", prompt: "killed mid-task" };

    const first = await startStdio(env, cwd);
    const lost = first.client.callTool({ name: "flux_fill", arguments: args }).catch((error: unknown) => error);
    // Journalled before the server waits on the task: no image data, no key.
    await vi.waitFor(async () => expect(await journalled(outputDir)).toHaveLength(1), {
      timeout: 15_000,
      interval: 50,
    });
    expect(emulator.submitCount).toBe(1);
    const [entryFile] = await journalled(outputDir);
    const entry = await readFile(path.join(outputDir, STATE_DIR_NAME, "journal", entryFile!), "utf8");
    expect(entry).toContain([...emulator.tasks.keys()][0]);
    expect(entry).not.toContain(KEY);
    expect(entry.length).toBeLessThan(2000);
    process.kill(first.transport.pid!, "SIGKILL");
    expect(await lost).toBeInstanceOf(Error);
    await first.client.close();
    expect((await readdir(outputDir)).filter((name) => name.endsWith(".json"))).toEqual([]);

    const second = await startStdio(env, cwd);
    try {
      await vi.waitFor(async () => expect(savedResults(await second.client.listResources())).toHaveLength(1), {
        timeout: 20_000,
        interval: 100,
      });
      expect(await journalled(outputDir)).toEqual([]);
      const retry = (await second.client.callTool({ name: "flux_fill", arguments: args })) as CallToolResult;
      expect(retry.isError, JSON.stringify(retry.content)).toBeFalsy();
      const out = FluxFillOutput.parse(retry.structuredContent);
      expect(out.reuse).toBe("earlier_result");
      expect(out.upstream_id).toBe([...emulator.tasks.keys()][0]);
      expect(JSON.stringify(retry.content)).toContain("Collected after a server restart");
      expect(emulator.submitCount).toBe(1);
    } finally {
      await second.client.close();
    }
  });
});
