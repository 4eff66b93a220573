// Fetch: read the partition head, find the batches from the asked offset in the index (a bounded
// query whatever the log's length), read their bytes with as few ranged GETs as possible, write the
// real base offsets in, and decode.
import { decodeRecordBatch, setBaseOffset, type RecordHeader } from '../log/index.ts';
import { FloeError, OffsetOutOfRangeError, PartitionNotFoundError } from '../errors.ts';
import type { DataBucket } from '../storage/data-bucket.ts';
import { partitionKey } from '../storage/keys.ts';
import type { IndexEntry, PartitionHead } from '../model/partition.ts';
import type { LogTable } from '../storage/log-table.ts';
import type { Topic, TopicService } from '../topics/topics.ts';
import type { Watermarks } from '../watermark/watermark.ts';
import type { AppendNotifier } from './append-notifier.ts';
import { RangeCache, type CachedBytes } from './range-cache.ts';
import { mapBounded } from '../map-bounded.ts';
import type { Metrics } from '../metrics.ts';

type ReadBatch = CachedBytes;

export type IsolationLevel = 'read_uncommitted' | 'read_committed';

export interface FetchRequest {
  topic: string;
  partition: number;
  offset: number;
  /** Cap on the key + value bytes returned; at least one record is returned when any is there. */
  maxBytes?: number;
  maxRecords?: number;
  /** How long to wait for data when the offset is at the high watermark, in ms. */
  waitMs?: number;
  isolation?: IsolationLevel;
}

export interface FetchedRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface FetchResult {
  topic: string;
  partition: number;
  records: FetchedRecord[];
  highWatermark: number;
  logStartOffset: number;
  lastStableOffset: number;
  /** The offset to fetch from next. */
  nextOffset: number;
}

export interface PartitionOffsets {
  logStartOffset: number;
  highWatermark: number;
}

/** A partition's offsets and the bytes of record batches its log holds (the head keeps the count). */
export interface PartitionSize extends PartitionOffsets {
  bytes: number;
}

export const DEFAULT_MAX_BYTES = 1024 * 1024;
/** Index entries one fetch reads at most: this bounds the work per fetch, not the log's length. */
const INDEX_PAGE = 64;
const FIRST_INDEX_PAGE = 4;
/** Ranges of one object closer than this are read with one GET: a GET costs more than the gap's bytes. */
const COALESCE_GAP = 256 * 1024;
const GET_CONCURRENCY = 8;
const POLL_INTERVAL_MS = 200;

export interface FetcherDeps {
  topics: TopicService;
  log: LogTable;
  bucket: DataBucket;
  notifier: AppendNotifier;
  watermarks: Watermarks;
  cacheBytes: number;
  maxWaitMs: number;
  /** A larger max_bytes is clamped to this. */
  maxBytes: number;
  /** Told of the records each fetch returns (the console's fetch rate). */
  metrics?: Metrics;
}

export class Fetcher {
  readonly cache: RangeCache;

  constructor(private readonly deps: FetcherDeps) {
    this.cache = new RangeCache(deps.cacheBytes);
  }

  async offsets(topicName: string, partition: number): Promise<PartitionSize> {
    const topic = await this.topicPartition(topicName, partition);
    const head = await this.deps.log.getHead(topic.id, partition);
    return { logStartOffset: head.logStartOffset, highWatermark: head.highWatermark, bytes: head.bytes };
  }

  /**
   * Kafka's ListOffsets by time: the first offset whose timestamp is >= ts, or the high watermark when
   * there is none. A query on the time index, never a scan.
   */
  /**
   * Kafka's ListOffsets by time: the first offset whose record's timestamp is at or after `ts`, or null
   * when no record is that recent (Kafka answers -1; a consumer then starts at the high watermark).
   */
  async offsetForTime(topicName: string, partition: number, ts: number): Promise<number | null> {
    const topic = await this.topicPartition(topicName, partition);
    const pk = partitionKey(topic.id, partition);
    const head = await this.deps.log.getHead(topic.id, partition);
    const base = await this.deps.log.firstBatchAtOrAfterTime(pk, ts);
    if (base === undefined) return null;
    const [entry] = await this.deps.log.entriesFrom(pk, base, 1);
    if (!entry) return null;
    const [read] = await this.readBatches([entry]);
    const batch = this.decode(read!, entry.baseOffset);
    const hit = batch.records.find((r) => r.timestamp >= ts);
    const offset = Math.max(head.logStartOffset, hit ? entry.baseOffset + (hit.offset - batch.baseOffset) : entry.lastOffset + 1);
    return offset >= head.highWatermark ? null : offset;
  }

