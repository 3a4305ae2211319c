/**
 * How long recent tasks took (submit to Ready), for the poll schedule. A bounded ring: old durations
 * drop out, so the schedule follows the upstream when it gets faster or slower. One history is shared
 * by every fill of a process (all providers built for the same upstream), so concurrent fills learn
 * from each other. No I/O, nothing persisted.
 */

export const DEFAULT_HISTORY_SIZE = 50;

export class DurationHistory {
  private readonly ring: number[] = [];
  private next = 0;
  /** Handed out until the next change, so readers can cache what they derive from it by identity. */
  private snapshot: readonly number[] = Object.freeze([]);

  constructor(readonly capacity: number = DEFAULT_HISTORY_SIZE) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`DurationHistory capacity must be a positive integer, got ${capacity}`);
    }
  }

  /** Records one duration (ms); non-finite or non-positive values are ignored. */
  add(durationMs: number): void {
    if (!Number.isFinite(durationMs) || durationMs <= 0) return;
    if (this.ring.length < this.capacity) {
      this.ring.push(durationMs);
    } else {
      this.ring[this.next] = durationMs;
    }
    this.next = (this.next + 1) % this.capacity;
    this.snapshot = Object.freeze(this.orderedOldestFirst());
  }

  /** The recorded durations, oldest first; the same array until the next `add`. */
  values(): readonly number[] {
    return this.snapshot;
  }

  get size(): number {
    return this.ring.length;
  }

  private orderedOldestFirst(): number[] {
    if (this.ring.length < this.capacity) return [...this.ring];
    return [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }
}
