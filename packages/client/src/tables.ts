// Tables from code: the latest value per key of a topic, kept in DynamoDB and read by key, by prefix, or
// per partition as the streams runtime reads its stores (README, "Tables").
import type { Floe } from './floe.ts';
import { FloeError } from './errors.ts';

/** A table as the API lists it. */
export interface TableView {
  name: string;
  topic: string;
  state: 'active' | 'deleting';
  created_at: number;
}

export interface TablePartition {
  partition: number;
  /** The next offset the table applies: every record below it is in the table. */
  applied_offset: number;
  high_watermark: number;
  lag: number;
}

export interface TableDescription extends TableView {
  partitions: TablePartition[];
  lag: number;
}

/** One key as a read answers it; key and value are base64 on the wire and bytes here. */
export interface TableEntry {
  key: Uint8Array;
  /** Null for an absent key or a delete marker (and for a value too large for a table, see `valueTooLarge`). */
  value: Uint8Array | null;
  /** The offset of the key's latest record; null when the key was never seen. */
  offset: number | null;
  timestamp: number | null;
  /** The value's size when it was too large to keep in the table (read it from the topic at `offset`). */
  valueTooLarge?: number;
}

export interface TableRecord extends TableEntry {
  partition: number;
}

interface EntryWire {
  key: string;
  value: string | null;
  offset: number | null;
  timestamp: number | null;
  value_too_large?: number;
  partition?: number;
}

type Key = string | Uint8Array;

const bytes = (k: Key) => (typeof k === 'string' ? new TextEncoder().encode(k) : k);
const b64 = (k: Key) => Buffer.from(bytes(k)).toString('base64');
const fromB64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

function entryOf(e: EntryWire): TableEntry {
  return { key: fromB64(e.key), value: e.value === null ? null : fromB64(e.value), offset: e.offset, timestamp: e.timestamp, ...(e.value_too_large !== undefined ? { valueTooLarge: e.value_too_large } : {}) };
}

const path = (name?: string, rest = '') => `/floe/v1/tables${name === undefined ? '' : `/${encodeURIComponent(name)}`}${rest}`;

/**
 * Managing tables: create one from a topic, list, describe, delete.
 *
 * @example
 * await floe.tables().create({ name: 'customers', topic: 'customers' });
 * const { partitions } = await floe.tables().describe('customers');
 */
export class Tables {
  constructor(private readonly floe: Floe) {}

  /**
   * Creates a table kept from the topic, from its log start.
   *
   * @example
   * await floe.tables().create({ name: 'customers', topic: 'customers' });
   */
  create(config: { name: string; topic: string }): Promise<TableView> {
    return this.floe.request('POST', path(), { body: config });
  }

  /**
   * Every table.
   *
   * @example
   * const names = (await floe.tables().list()).map((t) => t.name);
   */
  async list(): Promise<TableView[]> {
    return (await this.floe.request<{ tables: TableView[] }>('GET', path(), { retry: true })).tables;
  }

  /**
   * Per partition the applied offset, the high watermark and the lag between.
   *
   * @example
   * const { lag } = await floe.tables().describe('customers');
   */
  describe(name: string): Promise<TableDescription> {
    return this.floe.request('GET', path(name), { retry: true });
  }

  /**
   * Deletes the table and its entries; a large table takes several requests, which this makes until done.
   *
   * @example
   * await floe.tables().delete('customers');
   */
  async delete(name: string): Promise<void> {
    for (;;) {
      const r = await this.floe.request<{ state?: string } | undefined>('DELETE', path(name));
      if (r === undefined) return;
    }
  }
}

/**
 * Reading one table. Keys are strings (UTF-8) or bytes; values come back as bytes.
 *
 * @example
 * const customers = floe.table('customers');
 * const alice = await customers.get('alice');
 * if (alice) console.log(new TextDecoder().decode(alice.value!));
 */
