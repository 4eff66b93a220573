// Fetch: read the partition head, find the batches from the asked offset in the index (a bounded
// query whatever the log's length), read their bytes with as few ranged GETs as possible, and decode
// them at their real base offsets.
import { decodeRecordBatch, type DecodedBatch, type RecordHeader } from '../log/index.ts';
import { FloeError, OffsetOutOfRangeError, PartitionNotFoundError } from '../errors.ts';
import type { DataBucket } from '../storage/data-bucket.ts';
import { partitionKey } from '../storage/keys.ts';
import type { IndexEntry, PartitionHead } from '../model/partition.ts';
import type { LogTable } from '../storage/log-table.ts';
import type { Topic, TopicService } from '../topics/topics.ts';
import type { Watermarks } from '../watermark/watermark.ts';
import type { AppendNotifier } from './append-notifier.ts';
import { RangeCache, type CachedBytes } from './range-cache.ts';
import { ReadCoalescer } from './coalesce.ts';
import { TailWatch } from './tail-watch.ts';
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
/**
 * Batches decoded more than once (consumers of one tail reading the same fresh batches) are kept
 * decoded, up to about this many bytes (the batch, and an allowance per record for its objects): the
 * next readers share the records. A consumer reading a log once decodes each batch once, apart from
 * one cut by a fetch's max_bytes, so it keeps next to nothing here.
 */
const DECODED_CACHE_BYTES = 1024 * 1024;
/**
 * Bytes read this far behind the high watermark (in offsets) are kept in a small cache of their own
 * (`behind`), not the main one: a consumer reading a long log from its start would otherwise fill the
 * cache with batches nobody reads again, pushing out the tail that many consumers share. The small one
 * still serves a batch read again soon after (the rest of a batch a fetch's max_bytes cut, groups
 * replaying a log side by side).
 */
