/**
 * The never-pay-twice state in Redis, for replicas (the same interfaces as files.ts and memory.ts):
 * - runs: an identical call on any replica attaches to the run going on somewhere, and gets its saved
 *   result (every replica reads the same result store) when it ends;
 * - the task journal: entries name the replica that waits on them; a replica whose liveness key lapsed
 *   (it died) has its entries adopted by another one, which collects and saves the results;
 * - undelivered results and the daily credit spend, counted once for all replicas.
 * Every check-and-change is one Lua script (atomic in Redis).
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { FluxFillError } from "../errors.js";
import { utcDay } from "./files.js";
import { type JoinOptions, MemoryInFlightRuns } from "./memory.js";
import { type RedisConnection, replicaKey } from "./redis-connection.js";
import type {
  CreditLedger,
  CreditReservation,
  InFlightRuns,
  JournalEntry,
  PaidTaskState,
  ReserveOutcome,
  RunWaiter,
  SharedOutcome,
  SharedRunHooks,
  TaskJournal,
  UndeliveredResults,
} from "./types.js";

const PREFIX = "flux-fill";
const JOURNAL = `${PREFIX}:journal`;
/** upstream id → the replica waiting on it. */
const JOURNAL_OWNERS = `${PREFIX}:journal:owners`;
/** request identity → upstream id of its journalled task. */
const JOURNAL_IDENTITIES = `${PREFIX}:journal:identities`;
const REPLICA_PREFIX = replicaKey("");
/** How long a finished run's outcome stays readable by callers that waited on it. */
const OUTCOME_TTL_S = 600;
/** How often a call waiting on another replica's run looks again. */
const REMOTE_POLL_MS = 250;

/**
 * KEYS: run key, journal identities, journal owners. ARGV: owner value, lease ms, identity, replica key prefix.
 * {"claimed"} | {"held", value} | {"orphan", upstream id}.
 */
const CLAIM_RUN = `local held = redis.call('GET', KEYS[1])
if held then return {'held', held} end
local upstream = redis.call('HGET', KEYS[2], ARGV[3])
if upstream then
  local owner = redis.call('HGET', KEYS[3], upstream)
  if owner and redis.call('EXISTS', ARGV[4] .. owner) == 0 and owner ~= string.match(ARGV[1], '^([^:]+)') then
    return {'orphan', upstream}
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {'claimed', ''}`;

/** KEYS: run key. ARGV: owner value, lease ms. Renews only a run this process still holds. */
const RENEW_RUN = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

/** KEYS: run key, outcome key. ARGV: owner value, outcome, ttl s. */
const END_RUN = `redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`;

/** KEYS: journal, owners, identities. ARGV: upstream id, entry json, owner, identity. */
const RECORD = `redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[4], ARGV[1])
return 1`;

/** KEYS: journal, owners, identities. ARGV: upstream id, identity. */
const FINISH = `redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('HGET', KEYS[3], ARGV[2]) == ARGV[1] then redis.call('HDEL', KEYS[3], ARGV[2]) end
return 1`;

/** KEYS: journal, owners. ARGV: this replica, replica key prefix. Claims entries whose replica is gone. */
const ADOPT = `local adopted = {}
local owners = redis.call('HGETALL', KEYS[2])
for i = 1, #owners, 2 do
  local upstream, owner = owners[i], owners[i + 1]
  if owner ~= ARGV[1] and redis.call('EXISTS', ARGV[2] .. owner) == 0 then
    local entry = redis.call('HGET', KEYS[1], upstream)
    if entry then
      redis.call('HSET', KEYS[2], upstream, ARGV[1])
      table.insert(adopted, entry)
    else
      redis.call('HDEL', KEYS[2], upstream)
    end
  end
end
return adopted`;

/** KEYS: undelivered zset. ARGV: oldest score kept. The newest result, taken by one caller only. */
const TAKE = `redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
local newest = redis.call('ZPOPMAX', KEYS[1])
return newest`;

/** KEYS: day key. ARGV: amount, limit (or ""), ttl s. {ok, spent} as strings (Lua numbers would be truncated). */
const RESERVE = `local spent = tonumber(redis.call('GET', KEYS[1]) or '0')
local amount = tonumber(ARGV[1])
if ARGV[2] ~= '' and amount > 0 and spent + amount > tonumber(ARGV[2]) then return {'0', tostring(spent)} end
if amount ~= 0 then spent = tonumber(redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])) end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {'1', tostring(spent)}`;

