// The transactional workload: transactional producers writing to several partitions of two topics
// (some transactions aborted on purpose, some left to time out), read_committed readers polling every
// partition, a consume-transform-produce loop that commits its input offsets in the transactions of its
// outputs, a sweeper, and zombies: a client that restarts (a new process inits its transactional id)
// leaves the old one running with the older epoch in its own process, racing the new one. Every engine
// call goes through fault-injected clients, and crashes kill processes as in the plain fault run
// (processes.ts). The history and the final reads go to the transactional checker (txn-checker.ts).
import type { FloeConfig } from '../../src/config.ts';
import { createEngine, type Engine } from '../../src/engine/engine.ts';
import { FloeError } from '../../src/errors.ts';
import { createClients } from '../../src/storage/clients.ts';
import { GroupsTable } from '../../src/storage/groups-table.ts';
import { TransactionsTable } from '../../src/storage/transactions-table.ts';
import type { Outcome } from './checker.ts';
import { prng, type FaultKind, type FaultRates } from './faults.ts';
import { Processes, type Process } from './processes.ts';
import { checkTransactions, type TxnCheckResult, type TxnOp } from './txn-checker.ts';
import { finalRead, steady } from './workload.ts';

export interface TxnWorkloadOptions {
  config: FloeConfig;
  /** Names of the run's topics, transactional ids and group start with this. */
  prefix: string;
  seed: number;
  /** Stop after this many operations (engine calls and polls)... */
  ops: number;
  /** ...or after this long, whichever comes first. */
  maxMs: number;
  rates: FaultRates;
  /** A process crashes on average once in this many storage calls; 0 for never. */
  crashEvery: number;
  sdkRetries?: boolean;
  /** Transactional producers (one transactional id each) and read_committed readers. */
  producers: number;
  readers: number;
  /** The consume-transform-produce loop (default on). */
  ctp?: boolean;
  /** Records of its input topic, per partition (written before the run). */
  inputRecords?: number;
  /** Share of transactions aborted on purpose (default 0.25). */
  abortRate?: number;
  /** Share of transactions during which the client restarts and leaves a zombie (default 0.15). */
  zombieRate?: number;
  /** Share of transactions that stall past their timeout before they commit (default 0.04). */
  stallRate?: number;
  /** transaction.timeout.ms of every transactional id (default 3000). */
  timeoutMs?: number;
}

export interface TxnWorkloadResult {
  result: TxnCheckResult;
  history: TxnOp[];
  faults: Record<FaultKind, number>;
  crashes: number;
  crashesAt: Record<string, number>;
  zombies: number;
  elapsedMs: number;
}

const TOPICS = { a: 3, b: 2, in: 2, out: 2 } as const;
const ATTEMPTS = 4;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One transaction's steps: its sends, its offsets (consume-transform-produce), and how it ends. */
interface Plan {
  sends: Array<{ topic: string; records: Array<{ partition: number; value: string }> }>;
  offsets?: { group: string; offsets: Array<{ topic: string; partition: number; offset: number }> };
  abort: boolean;
  stall: boolean;
  /** The client restarts before this step (sends, then offsets, then the end), leaving a zombie; -1 for none. */
  restartAt: number;
}

type Status = 'committed' | 'aborted' | 'failed' | 'restart';

