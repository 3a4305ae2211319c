import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { open } from "node:fs/promises";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import zlib from "node:zlib";

/**
 * Reading the few entries we need out of a downloaded .zip (the model weights are published zipped):
 * the central directory, then each entry streamed through inflate to its file, with its size and CRC-32
 * checked and its SHA-256 measured on the way. Stored (0) and deflated (8) entries; no ZIP64 (the
 * archives are far below 4 GB), no encryption.
 */

export interface ZipEntry {
  /** As stored, with folders ("models/encoder.onnx"). */
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  crc32: number;
  localHeaderOffset: number;
}

export class ZipError extends Error {}

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;

export async function readZipEntries(file: string): Promise<ZipEntry[]> {
  const handle = await open(file, "r");
  try {
    const { size } = await handle.stat();
    const tailSize = Math.min(size, 22 + 0xffff);
    const tail = Buffer.alloc(tailSize);
    await handle.read(tail, 0, tailSize, size - tailSize);
    let eocd = -1;
    for (let i = tailSize - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD_SIGNATURE) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw new ZipError("not a zip file (no end-of-central-directory record)");
    const count = tail.readUInt16LE(eocd + 10);
    const directorySize = tail.readUInt32LE(eocd + 12);
    const directoryOffset = tail.readUInt32LE(eocd + 16);
    if (directoryOffset === 0xffffffff || count === 0xffff) throw new ZipError("ZIP64 archives are not supported");
    if (directoryOffset + directorySize > size) throw new ZipError("truncated zip file (central directory past its end)");
    const directory = Buffer.alloc(directorySize);
    await handle.read(directory, 0, directorySize, directoryOffset);
    const entries: ZipEntry[] = [];
    let at = 0;
    for (let i = 0; i < count; i++) {
      if (at + 46 > directorySize || directory.readUInt32LE(at) !== CENTRAL_SIGNATURE)
        throw new ZipError("corrupt central directory");
      const nameLength = directory.readUInt16LE(at + 28);
      const extraLength = directory.readUInt16LE(at + 30);
      const commentLength = directory.readUInt16LE(at + 32);
      entries.push({
        method: directory.readUInt16LE(at + 10),
        crc32: directory.readUInt32LE(at + 16),
        compressedSize: directory.readUInt32LE(at + 20),
        size: directory.readUInt32LE(at + 24),
        localHeaderOffset: directory.readUInt32LE(at + 42),
        name: directory.toString("utf8", at + 46, at + 46 + nameLength),
      });
      at += 46 + nameLength + extraLength + commentLength;
    }
    return entries;
  } finally {
    await handle.close();
  }
}

/** The entry whose base name is `baseName` (archives may put files in a folder). */
export function findEntry(entries: ReadonlyArray<ZipEntry>, baseName: string): ZipEntry | undefined {
  return entries.find((e) => path.posix.basename(e.name) === baseName);
}

type Crc32 = (data: Uint8Array, value?: number) => number;

/** Streams one entry to `dest`, checking its size and CRC-32; returns its SHA-256 (hex) and size. */
export async function extractEntry(file: string, entry: ZipEntry, dest: string): Promise<{ sha256: string; bytes: number }> {
  if (entry.method !== 0 && entry.method !== 8) throw new ZipError(`${entry.name}: compression method ${entry.method} is not supported`);
  const handle = await open(file, "r");
  const header = Buffer.alloc(30);
  try {
    await handle.read(header, 0, 30, entry.localHeaderOffset);
  } finally {
    await handle.close();
  }
  if (header.readUInt32LE(0) !== LOCAL_SIGNATURE) throw new ZipError(`${entry.name}: corrupt local header`);
  const start = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  const hash = createHash("sha256");
  // zlib.crc32 exists from Node 20.15 / 22.2; on older 20.x the size and SHA-256 checks remain.
  const crc32 = (zlib as unknown as { crc32?: Crc32 }).crc32;
  let crc = 0;
  let bytes = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (bytes > entry.size) {
        done(new ZipError(`${entry.name}: longer than its recorded ${entry.size} bytes`));
        return;
      }
      hash.update(chunk);
      if (crc32) crc = crc32(chunk, crc);
      done(null, chunk);
    },
  });
  // An empty entry: createReadStream's `end` cannot express "no bytes".
  const source =
    entry.compressedSize === 0
      ? Readable.from([])
      : createReadStream(file, { start, end: start + entry.compressedSize - 1 });
  try {
    if (entry.method === 8) await pipeline(source, zlib.createInflateRaw(), measure, createWriteStream(dest));
    else await pipeline(source, measure, createWriteStream(dest));
  } catch (error) {
    if (error instanceof ZipError) throw error;
    throw new ZipError(`${entry.name}: ${(error as Error).message}`);
  }
  if (bytes !== entry.size) throw new ZipError(`${entry.name}: ${bytes} bytes instead of ${entry.size}`);
  if (crc32 && crc >>> 0 !== entry.crc32) throw new ZipError(`${entry.name}: CRC-32 mismatch`);
  return { sha256: hash.digest("hex"), bytes };
}
