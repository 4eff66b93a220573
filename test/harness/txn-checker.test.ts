import { describe, expect, it } from 'vitest';
import { checkTransactions, type TxnFinal, type TxnOp } from './txn-checker.ts';

let t = 0;
const at = () => ({ invoke: ++t, complete: ++t });
const init = (tid: string, epoch: number): TxnOp => ({ type: 'init', tid, epoch, process: 'p', outcome: 'ok', ...at() });
const send = (tid: string, txn: number, epoch: number, values: string[], outcome: 'ok' | 'unknown' | 'fail' = 'ok', sequence = 0): TxnOp => ({
  type: 'send',
  tid,
  txn,
  epoch,
  sequence,
  topic: 'a',
  records: values.map((value, i) => ({ partition: i % 2, value })),
  process: 'p',
  outcome,
  ...at(),
});
const end = (tid: string, txn: number, epoch: number, how: 'commit' | 'abort', outcome: 'ok' | 'unknown' | 'fail' = 'ok'): TxnOp => ({ type: 'end', tid, txn, epoch, how, process: 'p', outcome, ...at() });
const poll = (partition: string, records: Array<[number, string]>, process = 'r'): TxnOp => ({ type: 'poll', partition, from: 0, records: records.map(([offset, value]) => ({ offset, value })), process, outcome: 'ok', ...at() });
const final = (logs: Record<string, Array<[number, string]>>, more: Partial<TxnFinal> = {}): TxnFinal => ({
  logs: new Map(Object.entries(logs).map(([k, v]) => [k, v.map(([offset, value]) => ({ offset, value }))])),
  unfinished: [],
  sweptAt: Date.now(),
  ...more,
});

describe('transactional checker', () => {
  it('accepts a committed transaction read whole, after its commit', () => {
    const h = [init('t', 0), send('t', 1, 0, ['t|1|0', 't|1|1']), end('t', 1, 0, 'commit'), poll('a/0', [[0, 't|1|0']])];
    const r = checkTransactions(h, final({ 'a/0': [[0, 't|1|0']], 'a/1': [[0, 't|1|1']] }));
    expect(r.valid).toBe(true);
    expect(r.transactions.committed).toBe(1);
  });

  it('finds aborted, precommitted, torn and lost transactions', () => {
    const h = [
      init('t', 0),
      send('t', 1, 0, ['t|1|0']),
      end('t', 1, 0, 'abort'),
      send('t', 2, 0, ['t|2|0'], 'ok', 1),
      poll('a/0', [[1, 't|2|0']]),
      end('t', 2, 0, 'commit'),
      send('t', 3, 0, ['t|3|0', 't|3|1'], 'ok', 2),
      end('t', 3, 0, 'commit', 'unknown'),
      send('t', 4, 0, ['t|4|0'], 'ok', 3),
      end('t', 4, 0, 'commit'),
    ];
    const r = checkTransactions(h, final({ 'a/0': [[0, 't|1|0'], [1, 't|2|0'], [2, 't|3|0']] }));
    expect(r.abortedReads).toEqual(['t|1|0']);
    expect(r.precommittedReads).toEqual(['t|2|0']);
    expect(r.torn).toEqual([{ txn: 't|3', visible: 1, missing: ['t|3|1'] }]);
    expect(r.lostWrites).toEqual(['t|4']);
    expect(r.valid).toBe(false);
  });

  it('takes an unanswered commit for all or nothing', () => {
    const h = [init('t', 0), send('t', 1, 0, ['t|1|0', 't|1|1']), end('t', 1, 0, 'commit', 'unknown')];
    expect(checkTransactions(h, final({})).valid).toBe(true);
    expect(checkTransactions(h, final({ 'a/0': [[0, 't|1|0']], 'a/1': [[0, 't|1|1']] })).valid).toBe(true);
  });

  it('finds a write or commit of a fenced epoch that was accepted', () => {
    const h = [init('t', 0), send('t', 1, 0, ['t|1|0']), init('t', 1), send('t', 1, 0, ['t|1|1'], 'ok', 1), end('t', 1, 0, 'commit')];
    const r = checkTransactions(h, final({ 'a/1': [[0, 't|1|1']] }));
    expect(r.fenced.length).toBe(3);
    expect(r.torn).toEqual([{ txn: 't|1', visible: 1, missing: ['t|1|0'] }]);
  });

  it('finds duplicates, inconsistent offsets, skips and polls going backwards', () => {
    const h = [init('t', 0), send('t', 1, 0, ['t|1|0', 't|1|1', 't|1|2']), end('t', 1, 0, 'commit'), poll('a/0', [[0, 't|1|0'], [3, 't|1|2']]), poll('a/0', [[0, 'x|9|9']])];
    const r = checkTransactions(h, final({ 'a/0': [[0, 't|1|0'], [1, 't|1|2'], [3, 't|1|2']], 'a/1': [[0, 't|1|1']] }));
    expect(r.duplicates).toEqual(['t|1|2']);
    expect(r.inconsistent).toEqual([{ partition: 'a/0', offset: 0, values: ['t|1|0', 'x|9|9'] }]);
    expect(r.pollSkips).toEqual([{ process: 'r', partition: 'a/0', skipped: 1 }]);
    expect(r.nonMonotonicPolls).toEqual([{ process: 'r', partition: 'a/0', offsets: [3, 0] }]);
  });

  it('matches committed input offsets with visible outputs exactly', () => {
    const h = [init('c', 0), send('c', 1, 0, ['c|1|0|in-0', 'c|1|1|in-1']), end('c', 1, 0, 'commit')];
    const logs = { 'in/0': [[0, 'in-0'], [1, 'in-1'], [2, 'in-2']] as Array<[number, string]>, 'out/0': [[0, 'c|1|0|in-0'], [1, 'c|1|1|in-1']] as Array<[number, string]> };
    const ctp = (upTo: number) => ({ ctp: { input: 'in', output: 'out', committed: new Map([[0, upTo]]) } });
    expect(checkTransactions(h, final(logs, ctp(2))).valid).toBe(true);
    expect(checkTransactions(h, final(logs, ctp(3))).offsetsWithoutOutputs).toEqual(['in-2']);
    expect(checkTransactions(h, final(logs, ctp(1))).outputsWithoutOffsets).toEqual(['c|1|1|in-1']);
  });

  it('finds a transaction left open past its deadline, and one left decided', () => {
    const sweptAt = Date.now();
    const r = checkTransactions([], final({}, { sweptAt, unfinished: [{ tid: 'late', state: 'Ongoing', deadline: sweptAt - 1 }, { tid: 'early', state: 'Ongoing', deadline: sweptAt + 1000 }, { tid: 'stuck', state: 'PrepareCommit', deadline: null }] }));
    expect(r.openPastTimeout).toEqual(['late']);
    expect(r.incomplete).toEqual(['stuck PrepareCommit']);
  });
});
