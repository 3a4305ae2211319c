/**
 * Reusable memory for the engine's working arrays. A run allocates tens of megabytes of typed arrays per
 * megapixel; on small virtual machines the first touch of fresh memory costs about as much as the work
 * done in it (measured ~4 ms per MB here), and freed array buffers go back to the system. An engine thread
 * that runs job after job keeps one arena: each job takes its arrays from the arena's chunks (bump
 * allocation, zero-filled like fresh typed arrays) and hands them all back at once when it ends.
 */
export class Arena {
  private readonly chunks: SharedArrayBuffer[] = [];
  private chunk = 0;
  private used = 0;

  /**
   * @param chunkBytes size of each chunk (a larger request gets a chunk of its own size)
   * @param keepBytes chunks beyond this total are dropped at `reset`, so one huge job does not pin its
   *   memory for the thread's lifetime
   */
  constructor(
    private readonly chunkBytes = 32 << 20,
    private readonly keepBytes = 256 << 20,
  ) {}

  /** `bytes` zeroed bytes on shared memory, 8-byte aligned, valid until the next `reset`. */
  take(bytes: number): { buffer: SharedArrayBuffer; byteOffset: number } {
    const size = Math.ceil(bytes / 8) * 8;
    for (;;) {
      let buffer = this.chunks[this.chunk];
      if (buffer === undefined) {
        buffer = new SharedArrayBuffer(Math.max(this.chunkBytes, size));
        this.chunks.push(buffer);
      }
      if (this.used + size <= buffer.byteLength) {
        const byteOffset = this.used;
        this.used += size;
        // Zeroed 8 bytes at a time: filling shared memory byte by byte is an order of magnitude slower.
        new Float64Array(buffer, byteOffset, size / 8).fill(0);
        return { buffer, byteOffset };
      }
      // A chunk too small for this request (a later one, made for a larger request, may fit it).
      this.chunk++;
      this.used = 0;
    }
  }

  /** Every array taken so far is free again (its memory will be reused, and zeroed, by later takes). */
  reset(): void {
    this.chunk = 0;
    this.used = 0;
    let kept = 0;
    let count = 0;
    while (count < this.chunks.length && kept + this.chunks[count]!.byteLength <= this.keepBytes)
      kept += this.chunks[count++]!.byteLength;
    this.chunks.length = count;
  }

  /** Bytes held (for tests and diagnostics). */
  get heldBytes(): number {
    return this.chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
  }
}

/** The arena the engine's allocations come from right now; undefined = fresh memory for each array. */
let current: Arena | undefined;

/**
 * Runs `step` with `arena` as the source of the engine's working arrays. Scoped to one synchronous step, so
 * interleaved runs (two fills on one thread, each yielding between stages) never share an arena.
 */
export function withArena<T>(arena: Arena | undefined, step: () => T): T {
  const previous = current;
  current = arena;
  try {
    return step();
  } finally {
    current = previous;
  }
}

function sharedBytes(bytes: number): { buffer: SharedArrayBuffer; byteOffset: number } {
  return current === undefined ? { buffer: new SharedArrayBuffer(bytes), byteOffset: 0 } : current.take(bytes);
}

/*
 * The working arrays live on SharedArrayBuffers, so a helper thread sees the same memory without copying
 * (see BandRunner). Elsewhere they behave like ordinary, zero-filled typed arrays.
 */
export function sharedFloat32Array(length: number): Float32Array {
  const { buffer, byteOffset } = sharedBytes(4 * length);
  return new Float32Array(buffer, byteOffset, length);
}

export function sharedInt32Array(length: number): Int32Array {
  const { buffer, byteOffset } = sharedBytes(4 * length);
  return new Int32Array(buffer, byteOffset, length);
}

export function sharedUint8Array(length: number): Uint8Array {
  const { buffer, byteOffset } = sharedBytes(length);
  return new Uint8Array(buffer, byteOffset, length);
}

export function sharedUint16Array(length: number): Uint16Array {
  const { buffer, byteOffset } = sharedBytes(2 * length);
  return new Uint16Array(buffer, byteOffset, length);
}
