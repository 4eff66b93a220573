// The group coordinator, run by whichever process serves a member's request (KIP-848 style): it
// expires members past their session timeout, admits joiners, and on any change bumps the generation
// and recomputes the assignment, all through conditional writes on the group item.
import type { Fetcher } from '../fetch/fetch.ts';
import type { GroupsTable, GroupState, MemberState } from '../storage/groups-table.ts';
import type { TopicService } from '../topics/topics.ts';
import { assign, type Strategy, type TopicPartitions } from './assignors.ts';

export interface Membership {
  generation: number;
  assignment: Array<[string, number]>;
}

export interface JoinRequest {
  group: string;
  member: string;
  topics: string[];
  pattern: string | null;
  sessionTimeoutMs: number;
  strategy: Strategy;
}

const MAX_ATTEMPTS = 20;
/** How often a process re-lists topics for a group with pattern subscriptions. */
export const PATTERN_CHECK_MS = 5_000;

export function liveMembers(state: GroupState, now: number): string[] {
  return Object.entries(state.members)
    .filter(([, m]) => m.heartbeat + m.sessionTimeoutMs >= now)
    .map(([id]) => id);
}

export class Coordinator {
  private readonly patternChecks = new Map<string, number>();

  constructor(
    private readonly groups: GroupsTable,
    private readonly topics: TopicService,
    readonly fetcher: Fetcher,
  ) {}

  /** Heartbeat, joining first when needed; returns the member's generation and partitions. */
  async heartbeat(req: JoinRequest): Promise<Membership> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const state = await this.groups.getGroup(req.group, req.strategy);
      const now = Date.now();
      const expired = Object.entries(state.members)
        .filter(([id, m]) => id !== req.member && m.heartbeat + m.sessionTimeoutMs < now)
        .map(([id]) => id);
      const me = state.members[req.member];
      const changed =
        !me ||
        me.heartbeat + me.sessionTimeoutMs < now ||
        me.pattern !== req.pattern ||
        me.topics.join('\u0000') !== req.topics.join('\u0000') ||
        (await this.patternTopicsChanged(req.group, state, now));
      if (changed || expired.length > 0) {
        const members: Record<string, MemberState> = { ...state.members };
        for (const id of expired) delete members[id];
        members[req.member] = { topics: req.topics, pattern: req.pattern, heartbeat: now, sessionTimeoutMs: req.sessionTimeoutMs };
        const next = await this.rebalance(state, members);
        if (await this.groups.replaceGroup(req.group, state, next, expired)) return { generation: next.generation, assignment: next.assignment[req.member] ?? [] };
      } else {
        // Heartbeat writes are spaced out: a few per session timeout keep a member alive.
        if (now - me.heartbeat < me.sessionTimeoutMs / 4 || (await this.groups.heartbeat(req.group, req.member, state, now))) {
          return { generation: state.generation, assignment: state.assignment[req.member] ?? [] };
        }
      }
      await new Promise((r) => setTimeout(r, Math.random() * 20 * (attempt + 1)));
    }
    throw Object.assign(new Error('group coordination kept losing races'), { name: 'TransactionConflict', $retryable: {}, $metadata: { httpStatusCode: 500 } });
  }

  /** A member leaves: the others get its partitions in the next generation. */
  async leave(group: string, member: string): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const state = await this.groups.getGroup(group);
      if (!state.members[member]) return;
      const members = { ...state.members };
      delete members[member];
      if (await this.groups.replaceGroup(group, state, await this.rebalance(state, members), [])) return;
    }
  }

  /**
   * A topic created (or deleted) that a member's topic_pattern matches calls for a rebalance. The topic
   * list is a scan, so each process looks at most once per PATTERN_CHECK_MS per group.
   */
  private async patternTopicsChanged(group: string, state: GroupState, now: number): Promise<boolean> {
    const patterns = Object.values(state.members).filter((m) => m.pattern !== null);
    if (patterns.length === 0 || now - (this.patternChecks.get(group) ?? 0) < PATTERN_CHECK_MS) return false;
    this.patternChecks.set(group, now);
    const names = (await this.topics.list()).map((t) => t.topic);
    const matched = new Set(patterns.flatMap((m) => names.filter((t) => new RegExp(`^(?:${m.pattern})$`).test(t))));
    const assigned = new Set(Object.values(state.assignment).flatMap((parts) => parts.map(([t]) => t)));
    const explicit = new Set(Object.values(state.members).flatMap((m) => (m.pattern === null ? m.topics : [])));
    for (const t of matched) if (!assigned.has(t)) return true;
    for (const t of assigned) if (!matched.has(t) && !explicit.has(t)) return true;
    return false;
  }

  private async rebalance(state: GroupState, members: Record<string, MemberState>) {
    const wanted = new Set<string>();
    const all = Object.values(members).some((m) => m.pattern !== null) ? await this.topics.list() : undefined;
    const subscriptions = Object.entries(members).map(([memberId, m]) => {
      const topics = m.pattern !== null ? all!.map((t) => t.topic).filter((t) => new RegExp(`^(?:${m.pattern})$`).test(t)) : m.topics;
      topics.forEach((t) => wanted.add(t));
      return { memberId, topics };
    });
    const topicPartitions: TopicPartitions[] = [];
    for (const name of wanted) {
      const t = all?.find((x) => x.topic === name) ?? (await this.topics.resolve(name).catch(() => undefined));
      if (t) topicPartitions.push({ topic: t.topic, partitions: t.partitions });
    }
    return {
      generation: state.generation + 1,
      strategy: state.strategy,
      members,
      assignment: assign(state.strategy, subscriptions, topicPartitions, state.assignment),
    };
  }
}
