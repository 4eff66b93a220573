// The committed prefix of a partition. Writers get offset ranges from the head without racing
// (LogTable.allocate) and commit their index entries in any order; the high watermark is the end of the
// run of allocations, from the log's start, whose entries are all there. This module moves it: whoever
// finds the allocations after the high watermark committed (the writer that just committed, a writer
// waiting for the ones before it, a reader at the tail, a job) advances it over them, and an allocation
// whose entry is still missing past the hole deadline is given up: an empty batch is put at its first
// offset on condition nothing is there, so its writer's entry, which needs that very key, can never
// land, and readers go on. Safety rests on that key alone, never on a clock: a writer whose range was
// filled fails its commit and is never acknowledged.
import { RetriableStorageError } from '../errors.ts';
import { encodeEmptyRecordBatch } from '../log/index.ts';
import type { IndexEntry, PartitionHead } from '../model/partition.ts';
import type { AwsClients } from '../storage/clients.ts';
import { Commit, sendCommit } from '../storage/commit.ts';
import type { DataBucket } from '../storage/data-bucket.ts';
import { newObjectKey } from '../storage/keys.ts';
import type { LogTable } from '../storage/log-table.ts';
import type { ObjectsTable } from '../storage/objects-table.ts';
import { DEFAULT_RETRY, RETRY, retrying, sleep } from '../storage/retry.ts';

export interface WatermarkDeps {
  clients: AwsClients;
  log: LogTable;
  objects: ObjectsTable;
  bucket: DataBucket;
  /** An allocation whose entry is missing this long after it was handed out is filled. */
  holeFillMs: number;
}

/** Entries read per step: more than one allocation's batches of a partition can be (under 100). */
const STEP_ENTRIES = 128;

/** An offset range a writer holds: from `start`, `count` offsets. */
export interface OwnRange {
  pk: string;
  start: number;
  count: number;
}

/** Watermark writes one reader makes in one go (a fill, then an advance, and a spare). */
export const HELP_STEPS = 3;

export class Watermarks {
  /** Allocations this process gave up for others (a counter for tests and the fault harness). */
  holesFilled = 0;

  constructor(private readonly deps: WatermarkDeps) {}

  get holeFillMs(): number {
    return this.deps.holeFillMs;
  }

  /**
   * Returns once the high watermark is at or past `end`, advancing it and filling holes past their
   * deadline on the way. Throws a retriable error if `deadline` (epoch ms) passes first.
   */
  async settle(pk: string, end: number, deadline: number, head?: PartitionHead): Promise<PartitionHead> {
    let h = head ?? (await this.deps.log.getHeadOf(pk));
    let delay = 1;
    while (h.highWatermark < end) {
      const moved = await this.step(pk, h);
      if (!moved) {
        if (Date.now() > deadline) {
          throw new RetriableStorageError(`the high watermark of ${pk} stayed at ${h.highWatermark}, below ${end}: an earlier allocation is neither committed nor past its deadline`);
        }
        await sleep(delay);
        delay = Math.min(delay * 2, 50);
      } else {
        delay = 1;
      }
      h = await this.deps.log.getHeadOf(pk);
    }
    return h;
  }

  /**
   * A reader's help at the tail: when allocations have been in flight a while (their writers normally
   * advance the high watermark themselves within milliseconds), take one step. True when it moved.
   */
  async help(pk: string, head: PartitionHead): Promise<boolean> {
    const first = head.allocations[0];
    if (!first || Date.now() - first.at < Math.min(500, this.deps.holeFillMs)) return false;
    return this.step(pk, head);
  }

  /**
   * Helps as far as one reader should in one go: up to HELP_STEPS writes (a fill, then an advance, and
   * a spare), reading the head again after each. `more` stops it early. Returns the head last read.
   */
  async helpAlong(pk: string, head: PartitionHead, reread: () => Promise<PartitionHead>, more: (head: PartitionHead) => boolean = () => true): Promise<PartitionHead> {
    for (let step = 0; step < HELP_STEPS && more(head) && (await this.help(pk, head)); step++) head = await reread();
    return head;
  }

