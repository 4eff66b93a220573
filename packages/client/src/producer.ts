// The batching producer, shaped like kafkajs's: sends to one topic that arrive within `lingerMs` travel
// in one native produce request, partitioned here (explicit, murmur2 of the key, or sticky) so the
// client knows each record's partition before the server does. Idempotent by default: one producer id,
// one increasing sequence per request, and a retry sends the very same body. With a transactionalId it
// is transactional: its sends go, one request at a time, into the transactions of transaction.ts.
import { partitionForKey, StickyPartitioner } from '../../partitioner/src/index.ts';
import { errorFromResponse, FloeError, InvalidTransactionStateError, PartitionNotFoundError, ProducerFencedError, TopicNotFoundError } from './errors.ts';
import type { Floe } from './floe.ts';
import { TopicMetadataCache } from './topic-metadata.ts';
import { Transaction, type TransactionChannel, type WireOffset } from './transaction.ts';

/** A record's key or value: text (UTF-8), bytes, or Kafka's null. */
export type MessageBytes = string | Buffer | Uint8Array | null;

/** One record to send, as kafkajs's `Message`. */
export interface Message {
  key?: MessageBytes;
  value: MessageBytes;
  partition?: number;
  headers?: Record<string, string | Buffer | Uint8Array | null | undefined>;
  /** CreateTime in ms since the epoch, as a number or a numeric string (kafkajs uses strings). */
  timestamp?: string | number;
}

/** kafkajs's acks: `-1`/`'all'` and `1` both wait for the commit (Floe has no weaker point); `0` does not wait. */
export type Acks = 'all' | -1 | 1 | 0;

export interface ProducerRecord {
  topic: string;
  messages: Message[];
  acks?: Acks;
  /** Accepted for kafkajs compatibility; storage compression is the topic's `compression.type`. */
  compression?: unknown;
}

export interface ProducerBatch {
  topicMessages: Array<{ topic: string; messages: Message[] }>;
  acks?: Acks;
  compression?: unknown;
}

/**
 * What a send resolves with, one entry per partition it wrote to, as kafkajs's `RecordMetadata`
 * (offsets as strings), plus `offsets`: the offset of each of this send's records in that partition,
 * in the order they were given.
 */
export interface RecordMetadata {
  topicName: string;
  partition: number;
  errorCode: number;
  baseOffset: string;
  logAppendTime: string;
  logStartOffset: string;
  offsets: number[];
}

export interface ProducerOptions {
  /** How long a batch waits for more sends before it is sent (ms). */
  lingerMs?: number;
  /** A batch is sent once its keys, values and headers reach this many bytes. */
  batchBytes?: number;
  /** A batch is sent once it holds this many records. */
  batchRecords?: number;
  acks?: Acks;
  /** A producer id and a sequence per request: a retried request is written once. */
  idempotent?: boolean;
  /** Accepted for kafkajs compatibility; storage compression is the topic's `compression.type`. */
  compression?: unknown;
  /**
   * Requests under way at once. Requests leave in the order their batches closed, and one that
   * writes to a partition an unanswered earlier request writes to waits for it (retries included),
   * so each partition's records are written in send order whatever this is.
   */
  maxInFlight?: number;
  /** kafkajs's name for `maxInFlight`. */
  maxInFlightRequests?: number;
  /**
   * Makes the producer transactional (kafkajs's option): `connect` initializes the id (fencing any
   * older producer with the same id), and messages are sent only through `producer.transaction()`.
   */
  transactionalId?: string;
  /** Kafka's transaction.timeout.ms: an open transaction older than this is aborted (1 000 to 900 000; default 60 000). */
  transactionTimeout?: number;
  /** How long topic metadata (the partition count) is cached (ms); kafkajs's `metadataMaxAge`. */
  metadataMaxAge?: number;
}

interface WireRecord {
  key: string | null;
  value: string | null;
  partition?: number;
  headers?: Array<{ key: string; value: string | null }>;
  timestamp?: number;
}

/** One send's share of a batch: where its records sit in the request, and its promise to settle. */
interface Pending {
  first: number;
  count: number;
  resolve: (r: RecordMetadata[]) => void;
  reject: (e: unknown) => void;
}

interface Batch {
  topic: string;
  records: WireRecord[];
  bytes: number;
  sends: Pending[];
  acks: Acks;
  timer?: ReturnType<typeof setTimeout>;
}

interface Request {
  batch: Batch;
  /** Partitions the request writes to; undefined when the server chooses (the partition count was unknown). */
  partitions: Set<number> | undefined;
}

