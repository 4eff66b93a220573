// Steps 3-5 of the commit protocol for one transaction's worth of batches, without races on the head:
//   1. allocate: one update per partition head hands this request its own offset range (it cannot lose
//      to another writer, so no retry however many producers share the partition);
//   2. commit: one transaction puts the index entries at those offsets (each on condition nothing is
//      there), the object's reference count and, for an idempotent producer, its state;
//   3. settle: wait until the high watermark covers the range (src/watermark/), then acknowledge.
// A range this writer will not commit (its transaction was refused, or its outcome is unknown and no
// entry of it is there) is given up at once with an empty batch, so readers need not wait for the hole
// deadline; a range a slow writer still holds past that deadline is filled by others, and then its
// transaction fails on the entry's condition: it is never acknowledged.
import { randomBytes } from 'node:crypto';
import { FloeError, RetriableStorageError } from '../errors.ts';
import { COMMIT_DEADLINE_MS } from '../model/lifetimes.ts';
import type { IndexEntry, PartitionHead } from '../model/partition.ts';
import type { AwsClients } from '../storage/clients.ts';
import { consistentBatchGet } from '../storage/batch-get.ts';
import { AmbiguousCommitError, Commit, sendCommit, type CommitOutcome } from '../storage/commit.ts';
import { newObjectKey, objectKeyTime, partitionKey, soleObjectKey } from '../storage/keys.ts';
import { TIME_INDEX_EVERY, type LogTable } from '../storage/log-table.ts';
import type { ObjectsTable } from '../storage/objects-table.ts';
import type { ProducersTable, ProducerState } from '../storage/producers-table.ts';
import { DEFAULT_RETRY, RETRY, retrying, retryDelayMs, sleep } from '../storage/retry.ts';
import type { TopicService, Topic } from '../topics/topics.ts';
import type { Metrics } from '../metrics.ts';
import type { OwnRange, Watermarks } from '../watermark/watermark.ts';
import { committedBefore } from './idempotence.ts';
import { byPartition } from './plan.ts';
import { batchLength, type IdempotentProducer, type PlannedBatch } from './types.ts';

export interface AppendDeps {
  clients: AwsClients;
  topics: TopicService;
  log: LogTable;
  objects: ObjectsTable;
  producers: ProducersTable;
  watermarks: Watermarks;
  metrics?: Metrics;
}

/** The base offset of each batch, once committed. */
export type BaseOffsets = Map<PlannedBatch, number>;

/** A partition's share of one attempt: its range, and the running maximum timestamp its entries carry. */
interface Allocated extends OwnRange {
  partition: number;
  timeIndex: number;
  /** Every offset before the range was committed when it was handed out: its writer may move the high watermark itself. */
  firstInLine: boolean;
  /** Bytes of its batches. */
  bytes: number;
}

/** One attempt's ranges, the object its entries point into, and the offsets it would have given. */
interface Attempt {
  ranges: Allocated[];
  objectKey: string;
  baseOffsets: BaseOffsets;
}

/**
 * The data of one batch not yet uploaded: once its offsets are handed out it goes up under a key that
 * names them (soleObjectKey), and its index entry alone is the object's reference, put without a
 * transaction: no object record, 3 of the commit's 7 write units fewer.
 */
export interface SoleUpload {
  bytes: number;
  put: (objectKey: string) => Promise<void>;
}

/** A commit whose outcome is unknown and could not be found out yet. */
class UnresolvedCommitError extends RetriableStorageError {
  constructor(cause: unknown) {
    super(`commit outcome unknown: ${(cause as Error)?.message ?? String(cause)}`, cause);
  }
}

/** Sends of one transaction when DynamoDB refuses it for a conflict or throttling (nothing applied). */
const RESENDS = 6;
/** Heads whose last maximum timestamp this process remembers, for its guess at the allocation's form. */
const REMEMBERED_HEADS = 10_000;
/** After an allocation that found others in flight before it, a writer's next this many count the partition as crowded. */
export const CROWDED_ALLOCATIONS = 16;