export class Table {
  constructor(
    private readonly floe: Floe,
    readonly name: string,
  ) {}

  /**
   * The key's latest value, or null when the table has no such key (or it was deleted). With `minOffset`
   * (the offset of your write + 1) the read waits, with the client's retries, until the table applied it.
   *
   * @example
   * const r = await floe.table('customers').get('alice', { minOffset: written.offset + 1, partition: written.partition });
   */
  async get(key: Key, options: { minOffset?: number; partition?: number } = {}): Promise<TableRecord | null> {
    try {
      const e = await this.floe.request<EntryWire & { partition: number }>('GET', path(this.name, `/keys/${encodeURIComponent(b64(key))}`), {
        query: { key_format: 'base64', min_offset: options.minOffset, partition: options.partition },
        retry: true,
      });
      return { ...entryOf(e), partition: e.partition };
    } catch (e) {
      if (e instanceof FloeError && e.code === 40407) return null;
      throw e;
    }
  }

  /**
   * One page of live keys (all partitions, partition by partition, each in key byte order); go on with
   * the answer's cursor until it is null.
   *
   * @example
   * let cursor: string | null | undefined;
   * do {
   *   const page = await floe.table('customers').list({ prefix: 'eu/', limit: 500, cursor: cursor ?? undefined });
   *   for (const e of page.entries) console.log(new TextDecoder().decode(e.key));
   *   cursor = page.cursor;
   * } while (cursor);
   */
  async list(options: { prefix?: Key; limit?: number; cursor?: string } = {}): Promise<{ entries: TableRecord[]; cursor: string | null }> {
    const r = await this.floe.request<{ entries: Array<EntryWire & { partition: number }>; cursor: string | null }>('GET', path(this.name, '/keys'), {
      query: { key_format: 'base64', prefix: options.prefix === undefined ? undefined : b64(options.prefix), limit: options.limit, cursor: options.cursor },
      retry: true,
    });
    return { entries: r.entries.map((e) => ({ ...entryOf(e), partition: e.partition })), cursor: r.cursor };
  }

  /**
   * Many keys of one partition in one call (at most 100), in the order given: absent keys with a null
   * value and offset, deleted ones with a null value and their offset. With `minOffset`, only once the
   * partition's applied offset reaches it.
   *
   * @example
   * const { appliedOffset, entries } = await floe.table('counts').lookup(0, [new TextEncoder().encode('a')]);
   */
  async lookup(partition: number, keys: Uint8Array[], minOffset?: number): Promise<{ appliedOffset: number; entries: TableEntry[] }> {
    const r = await this.floe.request<{ applied_offset: number; entries: EntryWire[] }>('POST', path(this.name, `/partitions/${partition}/lookup`), {
      body: { keys: keys.map(b64), ...(minOffset !== undefined ? { min_offset: minOffset } : {}) },
      retry: true,
    });
    return { appliedOffset: r.applied_offset, entries: r.entries.map(entryOf) };
  }

  /**
   * Live keys of one partition with `from <= key < to` in byte order (null for an open end), a page at a time.
   *
   * @example
   * const page = await floe.table('counts').range(0, new TextEncoder().encode('a'), new TextEncoder().encode('b'), { limit: 100 });
   */
  async range(partition: number, from: Uint8Array | null, to: Uint8Array | null, options: { limit?: number; cursor?: string } = {}): Promise<{ appliedOffset: number; entries: TableEntry[]; cursor: string | null }> {
    const r = await this.floe.request<{ applied_offset: number; entries: EntryWire[]; cursor: string | null }>('GET', path(this.name, `/partitions/${partition}/range`), {
      query: { from: from === null ? undefined : b64(from), to: to === null ? undefined : b64(to), limit: options.limit, cursor: options.cursor },
      retry: true,
    });
    return { appliedOffset: r.applied_offset, entries: r.entries.map(entryOf), cursor: r.cursor };
  }
}
