// Step 1 of a produce: choose each record's partition and encode one batch per partition (more when
// max.message.bytes demands), then group the batches into transactions the commit unit can hold.
import { encodeRecordBatch, partitionForKey } from '../log/index.ts';
import { FloeError, PartitionNotFoundError } from '../errors.ts';
import { TRANSACTION_MAX_ITEMS } from '../storage/commit.ts';
import type { TopicSettings } from '../topics/configs.ts';
import type { Topic } from '../topics/topics.ts';
import type { IdempotentProducer, PlannedBatch, ProduceOptions, ProduceRecord } from './types.ts';

/**
 * Items every commit transaction spends besides the per-partition ones: the topic check and the object
 * record. Per partition: its entries, its head and, when idempotent, its producer state.
 */
const FIXED_ITEMS = 2;

/**
 * Partitions and encodes the records. `nextKeyless` gives the partition for the keyless records of a
 * request that is not idempotent (Kafka's sticky partitioner: they stay together on one partition).
 */
export function planBatches(topic: Topic, settings: TopicSettings, records: ProduceRecord[], options: ProduceOptions, nextKeyless: () => number): PlannedBatch[] {
  const now = Date.now();
  // For an idempotent request the keyless partition follows from the producer id and sequence, so a
  // retry (perhaps served by another process) goes where the first attempt went and finds its sequence.
  let keyless: number | undefined = options.producer ? partitionForKey(Buffer.from(`${options.producer.id}:${options.producer.sequence}`), topic.partitions) : undefined;
  const byPartition = new Map<number, number[]>();
  records.forEach((r, i) => {
    const explicit = r.partition ?? options.partition;
    let p: number;
    if (explicit !== undefined) p = explicit;
    else if (r.key) p = partitionForKey(r.key, topic.partitions);
    else p = keyless ??= nextKeyless() % topic.partitions;
    if (!Number.isInteger(p) || p < 0 || p >= topic.partitions) throw new PartitionNotFoundError(topic.topic, p);
    let list = byPartition.get(p);
    if (!list) byPartition.set(p, (list = []));
    list.push(i);
  });
  const out: PlannedBatch[] = [];
  for (const [partition, indexes] of [...byPartition.entries()].sort((a, b) => a[0] - b[0])) {
    encodeInto(out, partition, indexes, records, settings, now, options.producer, options.transactional === true);
  }
  let position = 0;
  for (const b of out) {
    b.position = position;
    position += b.bytes.length;
  }
  return out;
}

function encodeInto(out: PlannedBatch[], partition: number, indexes: number[], records: ProduceRecord[], settings: TopicSettings, now: number, producer: IdempotentProducer | undefined, transactional: boolean): void {
  const timestamps = indexes.map((i) => (settings.logAppendTime ? now : records[i]!.timestamp ?? now));
  const bytes = encodeRecordBatch(
    indexes.map((i, j) => ({ key: records[i]!.key, value: records[i]!.value, headers: records[i]!.headers ?? [], timestamp: timestamps[j]! })),
    {
      compression: settings.compression,
      timestampType: settings.logAppendTime ? 'log-append' : 'create',
      ...(producer ? { producerId: producer.id, producerEpoch: producer.epoch, baseSequence: producer.sequence } : {}),
      ...(transactional ? { isTransactional: true } : {}),
    },
  );
  if (bytes.length > settings.maxMessageBytes) {
    if (indexes.length === 1) {
      throw new FloeError('RECORD_TOO_LARGE', `record ${indexes[0]} is ${bytes.length} bytes as a batch, over the topic's max.message.bytes (${settings.maxMessageBytes})`);
    }
    // Kafka bounds the batch, not the request: split and keep the order.
    const half = Math.ceil(indexes.length / 2);
    encodeInto(out, partition, indexes.slice(0, half), records, settings, now, producer, transactional);
    encodeInto(out, partition, indexes.slice(half), records, settings, now, producer, transactional);
    return;
  }
  out.push({ partition, recordIndexes: indexes, bytes, position: 0, firstTimestamp: timestamps[0]!, maxTimestamp: Math.max(...timestamps), timestamps, ...(transactional ? { transactional } : {}) });
}

/** The batches by partition, in the order planned. */
export function byPartition(batches: PlannedBatch[]): Map<number, PlannedBatch[]> {
  const out = new Map<number, PlannedBatch[]>();
  for (const b of batches) {
    let list = out.get(b.partition);
    if (!list) out.set(b.partition, (list = []));
    list.push(b);
  }
  return out;
}

/** Groups batches, whole partitions at a time, into transactions of at most TRANSACTION_MAX_ITEMS items. */
export function chunkByItems(batches: PlannedBatch[], idempotent: boolean): PlannedBatch[][] {
  const chunks: PlannedBatch[][] = [];
  let current: PlannedBatch[] = [];
  let used = FIXED_ITEMS;
  for (const list of byPartition(batches).values()) {
    const need = list.length + 1 + (idempotent ? 1 : 0);
    if (need + FIXED_ITEMS > TRANSACTION_MAX_ITEMS) {
      throw new FloeError('PAYLOAD_TOO_LARGE', `too many batches (${list.length}) for partition ${list[0]!.partition} in one request; send fewer records per request`);
    }
    if (used + need > TRANSACTION_MAX_ITEMS) {
      chunks.push(current);
      current = [];
      used = FIXED_ITEMS;
    }
    current.push(...list);
    used += need;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
