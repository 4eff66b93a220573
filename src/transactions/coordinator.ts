// Kafka transactions as "commit is publish" (docs/design.md, "Transactions"). A transactional write is
// uploaded as usual but gets no offsets: the request is staged in the transactions table, and its
// object held so the collector keeps it. The commit point is one conditional write of the state item
// to PrepareCommit; the roll-forward then appends every staged batch to its partition through the
// ordinary commit protocol, as an idempotent producer whose sequence is derived from the transaction,
// so that any number of processes may roll the same transaction forward, after any crash, and each
// batch still lands once; a commit marker (Kafka's control batch) follows each partition's batches.
// Group offsets are applied in transactions guarded by the group's pending marker, which the last one
// deletes. Nothing of a transaction is in the log before its commit point, so readers never wait on an
// open transaction and never see an aborted one.
import { FloeError } from '../errors.ts';
import { encodeRecordBatch } from '../log/index.ts';
import { mapBounded } from '../map-bounded.ts';
import { COMMIT_DEADLINE_MS } from '../model/lifetimes.ts';
import type { BatchAppender } from '../produce/append.ts';
import type { IdempotentProducer, PlannedBatch, ProduceRecord } from '../produce/types.ts';
import type { AwsClients } from '../storage/clients.ts';
import { Commit, sendCommit, TRANSACTION_MAX_ITEMS, type CommitItem } from '../storage/commit.ts';
import type { DataBucket } from '../storage/data-bucket.ts';
import type { GroupsTable } from '../storage/groups-table.ts';
import { newObjectKey, objectKeyTime, topicPartitionKey } from '../storage/keys.ts';
import type { ObjectsTable } from '../storage/objects-table.ts';
import type { ProducersTable } from '../storage/producers-table.ts';
import { RETRY, retrying } from '../storage/retry.ts';
import type { StagedBatch, StagedOffset, StagedWrite, TransactionsTable, TxnState } from '../storage/transactions-table.ts';
import type { Topic, TopicService } from '../topics/topics.ts';
import { validateTopicName } from '../topics/names.ts';

/** Kafka's transaction.timeout.ms: its default, and the broker's transaction.max.timeout.ms. */
export const DEFAULT_TRANSACTION_TIMEOUT_MS = 60_000;
export const MAX_TRANSACTION_TIMEOUT_MS = 900_000;
export const MIN_TRANSACTION_TIMEOUT_MS = 1_000;
/** Kafka's epoch is 16 bits: past this a new producer id is handed out. */
const MAX_EPOCH = 32_767;
/** Sequences of the roll-forward's appends: per transaction, room for this many per partition. */
const SEQUENCES_PER_TRANSACTION = 2 ** 20;
/** A transaction decided this long ago whose completion has not been seen is completed by the sweeper. */
const STALE_DECISION_MS = 5_000;

export interface TransactionsDeps {
  clients: AwsClients;
  table: TransactionsTable;
  topics: TopicService;
  objects: ObjectsTable;
  producers: ProducersTable;
  groups: GroupsTable;
  bucket: DataBucket;
  appender: BatchAppender;
  /** Plans and uploads a request's records as transactional batches (LogAppender.upload). */
  upload: (topic: string, records: ProduceRecord[], producer: IdempotentProducer) => Promise<{ topic: Topic; batches: PlannedBatch[]; objectKey: string; bytes: number }>;
}

export interface TransactionalSendResult {
  topic: string;
  /** The partition of each request record, in request order; offsets come only with the commit. */
  partitions: number[];
  /** This sequence had been staged before: the records are in the transaction once. */
  duplicate: boolean;
}

export interface TransactionalProducer {
  id: number;
  epoch: number;
}

export interface TransactionDescription {
  transactional_id: string;
  producer_id: number;
  producer_epoch: number;
  state: TxnState['state'];
  partitions: Array<{ topic: string; partition: number }>;
  groups: string[];
  started_at: number | null;
  timeout_ms: number;
  deadline: number | null;
}

export interface OffsetsToSend {
  group: string;
  generation?: number;
  member?: string;
  offsets: Array<{ topic: string; partition: number; offset: number; metadata?: string | null }>;
}

