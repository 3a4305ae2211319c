import { readdir } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  FileCreditLedger,
  FileTaskJournal,
  FileUndeliveredResults,
  STATE_DIR_NAME,
  utcDay,
} from "../../src/state/files.js";
import { tempDir } from "../helpers/mcp.js";

const NOON = Date.parse("2026-12-02T12:00:00Z");

describe("FileCreditLedger", () => {
  it("lets concurrent reservations reach the limit and not one credit past it", async () => {
    const ledger = new FileCreditLedger(await tempDir(), NOON);
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => ledger.reserve(5, 23, NOON)));
    expect(outcomes.filter((o) => o.ok)).toHaveLength(4);
    expect(await ledger.spent(NOON)).toBe(20);
  });

  it("settles to the actual cost, keeps the spend across instances, and starts afresh on the next UTC day", async () => {
    const dir = await tempDir();
    const ledger = new FileCreditLedger(dir, NOON);
    const reserved = await ledger.reserve(5, undefined, NOON);
    if (!reserved.ok) throw new Error("refused");
    await ledger.settle(reserved.reservation, 7);
    expect(await new FileCreditLedger(dir, NOON).spent(NOON)).toBe(7);
    const nextDay = NOON + 12 * 3600_000 + 1;
    expect(utcDay(nextDay)).toBe("2026-12-03");
    expect(await new FileCreditLedger(dir, nextDay).spent(nextDay)).toBe(0);
    expect(await readdir(path.join(dir, STATE_DIR_NAME, "credits"))).toEqual(["2026-12-02.json"]);
  });
});

describe("FileUndeliveredResults", () => {
  it("hands a result to one caller only, within the window, and never after it was forgotten", async () => {
    const dir = await tempDir();
    const store = new FileUndeliveredResults(dir);
    await store.remember("a".repeat(64), "20261202-120000-00000001", NOON);
    const takes = await Promise.all([1, 2, 3].map(() => store.take("a".repeat(64), NOON + 1000, 30 * 60_000)));
    expect(takes.filter((t) => t !== undefined)).toEqual([{ resultId: "20261202-120000-00000001", savedAt: NOON }]);

    await store.remember("b".repeat(64), "20261202-120000-00000002", NOON);
    expect(await store.take("b".repeat(64), NOON + 30 * 60_000 + 1, 30 * 60_000)).toBeUndefined();

    await store.remember("c".repeat(64), "20261202-120000-00000003", NOON);
    const forgetting = store.forget("c".repeat(64), "20261202-120000-00000003");
    expect(await store.take("c".repeat(64), NOON, 30 * 60_000)).toBeUndefined();
    await forgetting;
  });
});

describe("FileTaskJournal", () => {
  it("lists what was recorded and not finished", async () => {
    const journal = new FileTaskJournal(await tempDir());
    const entry = {
      upstream_id: "task-1",
      polling_url: "http://127.0.0.1:1/v1/get_result?id=task-1",
      identity: "f".repeat(64),
      provider: "bfl" as const,
      kind: "fill",
      submitted_at: new Date(NOON).toISOString(),
      owner_pid: 1,
      cost: 5,
      params: { prompt: "p" },
      inputs: { image: { source: "a.png", width: 1, height: 1, format: "png" }, mask: { source: "m", coverage: 1 } },
    };
    await journal.record(entry);
    await journal.record({ ...entry, upstream_id: "task-2" });
    await journal.finish("task-1");
    expect((await journal.unfinished()).map((e) => e.upstream_id)).toEqual(["task-2"]);
  });
});