export class BatchAppender {
  private readonly lastMaxTimestamp = new Map<string, number>();
  /** Per partition, how many more of this writer's allocations count it as crowded (see isCrowded). */
  private readonly crowded = new Map<string, number>();
  /** Per partition, the second of this writer's last entry in the time index and its entries since. */
  private readonly lastTimed = new Map<string, { second: number; since: number }>();

  constructor(private readonly deps: AppendDeps) {}

  /** Commits the batches (one transaction's worth) of an object already in the bucket. */
  async append(topic: Topic, batches: PlannedBatch[], objectKey: string, objectBytes: number, producer?: IdempotentProducer, options: { deadline?: number } = {}): Promise<BaseOffsets> {
    return (await this.commitBatches(topic, batches, objectKey, objectBytes, producer, options)).bases;
  }

  /**
   * Whether one of this writer's last CROWDED_ALLOCATIONS allocations on the partition found other
   * writers in flight before it. A sole upload (appendSole) holds its range open while the batch goes
   * up, and every writer after it waits that long for the high watermark: where others are in flight,
   * upload first instead. A partition this writer has not allocated on yet counts as crowded: new
   * writers starting together (cold starts) would otherwise all hold their ranges open at once.
   * (Measured: 64 producers on one partition, each its own engine, ran a quarter slower, their p99
   * twice as long, without either rule.)
   */
  isCrowded(pk: string): boolean {
    return (this.crowded.get(pk) ?? 1) > 0;
  }

  /**
   * Commits one batch of a request that is not idempotent, uploading it once its offsets are handed
   * out (SoleUpload). Answers the offsets and the key it went up under.
   */
  async appendSole(topic: Topic, batch: PlannedBatch, upload: SoleUpload): Promise<{ bases: BaseOffsets; objectKey: string }> {
    return this.commitBatches(topic, [batch], upload, upload.bytes);
  }

  private async commitBatches(topic: Topic, batches: PlannedBatch[], object: string | SoleUpload, objectBytes: number, producer?: IdempotentProducer, options: { deadline?: number } = {}): Promise<{ bases: BaseOffsets; objectKey: string }> {
    const groups = byPartition(batches);
    const partitions = [...groups.keys()];
    // The garbage collector takes an unreferenced object older than its grace period for an orphan:
    // a commit must never land that late, so a slow one gives up while it is still safe. (A
    // transaction's roll-forward commits objects the transaction holds, and names its own deadline; a
    // sole upload's key is newer than now, so its deadline is later than this one.)
    const deadline = options.deadline ?? (typeof object === 'string' ? objectKeyTime(object)! : Date.now()) + COMMIT_DEADLINE_MS;
    let objectKey = typeof object === 'string' ? object : '';
    let bases: BaseOffsets;
    let committed: Allocated[] = [];
    // Attempts whose outcome is still unknown: each later attempt, and the final failure, asks first.
    const unknown: Attempt[] = [];
    const resolveEarlier = async (): Promise<BaseOffsets | undefined> => {
      while (unknown.length > 0) {
        const a = unknown[0]!;
        if ((await this.resolveUnknown(a.ranges, batches[0]!)) === 'committed') {
          committed = a.ranges;
          objectKey = a.objectKey;
          return a.baseOffsets;
        }
        unknown.shift();
      }
      return undefined;
    };
    try {
      bases = await retrying(
        'commit',
        async (attempt) => {
          const earlier = await resolveEarlier();
          if (earlier) return earlier;
          let states: Map<number, ProducerState> | undefined;
          if (producer) {
            states = await this.readStates(topic, partitions, producer);
            const duplicate = committedBefore(topic, batches, states, producer);
            if (duplicate) return duplicate;
          }
          const ranges = await this.allocate(topic, groups);
          let key = objectKey;
          let sole = false;
          if (typeof object !== 'string') {
            // Each attempt's range has its own key: an entry elsewhere than its key names would leave
            // the object to the collector.
            const named = soleObjectKey(ranges[0]!.pk, ranges[0]!.start);
            sole = named !== undefined;
            key = named ?? newObjectKey();
            try {
              await object.put(key);
            } catch (e) {
              await this.giveUp(ranges).catch(() => undefined);
              throw e;
            }
            // A PUT that took so long the collector may take the object for an orphan: not committed.
            if (Date.now() > objectKeyTime(key)! + COMMIT_DEADLINE_MS) {
              await this.giveUp(ranges);
              return RETRY;
            }
          }
          const { commit, baseOffsets } = this.commitOf(groups, ranges, key, objectBytes, producer && states && { producer, states }, sole);
          const single = sole ? { key: { p: ranges[0]!.pk, o: ranges[0]!.start } } : undefined;
          const outcome = await this.commitOrGiveUp(commit, ranges, batches[0]!, single).catch((e: unknown) => {
            if (e instanceof UnresolvedCommitError) unknown.push({ ranges, objectKey: key, baseOffsets });
            throw e;
          });
          if (outcome === 'given-up') return RETRY;
          committed = ranges;
          objectKey = key;
          if (attempt > 0) this.deps.metrics?.commitRetries(attempt);
          return baseOffsets;
        },
        { ...DEFAULT_RETRY, deadline },
      );
    } catch (e) {
      const earlier = await resolveEarlier().catch(() => 'unknown' as const);
      if (earlier === 'unknown') throw new RetriableStorageError(`commit outcome unknown: ${(e as Error).message}`, e);
      if (!earlier) {
        if (e instanceof RetriableStorageError) throw new RetriableStorageError(`${e.message}; nothing was written`, e.cause);
        throw e;
      }
      bases = earlier;
    }
    // Acknowledged only once readers see it: the high watermark covers every batch.
    const ends = new Map<number, number>();
    for (const b of batches) ends.set(b.partition, Math.max(ends.get(b.partition) ?? 0, bases.get(b)! + b.recordIndexes.length));
    const settleBy = Date.now() + Math.max(30_000, 3 * this.deps.watermarks.holeFillMs);
    await Promise.all(
      [...ends].map(async ([p, end]) => {
        const range = committed.find((r) => r.partition === p);
        // Nobody before it in flight: one conditional update moves the high watermark over it, no read.
        if (range?.firstInLine && (await this.deps.log.advance(range.pk, range.start, range.start + range.count, 1, range.bytes))) return;
        await this.deps.watermarks.settle(partitionKey(topic.id, p), end, settleBy);
      }),
    );
    return { bases, objectKey };
  }

