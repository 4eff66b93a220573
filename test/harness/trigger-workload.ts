// The trigger fault run (invariant 8): a clean producer writes keyed records to a topic at a steady pace
// while two triggers deliver them, one plain and one with key parallelism and a filter, to a simulated
// handler that answers ok, throws, answers partial batch responses, runs past its time limit (the
// dispatcher is answered "unknown" while the handler goes on and takes the records later), and always
// fails a few poison records chosen up front, which end in the dead-letter topics. The dispatchers are
// "processes" of the fault pool (processes.ts): storage faults at every call, crashes, and a crashed
// one replaced by a new one, as a Lambda container would be; each sweeps over and over, and now and
// then is woken for a partition as the stream of partition heads would wake it. Once the producer is
// done, clean dispatchers drain every lane to its high watermark (bounded), and the trigger checker
// (trigger-checker.ts) reads the whole history.
import type { FloeConfig } from '../../src/config.ts';
import { createEngine, type Engine, type EngineOptions } from '../../src/engine/engine.ts';
import type { FetchedRecord } from '../../src/fetch/fetch.ts';
import type { TriggerTarget } from '../../src/model/trigger.ts';
import { createClients } from '../../src/storage/clients.ts';
import { GroupsTable } from '../../src/storage/groups-table.ts';
import { parseLaneSortKey } from '../../src/storage/keys.ts';
import { ensureStorage } from '../../src/storage/setup.ts';
import type { FunctionAnswer, TargetInvoker } from '../../src/triggers/targets.ts';
import { CrashError, prng, type FaultKind, type FaultRates } from './faults.ts';
import { Processes } from './processes.ts';
import { checkTriggers, triggerCounts, type AttemptEvent, type CommitEvent, type DeadLetter, type Delivery, type SourceRecord, type TriggerCheckResult, type TriggerHistory, type TriggerSpec } from './trigger-checker.ts';
import { steady } from './workload.ts';

/** Shares of invocations the handler fails in each way (the rest it answers ok). */
export interface HandlerRates {
  /** Throws: the dispatcher is answered a failure. */
  fail: number;
  /** Answers a partial batch response from a random record of the event on. */
  partial: number;
  /** Runs past the target's time limit, then takes the records. */
  late: number;
}

export const DEFAULT_HANDLER_RATES: HandlerRates = { fail: 0.08, partial: 0.06, late: 0.04 };

export interface TriggerWorkloadOptions {
  config: FloeConfig;
  /** Names the run's topic, triggers and triggers table. */
  prefix: string;
  seed: number;
  /** Records to produce... */
  records: number;
  /** ...at this pace (default 20 a second), for at most this long; the drain comes after. */
  maxMs: number;
  recordsPerSecond?: number;
  /** The source topic's partitions (default 4) and keys per partition (default 3). */
  partitions?: number;
  keysPerPartition?: number;
  /** Dispatcher processes under faults (default 3). */
  dispatchers?: number;
  rates: FaultRates;
  /** A process crashes on average once in this many storage calls; 0 for never. */
  crashEvery: number;
  sdkRetries?: boolean;
  /** Records whose key the handler always fails (default 4), spread over the run. */
  poisonRecords?: number;
  handler?: Partial<HandlerRates>;
  /** The target's time limit, ms (default 300). */
  timeoutMs?: number;
  /** The engines' trigger lease (default 1500 ms) and first retry backoff (default 50 ms). */
  leaseMs?: number;
  backoffMs?: number;
  /** How long one lane run may hold its lease (default 1500 ms), so lanes change hands. */
  runMs?: number;
  /** The clean drain's time limit (default 60 s). */
  drainMs?: number;
  /** Which triggers run (default both). */
  triggers?: Array<'plain' | 'keyed'>;
}

