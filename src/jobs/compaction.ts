// Compaction (Kafka's log cleaner) for cleanup.policy=compact and compact,delete, and merging of small
// batches for every topic.
//
// Compaction of a partition:
// - The cleanable part ends where the active part begins: the last batch, any batch appended less than
//   segment.ms ago, and any batch holding a record newer than min.compaction.lag.ms are never cleaned.
// - The dirty part runs from the cleaner checkpoint to the end of the cleanable part. When the dirty
//   share of the cleanable bytes is below min.cleanable.dirty.ratio, the partition is left alone.
// - An offset map (key digest -> latest offset) is built over the dirty part. Memory is bounded: keys
//   are hashed to 16-byte digests and the map holds at most MAX_MAP_KEYS of them; when the dirty part has
//   more distinct keys, this pass cleans only up to where the map filled, and the next pass goes on.
// - Every batch from the log start to the end of what the map covers is rewritten, window by window,
//   keeping a record unless a later record of the same key is in the map, and dropping tombstones
//   appended more than delete.retention.ms ago. Records keep their offsets; gaps appear.
// - The last window's transaction moves the checkpoint, so a crash anywhere leaves either the old or
//   the new batches of each window, and a rerun converges.
import { createHash } from 'node:crypto';
import type { Engine } from '../engine/engine.ts';
import { MERGE_MIN_AGE_MS } from '../model/lifetimes.ts';
import { parsePartitionKey, partitionKey } from '../storage/keys.ts';
import type { IndexEntry } from '../model/partition.ts';
import { topicSettings, type TopicSettings } from '../topics/configs.ts';
import { readEntries, rewriteWindow, windows } from './rewrite.ts';
import { emptySummary, type JobSummary } from './summary.ts';

export const MAX_MAP_KEYS = 1_000_000;
/** Batches smaller than this are worth merging with their neighbours. */
export const SMALL_BATCH_BYTES = 256 * 1024;

function digest(key: Buffer): string {
  return createHash('md5').update(key).digest('base64');
}

export interface CompactionOptions {
  now?: number;
  maxMapKeys?: number;
}

export async function runCompaction(engine: Engine, options: CompactionOptions = {}): Promise<JobSummary> {
  const started = Date.now();
  const s = emptySummary('compaction');
  const now = options.now ?? Date.now();
  for (const topic of await engine.topics.list()) {
    s.examined.topics++;
    const settings = topicSettings(topic.configs);
    for (let p = 0; p < topic.partitions; p++) {
      s.examined.partitions++;
      const pk = partitionKey(topic.id, p);
      if (settings.cleanupPolicy.compact) await compactPartition(engine, pk, settings, now, options.maxMapKeys ?? MAX_MAP_KEYS, s);
      await mergePartition(engine, pk, settings, now, s);
    }
  }
  s.ms = Date.now() - started;
  return s;
}

/** Where the active part of the log begins: nothing at or after it is rewritten. */
function activeStart(entries: IndexEntry[], settings: TopicSettings, now: number): number {
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    // The lag reads record timestamps only when it is set: with none (Kafka's default 0), a record
    // stamped in the future would otherwise hold back the cleaning of everything after it.
    const tooYoung = settings.minCompactionLagMs > 0 && e.maxTimestamp > now - settings.minCompactionLagMs;
    if (i === entries.length - 1 || e.appendTime > now - settings.segmentMs || tooYoung) return i;
  }
  return entries.length;
}

