/**
 * Masks preview_mask showed, kept for 30 minutes under a `mask_id` so that flux_fill and open_mask_editor
 * can send exactly that mask without drawing it again (and without re-running an object selection). Each
 * is its user's: another user's id is not found, exactly like an unknown one. In files under the user's
 * output directory (`.flux-fill/masks/`), or, for replicas, in Redis with the same expiry.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { FluxFillError } from "../errors.js";
import type { RedisConnection } from "./redis-connection.js";
import { stateDir } from "./files.js";

/** How long a previewed mask can be used. */
export const MASK_ID_TTL_MS = 30 * 60 * 1000;

/** `mask_` + 22 base64url characters (128 random bits): unguessable, and safe as a file name. */
const MASK_ID = /^mask_[A-Za-z0-9_-]{22}$/;

export function isMaskId(id: string): boolean {
  return MASK_ID.test(id);
}

/** What a mask_id stands for. */
export interface PreviewedMask {
  id: string;
  user: string;
  /** The mask exactly as it is uploaded: an 8-bit greyscale PNG of the image's size (255 = inpaint). */
  png: Buffer;
  /** The image it was drawn for: SHA-256 of its file's bytes, and its size as displayed. */
  image: { sha256: string; width: number; height: number; source: string };
  /** How the mask was made ("mask_regions (object, fraction)"), for the result's sidecar. */
  source: string;
  /** Fraction of pixels to inpaint (0..1). */
  coverage: number;
  /** ms since the epoch. */
  expiresAt: number;
}

export type NewPreviewedMask = Omit<PreviewedMask, "id" | "expiresAt">;

export interface MaskStore {
  /** Keeps the mask for MASK_ID_TTL_MS under a new id. */
  save(mask: NewPreviewedMask): Promise<PreviewedMask>;
  /** The user's mask with this id; undefined when unknown, another user's, or expired. */
  get(user: string, id: string): Promise<PreviewedMask | undefined>;
}

export function imageDigest(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function newMaskId(): string {
  return `mask_${randomBytes(16).toString("base64url")}`;
}

/** The stored form: the mask's PNG as base64 beside the facts, one JSON document. */
interface StoredMask extends Omit<PreviewedMask, "png"> {
  png: string;
}

const toStored = (mask: PreviewedMask): StoredMask => ({ ...mask, png: mask.png.toString("base64") });
const fromStored = (stored: StoredMask): PreviewedMask => ({ ...stored, png: Buffer.from(stored.png, "base64") });

/**
 * In files: one JSON document per mask in the user's own state directory (`outputDirOf(user)`), so a
 * restart keeps them. Expired ones are removed when a mask is saved.
 */
export class FileMaskStore implements MaskStore {
  constructor(
    private readonly outputDirOf: (user: string) => string,
    private readonly now: () => number = Date.now,
  ) {}

  private dir(user: string): string {
    return path.join(stateDir(this.outputDirOf(user)), "masks");
  }

  async save(mask: NewPreviewedMask): Promise<PreviewedMask> {
    const saved: PreviewedMask = { ...mask, id: newMaskId(), expiresAt: this.now() + MASK_ID_TTL_MS };
    const dir = this.dir(mask.user);
    await mkdir(dir, { recursive: true });
    await this.removeExpired(dir);
    const file = path.join(dir, `${saved.id}.json`);
    const temporary = `${file}.${randomBytes(3).toString("hex")}.part`;
    await writeFile(temporary, JSON.stringify(toStored(saved)));
    await rename(temporary, file);
    return saved;
  }

  async get(user: string, id: string): Promise<PreviewedMask | undefined> {
    if (!isMaskId(id)) return undefined;
    let stored: StoredMask;
    try {
      stored = JSON.parse(await readFile(path.join(this.dir(user), `${id}.json`), "utf8")) as StoredMask;
    } catch {
      return undefined;
    }
    if (stored.user !== user || stored.expiresAt <= this.now()) return undefined;
    return fromStored(stored);
  }

  private async removeExpired(dir: string): Promise<void> {
    const names = await readdir(dir).catch(() => [] as string[]);
    const now = this.now();
    await Promise.all(
      names
        .filter((name) => name.endsWith(".json"))
        .map(async (name) => {
          const file = path.join(dir, name);
          try {
            const { expiresAt } = JSON.parse(await readFile(file, "utf8")) as Pick<StoredMask, "expiresAt">;
            if (expiresAt <= now) await unlink(file);
          } catch {
            // Being written or removed by another call; the next save looks again.
          }
        }),
    );
  }
}

/** In Redis, for replicas: every replica reads the mask another one previewed; Redis drops it when it expires. */
export class RedisMaskStore implements MaskStore {
  constructor(
    private readonly connection: RedisConnection,
    private readonly now: () => number = Date.now,
  ) {}

  /** The user's name is hashed into the key: any name is a safe key, and one user's key never names another's. */
  private key(user: string, id: string): string {
    return `flux-fill:mask:${createHash("sha256").update(user, "utf8").digest("hex").slice(0, 32)}:${id}`;
  }

  async save(mask: NewPreviewedMask): Promise<PreviewedMask> {
    const saved: PreviewedMask = { ...mask, id: newMaskId(), expiresAt: this.now() + MASK_ID_TTL_MS };
    const redis = await this.connection.client();
    await redis.set(this.key(mask.user, saved.id), JSON.stringify(toStored(saved)), "PX", MASK_ID_TTL_MS);
    return saved;
  }

  async get(user: string, id: string): Promise<PreviewedMask | undefined> {
    if (!isMaskId(id)) return undefined;
    const redis = await this.connection.client();
    const value = await redis.get(this.key(user, id));
    if (value === null) return undefined;
    const stored = JSON.parse(value) as StoredMask;
    if (stored.user !== user || stored.expiresAt <= this.now()) return undefined;
    return fromStored(stored);
  }
}

/**
 * Refuses an image other than the one the mask was previewed on (its file's bytes differ): a mask fits
 * only the pixels it was drawn for.
 */
export function assertPreviewedImage(mask: PreviewedMask, imageBytes: Buffer, imageSource: string): void {
  if (imageDigest(imageBytes) === mask.image.sha256) return;
  const { width, height, source } = mask.image;
  throw new FluxFillError(
    "bad_input",
    `mask_id ${mask.id} was previewed on another image (${source}, ${width}×${height}); this call's image (${imageSource}) is not that file (its bytes differ), so the mask may not fit it.`,
    {
      suggestion: `Give the image that was previewed (${source}) unchanged, or call preview_mask on this image to get a mask_id for it.`,
    },
  );
}