export interface TriggerWorkloadResult {
  result: TriggerCheckResult;
  history: TriggerHistory;
  faults: Record<FaultKind, number>;
  crashes: number;
  crashesAt: Record<string, number>;
  handler: Record<'ok' | 'threw' | 'partial' | 'late' | 'poisoned', number>;
  produced: number;
  /** Mean time the producer waited for an answer. */
  produceLatencyMs: number;
  /** Poison records produced. */
  poisonRecords: number;
  /** Every lane reached its high watermark within the drain's time limit. */
  caughtUp: boolean;
  drainMs: number;
  elapsedMs: number;
  /** The dispatchers' last log lines (storage errors they rode out), for a failed run's report. */
  log: string[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const text = (b: Uint8Array | null | undefined): string | null => (b == null ? null : Buffer.from(b).toString('utf8'));
const KINDS_DELIVERED = ['a', 'b'];

/** The record as the checker compares it. */
function sourceRecord(partition: number, r: FetchedRecord): SourceRecord {
  return { partition, offset: r.offset, key: text(r.key), value: text(r.value), headers: r.headers.map((h) => ({ key: h.key, value: text(h.value) })) };
}

/** What the keyed trigger's filter leaves out, written independently of src/triggers/filters.ts. */
export function keyedFilterDrops(r: SourceRecord): boolean {
  if (r.value === null) return true;
  try {
    return !KINDS_DELIVERED.includes((JSON.parse(r.value) as { kind?: string }).kind ?? '');
  } catch {
    return true;
  }
}

/**
 * The "function" every trigger calls: one for the whole run, as one Lambda function serves every
 * dispatcher. It records each invocation for the checker; the time limit is emulated here as the
 * Lambda API's would be (an unknown outcome at the timeout, while the handler goes on).
 */
class SimulatedHandler implements TargetInvoker {
  readonly deliveries: Delivery[] = [];
  readonly stats = { ok: 0, threw: 0, partial: 0, late: 0, poisoned: 0 };
  private readonly pending = new Set<Promise<unknown>>();
  private readonly random: () => number;

  constructor(
    seed: number,
    private readonly rates: HandlerRates,
    private readonly poisonKeys: Set<string>,
    private readonly tick: () => number,
  ) {
    this.random = prng(seed);
  }

  async invoke(target: TriggerTarget, _event: unknown, payload: string): Promise<FunctionAnswer> {
    const begin = this.tick();
    // As a function gets it: the JSON payload.
    const event = JSON.parse(payload) as { eventSourceArn: string; records: Record<string, Array<{ partition: number; offset: number; key?: string }>> };
    const arn = event.eventSourceArn;
    const trigger = arn.slice(arn.lastIndexOf(':') + 1, arn.lastIndexOf('/'));
    const groups = Object.entries(event.records);
    const records = groups.flatMap(([, rs]) => rs.map((r) => ({ partition: r.partition, offset: r.offset, key: r.key === undefined ? null : Buffer.from(r.key, 'base64').toString('utf8') })));
    const d: Delivery = { id: this.deliveries.length + 1, trigger, begin, answered: -1, completed: -1, records, handler: 'ok', late: false };
    this.deliveries.push(d);

    const x = this.random();
    const poison = records.findIndex((r) => r.key !== null && this.poisonKeys.has(r.key));
    let answer: FunctionAnswer = { ok: true, answer: null };
    if (poison >= 0) {
      this.stats.poisoned++;
      // A poison record fails its batch: half the time by throwing, half by naming it in a partial response.
      if (x < 0.5) d.handler = 'threw';
      else {
        d.handler = 'partial';
        d.failed = [{ partition: records[poison]!.partition, offset: records[poison]!.offset }];
      }
    } else if (x < this.rates.fail) d.handler = 'threw';
    else if (x < this.rates.fail + this.rates.partial) {
      d.handler = 'partial';
      const at = records[Math.floor(this.random() * records.length)]!;
      d.failed = [{ partition: at.partition, offset: at.offset }];
      // Sometimes a later record of the partition is named too; the lowest counts.
      const later = records.filter((r) => r.partition === at.partition && r.offset > at.offset);
      if (later.length > 0 && this.random() < 0.5) d.failed.push(later[Math.floor(this.random() * later.length)]!);
    }
    if (d.handler === 'threw') answer = { ok: false, error: `Error: the handler failed on ${records.length} records`, unknown: false };
    if (d.handler === 'partial') answer = { ok: true, answer: { batchItemFailures: d.failed!.map((f) => ({ itemIdentifier: { partition: groups.find(([, rs]) => rs[0]!.partition === f.partition)![0], offset: f.offset } })) } };
    const late = this.random() < this.rates.late;
    const workMs = late ? target.timeoutMs + 50 + Math.floor(this.random() * 200) : Math.floor(this.random() * 5);
    this.stats[d.handler]++;

    const work = sleep(workMs).then(() => {
      d.completed = this.tick();
    });
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([work.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), target.timeoutMs)))]);
    clearTimeout(timer);
    d.answered = this.tick();
    if (timedOut) {
      d.late = true;
      this.stats.late++;
      return { ok: false, error: `no answer within ${target.timeoutMs} ms`, unknown: true };
    }
    return answer;
  }

  /** Resolves once every invocation has finished, late ones included. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}

export async function runTriggerWorkload(o: TriggerWorkloadOptions): Promise<TriggerWorkloadResult> {
  const started = Date.now();
  const partitions = o.partitions ?? 4;
  const keysPerPartition = o.keysPerPartition ?? 3;
  const timeoutMs = o.timeoutMs ?? 300;
  const runMs = o.runMs ?? 1500;
  const kinds = o.triggers ?? ['plain', 'keyed'];
  // The run's own triggers table: a dispatcher sweeps every trigger of its table, and other tests'
  // triggers (and their dispatchers) must not meet this run's.
  const config: FloeConfig = { ...o.config, tables: { ...o.config.tables, triggers: `${o.config.tables.triggers}.${o.prefix}` } };
  const admin = createEngine(config, createClients(config));
  await ensureStorage(admin.clients, config.tables, config.bucket);

  let clock = 0;
  const tick = () => ++clock;
  const topic = o.prefix;
  await admin.topics.create({ name: topic, partitions });
  const topicId = (await admin.topics.describe(topic)).id;

  // Poison records: their keys, and which of the records produced get one, chosen up front.
  const random = prng(o.seed);
  const poisonKeys = new Set(Array.from({ length: partitions }, (_, p) => `poison-${p}`));
  const poisonAt = new Set<number>();
  const wanted = Math.min(o.poisonRecords ?? 4, Math.floor(o.records / 10));
  while (poisonAt.size < wanted) poisonAt.add(Math.floor(o.records * (0.05 + 0.6 * random())));

  const handler = new SimulatedHandler(o.seed * 31 + 7, { ...DEFAULT_HANDLER_RATES, ...o.handler }, poisonKeys, tick);
  const attempts: AttemptEvent[] = [];
  const commits: CommitEvent[] = [];
  const log: string[] = [];
  const engineOptions = (name: string, invoker: TargetInvoker): EngineOptions => ({
    targets: invoker,
    onTriggerAttempt: (e) => attempts.push({ trigger: e.trigger, at: tick(), records: e.records.map((r) => ({ partition: r.partition, offset: r.offset })), outcome: e.outcome }),
    onTriggerCommitted: (e) => commits.push({ trigger: e.trigger, partition: parseLaneSortKey(e.lane)[1], at: tick(), offset: e.offset, fence: e.fence, process: name }),
    triggerLeaseMs: o.leaseMs ?? 1500,
    triggerBackoffMs: o.backoffMs ?? 50,
    triggerLog: (line) => {
      log.push(`${name}: ${line}`);
      if (log.length > 200) log.splice(0, 100);
    },
  });

  const windowMs = Math.floor(random() * 51);
  const target = { type: 'lambda', function: 'floe-fault-handler', timeout_ms: timeoutMs };
  const specs: TriggerSpec[] = [];
  const groups: Array<{ name: string; group: string }> = [];
  const common = { topic, target, starting_position: 'TRIM_HORIZON', retry_attempts: 3, bisect_on_error: true };
  if (kinds.includes('plain')) {
    const t = await admin.triggers.create({ ...common, name: `${o.prefix}-plain`, batch_size: 2 + Math.floor(random() * 9), max_batching_window_ms: windowMs });
    specs.push({ name: t.name, byKey: false });
    groups.push({ name: t.name, group: t.group_id });
  }
  if (kinds.includes('keyed')) {
    const t = await admin.triggers.create({
      ...common,
      name: `${o.prefix}-keyed`,
      batch_size: 4 + Math.floor(random() * 12),
      max_batching_window_ms: 50 - windowMs,
      parallelism: { by: 'key', max: 3 },
      filters: [{ pattern: JSON.stringify({ value: { kind: KINDS_DELIVERED } }) }],
    });
    specs.push({ name: t.name, byKey: true, filtered: keyedFilterDrops });
    groups.push({ name: t.name, group: t.group_id });
  }

  // The dispatchers under faults. A crashed process invokes nothing more: its target refuses too.
  const pool = new Processes({
    config,
    rates: o.rates,
    crashEvery: o.crashEvery,
    ...(o.sdkRetries !== undefined ? { sdkRetries: o.sdkRetries } : {}),
    engineOptions: (seed, injector) =>
      engineOptions(`p${seed}`, { invoke: (tg, event, payload) => (injector.crashed ? Promise.reject(new CrashError(injector.calls)) : handler.invoke(tg, event, payload)) }),
  });
  let faulty = true;
  const dead: Array<Promise<void>> = [];
  const dispatcher = async (index: number) => {
    const r = prng(o.seed * 9173 + index);
    let generation = 0;
    const nextSeed = () => o.seed * 1_000_003 + index * 10_000 + generation++;
    let proc = pool.spawn(nextSeed());
    proc.engine.dispatcher.setRunMs(runMs);
    while (faulty) {
      const work: Array<Promise<unknown>> = [proc.engine.dispatcher.sweep()];
      for (let p = 0; p < partitions; p++) if (r() < 0.5) work.push(proc.engine.dispatcher.wake(topicId, p));
      const failed = (await Promise.allSettled(work)).find((x) => x.status === 'rejected');
      const old = proc;
      proc = pool.replaceIfCrashed(proc, failed?.reason, nextSeed);
      if (proc !== old) {
        // The dead process's runs end at their next storage call; its leases run out on their own.
        dead.push(old.engine.dispatcher.stop());
        proc.engine.dispatcher.setRunMs(runMs);
      }
      // A sweep reads every trigger and lane: done often, it is most of the load; wake-ups are the quick path.
      await sleep(150 + r() * 250);
    }
    await proc.engine.dispatcher.stop();
    pool.retire(proc);
  };
  const dispatchers = Array.from({ length: o.dispatchers ?? 3 }, (_, i) => dispatcher(i));

  // The producer: one clean engine, a steady pace, every acknowledged offset recorded.
  const acked: Array<{ partition: number; offset: number }> = [];
  let produced = 0;
  let poisonProduced = 0;
  let produceMs = 0;
  let requests = 0;
  const pace = 1000 / (o.recordsPerSecond ?? 20);
  const producing = Date.now();
  while (produced < o.records && Date.now() - started < o.maxMs) {
    const partition = Math.floor(random() * partitions);
    const count = Math.min(1 + Math.floor(random() * 5), o.records - produced);
    const records = Array.from({ length: count }, (_, i) => {
      const n = produced + i;
      const poison = poisonAt.has(n);
      if (poison) poisonProduced++;
      const key = poison ? `poison-${partition}` : `k${partition}-${Math.floor(random() * keysPerPartition)}`;
      const kind = poison ? 'a' : random() < 0.1 ? 'skip' : random() < 0.5 ? 'a' : 'b';
      const tombstone = !poison && random() < 0.03;
      const headers = [{ key: 'n', value: Buffer.from(String(n)) }, ...(n % 5 === 0 ? [{ key: 'empty', value: new Uint8Array() }, { key: 'none', value: null }] : [])];
      return { key: Buffer.from(key), value: tombstone ? null : Buffer.from(JSON.stringify({ n, kind })), headers };
    });
    produced += count;
    const sent = Date.now();
    try {
      const r = await admin.producer.produce(topic, records, { partition });
      for (const x of r.records) if ('offset' in x) acked.push({ partition: x.partition, offset: x.offset });
    } catch (e) {
      // Not acknowledged: the final read shows whether it was written; either way the trigger owes it.
      log.push(`producer: ${(e as Error).message}`);
    }
    produceMs += Date.now() - sent;
    requests++;
    // On a schedule: a slow answer does not slow the pace down, unless it is slower than the pace.
    await sleep(Math.max(0, producing + produced * pace - Date.now()));
  }

  // A little longer under faults, then the faulty dispatchers stop and clean ones drain every lane.
  await sleep(2000);
  faulty = false;
  await Promise.all(dispatchers);
  await Promise.allSettled(dead);
  const drainStarted = Date.now();
  const drainLimit = o.drainMs ?? 60_000;
  const clean: Engine[] = Array.from({ length: 2 }, (_, i) => createEngine(config, createClients(config), engineOptions(`clean-${i}`, handler)));
  const groupsTable = new GroupsTable(admin.clients, config.tables.groups);
  const caughtUp = async () => {
    const hws = await Promise.all(Array.from({ length: partitions }, (_, p) => admin.fetcher.offsets(topic, p)));
    for (const g of groups) {
      const offsets = await groupsTable.getOffsets(g.group, hws.map((_, p) => [topic, p] as [string, number]));
      for (let p = 0; p < partitions; p++) if ((offsets.get(`${topic}:${p}`)?.offset ?? -1) < hws[p]!.highWatermark) return false;
    }
    return true;
  };
  let done = false;
  while (Date.now() - drainStarted < drainLimit) {
    await Promise.allSettled(clean.map((e) => e.dispatcher.sweep()));
    if ((done = await caughtUp().catch(() => false))) break;
    await sleep(100);
  }
  await Promise.all(clean.map((e) => e.dispatcher.stop()));
  const drainMs = Date.now() - drainStarted;
  await handler.idle();

  // The final reads, without faults: the source log, the dead letters, the committed offsets.
  const readAll = async (name: string, p: number) => {
    const o2 = await steady(() => admin.fetcher.offsets(name, p));
    const out: FetchedRecord[] = [];
    for (let offset = o2.logStartOffset; offset < o2.highWatermark; ) {
      const r = await steady(() => admin.fetcher.fetch({ topic: name, partition: p, offset, maxBytes: 4 * 1024 * 1024 }));
      out.push(...r.records);
      if (r.nextOffset <= offset) throw new Error(`final read made no progress at ${name}/${p}@${offset}`);
      offset = r.nextOffset;
    }
    return out;
  };
  const sourceLog: SourceRecord[] = [];
  for (let p = 0; p < partitions; p++) for (const r of await readAll(topic, p)) sourceLog.push(sourceRecord(p, r));
  const deadLetters: DeadLetter[] = [];
  const committed = new Map<string, Map<number, number>>();
  for (const g of groups) {
    const dlq = `${g.name}.dlq`;
    const d = await steady(() => admin.topics.describe(dlq));
    for (let p = 0; p < d.partitions; p++) {
      for (const r of await readAll(dlq, p)) deadLetters.push({ trigger: g.name, dlqPartition: p, dlqOffset: r.offset, ...sourceRecord(p, r) });
    }
    const offsets = await steady(() => groupsTable.getOffsets(g.group, Array.from({ length: partitions }, (_, p) => [topic, p] as [string, number])));
    committed.set(g.name, new Map([...offsets.values()].map((x) => [x.partition, x.offset])));
  }

  const history: TriggerHistory = { topic, log: sourceLog, acked, triggers: specs, deliveries: handler.deliveries, attempts, commits, deadLetters, committed };
  return {
    result: checkTriggers(history),
    history,
    faults: pool.faults,
    crashes: pool.crashes,
    crashesAt: pool.crashesAt,
    handler: { ...handler.stats },
    produced,
    produceLatencyMs: requests ? Math.round(produceMs / requests) : 0,
    poisonRecords: poisonProduced,
    caughtUp: done,
    drainMs,
    elapsedMs: Date.now() - started,
    log,
  };
}

/** The one-line report of a trigger run: every count of the checker, and what the run went through. */
export function triggerSummary(r: TriggerWorkloadResult) {
  const counts = triggerCounts(r.result);
  return {
    produced: r.produced,
    produce_latency_ms: r.produceLatencyMs,
    ...counts,
    by_trigger: r.result.byTrigger,
    handler: r.handler,
    poison_records: r.poisonRecords,
    faults_injected: Object.entries(r.faults).reduce((n, [k, v]) => (k === 'latency' ? n : n + v), 0),
    crashes: r.crashes,
    crashes_at: r.crashesAt,
    caught_up: r.caughtUp,
    drain_s: Math.round(r.drainMs / 100) / 10,
    elapsed_s: Math.round(r.elapsedMs / 100) / 10,
    valid: counts.valid && r.caughtUp,
  };
}