  /** The producer's state on each partition, in one strongly consistent read. */
  private async readStates(topic: Topic, partitions: number[], producer: IdempotentProducer): Promise<Map<number, ProducerState>> {
    const items = await consistentBatchGet(
      this.deps.clients,
      partitions.map((p) => this.deps.producers.stateKey(partitionKey(topic.id, p), producer.id)),
    );
    return new Map(partitions.map((p, i) => [p, this.deps.producers.stateFromItem(items[i])]));
  }

  /**
   * Step 1, every partition at once. A partition whose allocation failed may still have been handed a
   * range (the answer was lost): it and every range that was handed out are given up before the error
   * goes on.
   */
  private async allocate(topic: Topic, groups: Map<number, PlannedBatch[]>): Promise<Allocated[]> {
    // New for each attempt; an allocation retried after a lost answer keeps it, so its ranges are known.
    const tag = randomBytes(5).toString('hex');
    const at = Date.now();
    const settled = await Promise.allSettled(
      [...groups].map(async ([partition, list]): Promise<Allocated> => {
        const pk = partitionKey(topic.id, partition);
        const count = list.reduce((n, b) => n + b.recordIndexes.length, 0);
        const maxTimestamp = list.reduce((m, b) => Math.max(m, b.maxTimestamp), -1);
        const guess = (this.lastMaxTimestamp.get(pk) ?? -1) >= maxTimestamp ? 'keep' : 'raise';
        const head = await this.deps.log.allocate(pk, { count, maxTimestamp, at, tag }, () => this.confirmTopic(topic), guess);
        if (head === 'gone') throw this.topicGone(topic);
        this.rememberMaxTimestamp(pk, head.maxTimestamp);
        const mine = rangesTagged(pk, head, tag);
        if (mine.length === 0) throw new RetriableStorageError(`the allocation on ${pk} is not in its head`);
        // The last is the one this answer stands for; any before it were applied by attempts whose
        // answers were lost, and are nobody's.
        for (const extra of mine.slice(0, -1)) await this.deps.watermarks.abandon(extra);
        const range = mine[mine.length - 1]!;
        const bytes = list.reduce((n, b) => n + batchLength(b), 0);
        const firstInLine = range.start === head.highWatermark;
        if (this.crowded.size >= REMEMBERED_HEADS) this.crowded.clear();
        this.crowded.set(pk, firstInLine ? Math.max(0, (this.crowded.get(pk) ?? 1) - 1) : CROWDED_ALLOCATIONS);
        return { ...range, partition, timeIndex: head.maxTimestamp, firstInLine, bytes };
      }),
    );
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (!failed) return settled.map((s) => (s as PromiseFulfilledResult<Allocated>).value);
    const held = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    await this.giveUp(held).catch(() => undefined);
    // Where the allocation's answer was lost, its range is found by the tag (else the hole deadline frees it).
    await Promise.all(
      [...groups.keys()]
        .filter((p) => !held.some((h) => h.partition === p))
        .map(async (p) => {
          const pk = partitionKey(topic.id, p);
          const head = await this.deps.log.getHeadOf(pk);
          for (const r of rangesTagged(pk, head, tag)) await this.deps.watermarks.abandon(r);
        }),
    ).catch(() => undefined);
    throw failed.reason;
  }

