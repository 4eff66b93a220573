// Retention: per partition, drop whole batches from the start of the log while they are past
// retention.ms (by their max timestamp) or the partition stays at or over retention.bytes without them
// (as Kafka deletes segments), advancing the log
// start offset in the same transaction as the deletes. Also reclaims partitions of deleted topics.
import type { Engine } from '../engine/engine.ts';
import { Commit, sendCommit, TRANSACTION_MAX_ITEMS } from '../storage/commit.ts';
import { parsePartitionKey, partitionKey } from '../storage/keys.ts';
import type { IndexEntry } from '../model/partition.ts';
import { topicSettings } from '../topics/configs.ts';
import { emptySummary, type JobSummary } from './summary.ts';

/** Entries deleted per transaction: with the head and at most one refs update per entry, one transaction's items. */
const CHUNK = Math.floor((TRANSACTION_MAX_ITEMS - 1) / 2);

export async function runRetention(engine: Engine, now = Date.now()): Promise<JobSummary> {
  const started = Date.now();
  const s = emptySummary('retention');
  // Transactions past their timeout are aborted here too (and completed where a crash stalled them).
  const swept = await engine.transactions.sweep(now);
  s.transactions = swept;
  const topics = await engine.topics.list();
  const live = new Set(topics.map((t) => t.id));
  for (const topic of topics) {
    s.examined.topics++;
    const settings = topicSettings(topic.configs);
    if (!settings.cleanupPolicy.delete) continue;
    for (let p = 0; p < topic.partitions; p++) {
      s.examined.partitions++;
      await retainPartition(engine, partitionKey(topic.id, p), settings.retentionMs, settings.retentionBytes, now, s);
    }
  }
  // Partitions whose topic is gone: everything goes.
  for (const { pk } of await engine.log.scanHeads()) {
    if (live.has(parsePartitionKey(pk).topicId)) continue;
    // A topic created after the list above may be live already: check before dropping its data.
    const { topicId } = parsePartitionKey(pk);
    if ((await engine.topics.list()).some((t) => t.id === topicId)) continue;
    s.examined.partitions++;
    await retainPartition(engine, pk, 0, 0, Number.POSITIVE_INFINITY, s, true);
  }
  s.ms = Date.now() - started;
  return s;
}

async function retainPartition(engine: Engine, pk: string, retentionMs: number, retentionBytes: number, now: number, s: JobSummary, dropPartition = false): Promise<void> {
  const { topicId, partition } = parsePartitionKey(pk);
  // A deleted topic's partition takes no more allocations; those in flight are settled or filled first.
  if (dropPartition) await engine.log.markGone(pk);
  for (let round = 0; round < 1000; round++) {
    let head = await engine.log.getHead(topicId, partition);
    if (!head.exists) return;
    // A writer that died after allocating leaves a hole no reader may be waiting at: fill it here.
    if (round === 0 && (await engine.watermarks.help(pk, head))) head = await engine.log.getHead(topicId, partition);
    // Entries past the high watermark are committed but not yet in the log: not retention's to drop.
    const entries = (await engine.log.entriesFrom(pk, head.logStartOffset, CHUNK + 1)).filter((e) => e.baseOffset < head.highWatermark);
    s.examined.batches += entries.length;
    const drop: IndexEntry[] = [];
    let bytes = head.bytes;
    for (const e of entries.slice(0, CHUNK)) {
      const tooOld = retentionMs >= 0 && e.maxTimestamp < now - retentionMs;
      // As Kafka: a batch goes for size only while the log stays at least retention.bytes without it,
      // and never the newest batch (Kafka keeps the active segment).
      const tooBig = retentionBytes >= 0 && bytes - e.length >= retentionBytes && e.lastOffset < head.highWatermark - 1;
      if (!(tooOld || tooBig || dropPartition)) break;
      drop.push(e);
      bytes -= e.length;
    }
    if (drop.length === 0) {
      if (dropPartition && entries.length === 0) await deleteBookkeeping(engine, pk, s);
      return;
    }
    const last = drop[drop.length - 1]!;
    const newStart = last.lastOffset + 1;
    const dropped = drop.reduce((n, e) => n + e.length, 0);
    const commit = new Commit().addAll(drop.map((e) => engine.log.entryDeleteParams(pk, e)));
    commit.add(engine.log.headAdvanceStartParams(pk, head.logStartOffset, newStart, dropped));
    const perObject = new Map<string, number>();
    for (const e of drop) perObject.set(e.objectKey, (perObject.get(e.objectKey) ?? 0) + 1);
    for (const [key, n] of perObject) commit.add(engine.objects.releaseRefsParams(key, n, Date.now()));
    if (!(await sendCommit(engine.clients, commit)).committed) {
      // Another retention run (or a produce touching the head) won: read again and carry on.
      s.conflicts++;
      continue;
    }
    s.removed.batches += drop.length;
    s.removed.records += drop.reduce((n, e) => n + e.recordCount, 0);
    s.removed.bytes += dropped;
    if (drop.length < CHUNK && !dropPartition) return;
  }
}

/** The last step of reclaiming a deleted topic's partition: its head and cleaner checkpoint. */
async function deleteBookkeeping(engine: Engine, pk: string, s: JobSummary): Promise<void> {
  const commit = new Commit().addAll(engine.log.partitionBookkeepingDeleteParams(pk));
  if (!(await sendCommit(engine.clients, commit)).committed) s.conflicts++;
}
