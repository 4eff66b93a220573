// A records call of a REST Proxy instance: Kafka's poll, with its side duties (auto commit, heartbeat)
// done in the same request, since an instance has no thread of its own between requests.
import { FloeError, OffsetOutOfRangeError } from '../errors.ts';
import type { FetchedRecord, Fetcher } from '../fetch/fetch.ts';
import type { Metrics } from '../metrics.ts';
import type { InstanceState } from '../model/group.ts';
import { topicPartitionKey } from '../storage/keys.ts';
import type { ConsumerOffsets } from './consumer-offsets.ts';
import type { Positions } from './positions.ts';
import type { Subscriptions } from './subscriptions.ts';

export interface ConsumedRecord extends FetchedRecord {
  topic: string;
  partition: number;
}

export interface PollLimits {
  /** The longest a records call waits for data, whatever the instance asks (a Lambda's time is bounded). */
  maxWaitMs: number;
  /** The most key and value bytes a records call answers with, whatever max_bytes asks. */
  maxBytes: number;
  metrics?: Metrics;
}

export class Poll {
  constructor(
    private readonly fetcher: Fetcher,
    private readonly positions: Positions,
    private readonly offsets: ConsumerOffsets,
    private readonly subscriptions: Subscriptions,
    private readonly limits: PollLimits,
  ) {}

  /**
   * Commits what the previous call returned (auto commit), heartbeats, then long-polls the owned
   * partitions, starting from a different one each call so none starves another.
   */
  async records(state: InstanceState, opts: { timeoutMs?: number; maxBytes?: number }): Promise<ConsumedRecord[]> {
    if (state.mode === 'none') throw new FloeError('ILLEGAL_STATE', 'Consumer is not subscribed to any topics or assigned any partitions');
    await this.positions.forgetRecreatedTopics(state);
    await this.offsets.autoCommit(state);
    const wait = Math.min(opts.timeoutMs ?? state.requestTimeoutMs, state.requestTimeoutMs, this.limits.maxWaitMs);
    // The heartbeat covers the wait below: a member blocked in a long poll is alive.
    if (state.mode === 'subscribe') await this.subscriptions.heartbeat(state, wait);
    const deadline = Date.now() + wait;
    // Offsets a transaction is about to move are not started from: wait for it (Kafka's RequireStable).
    for (;;) {
      try {
        await this.positions.initPositions(state);
        break;
      } catch (e) {
        if (!(e instanceof FloeError && e.code === 'UNSTABLE_OFFSET_COMMIT')) throw e;
        if (Date.now() >= deadline) return [];
        await new Promise((r) => setTimeout(r, Math.min(100, Math.max(0, deadline - Date.now()))));
      }
    }

    const maxBytes = Math.min(opts.maxBytes ?? this.limits.maxBytes, this.limits.maxBytes);
    const tally = { lag: 0 };
    const out: ConsumedRecord[] = [];
    let bytes = 0;
    const owned = state.owned;
    for (;;) {
      if (owned.length > 0) {
        const start = state.turn++ % owned.length;
        const order = [...owned.slice(start), ...owned.slice(0, start)];
        const share = Math.max(1, Math.floor((maxBytes - bytes) / order.length));
        const results = await Promise.all(order.map(([t, p]) => this.fetchOne(state, t, p, share, tally)));
        for (const r of results) {
          for (const rec of r) {
            out.push(rec);
            bytes += (rec.key?.length ?? 0) + (rec.value?.length ?? 0);
          }
        }
      }
      if ((out.length > 0 && bytes >= Math.max(1, state.fetchMinBytes)) || Date.now() >= deadline || bytes >= maxBytes) break;
      await new Promise((r) => setTimeout(r, Math.min(100, Math.max(0, deadline - Date.now()))));
    }
    for (const rec of out) state.pending[topicPartitionKey(rec.topic, rec.partition)] = state.positions[topicPartitionKey(rec.topic, rec.partition)]!;
    this.limits.metrics?.consumerLag(tally.lag, state.group);
    return out;
  }

  private async fetchOne(state: InstanceState, topic: string, partition: number, maxBytes: number, tally: { lag: number }): Promise<ConsumedRecord[]> {
    const key = topicPartitionKey(topic, partition);
    let offset = state.positions[key]!;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const r = await this.fetcher.fetch({ topic, partition, offset, maxBytes, isolation: state.isolation ?? 'read_uncommitted' });
        state.positions[key] = r.nextOffset;
        tally.lag = Math.max(tally.lag, r.highWatermark - r.nextOffset);
        return r.records.map((x) => ({ ...x, topic, partition }));
      } catch (e) {
        // Retention moved the log start past us (or the log was re-created): auto.offset.reset decides.
        if (!(e instanceof OffsetOutOfRangeError) || attempt > 0) throw e;
        offset = await this.positions.resetPosition(state, topic, partition, `is at offset ${offset}, outside the log [${e.logStartOffset}, ${e.highWatermark}]`);
        state.positions[key] = offset;
      }
    }
    return [];
  }
}