  /**
   * Step 2. 'given-up' when the transaction did not commit: its ranges are filled, and the caller
   * allocates again. Throws (ranges given up) when it cannot commit at all.
   */
  private async commitOrGiveUp(commit: Commit, ranges: Allocated[], first: PlannedBatch, single?: { key: Record<string, unknown> }): Promise<'committed' | 'given-up'> {
    for (let n = 0; ; n++) {
      let outcome: CommitOutcome;
      try {
        outcome = await sendCommit(this.deps.clients, commit, { idempotent: true, ...(single ? { single } : {}) });
      } catch (e) {
        if (e instanceof AmbiguousCommitError) {
          try {
            return await this.resolveUnknown(ranges, first);
          } catch (cause) {
            throw new UnresolvedCommitError(cause);
          }
        }
        await this.giveUp(ranges);
        throw e;
      }
      if (outcome.committed) return 'committed';
      // A conflicting transaction or throttling: nothing applied, and the ranges are still ours.
      if (outcome.failed.length === 0 && n + 1 < RESENDS) {
        await sleep(retryDelayMs(n + 1));
        continue;
      }
      // An entry's key is taken (a filler gave the range up: this writer was too slow), or the
      // producer's state moved (a concurrent attempt of the same request committed).
      await this.giveUp(ranges);
      return 'given-up';
    }
  }

  /**
   * The transaction's outcome is unknown. Its first range tells (a transaction is atomic): an entry
   * there that is not a filler's, it committed; nothing there, taking that key with an empty batch
   * makes sure it never will. Only this attempt writes an entry at its range's first offset, or a
   * filler, whose entry is pinned and keeps that key through every rewrite: so an entry covering the
   * offset from before it (a merge took the attempt's entry in), or an entry there that is not
   * pinned (a rewrite gave it another object), is this attempt's, committed.
   */
  private async resolveUnknown(ranges: Allocated[], first: PlannedBatch): Promise<'committed' | 'given-up'> {
    const r0 = ranges.find((r) => r.partition === first.partition)!;
    const committedAt = async (): Promise<boolean> => {
      const e = await this.deps.log.entryBefore(r0.pk, r0.start + 1);
      return e !== undefined && e.lastOffset >= r0.start && (e.baseOffset < r0.start || e.pinned !== true);
    };
    if (await committedAt()) return 'committed';
    if ((await this.deps.watermarks.abandon(r0)) === 'taken' && (await committedAt())) return 'committed';
    await this.giveUp(ranges.filter((r) => r !== r0));
    return 'given-up';
  }

  private async giveUp(ranges: OwnRange[]): Promise<void> {
    await Promise.all(ranges.map((r) => this.deps.watermarks.abandon(r)));
  }

  /** The first allocation of a partition creates its head: only for a topic that still exists. */
  private async confirmTopic(topic: Topic): Promise<void> {
    if (!(await this.deps.topics.isCurrent(topic))) throw this.topicGone(topic);
  }

