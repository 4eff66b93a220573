// The streams workload: a streams application (word count, or a windowed count) over a topic of lines
// produced before the run, run by instances that each have their own engine with fault-injected
// storage clients, behind a client that also loses answers and fails calls. An injected crash kills an
// instance (every later storage call of its engine fails) and the workload starts a new one, as Lambda
// would; now and then a new instance starts while the old one still runs (a zombie, fenced by the new
// one's transactional ids). Tables are kept by a dispatcher process with faults of its own. At the end,
// read on a clean engine: the latest count per key in the output topic and in the store's table,
// against the counts the input implies. Exactly once: equal, and the table equal to the output. At least
// once: never less, in the output and in the table.
import { createApp } from '../../src/api/app.ts';
import type { FloeConfig } from '../../src/config.ts';
import { createEngine, type Engine } from '../../src/engine/engine.ts';
import { createClients } from '../../src/storage/clients.ts';
import { partitionKey } from '../../src/storage/keys.ts';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { Floe } from '../../packages/client/src/index.ts';
import { FloeStreams } from '../../packages/streams/src/runtime/index.ts';
import type { ProcessingGuarantee } from '../../packages/streams/src/runtime/task-runner.ts';
import type { CompiledTopology } from '../../packages/streams/src/task.ts';
import { readInProcessBody } from '../support/http.ts';
import { FaultInjector, prng, type FaultKind, type FaultRates } from './faults.ts';
import { Processes, type Process } from './processes.ts';

export interface StreamsApp {
  /** The topology over the run's input and output topics. */
  topology(input: string, output: string): CompiledTopology;
  /** The store whose table holds the counts. */
  store: string;
  /** The output's key and value as the checker compares them. */
  decodeKey(key: Buffer): string;
  /** A key of the store's table as `decodeKey` gives it, or null for the store's own bookkeeping (default: decodeKey). */
  decodeStoreKey?(key: Buffer): string | null;
  decodeValue(value: Buffer): number;
  /** The counts the input implies, by the decoded output key. */
  expected(lines: Array<{ value: string; timestamp: number }>): Map<string, number>;
}

export interface StreamsWorkloadOptions {
  config: FloeConfig;
  prefix: string;
  seed: number;
  app: StreamsApp;
  /** Words in the input (lines of 1 to 8 words). */
  words: number;
  partitions: number;
  guarantee: ProcessingGuarantee;
  rates: FaultRates;
  /** An instance crashes on average once in this many storage calls; 0 for never. */
  crashEvery: number;
  /** Share of the client's calls that fail before they are sent, and again that lose their answer. */
  clientFaultRate: number;
  /** A zombie is left behind on average once in this many instance starts (0: never). */
  zombieEvery: number;
  maxMs: number;
  /** Records per batch (small batches make more commits, so more crash points). */
  batchRecords?: number;
  /** After this many crashes, no more (default: no limit): a bounded run finishes whatever the machine's pace. */
  maxCrashes?: number;
  /** How long the check waits for the store's table to apply its changelog (default 5 minutes). */
  tableWaitMs?: number;
}

export interface StreamsWorkloadResult {
  words: number;
  lines: number;
  keys: number;
  /** Keys whose final count is below what the input implies (lost input), above it (counted twice), missing. */
  under: Array<{ key: string; want: number; got: number | undefined }>;
  over: Array<{ key: string; want: number; got: number }>;
  /** The store's table against the output's counts (exactly once), or the input's (at least once: never below). */
  tableMismatches: Array<{ key: string; want: number; got: number | null; partition: number; offset: number | null }>;
  /** For a few keys counted wrong: their words' [partition, offset] in each topic, with the counts ([partition, offset, count]). */
  trace?: { txns: Record<string, unknown[]>; entries: Record<string, number[][]>; committed: Array<{ topic: string; offsets: number[] }>; keys: Array<{ key: string; input: number[][]; repartition: number[][]; output: Array<Array<number | null>>; changelog: Array<Array<number | null>> }> };
  /** Changelog records the table had not applied when it was compared (0: it had them all). */
  tableLag: number;
  finished: boolean;
  instances: number;
  zombies: number;
  crashes: number;
  crashesAt: Record<string, number>;
  faults: Record<FaultKind, number>;
  clientFaults: number;
  elapsedMs: number;
}

const VOCABULARY = Array.from({ length: 500 }, (_, i) => `w${i.toString(36)}`);

