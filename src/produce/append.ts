// Steps 3-5 of the commit protocol (DESIGN.md) for one transaction's worth of batches: read the heads
// (and producer state), write one transaction that assigns offsets by conditional writes, and on a lost
// race re-read and retry under the one retry policy. An attempt whose outcome is unknown (a lost answer,
// a timeout) may have committed: before retrying, and before giving up, look for our own index entries
// where that attempt would have put them.
import { FloeError, RetriableStorageError } from '../errors.ts';
import { COMMIT_DEADLINE_MS } from '../model/lifetimes.ts';
import type { IndexEntry, PartitionHead } from '../model/partition.ts';
import type { AwsClients } from '../storage/clients.ts';
import { consistentBatchGet } from '../storage/batch-get.ts';
import { AmbiguousCommitError, Commit, sendCommit } from '../storage/commit.ts';
import { objectKeyTime, partitionKey } from '../storage/keys.ts';
import { headFromItem, type LogTable } from '../storage/log-table.ts';
import type { ObjectsTable } from '../storage/objects-table.ts';
import type { ProducersTable, ProducerState } from '../storage/producers-table.ts';
import { DEFAULT_RETRY, RETRY, retrying } from '../storage/retry.ts';
import type { TopicService, Topic } from '../topics/topics.ts';
import type { Metrics } from '../metrics.ts';
import { committedBefore } from './idempotence.ts';
import { byPartition } from './plan.ts';
import type { IdempotentProducer, PlannedBatch } from './types.ts';

export interface AppendDeps {
  clients: AwsClients;
  topics: TopicService;
  log: LogTable;
  objects: ObjectsTable;
  producers: ProducersTable;
  metrics?: Metrics;
}

/** The base offset of each batch, once committed. */
export type BaseOffsets = Map<PlannedBatch, number>;

export class BatchAppender {
  constructor(private readonly deps: AppendDeps) {}

  /** Commits the batches (one transaction's worth) of an object already in the bucket. */
  async append(topic: Topic, batches: PlannedBatch[], objectKey: string, objectBytes: number, producer?: IdempotentProducer): Promise<BaseOffsets> {
    const partitions = [...byPartition(batches).keys()];
    // The heads each attempt of unknown outcome read: any of them may have committed.
    const probes: Array<Map<number, PartitionHead>> = [];
    // The garbage collector takes an unreferenced object older than its grace period for an orphan:
    // a commit must never land that late, so a slow one gives up while it is still safe.
    const deadline = objectKeyTime(objectKey)! + COMMIT_DEADLINE_MS;
    try {
      return await retrying(
        'commit',
        async (attempt) => {
          if (probes.length > 0) {
            const won = await this.findOwnCommit(topic, batches, objectKey, probes);
            if (won) return won;
          }
          const { heads, states } = await this.readState(topic, partitions, producer);
          if (producer) {
            const duplicate = committedBefore(topic, batches, states, producer);
            if (duplicate) return duplicate;
          }
          const { commit, baseOffsets } = this.commitOf(topic, batches, heads, objectKey, objectBytes, producer && { producer, states });
          let outcome;
          try {
            outcome = await sendCommit(this.deps.clients, commit, { idempotent: true });
          } catch (e) {
            if (e instanceof AmbiguousCommitError) probes.push(heads);
            throw e;
          }
          if (outcome.committed) {
            if (attempt > 0) this.deps.metrics?.commitRetries(attempt);
            return baseOffsets;
          }
          if (outcome.reason === 'topic-gone') {
            this.deps.topics.forget(topic.topic);
            throw new FloeError('TOPIC_NOT_FOUND', `Topic '${topic.topic}' was deleted while the produce was in flight; nothing was written.`);
          }
          return RETRY;
        },
        { ...DEFAULT_RETRY, deadline },
      );
    } catch (e) {
      if (probes.length > 0) {
        const won = await this.findOwnCommit(topic, batches, objectKey, probes);
        if (won) return won;
      }
      if (e instanceof RetriableStorageError) throw new RetriableStorageError(`${e.message}; nothing was written`, e.cause);
      throw e;
    }
  }