  async fetch(req: FetchRequest): Promise<FetchResult> {
    if (!Number.isSafeInteger(req.offset) || req.offset < 0) throw new FloeError('BAD_REQUEST', `offset must be a non-negative integer, got ${req.offset}`);
    const topic = await this.topicPartition(req.topic, req.partition);
    const pk = partitionKey(topic.id, req.partition);
    let head = await this.deps.log.getHead(topic.id, req.partition);
    if (req.offset < head.logStartOffset || req.offset > head.highWatermark) throw new OffsetOutOfRangeError(req.offset, head.logStartOffset, head.highWatermark);
    // At the tail, behind allocations in flight for a while: help the high watermark along.
    if (req.offset === head.highWatermark && (await this.deps.watermarks.help(pk, head))) head = await this.deps.log.getHead(topic.id, req.partition);
    const wait = Math.min(Math.max(0, req.waitMs ?? 0), this.deps.maxWaitMs);
    if (req.offset === head.highWatermark && wait > 0) head = await this.waitForData(topic, req.partition, req.offset, wait, head);
    const empty = (h: PartitionHead, next = req.offset): FetchResult => ({
      topic: topic.topic,
      partition: req.partition,
      records: [],
      highWatermark: h.highWatermark,
      logStartOffset: h.logStartOffset,
      lastStableOffset: h.highWatermark,
      nextOffset: next,
    });
    if (req.offset >= head.highWatermark) return empty(head);

    const maxBytes = Math.min(req.maxBytes ?? DEFAULT_MAX_BYTES, this.deps.maxBytes);
    const maxRecords = req.maxRecords ?? Number.POSITIVE_INFINITY;
    let entries = await this.entriesFor(pk, req.offset, head.highWatermark, maxBytes);
    // No entry holds the offset: a rewrite was committing while the index was read. Read it again; if
    // that keeps happening, answer nothing from here and let the consumer ask again.
    for (let retry = 0; entries.length === 0 && retry < 3; retry++) entries = await this.entriesFor(pk, req.offset, head.highWatermark, maxBytes);
    if (entries.length === 0) return empty(head);
    const buffers = await this.readBatches(entries);

    const records: FetchedRecord[] = [];
    let bytes = 0;
    let nextOffset = req.offset;
    let full = false;
    for (let i = 0; i < entries.length && !full; i++) {
      const entry = entries[i]!;
      const batch = this.decode(buffers[i]!, entry.baseOffset);
      // Control batches (a transaction's commit markers) are the log's, never a consumer's records.
      if (!entry.isControl) {
        for (const r of batch.records) {
          if (r.offset < req.offset) continue;
          const size = (r.key?.length ?? 0) + (r.value?.length ?? 0);
          if (records.length > 0 && (bytes + size > maxBytes || records.length >= maxRecords)) {
            full = true;
            break;
          }
          records.push({ offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers });
          bytes += size;
          nextOffset = r.offset + 1;
        }
      }
      // Compaction leaves gaps: a batch read to its end moves the position past its last offset.
      if (!full) nextOffset = Math.max(nextOffset, entry.lastOffset + 1);
    }
    if (records.length > 0) this.deps.metrics?.recordsFetched?.(topic.topic, records.length, bytes);
    return {
      topic: topic.topic,
      partition: req.partition,
      records,
      highWatermark: head.highWatermark,
      logStartOffset: head.logStartOffset,
      lastStableOffset: head.highWatermark,
      nextOffset,
    };
  }

  private async topicPartition(name: string, partition: number): Promise<Topic> {
    const topic = await this.deps.topics.resolve(name);
    if (!Number.isInteger(partition) || partition < 0 || partition >= topic.partitions) throw new PartitionNotFoundError(name, partition);
    return topic;
  }

