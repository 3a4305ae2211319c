/**
 * Results in an S3-compatible bucket (AWS S3, MinIO, Cloudflare R2, …), so every replica lists, reads and
 * returns every result. A result is first saved in the local output directory, which doubles as the upload
 * spool: once the image and then its sidecar are in the bucket the local files are removed; when the upload
 * fails they stay, are still served by this replica, and are uploaded again every `retryMs` (and at
 * start-up, for files a previous process left). A paid result is never dropped because the bucket is away.
 */
import { unlink } from "node:fs/promises";
import path from "node:path";
import type { S3Client, S3ClientConfig } from "@aws-sdk/client-s3";
import type { S3Settings } from "../config.js";
import { FluxFillError } from "../errors.js";
import type { Logger } from "../log.js";
import { directoryWritable, type LocalSaveOptions, localResultStore } from "./local.js";
import { isResultId, listResults, type ResultMeta, readResult, type SafeSaveOutcome } from "./store.js";
import type { Health, ResultStore, StoredResult } from "./types.js";

export interface S3StoreOptions {
  settings: S3Settings;
  /** The local directory results wait in until uploaded (the output directory). */
  spoolDir: string;
  logger: Logger;
  /** Interval of upload retries for results the bucket did not take. Default 15 000. */
  retryMs?: number;
  /** Per-request deadline towards the bucket. Default 10 000. */
  requestTimeoutMs?: number;
  /** Where a result goes when even the spool directory fails (as for the local store). */
  local?: LocalSaveOptions;
}

/** Sidecars are never changed once written; at most this many are kept in memory for listings. */
const META_CACHE_SIZE = 10_000;
/** Sidecars fetched at once when listing. */
const LIST_CONCURRENCY = 16;

function describeCause(error: unknown): string {
  if (error instanceof Error)
    return error.name && error.name !== "Error" ? `${error.name}: ${error.message}` : error.message;
  return String(error);
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === "NoSuchKey" || e?.name === "NotFound" || e?.$metadata?.httpStatusCode === 404;
}

async function inBatches<T, R>(items: T[], size: number, map: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(map))));
  return out;
}

export class S3ResultStore implements ResultStore {
  readonly location: string;
  /** The SDK is loaded on first use: a server on local disk never pays its start-up time (~0.1 s). */
  private readonly sdk: Promise<{ client: S3Client; module: typeof import("@aws-sdk/client-s3") }>;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly metas = new Map<string, ResultMeta>();
  private readonly uploading = new Map<string, Promise<boolean>>();
  private readonly retryTimer: NodeJS.Timeout;
  private lastFailure: string | undefined;
  /** The local directory results wait in, with the usual fallbacks. */
  private readonly spool: ReturnType<typeof localResultStore>;
  private closed = false;

  constructor(private readonly options: S3StoreOptions) {
    const { settings } = options;
    this.bucket = settings.bucket;
    this.prefix = settings.prefix;
    this.location = `s3://${settings.bucket}/${settings.prefix}`;
    this.spool = localResultStore(options.spoolDir, options.local);
    const timeout = options.requestTimeoutMs ?? 10_000;
    const config: S3ClientConfig = {
      region: settings.region,
      forcePathStyle: settings.forcePathStyle,
      // Plain requests every S3-compatible store understands (R2 and older MinIO refuse the newer checksums).
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      maxAttempts: 2,
      requestHandler: { connectionTimeout: Math.min(timeout, 3000), requestTimeout: timeout },
      ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
      ...(settings.credentials === undefined ? {} : { credentials: settings.credentials }),
    };
    this.sdk = import("@aws-sdk/client-s3").then((module) => ({ client: new module.S3Client(config), module }));
    this.retryTimer = setInterval(() => void this.uploadPending(), options.retryMs ?? 15_000);
    this.retryTimer.unref();
    // Results a previous process saved here and could not upload.
    void this.uploadPending();
  }

  private key(name: string): string {
    return `${this.prefix}${name}`;
  }

  private unreachable(action: string, error: unknown): FluxFillError {
    return new FluxFillError(
      "service_unavailable",
      `The results store ${this.location} could not ${action} (${describeCause(error)}).`,
      {
        suggestion:
          "Check that the S3-compatible store is up and that FLUX_FILL_RESULTS_URL, AWS_ENDPOINT_URL_S3 and the AWS credentials are right; try again shortly.",
        cause: error,
      },
    );
  }

  async save(bytes: Buffer, meta: Omit<ResultMeta, "file" | "mime_type">): Promise<SafeSaveOutcome> {
    const local = await this.spool.save(bytes, meta);
    // A result the spool could not take (it is in the fallback directory or memory) is not uploaded later:
    // upload it now, and keep the fallback's answer if that fails too.
    const uploaded = await this.upload(local.meta, bytes);
    if (!uploaded) return local;
    const { fallback: _spoolFailed, ...saved } = local;
    return { ...saved, path: this.url(local.meta.file) };
  }

  private url(file: string): string {
    return `${this.location}${file}`;
  }

