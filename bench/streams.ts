// Streams: records per second through a stateless map and a stateful word count run by FloeStreams,
// the storage calls each commit of the count costs, and the latency of a table's key lookup. Floe is
// the local runtime's engine with its HTTP app called in-process (no socket), so the figures are the
// runtime's and the API's, not a network's.
import type { FloeConfig } from '../src/config.ts';
import { createApp } from '../src/api/app.ts';
import { readRequestBody } from '../src/api/body.ts';
import { createEngine, type Engine } from '../src/engine/engine.ts';
import { createClients } from '../src/storage/clients.ts';
import { ensureStorage } from '../src/storage/setup.ts';
import { Floe } from '../packages/client/src/index.ts';
import { compiledOf, FloeStreams, Materialized, Produced, Serdes, StreamsBuilder, type ProcessingGuarantee, type TopologyLike } from '../packages/streams/src/index.ts';
import { countCalls } from '../test/support/call-counter.ts';

export interface StreamsFigures {
  partitions: number;
  max_batch_records: number;
  map_records: number;
  streams_map_records_per_s: number;
  count_words: number;
  count_lines: number;
  distinct_words: number;
  /** exactly_once. */
  streams_count_records_per_s: number;
  streams_count_records_per_s_at_least_once: number;
  /** Commits of the exactly_once count, both sub-topologies. */
  commits: number;
  streams_records_per_commit: number;
  /** AWS calls (DynamoDB and S3) of the exactly_once count per commit, in all and by operation. */
  streams_storage_calls_per_commit: number;
  calls_per_commit: Record<string, number>;
  storage_calls_per_commit_at_least_once: number;
  fetches_per_commit: number;
  store_lookups: number;
  table_keys: number;
  table_lookups: number;
  table_lookup_p50_ms: number;
  table_lookup_p99_ms: number;
  /** Task failures the runtime retried, over all three applications (0 expected). */
  task_errors: number;
}

