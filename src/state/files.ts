/**
 * State kept in files under the output directory (`.flux-fill/`), so a restart keeps it: the task journal,
 * undelivered results and the daily credit spend. One process owns a directory; writes are atomic
 * (temporary name, then rename) and read-modify-writes are serialised in-process.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import type {
  CreditLedger,
  CreditReservation,
  JournalEntry,
  ReserveOutcome,
  TaskJournal,
  UndeliveredResults,
} from "./types.js";

/** The state directory inside the output directory; result listings skip it (not a result id). */
export const STATE_DIR_NAME = ".flux-fill";

export function stateDir(outputDir: string): string {
  return path.join(outputDir, STATE_DIR_NAME);
}

async function writeJsonAtomically(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${randomBytes(3).toString("hex")}.part`;
  try {
    await writeFile(temporary, `${JSON.stringify(value)}\n`);
    await rename(temporary, file);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as T;
  } catch {
    return undefined;
  }
}

/** A file name for an arbitrary key (upstream ids are the upstream's to choose). */
function safeName(key: string): string {
  return /^[0-9a-f]{64}$/.test(key) ? key : createHash("sha256").update(key).digest("hex");
}

export class FileTaskJournal implements TaskJournal {
  private readonly dir: string;
  constructor(outputDir: string) {
    this.dir = path.join(stateDir(outputDir), "journal");
  }

  private file(upstreamId: string): string {
    return path.join(this.dir, `${safeName(upstreamId)}.json`);
  }

  async record(entry: JournalEntry): Promise<void> {
    await writeJsonAtomically(this.file(entry.upstream_id), entry);
  }

  async finish(upstreamId: string): Promise<void> {
    await unlink(this.file(upstreamId)).catch(() => undefined);
  }

  async unfinished(): Promise<JournalEntry[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    // A process killed mid-write leaves a temporary file: never an entry, so it goes.
    await Promise.all(
      names.filter((n) => n.endsWith(".part")).map((n) => unlink(path.join(this.dir, n)).catch(() => undefined)),
    );
    const entries = await Promise.all(
      names.filter((n) => n.endsWith(".json")).map((n) => readJson<JournalEntry>(path.join(this.dir, n))),
    );
    return entries.filter(
      (e): e is JournalEntry => typeof e?.upstream_id === "string" && typeof e.polling_url === "string",
    );
  }
}

/** Delivered result ids remembered in memory (a `take` racing a `forget` must still see it). */
const MAX_FORGOTTEN = 10_000;

interface UndeliveredRecord {
  result_id: string;
  saved_at: number;
}

export class FileUndeliveredResults implements UndeliveredResults {
  private readonly dir: string;
  /** Results forgotten whose file may not be gone yet: `take` must not hand them out meanwhile. */
  private readonly forgotten = new Set<string>();
  constructor(outputDir: string) {
    this.dir = path.join(stateDir(outputDir), "undelivered");
  }

  private file(identity: string): string {
    return path.join(this.dir, `${safeName(identity)}.json`);
  }

  async remember(identity: string, resultId: string, savedAt: number): Promise<void> {
    const record: UndeliveredRecord = { result_id: resultId, saved_at: savedAt };
    this.forgotten.delete(resultId);
    await writeJsonAtomically(this.file(identity), record);
  }

  async take(
    identity: string,
    now: number,
    maxAgeMs: number,
  ): Promise<{ resultId: string; savedAt: number } | undefined> {
    const file = this.file(identity);
    // Renaming is the claim: of two callers, only one rename succeeds.
    const claimed = `${file}.${randomBytes(3).toString("hex")}.claimed`;
    try {
      await rename(file, claimed);
    } catch {
      return undefined;
    }
    const record = await readJson<UndeliveredRecord>(claimed);
    await unlink(claimed).catch(() => undefined);
    if (!record || typeof record.result_id !== "string" || typeof record.saved_at !== "number") return undefined;
    if (now - record.saved_at > maxAgeMs || this.forgotten.has(record.result_id)) return undefined;
    return { resultId: record.result_id, savedAt: record.saved_at };
  }

  async forget(identity: string, resultId: string): Promise<void> {
    this.forgotten.add(resultId);
    if (this.forgotten.size > MAX_FORGOTTEN) this.forgotten.delete(this.forgotten.values().next().value!);
    const file = this.file(identity);
    const record = await readJson<UndeliveredRecord>(file);
    if (record?.result_id === resultId) await unlink(file).catch(() => undefined);
  }
}

/** The UTC day of `now` as YYYY-MM-DD. */
export function utcDay(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

interface DaySpend {
  day: string;
  spent: number;
}

/**
 * The day's spend, in memory (this process owns the directory) and written through to one small file per
 * UTC day. Reservations are decided in memory, so concurrent calls cannot overshoot and a reservation costs
 * no disk round trip before the submit; each change is written behind it, in order.
 */
export class FileCreditLedger implements CreditLedger {
  private readonly dir: string;
  /** Each day's spend once read; changed only synchronously, so a check and its update are one step. */
  private readonly loaded = new Map<string, number>();
  private readonly loading = new Map<string, Promise<void>>();
  private writes: Promise<unknown> = Promise.resolve();

  constructor(outputDir: string, now = Date.now()) {
    this.dir = path.join(stateDir(outputDir), "credits");
    // Read today's file at once, so the first call does not wait for it.
    void this.ensure(utcDay(now));
  }

  private file(day: string): string {
    return path.join(this.dir, `${day}.json`);
  }

  private ensure(day: string): Promise<void> {
    if (this.loaded.has(day)) return Promise.resolve();
    let loading = this.loading.get(day);
    if (loading === undefined) {
      loading = readJson<DaySpend>(this.file(day)).then((record) => {
        const spent = typeof record?.spent === "number" && Number.isFinite(record.spent) ? record.spent : 0;
        if (!this.loaded.has(day)) this.loaded.set(day, spent);
      });
      this.loading.set(day, loading);
    }
    return loading;
  }

  /** Adds `amount` in memory at once (the day must be loaded); the file follows, in order. */
  private addNow(day: string, amount: number): number {
    const spent = Math.max(0, (this.loaded.get(day) ?? 0) + amount);
    this.loaded.set(day, spent);
    this.writes = this.writes.then(async () => {
      try {
        await writeJsonAtomically(this.file(day), { day, spent } satisfies DaySpend);
        this.writeError = undefined;
      } catch (error) {
        // The spend is still counted in memory; the next change tries the file again.
        this.writeError = error;
      }
    });
    return spent;
  }

  /** The last write's failure, if it failed. */
  writeError: unknown;

  /** Resolves when every change so far has been written (or failed to be: see `writeError`). */
  flushed(): Promise<void> {
    return this.writes.then(() => undefined);
  }

  async reserve(amount: number, limit: number | undefined, now: number): Promise<ReserveOutcome> {
    const day = utcDay(now);
    await this.ensure(day);
    const spent = this.loaded.get(day) ?? 0;
    if (limit !== undefined && amount > 0 && spent + amount > limit) return { ok: false, spent };
    const spentAfter = amount === 0 ? spent : this.addNow(day, amount);
    return { ok: true, reservation: { day, amount }, spentAfter };
  }

  /** Settles, and resolves once the day's file holds the result (the reservation's write included). */
  async settle(reservation: CreditReservation, actual: number): Promise<void> {
    const difference = actual - reservation.amount;
    if (difference !== 0) {
      await this.ensure(reservation.day);
      this.addNow(reservation.day, difference);
    }
    await this.flushed();
  }

  async spent(now: number): Promise<number> {
    const day = utcDay(now);
    await this.ensure(day);
    return this.loaded.get(day) ?? 0;
  }
}
