// A state store's partition on Floe. The store's truth is its changelog topic (written in the task's
// transaction); its DynamoDB table (a Floe table over the changelog) is the copy reads come from. A
// task owns its partition of the store (its transactional id fences any older owner), so what it has
// read or written stays valid for as long as it runs: reads are cached, and a task starts by folding the
// changelog's tail the table has not applied yet into that cache, so it never waits for the table.
import type { Floe } from '../../../client/src/index.ts';
import type { StateStore } from '../task.ts';
import { b64, compareBytes, fromHex, hexOf, inRange, unb64 } from './bytes.ts';

/** One key as the task knows it: `value` null is absent or deleted; `dirty` the table may not have it yet. */
interface Entry {
  value: Uint8Array | null;
  dirty: boolean;
}

interface WireEntry {
  key: string;
  value: string | null;
  offset: number | null;
  timestamp: number | null;
}

const LOOKUP_KEYS = 100;
const RANGE_PAGE = 1000;

/** The storage calls a store makes, counted for the benchmark. */
export interface StoreCalls {
  lookups: number;
  ranges: number;
}

export class RemoteStateStore implements StateStore {
  private readonly cache = new Map<string, Entry>();
  /** This batch's writes: committed with it, or dropped with it. */
  private readonly pending = new Map<string, Uint8Array | null>();
  /** Intervals (hex bounds, null open) whose every table entry is in the cache. */
  private loaded: Array<[string | null, string | null]> = [];

  constructor(
    private readonly floe: Floe,
    readonly name: string,
    /** The Floe table kept from the changelog. */
    readonly table: string,
    readonly partition: number,
    private readonly calls: StoreCalls,
  ) {}

  get size(): number {
    return this.cache.size;
  }

  /** Folds a changelog record the table may not have applied (the task's start). */
  restore(key: Uint8Array, value: Uint8Array | null): void {
    this.cache.set(hexOf(key), { value, dirty: true });
  }

  async get(key: Uint8Array): Promise<Uint8Array | null> {
    return (await this.getMany([key]))[0]!;
  }

  async getMany(keys: Uint8Array[]): Promise<Array<Uint8Array | null>> {
    const hexes = keys.map(hexOf);
    const missing = [...new Set(hexes.filter((h) => !this.pending.has(h) && !this.cache.has(h)))];
    for (let i = 0; i < missing.length; i += LOOKUP_KEYS) {
      const chunk = missing.slice(i, i + LOOKUP_KEYS);
      this.calls.lookups++;
      const r = await this.floe.request<{ entries: WireEntry[] }>('POST', `/floe/v1/tables/${encodeURIComponent(this.table)}/partitions/${this.partition}/lookup`, {
        body: { keys: chunk.map((h) => b64(fromHex(h))) },
        retry: true,
      });
      chunk.forEach((h, j) => {
        // Another read of this batch may have filled it meanwhile; the cache's entry is never older.
        if (!this.cache.has(h)) this.cache.set(h, { value: unb64(r.entries[j]?.value), dirty: false });
      });
    }
    return hexes.map((h) => (this.pending.has(h) ? this.pending.get(h)! : (this.cache.get(h)?.value ?? null)));
  }

  put(key: Uint8Array, value: Uint8Array | null): void {
    this.pending.set(hexOf(key), value);
  }

  async range(from: Uint8Array | null, to: Uint8Array | null): Promise<Array<[Uint8Array, Uint8Array]>> {
    const f = from === null ? null : hexOf(from);
    const t = to === null ? null : hexOf(to);
    if (!this.covered(f, t)) {
      let cursor: string | null = null;
      do {
        this.calls.ranges++;
        const r: { entries: WireEntry[]; cursor: string | null } = await this.floe.request('GET', `/floe/v1/tables/${encodeURIComponent(this.table)}/partitions/${this.partition}/range`, {
          query: { from: from === null ? undefined : b64(from)!, to: to === null ? undefined : b64(to)!, limit: RANGE_PAGE, cursor: cursor ?? undefined },
          retry: true,
        });
        for (const e of r.entries) {
          const h = hexOf(unb64(e.key)!);
          if (!this.cache.has(h)) this.cache.set(h, { value: unb64(e.value), dirty: false });
        }
        cursor = r.cursor;
      } while (cursor);
      this.loaded.push([f, t]);
    }
    const out = new Map<string, Uint8Array | null>();
    for (const [h, e] of this.cache) if (inRange(fromHex(h), from, to)) out.set(h, e.value);
    for (const [h, v] of this.pending) if (inRange(fromHex(h), from, to)) out.set(h, v);
    const rows: Array<[Uint8Array, Uint8Array]> = [];
    for (const [h, v] of out) if (v !== null) rows.push([fromHex(h), v]);
    return rows.sort((a, b) => compareBytes(a[0], b[0]));
  }

  private covered(f: string | null, t: string | null): boolean {
    return this.loaded.some(([lf, lt]) => (lf === null || (f !== null && f >= lf)) && (lt === null || (t !== null && t <= lt)));
  }

  /** This batch's writes, for the changelog. */
  writes(): Array<[Uint8Array, Uint8Array | null]> {
    return [...this.pending].map(([h, v]) => [fromHex(h), v]);
  }

  /** The batch committed: its writes are the store's state now (the table gets them from the changelog). */
  committed(): void {
    for (const [h, v] of this.pending) this.cache.set(h, { value: v, dirty: true });
    this.pending.clear();
  }

  /** The batch failed: its writes never happened. */
  rollback(): void {
    this.pending.clear();
  }

  /** Frees what the table also has (every entry, once the table has applied the whole changelog). */
  settled(): void {
    this.cache.clear();
    this.loaded = [];
  }

  /** Frees the entries read from the table, keeping the task's own writes the table may not have yet. */
  trim(): void {
    for (const [h, e] of this.cache) if (!e.dirty) this.cache.delete(h);
    this.loaded = [];
  }
}
