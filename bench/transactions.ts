// Transactions: what a commit costs, in time and in storage calls, for transactions over 1, 8 and 64
// partitions (one send covering them, then the commit), and what read_committed costs against
// read_uncommitted on the same log of committed transactions.
import type { FloeConfig } from '../src/config.ts';
import { createEngine, type Engine } from '../src/engine/engine.ts';
import { DEFAULT_MAX_BYTES, type IsolationLevel } from '../src/fetch/fetch.ts';
import { createClients } from '../src/storage/clients.ts';
import type { CallCounter } from '../test/support/call-counter.ts';

export interface CommitFigures {
  partitions: number;
  transactions: number;
  commit_p50_ms: number;
  commit_p99_ms: number;
  send_p50_ms: number;
  /** AWS calls (DynamoDB and S3) the commit made, per commit, by operation and in all. */
  calls_per_commit: number;
  commit_calls: Record<string, number>;
  /** AWS calls of the send that staged the transaction's records, per transaction. */
  calls_per_send: number;
}

export interface IsolationFigures {
  records: number;
  read_committed_records_per_s: number;
  read_uncommitted_records_per_s: number;
  read_committed_vs_uncommitted: number;
}

const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const total = (calls: Record<string, number>) => Object.values(calls).reduce((a, b) => a + b, 0);

/**
 * `count` transactions of one producer, each one send of one 1 KB record per partition of a topic of
 * `partitions` partitions and then the commit, after one unmeasured warm-up transaction. Only this
 * engine's calls are counted, and nothing else runs on it meanwhile.
 */
async function commits(engine: Engine, counter: CallCounter, run: string, partitions: number, count: number, value: Buffer): Promise<CommitFigures> {
  const topic = `bench-txn-${run}-${partitions}p`;
  await engine.topics.create({ name: topic, partitions });
  const tid = `bench-txn-${run}-${partitions}`;
  let ids = await engine.transactions.init(tid);
  const records = Array.from({ length: partitions }, (_, partition) => ({ key: null, value, partition }));
  const commitMs: number[] = [];
  const sendMs: number[] = [];
  const commitCalls: Record<string, number> = {};
  let sendCalls = 0;
  for (let i = 0; i <= count; i++) {
    counter.reset();
    let t = performance.now();
    await engine.transactions.send(tid, { ...ids, sequence: 0 }, topic, records);
    const sent = performance.now() - t;
    const staged = total(counter.snapshot());
    counter.reset();
    t = performance.now();
    const s = await engine.transactions.end(tid, ids, 'commit');
    const committed = performance.now() - t;
    // Each end bumps the epoch: the next transaction goes on with it, sequences from 0.
    ids = { id: s.producerId, epoch: s.epoch };
    if (s.state !== 'CompleteCommit') throw new Error(`transaction ${i} of ${tid} ended ${s.state}`);
    if (i === 0) continue; // the warm-up: topic and producer caches
    sendMs.push(sent);
    commitMs.push(committed);
    sendCalls += staged;
    for (const [op, n] of Object.entries(counter.snapshot())) commitCalls[op] = (commitCalls[op] ?? 0) + n;
  }
  // Every partition holds each transaction's record and its commit marker.
  const { highWatermark } = await engine.fetcher.offsets(topic, partitions - 1);
  if (highWatermark !== 2 * (count + 1)) throw new Error(`partition ${partitions - 1} of ${topic} has ${highWatermark} offsets, expected ${2 * (count + 1)}`);
  commitMs.sort((a, b) => a - b);
  sendMs.sort((a, b) => a - b);
  return {
    partitions,
    transactions: count,
    commit_p50_ms: round(percentile(commitMs, 50)),
    commit_p99_ms: round(percentile(commitMs, 99)),
    send_p50_ms: round(percentile(sendMs, 50)),
    calls_per_commit: round(total(commitCalls) / count, 2),
    commit_calls: Object.fromEntries(Object.entries(commitCalls).sort().map(([op, n]) => [op, round(n / count, 2)])),
    calls_per_send: round(sendCalls / count, 2),
  };
}