/** The input: lines of words, each with a timestamp a little after the previous one (epoch-aligned minutes see ~100 lines). */
export function inputLines(seed: number, words: number, startMs: number): Array<{ key: string; value: string; timestamp: number }> {
  const random = prng(seed);
  const out: Array<{ key: string; value: string; timestamp: number }> = [];
  let n = 0;
  let t = startMs;
  while (n < words) {
    const k = Math.min(words - n, 1 + Math.floor(random() * 8));
    out.push({ key: `line-${out.length}`, value: Array.from({ length: k }, () => VOCABULARY[Math.floor(random() * VOCABULARY.length)]).join(' '), timestamp: (t += Math.floor(random() * 1200)) });
    n += k;
  }
  return out;
}

function clientOf(engine: Engine, random: () => number, rate: number, counter: { faults: number }): Floe {
  const app = createApp(engine, { readBody: readInProcessBody });
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const r = random();
    if (r < rate) {
      counter.faults++;
      throw new TypeError('fetch failed (injected before send)');
    }
    const res = await app.fetch(new Request(input, init));
    if (r < rate * 2) {
      counter.faults++;
      await res.arrayBuffer();
      throw new TypeError('fetch failed (injected: answer lost)');
    }
    return res;
  }) as typeof globalThis.fetch;
  return new Floe({ url: 'http://floe.faults', fetch, retry: { retries: 10, initialRetryTime: 20, maxRetryTime: 500 } });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runStreamsWorkload(o: StreamsWorkloadOptions): Promise<StreamsWorkloadResult> {
  // Every injected fault is a failed request the app logs: thousands of lines that say nothing here.
  const log = console.error;
  console.error = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('{"level":"error","msg":"request failed"')) return;
    log(...args);
  };
  try {
    return await streamsRun(o);
  } finally {
    console.error = log;
  }
}