  /** Uploads one spooled result (image, then sidecar) and removes its local files; false when the bucket refused. */
  private upload(meta: ResultMeta, bytes?: Buffer): Promise<boolean> {
    const running = this.uploading.get(meta.id);
    if (running) return running;
    const attempt = (async () => {
      const imagePath = path.join(this.options.spoolDir, path.basename(meta.file));
      try {
        const body = bytes ?? (await readResult(this.options.spoolDir, meta.id)).bytes;
        const { client, module } = await this.sdk;
        await client.send(
          new module.PutObjectCommand({
            Bucket: this.bucket,
            Key: this.key(meta.file),
            Body: body,
            ContentType: meta.mime_type,
          }),
        );
        await client.send(
          new module.PutObjectCommand({
            Bucket: this.bucket,
            Key: this.key(`${meta.id}.json`),
            Body: `${JSON.stringify(meta, null, 2)}\n`,
            ContentType: "application/json",
          }),
        );
      } catch (error) {
        this.lastFailure = describeCause(error);
        this.options.logger.warn(
          `result ${meta.id} kept in ${this.options.spoolDir}: uploading to ${this.location} failed (${this.lastFailure}); retrying later`,
        );
        return false;
      }
      this.lastFailure = undefined;
      this.remember(meta);
      // Sidecar first: a half-removed result is then no longer listed locally.
      await unlink(path.join(this.options.spoolDir, `${meta.id}.json`)).catch(() => undefined);
      await unlink(imagePath).catch(() => undefined);
      this.options.logger.info(`uploaded result ${meta.id} to ${this.location}`);
      return true;
    })();
    this.uploading.set(meta.id, attempt);
    void attempt.finally(() => this.uploading.delete(meta.id));
    return attempt;
  }

  /** Uploads every result still waiting in the spool; resolves with how many remain. */
  async uploadPending(): Promise<number> {
    if (this.closed) return 0;
    const pending = await listResults(this.options.spoolDir);
    let left = 0;
    for (const meta of pending) if (!(await this.upload(meta))) left += 1;
    return left;
  }

  private remember(meta: ResultMeta): void {
    this.metas.set(meta.id, meta);
    while (this.metas.size > META_CACHE_SIZE) this.metas.delete(this.metas.keys().next().value!);
  }

  private async getObject(key: string): Promise<Buffer> {
    const { client, module } = await this.sdk;
    const answer = await client.send(new module.GetObjectCommand({ Bucket: this.bucket, Key: key }));
    if (!answer.Body) throw new Error(`empty body for ${key}`);
    return Buffer.from(await answer.Body.transformToByteArray());
  }

  private async readMeta(id: string): Promise<ResultMeta> {
    const cached = this.metas.get(id);
    if (cached) return cached;
    const meta = JSON.parse((await this.getObject(this.key(`${id}.json`))).toString("utf8")) as ResultMeta;
    this.remember(meta);
    return meta;
  }

  async read(id: string): Promise<StoredResult> {
    if (!isResultId(id)) return readResult(this.options.spoolDir, id); // the usual bad_input for a malformed id
    const spooled = await this.spool.read(id).catch(() => undefined);
    if (spooled) return spooled;
    let meta: ResultMeta;
    try {
      meta = await this.readMeta(id);
    } catch (error) {
      if (isNotFound(error)) {
        throw new FluxFillError("bad_input", `No saved result with id ${id} in ${this.location}.`, {
          suggestion: "List saved results with resources/list (flux-fill://results/…).",
        });
      }
      throw this.unreachable(`read result ${id}`, error);
    }
    try {
      const bytes = await this.getObject(this.key(path.basename(meta.file)));
      return { meta, bytes, path: this.url(meta.file) };
    } catch (error) {
      if (isNotFound(error)) {
        throw new FluxFillError("bad_input", `The result ${id} has metadata in ${this.location} but no image.`, {
          suggestion: "The image may have been deleted from the bucket; run flux_fill again.",
        });
      }
      throw this.unreachable(`read result ${id}`, error);
    }
  }

  async list(): Promise<ResultMeta[]> {
    const ids: string[] = [];
    try {
      const { client, module } = await this.sdk;
      let token: string | undefined;
      do {
        const page = await client.send(
          // The delimiter leaves out what lies deeper (the named users' `users/<name>/` prefixes).
          new module.ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix,
            Delimiter: "/",
            ContinuationToken: token,
          }),
        );
        for (const object of page.Contents ?? []) {
          const name = object.Key?.slice(this.prefix.length) ?? "";
          if (name.endsWith(".json") && isResultId(name.slice(0, -5))) ids.push(name.slice(0, -5));
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (error) {
      throw this.unreachable("list results", error);
    }
    const stored = await inBatches(ids, LIST_CONCURRENCY, (id) => this.readMeta(id).catch(() => undefined));
    const spooled = await listResults(this.options.spoolDir);
    const byId = new Map<string, ResultMeta>();
    for (const meta of [...stored, ...spooled]) if (meta) byId.set(meta.id, meta);
    return [...byId.values()].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  }

  async check(): Promise<Health> {
    const spoolWritable = await directoryWritable(this.options.spoolDir);
    const waiting = (await listResults(this.options.spoolDir)).length;
    const details = { waiting_upload: waiting, spool_dir: this.options.spoolDir };
    try {
      const { client, module } = await this.sdk;
      await client.send(new module.HeadBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      return {
        ok: false,
        where: this.location,
        problem: `the bucket cannot be reached (${describeCause(error)})`,
        details,
      };
    }
    if (!spoolWritable) {
      return {
        ok: false,
        where: this.location,
        problem: "the local output directory (upload spool) is not writable",
        details,
      };
    }
    return { ok: true, where: this.location, details };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.retryTimer);
    await Promise.all([...this.uploading.values()]);
    (await this.sdk).client.destroy();
  }
}
