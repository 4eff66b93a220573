import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assign, rangeAssign, roundRobinAssign, stickyAssign, type MemberSubscription, type TopicPartitions } from './assignors.ts';

describe('range assignor', () => {
  it('gives contiguous ranges, extras to the first members, per topic (Kafka\'s example)', () => {
    const members = [{ memberId: 'C0', topics: ['t0', 't1'] }, { memberId: 'C1', topics: ['t0', 't1'] }];
    const topics = [{ topic: 't0', partitions: 3 }, { topic: 't1', partitions: 3 }];
    expect(rangeAssign(members, topics)).toEqual({
      C0: [['t0', 0], ['t0', 1], ['t1', 0], ['t1', 1]],
      C1: [['t0', 2], ['t1', 2]],
    });
  });
});

describe('round-robin assignor', () => {
  it('deals all partitions in turn (Kafka\'s example)', () => {
    const members = [{ memberId: 'C0', topics: ['t0', 't1'] }, { memberId: 'C1', topics: ['t0', 't1'] }];
    const topics = [{ topic: 't0', partitions: 3 }, { topic: 't1', partitions: 3 }];
    expect(roundRobinAssign(members, topics)).toEqual({
      C0: [['t0', 0], ['t0', 2], ['t1', 1]],
      C1: [['t0', 1], ['t1', 0], ['t1', 2]],
    });
  });

  it('skips members not subscribed to a topic', () => {
    const r = roundRobinAssign([{ memberId: 'a', topics: ['x'] }, { memberId: 'b', topics: ['y'] }], [{ topic: 'x', partitions: 2 }, { topic: 'y', partitions: 1 }]);
    expect(r).toEqual({ a: [['x', 0], ['x', 1]], b: [['y', 0]] });
  });
});

describe('every strategy', () => {
  const arb = fc.record({
    members: fc.uniqueArray(fc.record({ memberId: fc.stringMatching(/^[a-z]{1,4}$/), topics: fc.subarray(['a', 'b', 'c'], { minLength: 1 }) }), { selector: (m) => m.memberId, minLength: 1, maxLength: 6 }),
    partitions: fc.tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 })),
  });
  it.each(['range', 'roundrobin', 'sticky'] as const)('%s: each subscribed partition has exactly one owner, a subscriber, and loads differ by at most one for equal subscriptions', (strategy) => {
    fc.assert(
      fc.property(arb, ({ members, partitions }) => {
        const topics: TopicPartitions[] = ['a', 'b', 'c'].map((topic, i) => ({ topic, partitions: partitions[i]! }));
        const out = assign(strategy, members as MemberSubscription[], topics);
        const owners = new Map<string, string>();
        for (const [id, parts] of Object.entries(out)) {
          const m = members.find((x) => x.memberId === id)!;
          for (const [t, p] of parts) {
            expect(m.topics).toContain(t);
            expect(owners.has(`${t}:${p}`)).toBe(false);
            owners.set(`${t}:${p}`, id);
          }
        }
        for (const t of topics) {
          if (!members.some((m) => m.topics.includes(t.topic))) continue;
          for (let p = 0; p < t.partitions; p++) expect(owners.has(`${t.topic}:${p}`)).toBe(true);
        }
        if (members.every((m) => m.topics.length === 3) && strategy !== 'range') {
          const loads = Object.values(out).map((x) => x.length);
          expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('sticky assignor', () => {
  const topics = [{ topic: 't', partitions: 12 }];
  const m = (id: string): MemberSubscription => ({ memberId: id, topics: ['t'] });

  it('moves only what balance needs when a member joins or leaves', () => {
    const three = stickyAssign([m('a'), m('b'), m('c')], topics);
    expect(Object.values(three).map((x) => x.length)).toEqual([4, 4, 4]);
    const four = stickyAssign([m('a'), m('b'), m('c'), m('d')], topics, three);
    expect(Object.values(four).map((x) => x.length)).toEqual([3, 3, 3, 3]);
    for (const id of ['a', 'b', 'c']) {
      const kept = four[id]!.filter(([t, p]) => three[id]!.some(([t2, p2]) => t === t2 && p === p2));
      expect(kept).toHaveLength(3);
    }
    const back = stickyAssign([m('a'), m('b'), m('d')], topics, four);
    for (const id of ['a', 'b', 'd']) {
      const kept = back[id]!.filter(([t, p]) => four[id]!.some(([t2, p2]) => t === t2 && p === p2));
      expect(kept).toHaveLength(3);
    }
  });
});