  private topicGone(topic: Topic): FloeError {
    this.deps.topics.forget(topic.topic);
    return new FloeError('TOPIC_NOT_FOUND', `Topic '${topic.topic}' was deleted while the produce was in flight; nothing was written.`);
  }

  /**
   * Whether the entry goes into the time index: this writer's first on the partition, the first of a
   * new second, or the TIME_INDEX_EVERY-th since its last one. Other writers' entries only make the
   * index denser, and a commit that did not land only makes a lookup read a little further: the
   * lookup's answer never depends on which entries are in the index.
   */
  private timeIndexed(pk: string, timeIndex: number): boolean {
    const second = Math.floor(timeIndex / 1000);
    const last = this.lastTimed.get(pk);
    if (last && last.second === second && last.since + 1 < TIME_INDEX_EVERY) {
      last.since++;
      return false;
    }
    if (this.lastTimed.size >= REMEMBERED_HEADS) this.lastTimed.clear();
    this.lastTimed.set(pk, { second, since: 0 });
    return true;
  }

  private rememberMaxTimestamp(pk: string, ts: number): void {
    if (this.lastMaxTimestamp.size >= REMEMBERED_HEADS) this.lastMaxTimestamp.clear();
    this.lastMaxTimestamp.set(pk, ts);
  }

  /** The transaction, and the offsets it assigns if it commits. */
  private commitOf(
    groups: Map<number, PlannedBatch[]>,
    ranges: Allocated[],
    objectKey: string,
    objectBytes: number,
    idempotent?: { producer: IdempotentProducer; states: Map<number, ProducerState> },
    sole = false,
  ): { commit: Commit; baseOffsets: BaseOffsets } {
    const now = Date.now();
    const commit = new Commit();
    const baseOffsets: BaseOffsets = new Map();
    // Entries per object: a transaction's roll-forward commits batches of several objects at once.
    const refs = new Map<string, number>();
    for (const range of ranges) {
      const list = groups.get(range.partition)!;
      let next = range.start;
      for (const b of list) {
        const entry: IndexEntry = {
          baseOffset: next,
          lastOffset: next + b.recordIndexes.length - 1,
          recordCount: b.recordIndexes.length,
          objectKey: b.objectKey ?? objectKey,
          position: b.position,
          length: batchLength(b),
          firstTimestamp: b.firstTimestamp,
          maxTimestamp: b.maxTimestamp,
          // The head's running maximum as this allocation left it: allocations are ordered as their
          // offsets are, so the time index stays monotonic.
          timeIndex: range.timeIndex,
          appendTime: now,
          isControl: b.control === true,
          isTransactional: b.transactional === true,
          producerId: idempotent ? idempotent.producer.id : -1,
          producerEpoch: idempotent ? idempotent.producer.epoch : -1,
          baseSequence: idempotent ? idempotent.producer.sequence : -1,
          ...(this.timeIndexed(range.pk, range.timeIndex) ? {} : { untimed: true }),
        };
        baseOffsets.set(b, next);
        commit.add(this.deps.log.entryPutParams(range.pk, entry), 'exists');
        next += b.recordIndexes.length;
        refs.set(b.objectKey ?? objectKey, (refs.get(b.objectKey ?? objectKey) ?? 0) + 1);
      }
      if (idempotent) {
        const { producer, states } = idempotent;
        commit.add(this.deps.producers.putStateParams(range.pk, producer.id, states.get(range.partition)!, producer.epoch, { seq: producer.sequence, base: range.start, count: range.count }, now));
      }
    }
    // A sole object's entry, at the offset its key names, is its reference: no record.
    if (!sole) for (const [key, n] of refs) commit.add(this.deps.objects.addRefsParams(key, n, key === objectKey && objectBytes > 0 ? objectBytes : undefined, now));
    return { commit, baseOffsets };
  }
}

/** The ranges the head holds under `tag`, in offset order. */
function rangesTagged(pk: string, head: PartitionHead, tag: string): OwnRange[] {
  const out: OwnRange[] = [];
  let pos = head.highWatermark;
  for (const a of head.allocations) {
    if (a.tag === tag) out.push({ pk, start: pos, count: a.count });
    pos += a.count;
  }
  return out;
}