const TAIL_ADMIT_OFFSETS = 10_000;
/** The small cache's share of FLOE_FETCH_CACHE_BYTES, and its most. */
const BEHIND_SHARE = 8;
const BEHIND_MAX_BYTES = 8 * 1024 * 1024;
/** How long a read-ahead's index page may wait for the fetch it was made for (far below the GC's grace period). */
const AHEAD_FOR_MS = 10_000;
/** Partitions whose last fetch end this process remembers (to tell sequential readers, for read-ahead). */
const REMEMBERED_PARTITIONS = 10_000;
const DECODED_RECORD_BYTES = 160;

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
  /** Head reads and index queries of concurrent fetches of one partition, shared (see coalesce.ts). */
  readonly heads = new ReadCoalescer<PartitionHead>();
  readonly index = new ReadCoalescer<IndexEntry[]>();
  /** Long polls at a partition's end, one head read per interval for all of them. */
  readonly tails: TailWatch;
  /** GETs in flight, by object: a fetch needing bytes one of them covers waits for it (objects never change). */
  private readonly inflight = new Map<string, Set<{ start: number; end: number; bytes: Promise<Buffer> }>>();
  /** Ranges asked for in this turn of the event loop, by object, not yet read (see getRange). */
  private readonly gathering = new Map<string, Array<{ start: number; end: number; resolve(b: Buffer): void; reject(e: unknown): void }>>();
  /**
   * Read-ahead, one per partition: the index page and the GETs of the fetch a sequential reader will
   * make next, started while the current one is answered (as a Kafka consumer fetches ahead).
   */
  private readonly ahead = new Map<string, { from: number; maxBytes: number; at: number; entries: Promise<IndexEntry[]> }>();
  /** Where the last fetch of each partition here ended: a fetch that starts there reads sequentially. */
  private readonly lastEnd = new Map<string, number>();
  /** Ranges read far behind the high watermark (see TAIL_ADMIT_OFFSETS). */
  readonly behind: RangeCache;
  /** Decoded batches, least recently used first (see DECODED_CACHE_BYTES). */
  private readonly decoded = new Map<string, { batch: DecodedBatch; bytes: number; buffer: ArrayBufferLike }>();
  /** The buffers the kept records are views of, with how many kept batches hold each. */
  private readonly decodedBuffers = new Map<ArrayBufferLike, number>();
  /** The kept batches' allowances for their records, and each buffer they hold counted once. */
  private decodedBytes = 0;

  constructor(private readonly deps: FetcherDeps) {
    this.cache = new RangeCache(deps.cacheBytes);
    this.behind = new RangeCache(Math.min(BEHIND_MAX_BYTES, Math.floor(deps.cacheBytes / BEHIND_SHARE)));
    this.tails = new TailWatch({
      notifier: deps.notifier,
      // One partition: the coalesced GetItem; several: one BatchGetItem for all of them.
      readHeads: async (id, ps) => (ps.length === 1 ? new Map([[ps[0]!, await this.head(id, ps[0]!)]]) : deps.log.getHeads(id, ps)),
      helpAlong: (id, p, h) => deps.watermarks.helpAlong(partitionKey(id, p), h, () => this.head(id, p)),
      intervalMs: POLL_INTERVAL_MS,
    });
  }

  /** The partition's head, from a read started no earlier than this call (shared with concurrent callers). */
  private head(topicId: string, partition: number): Promise<PartitionHead> {
    return this.heads.read(`${topicId}#${partition}`, () => this.deps.log.getHead(topicId, partition));
  }

  async offsets(topicName: string, partition: number): Promise<PartitionSize> {
    const topic = await this.topicPartition(topicName, partition);
    const head = await this.head(topic.id, partition);
    return { logStartOffset: head.logStartOffset, highWatermark: head.highWatermark, bytes: head.bytes };
  }

  /**
   * Kafka's ListOffsets by time: the first offset whose record's timestamp is at or after `ts`, or null
   * when no record is that recent (Kafka answers -1; a consumer then starts at the high watermark).
   * A query on the time index and a short read on by offset, never a scan.
   */
  async offsetForTime(topicName: string, partition: number, ts: number): Promise<number | null> {
    const topic = await this.topicPartition(topicName, partition);
    const pk = partitionKey(topic.id, partition);
    const head = await this.deps.log.getHead(topic.id, partition);
    const base = await this.deps.log.firstBatchAtOrAfterTime(pk, ts);
    if (base === undefined) return null;
    const [entry] = await this.deps.log.entriesFrom(pk, base, 1);
    if (!entry) return null;
    const [read] = await this.readBatches([entry], head.highWatermark);
    const batch = this.decode(read!, entry);
    const hit = batch.records.find((r) => r.timestamp >= ts);
    const offset = Math.max(head.logStartOffset, hit ? entry.baseOffset + (hit.offset - batch.baseOffset) : entry.lastOffset + 1);
    return offset >= head.highWatermark ? null : offset;
  }

  async fetch(req: FetchRequest): Promise<FetchResult> {
    if (!Number.isSafeInteger(req.offset) || req.offset < 0) throw new FloeError('BAD_REQUEST', `offset must be a non-negative integer, got ${req.offset}`);
    const topic = await this.topicPartition(req.topic, req.partition);
    const pk = partitionKey(topic.id, req.partition);
    const wait = Math.min(Math.max(0, req.waitMs ?? 0), this.deps.maxWaitMs);
    // A long poll at the end of a partition this process watches waits on the watch's recent head.
    const watched = wait > 0 ? this.tails.latest(topic.id, req.partition) : undefined;
    let head = watched?.highWatermark === req.offset ? watched : await this.head(topic.id, req.partition);
    if (req.offset < head.logStartOffset || req.offset > head.highWatermark) throw new OffsetOutOfRangeError(req.offset, head.logStartOffset, head.highWatermark);
    // At the tail, behind allocations in flight for a while: help the high watermark along (fill a
    // hole, then move past it).
    head = await this.deps.watermarks.helpAlong(pk, head, () => this.head(topic.id, req.partition), (h) => req.offset === h.highWatermark);
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
    const ahead = this.takeAhead(pk, req.offset, maxBytes);
    let entries = (ahead && (await ahead.catch(() => undefined))) || (await this.entriesFor(pk, req.offset, head.highWatermark, maxBytes));
    // No entry holds the offset: a rewrite was committing while the index was read. Read it again; if
    // that keeps happening, answer nothing from here and let the consumer ask again.
    for (let retry = 0; entries.length === 0 && retry < 3; retry++) entries = await this.entriesFor(pk, req.offset, head.highWatermark, maxBytes);
    if (entries.length === 0) return empty(head);
    const end = entries[entries.length - 1]!.lastOffset + 1;
    if (this.lastEnd.get(pk) === req.offset && end < head.highWatermark) this.readAhead(pk, end, head.highWatermark, maxBytes);
    const buffers = await this.readBatches(entries, head.highWatermark);

    const records: FetchedRecord[] = [];
    let bytes = 0;
    let nextOffset = req.offset;
    let full = false;
    for (let i = 0; i < entries.length && !full; i++) {
      const entry = entries[i]!;
      const batch = this.decode(buffers[i]!, entry);
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
    if (this.lastEnd.size >= REMEMBERED_PARTITIONS) this.lastEnd.clear();
    this.lastEnd.set(pk, nextOffset);
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
    // and no fetch reads more than the bytes it may return need, whatever the log's length. Near the
    // high watermark, one page holds every entry there can be below it (each spans at least one
    // offset): a consumer woken at the tail reads what arrived in one Query, however many batches.
    let page = FIRST_INDEX_PAGE;
    const below = highWatermark - offset;
    let entries = below <= INDEX_PAGE ? await this.entriesFrom(pk, offset, Math.max(1, below), highWatermark - 1) : await this.entriesFrom(pk, offset, page);
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
      entries = await this.entriesFrom(pk, last.baseOffset + 1, page);
      read += entries.length;
    }
    return out;
  }

  /** One index page, shared with concurrent fetches asking for the same page (callers only read it). */
  private entriesFrom(pk: string, from: number, limit: number, to?: number): Promise<IndexEntry[]> {
    return this.index.read(`${pk}|${from}|${limit}|${to ?? ''}`, () => this.deps.log.entriesFrom(pk, from, limit, to));
  }

  /**
   * Bytes [start, end) of an object: from a GET in flight that covers them, or else from a GET made
   * on the next turn of the event loop for every range of the object asked for in this one, close
   * ranges merged (the fetches of a topic's partitions woken together read one request's object once).
   */
  private getRange(key: string, start: number, end: number): Promise<Buffer> {
    for (const g of this.inflight.get(key) ?? []) if (g.start <= start && end <= g.end) return g.bytes.then((b) => b.subarray(start - g.start, end - g.start));
    return new Promise<Buffer>((resolve, reject) => {
      let asks = this.gathering.get(key);
      if (!asks) {
        this.gathering.set(key, (asks = []));
        setImmediate(() => this.flushRanges(key));
      }
      asks.push({ start, end, resolve, reject });
    });
  }

  private flushRanges(key: string): void {
    const asks = this.gathering.get(key) ?? [];
    this.gathering.delete(key);
    asks.sort((a, b) => a.start - b.start);
    let set = this.inflight.get(key);
    if (!set) this.inflight.set(key, (set = new Set()));
    const s = set;
    for (let i = 0; i < asks.length; ) {
      const members = [asks[i]!];
      let end = asks[i]!.end;
      for (i++; i < asks.length && asks[i]!.start - end <= COALESCE_GAP; i++) {
        members.push(asks[i]!);
        end = Math.max(end, asks[i]!.end);
      }
      const start = members[0]!.start;
      const g = { start, end, bytes: this.deps.bucket.getRange(key, start, end) };
      s.add(g);
      const drop = () => {
        s.delete(g);
        if (s.size === 0 && this.inflight.get(key) === s) this.inflight.delete(key);
      };
      g.bytes.then(
        (b) => {
          drop();
          for (const m of members) m.resolve(b.subarray(m.start - start, m.end - start));
        },
        (err) => {
          drop();
          for (const m of members) m.reject(err);
        },
      );
    }
  }

  /**
   * Starts reading the entries from `from` and their bytes, as the next fetch of a sequential reader
   * will ask for them: that fetch takes the index page from here and finds the bytes cached or in
   * flight. Entries below a high watermark once read stay committed, so the page stays good for it.
   */
  private readAhead(pk: string, from: number, highWatermark: number, maxBytes: number): void {
    if (this.ahead.has(pk)) return;
    const entries = this.entriesFor(pk, from, highWatermark, maxBytes);
    this.ahead.set(pk, { from, maxBytes, at: Date.now(), entries });
    // A failure here is the next fetch's to see (it reads for itself then), never unhandled.
    entries.then((list) => this.readBatches(list, highWatermark)).catch(() => undefined);
  }

  /** The read-ahead for a fetch from `from`, if one was made for it; any other is dropped. */
  private takeAhead(pk: string, from: number, maxBytes: number): Promise<IndexEntry[]> | undefined {
    const a = this.ahead.get(pk);
    if (!a) return undefined;
    this.ahead.delete(pk);
    // Only a recent one: an entry a rewrite replaced since points into an object kept for the GC's grace period only.
    return a.from === from && a.maxBytes === maxBytes && Date.now() - a.at < AHEAD_FOR_MS ? a.entries : undefined;
  }

  /** Bytes both caches hold. */
  get cachedBytes(): number {
    return this.cache.bytes + this.behind.bytes;
  }

  private lookup(e: IndexEntry): ReadBatch | undefined {
    return this.cache.lookup(e.objectKey, e.position, e.position + e.length) ?? this.behind.lookup(e.objectKey, e.position, e.position + e.length);
  }

  /** Each entry's bytes, from the cache or from coalesced ranged GETs, in entry order. */
  private async readBatches(entries: IndexEntry[], highWatermark: number): Promise<ReadBatch[]> {
    const out: Array<ReadBatch | undefined> = entries.map((e) => this.lookup(e));
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
      const bytes = await this.getRange(g.key, g.start, g.end);
      // A range shared from another fetch's GET is cached already: put() keeps bytes once.
      const near = g.parts.some(({ e }) => e.lastOffset + TAIL_ADMIT_OFFSETS >= highWatermark);
      (near ? this.cache : this.behind).put(g.key, g.start, bytes);
      for (const { e, i } of g.parts) {
        // Through the cache when it kept the range, so the check of this batch is remembered there.
        out[i] = this.lookup(e) ?? {
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
   * check again (objects are immutable, and cached bytes never change). A batch decoded a second time
   * is kept decoded for the readers after (its records are shared: nothing may write to their bytes).
   */
  private decode(read: ReadBatch, entry: IndexEntry): DecodedBatch {
    const key = `${entry.objectKey}@${entry.position}#${entry.baseOffset}`;
    const hit = this.decoded.get(key);
    if (hit) {
      this.decoded.delete(key);
      this.decoded.set(key, hit);
      return hit.batch;
    }
    const again = read.verified;
    // Decoded from the bytes as read, with the real base offset given rather than written in: no copy,
    // and the records' keys and values are views of the read (cached bytes are never written to).
    const batch = decodeRecordBatch(read.bytes, 0, { verifyCrc: !read.verified, baseOffset: entry.baseOffset });
    read.markVerified();
    // Kept, its records hold the whole buffer the batch was read into (one GET may have read several
    // batches of an object): that buffer counts, once however many kept batches share it.
    const buffer = read.bytes.buffer;
    const bytes = batch.records.length * DECODED_RECORD_BYTES;
    if (again && bytes + buffer.byteLength <= DECODED_CACHE_BYTES) {
      this.decoded.set(key, { batch, bytes, buffer });
      this.holdBuffer(buffer, bytes, 1);
      for (const [k, v] of this.decoded) {
        if (this.decodedBytes <= DECODED_CACHE_BYTES) break;
        this.decoded.delete(k);
        this.holdBuffer(v.buffer, v.bytes, -1);
      }
    }
    return batch;
  }

  private holdBuffer(buffer: ArrayBufferLike, bytes: number, delta: 1 | -1): void {
    const held = (this.decodedBuffers.get(buffer) ?? 0) + delta;
    const shared = held > 0 && held - delta > 0;
    if (held > 0) this.decodedBuffers.set(buffer, held);
    else this.decodedBuffers.delete(buffer);
    this.decodedBytes += delta * (bytes + (shared ? 0 : buffer.byteLength));
  }

  /** Long-poll: the partition's shared watch answers when the head moves past `offset`, or at the deadline. */
  private async waitForData(topic: Topic, partition: number, offset: number, waitMs: number, head: PartitionHead): Promise<PartitionHead> {
    return (await this.tails.wait(topic.id, partition, offset, waitMs)) ?? head;
  }
}
