// Rewriting a run of consecutive batches of one partition: compaction (drop superseded records) and
// merging (keep every record, fewer and larger batches and objects) both come down to this.
//
// Steps, each safe to stop after:
//   1. read the old batches (bounded: one window of at most WINDOW_ENTRIES entries / WINDOW_BYTES);
//   2. encode the kept records into new batches that keep every record's offset (explicit offset
//      deltas), each new batch spanning exactly the offsets of the old batches it replaces;
//   3. PUT one new object for the window (an orphan if we stop here: the garbage collector's);
//   4. one transaction: replace the first old entry of each new batch, delete the other old entries,
//      each on condition it is still what we read; add the new object's references, release the old
//      ones; adjust the head's byte count. Readers see the old batches or the new, never a mix.
import type { Engine } from '../engine/engine.ts';
import { Commit, sendCommit, TRANSACTION_MAX_ITEMS, type CommitItem } from '../storage/commit.ts';
import { decodeRecordBatch, encodeEmptyRecordBatch, encodeRecordBatch, setBaseOffset, type DecodedRecord } from '../log/index.ts';
import { COMMIT_DEADLINE_MS } from '../model/lifetimes.ts';
import { newObjectKey, objectKeyTime } from '../storage/keys.ts';
import type { IndexEntry } from '../model/partition.ts';
import type { TopicSettings } from '../topics/configs.ts';

export const WINDOW_ENTRIES = 40;
export const WINDOW_BYTES = 32 * 1024 * 1024;

export interface RewriteResult {
  ok: boolean;
  oldBatches: number;
  newBatches: number;
  oldBytes: number;
  newBytes: number;
  removedRecords: number;
}

export interface KeptRecord {
  record: DecodedRecord;
  entry: IndexEntry;
}

/** Reads the batches of the entries, with real base offsets written in, from the bucket. */
export async function readEntries(engine: Engine, entries: IndexEntry[]): Promise<Array<{ entry: IndexEntry; records: DecodedRecord[] }>> {
  const byObject = new Map<string, IndexEntry[]>();
  for (const e of entries) byObject.set(e.objectKey, [...(byObject.get(e.objectKey) ?? []), e]);
  const bytes = new Map<IndexEntry, Buffer>();
  await Promise.all(
    [...byObject.entries()].map(async ([key, list]) => {
      const start = Math.min(...list.map((e) => e.position));
      const end = Math.max(...list.map((e) => e.position + e.length));
      const buf = await engine.bucket.getRange(key, start, end);
      for (const e of list) bytes.set(e, Buffer.from(buf.subarray(e.position - start, e.position - start + e.length)));
    }),
  );
  return entries.map((entry) => {
    const buf = bytes.get(entry)!;
    setBaseOffset(buf, entry.baseOffset);
    return { entry, records: decodeRecordBatch(buf).records };
  });
}

/**
 * Rewrites one window of consecutive entries. `keep` decides each record's fate; groups of old entries
 * become one new batch each (at most maxBatchBytes of old data per group). Returns ok=false when a
 * concurrent job changed the entries first (nothing was changed by this call but an orphan object).
 */