interface NativeProduceAnswer {
  records: Array<{ partition: number; offset?: number; error_code?: number; message?: string }>;
}

interface TransactionalProduceAnswer {
  duplicate: boolean;
  records: Array<{ partition: number; offset: null }>;
}

interface ProducerIds {
  producer_id: number;
  producer_epoch: number;
}

const MIB = 1024 * 1024;

const toBuffer = (b: MessageBytes | undefined): Buffer | null =>
  b === undefined || b === null ? null : typeof b === 'string' ? Buffer.from(b, 'utf8') : Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/**
 * A producer: `send` batches, partitions and (by default) makes every request idempotent.
 *
 * @example
 * const producer = floe.producer({ lingerMs: 10 });
 * await producer.connect();
 * const [meta] = await producer.send({ topic: 'orders', messages: [{ key: 'alice', value: 'cup' }] });
 * console.log(meta.partition, meta.baseOffset);
 * await producer.disconnect();
 */
export class Producer {
  private readonly floe: Floe;
  private readonly lingerMs: number;
  private readonly batchBytes: number;
  private readonly batchRecords: number;
  private readonly acks: Acks;
  private readonly idempotent: boolean;
  private readonly maxInFlight: number;
  private readonly metadata: TopicMetadataCache;
  private readonly open = new Map<string, Batch>();
  private readonly sticky = new Map<string, StickyPartitioner>();
  private readonly queue: Request[] = [];
  private readonly inFlight = new Set<Request>();
  private readonly idle: Array<() => void> = [];
  private producerId?: Promise<ProducerIds>;
  private sequence = 0;
  private closed = false;
  private readonly transactionalId: string | undefined;
  private readonly transactionTimeout: number | undefined;
  /** The open transaction, if any: a transactional producer has at most one. */
  private current?: Transaction;
  /** Calls of transactions go one at a time, in order: each request's sequence is after the one before. */
  private txnChain: Promise<unknown> = Promise.resolve();
  /** A newer producer took the transactional id: every transactional call fails until `connect` again. */
  private fenced?: ProducerFencedError;

  constructor(floe: Floe, options: ProducerOptions = {}) {
    if (options.transactionalId !== undefined && (typeof options.transactionalId !== 'string' || options.transactionalId === '')) {
      throw new FloeError('transactionalId must be a non-empty string', { code: 40002, status: 0 });
    }
    if (options.transactionalId !== undefined && options.idempotent === false) {
      throw new FloeError('A transactional producer is idempotent: transactionalId cannot go with idempotent: false', { code: 40002, status: 0 });
    }
    this.floe = floe;
    this.transactionalId = options.transactionalId;
    this.transactionTimeout = options.transactionTimeout;
    this.lingerMs = options.lingerMs ?? 5;
    this.batchBytes = options.batchBytes ?? MIB;
    this.batchRecords = options.batchRecords ?? Number.POSITIVE_INFINITY;
    this.acks = options.acks ?? 'all';
    this.idempotent = options.idempotent ?? true;
    this.maxInFlight = Math.max(1, options.maxInFlight ?? options.maxInFlightRequests ?? 1);
    this.metadata = new TopicMetadataCache(floe, options.metadataMaxAge);
  }

  /**
   * Gets the producer id of an idempotent producer; sends work without it (they get one when needed).
   * A transactional producer initializes its transactional id (Kafka's InitProducerId): the same
   * producer id with the next epoch, which fences an older producer of that id and aborts its open
   * transaction. A fenced producer connected again initializes anew.
   *
   * @example
   * await producer.connect();
   */
  async connect(): Promise<void> {
    this.closed = false;
    if (this.fenced) {
      this.fenced = undefined;
      this.producerId = undefined;
      this.current = undefined;
    }
    if (this.idempotent) await this.ensureProducerId();
  }

  /**
   * Begins a transaction of a transactional producer (one with `transactionalId`); one at a time.
   *
   * @example
   * const txn = await producer.transaction();
   * await txn.send({ topic: 'invoices', messages: [{ value: 'paid' }] });
   * await txn.commit();
   */
  async transaction(): Promise<Transaction> {
    if (this.transactionalId === undefined) {
      throw new InvalidTransactionStateError('transaction() needs a transactional producer: floe.producer({ transactionalId })', { code: 40906, status: 0 });
    }
    if (this.closed) throw new FloeError('The producer is disconnected', { code: 400, status: 0 });
    if (this.fenced) throw this.fenced;
    if (this.current?.isActive()) {
      throw new InvalidTransactionStateError('A transaction of this producer is open: commit or abort it before beginning another', { code: 40906, status: 0 });
    }
    await this.ensureProducerId();
    const txn = new Transaction(this.channel());
    this.current = txn;
    return txn;
  }

