// The bounded transactional fault run: transactional producers over five partitions of two topics,
// read_committed readers, a consume-transform-produce loop and zombie producers, with every kind of
// storage fault and crashes injected; then the transactional checker over the whole history.
// `npm run test:faults -- --transactions` runs it long. Then the same checker against planted bugs, each
// patched into the transaction code at run time, that a small bounded run must find: a checker that
// passed these runs would pass a broken commit, abort or fence.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FloeError } from '../src/errors.ts';
import { COMMIT_DEADLINE_MS } from '../src/model/lifetimes.ts';
import { TransactionsTable, type StagedWrite, type TxnState } from '../src/storage/transactions-table.ts';
import { stagedBatch, TransactionCoordinator, type TransactionsDeps } from '../src/transactions/coordinator.ts';
import { DEFAULT_FAULTS } from './harness/faults.ts';
import { runTxnWorkload, txnSummary, type TxnWorkloadOptions } from './harness/txn-workload.ts';
import { randomTopic, testConfig } from './support/env.ts';

function boundedTxnRun(name: string, defaultSeed: number, changes: Partial<TxnWorkloadOptions> = {}) {
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

/** A short run: fewer operations than the full bounded run, the same faults and crashes. */
const plantedRun = (name: string, seed: number, changes = {}) => boundedTxnRun(name, seed, { ops: 220, maxMs: 30_000, ...changes });

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the transactional checker finds planted bugs', () => {
  it('(a) a commit that skips one partition: torn transactions', async () => {
    const writesOf = TransactionsTable.prototype.writesOf;
    // The roll-forward never learns of the batches of the transaction's last partition.
    vi.spyOn(TransactionsTable.prototype, 'writesOf').mockImplementation(async function (this: TransactionsTable, s: TxnState) {
      const writes = await writesOf.call(this, s);
      const partitions = [...new Set(writes.flatMap((w) => w.batches.map((b) => `${w.topic}:${b.partition}`)))].sort();
      if (partitions.length < 2) return writes;
      const skipped = partitions[partitions.length - 1];
      return writes.map((w) => ({ ...w, batches: w.batches.filter((b) => `${w.topic}:${b.partition}` !== skipped) }));
    });
    const s = txnSummary(await plantedRun('plant-skip', 31));
    console.log(JSON.stringify({ planted: 'commit skips a partition', ...s }));
    expect(s.torn_transactions).toBeGreaterThan(0);
    expect(s.valid).toBe(false);
  }, 120_000);

  it('(b) an abort that leaves one batch visible: aborted reads', async () => {
    const coordinator = TransactionCoordinator.prototype as unknown as { rollBack: (s: TxnState) => Promise<void> };
    const rollBack = coordinator.rollBack;
    // Before undoing the transaction, the first batch of its first write is appended to its partition.
    vi.spyOn(coordinator, 'rollBack').mockImplementation(async function (this: unknown, s: TxnState) {
      const { deps } = this as { deps: TransactionsDeps };
      const [w] = (await deps.table.writesOf(s)) as StagedWrite[];
      const b = w?.batches[0];
      if (w && b) {
        const batch = stagedBatch(w, b);
        try {
          const topic = await deps.topics.resolve(w.topic);
          await deps.appender.append(topic, [batch], w.objectKey, 0, { id: s.producerId, epoch: s.txnEpoch, sequence: s.n * 2 ** 20 }, { deadline: Date.now() + COMMIT_DEADLINE_MS });
        } catch (e) {
          // Leaked by an earlier roll-back of the same transaction.
          if (!(e instanceof FloeError && (e.code === 'OUT_OF_ORDER_SEQUENCE' || e.code === 'PRODUCER_FENCED'))) throw e;
        }
      }
      return rollBack.call(this, s);
    });
    const s = txnSummary(await plantedRun('plant-abort', 32));
    console.log(JSON.stringify({ planted: 'abort leaves a batch', ...s }));
    expect(s.aborted_reads).toBeGreaterThan(0);
    expect(s.valid).toBe(false);
  }, 120_000);

  it('(c) a fence that is not checked: a zombie write or commit accepted', async () => {
    vi.spyOn(TransactionCoordinator.prototype as never, 'checkProducer').mockImplementation(() => undefined);
    const s = txnSummary(await plantedRun('plant-fence', 33, { zombieRate: 0.5 }));
    console.log(JSON.stringify({ planted: 'fence not checked', ...s }));
    expect(s.fenced_visible).toBeGreaterThan(0);
    expect(s.valid).toBe(false);
  }, 120_000);
});
