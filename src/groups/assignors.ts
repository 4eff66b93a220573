// Partition assignment strategies, as Kafka's client-side assignors define them, run on the server
// (KIP-848 style). Pure functions: members with their subscriptions in, an assignment out. Each
// partition goes to at most one member, and only to a member subscribed to its topic.
import type { Strategy } from '../model/group.ts';

export interface MemberSubscription {
  memberId: string;
  topics: string[];
}

export interface TopicPartitions {
  topic: string;
  partitions: number;
}

export type Assignment = Record<string, Array<[string, number]>>;


export const STRATEGIES: readonly Strategy[] = ['range', 'roundrobin', 'sticky'];

function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Kafka's RangeAssignor: per topic, the subscribed members in order each get a contiguous range; the
 * first `partitions % members` members get one extra.
 */
export function rangeAssign(members: MemberSubscription[], topics: TopicPartitions[]): Assignment {
  const out: Assignment = Object.fromEntries(members.map((m) => [m.memberId, []]));
  for (const t of [...topics].sort((a, b) => byString(a.topic, b.topic))) {
    const subscribed = members.filter((m) => m.topics.includes(t.topic)).map((m) => m.memberId).sort(byString);
    if (subscribed.length === 0) continue;
    const per = Math.floor(t.partitions / subscribed.length);
    const extra = t.partitions % subscribed.length;
    let next = 0;
    subscribed.forEach((id, i) => {
      const count = per + (i < extra ? 1 : 0);
      for (let p = next; p < next + count; p++) out[id]!.push([t.topic, p]);
      next += count;
    });
  }
  return out;
}

/**
 * Kafka's RoundRobinAssignor: all partitions of all topics in order, dealt to the members in turn,
 * skipping members not subscribed to a partition's topic.
 */
export function roundRobinAssign(members: MemberSubscription[], topics: TopicPartitions[]): Assignment {
  const out: Assignment = Object.fromEntries(members.map((m) => [m.memberId, []]));
  const ids = members.map((m) => m.memberId).sort(byString);
  const subs = new Map(members.map((m) => [m.memberId, new Set(m.topics)]));
  let turn = 0;
  for (const t of [...topics].sort((a, b) => byString(a.topic, b.topic))) {
    for (let p = 0; p < t.partitions; p++) {
      for (let tried = 0; tried < ids.length; tried++) {
        const id = ids[turn++ % ids.length]!;
        if (subs.get(id)!.has(t.topic)) {
          out[id]!.push([t.topic, p]);
          break;
        }
      }
    }
  }
  return out;
}

/**
 * In the spirit of Kafka's StickyAssignor: members keep the partitions they had, as far as balance
 * allows; new and orphaned partitions go to the least loaded subscribers; then partitions move one at a
 * time from the most to the least loaded member that can take them, until no move narrows the gap.
 */
export function stickyAssign(members: MemberSubscription[], topics: TopicPartitions[], previous: Assignment = {}): Assignment {
  const out: Assignment = Object.fromEntries(members.map((m) => [m.memberId, []]));
  if (members.length === 0) return out;
  const subs = new Map(members.map((m) => [m.memberId, new Set(m.topics)]));
  const all: Array<[string, number]> = [];
  for (const t of [...topics].sort((a, b) => byString(a.topic, b.topic))) {
    if (!members.some((m) => m.topics.includes(t.topic))) continue;
    for (let p = 0; p < t.partitions; p++) all.push([t.topic, p]);
  }
  const exists = new Set(all.map(([t, p]) => `${t}:${p}`));
  const quota = Math.ceil(all.length / members.length);
  const taken = new Set<string>();
  for (const id of members.map((m) => m.memberId).sort(byString)) {
    for (const [t, p] of previous[id] ?? []) {
      const k = `${t}:${p}`;
      if (!exists.has(k) || taken.has(k) || !subs.get(id)!.has(t) || out[id]!.length >= quota) continue;
      out[id]!.push([t, p]);
      taken.add(k);
    }
  }
  const load = (id: string) => out[id]!.length;
  for (const [t, p] of all) {
    if (taken.has(`${t}:${p}`)) continue;
    const candidates = members.filter((m) => subs.get(m.memberId)!.has(t)).map((m) => m.memberId).sort((a, b) => load(a) - load(b) || byString(a, b));
    out[candidates[0]!]!.push([t, p]);
    taken.add(`${t}:${p}`);
  }
  // Balance: move from a heavier member to a lighter one subscribed to the partition's topic.
  for (let moves = 0; moves < all.length * members.length; moves++) {
    let moved = false;
    const ids = members.map((m) => m.memberId).sort((a, b) => load(b) - load(a) || byString(a, b));
    outer: for (const heavy of ids) {
      for (const light of [...ids].reverse()) {
        if (load(heavy) - load(light) < 2) continue;
        const i = out[heavy]!.findIndex(([t]) => subs.get(light)!.has(t));
        if (i < 0) continue;
        out[light]!.push(out[heavy]!.splice(i, 1)[0]!);
        moved = true;
        break outer;
      }
    }
    if (!moved) break;
  }
  for (const id of Object.keys(out)) out[id]!.sort((a, b) => byString(a[0], b[0]) || a[1] - b[1]);
  return out;
}

export function assign(strategy: Strategy, members: MemberSubscription[], topics: TopicPartitions[], previous: Assignment = {}): Assignment {
  if (strategy === 'sticky') return stickyAssign(members, topics, previous);
  return strategy === 'roundrobin' ? roundRobinAssign(members, topics) : rangeAssign(members, topics);
}
