// What an instance reads: topics or a pattern through the group, or partitions it names itself. The two
// are exclusive, as in Kafka's consumer.
import { FloeError } from '../errors.ts';
import type { InstanceState } from '../model/group.ts';
import { topicPartitionKey } from '../storage/keys.ts';
import type { TopicService } from '../topics/topics.ts';
import { validateTopicName } from '../topics/names.ts';
import { checkPartitions } from './check-partitions.ts';
import type { GroupCoordinator } from './coordinator.ts';
import { compileTopicPattern, topicsMatching } from './patterns.ts';
import { applyMembership } from './positions.ts';

const EXCLUSIVE = 'Subscription to topics, partitions and pattern are mutually exclusive.';

export class Subscriptions {
  constructor(
    private readonly coordinator: GroupCoordinator,
    private readonly topics: TopicService,
    private readonly sessionTimeoutMs: number,
  ) {}

  /** Records a subscription; the instance joins the group on its next heartbeat. */
  subscribe(state: InstanceState, sub: { topics?: string[]; pattern?: string }): void {
    if (state.mode === 'assign') throw new FloeError('ILLEGAL_STATE', EXCLUSIVE);
    if (sub.pattern !== undefined) compileTopicPattern(sub.pattern);
    for (const t of sub.topics ?? []) validateTopicName(t);
    state.mode = 'subscribe';
    state.topics = [...new Set(sub.topics ?? [])].sort();
    state.pattern = sub.pattern ?? null;
  }

  async subscription(state: InstanceState): Promise<string[]> {
    if (state.mode !== 'subscribe') return [];
    if (state.pattern === null) return state.topics;
    return topicsMatching(state.pattern, (await this.topics.list()).map((t) => t.topic));
  }

  /** Leaves the group (when subscribed) and forgets everything read, whichever way it was read. */
  async unsubscribe(state: InstanceState): Promise<void> {
    if (state.mode === 'subscribe') await this.coordinator.leave(state.group, state.id);
    Object.assign(state, { mode: 'none', topics: [], pattern: null, manual: [], owned: [], positions: {}, pending: {}, topicIds: {}, generation: -1 });
  }

  async assign(state: InstanceState, partitions: Array<[string, number]>): Promise<void> {
    if (state.mode === 'subscribe') throw new FloeError('ILLEGAL_STATE', EXCLUSIVE);
    await checkPartitions(this.topics, partitions);
    const unique = [...new Map(partitions.map((x) => [topicPartitionKey(x[0], x[1]), x])).values()];
    state.mode = unique.length > 0 ? 'assign' : 'none';
    state.manual = unique;
    state.owned = unique;
    const keep = new Set(unique.map(([t, p]) => topicPartitionKey(t, p)));
    state.positions = Object.fromEntries(Object.entries(state.positions).filter(([k]) => keep.has(k)));
  }

  /**
   * Refreshes a subscribed instance's group membership (a heartbeat; `waitMs` is how long the records
   * call that carries it will then wait for data), and with it what it owns and where it stands.
   */
  async heartbeat(state: InstanceState, waitMs = 0): Promise<void> {
    const m = await this.coordinator.heartbeat({
      group: state.group,
      member: state.id,
      topics: state.topics,
      pattern: state.pattern,
      sessionTimeoutMs: this.sessionTimeoutMs,
      strategy: state.strategy,
      waitMs,
    });
    applyMembership(state, m);
  }
}