async function streamsRun(o: StreamsWorkloadOptions): Promise<StreamsWorkloadResult> {
  const started = Date.now();
  const random = prng(o.seed);
  const config = { ...o.config, groupCommitMs: 0 };
  const clean = createEngine(config, createClients(config));
  const cleanFloe = new Floe({ url: 'http://floe.clean', fetch: ((i: string | URL | Request, init?: RequestInit) => createApp(clean, { readBody: readInProcessBody }).fetch(new Request(i, init))) as typeof fetch });
  const input = `${o.prefix}-in`;
  const output = `${o.prefix}-out`;
  const applicationId = `${o.prefix}-app`;
  await cleanFloe.admin().createTopics({ topics: [{ topic: input, numPartitions: o.partitions }, { topic: output, numPartitions: o.partitions }] });
  const lines = inputLines(o.seed, o.words, Date.UTC(2026, 0, 1));
  const producer = cleanFloe.producer({ lingerMs: 10 });
  for (let i = 0; i < lines.length; i += 500) await Promise.all(lines.slice(i, i + 500).map((l) => producer.send({ topic: input, messages: [{ key: l.key, value: l.value, timestamp: l.timestamp }] })));
  await producer.disconnect();

  // Tables are kept by a dispatcher with storage faults (no crashes: the trigger fault run covers those).
  const keeperClients = createClients(config);
  const keeperFaults = new FaultInjector({ seed: o.seed ^ 0x1234, rates: o.rates }).attach(keeperClients);
  // Its retries back off from 100 ms, not a second: under faults a second's doubling reaches a minute's
  // wait, and the check would wait out the backoff rather than the work.
  const keeper = createEngine(config, keeperClients, { local: true, apiUrl: 'http://127.0.0.1:8082', triggerLog: () => undefined, triggerBackoffMs: 100 });
  const sweeper = setInterval(() => void keeper.dispatcher.sweep({ wait: false }).catch(() => undefined), 250);

  const pool = new Processes({ config, rates: o.rates, crashEvery: o.crashEvery });
  // Past `maxCrashes`, instances start without a crash scheduled (faults still on), so a run always ends.
  const calm = new Processes({ config, rates: o.rates, crashEvery: 0 });
  const client = { faults: 0 };
  const topology = o.app.topology(input, output);
  let instances = 0;
  let zombies = 0;
  const start = async (): Promise<{ process: Process; streams: FloeStreams }> => {
    for (;;) {
      instances++;
      const process = (o.maxCrashes === undefined || pool.crashes < o.maxCrashes ? pool : calm).spawn(Math.floor(random() * 2 ** 31));
      const streams = new FloeStreams(topology, { applicationId, floe: clientOf(process.engine, prng(Math.floor(random() * 2 ** 31)), o.clientFaultRate, client), processingGuarantee: o.guarantee, maxBatchRecords: o.batchRecords ?? 50, pollMs: 100 });
      try {
        await streams.start();
        return { process, streams };
      } catch {
        // Faults and a crash during the start: this instance is given up, another one starts.
        await streams.close();
        if (process.injector.crashed) pool.crashes++;
        pool.retire(process);
      }
    }
  };
  let current = await start();
  const live: Array<{ process: Process; streams: FloeStreams; until: number }> = [];
  const done = async (): Promise<boolean> => {
    const committed = await cleanFloe.admin().fetchOffsets({ groupId: applicationId, topics: [input] });
    for (const p of committed[0]!.partitions) if (Number(p.offset) < Number(p.high)) return false;
    const internal = (await cleanFloe.request<string[]>('GET', '/topics')).filter((t) => t.startsWith(`${applicationId}-`) && t.endsWith('-repartition'));
    for (const t of internal) {
      const c = await cleanFloe.admin().fetchOffsets({ groupId: applicationId, topics: [t] });
      for (const p of c[0]!.partitions) if (Number(p.offset) < Number(p.high)) return false;
    }
    return true;
  };
  let finished = false;
  try {
    while (Date.now() - started < o.maxMs) {
      await sleep(200);
      if (current.process.injector.crashed) {
        pool.crashes++;
        pool.retire(current.process);
        await current.streams.close();
        current = await start();
        continue;
      }
      if (o.zombieEvery > 0 && random() < 1 / (o.zombieEvery * 5)) {
        // The old instance keeps running (healthy) for a while beside the new one, which fences it.
        zombies++;
        live.push({ ...current, until: Date.now() + 2000 });
        current = await start();
      }
      for (const z of live.splice(0).filter((z) => (z.until > Date.now() ? (live.push(z), false) : true))) {
        await z.streams.close();
        pool.retire(z.process);
      }
      if (await done().catch(() => false)) {
        finished = true;
        break;
      }
    }
  } finally {
    await Promise.all([current, ...live].map((x) => x.streams.close()));
    pool.retire(current.process);
    for (const z of live) pool.retire(z.process);
  }

  // The output's latest count per key, and the table's, against the input's.
  // The reads below go to the high watermark: a page with no records moves on by its next offset, and a
  // read that stops moving below the high watermark is an error, never a short read taken for the log.
  const stuck = new Map<string, number>();
  const onward = async (where: string, offset: number, next: number): Promise<number> => {
    if (next > offset) {
      stuck.delete(where);
      return next;
    }
    const n = (stuck.get(where) ?? 0) + 1;
    if (n > 100) throw new Error(`the read of ${where} stays at offset ${offset}, below the high watermark`);
    stuck.set(where, n);
    await sleep(100);
    return offset;
  };
  const want = o.app.expected(lines);
  const got = new Map<string, number>();
  for (let p = 0; p < o.partitions; p++) {
    let offset = 0;
    for (;;) {
      const r = await cleanFloe.request<{ records: Array<{ key: string | null; value: string | null }>; next_offset: number; high_watermark: number }>('GET', `/floe/v1/topics/${output}/partitions/${p}/records`, {
        query: { offset, max_records: 10_000, isolation_level: 'read_committed' },
      });
      for (const x of r.records) if (x.key !== null && x.value !== null) got.set(o.app.decodeKey(Buffer.from(x.key, 'base64')), o.app.decodeValue(Buffer.from(x.value, 'base64')));
      if (r.next_offset >= r.high_watermark) break;
      offset = await onward(`${output}/${p}`, offset, r.next_offset);
    }
  }
  const under: StreamsWorkloadResult['under'] = [];
  const over: StreamsWorkloadResult['over'] = [];
  for (const [key, n] of want) {
    const g = got.get(key);
    if (g === undefined || g < n) under.push({ key, want: n, got: g });
    else if (g > n) over.push({ key, want: n, got: g });
  }
  for (const [key, g] of got) if (!want.has(key)) over.push({ key, want: 0, got: g });
  // The store's table, once the keeper has applied the whole changelog.
  const table = `${applicationId}-${o.app.store}`;
  const tableMismatches: StreamsWorkloadResult['tableMismatches'] = [];
  // A table that lags is not a wrong one: wait until it has applied its whole changelog (the keeper
  // works under faults too), and report how far behind it still was if it did not.
  const deadline = Date.now() + (o.tableWaitMs ?? 300_000);
  let tableLag = -1;
  for (;;) {
    const d = await cleanFloe.request<{ partitions: Array<{ lag: number }> }>('GET', `/floe/v1/tables/${table}`);
    tableLag = d.partitions.reduce((n, p) => n + p.lag, 0);
    if (tableLag === 0 || Date.now() > deadline) break;
    await sleep(500);
  }
  const inTable = new Map<string, { value: number; partition: number; offset: number | null }>();
  for (let p = 0; p < o.partitions; p++) {
    let cursor: string | null = null;
    do {
      const r: { entries: Array<{ key: string; value: string | null; offset: number | null }>; cursor: string | null } = await cleanFloe.request('GET', `/floe/v1/tables/${table}/partitions/${p}/range`, { query: { limit: 1000, cursor: cursor ?? undefined } });
      for (const e of r.entries) {
        if (e.value === null) continue;
        const raw = Buffer.from(e.key, 'base64');
        const key = o.app.decodeStoreKey ? o.app.decodeStoreKey(raw) : o.app.decodeKey(raw);
        if (key === null) continue;
        inTable.set(key, { value: o.app.decodeValue(Buffer.from(e.value, 'base64')), partition: p, offset: e.offset });
      }
      cursor = r.cursor;
    } while (cursor);
  }
  // Exactly once, the table equals the output (both equal to the input's counts when nothing is under or
  // over). At least once, the changelog and the output are written apart (a batch whose changelog went
  // out and whose output did not is counted again from a state that has it), so they may differ; what
  // holds is that neither is below the input's counts.
  for (const key of new Set([...want.keys(), ...got.keys(), ...inTable.keys()])) {
    const t = inTable.get(key);
    const ref = o.guarantee === 'exactly_once' ? (got.get(key) ?? -1) : (want.get(key) ?? 0);
    const wrong = t === undefined ? ref > 0 : o.guarantee === 'exactly_once' ? t.value !== ref : t.value < ref;
    if (wrong) tableMismatches.push({ key, want: ref, got: t?.value ?? null, partition: t?.partition ?? -1, offset: t?.offset ?? null });
  }
  // A wrong count says where it came from: for a few such keys, where their words are in the input, the
  // repartition topic, the output and the changelog (partition, offset, and the count where there is one).
  const suspects = [...new Set([...under, ...(o.guarantee === 'exactly_once' ? over : []), ...tableMismatches].map((x) => x.key))].slice(0, 6);
  let trace: StreamsWorkloadResult['trace'];
  if (suspects.length > 0 || tableLag !== 0) {
    const readAll = async (topic: string, partitions: number) => {
      const out: Array<{ partition: number; offset: number; key: Buffer | null; value: Buffer | null }> = [];
      for (let p = 0; p < partitions; p++) {
        let offset = 0;
        for (;;) {
          const r = await cleanFloe.request<{ records: Array<{ offset: number; key: string | null; value: string | null }>; next_offset: number; high_watermark: number }>('GET', `/floe/v1/topics/${topic}/partitions/${p}/records`, { query: { offset, max_records: 10_000 } });
          for (const x of r.records) out.push({ partition: p, offset: x.offset, key: x.key === null ? null : Buffer.from(x.key, 'base64'), value: x.value === null ? null : Buffer.from(x.value, 'base64') });
          if (r.next_offset >= r.high_watermark) break;
          offset = await onward(`${topic}/${p}`, offset, r.next_offset);
        }
      }
      return out;
    };
    const wordOf = (key: string) => key.split('@')[0]!;
    const topics = (await cleanFloe.request<string[]>('GET', '/topics')).filter((t) => t.startsWith(`${applicationId}-`));
    const repartitions = topics.filter((t) => t.endsWith('-repartition'));
    const changelog = `${applicationId}-${o.app.store}-changelog`;
    const inputRecords = await readAll(input, o.partitions);
    const repartitionRecords = await Promise.all(repartitions.map(async (t) => ({ t, records: await readAll(t, o.partitions) })));
    const outputRecords = await readAll(output, o.partitions);
    const changelogRecords = await readAll(changelog, o.partitions);
    const committed = await cleanFloe.admin().fetchOffsets({ groupId: applicationId, topics: [input, ...repartitions] });
    // Each partition's index entries where a suspect's output or changelog records are: [base, last,
    // producer id, epoch, base sequence, control], to tell which transaction wrote what.
    const entriesOf = async (topic: string, partition: number) => {
      const t = await clean.topics.resolve(topic);
      const pk = partitionKey(t.id, partition);
      const out: number[][] = [];
      for (let from = 0; ; ) {
        const page = await clean.log.entriesFrom(pk, from, 1000);
        for (const e of page) out.push([e.baseOffset, e.lastOffset, e.producerId, e.producerEpoch, e.baseSequence, e.isControl ? 1 : 0]);
        if (page.length < 1000) break;
        from = page[page.length - 1]!.lastOffset + 1;
      }
      return out;
    };
    const touched = new Set<string>();
    for (const key of suspects) {
      for (const r of outputRecords) if (r.key !== null && o.app.decodeKey(r.key) === key) touched.add(`${output}\u0000${r.partition}`);
      for (const r of changelogRecords) if (r.key !== null && (o.app.decodeStoreKey ? o.app.decodeStoreKey(r.key) : o.app.decodeKey(r.key)) === key) touched.add(`${changelog}\u0000${r.partition}`);
    }
    if (tableLag !== 0) for (let p = 0; p < o.partitions; p++) touched.add(`${changelog}\u0000${p}`);
    const entries: Record<string, number[][]> = {};
    for (const tp of touched) {
      const [t, p] = tp.split('\u0000') as [string, string];
      const hw = (await clean.fetcher.offsets(t, Number(p))).highWatermark;
      entries[`${t === output ? 'output' : 'changelog'}-${p} (high watermark ${hw})`] = await entriesOf(t, Number(p));
    }
    // The transactions of the tasks whose partitions those are: state, staged writes and offsets.
    const txns: Record<string, unknown[]> = {};
    for (const tp of touched) {
      const p = tp.split('\u0000')[1]!;
      for (const sub of [0, 1, 2]) {
        const tid = `${applicationId}-${sub}_${p}`;
        const r = await clean.clients.ddb.send(new QueryCommand({ TableName: config.tables.transactions, KeyConditionExpression: 't = :t', ExpressionAttributeValues: { ':t': tid }, ConsistentRead: true }));
        if (!r.Items?.length) continue;
        txns[tid] = r.Items.map((i) => {
          const { t: _t, objectKey: _o, os: _os, ...rest } = i as Record<string, unknown>;
          return rest;
        });
      }
    }
    trace = {
      txns,
      entries,
      committed: committed.map((t) => ({ topic: t.topic, offsets: t.partitions.map((p) => Number(p.offset)) })),
      keys: suspects.map((key) => {
        const word = wordOf(key);
        return {
          key,
          input: inputRecords.filter((r) => r.value !== null && r.value.toString().split(' ').includes(word)).map((r) => [r.partition, r.offset]),
          repartition: repartitionRecords.flatMap(({ records }) => records.filter((r) => r.key?.toString() === word).map((r) => [r.partition, r.offset])),
          output: outputRecords.filter((r) => r.key !== null && o.app.decodeKey(r.key) === key).map((r) => [r.partition, r.offset, r.value === null ? null : o.app.decodeValue(r.value)]),
          changelog: changelogRecords
            .filter((r) => r.key !== null && (o.app.decodeStoreKey ? o.app.decodeStoreKey(r.key) : o.app.decodeKey(r.key)) === key)
            .map((r) => [r.partition, r.offset, r.value === null ? null : o.app.decodeValue(r.value)]),
        };
      }),
    };
  }
  clearInterval(sweeper);
  await keeper.dispatcher.stop();
  for (const [k, v] of Object.entries(keeperFaults.injected)) pool.faults[k as FaultKind] += v;
  return {
    words: o.words,
    lines: lines.length,
    keys: want.size,
    under,
    over,
    tableMismatches,
    ...(trace ? { trace } : {}),
    tableLag,
    finished,
    instances,
    zombies,
    crashes: pool.crashes,
    crashesAt: pool.crashesAt,
    faults: pool.faults,
    clientFaults: client.faults,
    elapsedMs: Date.now() - started,
  };
}

export function streamsSummary(r: StreamsWorkloadResult, guarantee: ProcessingGuarantee) {
  const valid = r.finished && r.under.length === 0 && r.tableLag === 0 && r.tableMismatches.length === 0 && (guarantee === 'at_least_once' || r.over.length === 0);
  return {
    valid,
    guarantee,
    finished: r.finished,
    words: r.words,
    keys: r.keys,
    under_counted: r.under.length,
    over_counted: r.over.length,
    table_mismatches: r.tableMismatches.length,
    table_lag: r.tableLag,
    instances: r.instances,
    zombies: r.zombies,
    crashes: r.crashes,
    faults: Object.values(r.faults).reduce((a, b) => a + b, 0) - r.faults.latency,
    client_faults: r.clientFaults,
    elapsed_s: Math.round(r.elapsedMs / 1000),
  };
}