/** KEYS: day key. ARGV: difference, ttl s. Never below 0. */
const SETTLE = `local spent = tonumber(redis.call('INCRBYFLOAT', KEYS[1], ARGV[1]))
if spent < 0 then redis.call('SET', KEYS[1], '0') end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1`;

interface PaidCommands {
  fluxFillClaimRun(
    run: string,
    identities: string,
    owners: string,
    owner: string,
    leaseMs: number,
    identity: string,
    prefix: string,
  ): Promise<[string, string]>;
  fluxFillRenewRun(run: string, owner: string, leaseMs: number): Promise<number>;
  fluxFillEndRun(run: string, outcome: string, owner: string, value: string, ttlS: number): Promise<number>;
  fluxFillRecord(
    journal: string,
    owners: string,
    identities: string,
    upstreamId: string,
    entry: string,
    owner: string,
    identity: string,
  ): Promise<number>;
  fluxFillFinish(
    journal: string,
    owners: string,
    identities: string,
    upstreamId: string,
    identity: string,
  ): Promise<number>;
  fluxFillAdopt(journal: string, owners: string, replica: string, prefix: string): Promise<string[]>;
  fluxFillTake(key: string, oldest: number): Promise<string[]>;
  fluxFillReserve(key: string, amount: number, limit: string, ttlS: number): Promise<[string, string]>;
  fluxFillSettle(key: string, difference: number, ttlS: number): Promise<number>;
}

type PaidRedis = Redis & PaidCommands;

/** The connection with this module's commands (loaded on first use). */
type PaidClient = () => Promise<PaidRedis>;

function commands(connection: RedisConnection): PaidClient {
  connection.define("fluxFillClaimRun", 3, CLAIM_RUN);
  connection.define("fluxFillRenewRun", 1, RENEW_RUN);
  connection.define("fluxFillEndRun", 2, END_RUN);
  connection.define("fluxFillRecord", 3, RECORD);
  connection.define("fluxFillFinish", 3, FINISH);
  connection.define("fluxFillAdopt", 2, ADOPT);
  connection.define("fluxFillTake", 1, TAKE);
  connection.define("fluxFillReserve", 1, RESERVE);
  connection.define("fluxFillSettle", 1, SETTLE);
  return () => connection.client<PaidRedis>();
}

/** Journal entries in Redis, each with the replica that waits on it. */
export class RedisTaskJournal implements TaskJournal {
  private readonly identities = new Map<string, string>();

  constructor(
    private readonly redis: PaidClient,
    private readonly connection: RedisConnection,
  ) {}

  async record(entry: JournalEntry): Promise<void> {
    this.identities.set(entry.upstream_id, entry.identity);
    await (await this.redis()).fluxFillRecord(
      JOURNAL,
      JOURNAL_OWNERS,
      JOURNAL_IDENTITIES,
      entry.upstream_id,
      JSON.stringify(entry),
      this.connection.replicaId,
      entry.identity,
    );
  }

  async finish(upstreamId: string): Promise<void> {
    let identity = this.identities.get(upstreamId);
    if (identity === undefined) {
      const stored = await (await this.redis()).hget(JOURNAL, upstreamId);
      identity = stored ? (JSON.parse(stored) as JournalEntry).identity : "";
    }
    this.identities.delete(upstreamId);
    await (await this.redis()).fluxFillFinish(JOURNAL, JOURNAL_OWNERS, JOURNAL_IDENTITIES, upstreamId, identity);
  }

  /**
   * The entries of replicas that are gone, now this process's to collect (claimed atomically: two live
   * replicas never adopt the same task). The entries of live replicas are theirs.
   */
  async unfinished(): Promise<JournalEntry[]> {
    const adopted = await (await this.redis()).fluxFillAdopt(
      JOURNAL,
      JOURNAL_OWNERS,
      this.connection.replicaId,
      REPLICA_PREFIX,
    );
    return adopted.flatMap((text) => {
      try {
        const entry = JSON.parse(text) as JournalEntry;
        this.identities.set(entry.upstream_id, entry.identity);
        // This process waits on it now.
        return [{ ...entry, owner_pid: process.pid }];
      } catch {
        return [];
      }
    });
  }
}

