// The group coordinator, run by whichever process serves a member's request (KIP-848 style): it
// expires members past their session timeout, admits joiners, and on any change bumps the generation
// and recomputes the assignment, all through conditional writes on the group item.
import type { Fetcher } from '../fetch/fetch.ts';
import type { GroupState, MemberState, Strategy } from '../model/group.ts';
import type { GroupsTable } from '../storage/groups-table.ts';
import { RETRY, retrying } from '../storage/retry.ts';
import { RetriableStorageError } from '../errors.ts';
import type { TopicService } from '../topics/topics.ts';
import { assign, type TopicPartitions } from './assignors.ts';
import { topicsMatching } from './patterns.ts';

export interface Membership {
  generation: number;
  assignment: Array<[string, number]>;
  /**
   * True when this call made the caller a member: it was not one, or its session had expired. Such a
   * member is a new one (as in Kafka), whatever generation it saw before: it keeps no position.
   */
  joined: boolean;
}

export interface JoinRequest {
  group: string;
  member: string;
  topics: string[];
  pattern: string | null;
  sessionTimeoutMs: number;
  strategy: Strategy;
  /** How long the records call carrying this heartbeat will wait for data (0 when it is not one). */
  waitMs?: number;
}

/** How often a process re-lists topics for a group with pattern subscriptions. */
export const PATTERN_CHECK_MS = 5_000;

/**
 * The session of a member runs from its last heartbeat or, when that heartbeat came with a long poll,
 * from the end of that poll's wait: a member waiting for data is not dead.
 */
export function sessionExpiresAt(m: MemberState): number {
  return Math.max(m.heartbeat, m.pollingUntil ?? 0) + m.sessionTimeoutMs;
}

export function isLive(m: MemberState, now: number): boolean {
  return sessionExpiresAt(m) >= now;
}

export function liveMembers(state: Pick<GroupState, 'members'>, now: number): string[] {
  return Object.entries(state.members)
    .filter(([, m]) => isLive(m, now))
    .map(([id]) => id);
}

/**
 * Makes a group with no live members empty for good before its offsets are written from outside it
 * (an admin reset, a manually assigned consumer's commit): members whose session expired are removed
 * and the generation bumped, with the same conditional write a coordinator expires members with. A
 * member that comes back is then a new member and starts from the committed offsets. Returns the state
 * to guard the offset write on (its version), or the state read when the group has live members.
 */
export async function settleEmptyGroup(groups: GroupsTable, group: string): Promise<GroupState> {
  return retrying(`settling group '${group}'`, async () => {
    const state = await groups.getGroup(group);
    const ids = Object.keys(state.members);
    if (ids.length === 0 || liveMembers(state, Date.now()).length > 0) return state;
    const next = { generation: state.generation + 1, strategy: state.strategy, members: {}, assignment: {} };
    if (await groups.replaceGroup(group, state, next, ids)) return { ...next, version: state.version + 1, exists: true };
    return RETRY;
  });
}

export class GroupCoordinator {
  private readonly patternChecks = new Map<string, number>();

  constructor(
    private readonly groups: GroupsTable,
    private readonly topics: TopicService,
    readonly fetcher: Fetcher,
  ) {}

  /** Heartbeat, joining first when needed; returns the member's generation and partitions. */
  async heartbeat(req: JoinRequest): Promise<Membership> {
    return retrying(`coordinating group '${req.group}'`, async () => {
      const state = await this.groups.getGroup(req.group, req.strategy);
      const now = Date.now();
      const pollingUntil = now + Math.max(0, req.waitMs ?? 0);
      const expired = Object.entries(state.members)
        .filter(([id, m]) => id !== req.member && !isLive(m, now))
        .map(([id]) => id);
      const me = state.members[req.member];
      const joined = !me || !isLive(me, now);
      const changed =
        joined ||
        me.pattern !== req.pattern ||
        me.topics.join('\u0000') !== req.topics.join('\u0000') ||
        (await this.patternTopicsChanged(req.group, state, now));
      if (changed || expired.length > 0) {
        const members: Record<string, MemberState> = { ...state.members };
        for (const id of expired) delete members[id];
        // A member in the middle of a long poll (a concurrent call of the same instance) stays covered.
        const until = joined ? pollingUntil : Math.max(pollingUntil, me.pollingUntil ?? 0);
        members[req.member] = { topics: req.topics, pattern: req.pattern, heartbeat: now, pollingUntil: until, sessionTimeoutMs: req.sessionTimeoutMs };
        const next = await this.rebalance(state, members);
        if (await this.groups.replaceGroup(req.group, state, next, expired)) return { generation: next.generation, assignment: next.assignment[req.member] ?? [], joined };
      } else {
        // Heartbeat writes are spaced out: a few per session timeout keep a member alive. A write is
        // needed when the session it already has would end less than 3/4 of a timeout after this
        // call's wait.
        const covered = Math.max(me.heartbeat, me.pollingUntil ?? 0) - pollingUntil > -me.sessionTimeoutMs / 4;
        if (covered || (await this.groups.heartbeat(req.group, req.member, state, now, Math.max(pollingUntil, me.pollingUntil ?? 0)))) {
          return { generation: state.generation, assignment: state.assignment[req.member] ?? [], joined: false };
        }
      }
      return RETRY;
    });
  }

  /** A member leaves: the others get its partitions in the next generation. */
  async leave(group: string, member: string): Promise<void> {
    try {
      await retrying(`leaving group '${group}'`, async () => {
        const state = await this.groups.getGroup(group);
        if (!state.members[member]) return;
        const members = { ...state.members };
        delete members[member];
        return (await this.groups.replaceGroup(group, state, await this.rebalance(state, members), [])) ? undefined : RETRY;
      });
    } catch (e) {
      // A member that cannot leave for lost races is removed when its session times out.
      if (!(e instanceof RetriableStorageError)) throw e;
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
    const matched = new Set(patterns.flatMap((m) => topicsMatching(m.pattern!, names)));
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
      const topics = m.pattern !== null ? topicsMatching(m.pattern, all!.map((t) => t.topic)) : m.topics;
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