  /**
   * Sends messages to one topic; resolves once they are written, with one entry per partition.
   *
   * @example
   * const meta = await producer.send({ topic: 'orders', messages: [{ key: 'alice', value: JSON.stringify({ cup: 1 }), headers: { source: 'web' } }] });
   */
  async send(record: ProducerRecord): Promise<RecordMetadata[]> {
    if (this.transactionalId !== undefined) throw this.outsideTransaction();
    const acks = record.acks ?? this.acks;
    const { wire, bytes } = await this.place(record);
    let batch = this.open.get(record.topic);
    if (batch && (batch.acks !== acks || batch.bytes + bytes > this.batchBytes || batch.records.length + wire.length > this.batchRecords)) {
      this.close(batch);
      batch = undefined;
    }
    if (!batch) {
      batch = { topic: record.topic, records: [], bytes: 0, sends: [], acks };
      this.open.set(record.topic, batch);
      const b = batch;
      b.timer = setTimeout(() => this.close(b), this.lingerMs);
    }
    const result = new Promise<RecordMetadata[]>((resolve, reject) => batch.sends.push({ first: batch.records.length, count: wire.length, resolve, reject }));
    batch.records.push(...wire);
    batch.bytes += bytes;
    if (batch.bytes >= this.batchBytes || batch.records.length >= this.batchRecords) this.close(batch);
    // acks=0: the send resolves once the request is on its way; the write's outcome is not reported.
    if (acks === 0) {
      result.catch(() => undefined);
      return [];
    }
    return result;
  }

  /** The request records of a send, each on its partition when the partition count is known. */
  private async place(record: ProducerRecord): Promise<{ wire: WireRecord[]; bytes: number }> {
    if (this.closed) throw new FloeError('The producer is disconnected', { code: 400, status: 0 });
    if (!record.messages?.length) throw new FloeError(`send to '${record.topic}' needs at least one message`, { code: 40002, status: 0 });
    // The partition count decides keyed and sticky placement; an unknown topic leaves placement to the
    // server (which may create it, and uses the same partitioners).
    const partitionCount = await this.metadata.partitionCount(record.topic).catch((e: unknown) => {
      if (e instanceof TopicNotFoundError) return undefined;
      throw e;
    });
    const wire = record.messages.map((m) => this.encode(m));
    let bytes = 0;
    for (const w of wire) bytes += (w.key?.length ?? 0) + (w.value?.length ?? 0) + (w.headers?.reduce((n, h) => n + h.key.length + (h.value?.length ?? 0), 0) ?? 0);
    bytes = Math.ceil((bytes * 3) / 4);

    if (partitionCount !== undefined) {
      const sticky = this.stickyFor(record.topic);
      record.messages.forEach((m, i) => {
        const w = wire[i]!;
        if (m.partition !== undefined && m.partition !== null) {
          if (!Number.isInteger(m.partition) || m.partition < 0 || m.partition >= partitionCount) {
            throw new PartitionNotFoundError(`Partition ${m.partition} of topic '${record.topic}' not found.`, { code: 40402, status: 404 });
          }
          w.partition = m.partition;
        } else {
          const key = toBuffer(m.key);
          w.partition = key !== null ? partitionForKey(key, partitionCount) : sticky.partition(partitionCount);
        }
      });
    } else {
      for (const [i, m] of record.messages.entries()) if (m.partition !== undefined && m.partition !== null) wire[i]!.partition = m.partition;
    }
    return { wire, bytes };
  }

