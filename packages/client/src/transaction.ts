// A transaction of a transactional producer, shaped like kafkajs's: sends and group offsets staged on
// the server, then one commit that publishes them all (or an abort that drops them). Floe appends a
// transaction's records to the log only when it commits, so no reader ever sees an open or aborted one.
import { FloeError, InvalidTransactionStateError, ProducerFencedError } from './errors.ts';
import type { ProducerBatch, ProducerRecord, RecordMetadata } from './producer.ts';

/** kafkajs's `sendOffsets` argument: offsets are the next ones to read, as numbers or numeric strings. */
export interface TransactionOffsets {
  consumerGroupId: string;
  topics: Array<{ topic: string; partitions: Array<{ partition: number; offset: string | number; metadata?: string | null }> }>;
}

/** One offset of a group, as the server takes it. */
export interface WireOffset {
  topic: string;
  partition: number;
  offset: number;
  metadata: string | null;
}

/** What a transaction asks of its producer: each call in order, each with the producer's current epoch. */
export interface TransactionChannel {
  /** Stages one topic's messages under the next sequence (a retry reuses it). */
  stage(record: ProducerRecord): Promise<RecordMetadata[]>;
  offsets(groupId: string, offsets: WireOffset[]): Promise<void>;
  end(how: 'commit' | 'abort'): Promise<void>;
  /** Runs `fn` after every call of the producer's transactions before it has settled. */
  serial<T>(fn: () => Promise<T>): Promise<T>;
}

/**
 * An open transaction: `send`, `sendBatch` and `sendOffsets` stage, `commit` publishes everything
 * staged at once, `abort` drops it. After either, the object refuses further calls (`isActive()` is
 * false). A send that failed leaves the transaction only abortable, as in Kafka: what it staged is
 * unknown. Sends resolve with each partition written to, with no offsets yet (`baseOffset` '-1',
 * `offsets` empty): offsets exist once the transaction commits.
 *
 * @example
 * const producer = floe.producer({ transactionalId: 'billing-1' });
 * await producer.connect();
 * const txn = await producer.transaction();
 * try {
 *   await txn.send({ topic: 'invoices', messages: [{ key: 'alice', value: 'paid' }] });
 *   await txn.sendOffsets({ consumerGroupId: 'billing', topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: '42' }] }] });
 *   await txn.commit();
 * } catch (e) {
 *   await txn.abort();
 *   throw e;
 * }
 */
export class Transaction {
  private active = true;
  /** Something may be staged on the server: an empty transaction ends without a call. */
  private touched = false;
  private failure?: unknown;
  /** commit or abort was called: no more sends (they would land in the producer's next transaction). */
  private ending = false;

  constructor(private readonly channel: TransactionChannel) {}

  /** Whether the transaction still takes sends (neither committed nor aborted). @example `if (txn.isActive()) await txn.abort()` */
  isActive(): boolean {
    return this.active;
  }

  /**
   * Stages messages to one topic in the transaction (partitioned as `producer.send` does).
   *
   * @example
   * const [meta] = await txn.send({ topic: 'invoices', messages: [{ key: 'alice', value: 'paid' }] });
   * console.log(meta.partition); // meta.baseOffset is '-1' until the commit
   */
  async send(record: ProducerRecord): Promise<RecordMetadata[]> {
    this.check('send');
    this.touched = true;
    try {
      return await this.channel.stage(record);
    } catch (e) {
      this.fail(e);
      throw e;
    }
  }

  /**
   * Stages messages to several topics (one request per topic, in order).
   *
   * @example
   * await txn.sendBatch({ topicMessages: [{ topic: 'a', messages: [{ value: '1' }] }, { topic: 'b', messages: [{ value: '2' }] }] });
   */
  async sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    this.check('sendBatch');
    const results = await Promise.all(batch.topicMessages.map((t) => this.send({ topic: t.topic, messages: t.messages })));
    return results.flat();
  }

  /**
   * Kafka's sendOffsetsToTransaction: the group's committed offsets move to these if and only if the
   * transaction commits (each offset is the next one the group will read, as in a commit).
   *
   * @example
   * await txn.sendOffsets({ consumerGroupId: 'billing', topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: '43' }] }] });
   */
  async sendOffsets(request: TransactionOffsets): Promise<void> {
    this.check('sendOffsets');
    if (typeof request?.consumerGroupId !== 'string' || request.consumerGroupId === '') throw new FloeError('sendOffsets needs a consumerGroupId', { code: 40002, status: 0 });
    const offsets: WireOffset[] = [];
    for (const t of request.topics ?? []) {
      for (const p of t.partitions ?? []) {
        const offset = typeof p.offset === 'string' && /^\d+$/.test(p.offset) ? Number(p.offset) : p.offset;
        if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
          throw new FloeError(`sendOffsets: the offset of ${t.topic} partition ${p.partition} must be a non-negative integer (or its string), not ${JSON.stringify(p.offset)}`, { code: 40002, status: 0 });
        }
        offsets.push({ topic: t.topic, partition: p.partition, offset, metadata: p.metadata ?? null });
      }
    }
    if (offsets.length === 0) return;
    this.touched = true;
    try {
      await this.channel.offsets(request.consumerGroupId, offsets);
    } catch (e) {
      this.fail(e);
      throw e;
    }
  }

  /**
   * Publishes everything staged, atomically, once every call made before it has settled; then the
   * transaction is over. Refused (InvalidTransactionStateError) after a failed send: abort instead.
   *
   * @example
   * await txn.commit();
   */
  async commit(): Promise<void> {
    this.check('commit', true);
    this.ending = true;
    await this.channel.serial(async () => {
      if (this.failure !== undefined) {
        throw new InvalidTransactionStateError(`cannot commit: a call of this transaction failed (${(this.failure as Error)?.message ?? String(this.failure)}); abort it`, {
          code: 40906,
          status: 0,
          cause: this.failure,
        });
      }
      await this.finish('commit');
    });
  }

  /**
   * Drops everything staged; then the transaction is over.
   *
   * @example
   * await txn.abort();
   */
  async abort(): Promise<void> {
    this.check('abort', true);
    this.ending = true;
    await this.channel.serial(() => this.finish('abort'));
  }

  private async finish(how: 'commit' | 'abort'): Promise<void> {
    if (this.touched) {
      try {
        await this.channel.end(how);
      } catch (e) {
        // Fenced: the transaction was aborted by the producer that fenced this one; nothing more to do.
        if (e instanceof ProducerFencedError) this.close();
        throw e;
      }
    }
    this.close();
  }

  private close(): void {
    this.active = false;
  }

  private fail(e: unknown): void {
    this.failure ??= e;
    if (e instanceof ProducerFencedError) this.close();
  }

  private check(what: string, ends = false): void {
    if (this.active && this.ending && !ends) throw new InvalidTransactionStateError(`cannot ${what}: the transaction is being committed or aborted`, { code: 40906, status: 0 });
    if (!this.active) throw new InvalidTransactionStateError(`cannot ${what}: the transaction has ended (committed, aborted or fenced); begin another with producer.transaction()`, { code: 40906, status: 0 });
  }
}
