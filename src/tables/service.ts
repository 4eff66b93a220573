// Tables as the API manages and reads them (README, "Tables"): create (a definition and the internal
// trigger that keeps the table, from the topic's log start), list, describe with each partition's
// applied offset and lag, delete, and the reads: one key, a prefix listing over all partitions, and the
// two per-partition reads of the streams runtime (a lookup of many keys, a key range).
//
// A partition's applied offset is the committed offset of the table's trigger: the next offset to apply,
// as Kafka's committed offsets are. A read with `min_offset` answers only once the applied offset is at
// least that (a writer passes its record's offset + 1); the applied offset is read before the entries,
// so what a read answers reflects at least every record below the applied offset it reports.
import { ulid } from 'ulid';
import { FloeError, PartitionNotFoundError, TableNotYetAppliedError } from '../errors.ts';
import type { Fetcher } from '../fetch/fetch.ts';
import { partitionForKey } from '../log/partitioner.ts';
import { tableGroup, tableTriggerName, type TableDef, type TableEntry } from '../model/table.ts';
import { INTERNAL_TRIGGER_DEFAULTS, type Trigger } from '../model/trigger.ts';
import type { GroupsTable } from '../storage/groups-table.ts';
import { storedBound, type TablesTable } from '../storage/tables-table.ts';
import { laneProgress, type TriggerService } from '../triggers/service.ts';
import type { TopicService } from '../topics/topics.ts';
import { validateResourceName } from '../topics/names.ts';
import { mapBounded } from '../map-bounded.ts';

export interface TableServiceDeps {
  tables: TablesTable;
  triggers: TriggerService;
  groups: GroupsTable;
  topics: TopicService;
  fetcher: Fetcher;
  region: string;
}

/** How long one DELETE spends removing entries before it answers "still deleting" (a Lambda behind API Gateway has 30 s). */
const PURGE_MS = 10_000;
/** Records one batch of the table's trigger writes at most. */
const BATCH_RECORDS = 1000;
/** How long the writer may take over one batch before the attempt counts as failed (and is retried). */
const WRITE_TIMEOUT_MS = 30_000;

export interface EntryView {
  key: string;
  value: string | null;
  offset: number | null;
  timestamp: number | null;
  /** Present when the value was too large for a table item: its size in bytes (read it from the topic at `offset`). */
  value_too_large?: number;
}

const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

export function entryView(key: Uint8Array, e: TableEntry | undefined): EntryView {
  if (!e) return { key: b64(key), value: null, offset: null, timestamp: null };
  return { key: b64(e.key), value: e.value === null || e.deleted ? null : b64(e.value), offset: e.offset, timestamp: e.timestamp, ...(e.tooLarge !== null && !e.deleted ? { value_too_large: e.tooLarge } : {}) };
}

export function validateTableName(name: unknown): string {
  return validateResourceName('table', name);
}

function badCursor(): FloeError {
  return new FloeError('BAD_REQUEST', 'cursor is not one this listing answered with; start again without it');
}

/** A sort key from a cursor, checked to lie where the query may start from (DynamoDB refuses a start key outside its range). */
function cursorKey(raw: unknown, q: { prefix?: Uint8Array; from?: Uint8Array; to?: Uint8Array }): Uint8Array {
  if (typeof raw !== 'string' || !/^[A-Za-z0-9_-]{2,1400}$/.test(raw)) throw badCursor();
  const k = new Uint8Array(Buffer.from(raw, 'base64url'));
  if (k.length < 1 || k.length > 1024 || k[0] !== 0) throw badCursor();
  const kb = Buffer.from(k);
  if (q.prefix && !kb.subarray(0, storedBound(q.prefix).length).equals(Buffer.from(storedBound(q.prefix)))) throw badCursor();
  if (q.from && Buffer.compare(kb, storedBound(q.from)) < 0) throw badCursor();
  if (q.to && Buffer.compare(kb, storedBound(q.to)) >= 0) throw badCursor();
  return k;
}

function notFound(name: string): FloeError {
  return new FloeError('TABLE_NOT_FOUND', `Table '${name}' not found.`);
}

export class TableService {
  constructor(private readonly deps: TableServiceDeps) {}

  async create(body: unknown) {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new FloeError('BAD_REQUEST', 'request body must be a JSON object: {"name","topic"}');
    const b = body as Record<string, unknown>;
    for (const k of Object.keys(b)) if (k !== 'name' && k !== 'topic') throw new FloeError('BAD_REQUEST', `unknown field '${k}'; expected name, topic`);
    const name = validateTableName(b.name);
    if (typeof b.topic !== 'string') throw new FloeError('BAD_REQUEST', 'topic must be a topic name');
    const topic = await this.deps.topics.describe(b.topic);
    const now = Date.now();
    const id = ulid(now);
    const def: TableDef = { name, id, topic: topic.topic, topicId: topic.id, partitions: topic.partitions, trigger: tableTriggerName(name), group: tableGroup(id), createdAt: now, state: 'active' };
    if (!(await this.deps.tables.createDef(def))) {
      const there = await this.deps.tables.getDef(name);
      throw new FloeError('TABLE_ALREADY_EXISTS', there?.state === 'deleting' ? `Table '${name}' is being deleted; DELETE it again to finish, then create it.` : `Table '${name}' already exists.`);
    }
    try {
      await this.deps.triggers.createInternal(this.triggerOf(def));
    } catch (e) {
      await this.deps.tables.deleteDef(def).catch(() => undefined);
      throw e;
    }
    return this.view(def);
  }

