// The log table holds, per partition, one item collection: the head (sort key -1: high watermark, log
// start offset, size) and the batch index (sort key = base offset: where each batch's bytes live).
// Building a request is pure and separate from sending it, so the commit can put several of them into
// one transaction.
import { GetCommand, QueryCommand, UpdateCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { conditionally, isConditionFailure, itemOfConditionFailure } from './aws-errors.ts';
import { queryAll, scanAll } from './pages.ts';
import { consistentBatchGet, type TableKey } from './batch-get.ts';
import type { TransactWriteItem } from '@aws-sdk/client-dynamodb';
import type { AwsClients } from './clients.ts';
import { CLEANER_SORT_KEY, HEAD_SORT_KEY, partitionKey } from './keys.ts';
import { LOG_TIME_INDEX } from './schema.ts';
import { EMPTY_HEAD, type Allocation, type IndexEntry, type PartitionHead } from '../model/partition.ts';


/** The stored item's attribute names, kept short: every fetch reads them. */
interface EntryItem {
  p: string;
  o: number;
  l: number;
  n: number;
  k: string;
  b: number;
  z: number;
  ft: number;
  mt: number;
  /** The time index's sort key; an entry left out of the index holds the same value as `tu`. */
  t?: string;
  tu?: string;
  at: number;
  ctl?: boolean;
  txn?: boolean;
  pid?: number;
  pe?: number;
  seq?: number;
  pin?: boolean;
}

interface HeadItem {
  p: string;
  o: number;
  /** The end of the offsets handed out. */
  next: number;
  /** The high watermark; absent on heads written before allocation (there, every offset below next is committed). */
  hw?: number;
  /** The allocations in flight from hw on, each `count.at.tag` (count and time in base 36). */
  allocs?: string[];
  gone?: boolean;
  start: number;
  bytes: number;
  maxTs: number;
  lastAppend: number;
}

export function entryToItem(pk: string, e: IndexEntry): EntryItem {
  const item: EntryItem = {
    p: pk,
    o: e.baseOffset,
    l: e.lastOffset,
    n: e.recordCount,
    k: e.objectKey,
    b: e.position,
    z: e.length,
    ft: e.firstTimestamp,
    mt: e.maxTimestamp,
    ...(e.untimed ? { tu: timeIndexKey(e.timeIndex, e.baseOffset) } : { t: timeIndexKey(e.timeIndex, e.baseOffset) }),
    at: e.appendTime,
  };
  if (e.isControl) item.ctl = true;
  if (e.isTransactional) item.txn = true;
  if (e.pinned) item.pin = true;
  if (e.producerId >= 0) {
    item.pid = e.producerId;
    item.pe = e.producerEpoch;
    item.seq = e.baseSequence;
  }
  return item;
}

export function itemToEntry(item: Record<string, unknown>): IndexEntry {
  const i = item as unknown as EntryItem;
  return {
    baseOffset: i.o,
    lastOffset: i.l,
    recordCount: i.n,
    objectKey: i.k,
    position: i.b,
    length: i.z,
    firstTimestamp: i.ft,
    maxTimestamp: i.mt,
    timeIndex: Number((i.t ?? i.tu ?? '').slice(0, TS_DIGITS)),
    appendTime: i.at,
    isControl: i.ctl === true,
    isTransactional: i.txn === true,
    producerId: i.pid ?? -1,
    producerEpoch: i.pe ?? -1,
    baseSequence: i.seq ?? -1,
    ...(i.pin === true ? { pinned: true } : {}),
    ...(i.t === undefined ? { untimed: true } : {}),
  };
}

export function headFromItem(item: Record<string, unknown> | undefined): PartitionHead {
  if (!item) return { ...EMPTY_HEAD, allocations: [] };
  const h = item as unknown as HeadItem;
  return {
    highWatermark: h.hw ?? h.next,
    allocatedEnd: h.next,
    allocations: (h.allocs ?? []).map(parseAllocation),
    gone: h.gone === true,
    logStartOffset: h.start ?? 0,
    bytes: h.bytes ?? 0,
    maxTimestamp: h.maxTs ?? -1,
    lastAppendTime: h.lastAppend ?? 0,
    exists: true,
  };
}

function formatAllocation(a: Allocation): string {
  return `${a.count.toString(36)}.${a.at.toString(36)}.${a.tag}`;
}

function parseAllocation(s: string): Allocation {
  const [count, at, tag] = s.split('.');
  return { count: parseInt(count!, 36), at: parseInt(at!, 36), tag: tag ?? '' };
}

/** What a writer asks of the head: `count` offsets, for batches whose largest timestamp is `maxTimestamp`. */
export interface AllocationRequest {
  count: number;
  maxTimestamp: number;
  at: number;
  tag: string;
}

/**
 * How the one update of an allocation keeps the head's running maximum timestamp: DynamoDB has no max(),
 * so the update either raises it (on condition it is lower) or keeps it (on condition it is not), or
 * creates the head. A wrong guess fails its condition and the head it returns says which is right.
 */
type AllocationVariant = 'raise' | 'keep' | 'create';

const TS_DIGITS = 15;

/** A writer puts at least every this many-th entry of a partition into the time index (and each new second's first). */
export const TIME_INDEX_EVERY = 32;
const OFFSET_DIGITS = 16;

/** Sort key of the time index: (timestamp, base offset), zero-padded so string order is numeric order. */
export function timeIndexKey(timestamp: number, baseOffset: number): string {
  return `${String(Math.max(0, timestamp)).padStart(TS_DIGITS, '0')}:${String(baseOffset).padStart(OFFSET_DIGITS, '0')}`;
}

export class LogTable {
  constructor(
    private readonly clients: AwsClients,
    readonly table: string,
  ) {}

  /**
   * Hands out the next `count` offsets of the partition in one update that cannot lose a race: the head's
   * `next` goes up by `count` and the range joins the allocations in flight. Answers the head as the
   * update left it (or, when an earlier attempt of this very allocation was applied and its answer lost,
   * as found); the caller finds its ranges there by their tag. 'gone' when the topic was deleted.
   * `beforeCreate` runs before the head is created, the first allocation of the partition.
   */
  async allocate(pk: string, req: AllocationRequest, beforeCreate: () => Promise<void>, guess: 'raise' | 'keep' = 'raise'): Promise<PartitionHead | 'gone'> {
    let variant: AllocationVariant = guess;
    // Each failed guess learns the head as it is; from absent to present and from a lower to a higher
    // maximum are the only ways it changes, so four tries always suffice.
    for (let i = 0; ; i++) {
      if (variant === 'create') await beforeCreate();
      try {
        const r = await this.clients.ddb.send(new UpdateCommand({ ...this.allocationParams(pk, req, variant), ReturnValues: 'ALL_NEW', ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }));
        return headFromItem(r.Attributes);
      } catch (e) {
        if (!isConditionFailure(e) || i >= 4) throw e;
        const raw = itemOfConditionFailure(e);
        if (!raw) {
          variant = 'create';
          continue;
        }
        const found = headFromItem(unmarshall(raw as Record<string, AttributeValue>));
        if (found.allocations.some((a) => a.tag === req.tag)) return found;
        if (found.gone) return 'gone';
        variant = found.maxTimestamp >= req.maxTimestamp ? 'keep' : 'raise';
      }
    }
  }

  private allocationParams(pk: string, req: AllocationRequest, variant: AllocationVariant) {
    const mine = [formatAllocation({ count: req.count, at: req.at, tag: req.tag })];
    const names = { '#next': 'next', '#hw': 'hw', '#start': 'start', '#bytes': 'bytes' };
    if (variant === 'create') {
      return {
        TableName: this.table,
        Key: { p: pk, o: HEAD_SORT_KEY },
        UpdateExpression: 'SET #next = :n, #hw = :zero, allocs = :mine, maxTs = :ts, lastAppend = :at, #start = :zero, #bytes = :zero',
        ConditionExpression: 'attribute_not_exists(#next)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ':n': req.count, ':zero': 0, ':mine': mine, ':ts': req.maxTimestamp, ':at': req.at },
      };
    }
    // A head from before allocations has no hw: every offset below its next is committed.
    const set = 'SET #next = #next + :n, #hw = if_not_exists(#hw, #next), allocs = list_append(if_not_exists(allocs, :empty), :mine), lastAppend = :at';
    return {
      TableName: this.table,
      Key: { p: pk, o: HEAD_SORT_KEY },
      UpdateExpression: variant === 'raise' ? `${set}, maxTs = :ts` : set,
      ConditionExpression:
        variant === 'raise'
          ? 'attribute_exists(#next) AND attribute_not_exists(gone) AND (attribute_not_exists(maxTs) OR maxTs <= :ts)'
          : 'attribute_exists(#next) AND attribute_not_exists(gone) AND maxTs >= :ts',
      ExpressionAttributeNames: { '#next': 'next', '#hw': 'hw' },
      ExpressionAttributeValues: { ':n': req.count, ':empty': [], ':mine': mine, ':ts': req.maxTimestamp, ':at': req.at },
    };
  }

  /**
   * Moves the high watermark from `from` to `to` over the first `allocations` allocations in flight,
   * whose entries the caller found tiling [from, to), and counts their bytes. False when another writer
   * moved it first.
   */
  advance(pk: string, from: number, to: number, allocations: number, bytes: number): Promise<boolean> {
    const remove = Array.from({ length: allocations }, (_, i) => `allocs[${i}]`).join(', ');
    return conditionally(
      this.clients.ddb.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { p: pk, o: HEAD_SORT_KEY },
          UpdateExpression: `SET #hw = :to, #bytes = if_not_exists(#bytes, :zero) + :b REMOVE ${remove}`,
          ConditionExpression: '#hw = :from',
          ExpressionAttributeNames: { '#hw': 'hw', '#bytes': 'bytes' },
          ExpressionAttributeValues: { ':to': to, ':from': from, ':b': bytes, ':zero': 0 },
        }),
      ),
    );
  }

  /**
   * A fill's guard: the high watermark has not passed `offset`, so the range there is still in flight.
   * (A filler's view of the head may be old: the range may have committed, been passed, and its entry
   * merged away since; filling it then would lay an empty batch over records.)
   */
  notPassedCheckParams(pk: string, offset: number): TransactWriteItem {
    return {
      ConditionCheck: {
        TableName: this.table,
        Key: { p: pk, o: HEAD_SORT_KEY } as never,
        ConditionExpression: '#hw <= :o',
        ExpressionAttributeNames: { '#hw': 'hw' },
        ExpressionAttributeValues: { ':o': offset } as never,
      },
    };
  }

  /** Marks the partition of a deleted topic: it takes no more allocations. No-op where there is no head. */
  async markGone(pk: string): Promise<void> {
    await conditionally(
      this.clients.ddb.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { p: pk, o: HEAD_SORT_KEY },
          UpdateExpression: 'SET gone = :t',
          ConditionExpression: 'attribute_exists(#next)',
          ExpressionAttributeNames: { '#next': 'next' },
          ExpressionAttributeValues: { ':t': true },
        }),
      ),
    );
  }

  /** The head of a partition by its key, from a consistent read. */
  async getHeadOf(pk: string): Promise<PartitionHead> {
    const r = await this.clients.ddb.send(new GetCommand({ TableName: this.table, Key: { p: pk, o: HEAD_SORT_KEY }, ConsistentRead: true }));
    return headFromItem(r.Item);
  }

  /** The index entry of a commit; it must not exist yet (offsets are assigned once). */
  entryPutParams(pk: string, entry: IndexEntry): TransactWriteItem {
    return {
      Put: {
        TableName: this.table,
        Item: entryToItem(pk, entry) as never,
        ConditionExpression: 'attribute_not_exists(o)',
      },
    };
  }

  async getHead(topicId: string, partition: number): Promise<PartitionHead> {
    const r = await this.clients.ddb.send(
      new GetCommand({ TableName: this.table, Key: { p: partitionKey(topicId, partition), o: HEAD_SORT_KEY }, ConsistentRead: true }),
    );
    return headFromItem(r.Item);
  }

  /** The index entry at exactly this base offset, from a consistent read. */
  async getEntry(pk: string, baseOffset: number): Promise<IndexEntry | undefined> {
    const r = await this.clients.ddb.send(new GetCommand({ TableName: this.table, Key: { p: pk, o: baseOffset }, ConsistentRead: true }));
    return r.Item && r.Item.o !== HEAD_SORT_KEY ? itemToEntry(r.Item) : undefined;
  }

  /** The entries at exactly these base offsets, from consistent reads; undefined where there is none. */
  async entriesAt(places: Array<{ pk: string; baseOffset: number }>): Promise<Array<IndexEntry | undefined>> {
    // One BatchGetItem may not name a key twice: each place is read once.
    const distinct = [...new Map(places.map((x) => [`${x.pk}\u0000${x.baseOffset}`, x])).values()];
    const items = await consistentBatchGet(this.clients, distinct.map((x) => ({ table: this.table, key: { p: x.pk, o: x.baseOffset } })));
    const found = new Map(distinct.map((x, i) => [`${x.pk}\u0000${x.baseOffset}`, items[i]]));
    return places.map((x) => {
      const i = found.get(`${x.pk}\u0000${x.baseOffset}`);
      return i && i.o !== HEAD_SORT_KEY ? itemToEntry(i) : undefined;
    });
  }

  /** Removes an index entry, on condition it is still the entry the job read (same object and place). */
  entryDeleteParams(pk: string, entry: IndexEntry): TransactWriteItem {
    return {
      Delete: {
        TableName: this.table,
        Key: { p: pk, o: entry.baseOffset } as never,
        ConditionExpression: 'k = :k AND b = :b',
        ExpressionAttributeValues: { ':k': entry.objectKey, ':b': entry.position } as never,
      },
    };
  }

  /** Replaces an index entry by one for the same base offset, on condition the old one is unchanged. */
  entryReplaceParams(pk: string, old: IndexEntry, next: IndexEntry): TransactWriteItem {
    return {
      Put: {
        TableName: this.table,
        Item: entryToItem(pk, next) as never,
        ConditionExpression: 'k = :k AND b = :b',
        ExpressionAttributeValues: { ':k': old.objectKey, ':b': old.position } as never,
      },
    };
  }

  /**
   * Advances the log start offset and takes the dropped bytes off the head. The condition makes two
   * retention runs exclusive and keeps the start monotonic and within the log.
   */
  headAdvanceStartParams(pk: string, oldStart: number, newStart: number, droppedBytes: number): TransactWriteItem {
    return {
      Update: {
        TableName: this.table,
        Key: { p: pk, o: HEAD_SORT_KEY } as never,
        UpdateExpression: 'SET #start = :new, #bytes = #bytes - :dropped',
        ConditionExpression: '#start = :old AND (#hw >= :new OR (attribute_not_exists(#hw) AND #next >= :new))',
        ExpressionAttributeNames: { '#start': 'start', '#bytes': 'bytes', '#next': 'next', '#hw': 'hw' },
        ExpressionAttributeValues: { ':new': newStart, ':old': oldStart, ':dropped': droppedBytes } as never,
      },
    };
  }

  /** Adjusts the head's byte count after a rewrite (compaction or merge). */
  headBytesParams(pk: string, delta: number): TransactWriteItem {
    return {
      Update: {
        TableName: this.table,
        Key: { p: pk, o: HEAD_SORT_KEY } as never,
        UpdateExpression: 'SET #bytes = #bytes + :d',
        ConditionExpression: 'attribute_exists(#next)',
        ExpressionAttributeNames: { '#bytes': 'bytes', '#next': 'next' },
        ExpressionAttributeValues: { ':d': delta } as never,
      },
    };
  }

  /** Moves the cleaner checkpoint forward (never back). */
  cleanerCheckpointParams(pk: string, cleanedUpTo: number, now: number): TransactWriteItem {
    return {
      Update: {
        TableName: this.table,
        Key: { p: pk, o: CLEANER_SORT_KEY } as never,
        UpdateExpression: 'SET cleanedUpTo = :c, cleanedAt = :now',
        ConditionExpression: 'attribute_not_exists(cleanedUpTo) OR cleanedUpTo <= :c',
        ExpressionAttributeValues: { ':c': cleanedUpTo, ':now': now } as never,
      },
    };
  }

  async getCleanerCheckpoint(pk: string): Promise<number> {
    const r = await this.clients.ddb.send(new GetCommand({ TableName: this.table, Key: { p: pk, o: CLEANER_SORT_KEY }, ConsistentRead: true }));
    return Number(r.Item?.cleanedUpTo ?? 0);
  }

  /** Every partition head in the table (jobs use this to find partitions of deleted topics). */
  async scanHeads(): Promise<Array<{ pk: string; head: PartitionHead }>> {
    const items = await scanAll(this.clients, { TableName: this.table, FilterExpression: 'o = :h', ExpressionAttributeValues: { ':h': HEAD_SORT_KEY }, ConsistentRead: true });
    return items.map((item) => ({ pk: String(item.p), head: headFromItem(item) }));
  }

  /**
   * Deletes a partition's bookkeeping items (head, cleaner checkpoint), once its entries are gone; the
   * head only while no allocation is in flight (a writer that allocated before the topic went would
   * otherwise commit entries no head covers).
   */
  partitionBookkeepingDeleteParams(pk: string): TransactWriteItem[] {
    return [
      {
        Delete: {
          TableName: this.table,
          Key: { p: pk, o: HEAD_SORT_KEY } as never,
          ConditionExpression: 'attribute_not_exists(#hw) OR #hw = #next',
          ExpressionAttributeNames: { '#hw': 'hw', '#next': 'next' },
        },
      },
      { Delete: { TableName: this.table, Key: { p: pk, o: CLEANER_SORT_KEY } as never } },
    ];
  }

  /** Key of a partition's head item, for reads batched with other tables'. */
  headKey(topicId: string, partition: number): TableKey {
    return { table: this.table, key: { p: partitionKey(topicId, partition), o: HEAD_SORT_KEY } };
  }

  /** Strongly consistent heads of several partitions of one topic, in one BatchGetItem where possible. */
  async getHeads(topicId: string, partitions: number[]): Promise<Map<number, PartitionHead>> {
    const items = await consistentBatchGet(this.clients, partitions.map((p) => this.headKey(topicId, p)));
    return new Map(partitions.map((p, i) => [p, headFromItem(items[i])]));
  }

  /** Index entries with base offset >= `from` (and <= `to`, if given), ascending, at most `limit`. */
  async entriesFrom(pk: string, from: number, limit: number, to?: number): Promise<IndexEntry[]> {
    if (to !== undefined && to < Math.max(0, from)) return [];
    return this.query({
      TableName: this.table,
      KeyConditionExpression: to === undefined ? 'p = :p AND o >= :from' : 'p = :p AND o BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':p': pk, ':from': Math.max(0, from), ...(to === undefined ? {} : { ':to': to }) },
      ConsistentRead: true,
      Limit: limit,
    }, limit);
  }

  /** Index entries with base offset in [from, to], ascending, every one of them (jobs use this). */
  async entriesBetween(pk: string, from: number, to: number, pageSize = 500): Promise<IndexEntry[]> {
    if (to < Math.max(0, from)) return [];
    return this.query({
      TableName: this.table,
      KeyConditionExpression: 'p = :p AND o BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':p': pk, ':from': Math.max(0, from), ':to': to },
      ConsistentRead: true,
      Limit: pageSize,
    }, Number.POSITIVE_INFINITY);
  }

  /** The entry with the largest base offset below `offset`: the batch that may contain it. */
  async entryBefore(pk: string, offset: number): Promise<IndexEntry | undefined> {
    if (offset <= 0) return undefined;
    const r = await this.clients.ddb.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'p = :p AND o BETWEEN :zero AND :below',
        ExpressionAttributeValues: { ':p': pk, ':zero': 0, ':below': offset - 1 },
        ScanIndexForward: false,
        ConsistentRead: true,
        Limit: 1,
      }),
    );
    const item = r.Items?.[0];
    return item ? itemToEntry(item) : undefined;
  }

  /**
   * Base offset of the first batch whose running max timestamp is >= ts (Kafka's ListOffsets by time).
   * The time index holds only some entries: its newest one older than ts bounds the answer from below
   * (the running max is monotonic, so every entry before it is older too), and the entries from there
   * on are read by offset until one is recent enough. Writers index an entry at least every
   * TIME_INDEX_EVERY entries and at each new second, so that read is short.
   */
  async firstBatchAtOrAfterTime(pk: string, ts: number): Promise<number | undefined> {
    // LSIs are strongly consistent when asked.
    const r = await this.clients.ddb.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: LOG_TIME_INDEX.name,
        KeyConditionExpression: 'p = :p AND t < :ts',
        ExpressionAttributeValues: { ':p': pk, ':ts': timeIndexKey(ts, 0) },
        ScanIndexForward: false,
        ConsistentRead: true,
        Limit: 1,
      }),
    );
    let from = r.Items?.[0] ? Number(r.Items[0].o) : 0;
    const page = TIME_INDEX_EVERY * 2;
    for (;;) {
      const entries = await this.entriesFrom(pk, from, page);
      const hit = entries.find((e) => e.timeIndex >= ts);
      if (hit) return hit.baseOffset;
      if (entries.length < page) return undefined;
      from = entries[entries.length - 1]!.lastOffset + 1;
    }
  }

  private async query(input: QueryCommandInput, max: number): Promise<IndexEntry[]> {
    return (await queryAll(this.clients, input, max)).map(itemToEntry);
  }
}
