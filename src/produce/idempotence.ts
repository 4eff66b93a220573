// Kafka's ProducerStateManager, per request: what the producer state stored beside each partition says
// of an idempotent request's sequence. A retry of a committed request is answered with the offsets the
// first attempt got; a fenced epoch, or a sequence neither new nor remembered, is refused.
import { FloeError } from '../errors.ts';
import type { ProducerState } from '../storage/producers-table.ts';
import type { Topic } from '../topics/topics.ts';
import type { IdempotentProducer, PlannedBatch } from './types.ts';

/**
 * The base offset of each batch when the request's sequence already committed on every partition of
 * the chunk, undefined when it is new everywhere.
 */
export function committedBefore(topic: Topic, batches: PlannedBatch[], states: Map<number, ProducerState>, producer: IdempotentProducer): Map<PlannedBatch, number> | undefined {
  let found = 0;
  const bases = new Map<number, number>();
  for (const [partition, state] of states) {
    if (!state.exists || producer.epoch > state.epoch) continue;
    if (producer.epoch < state.epoch) {
      throw new FloeError('PRODUCER_FENCED', `producer ${producer.id} epoch ${producer.epoch} is fenced by epoch ${state.epoch} on ${topic.topic}/${partition}`);
    }
    const hit = state.seqs.find((s) => s.seq === producer.sequence);
    const newest = state.seqs[state.seqs.length - 1];
    if (hit) {
      found++;
      bases.set(partition, hit.base);
    } else if (newest && producer.sequence < newest.seq) {
      throw new FloeError('OUT_OF_ORDER_SEQUENCE', `sequence ${producer.sequence} of producer ${producer.id} is older than ${newest.seq} on ${topic.topic}/${partition} and no longer remembered`);
    }
  }
  if (found === 0) return undefined;
  if (found !== states.size) {
    throw new FloeError('OUT_OF_ORDER_SEQUENCE', `sequence ${producer.sequence} of producer ${producer.id} was committed on some partitions of the request and not others`);
  }
  const baseOffsets = new Map<PlannedBatch, number>();
  const next = new Map(bases);
  for (const b of batches) {
    baseOffsets.set(b, next.get(b.partition)!);
    next.set(b.partition, next.get(b.partition)! + b.recordIndexes.length);
  }
  return baseOffsets;
}