/** Partition 0 of `topic` from offset 0 to the high watermark at one isolation level, on a fresh engine (cold range cache). */
async function readAll(config: FloeConfig, topic: string, highWatermark: number, isolation: IsolationLevel): Promise<{ records: number; ms: number }> {
  const engine = createEngine(config, createClients(config));
  const t = performance.now();
  let records = 0;
  for (let offset = 0; offset < highWatermark; ) {
    const r = await engine.fetcher.fetch({ topic, partition: 0, offset, maxBytes: DEFAULT_MAX_BYTES, isolation });
    records += r.records.length;
    if (r.nextOffset <= offset) break;
    offset = r.nextOffset;
  }
  return { records, ms: performance.now() - t };
}

/**
 * One partition filled by `transactions` committed transactions of `perTxn` 1 KB records, read whole
 * at read_committed and at read_uncommitted, in alternating order round by round.
 */
async function isolationCost(engine: Engine, config: FloeConfig, run: string, transactions: number, perTxn: number, rounds: number, value: Buffer): Promise<IsolationFigures> {
  const topic = `bench-txn-${run}-isolation`;
  await engine.topics.create({ name: topic, partitions: 1 });
  const tid = `bench-txn-${run}-isolation`;
  let ids = await engine.transactions.init(tid);
  const records = Array.from({ length: perTxn }, () => ({ key: null, value, partition: 0 }));
  for (let i = 0; i < transactions; i++) {
    await engine.transactions.send(tid, { ...ids, sequence: 0 }, topic, records);
    const s = await engine.transactions.end(tid, ids, 'commit');
    ids = { id: s.producerId, epoch: s.epoch };
  }
  const { highWatermark } = await engine.fetcher.offsets(topic, 0);
  const sum = { read_committed: { records: 0, ms: 0 }, read_uncommitted: { records: 0, ms: 0 } };
  for (let r = 0; r < rounds; r++) {
    const order: IsolationLevel[] = r % 2 === 0 ? ['read_committed', 'read_uncommitted'] : ['read_uncommitted', 'read_committed'];
    for (const level of order) {
      const got = await readAll(config, topic, highWatermark, level);
      if (got.records !== transactions * perTxn) throw new Error(`${level} read ${got.records} records, expected ${transactions * perTxn}`);
      sum[level].records += got.records;
      sum[level].ms += got.ms;
    }
  }
  const perS = (x: { records: number; ms: number }) => (x.records / x.ms) * 1000;
  const rc = perS(sum.read_committed);
  const ru = perS(sum.read_uncommitted);
  return {
    records: transactions * perTxn,
    read_committed_records_per_s: Math.round(rc),
    read_uncommitted_records_per_s: Math.round(ru),
    read_committed_vs_uncommitted: round(rc / ru, 2),
  };
}

export interface TransactionsFigures {
  commits: CommitFigures[];
  isolation: IsolationFigures;
}

/** How much of each: transactions per partition count, and the log the isolation levels read. */
export interface TransactionsPlan {
  commits: Array<{ partitions: number; transactions: number }>;
  isolation: { transactions: number; recordsPerTransaction: number; rounds: number };
}

export const TRANSACTIONS_PLAN = {
  // On the emulators a commit takes about 1 s (1 partition) to 9 s (64) on a busy 2-core machine: the
  // quick plan stays under a minute and a half.
  quick: { commits: [{ partitions: 1, transactions: 10 }, { partitions: 8, transactions: 10 }, { partitions: 64, transactions: 2 }], isolation: { transactions: 10, recordsPerTransaction: 100, rounds: 2 } },
  full: { commits: [{ partitions: 1, transactions: 50 }, { partitions: 8, transactions: 50 }, { partitions: 64, transactions: 10 }], isolation: { transactions: 40, recordsPerTransaction: 100, rounds: 4 } },
} satisfies Record<string, TransactionsPlan>;

/** The transactions shape on `engine`, whose calls `counter` counts; `run` keeps its topics and ids apart from other runs'. */
export async function transactionsBench(engine: Engine, counter: CallCounter, config: FloeConfig, run: string, value: Buffer, plan: TransactionsPlan): Promise<TransactionsFigures> {
  const out: CommitFigures[] = [];
  for (const c of plan.commits) out.push(await commits(engine, counter, run, c.partitions, c.transactions, value));
  const i = plan.isolation;
  const isolation = await isolationCost(engine, config, run, i.transactions, i.recordsPerTransaction, i.rounds, value);
  return { commits: out, isolation };
}