/** Transactional ids: Kafka allows any string; Floe keeps them to what paths and keys carry plainly. */
export function validateTransactionalId(tid: string): string {
  if (!/^[A-Za-z0-9._\-:]{1,200}$/.test(tid)) {
    throw new FloeError('VALIDATION', 'transactional_id must be 1 to 200 characters of letters, digits, ".", "_", "-" and ":"');
  }
  return tid;
}

const fenced = (tid: string, p: TransactionalProducer, s: TxnState, why = '') =>
  new FloeError('PRODUCER_FENCED', `producer ${p.id} epoch ${p.epoch} of transactional id '${tid}' is fenced: the current producer is ${s.producerId} epoch ${s.epoch}${why}`);

export class TransactionCoordinator {
  constructor(private readonly deps: TransactionsDeps) {}

  /** Kafka's InitProducerId for a transactional id: the same producer id, the next epoch; an open transaction ends first. */
  async init(tidIn: string, timeoutMs = DEFAULT_TRANSACTION_TIMEOUT_MS): Promise<TransactionalProducer> {
    const tid = validateTransactionalId(tidIn);
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < MIN_TRANSACTION_TIMEOUT_MS || timeoutMs > MAX_TRANSACTION_TIMEOUT_MS) {
      throw new FloeError('VALIDATION', `transaction_timeout_ms must be an integer from ${MIN_TRANSACTION_TIMEOUT_MS} to ${MAX_TRANSACTION_TIMEOUT_MS}`);
    }
    return retrying(`initializing transactional id '${tid}'`, async () => {
      let s = await this.deps.table.get(tid);
      if (!s) {
        const id = await this.deps.producers.allocateId();
        return (await this.deps.table.create(tid, id, timeoutMs, Date.now())) ? { id, epoch: 0 } : RETRY;
      }
      if (s.state === 'Ongoing') {
        // The abort and the fence are one write: an init that died between the two would leave the old
        // producer current, free to begin a new transaction with the rest of the aborted one's writes.
        const now = Date.now();
        if (!(await this.deps.table.update(s, { st: 'PrepareAbort', epoch: s.epoch + 1, decidedAt: now, due: now + STALE_DECISION_MS }, now))) return RETRY;
        s = (await this.deps.table.get(tid))!;
      }
      s = await this.finish(s, 'abort');
      let id = s.producerId;
      let epoch = s.epoch + 1;
      if (epoch > MAX_EPOCH) {
        id = await this.deps.producers.allocateId();
        epoch = 0;
      }
      // An init fences every older epoch, the one that ended the last transaction too.
      const ok = await this.deps.table.update(s, { pid: id, epoch, lastSeq: -1, timeoutMs, endedPid: -1, endedEpoch: -1 }, Date.now());
      return ok ? { id, epoch } : RETRY;
    });
  }

  /** A produce request in the producer's transaction: uploaded now, appended to the log only if the transaction commits. */
  async send(tidIn: string, producer: TransactionalProducer & { sequence: number }, topicName: string, records: ProduceRecord[]): Promise<TransactionalSendResult> {
    const tid = validateTransactionalId(tidIn);
    if (!Number.isSafeInteger(producer.sequence) || producer.sequence < 0 || producer.sequence > 0x7fffffff) throw new FloeError('VALIDATION', 'sequence must be an integer from 0 to 2147483647');
    // A fenced or unknown producer uploads nothing.
    await this.current(tid, producer);
    const up = await this.deps.upload(topicName, records, producer);
    const outcome = await this.stage(tid, producer, up.topic, up.batches, up.objectKey, up.bytes);
    const partitions: number[] = new Array(records.length);
    for (const b of up.batches) for (const i of b.recordIndexes) partitions[i] = b.partition;
    return { topic: up.topic.topic, partitions, duplicate: outcome === 'duplicate' };
  }

  /**
   * Stages one produce request's batches (already uploaded to `objectKey`) in the producer's
   * transaction, starting one if none is open. 'duplicate' when this sequence was staged before.
   */
  async stage(tidIn: string, producer: TransactionalProducer & { sequence: number }, topic: Topic, batches: PlannedBatch[], objectKey: string, objectBytes: number): Promise<'staged' | 'duplicate'> {
    const tid = validateTransactionalId(tidIn);
    return retrying(`staging a write of transactional id '${tid}'`, async () => {
      const s = await this.current(tid, producer);
      if (producer.sequence <= s.lastSeq) {
        if (await this.deps.table.getWrite(tid, producer.epoch, producer.sequence)) return 'duplicate' as const;
        throw new FloeError('OUT_OF_ORDER_SEQUENCE', `sequence ${producer.sequence} of transactional id '${tid}' is not after the last one written (${s.lastSeq})`);
      }
      const now = Date.now();
      const n = s.state === 'Ongoing' ? s.n : s.n + 1;
      const deadline = s.state === 'Ongoing' ? s.deadline! : now + s.timeoutMs;
      const write: StagedWrite = {
        epoch: producer.epoch,
        seq: producer.sequence,
        n,
        topic: topic.topic,
        topicId: topic.id,
        objectKey,
        batches: batches.map((b) => ({ partition: b.partition, position: b.position, length: b.bytes.length, count: b.recordIndexes.length, firstTimestamp: b.firstTimestamp, maxTimestamp: b.maxTimestamp })),
      };
      const partitions = [...new Set(batches.map((b) => topicPartitionKey(topic.topic, b.partition)))];
      const commit = new Commit()
        .add(this.deps.table.joinParams(s, now, { seq: producer.sequence, partitions }), 'lost-race')
        .add(this.deps.table.putWriteParams(tid, write, deadline), 'exists')
        .add(this.deps.objects.holdParams(objectKey, holdOf(tid, n), objectBytes, now));
      const outcome = await sendCommit(this.deps.clients, commit, { idempotent: true });
      return outcome.committed ? ('staged' as const) : RETRY;
    });
  }

  /** Kafka's sendOffsetsToTransaction: the group's offsets move if and only if the transaction commits. */
  async sendOffsets(tidIn: string, producer: TransactionalProducer, req: OffsetsToSend): Promise<void> {
    const tid = validateTransactionalId(tidIn);
    if (typeof req.group !== 'string' || req.group.length === 0) throw new FloeError('VALIDATION', 'group_id must be a non-empty string');
    if (!Array.isArray(req.offsets) || req.offsets.length === 0) throw new FloeError('VALIDATION', 'offsets must be a non-empty array of {"topic","partition","offset"}');
    const rows: StagedOffset[] = [];
    for (const [i, o] of req.offsets.entries()) {
      if (typeof o !== 'object' || o === null || typeof o.topic !== 'string') throw new FloeError('VALIDATION', `offsets[${i}] must be {"topic","partition","offset","metadata"?}`);
      validateTopicName(o.topic);
      if (!Number.isSafeInteger(o.partition) || o.partition < 0) throw new FloeError('VALIDATION', `offsets[${i}].partition must be a non-negative integer`);
      if (!Number.isSafeInteger(o.offset) || o.offset < 0) throw new FloeError('VALIDATION', `offsets[${i}].offset must be a non-negative integer`);
      if (o.metadata !== undefined && o.metadata !== null && typeof o.metadata !== 'string') throw new FloeError('VALIDATION', `offsets[${i}].metadata must be a string`);
      const topic = await this.deps.topics.resolve(o.topic);
      if (o.partition >= topic.partitions) throw new FloeError('PARTITION_NOT_FOUND', `Partition ${o.partition} of topic '${o.topic}' not found.`);
      rows.push({ topic: o.topic, topicId: topic.id, partition: o.partition, offset: o.offset, metadata: o.metadata ?? null });
    }
    if ((req.generation === undefined) !== (req.member === undefined)) throw new FloeError('VALIDATION', 'generation_id and member_id go together');
    let generation = -1;
    if (req.member !== undefined) {
      if (!Number.isSafeInteger(req.generation) || typeof req.member !== 'string') throw new FloeError('VALIDATION', 'generation_id must be an integer and member_id a string');
      // Fenced in the write itself (KIP-447): still a member of that generation.
      generation = req.generation!;
    }
    await retrying(`sending offsets to transactional id '${tid}'`, async () => {
      const s = await this.current(tid, producer);
      const now = Date.now();
      const n = s.state === 'Ongoing' ? s.n : s.n + 1;
      const deadline = s.state === 'Ongoing' ? s.deadline! : now + s.timeoutMs;
      const commit = new Commit()
        .add(this.deps.table.joinParams(s, now, { group: req.group }), 'lost-race')
        .add(this.deps.table.putOffsetsParams(tid, { n, group: req.group, generation, offsets: rows }, deadline))
        .add(this.deps.groups.pendingPutParams(req.group, tid, n));
      if (req.member !== undefined) commit.add(this.deps.groups.memberCheckParams(req.group, req.member, generation), 'fenced');
      const outcome = await sendCommit(this.deps.clients, commit, { idempotent: true });
      if (outcome.committed) return true;
      if (outcome.reason === 'fenced') throw new FloeError('STALE_GENERATION', `offsets refused: member '${req.member}' of generation ${generation} is not current in group '${req.group}'; nothing was written`);
      return RETRY;
    });
  }

  /**
   * Ends the producer's transaction and bumps its epoch (KIP-890): the answer names the producer id
   * and epoch to use from now on, so a late write of the ended transaction is fenced. The same end
   * asked again (with the epoch it was asked with) answers the same; the other end is refused.
   */
  async end(tidIn: string, producer: TransactionalProducer, how: 'commit' | 'abort'): Promise<TxnState> {
    const tid = validateTransactionalId(tidIn);
    const endedAs = (state: TxnState['state']) => (state === 'CompleteCommit' || state === 'PrepareCommit' ? 'commit' : 'abort');
    const refuse = (s: TxnState) =>
      new FloeError('INVALID_TXN_STATE', `cannot ${how}: transaction ${s.n} of '${tid}' was ${how === 'commit' ? 'aborted' : 'committed'}`);
    // The transaction this call decided the end of, once it has: a decision is final, whoever
    // completes it (another call, an init, the sweep).
    let decided: TxnState | undefined;
    return retrying(`ending the transaction of '${tid}'`, async () => {
      const s = await this.read(tid);
      if (s.endedProducerId === producer.id && s.endedEpoch === producer.epoch && (s.state === 'CompleteCommit' || s.state === 'CompleteAbort')) {
        if (endedAs(s.state) !== how) throw refuse(s);
        return s;
      }
      if (decided && (s.producerId !== producer.id || s.epoch !== producer.epoch)) {
        // An init came between this call's decision and its answer: it completed the transaction as
        // decided (or will: finish it here) and fenced this producer. The answer is the decision, with
        // an epoch that stays fenced, not "fenced", which would tell a committed transaction as lost.
        if (s.n === decided.n && (s.state === 'PrepareCommit' || s.state === 'PrepareAbort')) await this.finish(s, how);
        return { ...s, state: how === 'commit' ? 'CompleteCommit' : 'CompleteAbort', producerId: producer.id, epoch: producer.epoch + 1 } satisfies TxnState;
      }
      this.checkProducer(tid, producer, s);
      if (s.state === 'Ongoing' && s.deadline! <= Date.now()) {
        await this.expire(s);
        throw fenced(tid, producer, s, '; its transaction passed its timeout and was aborted');
      }
      if ((s.state === 'PrepareCommit' || s.state === 'PrepareAbort') && endedAs(s.state) !== how) throw refuse(s);
      // An open transaction of an older epoch holds nothing of this producer's (its writes would have
      // ended it first): it is aborted, and then this producer has no transaction to end.
      if (s.state === 'Ongoing' && s.txnEpoch !== s.epoch) {
        await this.abortStray(s);
        return RETRY;
      }
      if (s.state === 'Ongoing') {
        // A commit only before the deadline: past it the transaction is the sweep's to abort.
        const now = Date.now();
        const ok = await this.deps.table.update(s, { st: how === 'commit' ? 'PrepareCommit' : 'PrepareAbort', decidedAt: now, due: now + STALE_DECISION_MS }, now, how === 'commit' ? { beforeDeadline: now } : {});
        if (!ok) return RETRY;
        decided = s;
      }
      // No transaction open (Empty, or the last one ended): nothing to end. Decided: finish it.
      return this.finish((await this.deps.table.get(tid))!, how);
    });
  }

  /** The transactional id's state; an open transaction past its timeout is aborted first. */
  async describe(tidIn: string): Promise<TransactionDescription> {
    const tid = validateTransactionalId(tidIn);
    let s = await this.read(tid);
    if (s.state === 'Ongoing' && s.deadline! <= Date.now()) s = await this.expire(s);
    return {
      transactional_id: tid,
      producer_id: s.producerId,
      producer_epoch: s.epoch,
      state: s.state,
      partitions: s.partitions.map((k) => {
        const i = k.lastIndexOf(':');
        return { topic: k.slice(0, i), partition: Number(k.slice(i + 1)) };
      }),
      groups: s.groups,
      started_at: s.startedAt,
      timeout_ms: s.timeoutMs,
      deadline: s.state === 'Ongoing' ? s.deadline : null,
    };
  }

  /**
   * The scheduled sweep: aborts every open transaction past its timeout and completes every decided
   * one whose completion stalled (its process crashed). Returns how many it ended.
   */
  async sweep(now = Date.now()): Promise<{ expired: number; completed: number }> {
    const out = { expired: 0, completed: 0 };
    const due = await this.deps.table.dueUnfinished(now);
    await mapBounded(due, 4, async (s) => {
      if (s.state === 'Ongoing') {
        if (s.deadline! > now) return;
        await this.expire(s, now);
        out.expired++;
      } else if (s.state === 'PrepareCommit' || s.state === 'PrepareAbort') {
        await this.finish(s, 'abort');
        out.completed++;
      }
    });
    return out;
  }

  private async read(tid: string): Promise<TxnState> {
    const s = await this.deps.table.get(tid);
    if (!s) throw new FloeError('TRANSACTIONAL_ID_NOT_FOUND', `transactional id '${tid}' is unknown; call init first`);
    return s;
  }

  private checkProducer(tid: string, p: TransactionalProducer, s: TxnState): void {
    if (!Number.isSafeInteger(p.id) || !Number.isSafeInteger(p.epoch)) throw new FloeError('VALIDATION', 'producer_id and producer_epoch must be integers');
    if (p.id !== s.producerId || p.epoch !== s.epoch) throw fenced(tid, p, s);
  }

  /**
   * The state a write into the transaction may join: the producer is current, a transaction past its
   * timeout is aborted (and the producer fenced), one being ended is finished first.
   */
  private async current(tid: string, producer: TransactionalProducer): Promise<TxnState> {
    let s = await this.read(tid);
    this.checkProducer(tid, producer, s);
    if (s.state === 'Ongoing' && s.deadline! <= Date.now()) {
      await this.expire(s);
      throw fenced(tid, producer, s, '; its transaction passed its timeout and was aborted');
    }
    if (s.state === 'Ongoing' && s.txnEpoch !== s.epoch) s = await this.abortStray(s);
    if (s.state === 'PrepareCommit' || s.state === 'PrepareAbort') s = await this.finish(s, 'abort');
    return s;
  }

  /**
   * An open transaction begun under an older epoch than the producer's now: the older producer's, left
   * open while the epoch moved on (seen in the streams fault run: a zombie's transaction open under the
   * epoch its successor's init had set). The newer producer's writes must not join it: a roll-forward
   * appends the writes of the epoch a transaction began under, so they would be acknowledged and never
   * appended. It is aborted without an epoch bump (its producer is fenced already; the current one is
   * not to be), and the caller starts a transaction of its own.
   */
  private async abortStray(s: TxnState): Promise<TxnState> {
    const tid = s.transactionalId;
    const now = Date.now();
    await this.deps.table.update(s, { st: 'PrepareAbort', decidedAt: now, due: now + STALE_DECISION_MS }, now);
    const d = (await this.deps.table.get(tid))!;
    // Changed meanwhile (another call decided it, or ended it): what it is now is the caller's to see.
    if (d.state !== 'PrepareAbort' || d.n !== s.n || d.epoch !== s.epoch) return d;
    await this.rollBack(d);
    await this.deps.table.update(d, { st: 'CompleteAbort', endedAt: Date.now(), lastSeq: -1 }, Date.now(), { remove: ['os', 'due'] });
    return (await this.deps.table.get(tid))!;
  }

  /**
   * Aborts an open transaction past its timeout, bumping the epoch so its producer is fenced (KIP-890).
   * Only the transaction `read` describes: by the time this runs it may have ended (a commit decided
   * just before its deadline) and its producer begun the next one, which is not this one to end.
   */
  private async expire(read: TxnState, now = Date.now()): Promise<TxnState> {
    await retrying(`aborting the timed-out transaction of '${read.transactionalId}'`, async (attempt) => {
      const s = attempt === 0 ? read : (await this.deps.table.get(read.transactionalId))!;
      if (s.state !== 'Ongoing' || s.n !== read.n || s.deadline! > now) return s;
      const at = Date.now();
      return (await this.deps.table.update(s, { st: 'PrepareAbort', epoch: s.epoch + 1, decidedAt: at, due: at + STALE_DECISION_MS }, at)) ? s : RETRY;
    });
    const s = (await this.deps.table.get(read.transactionalId))!;
    return s.state === 'Ongoing' ? s : this.finish(s, 'abort');
  }

  /**
   * Brings a transaction to a complete state: a decided one is completed as decided; an open one is
   * completed as `open` says (init aborts it). Safe to run in any number of processes at once.
   */
  private async finish(s: TxnState, open: 'abort' | 'commit'): Promise<TxnState> {
    if (s.state === 'Ongoing') {
      if (open !== 'abort') throw new Error('only an abort ends a transaction that was not decided');
      const now = Date.now();
      if (!(await this.deps.table.update(s, { st: 'PrepareAbort', decidedAt: now, due: now + STALE_DECISION_MS }, now))) return this.finish((await this.deps.table.get(s.transactionalId))!, open);
      s = (await this.deps.table.get(s.transactionalId))!;
    }
    if (s.state === 'PrepareCommit') await this.rollForward(s);
    else if (s.state === 'PrepareAbort') await this.rollBack(s);
    else return s;
    // Every end bumps the epoch (a new producer id past the 16 bits): a write of the ended transaction
    // that arrives late carries the old epoch and is fenced, never taken into the next transaction.
    let id = s.producerId;
    let epoch = s.epoch + 1;
    if (epoch > MAX_EPOCH) {
      id = await this.deps.producers.allocateId();
      epoch = 0;
    }
    await this.deps.table.update(
      s,
      { st: s.state === 'PrepareCommit' ? 'CompleteCommit' : 'CompleteAbort', endedAt: Date.now(), pid: id, epoch, lastSeq: -1, endedPid: s.producerId, endedEpoch: s.epoch },
      Date.now(),
      // Out of the index of unfinished transactions.
      { remove: ['os', 'due'] },
    );
    return (await this.deps.table.get(s.transactionalId))!;
  }

  /** Applies a committed transaction: every staged batch to its partition, then the group offsets, then frees its objects. */
  private async rollForward(s: TxnState): Promise<void> {
    const writes = await this.deps.table.writesOf(s);
    const marker = new MarkerObject(this.deps.bucket, s.producerId, s.txnEpoch);
    // Batches per partition, in the order they were written.
    const byPartition = new Map<string, { topic: string; topicId: string; partition: number; batches: PlannedBatch[] }>();
    for (const w of writes.sort((a, b) => a.seq - b.seq)) {
      for (const b of w.batches) {
        const key = `${w.topicId}#${b.partition}`;
        let entry = byPartition.get(key);
        if (!entry) byPartition.set(key, (entry = { topic: w.topic, topicId: w.topicId, partition: b.partition, batches: [] }));
        entry.batches.push(stagedBatch(w, b));
      }
    }
    // Each partition's batches in chunks, the marker after its last. Chunk i of every partition is
    // appended only once chunk i - 1 of every partition is in (the order the sequences rely on), and
    // chunks of one level are packed, partitions of a topic together, into as few commits as fit.
    const levels: Unit[][] = [];
    for (const p of [...byPartition.values()].sort((a, b) => (a.topicId < b.topicId ? -1 : a.topicId > b.topicId ? 1 : a.partition - b.partition))) {
      const chunks = chunkForAppend(p.batches);
      chunks.forEach((batches, i) => (levels[i] ??= []).push({ ...p, batches, last: i === chunks.length - 1 }));
    }
    const topics = new Map<string, Topic | null>();
    const topicOf = async (u: Unit): Promise<Topic | null> => {
      if (!topics.has(u.topicId)) {
        let t: Topic | null = null;
        try {
          t = await this.deps.topics.resolve(u.topic);
        } catch (e) {
          // Deleted since: its records went with it.
          if (!(e instanceof FloeError && e.code === 'TOPIC_NOT_FOUND')) throw e;
        }
        topics.set(u.topicId, t && t.id === u.topicId ? t : null);
      }
      return topics.get(u.topicId)!;
    };
    for (const [i, units] of levels.entries()) {
      await mapBounded(packUnits(units), 8, async (pack) => {
        const topic = await topicOf(pack[0]!);
        if (!topic) return;
        const batches: PlannedBatch[] = [];
        let deadline = Date.now() + COMMIT_DEADLINE_MS;
        for (const u of pack) {
          batches.push(...u.batches);
          if (u.last) {
            const m = await marker.batch(u.partition);
            batches.push(m.batch);
            // The held objects stay whatever the wait; the marker's object must be referenced in time.
            deadline = Math.min(deadline, m.deadline);
          }
        }
        const producer = { id: s.producerId, epoch: s.txnEpoch, sequence: s.n * SEQUENCES_PER_TRANSACTION + i };
        try {
          await this.deps.appender.append(topic, batches, batches[0]!.objectKey!, 0, producer, { deadline });
        } catch (e) {
          // A sequence older than the producer's newest there (or a newer epoch there) is a chunk
          // another roll-forward of this transaction already appended: packs are the same in every
          // roll-forward (the same staged writes, the same order), and each commits whole.
          if (e instanceof FloeError && (e.code === 'OUT_OF_ORDER_SEQUENCE' || e.code === 'PRODUCER_FENCED' || e.code === 'TOPIC_NOT_FOUND')) return;
          throw e;
        }
      });
    }
    await this.applyOffsets(s);
    await this.releaseHolds(s, writes);
  }

  /** Undoes an aborted transaction: nothing of it is in the log; its objects are freed, its groups unmarked. */
  private async rollBack(s: TxnState): Promise<void> {
    const writes = await this.deps.table.writesOf(s);
    for (const group of s.groups) {
      await sendCommit(this.deps.clients, new Commit().add(this.deps.groups.pendingDeleteParams(group, s.transactionalId, s.n), 'exists'));
    }
    await this.releaseHolds(s, writes);
  }

  /** Each group's offsets, last sendOffsets winning per partition, guarded by its pending marker (deleted by the last transaction). */
  private async applyOffsets(s: TxnState): Promise<void> {
    const calls = await this.deps.table.offsetsOf(s.transactionalId, s.n);
    const byGroup = new Map<string, Map<string, StagedOffset & { generation: number }>>();
    for (const c of calls) {
      let m = byGroup.get(c.group);
      if (!m) byGroup.set(c.group, (m = new Map()));
      for (const o of c.offsets) m.set(topicPartitionKey(o.topic, o.partition), { ...o, generation: c.generation });
    }
    const now = Date.now();
    for (const [group, offsets] of byGroup) {
      const rows = [...offsets.values()];
      const per = TRANSACTION_MAX_ITEMS - 1;
      for (let i = 0; i < rows.length; i += per) {
        const last = i + per >= rows.length;
        const items: CommitItem[] = rows.slice(i, i + per).map((o) => this.deps.groups.offsetPutParams(group, { topic: o.topic, topicId: o.topicId, partition: o.partition, offset: o.offset, metadata: o.metadata, generation: o.generation, time: now }));
        const guard = last ? this.deps.groups.pendingDeleteParams(group, s.transactionalId, s.n) : this.deps.groups.pendingCheckParams(group, s.transactionalId, s.n);
        const outcome = await sendCommit(this.deps.clients, new Commit().add(guard, 'exists').addAll(items), { idempotent: true });
        // The marker is gone: another roll-forward applied these offsets already.
        if (!outcome.committed && outcome.failed.includes(0)) break;
        if (!outcome.committed) throw new FloeError('STORAGE_RETRIABLE', `applying the offsets of transaction ${s.n} of '${s.transactionalId}' to group '${group}' conflicted; retry`);
      }
    }
  }

  private async releaseHolds(s: TxnState, writes: StagedWrite[]): Promise<void> {
    const now = Date.now();
    await mapBounded([...new Set(writes.map((w) => w.objectKey))], 16, (key) => this.deps.objects.releaseHold(key, holdOf(s.transactionalId, s.n), now));
  }
}

