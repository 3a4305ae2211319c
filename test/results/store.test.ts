import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { isResultId, listResults, newResultId, readResult, resultUri, saveResult } from "../../src/results/store.js";

const meta = (id: string) => ({
  id,
  provider: "local" as const,
  format: "png" as const,
  width: 4,
  height: 3,
  created_at: new Date().toISOString(),
  upstream_id: null,
  cost: null,
  seed: 1,
  prompt: "p",
  params: {},
  inputs: { image: { source: "/x.png", width: 4, height: 3, format: "png" }, mask: { source: "alpha", coverage: 0.5 } },
  timings: { prepare_ms: 1, provider_ms: 2, save_ms: 3, total_ms: 6 },
  notes: [],
});

describe("results store", () => {
  it("makes sortable, unique, path-safe ids", () => {
    const a = newResultId(new Date("2026-11-27T18:47:16Z"));
    expect(a).toMatch(/^20261127-184716-[0-9a-f]{8}$/);
    expect(isResultId(a)).toBe(true);
    expect(newResultId()).not.toBe(newResultId());
    for (const bad of ["../x", "20261127-184716-zzzzzzzz", "", "20261127-184716-1234567/"]) expect(isResultId(bad)).toBe(false);
  });

  it("saves image and sidecar, lists newest first, reads back, and leaves no partial files", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "store-"));
    const first = await saveResult(dir, Buffer.from("one"), meta("20261127-100000-aaaaaaaa"));
    const second = await saveResult(dir, Buffer.from("two"), meta("20261127-110000-bbbbbbbb"));
    expect(first.uri).toBe(resultUri("20261127-100000-aaaaaaaa"));
    expect(first.path).toBe(path.join(dir, "20261127-100000-aaaaaaaa.png"));
    expect((await listResults(dir)).map((m) => m.id)).toEqual([second.meta.id, first.meta.id]);
    const read = await readResult(dir, first.meta.id);
    expect(read.bytes.toString()).toBe("one");
    expect(read.meta.mime_type).toBe("image/png");
    expect((await readdir(dir)).filter((n) => n.endsWith(".part"))).toEqual([]);
    expect(JSON.parse(await readFile(path.join(dir, `${first.meta.id}.json`), "utf8")).file).toBe(`${first.meta.id}.png`);
  });

  it("refuses ids that are not ids, and names a missing one", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "store-"));
    await expect(readResult(dir, "../../etc/passwd")).rejects.toThrow(/not a result id/);
    await expect(readResult(dir, "20261127-100000-aaaaaaaa")).rejects.toThrow(/No saved result with id 20261127-100000-aaaaaaaa/);
  });

  it("skips broken sidecars when listing and returns nothing for a missing directory", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "store-"));
    await writeFile(path.join(dir, "20261127-100000-cccccccc.json"), "{not json");
    await saveResult(dir, Buffer.from("ok"), meta("20261127-120000-dddddddd"));
    expect((await listResults(dir)).map((m) => m.id)).toEqual(["20261127-120000-dddddddd"]);
    expect(await listResults(path.join(dir, "missing"))).toEqual([]);
  });
});
