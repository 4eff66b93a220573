// A per-process LRU of object byte ranges. Objects are immutable, so a cached range never goes stale:
// the cache only has to bound its size. Consumers at the tail of a busy partition read the same fresh
// batches; the first fetch pays the GET and the others are served from here.

interface Range {
  objectKey: string;
  start: number;
  end: number;
  bytes: Buffer;
  /** Positions of the batches in this range whose CRC was checked: decoding them again need not. */
  verified: Set<number>;
}

/** Bytes served from the cache, and whether the batch at their start was already checked. */
export interface CachedBytes {
  bytes: Buffer;
  /** Whether the batch at these bytes' start was checked, as of now. */
  readonly verified: boolean;
  /** Records that the batch at these bytes' start passed its CRC check. */
  markVerified(): void;
}

export class RangeCache {
  /** Insertion order is recency order: the first entry is the least recently used. */
  private readonly ranges = new Map<string, Range>();
  private readonly byObject = new Map<string, Set<string>>();
  private size = 0;
  hits = 0;
  misses = 0;

  constructor(private readonly maxBytes: number) {}

  /** Bytes [start, end) of the object if a cached range covers them. */
  get(objectKey: string, start: number, end: number): Buffer | undefined {
    return this.lookup(objectKey, start, end)?.bytes;
  }

  /** Like get(), with the batch at `start`'s verification state. */
  lookup(objectKey: string, start: number, end: number): CachedBytes | undefined {
    const ids = this.byObject.get(objectKey);
    if (ids) {
      for (const id of ids) {
        const r = this.ranges.get(id)!;
        if (r.start <= start && end <= r.end) {
          this.ranges.delete(id);
          this.ranges.set(id, r);
          this.hits++;
          // Read when used, not now: fetches served the same bytes at once see each other's checks.
          return {
            bytes: r.bytes.subarray(start - r.start, end - r.start),
            get verified() {
              return r.verified.has(start);
            },
            markVerified: () => r.verified.add(start),
          };
        }
      }
    }
    this.misses++;
    return undefined;
  }

  put(objectKey: string, start: number, bytes: Buffer): void {
    if (bytes.length > this.maxBytes) return;
    const id = `${objectKey}@${start}+${bytes.length}`;
    if (this.ranges.has(id)) return;
    // Bytes a cached range already holds (a fetch that shared another's GET) are not kept twice.
    const end = start + bytes.length;
    for (const other of this.byObject.get(objectKey) ?? []) {
      const r = this.ranges.get(other)!;
      if (r.start <= start && end <= r.end) return;
    }
    this.ranges.set(id, { objectKey, start, end: start + bytes.length, bytes, verified: new Set() });
    let ids = this.byObject.get(objectKey);
    if (!ids) this.byObject.set(objectKey, (ids = new Set()));
    ids.add(id);
    this.size += bytes.length;
    while (this.size > this.maxBytes) {
      const oldest = this.ranges.keys().next();
      if (oldest.done) break;
      this.evict(oldest.value);
    }
  }

  get bytes(): number {
    return this.size;
  }

  private evict(id: string): void {
    const r = this.ranges.get(id);
    if (!r) return;
    this.ranges.delete(id);
    this.size -= r.bytes.length;
    const ids = this.byObject.get(r.objectKey);
    ids?.delete(id);
    if (ids && ids.size === 0) this.byObject.delete(r.objectKey);
  }
}
