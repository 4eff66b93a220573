import { describe, expect, it } from 'vitest';
import { check, type FinalRead, type Op } from './checker.ts';

const ok = (process: string, sendId: string, partition: number, values: string[], offsets: number[], attempt = 1): Op => ({ type: 'produce', process, sendId, attempt, partition, values, outcome: 'ok', offsets });
const unknown = (process: string, sendId: string, partition: number, values: string[], attempt = 1): Op => ({ type: 'produce', process, sendId, attempt, partition, values, outcome: 'unknown' });
const poll = (process: string, partition: number, records: Array<[number, string]>): Op => ({ type: 'poll', process, partition, from: records[0]?.[0] ?? 0, outcome: 'ok', records: records.map(([offset, value]) => ({ offset, value })) });
const final = (records: Array<[number, string]>, partition = 0): FinalRead => new Map([[partition, records.map(([offset, value]) => ({ offset, value }))]]);

describe('history checker', () => {
  it('accepts a clean history', () => {
    const r = check([ok('p1', 's1', 0, ['a', 'b'], [0, 1]), ok('p1', 's2', 0, ['c'], [2]), poll('c1', 0, [[0, 'a'], [1, 'b'], [2, 'c']])], final([[0, 'a'], [1, 'b'], [2, 'c']]));
    expect(r.valid).toBe(true);
    expect(r.acked).toBe(3);
  });

  it('finds a lost write and an unseen one', () => {
    const r = check([ok('p1', 's1', 0, ['a'], [0]), ok('p1', 's2', 0, ['b'], [1])], final([[0, 'a']]));
    expect(r.lost).toEqual(['b']);
    expect(r.unseen).toEqual(['b']);
    expect(r.valid).toBe(false);
  });

  it('finds one offset holding two values', () => {
    const r = check([ok('p1', 's1', 0, ['a'], [0]), ok('p2', 's2', 0, ['b'], [0])], final([[0, 'a']]));
    expect(r.inconsistent).toEqual([{ partition: 0, offset: 0, values: expect.arrayContaining(['a', 'b']) }]);
    expect(r.valid).toBe(false);
  });

  it('explains a duplicate only by a retry after an unknown outcome', () => {
    const retried = check([unknown('p1', 's1', 0, ['a']), ok('p1', 's1', 0, ['a'], [1], 2)], final([[0, 'a'], [1, 'a']]));
    expect(retried.duplicates).toHaveLength(1);
    expect(retried.duplicates[0]!.explained).toBe(true);
    expect(retried.valid).toBe(true);
    const bogus = check([ok('p1', 's1', 0, ['a'], [0])], final([[0, 'a'], [1, 'a']]));
    expect(bogus.unexplainedDuplicates).toBe(1);
    expect(bogus.valid).toBe(false);
  });

  it('finds polls that go backwards and polls that skip an offset', () => {
    const back = check([poll('c1', 0, [[0, 'a'], [1, 'b']]), poll('c1', 0, [[0, 'a']])], final([[0, 'a'], [1, 'b']]));
    expect(back.nonMonotonicPolls).toHaveLength(1);
    const skip = check([poll('c1', 0, [[0, 'a'], [2, 'c']])], final([[0, 'a'], [1, 'b'], [2, 'c']]));
    expect(skip.pollSkips).toEqual([{ process: 'c1', partition: 0, skipped: 1 }]);
    // A gap that the final read also has (compaction) is not a skip.
    expect(check([poll('c1', 0, [[0, 'a'], [2, 'c']])], final([[0, 'a'], [2, 'c']])).pollSkips).toEqual([]);
  });

  it('finds a sequential producer whose offsets went backwards', () => {
    const r = check([ok('p1', 's1', 0, ['a'], [5]), ok('p1', 's2', 0, ['b'], [3])], final([[3, 'b'], [5, 'a']]));
    expect(r.nonMonotonicSends).toHaveLength(1);
  });

  it('counts unknown sends that were written as information, not failure', () => {
    const r = check([unknown('p1', 's1', 0, ['a'])], final([[0, 'a']]));
    expect(r.unknownButWritten).toBe(1);
    expect(r.valid).toBe(true);
  });
});
