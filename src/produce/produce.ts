// Produce: the commit protocol of DESIGN.md. One S3 PUT of all the request's batches, one strongly
// consistent read of the touched partition heads, one DynamoDB transaction that assigns offsets by
// conditional writes. The transaction is the commit point: before it no offset exists, after it every
// record of the request is readable at its offset.
import { createHash } from 'node:crypto';
import { TransactionCanceledException, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { encodeRecordBatch, partitionForKey, type RecordHeader } from '../log/index.ts';
import { FloeError, PartitionNotFoundError, RetriableStorageError, TopicNotFoundError } from '../errors.ts';
import type { AwsClients } from '../storage/clients.ts';
import type { DataBucket } from '../storage/data-bucket.ts';
import { HEAD_SORT_KEY, newObjectKey, objectKeyTime, partitionKey } from '../storage/keys.ts';
import { headFromItem, itemToEntry, type IndexEntry, type LogTable, type PartitionHead } from '../storage/log-table.ts';
import { consistentBatchGet } from '../storage/batch-get.ts';
import type { ProducersTable, ProducerState } from '../storage/producers-table.ts';
import type { ObjectsTable } from '../storage/objects-table.ts';
import { topicSettings, type TopicSettings } from '../topics/configs.ts';
import type { Topic, TopicService } from '../topics/topics.ts';
import type { Metrics } from '../metrics.ts';

export interface ProduceRecord {
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers?: RecordHeader[];
  /** Target partition; when absent the partitioner chooses. */
  partition?: number;
  /** CreateTime in ms; defaults to now. Ignored under message.timestamp.type=LogAppendTime. */
  timestamp?: number;
}

export interface ProducedRecord {
  partition: number;
  offset: number;
  timestamp: number;
}

export interface FailedRecord {
  partition: number;
  error: FloeError;
}

export interface ProduceResult {
  topic: string;
  /** One per request record, in request order. */
  records: Array<ProducedRecord | FailedRecord>;
  /** DynamoDB transactions the commit took: more than one when the request touched too many partitions. */
  transactions: number;
  objectKey: string;
}

export interface IdempotentProducer {
  /** From Producer.allocateProducerId(). */
  id: number;
  /** A producer that restarts bumps its epoch; requests of an older epoch are fenced. */
  epoch: number;
  /** One per request, increasing; a retry of a request sends the same sequence. */
  sequence: number;
}

export interface ProduceOptions {
  /** Sends every record without its own partition here. */
  partition?: number;
  /** Makes the request idempotent: a retry with the same sequence gets the first attempt's offsets. */
  producer?: IdempotentProducer;
}

/**
 * The latest record timestamp Floe takes: 9999-12-31T23:59:59.999Z, the end of what ISO-8601 answers
 * can print and the time index's fixed-width key can hold. Kafka allows any long; no real clock gets here.
 */
export const MAX_TIMESTAMP_MS = 253_402_300_799_999;

/** Items one TransactWriteItems may hold. */
export const MAX_TRANSACTION_ITEMS = 100;
/** Items every commit transaction spends besides the per-partition ones: the topic check and the object record. */
const FIXED_ITEMS = 2;
const MAX_COMMIT_ATTEMPTS = 12;
/** A commit starts no later than this after its object was named; GC's grace period must be well above it. */
export const COMMIT_DEADLINE_MS = 2 * 60 * 1000;

interface PlannedBatch {
  partition: number;
  /** Indexes into the request's records. */
  recordIndexes: number[];
  bytes: Buffer;
  position: number;
  firstTimestamp: number;
  maxTimestamp: number;
  timestamps: number[];
}

interface CommitResult {
  /** Base offset per planned batch. */
  baseOffsets: Map<PlannedBatch, number>;
  /** True when an earlier attempt of this idempotent request had committed it. */
  duplicate?: boolean;
}

export interface ProducerDeps {
  clients: AwsClients;
  topics: TopicService;
  log: LogTable;
  objects: ObjectsTable;
  bucket: DataBucket;
  producers: ProducersTable;
  metrics?: Metrics;
  /** Called after each commit with the partitions it appended to (wakes local long-polls). */
  onCommit?: (topicId: string, partition: number) => void;
}

export class Producer {
  private keylessCounter = Math.floor(Math.random() * 1_000_000);

  constructor(private readonly deps: ProducerDeps) {}

  async produce(topicName: string, records: ProduceRecord[], options: ProduceOptions = {}): Promise<ProduceResult> {
    if (records.length === 0) throw new FloeError('VALIDATION', 'records may not be empty');
    records.forEach((r, i) => {
      if (r.timestamp !== undefined && (!Number.isSafeInteger(r.timestamp) || r.timestamp < 0 || r.timestamp > MAX_TIMESTAMP_MS)) {
        throw new FloeError('VALIDATION', `records[${i}].timestamp must be epoch milliseconds between 0 and ${MAX_TIMESTAMP_MS} (9999-12-31)`);
      }
    });
    const producer = options.producer;
    if (producer) validateProducer(producer);
    const { topic, batches } = await this.resolveAndPlan(topicName, records, options);

    // Step 2: one PUT for the whole request, whatever the number of records and partitions.
    let position = 0;
    for (const b of batches) {
      b.position = position;
      position += b.bytes.length;
    }
    const objectKey = newObjectKey();
    const body = batches.length === 1 ? batches[0]!.bytes : Buffer.concat(batches.map((b) => b.bytes), position);
    await this.deps.bucket.put(objectKey, body);

    // Steps 3-5 per transaction-sized chunk of partitions.
    const chunks = chunkByItems(batches, producer ? 1 : 0);
    const results: Array<ProducedRecord | FailedRecord | undefined> = new Array(records.length);
    await Promise.all(
      chunks.map(async (chunk) => {
        try {
          const { baseOffsets } = await this.commit(topic, chunk, objectKey, body.length, producer);
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
    try {
      topic = await this.deps.topics.resolve(topicName);
    } catch (e) {
      if (!(e instanceof TopicNotFoundError)) throw e;
      const prospective = this.deps.topics.prospective(topicName);
      this.plan(prospective, topicSettings(prospective.configs), records, options);
      topic = await this.deps.topics.resolve(topicName, { autoCreate: true });
    }
    return { topic, batches: this.plan(topic, topicSettings(topic.configs), records, options) };
  }

  /** Step 1: choose partitions and encode one batch per partition (more when max.message.bytes demands). */
  private plan(topic: Topic, settings: TopicSettings, records: ProduceRecord[], options: ProduceOptions): PlannedBatch[] {
    const now = Date.now();
    // Kafka's sticky partitioner: keyless records of one request stay together on one partition. For an
    // idempotent request that partition follows from the producer id and sequence, so a retry (perhaps
    // served by another process) goes where the first attempt went and finds its sequence there.
    let keyless: number | undefined = options.producer ? partitionForKey(Buffer.from(`${options.producer.id}:${options.producer.sequence}`), topic.partitions) : undefined;
    const byPartition = new Map<number, number[]>();
    records.forEach((r, i) => {
      const explicit = r.partition ?? options.partition;
      let p: number;
      if (explicit !== undefined) p = explicit;
      else if (r.key) p = partitionForKey(r.key, topic.partitions);
      else p = keyless ??= this.keylessCounter++ % topic.partitions;
      if (!Number.isInteger(p) || p < 0 || p >= topic.partitions) throw new PartitionNotFoundError(topic.topic, p);
      let list = byPartition.get(p);
      if (!list) byPartition.set(p, (list = []));
      list.push(i);
    });
    const out: PlannedBatch[] = [];
    for (const [partition, indexes] of [...byPartition.entries()].sort((a, b) => a[0] - b[0])) {
      this.encodeInto(out, partition, indexes, records, settings, now, options.producer);
    }
    return out;
  }

  private encodeInto(out: PlannedBatch[], partition: number, indexes: number[], records: ProduceRecord[], settings: TopicSettings, now: number, producer?: IdempotentProducer): void {
    const timestamps = indexes.map((i) => (settings.logAppendTime ? now : records[i]!.timestamp ?? now));
    const bytes = encodeRecordBatch(
      indexes.map((i, j) => ({ key: records[i]!.key, value: records[i]!.value, headers: records[i]!.headers ?? [], timestamp: timestamps[j]! })),
      {
        compression: settings.compression,
        timestampType: settings.logAppendTime ? 'log-append' : 'create',
        ...(producer ? { producerId: producer.id, producerEpoch: producer.epoch, baseSequence: producer.sequence } : {}),
      },
    );
    if (bytes.length > settings.maxMessageBytes) {
      if (indexes.length === 1) {
        throw new FloeError(
          'RECORD_TOO_LARGE',
          `record ${indexes[0]} is ${bytes.length} bytes as a batch, over the topic's max.message.bytes (${settings.maxMessageBytes})`,
        );
      }
      // Kafka bounds the batch, not the request: split and keep the order.
      const half = Math.ceil(indexes.length / 2);
      this.encodeInto(out, partition, indexes.slice(0, half), records, settings, now, producer);
      this.encodeInto(out, partition, indexes.slice(half), records, settings, now, producer);
      return;
    }
    out.push({
      partition,
      recordIndexes: indexes,
      bytes,
      position: 0,
      firstTimestamp: timestamps[0]!,
      maxTimestamp: Math.max(...timestamps),
      timestamps,
    });
  }

  /**
   * Steps 3-5: read heads, write the transaction, and on a lost race re-read and retry, bounded and
   * jittered. An attempt whose outcome is unknown (lost response, timeout) may have committed: before
   * retrying, and before giving up, look for our own index entries where that attempt would have put them.
   */
  private async commit(topic: Topic, batches: PlannedBatch[], objectKey: string, objectBytes: number, producer?: IdempotentProducer): Promise<CommitResult> {
    const partitions = [...new Set(batches.map((b) => b.partition))];
    const probes: Array<Map<number, PartitionHead>> = [];
    let lastError: unknown;
    for (let attempt = 0; attempt < MAX_COMMIT_ATTEMPTS; attempt++) {
      if (probes.length > 0) {
        const won = await this.findOwnCommit(topic, batches, objectKey, probes);
        if (won) return won;
      }
      if (attempt > 0) await sleep(backoff(attempt));
      // The garbage collector takes an unreferenced object older than its grace period for an orphan:
      // a commit must never land that late, so a slow one gives up while it is still safe.
      if (Date.now() - objectKeyTime(objectKey)! > COMMIT_DEADLINE_MS) {
        throw new RetriableStorageError(`commit did not succeed within ${COMMIT_DEADLINE_MS} ms of the upload; nothing was written`, lastError);
      }
      const { heads, states } = await this.readState(topic, partitions, producer);
      if (producer) {
        const duplicate = this.duplicateOf(topic, batches, states, producer);
        if (duplicate) return duplicate;
      }
      const { items, baseOffsets } = this.transactionItems(topic, batches, heads, objectKey, objectBytes, producer && { producer, states });
      try {
        await this.deps.clients.ddb.send(
          new TransactWriteCommand({ TransactItems: items as never, ClientRequestToken: requestToken(items) }),
        );
        if (attempt > 0) this.deps.metrics?.commitRetries(attempt);
        return { baseOffsets };
      } catch (e) {
        lastError = e;
        if (e instanceof TransactionCanceledException) {
          const reasons = e.CancellationReasons ?? [];
          if (reasons[0]?.Code === 'ConditionalCheckFailed') {
            // The topic was deleted (or deleted and re-created) since we resolved it.
            this.deps.topics.forget(topic.topic);
            throw new FloeError('TOPIC_NOT_FOUND', `Topic '${topic.topic}' was deleted while the produce was in flight; nothing was written.`);
          }
          const lostRace = reasons.some((r) => r.Code === 'ConditionalCheckFailed' || r.Code === 'TransactionConflict');
          const retriable = lostRace || reasons.some((r) => r.Code === 'ThrottlingError' || r.Code === 'ProvisionedThroughputExceeded');
          if (!retriable) throw new FloeError('STORAGE', `commit refused: ${reasons.map((r) => r.Code).join(',')}`, { cause: e });
          // A cancelled transaction was not applied; earlier ambiguous attempts stay probed on the next turn.
          continue;
        }
        if (!isAmbiguous(e)) throw new FloeError('STORAGE', `commit failed: ${(e as Error).message}`, { cause: e });
        probes.push(heads);
      }
    }
    if (probes.length > 0) {
      const won = await this.findOwnCommit(topic, batches, objectKey, probes);
      if (won) return won;
    }
    throw new RetriableStorageError(`commit did not succeed after ${MAX_COMMIT_ATTEMPTS} attempts; nothing was written`, lastError);
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

  /**
   * The request's sequence already committed on every partition of the chunk: a retry, answered with
   * the offsets the first attempt got. A fenced epoch or a sequence that is neither new nor remembered
   * is refused.
   */
  private duplicateOf(topic: Topic, batches: PlannedBatch[], states: Map<number, ProducerState>, producer: IdempotentProducer): CommitResult | undefined {
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
    return { baseOffsets, duplicate: true };
  }

  private transactionItems(
    topic: Topic,
    batches: PlannedBatch[],
    heads: Map<number, PartitionHead>,
    objectKey: string,
    objectBytes: number,
    idempotent?: { producer: IdempotentProducer; states: Map<number, ProducerState> },
  ) {
    const now = Date.now();
    const items: TransactWriteItem[] = [
      // First item, so a cancellation reason at index 0 means exactly "the topic changed".
      {
        ConditionCheck: {
          TableName: this.deps.topics.tableName,
          Key: { topic: topic.topic } as never,
          ConditionExpression: 'id = :id',
          ExpressionAttributeValues: { ':id': topic.id } as never,
        },
      },
    ];
    const baseOffsets = new Map<PlannedBatch, number>();
    const byPartition = new Map<number, PlannedBatch[]>();
    for (const b of batches) {
      let list = byPartition.get(b.partition);
      if (!list) byPartition.set(b.partition, (list = []));
      list.push(b);
    }
    for (const [partition, list] of byPartition) {
      const head = heads.get(partition)!;
      const pk = partitionKey(topic.id, partition);
      let next = head.next;
      let runningMax = head.maxTs;
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
        items.push(this.deps.log.entryPutParams(pk, entry));
        next += b.recordIndexes.length;
        records += b.recordIndexes.length;
        bytes += b.bytes.length;
      }
      items.push(this.deps.log.headAppendParams(pk, head, { records, bytes, maxTimestamp: runningMax, appendTime: now }));
      if (idempotent) {
        const { producer, states } = idempotent;
        items.push(this.deps.producers.putStateParams(pk, producer.id, states.get(partition)!, producer.epoch, { seq: producer.sequence, base: head.next, count: records }, now));
      }
    }
    items.push(this.deps.objects.addRefsParams(objectKey, batches.length, objectBytes, now));
    return { items, baseOffsets };
  }

  /** Did one of the probed attempts commit? Its first batch's entry would sit at the head's old `next`. */
  private async findOwnCommit(topic: Topic, batches: PlannedBatch[], objectKey: string, probes: Array<Map<number, PartitionHead>>): Promise<CommitResult | undefined> {
    const first = batches[0]!;
    const pk = partitionKey(topic.id, first.partition);
    for (const heads of probes) {
      const at = heads.get(first.partition)!.next;
      const r = await this.deps.clients.ddb.send(new GetCommand({ TableName: this.deps.log.table, Key: { p: pk, o: at }, ConsistentRead: true }));
      if (!r.Item || r.Item.o === HEAD_SORT_KEY) continue;
      const entry = itemToEntry(r.Item);
      if (entry.objectKey === objectKey && entry.position === first.position) {
        // The transaction is atomic: the first batch being there means every batch of it is.
        const { baseOffsets } = this.transactionItems(topic, batches, heads, objectKey, 0);
        return { baseOffsets };
      }
    }
    return undefined;
  }
}

/**
 * Groups batches (whole partitions at a time) into transactions of at most MAX_TRANSACTION_ITEMS items:
 * per partition its entries, its head and, when idempotent, its producer state.
 */
function chunkByItems(batches: PlannedBatch[], extraPerPartition: number): PlannedBatch[][] {
  const byPartition = new Map<number, PlannedBatch[]>();
  for (const b of batches) {
    let list = byPartition.get(b.partition);
    if (!list) byPartition.set(b.partition, (list = []));
    list.push(b);
  }
  const chunks: PlannedBatch[][] = [];
  let current: PlannedBatch[] = [];
  let used = FIXED_ITEMS;
  for (const list of byPartition.values()) {
    const need = list.length + 1 + extraPerPartition;
    if (need + FIXED_ITEMS > MAX_TRANSACTION_ITEMS) {
      throw new FloeError('PAYLOAD_TOO_LARGE', `too many batches (${list.length}) for partition ${list[0]!.partition} in one request; send fewer records per request`);
    }
    if (used + need > MAX_TRANSACTION_ITEMS) {
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

/**
 * Same transaction, same token: the SDK's own retry of the very transaction (after a lost response) is
 * recognised by DynamoDB for 10 minutes and not applied twice. A retry after re-reading the heads is a
 * different transaction (other offsets, another append time) and gets a different token: reusing one
 * with other parameters is an IdempotentParameterMismatch. The object key in every item makes tokens
 * of different requests differ.
 */
function requestToken(items: TransactWriteItem[]): string {
  return createHash('sha256').update(JSON.stringify(items)).digest('hex').slice(0, 36);
}

function validateProducer(p: IdempotentProducer): void {
  for (const [name, v, min] of [['producer id', p.id, 1], ['producer epoch', p.epoch, 0], ['sequence', p.sequence, 0]] as const) {
    if (!Number.isSafeInteger(v) || v < min) throw new FloeError('VALIDATION', `${name} must be an integer >= ${min}`);
  }
  if (p.epoch > 32767) throw new FloeError('VALIDATION', 'producer epoch must fit in 16 bits');
}

/** Errors after which the transaction may or may not have been applied. */
function isAmbiguous(e: unknown): boolean {
  const err = e as { name?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number }; code?: string };
  if (err.$retryable) return true;
  const status = err.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  const name = err.name ?? '';
  return (
    /Timeout|TimeoutError|NetworkingError|ECONNRESET|EPIPE|ETIMEDOUT|AbortError|Throttl|ProvisionedThroughputExceeded|RequestLimitExceeded|TransactionInProgress|InternalServerError|ServiceUnavailable/.test(name) ||
    /ECONNRESET|EPIPE|ETIMEDOUT|socket hang up/.test(String(err.code ?? (e as Error).message ?? ''))
  );
}

function backoff(attempt: number): number {
  const cap = Math.min(1000, 10 * 2 ** attempt);
  return cap / 2 + Math.random() * (cap / 2);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
