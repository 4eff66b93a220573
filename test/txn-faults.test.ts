// The bounded transactional fault run: transactional producers over five partitions of two topics,
// read_committed readers, a consume-transform-produce loop and zombie producers, with every kind of
// storage fault and crashes injected; then the transactional checker over the whole history.
// `npm run test:faults -- --transactions` runs it long.
import { describe, expect, it } from 'vitest';
import { DEFAULT_FAULTS } from './harness/faults.ts';
import { runTxnWorkload, txnSummary, type TxnWorkloadOptions } from './harness/txn-workload.ts';
import { randomTopic, testConfig } from './support/env.ts';

export function boundedTxnRun(name: string, defaultSeed: number, changes: Partial<TxnWorkloadOptions> = {}) {
  return runTxnWorkload({
    config: testConfig(),
    prefix: randomTopic(name),
    seed: Number(process.env.FLOE_FAULT_SEED ?? defaultSeed),
    ops: 400,
    maxMs: 45_000,
    rates: DEFAULT_FAULTS,
    crashEvery: 80,
    producers: 3,
    readers: 2,
    ...changes,
  });
}

describe('transactions under faults', () => {
  it('commits all or nothing, never shows an aborted or fenced write, and moves the group offsets with the outputs (bounded run)', async () => {
    const run = await boundedTxnRun('txfaults', 21);
    const s = txnSummary(run);
    console.log(JSON.stringify(s));
    expect(s.transactions.committed).toBeGreaterThan(10);
    expect(s.transactions.aborted).toBeGreaterThan(2);
    expect(s.crashes).toBeGreaterThan(0);
    expect(s.zombies).toBeGreaterThan(0);
    expect(run.result.abortedReads).toEqual([]);
    expect(run.result.precommittedReads).toEqual([]);
    expect(run.result.torn).toEqual([]);
    expect(run.result.lostWrites).toEqual([]);
    expect(run.result.duplicates).toEqual([]);
    expect(run.result.inconsistent).toEqual([]);
    expect(run.result.pollSkips).toEqual([]);
    expect(run.result.nonMonotonicPolls).toEqual([]);
    expect(run.result.offsetsWithoutOutputs).toEqual([]);
    expect(run.result.outputsWithoutOffsets).toEqual([]);
    expect(run.result.fenced).toEqual([]);
    expect(run.result.openPastTimeout).toEqual([]);
    expect(run.result.incomplete).toEqual([]);
    expect(s.valid).toBe(true);
  }, 150_000);
});