const undeliveredKey = (identity: string) => `${PREFIX}:undelivered:${identity}`;

export class RedisUndeliveredResults implements UndeliveredResults {
  constructor(private readonly redis: PaidClient) {}

  async remember(identity: string, resultId: string, savedAt: number): Promise<void> {
    const key = undeliveredKey(identity);
    await (await this.redis())
      .multi()
      .zadd(key, savedAt, resultId)
      .expire(key, 24 * 3600)
      .exec();
  }

  async take(
    identity: string,
    now: number,
    maxAgeMs: number,
  ): Promise<{ resultId: string; savedAt: number } | undefined> {
    const [resultId, score] = await (await this.redis()).fluxFillTake(undeliveredKey(identity), now - maxAgeMs);
    return resultId === undefined ? undefined : { resultId, savedAt: Number(score) };
  }

  async forget(identity: string, resultId: string): Promise<void> {
    await (await this.redis()).zrem(undeliveredKey(identity), resultId);
  }
}

const DAY_TTL_S = 3 * 24 * 3600;

/** The server's daily spend, or (with `scope`) one user's. */
export class RedisCreditLedger implements CreditLedger {
  constructor(
    private readonly redis: PaidClient,
    private readonly scope = "",
  ) {}

  /** A named user's own spend, beside the server's. */
  static forUser(connection: RedisConnection, user: string): RedisCreditLedger {
    return new RedisCreditLedger(commands(connection), `user:${user}:`);
  }

  private key(day: string): string {
    return `${PREFIX}:credits:${this.scope}${day}`;
  }

  async reserve(amount: number, limit: number | undefined, now: number): Promise<ReserveOutcome> {
    const day = utcDay(now);
    const [ok, spent] = await (await this.redis()).fluxFillReserve(
      this.key(day),
      amount,
      limit === undefined ? "" : String(limit),
      DAY_TTL_S,
    );
    return ok === "1"
      ? { ok: true, reservation: { day, amount }, spentAfter: Number(spent) }
      : { ok: false, spent: Number(spent) };
  }

  async settle(reservation: CreditReservation, actual: number): Promise<void> {
    const difference = actual - reservation.amount;
    if (difference !== 0) await (await this.redis()).fluxFillSettle(this.key(reservation.day), difference, DAY_TTL_S);
  }

  async spent(now: number): Promise<number> {
    return Number((await (await this.redis()).get(this.key(utcDay(now)))) ?? 0);
  }
}

/** What a run left for the callers that waited on it from other processes. */
type RunEnd = { result: string } | { error: { kind: FluxFillError["kind"]; message: string } };

const runKey = (identity: string) => `${PREFIX}:run:${identity}`;
const outcomeKey = (token: string) => `${PREFIX}:run-outcome:${token}`;

/**
 * Runs shared within the process (as in memory) and across replicas: the first caller anywhere claims
 * the request in Redis; an identical call elsewhere waits for that run's saved result instead of
 * submitting. A run whose replica died is not claimed again while its journalled task waits to be adopted.
 */
export class RedisInFlightRuns implements InFlightRuns {
  private readonly local: MemoryInFlightRuns;

  constructor(
    private readonly redis: PaidClient,
    private readonly connection: RedisConnection,
    options: JoinOptions,
  ) {
    this.local = new MemoryInFlightRuns(options);
  }

  size(): number {
    return this.local.size();
  }

  join<T, P>(
    identity: string,
    waiter: RunWaiter<P>,
    start: (hooks: SharedRunHooks<P>) => Promise<T>,
    shared?: SharedOutcome<T>,
  ): { result: Promise<T>; attached: boolean } {
    if (shared === undefined) return this.local.join(identity, waiter, start);
    return this.local.join(identity, waiter, (hooks) => this.runOnce(identity, hooks, start, shared));
  }

