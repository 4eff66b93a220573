// Where an instance reads each partition next. A position is only meaningful for the log it was found
// in and, for a group member, for the generation it held the partition in; this module decides when a
// position still stands and where one starts when it does not.
import { FloeError } from '../errors.ts';
import type { Fetcher } from '../fetch/fetch.ts';
import type { InstanceState } from '../model/group.ts';
import type { GroupsTable } from '../storage/groups-table.ts';
import { parseTopicPartitionKey, topicPartitionKey } from '../storage/keys.ts';
import type { TopicService } from '../topics/topics.ts';
import { checkPartitions } from './check-partitions.ts';
import type { Membership } from './coordinator.ts';
import { currentOffsets, currentTopicIds } from './topic-ids.ts';

export type SeekTarget = { topic: string; partition: number; offset: number | 'beginning' | 'end' };

/** The topics an instance holds positions or returned-not-committed offsets of. */
export function topicsRead(state: InstanceState): Set<string> {
  return new Set([...Object.keys(state.positions), ...Object.keys(state.pending)].map((k) => parseTopicPartitionKey(k)[0]));
}

/**
 * Takes in the membership a heartbeat returned; positions of partitions the instance did not hold are
 * reset.
 */
export function applyMembership(state: InstanceState, m: Membership): void {
  if (m.generation === state.generation && !m.joined) return;
  // Positions are kept only by a member that stayed one through the last generation change, for the
  // partitions it held in the generation just before. Everything else starts from the group's
  // committed offset: another member may have consumed it meanwhile, and a member whose session
  // expired is a new member (an admin may have reset the offsets, or a manually assigned consumer
  // committed, while the group was empty).
  const continued = !m.joined && state.generation === m.generation - 1;
  const before = continued ? new Set(state.owned.map(([t, p]) => topicPartitionKey(t, p))) : new Set<string>();
  const keep = new Set(m.assignment.map(([t, p]) => topicPartitionKey(t, p)).filter((k) => before.has(k)));
  state.positions = Object.fromEntries(Object.entries(state.positions).filter(([k]) => keep.has(k)));
  state.pending = Object.fromEntries(Object.entries(state.pending).filter(([k]) => keep.has(k)));
  state.generation = m.generation;
  state.owned = m.assignment;
}

export class Positions {
  constructor(
    private readonly groups: GroupsTable,
    private readonly topics: TopicService,
    private readonly fetcher: Fetcher,
  ) {}

  /**
   * Seeks: an explicit offset, or the beginning or end of each partition. As in Kafka, only partitions
   * of the assignment the last records call saw can be sought; a refused seek throws before the
   * instance is saved, so it writes nothing.
   */
  async seek(state: InstanceState, targets: SeekTarget[]): Promise<void> {
    const topics = await checkPartitions(this.topics, targets.map((x) => [x.topic, x.partition]));
    // The positions it keeps are of the topics as they are now, like the ones it sets.
    await this.forgetRecreatedTopics(state);
    const owned = new Set(state.owned.map(([t, p]) => topicPartitionKey(t, p)));
    for (const target of targets) {
      const key = topicPartitionKey(target.topic, target.partition);
      if (!owned.has(key)) throw new FloeError('ILLEGAL_STATE', `No current assignment for partition ${target.topic}-${target.partition}`);
      if (target.offset === 'beginning' || target.offset === 'end') {
        const o = await this.fetcher.offsets(target.topic, target.partition);
        state.positions[key] = target.offset === 'beginning' ? o.logStartOffset : o.highWatermark;
      } else {
        if (!Number.isSafeInteger(target.offset) || target.offset < 0) throw new FloeError('VALIDATION', 'offset must be a non-negative integer');
        state.positions[key] = target.offset;
      }
      state.topicIds[target.topic] = topics.get(target.topic)!.id;
    }
  }

  /**
   * Drops the positions and the returned-not-committed offsets of every topic deleted (and perhaps
   * re-created under the same name) since they were read: they belong to a log that is gone, so such a
   * partition starts again from the committed offset of the new topic, else auto.offset.reset, and
   * nothing read from the old log is committed against the new one. Positions of an instance saved
   * before instances recorded topic ids are taken as they are, and from now on tied to the current id.
   */
  async forgetRecreatedTopics(state: InstanceState): Promise<void> {
    const read = topicsRead(state);
    if (read.size === 0) return;
    const ids = await currentTopicIds(this.topics, read);
    for (const t of read) {
      const made = state.topicIds[t];
      const current = ids.get(t);
      if (made === undefined) {
        if (current !== undefined) state.topicIds[t] = current;
      } else if (made !== current) {
        const other = ([k]: [string, number]) => parseTopicPartitionKey(k)[0] !== t;
        state.positions = Object.fromEntries(Object.entries(state.positions).filter(other));
        state.pending = Object.fromEntries(Object.entries(state.pending).filter(other));
        delete state.topicIds[t];
      }
    }
  }

  /**
   * Fills in the position of every owned partition that has none: the offset committed on the topic as
   * it is now, else auto.offset.reset. Each position is tied to the topic id it was found for.
   */
  async initPositions(state: InstanceState): Promise<void> {
    const missing = state.owned.filter(([t, p]) => state.positions[topicPartitionKey(t, p)] === undefined);
    if (missing.length === 0) return;
    const ids = await currentTopicIds(this.topics, missing.map(([t]) => t));
    const found = await currentOffsets(this.topics, [...(await this.groups.getOffsets(state.group, missing)).values()]);
    const committed = new Map(found.map((c) => [topicPartitionKey(c.topic, c.partition), c]));
    for (const [t, p] of missing) {
      const key = topicPartitionKey(t, p);
      const c = committed.get(key);
      state.positions[key] = c ? c.offset : await this.resetPosition(state, t, p);
      const id = ids.get(t);
      if (id !== undefined) state.topicIds[t] = id;
    }
  }

  /** Where auto.offset.reset puts a partition that has no committed offset (`why`), or whose position left the log. */
  async resetPosition(state: InstanceState, topic: string, partition: number, why = 'has no committed offset'): Promise<number> {
    if (state.autoOffsetReset === 'none') throw new FloeError('ILLEGAL_STATE', `Partition ${topic}-${partition} ${why} and auto.offset.reset is none`);
    const o = await this.fetcher.offsets(topic, partition);
    return state.autoOffsetReset === 'earliest' ? o.logStartOffset : o.highWatermark;
  }
}