  /**
   * Sends to several topics at once (each topic's messages in one request); one entry per partition.
   *
   * @example
   * await producer.sendBatch({ topicMessages: [{ topic: 'a', messages: [{ value: '1' }] }, { topic: 'b', messages: [{ value: '2' }] }] });
   */
  async sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    if (this.transactionalId !== undefined) throw this.outsideTransaction();
    const results = await Promise.all(
      batch.topicMessages.map((t) => this.send({ topic: t.topic, messages: t.messages, ...(batch.acks !== undefined ? { acks: batch.acks } : {}) })),
    );
    return results.flat();
  }

  /**
   * Sends every open batch now and waits until every request is answered.
   *
   * @example
   * void producer.send({ topic: 'orders', messages: [{ value: 'x' }] });
   * await producer.flush();
   */
  async flush(): Promise<void> {
    await this.txnChain.catch(() => undefined);
    for (const b of [...this.open.values()]) this.close(b);
    if (this.queue.length === 0 && this.inFlight.size === 0) return;
    await new Promise<void>((r) => this.idle.push(r));
  }

  /**
   * Flushes, then refuses further sends.
   *
   * @example
   * await producer.disconnect();
   */
  async disconnect(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  private stickyFor(topic: string): StickyPartitioner {
    let s = this.sticky.get(topic);
    if (!s) this.sticky.set(topic, (s = new StickyPartitioner()));
    return s;
  }

  private encode(m: Message): WireRecord {
    const key = toBuffer(m.key);
    const value = toBuffer(m.value);
    const w: WireRecord = { key: key === null ? null : key.toString('base64'), value: value === null ? null : value.toString('base64') };
    if (m.headers) {
      w.headers = Object.entries(m.headers).map(([k, v]) => {
        const b = toBuffer(v ?? null);
        return { key: k, value: b === null ? null : b.toString('base64') };
      });
    }
    if (m.timestamp !== undefined && m.timestamp !== null) w.timestamp = Number(m.timestamp);
    return w;
  }

  /** Closes a batch to more sends and queues it as a request. */
  private close(batch: Batch): void {
    if (this.open.get(batch.topic) !== batch) return;
    clearTimeout(batch.timer);
    this.open.delete(batch.topic);
    if (batch.records.length === 0) return;
    this.stickyFor(batch.topic).nextBatch();
    const parts = batch.records.every((r) => r.partition !== undefined) ? new Set(batch.records.map((r) => r.partition!)) : undefined;
    this.queue.push({ batch, partitions: parts });
    this.pump();
  }

  /**
   * Starts queued requests in order while fewer than maxInFlight are under way; the head waits while
   * an unanswered request shares a partition with it (one whose partitions are unknown shares all).
   */
  private pump(): void {
    while (this.queue.length > 0 && this.inFlight.size < this.maxInFlight) {
      const head = this.queue[0]!;
      const blocked = [...this.inFlight].some((r) => !r.partitions || !head.partitions || [...head.partitions].some((p) => r.partitions!.has(p)));
      if (blocked) break;
      this.queue.shift();
      this.inFlight.add(head);
      void this.dispatch(head).finally(() => {
        this.inFlight.delete(head);
        this.pump();
        if (this.queue.length === 0 && this.inFlight.size === 0) for (const r of this.idle.splice(0)) r();
      });
    }
  }

  private ensureProducerId(): Promise<ProducerIds> {
    if (!this.producerId) {
      const tid = this.transactionalId;
      // A transactional id's epoch starts its sequences afresh. A retried init after a lost answer
      // takes one more epoch, which is as good: this producer is still the newest.
      const ids =
        tid === undefined
          ? this.floe.request<ProducerIds>('POST', '/floe/v1/producer-ids', { retry: true })
          : this.floe.request<ProducerIds>('POST', `/floe/v1/transactions/${encodeURIComponent(tid)}/init`, {
              body: this.transactionTimeout !== undefined ? { transaction_timeout_ms: this.transactionTimeout } : {},
              retry: true,
            });
      this.producerId = ids.then(
        (r) => {
          this.sequence = 0;
          return r;
        },
        (e: unknown) => {
          this.producerId = undefined;
          throw e;
        },
      );
    }
    return this.producerId;
  }

  private outsideTransaction(): InvalidTransactionStateError {
    return new InvalidTransactionStateError(
      this.current?.isActive()
        ? 'A transaction of this producer is open: send through it (txn.send), not producer.send'
        : 'A transactional producer sends only in a transaction: const txn = await producer.transaction(); await txn.send(...)',
      { code: 40906, status: 0 },
    );
  }

  /** What a transaction of this producer calls: the requests, one at a time, with the current epoch. */
  private channel(): TransactionChannel {
    const tid = this.transactionalId!;
    const path = (what: string) => `/floe/v1/transactions/${encodeURIComponent(tid)}/${what}`;
    const serial = <T>(fn: () => Promise<T>): Promise<T> => {
      const run = this.txnChain.catch(() => undefined).then(fn);
      this.txnChain = run;
      return run;
    };
    /** One call with the ids, retried with the same body; a fencing makes the producer fenced. */
    const call = async <T>(method: string, url: string, body: (ids: ProducerIds) => Record<string, unknown>): Promise<T> => {
      if (this.fenced) throw this.fenced;
      const ids = await this.ensureProducerId();
      const sent = { ...body(ids), producer_id: ids.producer_id, producer_epoch: ids.producer_epoch };
      try {
        return await this.floe.retrying(() => this.floe.request<T>(method, url, { body: sent }));
      } catch (e) {
        if (e instanceof ProducerFencedError) this.fenced = e;
        throw e;
      }
    };
    return {
      serial,
      // Placed inside the chain too: a transaction's sends reach the server in the order they were made.
      stage: (record) =>
        serial(async () => {
          const { wire } = await this.place(record);
          try {
            // The sequence is taken when the request leaves, inside the chain: requests reach the
            // server in sequence order, and a retry of one sends the very same body.
            const answer = await call<TransactionalProduceAnswer>('POST', `/floe/v1/topics/${encodeURIComponent(record.topic)}/records`, () => ({
              transactional_id: tid,
              sequence: this.sequence++,
              records: wire,
            }));
            return staged(record.topic, answer);
          } catch (e) {
            if (e instanceof TopicNotFoundError || e instanceof PartitionNotFoundError) this.metadata.forget(record.topic);
            throw e;
          } finally {
            this.stickyFor(record.topic).nextBatch();
          }
        }),
      offsets: (groupId: string, offsets: WireOffset[]) => serial(() => call<unknown>('POST', path('offsets'), () => ({ group_id: groupId, offsets })).then(() => undefined)),
      // Every end bumps the epoch (KIP-890): the answer names the ids the next transaction uses, and
      // its sequences start from 0. A retried end sends the ended epoch and gets the same answer.
      end: async (how) => {
        const next = await call<ProducerIds>('POST', path(how), () => ({}));
        this.producerId = Promise.resolve({ producer_id: next.producer_id, producer_epoch: next.producer_epoch });
        this.sequence = 0;
      },
    };
  }

  private async dispatch(req: Request): Promise<void> {
    const { batch } = req;
    try {
      const body: Record<string, unknown> = { records: batch.records };
      if (this.idempotent) {
        const id = await this.ensureProducerId();
        // Taken when the request leaves, so sequences increase in the order requests reach a partition.
        Object.assign(body, { producer_id: id.producer_id, producer_epoch: id.producer_epoch, sequence: this.sequence++ });
      }
      const path = `/floe/v1/topics/${encodeURIComponent(batch.topic)}/records`;
      // The same body on every attempt: with a sequence, the server writes it once and answers a
      // repeat with the first attempt's offsets. Without one a retry may write twice, as in kafkajs.
      const answer = await this.floe.retrying(() => this.floe.request<NativeProduceAnswer>('POST', path, { body }));
      for (const send of batch.sends) settle(batch.topic, send, answer);
    } catch (e) {
      if (e instanceof TopicNotFoundError || e instanceof PartitionNotFoundError) this.metadata.forget(batch.topic);
      for (const send of batch.sends) send.reject(e);
    }
  }
}

