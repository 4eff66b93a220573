// The offsets a consumer instance commits to its group and reads back. A commit is where a zombie could
// undo another member's progress, so every write here is fenced on what the instance is in the group.
import { FloeError } from '../errors.ts';
import type { CommittedOffset, InstanceState } from '../model/group.ts';
import type { GroupsTable, OffsetGuard } from '../storage/groups-table.ts';
import { parseTopicPartitionKey, topicPartitionKey } from '../storage/keys.ts';
import type { TopicService } from '../topics/topics.ts';
import { validateTopicName } from '../topics/names.ts';
import { checkPartitions } from './check-partitions.ts';
import { isLive, liveMembers, settleEmptyGroup } from './coordinator.ts';
import { refusedCommit } from './offset-commits.ts';
import { currentOffsets } from './topic-ids.ts';

export interface OffsetToCommit {
  topic: string;
  /** The id of the topic the offset was made against; the topic's current id when absent. */
  topicId?: string;
  partition: number;
  offset: number;
  metadata?: string | null;
}

export class ConsumerOffsets {
  constructor(
    private readonly groups: GroupsTable,
    private readonly topics: TopicService,
  ) {}

  /**
   * Commits what earlier records calls returned, as auto commit does. A refused commit (the partition
   * moved on) loses nothing: its records will be re-read, so the refusal is not the caller's error.
   */
  async autoCommit(state: InstanceState): Promise<void> {
    if (!state.autoCommit || Object.keys(state.pending).length === 0) return;
    await this.commitPending(state).catch((e: unknown) => {
      if (!(e instanceof FloeError && e.status < 500)) throw e;
    });
  }

  /** Commits everything returned and not yet committed. */
  async commitPending(state: InstanceState): Promise<void> {
    const entries = Object.entries(state.pending);
    if (entries.length === 0) return;
    // Each offset is committed against the topic id its records were read from.
    await this.commitOffsets(
      state,
      entries.map(([k, offset]) => {
        const [topic, partition] = parseTopicPartitionKey(k);
        const topicId = state.topicIds[topic];
        return { topic, partition, offset, ...(topicId !== undefined ? { topicId } : {}) };
      }),
    );
    state.pending = {};
  }

  /**
   * Zombie fencing: a group member may commit only partitions it owns in the group's current
   * generation, and the write is conditioned on that generation and its membership; a manually
   * assigned instance may commit only while the group has no live members (as Kafka's coordinator).
   */
  async commitOffsets(state: InstanceState, offsets: OffsetToCommit[]): Promise<void> {
    if (offsets.length === 0) return;
    for (const o of offsets) {
      validateTopicName(o.topic);
      if (!Number.isSafeInteger(o.partition) || o.partition < 0) throw new FloeError('VALIDATION', 'partition must be a non-negative integer');
      if (!Number.isSafeInteger(o.offset) || o.offset < 0) throw new FloeError('VALIDATION', 'offset must be a non-negative integer');
    }
    const topics = await checkPartitions(this.topics, offsets.map((o) => [o.topic, o.partition]));
    // A manually assigned consumer writes offsets from outside the group: expired members are removed
    // first, so that one coming back starts from these offsets (see settleEmptyGroup).
    const group = state.mode === 'subscribe' ? await this.groups.getGroup(state.group) : await settleEmptyGroup(this.groups, state.group);
    const now = Date.now();
    const rows = offsets.map((o) => ({ topic: o.topic, topicId: o.topicId ?? topics.get(o.topic)!.id, partition: o.partition, offset: o.offset, metadata: o.metadata ?? null, generation: group.generation, time: now }));
    let guard: OffsetGuard;
    if (state.mode === 'subscribe') {
      const member = group.members[state.id];
      if (!member || !isLive(member, now)) {
        throw new FloeError('STALE_GENERATION', `Commit refused: consumer '${state.id}' is no longer a member of group '${state.group}' (its session expired or it left); nothing was written`);
      }
      const mine = new Set((group.assignment[state.id] ?? []).map(([t, p]) => topicPartitionKey(t, p)));
      for (const o of offsets) {
        if (!mine.has(topicPartitionKey(o.topic, o.partition))) {
          throw new FloeError('STALE_GENERATION', `Commit refused: partition ${o.topic}-${o.partition} is not assigned to '${state.id}' in generation ${group.generation}; nothing was written`);
        }
      }
      guard = { kind: 'member', member: state.id, generation: group.generation };
    } else {
      if (liveMembers(group, now).length > 0) {
        throw new FloeError('ILLEGAL_STATE', `Commit refused: group '${state.group}' has active members; a manually assigned consumer may commit only to a group without them`);
      }
      guard = { kind: 'unchanged', group };
    }
    const result = await this.groups.commitOffsets(state.group, rows, guard);
    if (!result.complete) throw new FloeError('STALE_GENERATION', refusedCommit(`Commit refused: group '${state.group}' changed while committing`, rows.length, result.written));
  }

  /**
   * Committed offsets of the given partitions; those without a commit, or whose commit was made on a
   * topic since deleted (and perhaps re-created under the same name), are left out.
   */
  async committed(group: string, partitions: Array<[string, number]>): Promise<CommittedOffset[]> {
    for (const [t] of partitions) validateTopicName(t);
    const found = await this.groups.getOffsets(group, partitions);
    const current = new Set((await currentOffsets(this.topics, [...found.values()])).map((c) => topicPartitionKey(c.topic, c.partition)));
    return partitions.flatMap(([t, p]) => {
      const key = topicPartitionKey(t, p);
      const c = found.get(key);
      return c && current.has(key) ? [c] : [];
    });
  }
}
