/**
 * The S3 result store against a real S3-compatible server (s3rver on 127.0.0.1): what one replica saves,
 * another lists and reads; a bucket that is away keeps the result on local disk, served from there, and
 * uploaded once the bucket is back.
 */
import { readdir } from "node:fs/promises";
import path from "node:path";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Config, loadConfig } from "../../src/config.js";
import { FluxFillError } from "../../src/errors.js";
import { silentLogger } from "../../src/log.js";
import { createResultStore } from "../../src/results/index.js";
import { S3ResultStore } from "../../src/results/s3.js";
import { newResultId, type ResultMeta } from "../../src/results/store.js";
import type { ResultStore } from "../../src/results/types.js";
import { makePhoto } from "../helpers/images.js";
import { tempDir } from "../helpers/mcp.js";
import { type S3Server, startS3 } from "../helpers/s3-server.js";

let s3: S3Server;
const stores: ResultStore[] = [];

beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await s3.close();
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
  await s3.start(); // a test that stopped it leaves it running for the next
});

function meta(id = newResultId()): Omit<ResultMeta, "file" | "mime_type"> {
  return {
    id,
    provider: "bfl",
    format: "png",
    width: 16,
    height: 12,
    created_at: new Date().toISOString(),
    upstream_id: "task-1",
    cost: 5,
    seed: 1,
    prompt: "a red door",
    params: {},
    inputs: { image: { source: "/x.png", width: 16, height: 12, format: "png" } },
    timings: { prepare_ms: 1, provider_ms: 2, save_ms: 3, total_ms: 6 },
    notes: [],
  };
}

/** A replica's store: its own output directory (the spool), the shared bucket and prefix. */
async function replicaStore(prefix: string, retryMs = 60_000): Promise<{ store: S3ResultStore; config: Config }> {
  const dir = await tempDir("flux-fill-s3-replica-");
  const config = loadConfig({ FLUX_FILL_OUTPUT_DIR: path.join(dir, "out"), ...s3.env(prefix) }, dir);
  const store = createResultStore(config, silentLogger, { retryMs, requestTimeoutMs: 2000 });
  expect(store).toBeInstanceOf(S3ResultStore);
  stores.push(store);
  return { store: store as S3ResultStore, config };
}

const client = () =>
  new S3Client({
    endpoint: s3.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  });

describe("S3 result store", () => {
  it("saves image and sidecar in the bucket under the prefix; another replica lists and reads them", async () => {
    const a = await replicaStore("shared");
    const b = await replicaStore("shared");
    const bytes = await makePhoto(16, 12, { format: "png", seed: 3 });
    const first = await a.store.save(bytes, meta("20261202-100000-aaaaaaaa"));
    const second = await a.store.save(bytes, meta("20261202-110000-bbbbbbbb"));
    expect(first.path).toBe(`s3://${s3.bucket}/shared/20261202-100000-aaaaaaaa.png`);
    // Uploaded: nothing left in the replica's spool.
    expect(await readdir(a.config.outputDir)).toEqual([]);

    const object = await client().send(
      new GetObjectCommand({ Bucket: s3.bucket, Key: "shared/20261202-100000-aaaaaaaa.json" }),
    );
    expect(JSON.parse(await object.Body!.transformToString())).toMatchObject({ id: first.meta.id, file: first.meta.file });

    expect((await b.store.list()).map((m) => m.id)).toEqual([second.meta.id, first.meta.id]);
    const read = await b.store.read(first.meta.id);
    expect(read.bytes.equals(bytes)).toBe(true);
    expect(read.meta).toEqual(first.meta);
    expect(read.path).toBe(first.path);
    // Another prefix is another set of results.
    const other = await replicaStore("elsewhere");
    expect(await other.store.list()).toEqual([]);
  });

  it("answers an unknown or malformed id with bad_input", async () => {
    const { store } = await replicaStore("ids");
    await expect(store.read("20261202-100000-cccccccc")).rejects.toMatchObject({
      kind: "bad_input",
      message: expect.stringContaining("No saved result with id 20261202-100000-cccccccc"),
    });
    await expect(store.read("../../etc/passwd")).rejects.toMatchObject({ kind: "bad_input" });
  });

  it("keeps a result on local disk while the bucket is away, serves it from there, and uploads it once it is back", async () => {
    const a = await replicaStore("outage");
    const b = await replicaStore("outage");
    await s3.stop();
    const bytes = await makePhoto(16, 12, { format: "png", seed: 4 });
    const saved = await a.store.save(bytes, meta());
    expect(saved.path).toBe(path.join(a.config.outputDir, saved.meta.file));
    expect((await readdir(a.config.outputDir)).sort()).toEqual([`${saved.meta.id}.json`, saved.meta.file].sort());
    expect((await a.store.read(saved.meta.id)).bytes.equals(bytes)).toBe(true);
    const health = await a.store.check();
    expect(health).toMatchObject({ ok: false, where: `s3://${s3.bucket}/outage/`, details: { waiting_upload: 1 } });
    // Reads from the bucket say which store failed, not "unknown id".
    const error = await b.store.read(saved.meta.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FluxFillError);
    expect(error).toMatchObject({ kind: "service_unavailable", message: expect.stringContaining("s3://") });

    await s3.start();
    expect(await a.store.uploadPending()).toBe(0);
    expect(await readdir(a.config.outputDir)).toEqual([]);
    expect((await b.store.read(saved.meta.id)).bytes.equals(bytes)).toBe(true);
    expect(await a.store.check()).toMatchObject({ ok: true, details: { waiting_upload: 0 } });
  });

  it("retries by itself: a result left in the spool is uploaded by the retry timer", async () => {
    const a = await replicaStore("retry", 200);
    await s3.stop();
    const saved = await a.store.save(await makePhoto(16, 12, { format: "png", seed: 5 }), meta());
    expect(saved.path.startsWith(a.config.outputDir)).toBe(true);
    await s3.start();
    await expect.poll(() => readdir(a.config.outputDir), { timeout: 20_000, interval: 100 }).toEqual([]);
    const b = await replicaStore("retry");
    expect((await b.store.list()).map((m) => m.id)).toEqual([saved.meta.id]);
  });
});