export async function runTxnWorkload(o: TxnWorkloadOptions): Promise<TxnWorkloadResult> {
  const started = Date.now();
  const config = { ...o.config, holeFillMs: 500 };
  const timeoutMs = o.timeoutMs ?? 3000;
  const abortRate = o.abortRate ?? 0.25;
  const zombieRate = o.zombieRate ?? 0.15;
  const stallRate = o.stallRate ?? 0.04;
  const history: TxnOp[] = [];
  let clock = 0;
  const tick = () => ++clock;
  let opsDone = 0;
  const done = () => opsDone >= o.ops || Date.now() - started >= o.maxMs;
  const topic = (t: keyof typeof TOPICS) => `${o.prefix}-${t}`;
  const group = `${o.prefix}-group`;

  const admin = createEngine(config, createClients(config));
  for (const [t, partitions] of Object.entries(TOPICS)) await admin.topics.create({ name: topic(t as keyof typeof TOPICS), partitions });
  const ctp = o.ctp !== false;
  const inputRecords = o.inputRecords ?? 200;
  if (ctp) {
    for (let p = 0; p < TOPICS.in; p++) {
      for (let k = 0; k < inputRecords; k += 50) {
        const n = Math.min(50, inputRecords - k);
        await admin.producer.produce(topic('in'), Array.from({ length: n }, (_, i) => ({ key: null, value: Buffer.from(`input-${p}-${k + i}`) })), { partition: p });
      }
    }
  }

  const pool = new Processes({ config, rates: o.rates, crashEvery: o.crashEvery, ...(o.sdkRetries !== undefined ? { sdkRetries: o.sdkRetries } : {}) });
  let spawned = 0;
  const nextSeed = () => o.seed * 1_000_003 + ++spawned * 7919;
  /** Transaction numbers per transactional id: the client's, so they never repeat across its restarts. */
  const txnNumbers = new Map<string, number>();
  const nextTxn = (tid: string) => {
    const n = (txnNumbers.get(tid) ?? 0) + 1;
    txnNumbers.set(tid, n);
    return n;
  };
  const zombies: Array<Promise<void>> = [];

  /** A transactional client: its producer id and epoch and its sequence outlive the processes that serve it. */
  class Client {
    proc: Process = pool.spawn(nextSeed());
    producer: { id: number; epoch: number } | undefined;
    seq = 0;
    constructor(
      readonly tid: string,
      public name: string,
    ) {}

    /** One engine call, recorded: ok, fail (a definite refusal) or unknown; a crashed process is replaced. */
    async call<T>(fields: Record<string, unknown>, fn: (e: Engine) => Promise<T>, after?: (v: T) => Record<string, unknown>): Promise<{ outcome: Outcome; value?: T; error?: unknown }> {
      opsDone++;
      const invoke = tick();
      try {
        const value = await fn(this.proc.engine);
        history.push({ ...fields, ...(after ? after(value) : {}), invoke, complete: tick(), process: this.name, outcome: 'ok' } as TxnOp);
        return { outcome: 'ok', value };
      } catch (e) {
        const outcome: Outcome = e instanceof FloeError && e.status < 500 ? 'fail' : 'unknown';
        history.push({ ...fields, invoke, complete: tick(), process: this.name, outcome, error: (e as Error).message } as TxnOp);
        this.proc = pool.replaceIfCrashed(this.proc, e, nextSeed);
        return { outcome, error: e };
      }
    }

    async init(): Promise<boolean> {
      const r = await this.call({ type: 'init', tid: this.tid }, (e) => e.transactions.init(this.tid, timeoutMs), (v) => ({ epoch: v.epoch }));
      if (r.outcome !== 'ok') return false;
      this.producer = r.value!;
      this.seq = 0;
      return true;
    }

    /** Calls a step until it is answered (ATTEMPTS at most); a refusal that fences the client drops its epoch. */
    private async step(fields: Record<string, unknown>, fn: (e: Engine, p: { id: number; epoch: number }) => Promise<unknown>): Promise<boolean> {
      const producer = this.producer!;
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        const r = await this.call({ ...fields, tid: this.tid, epoch: producer.epoch }, (e) => fn(e, producer));
        if (r.outcome === 'ok') return true;
        if (r.outcome === 'fail') {
          if (r.error instanceof FloeError && (r.error.code === 'PRODUCER_FENCED' || r.error.code === 'TRANSACTIONAL_ID_NOT_FOUND')) this.producer = undefined;
          return false;
        }
      }
      return false;
    }

    /** Runs a transaction's steps from `from`; a zombie ignores the restart point it is past. */
    async run(txn: number, plan: Plan, from = 0, zombie = false): Promise<Status> {
      const steps = plan.sends.length + (plan.offsets ? 1 : 0);
      for (let k = from; k <= steps; k++) {
        if (!zombie && k === plan.restartAt) return 'restart';
        if (!this.producer) return 'failed';
        if (k === steps) break;
        let ok: boolean;
        if (k < plan.sends.length) {
          const send = plan.sends[k]!;
          const sequence = this.seq++;
          ok = await this.step({ type: 'send', txn, sequence, topic: send.topic, records: send.records }, (e, p) =>
            e.transactions.send(this.tid, { ...p, sequence }, send.topic, send.records.map((r) => ({ key: null, value: Buffer.from(r.value), partition: r.partition }))),
          );
        } else {
          const offsets = plan.offsets!;
          ok = await this.step({ type: 'offsets', txn, group: offsets.group, offsets: offsets.offsets }, (e, p) => e.transactions.sendOffsets(this.tid, p, offsets));
        }
        if (!ok) {
          if (this.producer) await this.end(txn, 'abort');
          return 'failed';
        }
      }
      if (plan.stall) await sleep(timeoutMs + 300);
      const how = plan.abort ? 'abort' : 'commit';
      if (await this.end(txn, how)) return how === 'commit' ? 'committed' : 'aborted';
      return 'failed';
    }

    /** Ends the transaction; unanswered after every attempt, the client starts over with a new epoch. */
    async end(txn: number, how: 'commit' | 'abort'): Promise<boolean> {
      const ok = await this.step({ type: 'end', txn, how }, (e, p) => e.transactions.end(this.tid, p, how));
      if (!ok) this.producer = undefined;
      return ok;
    }

    /** Runs the rest of the transaction as a zombie, in its own process, while the new client inits. */
    leaveZombie(txn: number, plan: Plan, from: number): void {
      this.name = `${this.name}-zombie`;
      zombies.push(
        this.run(txn, plan, from, true).then(
          () => pool.retire(this.proc),
          () => pool.retire(this.proc),
        ),
      );
    }
  }

  /** Keeps running transactions of one client; a restart leaves a zombie and starts a new client. */
  const transactional = async (tid: string, name: string, next: (c: Client) => Promise<{ txn: number; plan: Plan } | undefined>, settle?: (status: Status, plan: Plan) => void) => {
    let c = new Client(tid, name);
    while (!done()) {
      if (!c.producer && !(await c.init())) continue;
      const t = await next(c);
      if (!t) continue;
      const status = await c.run(t.txn, t.plan);
      settle?.(status, t.plan);
      if (status === 'restart') {
        c.leaveZombie(t.txn, t.plan, t.plan.restartAt);
        c = new Client(tid, name);
      }
    }
    pool.retire(c.proc);
  };

  const planEnd = (random: () => number, steps: number): Pick<Plan, 'abort' | 'stall' | 'restartAt'> => ({
    abort: random() < abortRate,
    stall: random() < stallRate,
    restartAt: random() < zombieRate ? Math.floor(random() * (steps + 1)) : -1,
  });

  const producer = (index: number) => {
    const tid = `${o.prefix}-tp${index}`;
    const random = prng(o.seed * 7919 + index);
    return transactional(tid, `producer-${index}`, async () => {
      const txn = nextTxn(tid);
      let value = 0;
      const sends: Plan['sends'] = [];
      const count = 2 + Math.floor(random() * 3);
      for (let k = 0; k < count; k++) {
        // Both topics in every transaction of two sends or more; each send over one to three partitions.
        const t = k % 2 === 0 ? 'a' : 'b';
        const records = Array.from({ length: 1 + Math.floor(random() * 3) }, () => ({ partition: Math.floor(random() * TOPICS[t]), value: `${tid}|${txn}|${value++}` }));
        sends.push({ topic: topic(t), records });
      }
      return { txn, plan: { sends, ...planEnd(random, sends.length) } };
    });
  };

  const consumeTransformProduce = () => {
    const tid = `${o.prefix}-ctp`;
    const random = prng(o.seed * 104_729 + 1);
    let positions: number[] | undefined;
    let turn = 0;
    const groups = (c: Client) => new GroupsTable(c.proc.engine.clients, config.tables.groups);
    let current: { partition: number; next: number } | undefined;
    return transactional(
      tid,
      'ctp',
      async (c) => {
        // After a start or a failed transaction: from the group's committed offsets.
        if (!positions) {
          try {
            const committed = await groups(c).getOffsets(group, Array.from({ length: TOPICS.in }, (_, p) => [topic('in'), p] as [string, number]));
            positions = Array.from({ length: TOPICS.in }, (_, p) => committed.get(`${topic('in')}:${p}`)?.offset ?? 0);
          } catch (e) {
            c.proc = pool.replaceIfCrashed(c.proc, e, nextSeed);
            await sleep(20);
            return undefined;
          }
        }
        const partition = turn++ % TOPICS.in;
        opsDone++;
        let fetched;
        try {
          fetched = await c.proc.engine.fetcher.fetch({ topic: topic('in'), partition, offset: positions[partition]!, maxRecords: 1 + Math.floor(random() * 4), isolation: 'read_committed' });
        } catch (e) {
          c.proc = pool.replaceIfCrashed(c.proc, e, nextSeed);
          return undefined;
        }
        if (fetched.records.length === 0) {
          await sleep(10);
          return undefined;
        }
        const txn = nextTxn(tid);
        const records = fetched.records.map((r, i) => ({ partition, value: `${tid}|${txn}|${i}|${r.value!.toString()}` }));
        current = { partition, next: fetched.nextOffset };
        return {
          txn,
          plan: {
            sends: [{ topic: topic('out'), records }],
            offsets: { group, offsets: [{ topic: topic('in'), partition, offset: fetched.nextOffset }] },
            ...planEnd(random, 2),
          },
        };
      },
      (status) => {
        if (status === 'committed' && positions && current) positions[current.partition] = current.next;
        else positions = undefined;
      },
    );
  };

  const reader = async (index: number) => {
    const name = `reader-${index}`;
    const random = prng(o.seed * 5_000_011 + index);
    const partitions = (['a', 'b', 'out'] as const).flatMap((t) => Array.from({ length: TOPICS[t] }, (_, p) => ({ topic: topic(t), partition: p })));
    const positions = new Map<string, number>();
    let proc = pool.spawn(nextSeed());
    let turn = index;
    while (!done()) {
      const { topic: t, partition } = partitions[turn++ % partitions.length]!;
      const key = `${t}/${partition}`;
      const from = positions.get(key) ?? 0;
      opsDone++;
      const invoke = tick();
      try {
        const maxRecords = random() < 0.5 ? { maxRecords: 1 } : {};
        const r = await proc.engine.fetcher.fetch({ topic: t, partition, offset: from, maxBytes: 64 * 1024, isolation: 'read_committed', ...maxRecords });
        history.push({ type: 'poll', process: name, partition: key, from, invoke, complete: tick(), outcome: 'ok', records: r.records.map((x) => ({ offset: x.offset, value: x.value!.toString() })) });
        positions.set(key, r.nextOffset);
        if (r.records.length === 0) await sleep(5);
      } catch (e) {
        history.push({ type: 'poll', process: name, partition: key, from, invoke, complete: tick(), outcome: 'fail', records: [] });
        proc = pool.replaceIfCrashed(proc, e, nextSeed);
      }
    }
    pool.retire(proc);
  };

  const sweeper = async () => {
    let proc = pool.spawn(nextSeed());
    while (!done()) {
      try {
        await proc.engine.transactions.sweep();
      } catch (e) {
        proc = pool.replaceIfCrashed(proc, e, nextSeed);
      }
      await sleep(150);
    }
    pool.retire(proc);
  };

  await Promise.all([
    ...Array.from({ length: o.producers }, (_, i) => producer(i)),
    ...(ctp ? [consumeTransformProduce()] : []),
    ...Array.from({ length: o.readers }, (_, i) => reader(i)),
    sweeper(),
  ]);
  await Promise.all(zombies);

  // The final sweep, without faults, once every open transaction is past its timeout: none may stay
  // open. Then one as if every decision were stale, which completes what crashed processes left.
  const table = new TransactionsTable(admin.clients, config.tables.transactions);
  await sleep(timeoutMs + 250);
  const sweptAt = Date.now();
  await steady(() => admin.transactions.sweep(sweptAt));
  const open = (await steady(() => table.scanUnfinished())).filter((s) => s.state === 'Ongoing');
  await steady(() => admin.transactions.sweep(Date.now() + 60_000));
  const decided = (await steady(() => table.scanUnfinished())).filter((s) => s.state !== 'Ongoing');
  const unfinished: Array<{ tid: string; state: string; deadline: number | null }> = [...open, ...decided].map((s) => ({ tid: s.transactionalId, state: s.state, deadline: s.deadline }));

  const logs = new Map<string, Array<{ offset: number; value: string }>>();
  for (const [t, partitions] of Object.entries(TOPICS)) {
    const read = await finalRead(admin, topic(t as keyof typeof TOPICS), partitions);
    for (const [p, records] of read) logs.set(`${topic(t as keyof typeof TOPICS)}/${p}`, records);
  }
  const committed = new Map<number, number>();
  if (ctp) {
    try {
      const offsets = await steady(() => new GroupsTable(admin.clients, config.tables.groups).getOffsets(group, Array.from({ length: TOPICS.in }, (_, p) => [topic('in'), p] as [string, number])));
      for (const [k, v] of offsets) committed.set(Number(k.slice(k.lastIndexOf(':') + 1)), v.offset);
    } catch (e) {
      unfinished.push({ tid: group, state: `offsets still pending: ${(e as Error).message}`, deadline: null });
    }
  }
  const result = checkTransactions(history, { logs, unfinished, sweptAt, ...(ctp ? { ctp: { input: topic('in'), output: topic('out'), committed } } : {}) });
  return { result, history, faults: pool.faults, crashes: pool.crashes, crashesAt: pool.crashesAt, zombies: zombies.length, elapsedMs: Date.now() - started };
}

/** The one-line report of a transactional run: every anomaly count. */
export function txnSummary(r: TxnWorkloadResult) {
  const x = r.result;
  return {
    ops: x.ops,
    elapsed_s: Math.round(r.elapsedMs / 100) / 10,
    faults_injected: Object.entries(r.faults).reduce((n, [k, v]) => (k === 'latency' ? n : n + v), 0),
    crashes: r.crashes,
    zombies: r.zombies,
    transactions: x.transactions,
    aborted_reads: x.abortedReads.length,
    precommitted_reads: x.precommittedReads.length,
    torn_transactions: x.torn.length,
    lost_writes: x.lostWrites.length,
    duplicates: x.duplicates.length,
    inconsistent_offsets: x.inconsistent.length,
    poll_skips: x.pollSkips.length,
    non_monotonic_polls: x.nonMonotonicPolls.length,
    offsets_without_outputs: x.offsetsWithoutOutputs.length,
    outputs_without_offsets: x.outputsWithoutOffsets.length,
    fenced_visible: x.fenced.length,
    open_past_timeout: x.openPastTimeout.length,
    incomplete_after_sweep: x.incomplete.length,
    valid: x.valid,
  };
}