  /**
   * Gives up a range the caller holds and will not commit: an empty batch over it, at once. 'taken' when
   * an entry is there already (the caller's own commit landed, or a filler came first: the caller tells).
   */
  async abandon(range: OwnRange): Promise<'filled' | 'taken'> {
    return (await this.fill(range.pk, range.start, range.count)) ? 'filled' : 'taken';
  }

  /**
   * One step from the head as read: advance over the allocations whose entries tile their ranges, or
   * fill the first one if it is past its deadline. True when something was written.
   */
  private async step(pk: string, h: PartitionHead): Promise<boolean> {
    if (h.allocations.length === 0) return false;
    const entries = await this.deps.log.entriesFrom(pk, h.highWatermark, STEP_ENTRIES);
    let pos = h.highWatermark;
    let done = 0;
    let bytes = 0;
    let i = 0;
    for (const a of h.allocations) {
      const end = pos + a.count;
      let p = pos;
      let b = 0;
      let j = i;
      while (j < entries.length && entries[j]!.baseOffset === p && entries[j]!.lastOffset < end) {
        b += entries[j]!.length;
        p = entries[j]!.lastOffset + 1;
        j++;
      }
      if (p !== end) break;
      pos = end;
      i = j;
      done++;
      bytes += b;
    }
    if (done > 0) {
      await this.deps.log.advance(pk, h.highWatermark, pos, done, bytes);
      return true;
    }
    const first = h.allocations[0]!;
    // Something is at the first offset already (the query saw part of a transaction): not a hole.
    if (entries[0]?.baseOffset === h.highWatermark) return false;
    if (Date.now() - first.at < this.deps.holeFillMs) return false;
    await this.fill(pk, h.highWatermark, first.count);
    return true;
  }

  /** Puts one empty batch over [start, start + count) unless an entry is at `start`; true when it did. */
  private async fill(pk: string, start: number, count: number): Promise<boolean> {
    // Its time index must keep the index's order: the running maximum of the batch before.
    const before = await this.deps.log.entryBefore(pk, start);
    const ts = Math.max(0, before?.timeIndex ?? 0);
    const bytes = encodeEmptyRecordBatch(count - 1, ts);
    const key = newObjectKey();
    await this.deps.bucket.put(key, bytes);
    const now = Date.now();
    const entry: IndexEntry = {
      baseOffset: start,
      lastOffset: start + count - 1,
      recordCount: 0,
      objectKey: key,
      position: 0,
      length: bytes.length,
      firstTimestamp: ts,
      maxTimestamp: ts,
      timeIndex: ts,
      appendTime: now,
      isControl: false,
      isTransactional: false,
      producerId: -1,
      producerEpoch: -1,
      baseSequence: -1,
      pinned: true,
    };
    const commit = new Commit()
      .add(this.deps.log.notPassedCheckParams(pk, start), 'fenced')
      .add(this.deps.log.entryPutParams(pk, entry), 'exists')
      .add(this.deps.objects.addRefsParams(key, 1, bytes.length, now));
    const filled = await retrying(
      'fill',
      async () => {
        let outcome;
        try {
          outcome = await sendCommit(this.deps.clients, commit, { idempotent: true });
        } catch (e) {
          // Unknown outcome: the entry there now may be our own fill.
          const there = await this.deps.log.getEntry(pk, start);
          if (there) return there.objectKey === key;
          throw e;
        }
        if (outcome.committed) return true;
        // Taken (the writer committed, or another filler came first), or already passed: not ours to fill.
        return outcome.reason === 'exists' || outcome.reason === 'fenced' ? false : RETRY;
      },
      DEFAULT_RETRY,
    );
    if (filled) this.holesFilled++;
    return filled;
  }
}
