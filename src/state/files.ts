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
    const entries = await Promise.all(
      names.filter((n) => n.endsWith(".json")).map((n) => readJson<JournalEntry>(path.join(this.dir, n))),
    );
    return entries.filter(
      (e): e is JournalEntry => typeof e?.upstream_id === "string" && typeof e.polling_url === "string",
    );
  }
}

interface UndeliveredRecord {
  result_id: string;
  saved_at: number;
}

export class FileUndeliveredResults implements UndeliveredResults {
  private readonly dir: string;
  constructor(outputDir: string) {
    this.dir = path.join(stateDir(outputDir), "undelivered");
  }

  private file(identity: string): string {
    return path.join(this.dir, `${safeName(identity)}.json`);
  }

  async remember(identity: string, resultId: string, savedAt: number): Promise<void> {
    const record: UndeliveredRecord = { result_id: resultId, saved_at: savedAt };
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
    if (now - record.saved_at > maxAgeMs) return undefined;
    return { resultId: record.result_id, savedAt: record.saved_at };
  }

  async forget(identity: string, resultId: string): Promise<void> {
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

export class FileCreditLedger implements CreditLedger {
  private readonly dir: string;
  /** Serialises read-modify-write of the day files, so concurrent reservations cannot overshoot. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(outputDir: string) {
    this.dir = path.join(stateDir(outputDir), "credits");
  }

  private file(day: string): string {
    return path.join(this.dir, `${day}.json`);
  }

  private exclusive<T>(job: () => Promise<T>): Promise<T> {
    const next = this.queue.then(job, job);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async read(day: string): Promise<number> {
    const record = await readJson<DaySpend>(this.file(day));
    return typeof record?.spent === "number" && Number.isFinite(record.spent) ? record.spent : 0;
  }

  private async add(day: string, amount: number): Promise<number> {
    const spent = Math.max(0, (await this.read(day)) + amount);
    await writeJsonAtomically(this.file(day), { day, spent } satisfies DaySpend);
    return spent;
  }

  reserve(amount: number, limit: number | undefined, now: number): Promise<ReserveOutcome> {
    const day = utcDay(now);
    return this.exclusive(async () => {
      const spent = await this.read(day);
      if (limit !== undefined && amount > 0 && spent + amount > limit) return { ok: false, spent };
      const spentAfter = amount === 0 ? spent : await this.add(day, amount);
      return { ok: true, reservation: { day, amount }, spentAfter };
    });
  }

  settle(reservation: CreditReservation, actual: number): Promise<void> {
    const difference = actual - reservation.amount;
    if (difference === 0) return Promise.resolve();
    return this.exclusive(async () => {
      await this.add(reservation.day, difference);
    });
  }

  spent(now: number): Promise<number> {
    return this.exclusive(() => this.read(utcDay(now)));
  }
}
