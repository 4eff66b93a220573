// Produce: the commit protocol of DESIGN.md. One S3 PUT of all the request's batches, one strongly
// consistent read of the touched partition heads, one DynamoDB transaction that assigns offsets by
// conditional writes. The transaction is the commit point: before it no offset exists, after it every
// record of the request is readable at its offset.
//
// LogAppender is the entry: validate (validate.ts), plan partitions and batches (plan.ts), upload, then
// commit each transaction's worth (append.ts), with idempotent requests checked against the producer
// state (idempotence.ts).
import { FloeError, TopicNotFoundError } from '../errors.ts';
import type { DataBucket } from '../storage/data-bucket.ts';
import { newObjectKey, partitionKey } from '../storage/keys.ts';
import { topicSettings } from '../topics/configs.ts';
import type { Topic, TopicService } from '../topics/topics.ts';
import { BatchAppender, type AppendDeps } from './append.ts';
import { GroupCommitter, type BatchOutcome, type GroupCommitOptions, type GroupedRequest, type GroupOutcome } from './group-commit.ts';
import { chunkByItems, planBatches } from './plan.ts';
import type { FailedRecord, IdempotentProducer, PlannedBatch, ProducedRecord, ProduceOptions, ProduceRecord, ProduceResult } from './types.ts';
import { validateProducer, validateRecords } from './validate.ts';

export type { FailedRecord, IdempotentProducer, ProducedRecord, ProduceOptions, ProduceRecord, ProduceResult } from './types.ts';
export { MAX_TIMESTAMP_MS } from './validate.ts';

export interface LogAppenderDeps extends AppendDeps {
  bucket: DataBucket;
  /** Called after each commit with the partitions it appended to (wakes local long-polls). */
  onCommit?: (topicId: string, partition: number) => void;
  /** Group commit of concurrent requests in this process; off when absent. */
  groupCommit?: GroupCommitOptions;
  /** One-batch requests commit alone (Config.soleCommits). */
  soleCommits?: boolean;
}

export class LogAppender {
  private keylessCounter = Math.floor(Math.random() * 1_000_000);
  private readonly appender: BatchAppender;
  private readonly groups: GroupCommitter;

  constructor(private readonly deps: LogAppenderDeps) {
    this.appender = new BatchAppender(deps);
    this.groups = new GroupCommitter(deps.groupCommit ?? { windowMs: 0, maxBytes: 0 }, (topic, requests) => this.write(topic, requests));
  }

  async produce(topicName: string, records: ProduceRecord[], options: ProduceOptions = {}): Promise<ProduceResult> {
    validateRecords(records);
    const producer = options.producer;
    if (producer) validateProducer(producer);
    const { topic, batches } = await this.resolveAndPlan(topicName, records, options);

    const { outcomes, objectKey } =
      producer || !this.groups.enabled
        ? await new Promise<GroupOutcome>((resolve, reject) => void this.write(topic, [{ batches, resolve, reject }], producer).catch(reject))
        : await this.groups.submit(topic, batches);
    const results: Array<ProducedRecord | FailedRecord> = new Array(records.length);
    const chunks = new Set<number>();
    let failure: FloeError | undefined;
    for (const b of batches) {
      const o = outcomes.get(b)!;
      chunks.add(o.chunk);
      if ('error' in o) {
        failure = o.error;
        for (const ri of b.recordIndexes) results[ri] = { partition: b.partition, error: o.error };
      } else {
        b.recordIndexes.forEach((ri, j) => (results[ri] = { partition: b.partition, offset: o.base + j, timestamp: b.timestamps[j]! }));
      }
    }
    // A request that went in one transaction failed or succeeded whole: its failure is the answer.
    if (failure && chunks.size === 1) throw failure;
    if (this.deps.metrics?.recordsProduced) {
      let count = 0;
      let bytes = 0;
      results.forEach((r, i) => {
        if ('error' in r) return;
        count++;
        bytes += (records[i]!.key?.length ?? 0) + (records[i]!.value?.length ?? 0);
      });
      if (count > 0) this.deps.metrics.recordsProduced(topic.topic, count, bytes);
    }
    return { topic: topic.topic, records: results, transactions: chunks.size, objectKey };
  }

