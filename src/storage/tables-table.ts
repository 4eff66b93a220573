// The tables table: per table its definition item, and per source partition one item per key with the
// latest record's offset, timestamp and value (or a delete marker with a TTL). This module is the only
// place that builds its keys and requests.
//
// Keys: an entry's partition key is `<table id>#<source partition>`; its sort key is the record key's
// bytes (binary, so DynamoDB orders them byte-wise and prefix and range queries work) after one 0x00
// byte, which gives the empty key a sort key too (DynamoDB refuses empty key values) and keeps the order.
// DynamoDB's sort key holds at most 1,024 bytes: a longer key is stored under its first 991 bytes and
// the SHA-256 of the whole key (1 + 991 + 32 = 1,024), with the whole key in `fk`. Such a key is still
// found by get and lookup, and listed under any prefix of up to 991 bytes, but among keys that share
// those first 991 bytes it sorts by the hash. Definitions live under the partition key `#tables`, which
// no entry has (ids hold no '#').
import { createHash } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type PutCommandInput } from '@aws-sdk/lib-dynamodb';
import type { TableDef, TableEntry } from '../model/table.ts';
import { conditionally } from './aws-errors.ts';
import { consistentBatchGet } from './batch-get.ts';
import type { AwsClients } from './clients.ts';
import { queryAll } from './pages.ts';
import { mapBounded } from '../map-bounded.ts';

const DEFS = '#tables';
const SORT_KEY_MAX = 1024;
/** Bytes of a long key kept in its sort key, before the hash. */
const KEPT = SORT_KEY_MAX - 1 - 32;
/** DynamoDB's item limit (400 KB, names and values), less room for the attribute names and numbers. */
const ITEM_MAX = 400 * 1024 - 512;

/** The sort key of a record key (see the file's comment). */
export function storedKey(key: Uint8Array): Uint8Array {
  if (key.length + 1 <= SORT_KEY_MAX) return concat([new Uint8Array([0]), key]);
  return concat([new Uint8Array([0]), key.subarray(0, KEPT), createHash('sha256').update(key).digest()]);
}

/** Bytes a prefix or range bound may hold (the API refuses longer ones): its sort key form must fit. */
export const BOUND_MAX = SORT_KEY_MAX - 1;

/** The sort key form of a prefix or range bound. Keys over 1,023 bytes match a bound by their first 991 bytes only. */
export function storedBound(bound: Uint8Array): Uint8Array {
  return concat([new Uint8Array([0]), bound.subarray(0, BOUND_MAX)]);
}

export function entryPartitionKey(tableId: string, partition: number): string {
  return `${tableId}#${partition}`;
}

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function bytes(v: unknown): Uint8Array | undefined {
  return v instanceof Uint8Array ? v : undefined;
}

function entryOf(item: Record<string, unknown>): TableEntry {
  const k = bytes(item.k)!;
  return {
    key: bytes(item.fk) ?? k.subarray(1),
    value: bytes(item.v) ?? null,
    offset: Number(item.o),
    timestamp: Number(item.ts),
    deleted: item.d === true,
    tooLarge: typeof item.big === 'number' ? item.big : null,
  };
}

/** A record to apply: its key, its value (null for a tombstone), where it sits and when it was written. */
export interface TableRecord {
  key: Uint8Array;
  value: Uint8Array | null;
  offset: number;
  timestamp: number;
}

export interface EntryPage {
  entries: TableEntry[];
  /** The sort key to go on after, or undefined when the partition has nothing more in the range. */
  next: Uint8Array | undefined;
}

export interface EntryQuery {
  prefix?: Uint8Array;
  from?: Uint8Array;
  to?: Uint8Array;
  /** Exclusive start: a sort key as `next` gave it. */
  after?: Uint8Array;
  limit: number;
  /** Delete markers are left out unless asked for. */
  markers?: boolean;
}

export class TablesTable {
  constructor(
    private readonly clients: AwsClients,
    readonly table: string,
  ) {}

  private defKey(name: string) {
    return { p: DEFS, k: new Uint8Array(Buffer.from(name, 'utf8')) };
  }