  private async runOnce<T, P>(
    identity: string,
    hooks: SharedRunHooks<P>,
    start: (hooks: SharedRunHooks<P>) => Promise<T>,
    shared: SharedOutcome<T>,
  ): Promise<T> {
    const token = randomBytes(8).toString("hex");
    const owner = `${this.connection.replicaId}:${token}`;
    const key = runKey(identity);
    let told = false;
    for (;;) {
      if (hooks.abandoned.aborted) {
        throw new FluxFillError(
          "cancelled",
          "The call was cancelled while an identical call ran on another replica; nothing was submitted or charged.",
        );
      }
      let answer: [string, string];
      try {
        answer = await (await this.redis()).fluxFillClaimRun(
          key,
          JOURNAL_IDENTITIES,
          JOURNAL_OWNERS,
          owner,
          this.connection.leaseMs,
          identity,
          REPLICA_PREFIX,
        );
      } catch (error) {
        throw this.connection.unreachable(error, "identical calls on other replicas could not be checked");
      }
      const [state, value] = answer;
      if (state === "claimed") return this.runClaimed(key, owner, token, hooks, start, shared);
      if (!told) {
        told = true;
        (hooks.onProgress as (p: unknown) => void)({
          status: "Attached",
          elapsedMs: 0,
          message: "An identical call is running on another replica: waiting for its result (charged once).",
        });
      }
      if (state === "held") {
        const end = await this.waitForEnd(key, value, hooks.abandoned);
        if (end === undefined) continue; // that replica died, or its run was replaced: look again
        if ("error" in end) throw new FluxFillError(end.error.kind, end.error.message);
        return shared.load(end.result);
      }
      // "orphan": a dead replica's task waits to be adopted; its result comes back as undelivered.
      await new Promise((resolve) => setTimeout(resolve, REMOTE_POLL_MS));
    }
  }

  private async runClaimed<T, P>(
    key: string,
    owner: string,
    token: string,
    hooks: SharedRunHooks<P>,
    start: (hooks: SharedRunHooks<P>) => Promise<T>,
    shared: SharedOutcome<T>,
  ): Promise<T> {
    const renew = setInterval(
      () =>
        void this.redis()
          .then((redis) => redis.fluxFillRenewRun(key, owner, this.connection.leaseMs))
          .catch(() => undefined),
      Math.max(50, Math.floor(this.connection.leaseMs / 3)),
    );
    renew.unref();
    let end: RunEnd;
    try {
      const outcome = await start(hooks);
      end = { result: shared.idOf(outcome) };
      return outcome;
    } catch (error) {
      end = {
        error:
          error instanceof FluxFillError
            ? { kind: error.kind, message: error.message }
            : { kind: "internal", message: `Internal error: ${String(error)}` },
      };
      throw error;
    } finally {
      clearInterval(renew);
      // Not reaching Redis here only makes other replicas' waiters look again once the claim lapses.
      await this.redis()
        .then((redis) => redis.fluxFillEndRun(key, outcomeKey(token), owner, JSON.stringify(end!), OUTCOME_TTL_S))
        .catch(() => undefined);
    }
  }

  /** Waits for the run `held` ("replica:token") to end; undefined when it vanished without an outcome. */
  private async waitForEnd(key: string, held: string, abandoned: AbortSignal): Promise<RunEnd | undefined> {
    const token = held.slice(held.indexOf(":") + 1);
    for (;;) {
      if (abandoned.aborted) {
        throw new FluxFillError(
          "cancelled",
          "The call was cancelled while an identical call ran on another replica; nothing was submitted or charged.",
        );
      }
      let outcome: string | null;
      let current: string | null;
      try {
        const redis = await this.redis();
        [outcome, current] = await Promise.all([redis.get(outcomeKey(token)), redis.get(key)]);
      } catch (error) {
        throw this.connection.unreachable(error, "the identical call on another replica could not be followed");
      }
      if (outcome !== null) return JSON.parse(outcome) as RunEnd;
      if (current !== held) return undefined;
      await new Promise((resolve) => setTimeout(resolve, REMOTE_POLL_MS));
    }
  }
}

/** The never-pay-twice state of a replica, all in Redis. */
export function redisPaidTaskState(connection: RedisConnection, options: JoinOptions): PaidTaskState {
  const redis = commands(connection);
  return {
    inFlight: new RedisInFlightRuns(redis, connection, options),
    undelivered: new RedisUndeliveredResults(redis),
    journal: new RedisTaskJournal(redis, connection),
    credits: new RedisCreditLedger(redis),
  };
}