export async function rewriteWindow(
  engine: Engine,
  pk: string,
  entries: IndexEntry[],
  keep: (r: DecodedRecord, e: IndexEntry) => boolean,
  settings: TopicSettings,
  extra: CommitItem[] = [],
): Promise<RewriteResult> {
  const decoded = await readEntries(engine, entries);
  const maxBatch = Math.max(1024, Math.min(settings.maxMessageBytes, 8 * 1024 * 1024));
  // Group consecutive old entries into new batches of bounded size.
  const groups: Array<typeof decoded> = [];
  let current: typeof decoded = [];
  let size = 0;
  for (const d of decoded) {
    // A control batch (a commit marker) is a group of its own: it is never merged into records.
    const alone = d.entry.isControl || current[0]?.entry.isControl === true;
    if (current.length > 0 && (alone || size + d.entry.length > maxBatch)) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(d);
    size += d.entry.length;
  }
  if (current.length > 0) groups.push(current);

  // Each group becomes one new batch. A group whose records are all removed joins the batch before it
  // (or, at the window's start, the one after), and a window that keeps nothing becomes one empty
  // batch: the new entries tile exactly the offsets of the old ones, with no hole between entries.
  // Readers rely on that: a hole in the index can then only be a rewrite they raced, never a gap.
  // A kept marker stays a control batch of its own span, with its producer id and epoch.
  const spans: Array<{ olds: IndexEntry[]; kept: DecodedRecord[]; control?: IndexEntry }> = [];
  let leading: IndexEntry[] = [];
  let removedRecords = 0;
  for (const group of groups) {
    const olds = group.map((d) => d.entry);
    const kept = group.flatMap((d) => d.records.filter((r) => keep(r, d.entry)));
    removedRecords += group.reduce((n, d) => n + d.records.length, 0) - kept.length;
    const control = group[0]!.entry.isControl ? group[0]!.entry : undefined;
    if (kept.length > 0) {
      spans.push({ olds: [...leading, ...olds], kept, ...(control ? { control } : {}) });
      leading = [];
    } else if (spans.length > 0 && !spans[spans.length - 1]!.control) {
      spans[spans.length - 1]!.olds.push(...olds);
    } else if (spans.length > 0) {
      // After a kept marker: the removed batches' offsets become a span of their own (an empty batch).
      spans.push({ olds, kept: [] });
    } else {
      leading.push(...olds);
    }
  }
  if (spans.length === 0) spans.push({ olds: leading, kept: [] });

  const now = Date.now();
  const objectKey = newObjectKey();
  const parts: Buffer[] = [];
  const commit = new Commit();
  let position = 0;
  for (const { olds, kept, control } of spans) {
    const first = olds[0]!;
    const last = olds[olds.length - 1]!;
    const batch =
      kept.length > 0
        ? encodeRecordBatch(
            kept.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp })),
            {
              compression: control ? 'none' : settings.compression,
              offsetDeltas: kept.map((r) => r.offset - first.baseOffset),
              lastOffsetDelta: last.lastOffset - first.baseOffset,
              ...(control ? { isControl: true, isTransactional: true, producerId: control.producerId, producerEpoch: control.producerEpoch } : {}),
            },
          )
        : encodeEmptyRecordBatch(last.lastOffset - first.baseOffset, last.maxTimestamp);
    const entry: IndexEntry = {
      baseOffset: first.baseOffset,
      lastOffset: last.lastOffset,
      recordCount: kept.length,
      objectKey,
      position,
      length: batch.length,
      firstTimestamp: kept[0]?.timestamp ?? last.maxTimestamp,
      maxTimestamp: kept.length > 0 ? Math.max(...kept.map((r) => r.timestamp)) : last.maxTimestamp,
      // The running maximum at the span's last batch covers every record the span still holds.
      timeIndex: last.timeIndex,
      appendTime: last.appendTime,
      isControl: control !== undefined,
      isTransactional: control !== undefined,
      producerId: control?.producerId ?? -1,
      producerEpoch: control?.producerEpoch ?? -1,
      baseSequence: -1,
      // A given-up key stays taken through every rewrite (only a window's first entry can be pinned).
      ...(first.pinned ? { pinned: true } : {}),
    };
    commit.add(engine.log.entryReplaceParams(pk, first, entry));
    for (const old of olds.slice(1)) commit.add(engine.log.entryDeleteParams(pk, old));
    parts.push(batch);
    position += batch.length;
  }
  const newBatches = spans.length;
  const oldBytes = entries.reduce((n, e) => n + e.length, 0);
  await engine.bucket.put(objectKey, parts.length === 1 ? parts[0]! : Buffer.concat(parts, position));
  // Past the deadline the garbage collector may already treat the new object as an orphan.
  if (Date.now() - objectKeyTime(objectKey)! > COMMIT_DEADLINE_MS) return { ok: false, oldBatches: entries.length, newBatches: 0, oldBytes, newBytes: 0, removedRecords: 0 };
  commit.add(engine.objects.addRefsParams(objectKey, newBatches, position, now));
  const perObject = new Map<string, number>();
  for (const e of entries) perObject.set(e.objectKey, (perObject.get(e.objectKey) ?? 0) + 1);
  for (const [key, n] of perObject) commit.add(engine.objects.releaseRefsParams(key, n, now));
  commit.add(engine.log.headBytesParams(pk, position - oldBytes));
  commit.addAll(extra);
  if (!(await sendCommit(engine.clients, commit)).committed) return { ok: false, oldBatches: entries.length, newBatches: 0, oldBytes, newBytes: 0, removedRecords: 0 };
  return { ok: true, oldBatches: entries.length, newBatches, oldBytes, newBytes: position, removedRecords };
}

/** Splits entries into windows that one rewrite transaction can hold and one Lambda can keep in memory. */
export function windows(entries: IndexEntry[]): IndexEntry[][] {
  const out: IndexEntry[][] = [];
  let current: IndexEntry[] = [];
  let bytes = 0;
  let objects = new Set<string>();
  for (const e of entries) {
    // Items: one per old entry, one per old object released, plus the new object, head and checkpoint.
    const wouldObjects = objects.has(e.objectKey) ? objects.size : objects.size + 1;
    // A pinned entry (a key once given up) starts its window, whose first key every rewrite keeps.
    if (current.length > 0 && (e.pinned || current.length + 1 > WINDOW_ENTRIES || bytes + e.length > WINDOW_BYTES || current.length + 1 + wouldObjects + 3 > TRANSACTION_MAX_ITEMS)) {
      out.push(current);
      current = [];
      bytes = 0;
      objects = new Set();
    }
    current.push(e);
    bytes += e.length;
    objects.add(e.objectKey);
  }
  if (current.length > 0) out.push(current);
  return out;
}