  /**
   * Steps 2-5 for the batches of one or more requests: one PUT of all their batches, then a commit per
   * transaction-sized chunk of partitions. Each request learns how each of its batches fared.
   */
  private async write(topic: Topic, requests: GroupedRequest[], producer?: IdempotentProducer): Promise<void> {
    const batches = requests.flatMap((r) => r.batches);
    if (this.deps.soleCommits && batches.length === 1 && !producer && !this.appender.isCrowded(partitionKey(topic.id, batches[0]!.partition))) return this.writeSole(topic, requests, batches[0]!);
    let position = 0;
    for (const b of batches) {
      b.position = position;
      position += b.bytes.length;
    }
    const objectKey = newObjectKey();
    const body = batches.length === 1 ? batches[0]!.bytes : Buffer.concat(batches.map((b) => b.bytes), position);
    await this.deps.bucket.put(objectKey, body);
    const outcomes = new Map<PlannedBatch, BatchOutcome>();
    await Promise.all(
      chunkByItems(batches, producer !== undefined).map(async (chunk, i) => {
        try {
          const bases = await this.appender.append(topic, chunk, objectKey, body.length, producer);
          for (const p of new Set(chunk.map((b) => b.partition))) this.deps.onCommit?.(topic.id, p);
          for (const b of chunk) outcomes.set(b, { chunk: i, base: bases.get(b)! });
        } catch (e) {
          const error = e instanceof FloeError ? e : new FloeError('STORAGE', `storage error: ${(e as Error).message}`, { cause: e });
          for (const b of chunk) outcomes.set(b, { chunk: i, error });
        }
      }),
    );
    for (const r of requests) r.resolve({ outcomes, objectKey });
  }

  /**
   * One batch, not idempotent (most requests of a single producer): its offsets first, then the PUT
   * under a key naming them, then its entry alone, put without a transaction (BatchAppender.appendSole).
   */
  private async writeSole(topic: Topic, requests: GroupedRequest[], batch: PlannedBatch): Promise<void> {
    batch.position = 0;
    const outcomes = new Map<PlannedBatch, BatchOutcome>();
    let objectKey = '';
    let putError: unknown;
    const put = async (key: string) => {
      try {
        await this.deps.bucket.put(key, batch.bytes);
      } catch (e) {
        putError = e;
        throw e;
      }
    };
    try {
      const r = await this.appender.appendSole(topic, batch, { bytes: batch.bytes.length, put });
      objectKey = r.objectKey;
      this.deps.onCommit?.(topic.id, batch.partition);
      outcomes.set(batch, { chunk: 0, base: r.bases.get(batch)! });
    } catch (e) {
      // A failed upload fails the request as it came, as it does where the PUT comes first.
      if (e === putError) {
        for (const r of requests) r.reject(e);
        return;
      }
      const error = e instanceof FloeError ? e : new FloeError('STORAGE', `storage error: ${(e as Error).message}`, { cause: e });
      outcomes.set(batch, { chunk: 0, error });
    }
    for (const r of requests) r.resolve({ outcomes, objectKey });
  }

  /** The appender of ready batches: a transaction's roll-forward commits through it. */
  get batchAppender(): BatchAppender {
    return this.appender;
  }

  /**
   * Steps 1 and 2 only, for a transactional write: validate, plan and upload the records as
   * transactional batches; the producer's transaction stages them (src/transactions/).
   */
  async upload(topicName: string, records: ProduceRecord[], producer: IdempotentProducer): Promise<{ topic: Topic; batches: PlannedBatch[]; objectKey: string; bytes: number }> {
    validateRecords(records);
    const { topic, batches } = await this.resolveAndPlan(topicName, records, { producer, transactional: true });
    const objectKey = newObjectKey();
    const body = batches.length === 1 ? batches[0]!.bytes : Buffer.concat(batches.map((b) => b.bytes));
    await this.deps.bucket.put(objectKey, body);
    return { topic, batches, objectKey, bytes: body.length };
  }

  /** A new producer id for idempotent produce (Kafka's InitProducerId); epoch 0 goes with it. */
  allocateProducerId(): Promise<number> {
    return this.deps.producers.allocateId();
  }

  /**
   * A request that will be refused must not create its topic: for a missing topic the records are
   * first planned against the topic auto-creation would make, and only then is it created.
   */
  private async resolveAndPlan(topicName: string, records: ProduceRecord[], options: ProduceOptions): Promise<{ topic: Topic; batches: PlannedBatch[] }> {
    let topic: Topic;
    const nextKeyless = () => this.keylessCounter++;
    try {
      topic = await this.deps.topics.resolve(topicName);
    } catch (e) {
      if (!(e instanceof TopicNotFoundError)) throw e;
      const prospective = this.deps.topics.prospective(topicName);
      planBatches(prospective, topicSettings(prospective.configs), records, options, nextKeyless);
      topic = await this.deps.topics.resolve(topicName, { autoCreate: true });
    }
    return { topic, batches: planBatches(topic, topicSettings(topic.configs), records, options, nextKeyless) };
  }
}