const EMPTY = Buffer.alloc(0);

/** A staged batch as the appender takes it: in its own object, bytes not at hand, transactional. */
export function stagedBatch(w: StagedWrite, b: StagedBatch): PlannedBatch {
  return {
    partition: b.partition,
    recordIndexes: Array.from({ length: b.count }, (_, i) => i),
    bytes: EMPTY,
    length: b.length,
    position: b.position,
    firstTimestamp: b.firstTimestamp,
    maxTimestamp: b.maxTimestamp,
    timestamps: [],
    objectKey: w.objectKey,
    transactional: true,
  };
}

/** One partition's chunk of a roll-forward. */
interface Unit {
  topic: string;
  topicId: string;
  partition: number;
  batches: PlannedBatch[];
  /** Its partition's last chunk: the commit marker follows it. */
  last: boolean;
}

/**
 * Chunks of one level in commits of one topic each, within a DynamoDB transaction's items: per unit
 * its entries (and the marker's), its producer state, one reference count per object.
 */
function packUnits(units: Unit[]): Unit[][] {
  const packs: Unit[][] = [];
  let current: Unit[] = [];
  let items = 0;
  const room = TRANSACTION_MAX_ITEMS - 2;
  for (const u of units) {
    const need = u.batches.length + new Set(u.batches.map((b) => b.objectKey)).size + 1 + (u.last ? 2 : 0);
    if (current.length > 0 && (items + need > room || current[0]!.topicId !== u.topicId)) {
      packs.push(current);
      current = [];
      items = 0;
    }
    current.push(u);
    items += need;
  }
  if (current.length > 0) packs.push(current);
  return packs;
}

