// Group administration: list groups, describe one with lag, reset its offsets while it is empty.
import { FloeError } from '../errors.ts';
import type { Fetcher } from '../fetch/fetch.ts';
import type { GroupsTable } from '../storage/groups-table.ts';
import type { TopicService } from '../topics/topics.ts';
import { liveMembers, settleEmptyGroup } from './coordinator.ts';
import { validateGroupId } from './consumer-instances.ts';
import { refusedCommit } from './offset-commits.ts';
import { currentOffsets } from './topic-ids.ts';

export type ResetTarget = { to: 'earliest' } | { to: 'latest' } | { to: 'offset'; offset: number } | { to: 'timestamp'; timestamp: number };

export class GroupAdmin {
  constructor(
    private readonly groups: GroupsTable,
    private readonly topics: TopicService,
    private readonly fetcher: Fetcher,
  ) {}

  async list() {
    const now = Date.now();
    return (await this.groups.listGroups()).map((g) => {
      const live = liveMembers(g, now).length;
      return { group_id: g.group, generation: g.generation, state: live > 0 ? 'Stable' : 'Empty', members: live };
    });
  }

  async describe(group: string) {
    validateGroupId(group);
    const [state, stored, instances] = await Promise.all([this.groups.getGroup(group), this.groups.listOffsets(group), this.groups.listInstances(group)]);
    // The group exists as the listing sees it; offsets committed on a topic since deleted (and perhaps
    // re-created under the same name) are not its offsets any more, as Kafka removes them.
    if (!state.exists && stored.length === 0 && instances.length === 0) throw new FloeError('NOT_FOUND', `Consumer group '${group}' not found.`);
    const offsets = await currentOffsets(this.topics, stored);
    const now = Date.now();
    const live = new Set(liveMembers(state, now));
    const lag = await Promise.all(
      offsets.map(async (o) => {
        const hw = await this.fetcher.offsets(o.topic, o.partition).then((x) => x.highWatermark, () => null);
        return { topic: o.topic, partition: o.partition, committed_offset: o.offset, metadata: o.metadata, high_watermark: hw, lag: hw === null ? null : Math.max(0, hw - o.offset) };
      }),
    );
    return {
      group_id: group,
      generation: state.generation,
      state: live.size > 0 ? 'Stable' : 'Empty',
      strategy: state.strategy,
      members: Object.entries(state.members)
        .filter(([id]) => live.has(id))
        .map(([id, m]) => ({
          member_id: id,
          topics: m.topics,
          topic_pattern: m.pattern,
          last_heartbeat_ms_ago: now - m.heartbeat,
          assignment: (state.assignment[id] ?? []).map(([topic, partition]) => ({ topic, partition })),
        })),
      instances: instances.map((i) => ({ instance_id: i.id, mode: i.mode, format: i.format })),
      offsets: lag,
    };
  }

  /**
   * Kafka's DeleteGroups: only a group with no live members (40903 otherwise); its committed offsets and
   * consumer instances go with it. Expired members are removed first, as for a reset.
   */
  async delete(group: string): Promise<void> {
    validateGroupId(group);
    for (let attempt = 0; attempt < 5; attempt++) {
      if (!(await this.groups.groupExists(group))) throw new FloeError('NOT_FOUND', `Consumer group '${group}' not found.`);
      const state = await settleEmptyGroup(this.groups, group);
      if (liveMembers(state, Date.now()).length > 0) {
        throw new FloeError('ILLEGAL_STATE', `Group '${group}' has active members; stop them (or wait for their session timeout) before deleting it`);
      }
      if (await this.groups.deleteGroup(group, state)) return;
    }
    throw new FloeError('ILLEGAL_STATE', `Group '${group}' kept changing while it was being deleted`);
  }

  /**
   * Kafka's kafka-consumer-groups --reset-offsets: only for a group that exists (a group item, an
   * instance or committed offsets) and has no live members. Expired members are removed first, so one
   * that comes back is a new member and reads from the reset offsets, not from where it was. A dry run
   * (the tool's --dry-run) is refused the same way, writes nothing, and answers what it would write.
   */
  async resetOffsets(group: string, topic: string, partitions: number[] | undefined, target: ResetTarget, options: { dryRun?: boolean } = {}) {
    validateGroupId(group);
    if (!(await this.groups.groupExists(group))) throw new FloeError('NOT_FOUND', `Consumer group '${group}' not found.`);
    const t = await this.topics.describe(topic);
    const parts = partitions ?? Array.from({ length: t.partitions }, (_, p) => p);
    for (const p of parts) if (!Number.isInteger(p) || p < 0 || p >= t.partitions) throw new FloeError('PARTITION_NOT_FOUND', `Partition ${p} of topic '${topic}' not found.`);
    // A preview settles nothing: it reads the group as it is, live members judged by their heartbeats.
    const state = options.dryRun ? await this.groups.getGroup(group) : await settleEmptyGroup(this.groups, group);
    if (liveMembers(state, Date.now()).length > 0) {
      throw new FloeError('ILLEGAL_STATE', `Group '${group}' has active members; stop them (or wait for their session timeout) before resetting offsets`);
    }
    const now = Date.now();
    const rows = await Promise.all(
      parts.map(async (p) => {
        const o = await this.fetcher.offsets(topic, p);
        let offset: number;
        if (target.to === 'earliest') offset = o.logStartOffset;
        else if (target.to === 'latest') offset = o.highWatermark;
        else if (target.to === 'offset') offset = Math.min(Math.max(target.offset, o.logStartOffset), o.highWatermark);
        else offset = (await this.fetcher.offsetForTime(topic, p, target.timestamp)) ?? o.highWatermark;
        return { topic, topicId: t.id, partition: p, offset, metadata: null, generation: state.generation, time: now };
      }),
    );
    if (options.dryRun) {
      const current = await currentOffsets(this.topics, await this.groups.listOffsets(group));
      const before = new Map(current.filter((o) => o.topic === topic).map((o) => [o.partition, o.offset]));
      return rows.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.offset, current_offset: before.get(r.partition) ?? null }));
    }
    const result = await this.groups.commitOffsets(group, rows, { kind: 'unchanged', group: state });
    if (!result.complete) throw new FloeError('ILLEGAL_STATE', refusedCommit(`Group '${group}' changed while resetting`, rows.length, result.written));
    return rows.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.offset }));
  }
}