async function compactPartition(engine: Engine, pk: string, settings: TopicSettings, now: number, maxKeys: number, s: JobSummary): Promise<void> {
  const { topicId, partition } = parsePartitionKey(pk);
  const head = await engine.log.getHead(topicId, partition);
  if (!head.exists) return;
  const all = await engine.log.entriesBetween(pk, head.logStartOffset, head.highWatermark - 1);
  s.examined.batches += all.length;
  const cleanable = all.slice(0, activeStart(all, settings, now));
  if (cleanable.length === 0) return;
  const checkpoint = await engine.log.getCleanerCheckpoint(pk);
  const dirty = cleanable.filter((e) => e.lastOffset >= checkpoint);
  const dirtyBytes = dirty.reduce((n, e) => n + e.length, 0);
  const totalBytes = cleanable.reduce((n, e) => n + e.length, 0);
  if (dirty.length === 0 || dirtyBytes / totalBytes < settings.minCleanableDirtyRatio) {
    s.skipped++;
    return;
  }

  // The offset map over the dirty part, read window by window; it stops growing at maxKeys.
  const latest = new Map<string, number>();
  let mapEnd = checkpoint;
  outer: for (const w of windows(dirty)) {
    for (const { entry, records } of await readEntries(engine, w)) {
      // A commit marker's key is its control type, not a record key: it supersedes nothing.
      const keyed = entry.isControl ? [] : records;
      const fresh = new Set(keyed.filter((r) => r.key !== null && !latest.has(digest(r.key))).map((r) => digest(r.key!)));
      if (latest.size + fresh.size > maxKeys && latest.size > 0) break outer;
      for (const r of keyed) if (r.key !== null) latest.set(digest(r.key), r.offset);
      mapEnd = entry.lastOffset + 1;
    }
  }
  const toClean = cleanable.filter((e) => e.baseOffset < mapEnd);
  const tombstoneHorizon = now - settings.deleteRetentionMs;
  const keep = (r: { key: Buffer | null; value: Buffer | null; offset: number }, e: IndexEntry) => {
    // Commit markers are kept for delete.retention.ms, as Kafka's cleaner keeps them, then dropped
    // (no aborted record is ever in Floe's log, so nothing needs them after that).
    if (e.isControl) return e.appendTime >= tombstoneHorizon;
    // Records without a key cannot be superseded; Kafka refuses them on compacted topics, Floe keeps them.
    if (r.key === null) return true;
    const newest = latest.get(digest(r.key));
    if (newest !== undefined && newest > r.offset) return false;
    if (r.value === null && e.appendTime < tombstoneHorizon) return false;
    return true;
  };
  const ws = windows(toClean);
  for (let i = 0; i < ws.length; i++) {
    const last = i === ws.length - 1;
    const extra = last ? [engine.log.cleanerCheckpointParams(pk, mapEnd, Date.now())] : [];
    const r = await rewriteWindow(engine, pk, ws[i]!, keep, settings, extra);
    if (!r.ok) {
      // A concurrent cleaner or retention got there first; this pass stops and the next one converges.
      s.conflicts++;
      return;
    }
    s.rewrote.batches += r.newBatches;
    s.rewrote.objects += r.newBatches > 0 ? 1 : 0;
    s.rewrote.bytes_before += r.oldBytes;
    s.rewrote.bytes_after += r.newBytes;
    s.removed.records += r.removedRecords;
    s.removed.batches += r.oldBatches - r.newBatches;
    s.removed.bytes += Math.max(0, r.oldBytes - r.newBytes);
  }
}


/**
 * Merging: runs of consecutive small batches (outside the active part) become one larger batch each,
 * in a new per-partition object, every record kept at its offset. Fewer index entries and GETs per
 * fetched byte.
 */
async function mergePartition(engine: Engine, pk: string, settings: TopicSettings, now: number, s: JobSummary): Promise<void> {
  const { topicId, partition } = parsePartitionKey(pk);
  const head = await engine.log.getHead(topicId, partition);
  if (!head.exists) return;
  const all = await engine.log.entriesBetween(pk, head.logStartOffset, head.highWatermark - 1);
  if (!settings.cleanupPolicy.compact) s.examined.batches += all.length;
  // Merging needs no segment.ms, but leaves the last batch (still being read at the tail) and anything
  // appended within a commit deadline: a producer whose commit answer was lost looks for its own entry
  // during that time, and must find it as it wrote it.
  const candidates = all.slice(0, Math.max(0, all.length - 1));
  const runs: IndexEntry[][] = [];
  let run: IndexEntry[] = [];
  // Index entries tile the log, so a run of consecutive ones can become one batch; anything that may
  // not be merged ends the run.
  for (const e of candidates) {
    if (e.length < SMALL_BATCH_BYTES && !e.isControl && !e.isTransactional && e.appendTime <= now - MERGE_MIN_AGE_MS) run.push(e);
    else {
      if (run.length > 1) runs.push(run);
      run = [];
    }
  }
  if (run.length > 1) runs.push(run);
  for (const r of runs) {
    for (const w of windows(r)) {
      if (w.length < 2) continue;
      const result = await rewriteWindow(engine, pk, w, () => true, settings);
      if (!result.ok) {
        s.conflicts++;
        return;
      }
      s.rewrote.batches += result.newBatches;
      s.rewrote.objects += 1;
      s.rewrote.bytes_before += result.oldBytes;
      s.rewrote.bytes_after += result.newBytes;
      s.removed.batches += result.oldBatches - result.newBatches;
    }
  }
}