  /**
   * The trigger that keeps the table: from the log start, no batching window (a read-your-writes reader
   * waits for it), and a writer that is retried without end: a table never skips a record, a storage
   * outage only delays it.
   */
  private triggerOf(def: TableDef): Trigger {
    return {
      name: def.trigger,
      topics: [def.topic],
      target: { type: 'table', table: def.name, id: def.id, timeoutMs: WRITE_TIMEOUT_MS },
      group: def.group,
      batchSize: BATCH_RECORDS,
      maxBatchingWindowMs: 0,
      ...INTERNAL_TRIGGER_DEFAULTS,
      filters: [],
      // Never written: with endless retries and no payload limit, the writer's records are never dead letters.
      deadLetterTopic: '',
      id: `arn:floe:table:${this.deps.region}:${def.name}/${def.id}`,
      createdAt: def.createdAt,
      updatedAt: def.createdAt,
      version: 1,
    };
  }

  private view(def: TableDef) {
    return { name: def.name, topic: def.topic, state: def.state, created_at: def.createdAt };
  }

  async list() {
    const defs = await this.deps.tables.listDefs();
    return defs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((d) => this.view(d));
  }

  /** The table, or TABLE_NOT_FOUND (also while it is being deleted). */
  private async active(name: string): Promise<TableDef> {
    validateTableName(name);
    const def = await this.deps.tables.getDef(name);
    if (!def || def.state !== 'active') throw notFound(name);
    return def;
  }

  /** The source's partition count: the topic's now (partitions may be added), or the one at creation once the topic is gone. */
  private async partitionsOf(def: TableDef): Promise<number> {
    const t = await this.deps.topics.resolve(def.topic).catch(() => undefined);
    return t && t.id === def.topicId ? t.partitions : def.partitions;
  }

  private async partition(def: TableDef, p: number): Promise<void> {
    if (!Number.isSafeInteger(p) || p < 0 || p >= (await this.partitionsOf(def))) throw new PartitionNotFoundError(def.topic, p);
  }

  /** The partition's applied offset: the trigger's committed offset, or the log start before its first commit. */
  private async applied(def: TableDef, p: number): Promise<number> {
    const got = await this.deps.groups.getOffsets(def.group, [[def.topic, p]], { requireStable: false });
    const c = [...got.values()][0];
    if (c && (c.topicId === null || c.topicId === def.topicId)) return c.offset;
    return (await this.deps.fetcher.offsets(def.topic, p).catch(() => ({ logStartOffset: 0 }))).logStartOffset;
  }

  private async appliedAtLeast(def: TableDef, p: number, minOffset: number | undefined): Promise<number> {
    const applied = await this.applied(def, p);
    if (minOffset !== undefined && applied < minOffset) throw new TableNotYetAppliedError(def.name, p, applied, minOffset);
    return applied;
  }

  /** Per partition: the applied offset, the high watermark and the records between (as trigger describe counts lag). */
  async describe(name: string) {
    const def = await this.active(name);
    const n = await this.partitionsOf(def);
    const ps = [...Array(n).keys()];
    const offsets = await this.deps.groups.getOffsets(def.group, ps.map((p) => [def.topic, p]), { requireStable: false });
    const partitions: Array<{ partition: number; applied_offset: number; high_watermark: number; lag: number }> = [];
    await mapBounded(ps, 16, async (p) => {
      const c = [...offsets.values()].find((x) => x.partition === p);
      // A deleted source topic has nothing more to apply.
      const o = await this.deps.fetcher.offsets(def.topic, p).catch(() => ({ logStartOffset: c?.offset ?? 0, highWatermark: c?.offset ?? 0 }));
      const { committed, lag } = laneProgress(c, { id: def.topicId }, o);
      partitions.push({ partition: p, applied_offset: committed, high_watermark: o.highWatermark, lag });
    });
    partitions.sort((a, b) => a.partition - b.partition);
    return { ...this.view(def), partitions, lag: partitions.reduce((s, p) => s + p.lag, 0) };
  }

