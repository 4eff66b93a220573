// Long polls waiting at the end of a topic's partitions, in this process, share one watch per topic:
// each interval (or at once when this process appends to the topic) one read of the heads of the
// partitions waited on, however many consumers wait there. Each waiter is answered with the first
// head that shows records past its offset, or nothing at its deadline.
import type { PartitionHead } from '../model/partition.ts';
import type { AppendNotifier } from './append-notifier.ts';

interface Waiter {
  offset: number;
  done(head: PartitionHead | undefined): void;
  fail(err: unknown): void;
}

interface Watch {
  topicId: string;
  /** By partition. */
  waiters: Map<number, Set<Waiter>>;
  /** Each partition's last head read, and when it was asked for. */
  last: Map<number, { head: PartitionHead; at: number }>;
  /** When a waiter last came: the watch lingers an interval after the last one leaves. */
  joined: number;
  /** When waiters were last answered with records: they are likely to come back for more at once. */
  answered: number;
}

export interface TailWatchDeps {
  notifier: AppendNotifier;
  /** Heads of some partitions of a topic, each from a read no older than the call. */
  readHeads(topicId: string, partitions: number[]): Promise<Map<number, PartitionHead>>;
  /** Moves the high watermark past allocations left behind for a while (Watermarks.helpAlong); the head after. */
  helpAlong(topicId: string, partition: number, head: PartitionHead): Promise<PartitionHead>;
  intervalMs: number;
}

export class TailWatch {
  private readonly watches = new Map<string, Watch>();
  /** Head reads the watches made (for tests and the benchmark). */
  reads = 0;

  constructor(private readonly deps: TailWatchDeps) {}

  /**
   * The head this watch read less than an interval ago, while long polls wait or have just left. A
   * long poll at that head's high watermark can wait here at once without a read of its own: records
   * acknowledged since then are seen by the watch's next read, within the interval.
   */
  latest(topicId: string, partition: number): PartitionHead | undefined {
    const w = this.watches.get(topicId);
    const last = w?.last.get(partition);
    if (!w || !last || Date.now() - last.at >= this.deps.intervalMs) return undefined;
    // Only where consumers are waiting or were just answered: a lone poll that timed out reads afresh.
    return w.waiters.size > 0 || Date.now() - w.answered < this.deps.intervalMs ? last.head : undefined;
  }

  /** The first head seen with a high watermark past `offset`, or undefined after `ms`. */
  wait(topicId: string, partition: number, offset: number, ms: number): Promise<PartitionHead | undefined> {
    let watch = this.watches.get(topicId);
    const fresh = !watch;
    if (!watch) this.watches.set(topicId, (watch = { topicId, waiters: new Map(), last: new Map(), joined: 0, answered: 0 }));
    const w = watch;
    w.joined = Date.now();
    let set = w.waiters.get(partition);
    if (!set) w.waiters.set(partition, (set = new Set()));
    const s = set;
    const result = new Promise<PartitionHead | undefined>((resolve, reject) => {
      const leave = () => {
        clearTimeout(timer);
        s.delete(waiter);
        if (s.size === 0 && w.waiters.get(partition) === s) w.waiters.delete(partition);
      };
      const waiter: Waiter = {
        offset,
        done: (head) => {
          leave();
          resolve(head);
        },
        fail: (err) => {
          leave();
          reject(err);
        },
      };
      const timer = setTimeout(() => waiter.done(undefined), ms);
      s.add(waiter);
    });
    if (fresh) void this.run(w);
    return result;
  }

  private async run(w: Watch): Promise<void> {
    try {
      // Consumers answered come back for more at once: the watch stays for an interval after the last
      // waiter, so they keep its cadence instead of each starting a new one.
      while (w.waiters.size > 0 || Date.now() - w.joined < this.deps.intervalMs) {
        await this.deps.notifier.waitTopic(w.topicId, this.deps.intervalMs);
        const partitions = [...w.waiters.keys()].sort((a, b) => a - b);
        if (partitions.length === 0) continue;
        let heads: Map<number, PartitionHead>;
        try {
          this.reads++;
          const at = Date.now();
          heads = await this.deps.readHeads(w.topicId, partitions);
          for (const p of partitions) {
            // Behind a hole: fill it, then move the high watermark past it, in the same tick.
            const head = await this.deps.helpAlong(w.topicId, p, heads.get(p)!);
            heads.set(p, head);
            w.last.set(p, { head, at });
          }
        } catch (err) {
          // The waiters see the storage error as their own read would have shown it.
          for (const p of partitions) for (const x of [...(w.waiters.get(p) ?? [])]) x.fail(err);
          continue;
        }
        for (const p of partitions) {
          const head = heads.get(p)!;
          for (const x of [...(w.waiters.get(p) ?? [])]) {
            if (head.highWatermark <= x.offset) continue;
            w.answered = Date.now();
            x.done(head);
          }
        }
      }
    } finally {
      if (this.watches.get(w.topicId) === w) this.watches.delete(w.topicId);
    }
  }
}
