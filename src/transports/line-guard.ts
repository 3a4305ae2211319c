import { Transform, type TransformCallback } from "node:stream";

/** What is kept of an oversize line: enough to find its JSON-RPC id and method, never the payload. */
export interface OversizeLine {
  bytes: number;
  head: string;
  tail: string;
}

const KEEP = 512;

/**
 * Sits between stdin and the SDK's stdio transport. Complete lines under `limit` bytes pass through as
 * one chunk each (the SDK's buffer then copies a big message once instead of once per 64 KiB chunk);
 * a longer line is dropped and reported instead of reaching the SDK, whose buffer would otherwise throw
 * and close the transport — the server would exit on one oversize image.
 */
export class LineGuard extends Transform {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private discarding = false;
  private discarded = 0;
  private head = "";
  private tail = Buffer.alloc(0);

  constructor(
    private readonly limit: number,
    private readonly onOversize: (line: OversizeLine) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(10, start);
      const end = newline === -1 ? chunk.length : newline + 1;
      this.accept(chunk.subarray(start, end));
      if (newline !== -1) this.endLine();
      start = end;
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.pendingBytes > 0 && !this.discarding) this.push(Buffer.concat(this.pending));
    callback();
  }

  private accept(piece: Buffer): void {
    if (this.discarding) {
      this.discarded += piece.length;
      this.keepTail(piece);
      return;
    }
    if (this.pendingBytes + piece.length <= this.limit) {
      this.pending.push(piece);
      this.pendingBytes += piece.length;
      return;
    }
    // Over the limit: keep only what identifies the request, drop the rest.
    const sofar = Buffer.concat([...this.pending, piece]);
    this.head = sofar.subarray(0, KEEP).toString("utf8");
    this.discarding = true;
    this.discarded = sofar.length;
    this.pending = [];
    this.pendingBytes = 0;
    this.keepTail(sofar);
  }

  private keepTail(piece: Buffer): void {
    const joined = piece.length >= KEEP ? piece.subarray(piece.length - KEEP) : Buffer.concat([this.tail, piece]);
    this.tail = Buffer.from(joined.subarray(Math.max(0, joined.length - KEEP)));
  }

  private endLine(): void {
    if (this.discarding) {
      this.onOversize({ bytes: this.discarded, head: this.head, tail: this.tail.toString("utf8") });
      this.discarding = false;
      this.discarded = 0;
      this.head = "";
      this.tail = Buffer.alloc(0);
      return;
    }
    this.push(this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending));
    this.pending = [];
    this.pendingBytes = 0;
  }
}

/** The JSON-RPC id and method of a request seen only by its first and last bytes, when they show. */
export function identifyRequest(line: OversizeLine): { id: string | number | undefined; method: string | undefined } {
  const idPattern = /"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")/;
  // The SDK's client writes `id` last; others write it first. Only a top-level position is trusted.
  const atEnd = new RegExp(`${idPattern.source}\\s*}\\s*$`).exec(line.tail);
  const atStart = new RegExp(`^\\s*{\\s*(?:"jsonrpc"\\s*:\\s*"2\\.0"\\s*,\\s*)?${idPattern.source}`).exec(line.head);
  const raw = atEnd?.[1] ?? atStart?.[1];
  const id = raw === undefined ? undefined : (JSON.parse(raw) as string | number);
  const method = /"method"\s*:\s*"([^"]{1,64})"/.exec(line.head)?.[1];
  return { id, method };
}