function holdOf(tid: string, n: number): string {
  return `txn:${tid}:${n}`;
}

/**
 * A partition's batches in chunks one append commits in one DynamoDB transaction: entries, one
 * reference-count update per object, and the producer state, with room for the marker.
 */
function chunkForAppend(batches: PlannedBatch[]): PlannedBatch[][] {
  const chunks: PlannedBatch[][] = [];
  let current: PlannedBatch[] = [];
  let objects = new Set<string>();
  // Entries + objects + producer state + the marker's entry and object, under the item limit.
  const room = TRANSACTION_MAX_ITEMS - 4;
  for (const b of batches) {
    const more = objects.has(b.objectKey!) ? 1 : 2;
    if (current.length + objects.size + more > room) {
      chunks.push(current);
      current = [];
      objects = new Set();
    }
    current.push(b);
    objects.add(b.objectKey!);
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * The commit marker every partition of a committed transaction gets after its batches: one control
 * batch (Kafka's ControlRecordType COMMIT, version 0, coordinator epoch 0) in one small object that
 * all the partitions' entries share. A fresh object is made when the old one nears the commit
 * deadline (an object no commit referenced in time may be taken by the collector).
 */
class MarkerObject {
  private current: Promise<{ key: string; bytes: Buffer }> | undefined;

  constructor(
    private readonly bucket: DataBucket,
    private readonly producerId: number,
    private readonly epoch: number,
  ) {}

  /** The marker batch for a partition, and the deadline of the commit that references it. */
  async batch(partition: number): Promise<{ batch: PlannedBatch; deadline: number }> {
    const made = this.current && (await this.current);
    if (!made || objectKeyTime(made.key)! < Date.now() - COMMIT_DEADLINE_MS / 2) this.current = this.make();
    const { key, bytes } = await this.current!;
    const at = objectKeyTime(key)!;
    return {
      batch: { partition, recordIndexes: [0], bytes, position: 0, firstTimestamp: at, maxTimestamp: at, timestamps: [at], objectKey: key, transactional: true, control: true },
      deadline: at + COMMIT_DEADLINE_MS,
    };
  }

  private async make(): Promise<{ key: string; bytes: Buffer }> {
    const key = newObjectKey();
    const now = objectKeyTime(key)!;
    const bytes = encodeRecordBatch([{ key: Buffer.from([0, 0, 0, 1]), value: Buffer.from([0, 0, 0, 0, 0, 0]), timestamp: now }], {
      isControl: true,
      isTransactional: true,
      producerId: this.producerId,
      producerEpoch: this.epoch,
    });
    await this.bucket.put(key, bytes);
    return { key, bytes };
  }
}
