// The REST Proxy's consumers on the server side, named as Confluent's proxy names its own
// (KafkaConsumerManager), so it is not taken for the client-side Consumer of a client SDK. Each request
// loads its instance, lets one module act on it, and saves it: the modules never load or save an
// instance themselves, so what a request writes, and when, is read here.
import type { Fetcher } from '../fetch/fetch.ts';
import type { Metrics } from '../metrics.ts';
import type { CommittedOffset, InstanceState } from '../model/group.ts';
import type { GroupsTable } from '../storage/groups-table.ts';
import type { TopicService } from '../topics/topics.ts';
import { ConsumerInstances, type InstanceConfig } from './consumer-instances.ts';
import { ConsumerOffsets } from './consumer-offsets.ts';
import type { GroupCoordinator } from './coordinator.ts';
import { Poll, type ConsumedRecord } from './poll.ts';
import { Positions, type SeekTarget } from './positions.ts';
import { Subscriptions } from './subscriptions.ts';

export interface ConsumerOptions {
  sessionTimeoutMs: number;
  /** The longest a records call waits for data, whatever the instance asks (a Lambda's time is bounded). */
  maxWaitMs: number;
  /** The most key and value bytes a records call answers with, whatever max_bytes asks. */
  maxBytes: number;
  metrics?: Metrics;
}

export class ConsumerManager {
  private readonly instances: ConsumerInstances;
  private readonly subscriptions: Subscriptions;
  private readonly positions: Positions;
  private readonly poll: Poll;
  private readonly offsets: ConsumerOffsets;

  constructor(groups: GroupsTable, coordinator: GroupCoordinator, topics: TopicService, fetcher: Fetcher, options: ConsumerOptions) {
    this.positions = new Positions(groups, topics, fetcher);
    this.offsets = new ConsumerOffsets(groups, topics);
    this.instances = new ConsumerInstances(groups, coordinator, this.positions, this.offsets);
    this.subscriptions = new Subscriptions(coordinator, topics, options.sessionTimeoutMs);
    this.poll = new Poll(fetcher, this.positions, this.offsets, this.subscriptions, options);
  }

  create(group: string, config: InstanceConfig): Promise<InstanceState> {
    return this.instances.create(group, config);
  }

  get(group: string, id: string): Promise<InstanceState> {
    return this.instances.get(group, id);
  }

  delete(group: string, id: string): Promise<void> {
    return this.instances.delete(group, id);
  }

  async subscribe(group: string, id: string, sub: { topics?: string[]; pattern?: string }): Promise<void> {
    const state = await this.instances.get(group, id);
    this.subscriptions.subscribe(state, sub);
    await this.instances.save(state);
    // Join now, so the group rebalances without waiting for the first records call.
    await this.subscriptions.heartbeat(state);
    await this.instances.save(state);
  }

  async subscription(group: string, id: string): Promise<string[]> {
    return this.subscriptions.subscription(await this.instances.get(group, id));
  }

  async unsubscribe(group: string, id: string): Promise<void> {
    const state = await this.instances.get(group, id);
    await this.subscriptions.unsubscribe(state);
    await this.instances.save(state);
  }

  async assign(group: string, id: string, partitions: Array<[string, number]>): Promise<void> {
    const state = await this.instances.get(group, id);
    await this.subscriptions.assign(state, partitions);
    await this.instances.save(state);
  }

  async assignments(group: string, id: string): Promise<Array<[string, number]>> {
    const state = await this.instances.get(group, id);
    if (state.mode === 'assign') return state.manual;
    if (state.mode !== 'subscribe') return [];
    // What a member owns is the group's to say: asking is a heartbeat, which may move the instance on.
    await this.subscriptions.heartbeat(state);
    await this.instances.save(state);
    return state.owned;
  }

  async seek(group: string, id: string, targets: SeekTarget[]): Promise<void> {
    const state = await this.instances.get(group, id);
    await this.positions.seek(state, targets);
    await this.instances.save(state);
  }

  async records(group: string, id: string, opts: { timeoutMs?: number; maxBytes?: number }): Promise<{ state: InstanceState; records: ConsumedRecord[] }> {
    const state = await this.instances.get(group, id);
    const records = await this.poll.records(state, opts);
    await this.instances.save(state);
    return { state, records };
  }

  /** Commits explicit offsets (the REST Proxy stores offset + 1), or with none, everything returned so far. */
  async commit(group: string, id: string, offsets?: Array<{ topic: string; partition: number; offset: number; metadata?: string | null }>): Promise<void> {
    const state = await this.instances.get(group, id);
    if (offsets === undefined) {
      await this.positions.forgetRecreatedTopics(state);
      await this.offsets.commitPending(state);
      await this.instances.save(state);
      return;
    }
    // Explicit offsets change nothing of the instance, so it is not saved.
    await this.offsets.commitOffsets(state, offsets.map((o) => ({ ...o, offset: o.offset + 1 })));
  }

  async committed(group: string, id: string, partitions: Array<[string, number]>): Promise<CommittedOffset[]> {
    await this.instances.get(group, id);
    return this.offsets.committed(group, partitions);
  }
}
