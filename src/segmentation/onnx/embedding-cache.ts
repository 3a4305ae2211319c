/**
 * The image embeddings SAM's encoder computed, kept per image key (SegmentImage.key) so the prompts that
 * follow on the same photo — preview_mask, then flux_fill, then the mask editor — only run the decoder.
 * Least recently used first out, bounded by bytes (one SAM 2.1 embedding is ~16.8 MB); callers asking for
 * the same image at the same time share one computation.
 */
export class EmbeddingCache<V> {
  readonly #entries = new Map<string, { value: V; bytes: number }>();
  readonly #pending = new Map<string, Promise<V>>();
  #bytes = 0;

  constructor(
    readonly maxBytes: number,
    private readonly sizeOf: (value: V) => number,
  ) {}

  /** Bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /** The cached value (now the most recently used), or undefined. */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** Keeps `value`, dropping the least recently used ones until it fits; one larger than the budget is not kept. */
  set(key: string, value: V): void {
    const old = this.#entries.get(key);
    if (old !== undefined) {
      this.#entries.delete(key);
      this.#bytes -= old.bytes;
    }
    const bytes = this.sizeOf(value);
    if (bytes > this.maxBytes) return;
    for (const [oldest, entry] of this.#entries) {
      if (this.#bytes + bytes <= this.maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= entry.bytes;
    }
    this.#entries.set(key, { value, bytes });
    this.#bytes += bytes;
  }

  /** The cached value, or `compute()`'s — run once however many callers ask for the key meanwhile. */
  async getOrCompute(key: string, compute: () => Promise<V>): Promise<V> {
    const cached = this.get(key);
    if (cached !== undefined) return cached;
    const running = this.#pending.get(key);
    if (running !== undefined) return running;
    const promise = compute().then(
      (value) => {
        this.#pending.delete(key);
        this.set(key, value);
        return value;
      },
      (error: unknown) => {
        this.#pending.delete(key);
        throw error;
      },
    );
    this.#pending.set(key, promise);
    return promise;
  }
}
