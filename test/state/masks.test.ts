/**
 * The previewed-mask store in files and in a real Redis: an id is its user's only, lapses after 30 minutes
 * (an injected clock, no waiting), and anything not of the id's form is simply not found.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/log.js";
import { FileMaskStore, isMaskId, MASK_ID_TTL_MS, type MaskStore, RedisMaskStore } from "../../src/state/masks.js";
import { RedisConnection } from "../../src/state/redis-connection.js";
import { tempDir } from "../helpers/mcp.js";
import { type RedisServer, startRedis } from "../helpers/redis-server.js";

const mask = (user: string) => ({
  user,
  png: Buffer.from([137, 80, 78, 71, 1, 2, 3]),
  image: { sha256: "ab".repeat(32), width: 64, height: 48, source: "/photos/a.png" },
  source: "mask_regions (rect, px)",
  coverage: 0.25,
});

let redis: RedisServer;
let connection: RedisConnection;
beforeAll(async () => {
  redis = await startRedis();
  connection = new RedisConnection({ settings: { url: redis.url, leaseMs: 30_000 }, logger: silentLogger });
});
afterAll(async () => {
  await connection.close();
  await redis.close();
});

describe.each([
  ["files", async (now: () => number): Promise<MaskStore> => {
    const dir = await tempDir("flux-fill-masks-");
    return new FileMaskStore((user) => path.join(dir, user), now);
  }],
  ["redis", async (now: () => number): Promise<MaskStore> => new RedisMaskStore(connection, now)],
])("previewed masks in %s", (_name, make) => {
  it("gives the mask back to its user, byte for byte, and to no one else", async () => {
    const store = await make(Date.now);
    const saved = await store.save(mask("alice"));
    expect(isMaskId(saved.id)).toBe(true);
    const got = await store.get("alice", saved.id);
    expect(got?.png.equals(mask("alice").png)).toBe(true);
    expect(got).toMatchObject({ id: saved.id, user: "alice", image: mask("alice").image, coverage: 0.25 });
    expect(await store.get("bob", saved.id)).toBeUndefined();
    expect(await store.get("alice", "mask_unknown0000000000000000")).toBeUndefined();
    expect(await store.get("alice", "../../etc/passwd")).toBeUndefined();
  });

  it("lapses 30 minutes after it was saved", async () => {
    let now = 1_000_000;
    const store = await make(() => now);
    const saved = await store.save(mask("alice"));
    expect(saved.expiresAt).toBe(1_000_000 + MASK_ID_TTL_MS);
    now += MASK_ID_TTL_MS - 1;
    expect(await store.get("alice", saved.id)).toBeDefined();
    now += 1;
    expect(await store.get("alice", saved.id)).toBeUndefined();
  });
});