  /** Step 3: the heads, and the producer's state when idempotent, in one strongly consistent read. */
  private async readState(topic: Topic, partitions: number[], producer?: IdempotentProducer) {
    const keys = partitions.map((p) => this.deps.log.headKey(topic.id, p));
    if (producer) for (const p of partitions) keys.push(this.deps.producers.stateKey(partitionKey(topic.id, p), producer.id));
    const items = await consistentBatchGet(this.deps.clients, keys);
    const heads = new Map(partitions.map((p, i) => [p, headFromItem(items[i])]));
    const states = new Map<number, ProducerState>();
    if (producer) partitions.forEach((p, i) => states.set(p, this.deps.producers.stateFromItem(items[partitions.length + i])));
    return { heads, states };
  }

  /** Step 4: the transaction, and the offsets it assigns if it commits. */
  private commitOf(
    topic: Topic,
    batches: PlannedBatch[],
    heads: Map<number, PartitionHead>,
    objectKey: string,
    objectBytes: number,
    idempotent?: { producer: IdempotentProducer; states: Map<number, ProducerState> },
  ): { commit: Commit; baseOffsets: BaseOffsets } {
    const now = Date.now();
    // First, so that its failure tells exactly "the topic changed".
    const commit = new Commit().add(this.deps.topics.sameTopicCheck(topic), 'topic-gone');
    const baseOffsets: BaseOffsets = new Map();
    for (const [partition, list] of byPartition(batches)) {
      const head = heads.get(partition)!;
      const pk = partitionKey(topic.id, partition);
      let next = head.highWatermark;
      let runningMax = head.maxTimestamp;
      let records = 0;
      let bytes = 0;
      for (const b of list) {
        runningMax = Math.max(runningMax, b.maxTimestamp);
        const entry: IndexEntry = {
          baseOffset: next,
          lastOffset: next + b.recordIndexes.length - 1,
          recordCount: b.recordIndexes.length,
          objectKey,
          position: b.position,
          length: b.bytes.length,
          firstTimestamp: b.firstTimestamp,
          maxTimestamp: b.maxTimestamp,
          timeIndex: runningMax,
          appendTime: now,
          isControl: false,
          isTransactional: false,
          producerId: idempotent ? idempotent.producer.id : -1,
          producerEpoch: idempotent ? idempotent.producer.epoch : -1,
          baseSequence: idempotent ? idempotent.producer.sequence : -1,
        };
        baseOffsets.set(b, next);
        commit.add(this.deps.log.entryPutParams(pk, entry));
        next += b.recordIndexes.length;
        records += b.recordIndexes.length;
        bytes += b.bytes.length;
      }
      commit.add(this.deps.log.headAppendParams(pk, head, { records, bytes, maxTimestamp: runningMax, appendTime: now }));
      if (idempotent) {
        const { producer, states } = idempotent;
        commit.add(this.deps.producers.putStateParams(pk, producer.id, states.get(partition)!, producer.epoch, { seq: producer.sequence, base: head.highWatermark, count: records }, now));
      }
    }
    commit.add(this.deps.objects.addRefsParams(objectKey, batches.length, objectBytes, now));
    return { commit, baseOffsets };
  }

  /** Did one of the probed attempts commit? Its first batch's entry would sit at the head's old high watermark. */
  private async findOwnCommit(topic: Topic, batches: PlannedBatch[], objectKey: string, probes: Array<Map<number, PartitionHead>>): Promise<BaseOffsets | undefined> {
    const first = batches[0]!;
    const pk = partitionKey(topic.id, first.partition);
    for (const heads of probes) {
      const entry = await this.deps.log.getEntry(pk, heads.get(first.partition)!.highWatermark);
      if (entry && entry.objectKey === objectKey && entry.position === first.position) {
        // The transaction is atomic: the first batch being there means every batch of it is.
        return this.commitOf(topic, batches, heads, objectKey, 0).baseOffsets;
      }
    }
    return undefined;
  }
}
