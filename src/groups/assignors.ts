// Partition assignment strategies, as Kafka's client-side assignors define them, run on the server
// (KIP-848 style). Pure functions: members with their subscriptions in, an assignment out. Each
// partition goes to at most one member, and only to a member subscribed to its topic.

export interface MemberSubscription {
  memberId: string;
  topics: string[];
}

export interface TopicPartitions {
  topic: string;
  partitions: number;
}

export type Assignment = Record<string, Array<[string, number]>>;

export type Strategy = 'range' | 'roundrobin';

export const STRATEGIES: readonly Strategy[] = ['range', 'roundrobin'];

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

export function assign(strategy: Strategy, members: MemberSubscription[], topics: TopicPartitions[]): Assignment {
  return strategy === 'roundrobin' ? roundRobinAssign(members, topics) : rangeAssign(members, topics);
}
