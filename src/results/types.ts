import type { ResultMeta, SafeSaveOutcome } from "./store.js";

/** A saved result read back: its metadata, image bytes, and where it lives (a file path or an s3:// URL). */
export interface StoredResult {
  meta: ResultMeta;
  bytes: Buffer;
  path: string;
}

/** What a readiness probe says about a dependency. */
export interface Health {
  ok: boolean;
  /** Where it is (a directory, s3://bucket/prefix, redis://host:port), never with credentials. */
  where: string;
  /** What is wrong, for the operator. */
  problem?: string;
  /** Anything else worth showing (results waiting to be uploaded). */
  details?: Record<string, unknown>;
}

/**
 * Where results and their sidecars are kept: the output directory (`local`, the default) or an
 * S3-compatible bucket (`s3`, for replicas). Chosen once at start-up (results/index.ts); tools, resources
 * and the pipeline only see this interface.
 */
export interface ResultStore {
  /** Where results go, for logs ("/home/me/flux-fill-output", "s3://bucket/prefix"). */
  readonly location: string;
  /**
   * Saves the image first and the sidecar last: a listed result always has its image. A paid result is
   * never dropped: when its place fails it goes to a fallback (`fallback` says where and why).
   */
  save(bytes: Buffer, meta: Omit<ResultMeta, "file" | "mime_type">): Promise<SafeSaveOutcome>;
  /** A result by id; an unknown or malformed id is a `bad_input` FluxFillError. */
  read(id: string): Promise<StoredResult>;
  /** Saved results, newest first. Unreadable sidecars are skipped. */
  list(): Promise<ResultMeta[]>;
  /** For /readyz: can results be written now? */
  check(): Promise<Health>;
  /** Stops background work (retried uploads); waits for an upload in progress. */
  close(): Promise<void>;
}