const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;
const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string | (() => string), done: () => boolean | Promise<boolean>, ms: number, everyMs = 50): Promise<void> {
  const end = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > end) throw new Error(`streams bench: timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(everyMs);
  }
}

/** Writes the values round-robin over the partitions, 250 per request, one request per partition at a time. */
async function backlog(engine: Engine, topic: string, partitions: number, values: Array<{ key: string; value: string }>): Promise<void> {
  const per = 250;
  for (let i = 0; i < values.length; i += per * partitions) {
    await Promise.all(
      Array.from({ length: partitions }, (_, p) => {
        const chunk = values.slice(i + p * per, i + (p + 1) * per);
        return chunk.length === 0 ? undefined : engine.producer.produce(topic, chunk.map((r) => ({ key: Buffer.from(r.key), value: Buffer.from(r.value), partition: p })));
      }),
    );
  }
}

export async function streamsBench(config: FloeConfig, run: string, quick: boolean): Promise<StreamsFigures> {
  // A triggers table of its own: the dispatcher sweeps every trigger of its table, and the triggers
  // bench's triggers would add their sweeps to the calls counted here.
  const cfg: FloeConfig = { ...config, tables: { ...config.tables, triggers: `bench-${run}-streams-triggers` } };
  const clients = createClients(cfg);
  await ensureStorage(clients, cfg.tables, cfg.bucket);
  const counter = countCalls(clients);
  const engine = createEngine(cfg, clients, { local: true, apiUrl: 'http://bench', triggerLog: () => undefined });
  const inProcess = (e: Engine) => {
    const app = createApp(e, { readBody: readRequestBody });
    return new Floe({ url: 'http://bench', fetch: ((input: string | URL | Request, init?: RequestInit) => app.fetch(new Request(input, init))) as typeof globalThis.fetch });
  };
  const floe = inProcess(engine);
  // Watches the applications' progress on clients of its own, so its reads are not counted.
  const watcher = inProcess(createEngine(cfg, createClients(cfg)));
  // Commits wake the dispatcher that keeps the stores' tables; the sweep catches what a wake-up missed.
  const sweeper = setInterval(() => void engine.dispatcher.sweep({ wait: false }).catch(() => undefined), 200);
  const partitions = 4;
  const maxBatchRecords = 1000;
  const drainMs = quick ? 180_000 : 600_000;
  let taskErrors = 0;

  /**
   * Runs the topology over what is already in its sources until its group's committed offsets reach
   * every source partition's end. Watched through the uncounted client rather than with drained()'s
   * offset reads (on the counted engine) so the calls counted up to the last commit are the
   * application's own; drained() then confirms it. (The runtime's `records-processed` is not used:
   * tasks add to it concurrently across an await, so it undercounts.)
   */
  const runApp = async (topology: TopologyLike, applicationId: string, guarantee: ProcessingGuarantee) => {
    const sources = compiledOf(topology).subtopologies.reduce((n, sub) => n + sub.sources.length, 0) * partitions;
    const caughtUp = async () => {
      const d = await watcher.request<{ offsets: Array<{ lag: number | null }> }>('GET', `/floe/v1/groups/${applicationId}`).catch(() => undefined);
      return d !== undefined && d.offsets.length >= sources && d.offsets.every((o) => o.lag === 0);
    };
    // A task's failure is retried by the runtime after a pause; counted, since each one slows the run.
    let lastError: unknown;
    const streams = new FloeStreams(topology, { applicationId, floe, maxBatchRecords, processingGuarantee: guarantee, onError: (e) => ((lastError = e), taskErrors++) });
    counter.reset();
    const started = performance.now();
    await streams.start();
    await waitFor(() => `${applicationId} to catch up${lastError ? ` (last task error: ${String(lastError)})` : ''}`, caughtUp, drainMs, 100);
    const calls = counter.snapshot();
    await streams.drained(drainMs);
    const ms = performance.now() - started;
    const metrics = streams.metrics();
    await streams.close();
    return { ms, calls, metrics };
  };

  try {
    // Stateless: a backlog of 100-byte values, upper-cased into another topic.
    const mapRecords = quick ? 5_000 : 50_000;
    const mapIn = `bench-${run}-streams-map-in`;
    const mapOut = `bench-${run}-streams-map-out`;
    await engine.topics.create({ name: mapIn, partitions });
    await engine.topics.create({ name: mapOut, partitions });
    await backlog(engine, mapIn, partitions, Array.from({ length: mapRecords }, (_, i) => ({ key: `m${i}`, value: `${String(i).padStart(8, '0')}${'abcdefghij'.repeat(10)}`.slice(0, 100) })));
    const mapB = new StreamsBuilder();
    mapB.stream<string, string>(mapIn).mapValues((v) => v.toUpperCase()).to(mapOut);
    const map = await runApp(mapB.build(), `bench-${run}-map`, 'exactly_once');
    let mapWritten = 0;
    for (let p = 0; p < partitions; p++) mapWritten += (await engine.fetcher.offsets(mapOut, p)).highWatermark;
    // Each transaction's commit marker takes an offset too, so the output holds at least the records.
    if (mapWritten < mapRecords) throw new Error(`streams bench: the map wrote ${mapWritten} records of ${mapRecords}`);

    // Stateful: a word count over lines of 5 words each, drawn from 1,000 distinct words.
    const words = quick ? 5_000 : 50_000;
    const distinct = 1000;
    const perLine = 5;
    const lineCount = words / perLine;
    const text = Array.from({ length: lineCount }, (_, i) => ({
      key: `l${i}`,
      value: Array.from({ length: perLine }, (_, j) => `w${String(((i * perLine + j) * 7919) % distinct).padStart(4, '0')}`).join(' '),
    }));
    const counts = new Map<ProcessingGuarantee, Awaited<ReturnType<typeof runApp>>>();
    for (const guarantee of ['exactly_once', 'at_least_once'] as const) {
      const input = `bench-${run}-streams-text-${guarantee}`;
      const output = `bench-${run}-streams-counts-${guarantee}`;
      await engine.topics.create({ name: input, partitions });
      await engine.topics.create({ name: output, partitions });
      await backlog(engine, input, partitions, text);
      const b = new StreamsBuilder();
      b.stream<string, string>(input)
        .flatMapValues((line) => line.split(' '))
        .groupBy((_k, w) => w)
        .count(Materialized.as('counts'))
        .toStream()
        .to(output, Produced.with(Serdes.String(), Serdes.Long()));
      counts.set(guarantee, await runApp(b.build(), `bench-${run}-count-${guarantee.replace('_', '-')}`, guarantee));
    }
    const eos = counts.get('exactly_once')!;
    const alo = counts.get('at_least_once')!;
    const commits = Math.max(1, eos.metrics.commits!);
    const totalCalls = Object.values(eos.calls).reduce((a, b) => a + b, 0);
    const aloCalls = Object.values(alo.calls).reduce((a, b) => a + b, 0);

    // Table lookup: a compacted topic of 1,000 keys, a table over it, then sequential key reads.
    const tableTopic = `bench-${run}-streams-table`;
    const tableName = `bench-${run}-lookup`;
    const keys = 1000;
    await engine.topics.create({ name: tableTopic, partitions, configs: { 'cleanup.policy': 'compact' } });
    const keyOf = (i: number) => `key-${String(i).padStart(4, '0')}`;
    for (let i = 0; i < keys; i += 250) {
      await engine.producer.produce(tableTopic, Array.from({ length: 250 }, (_, j) => ({ key: Buffer.from(keyOf(i + j)), value: Buffer.alloc(100, 'v') })));
    }
    await floe.tables().create({ name: tableName, topic: tableTopic });
    await waitFor('the table to catch up', async () => (await floe.tables().describe(tableName)).lag === 0, 120_000);
    const lookups = quick ? 200 : 1000;
    const latencies: number[] = [];
    for (let i = 0; i < lookups; i++) {
      const key = keyOf((i * 7919) % keys);
      const t = performance.now();
      const r = await floe.request<{ value: string | null }>('GET', `/floe/v1/tables/${tableName}/keys/${key}`);
      latencies.push(performance.now() - t);
      if (r.value === null) throw new Error(`streams bench: table ${tableName} has no value for ${key}`);
    }
    latencies.sort((a, b) => a - b);

    return {
      partitions,
      max_batch_records: maxBatchRecords,
      map_records: mapRecords,
      streams_map_records_per_s: Math.round((mapRecords / map.ms) * 1000),
      count_words: words,
      count_lines: lineCount,
      distinct_words: distinct,
      streams_count_records_per_s: Math.round((words / eos.ms) * 1000),
      streams_count_records_per_s_at_least_once: Math.round((words / alo.ms) * 1000),
      commits: eos.metrics.commits!,
      // Sub-topology 0's lines and sub-topology 1's repartitioned words.
      streams_records_per_commit: round((lineCount + words) / commits),
      streams_storage_calls_per_commit: round(totalCalls / commits, 2),
      calls_per_commit: Object.fromEntries(Object.entries(eos.calls).map(([k, v]) => [k, round(v / commits, 2)])),
      storage_calls_per_commit_at_least_once: round(aloCalls / Math.max(1, alo.metrics.commits!), 2),
      fetches_per_commit: round(eos.metrics.fetches! / commits, 2),
      store_lookups: eos.metrics['store-lookups']!,
      table_keys: keys,
      table_lookups: lookups,
      table_lookup_p50_ms: round(percentile(latencies, 50)),
      table_lookup_p99_ms: round(percentile(latencies, 99)),
      task_errors: taskErrors,
    };
  } finally {
    clearInterval(sweeper);
    await engine.dispatcher.stop();
  }
}