  /** Creates the definition; false when a table of that name exists (or is still being deleted). */
  async createDef(def: TableDef): Promise<boolean> {
    return conditionally(this.clients.ddb.send(new PutCommand({ TableName: this.table, Item: { ...this.defKey(def.name), def }, ConditionExpression: 'attribute_not_exists(p)' })));
  }

  async getDef(name: string): Promise<TableDef | undefined> {
    const r = await this.clients.ddb.send(new GetCommand({ TableName: this.table, Key: this.defKey(name), ConsistentRead: true }));
    return r.Item ? (r.Item.def as TableDef) : undefined;
  }

  async listDefs(): Promise<TableDef[]> {
    const items = await queryAll(this.clients, { TableName: this.table, KeyConditionExpression: 'p = :p', ExpressionAttributeValues: { ':p': DEFS }, ConsistentRead: true });
    return items.map((i) => i.def as TableDef);
  }

  /** Marks the table as being deleted, on condition it is this very table (not one re-created meanwhile). */
  async markDeleting(def: TableDef): Promise<boolean> {
    return conditionally(
      this.clients.ddb.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.defKey(def.name),
          UpdateExpression: 'SET #def.#state = :deleting',
          ConditionExpression: '#def.#id = :id',
          ExpressionAttributeNames: { '#def': 'def', '#state': 'state', '#id': 'id' },
          ExpressionAttributeValues: { ':deleting': 'deleting', ':id': def.id },
        }),
      ),
    );
  }

  async deleteDef(def: TableDef): Promise<boolean> {
    return conditionally(
      this.clients.ddb.send(new DeleteCommand({ TableName: this.table, Key: this.defKey(def.name), ConditionExpression: '#def.#id = :id', ExpressionAttributeNames: { '#def': 'def', '#id': 'id' }, ExpressionAttributeValues: { ':id': def.id } })),
    );
  }

  /**
   * The write of one record's key, on condition the item holds an older offset (or none): a replay, or
   * a late write of an earlier attempt, never takes a key back in time, and a delete marker keeps an
   * older value from coming back until its TTL (`ttl`, epoch seconds). A value too large for an item is
   * left out and its size kept (`big`), so the entry still says the key has a newer record.
   */
  writeParams(tableId: string, partition: number, r: TableRecord, ttl: number): PutCommandInput {
    const k = storedKey(r.key);
    const item: Record<string, unknown> = { p: entryPartitionKey(tableId, partition), k, o: r.offset, ts: r.timestamp };
    const hashed = k.length === SORT_KEY_MAX && r.key.length + 1 > SORT_KEY_MAX;
    let size = 64 + String(item.p).length + k.length;
    if (hashed && size + r.key.length <= ITEM_MAX) {
      item.fk = r.key;
      size += r.key.length;
    }
    if (r.value === null) {
      item.d = true;
      item.ttl = ttl;
    } else if (size + r.value.length <= ITEM_MAX) item.v = r.value;
    else item.big = r.value.length;
    return {
      TableName: this.table,
      Item: item,
      ConditionExpression: 'attribute_not_exists(#o) OR #o < :o',
      ExpressionAttributeNames: { '#o': 'o' },
      ExpressionAttributeValues: { ':o': r.offset },
    };
  }

  /** Applies one record: false when the key already holds this offset or a newer one (already applied, not an error). */
  async write(tableId: string, partition: number, r: TableRecord, ttl: number): Promise<boolean> {
    return conditionally(this.clients.ddb.send(new PutCommand(this.writeParams(tableId, partition, r, ttl))));
  }

  async get(tableId: string, partition: number, key: Uint8Array): Promise<TableEntry | undefined> {
    const r = await this.clients.ddb.send(new GetCommand({ TableName: this.table, Key: { p: entryPartitionKey(tableId, partition), k: storedKey(key) }, ConsistentRead: true }));
    return r.Item ? entryOf(r.Item) : undefined;
  }

  /** The entries of many keys of one partition, in the order asked (duplicates answered alike), through BatchGetItem. */
  async getMany(tableId: string, partition: number, keys: Uint8Array[]): Promise<Array<TableEntry | undefined>> {
    const p = entryPartitionKey(tableId, partition);
    const stored = keys.map(storedKey);
    const hex = stored.map((k) => Buffer.from(k).toString('hex'));
    // BatchGetItem refuses a request that names one key twice.
    const unique = [...new Map(hex.map((h, i) => [h, stored[i]!])).entries()];
    const items = await consistentBatchGet(this.clients, unique.map(([, k]) => ({ table: this.table, key: { p, k } })));
    const found = new Map(unique.map(([h], i) => [h, items[i] ? entryOf(items[i]!) : undefined]));
    return hex.map((h) => found.get(h));
  }

  /**
   * Up to `limit` entries of one partition in sort key order, within a prefix or a range
   * `from <= key < to`. Fewer may come back with a `next` (delete markers take room in DynamoDB's pages).
   */
  async page(tableId: string, partition: number, q: EntryQuery): Promise<EntryPage> {
    const names: Record<string, string> = { '#p': 'p' };
    const values: Record<string, unknown> = { ':p': entryPartitionKey(tableId, partition) };
    let condition = '#p = :p';
    const to = q.to ? storedBound(q.to) : undefined;
    if (q.prefix || q.from || to) names['#k'] = 'k';
    if (q.prefix) {
      condition += ' AND begins_with(#k, :prefix)';
      values[':prefix'] = storedBound(q.prefix);
    } else if (q.from && to) {
      // BETWEEN includes its upper end: an entry equal to `to` is dropped below.
      condition += ' AND #k BETWEEN :from AND :to';
      values[':from'] = storedBound(q.from);
      values[':to'] = to;
    } else if (q.from) {
      condition += ' AND #k >= :from';
      values[':from'] = storedBound(q.from);
    } else if (to) {
      condition += ' AND #k < :to';
      values[':to'] = to;
    }
    const entries: TableEntry[] = [];
    let start: Record<string, unknown> | undefined = q.after ? { p: values[':p'], k: q.after } : undefined;
    // A bounded number of DynamoDB pages per call: a run of delete markers answers a short page, not a slow one.
    for (let pages = 0; pages < 10; pages++) {
      const r = await this.clients.ddb.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: condition,
          ...(q.markers ? {} : { FilterExpression: 'attribute_not_exists(#d)' }),
          ExpressionAttributeNames: q.markers ? names : { ...names, '#d': 'd' },
          ExpressionAttributeValues: values,
          ExclusiveStartKey: start,
          Limit: Math.min(1000, q.limit - entries.length + 20),
          ConsistentRead: true,
        }),
      );
      for (const item of r.Items ?? []) {
        if (to && Buffer.compare(bytes(item.k)!, to) === 0) continue;
        entries.push(entryOf(item));
        if (entries.length === q.limit) {
          const more = r.LastEvaluatedKey !== undefined || item !== r.Items!.at(-1);
          return { entries, next: more ? bytes(item.k) : undefined };
        }
      }
      if (!r.LastEvaluatedKey) return { entries, next: undefined };
      start = r.LastEvaluatedKey;
    }
    return { entries, next: bytes(start!.k) };
  }

  /** Deletes the entries of one partition until `deadline` (epoch ms): true when none is left. */
  async purge(tableId: string, partition: number, deadline: number): Promise<boolean> {
    const p = entryPartitionKey(tableId, partition);
    while (Date.now() < deadline) {
      const r = await this.clients.ddb.send(new QueryCommand({ TableName: this.table, KeyConditionExpression: 'p = :p', ExpressionAttributeValues: { ':p': p }, ProjectionExpression: 'k', Limit: 200, ConsistentRead: true }));
      const keys = (r.Items ?? []).map((i) => bytes(i.k)!);
      if (keys.length === 0) return true;
      await mapBounded(keys, 16, async (k) => {
        await this.clients.ddb.send(new DeleteCommand({ TableName: this.table, Key: { p, k } }));
      });
    }
    return false;
  }
}