/** A transactional send's entries: the partitions its records went to, with no offsets before the commit. */
function staged(topic: string, answer: TransactionalProduceAnswer): RecordMetadata[] {
  const partitions = [...new Set(answer.records.map((r) => r.partition))].sort((a, b) => a - b);
  return partitions.map((partition) => ({ topicName: topic, partition, errorCode: 0, baseOffset: '-1', logAppendTime: '-1', logStartOffset: '-1', offsets: [] }));
}

/** One send's entries from the request's answer: its own records' offsets, by partition. */
function settle(topic: string, send: Pending, answer: NativeProduceAnswer): void {
  const byPartition = new Map<number, number[]>();
  for (let i = send.first; i < send.first + send.count; i++) {
    const r = answer.records[i];
    if (!r) return send.reject(new FloeError(`The produce answer has no record ${i}`, { code: 500, status: 200 }));
    if (r.error_code !== undefined || r.offset === undefined) {
      const code = r.error_code ?? 500;
      return send.reject(errorFromResponse(code >= 1000 ? Math.floor(code / 100) : code, { error_code: code, message: r.message ?? `record ${i} failed` }));
    }
    let list = byPartition.get(r.partition);
    if (!list) byPartition.set(r.partition, (list = []));
    list.push(r.offset);
  }
  send.resolve(
    [...byPartition.entries()].map(([partition, offsets]) => ({
      topicName: topic,
      partition,
      errorCode: 0,
      baseOffset: String(Math.min(...offsets)),
      logAppendTime: '-1',
      logStartOffset: '-1',
      offsets,
    })),
  );
}