  /**
   * The batch holding `offset` and the ones after it, up to maxBytes, as an unbroken chain: each entry
   * starts right after the one before. The index always tiles the log (compaction keeps an empty batch
   * where it removed every record), so a break can only be a rewrite that committed between two reads
   * of this fetch, or that a Query saw half of (DynamoDB's reads are read-committed against
   * transactions). An entry overlapping the chain is a replaced one and is skipped; at a hole the
   * chain stops, and the next fetch, starting there, finds the rewritten entry. Either way no offset is
   * skipped: readers see a prefix.
   */
  private async entriesFor(pk: string, offset: number, highWatermark: number, maxBytes: number): Promise<IndexEntry[]> {
    const out: IndexEntry[] = [];
    let bytes = 0;
    const take = (list: IndexEntry[]): boolean => {
      for (const e of list) {
        if (e.baseOffset >= highWatermark) return false;
        const last = out[out.length - 1];
        if (last === undefined) {
          if (e.lastOffset < offset) continue;
          if (e.baseOffset > offset) return false;
        } else {
          if (e.baseOffset <= last.lastOffset) continue;
          if (e.baseOffset > last.lastOffset + 1 || bytes + e.length > maxBytes) return false;
        }
        out.push(e);
        bytes += e.length;
      }
      return true;
    };
    // Pages grow from small: a consumer at the tail reads one or two entries, a catching-up one more,
    // and no fetch reads more than the bytes it may return need, whatever the log's length.
    let page = FIRST_INDEX_PAGE;
    let entries = await this.deps.log.entriesFrom(pk, offset, page);
    if (entries[0]?.baseOffset !== offset) {
      // Consumers usually ask for a batch boundary; otherwise the batch before may hold the offset.
      const before = await this.deps.log.entryBefore(pk, offset);
      if (before && before.lastOffset >= offset) entries = [before, ...entries];
    }
    let read = entries.length;
    while (take(entries) && entries.length > 0 && read < INDEX_PAGE && bytes < maxBytes) {
      const last = entries[entries.length - 1]!;
      if (last.lastOffset + 1 >= highWatermark) break;
      page = Math.min(page * 2, INDEX_PAGE - read);
      entries = await this.deps.log.entriesFrom(pk, last.baseOffset + 1, page);
      read += entries.length;
    }
    return out;
  }

  /** Each entry's bytes, from the cache or from coalesced ranged GETs, in entry order. */
  private async readBatches(entries: IndexEntry[]): Promise<ReadBatch[]> {
    const out: Array<ReadBatch | undefined> = entries.map((e) => this.cache.lookup(e.objectKey, e.position, e.position + e.length));
    const missing = entries.map((e, i) => ({ e, i })).filter(({ i }) => out[i] === undefined);
    const byObject = new Map<string, Array<{ e: IndexEntry; i: number }>>();
    for (const m of missing) {
      let list = byObject.get(m.e.objectKey);
      if (!list) byObject.set(m.e.objectKey, (list = []));
      list.push(m);
    }
    const gets: Array<{ key: string; start: number; end: number; parts: Array<{ e: IndexEntry; i: number }> }> = [];
    for (const [key, list] of byObject) {
      list.sort((a, b) => a.e.position - b.e.position);
      let current: (typeof gets)[number] | undefined;
      for (const m of list) {
        const start = m.e.position;
        const end = start + m.e.length;
        if (current && start - current.end <= COALESCE_GAP) {
          current.end = Math.max(current.end, end);
          current.parts.push(m);
        } else {
          current = { key, start, end, parts: [m] };
          gets.push(current);
        }
      }
    }
    await mapBounded(gets, GET_CONCURRENCY, async (g) => {
      const bytes = await this.deps.bucket.getRange(g.key, g.start, g.end);
      this.cache.put(g.key, g.start, bytes);
      for (const { e, i } of g.parts) {
        // Through the cache when it kept the range, so the check of this batch is remembered there.
        out[i] = this.cache.lookup(e.objectKey, e.position, e.position + e.length) ?? {
          bytes: bytes.subarray(e.position - g.start, e.position - g.start + e.length),
          verified: false,
          markVerified: () => undefined,
        };
      }
    });
    return out as ReadBatch[];
  }

  /**
   * Decodes a batch read for a fetch. Its CRC is checked the first time its bytes are decoded and the
   * cache remembers that, so consumers at the tail reading the same fresh batches do not pay for the
   * check again (objects are immutable, and cached bytes never change).
   */
  private decode(read: ReadBatch, baseOffset: number) {
    // Copy before writing the base offset: the cached bytes stay as stored.
    const buf = Buffer.from(read.bytes);
    setBaseOffset(buf, baseOffset);
    const batch = decodeRecordBatch(buf, 0, { verifyCrc: !read.verified });
    read.markVerified();
    return batch;
  }

  /** Long-poll: wake on a local append or re-read the head at an interval, until data or the deadline. */
  private async waitForData(topic: Topic, partition: number, offset: number, waitMs: number, head: PartitionHead): Promise<PartitionHead> {
    const deadline = Date.now() + waitMs;
    let h = head;
    while (h.highWatermark <= offset) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await this.deps.notifier.wait(topic.id, partition, Math.min(left, POLL_INTERVAL_MS));
      h = await this.deps.log.getHead(topic.id, partition);
      if (await this.deps.watermarks.help(partitionKey(topic.id, partition), h)) h = await this.deps.log.getHead(topic.id, partition);
    }
    return h;
  }
}