  /**
   * Deletes the table: its definition is marked, its trigger removed (no more writes once a batch under
   * way ends), then its entries are deleted for up to PURGE_MS. Done: the definition goes, true. Not yet:
   * false, and the next DELETE goes on. Entries are keyed by the table's id, so a batch that lands after
   * the purge leaves items nothing reads.
   */
  async delete(name: string): Promise<boolean> {
    validateTableName(name);
    const def = await this.deps.tables.getDef(name);
    if (!def) throw notFound(name);
    if (def.state === 'active') await this.deps.tables.markDeleting(def);
    await this.deps.triggers.deleteInternal(def.trigger);
    const deadline = Date.now() + PURGE_MS;
    const n = await this.partitionsOf(def);
    for (let p = 0; p < n; p++) if (!(await this.deps.tables.purge(def.id, p, deadline))) return false;
    await this.deps.tables.deleteDef(def);
    return true;
  }

  /** Applies the topic again from its log start (keys never go back: every write is conditioned on its offset). */
  async replay(name: string) {
    const def = await this.active(name);
    const t = await this.deps.triggers.find(def.trigger);
    if (!t) throw new FloeError('ILLEGAL_STATE', `table '${name}' has no trigger; delete and create it again`);
    return this.deps.triggers.seekTrigger(t, { to: 'earliest' });
  }

  /** One key: in the partition murmur2 gives it (or `partition`), 404 when absent or deleted. */
  async get(name: string, key: Uint8Array, opts: { partition?: number; minOffset?: number } = {}) {
    const def = await this.active(name);
    const partition = opts.partition ?? partitionForKey(key, await this.partitionsOf(def));
    await this.partition(def, partition);
    await this.appliedAtLeast(def, partition, opts.minOffset);
    const e = await this.deps.tables.get(def.id, partition, key);
    if (!e || e.deleted) throw new FloeError('TABLE_KEY_NOT_FOUND', `Key not found in table '${name}' (partition ${partition}).`);
    return { ...entryView(key, e), partition };
  }

  /**
   * A page of live keys over every partition, partition by partition, each in key byte order. The cursor
   * (opaque to callers) is base64url JSON of the partition and the sort key to go on after.
   */
  async keys(name: string, opts: { prefix?: Uint8Array; limit: number; cursor?: string }) {
    const def = await this.active(name);
    const n = await this.partitionsOf(def);
    let p = 0;
    let after: Uint8Array | undefined;
    if (opts.cursor !== undefined) {
      let c: { p?: unknown; k?: unknown };
      try {
        c = JSON.parse(Buffer.from(opts.cursor, 'base64url').toString('utf8')) as typeof c;
      } catch {
        throw badCursor();
      }
      if (typeof c !== 'object' || c === null || !Number.isSafeInteger(c.p) || (c.p as number) < 0 || (c.p as number) >= n) throw badCursor();
      p = c.p as number;
      if (c.k !== undefined) after = cursorKey(c.k, opts.prefix ? { prefix: opts.prefix } : {});
    }
    const entries: Array<EntryView & { partition: number }> = [];
    while (p < n && entries.length < opts.limit) {
      const page = await this.deps.tables.page(def.id, p, { ...(opts.prefix ? { prefix: opts.prefix } : {}), ...(after ? { after } : {}), limit: opts.limit - entries.length });
      for (const e of page.entries) entries.push({ ...entryView(e.key, e), partition: p });
      if (page.next) {
        after = page.next;
        // A page of delete markers only: answer what there is, and go on from here next time.
        if (page.entries.length === 0) break;
      } else {
        p++;
        after = undefined;
      }
    }
    const cursor = p < n ? Buffer.from(JSON.stringify({ p, ...(after ? { k: Buffer.from(after).toString('base64url') } : {}) })).toString('base64url') : null;
    return { entries, cursor };
  }

  /** Many keys of one partition, in the order asked: absent keys with nulls, delete markers with their offset. */
  async lookup(name: string, partition: number, keys: Uint8Array[], minOffset?: number) {
    const def = await this.active(name);
    await this.partition(def, partition);
    const applied = await this.appliedAtLeast(def, partition, minOffset);
    const found = keys.length === 0 ? [] : await this.deps.tables.getMany(def.id, partition, keys);
    return { applied_offset: applied, entries: keys.map((k, i) => entryView(k, found[i])) };
  }

  /** Live keys of one partition with `from <= key < to` (either bound optional), in key byte order; the cursor is the base64url sort key to go on after. */
  async range(name: string, partition: number, q: { from?: Uint8Array; to?: Uint8Array; limit: number; cursor?: string }) {
    const def = await this.active(name);
    await this.partition(def, partition);
    const bounds = { ...(q.from ? { from: q.from } : {}), ...(q.to ? { to: q.to } : {}) };
    const after = q.cursor === undefined ? undefined : cursorKey(q.cursor, bounds);
    const applied = await this.applied(def, partition);
    if (q.from && q.to && Buffer.compare(q.from, q.to) >= 0) return { applied_offset: applied, entries: [], cursor: null };
    const page = await this.deps.tables.page(def.id, partition, { ...bounds, ...(after ? { after } : {}), limit: q.limit });
    return { applied_offset: applied, entries: page.entries.map((e) => entryView(e.key, e)), cursor: page.next ? Buffer.from(page.next).toString('base64url') : null };
  }
}
