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
import { newObjectKey } from '../storage/keys.ts';
import { topicSettings } from '../topics/configs.ts';
import type { Topic, TopicService } from '../topics/topics.ts';
import { BatchAppender, type AppendDeps } from './append.ts';
import { chunkByItems, planBatches } from './plan.ts';
import type { FailedRecord, PlannedBatch, ProducedRecord, ProduceOptions, ProduceRecord, ProduceResult } from './types.ts';
import { validateProducer, validateRecords } from './validate.ts';

export type { FailedRecord, IdempotentProducer, ProducedRecord, ProduceOptions, ProduceRecord, ProduceResult } from './types.ts';
export { MAX_TIMESTAMP_MS } from './validate.ts';

export interface LogAppenderDeps extends AppendDeps {
  bucket: DataBucket;
  /** Called after each commit with the partitions it appended to (wakes local long-polls). */
  onCommit?: (topicId: string, partition: number) => void;
}

export class LogAppender {
  private keylessCounter = Math.floor(Math.random() * 1_000_000);
  private readonly appender: BatchAppender;

  constructor(private readonly deps: LogAppenderDeps) {
    this.appender = new BatchAppender(deps);
  }

  async produce(topicName: string, records: ProduceRecord[], options: ProduceOptions = {}): Promise<ProduceResult> {
    validateRecords(records);
    const producer = options.producer;
    if (producer) validateProducer(producer);
    const { topic, batches } = await this.resolveAndPlan(topicName, records, options);

    // Step 2: one PUT for the whole request, whatever the number of records and partitions.
    const objectKey = newObjectKey();
    const body = batches.length === 1 ? batches[0]!.bytes : Buffer.concat(batches.map((b) => b.bytes));
    await this.deps.bucket.put(objectKey, body);

    // Steps 3-5 per transaction-sized chunk of partitions.
    const chunks = chunkByItems(batches, producer !== undefined);
    const results: Array<ProducedRecord | FailedRecord | undefined> = new Array(records.length);
    await Promise.all(
      chunks.map(async (chunk) => {
        try {
          const baseOffsets = await this.appender.append(topic, chunk, objectKey, body.length, producer);
          for (const p of new Set(chunk.map((b) => b.partition))) this.deps.onCommit?.(topic.id, p);
          for (const b of chunk) {
            const base = baseOffsets.get(b)!;
            b.recordIndexes.forEach((ri, j) => (results[ri] = { partition: b.partition, offset: base + j, timestamp: b.timestamps[j]! }));
          }
        } catch (e) {
          const error = e instanceof FloeError ? e : new FloeError('STORAGE', `storage error: ${(e as Error).message}`, { cause: e });
          if (chunks.length === 1) throw error;
          for (const b of chunk) for (const ri of b.recordIndexes) results[ri] = { partition: b.partition, error };
        }
      }),
    );
    return { topic: topic.topic, records: results as Array<ProducedRecord | FailedRecord>, transactions: chunks.length, objectKey };
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
