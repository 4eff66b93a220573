// `npm run bench` (full) and `npm run bench -- --quick` (under two minutes): Floe's produce and fetch
// against the floor that S3 and DynamoDB set, measured in the same run on the same emulators, the
// codec against kafkajs, the AWS calls per operation turned into dollars per GB, and transactions.
// `npm run bench -- --codec` runs the codec part alone (no emulators), for work on the codec or CRC.
// `npm run bench -- --only streams` (or `--only connectors`, `--only console`, `--only fanout`, `--only read`, `--only contention`; with or without `--quick`) runs that part alone on the emulators.
// Prints a table, then one JSON object per line, the last one the summary.
import { randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { BatchGetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { loadConfig } from '../src/config.ts';
import { createEngine, type Engine } from '../src/engine/engine.ts';
import { startEmulators } from '../src/local/emulators.ts';
import { decodeRecordBatch, encodeRecordBatch, type RecordInput } from '../src/log/index.ts';
import { kafkajsDecode, kafkajsEncode } from '../test/support/kafkajs-oracle.ts';
import { countCalls, type CallCounter } from '../test/support/call-counter.ts';
import { createClients, type AwsClients } from '../src/storage/clients.ts';
import { ensureStorage } from '../src/storage/setup.ts';
import { costPerGb, PRICES } from './prices.ts';
import { fanoutBench, type FanoutFigures } from './fanout.ts';
import { sdkBench } from './sdk.ts';
import { TRANSACTIONS_PLAN, transactionsBench } from './transactions.ts';
import { streamsBench, type StreamsFigures } from './streams.ts';
import { connectorsBench } from './connectors.ts';
import { consoleBench } from './console.ts';
import { triggersBench } from './triggers.ts';
import { consumerRead, endToEnd, fetchPathRead, fillPartition, floorRead, mbPerS, rssRead, type ReadRun } from './read.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const QUICK = process.argv.includes('--quick');
const CODEC_ONLY = process.argv.includes('--codec');
const ONLY = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
if (ONLY !== undefined && ONLY !== 'streams' && ONLY !== 'connectors' && ONLY !== 'console' && ONLY !== 'fanout' && ONLY !== 'read' && ONLY !== 'contention') throw new Error(`--only takes 'streams', 'connectors', 'console', 'fanout', 'read' or 'contention', not ${JSON.stringify(ONLY)}`);
const RECORD = randomBytes(1024);
const lines: Array<Record<string, unknown>> = [];
const table: string[][] = [];

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Counts the items each Query and BatchGetItem returns, to measure index reads per fetch. */
function countItems(clients: AwsClients): { items: number } {
  const tally = { items: 0 };
  clients.ddb.middlewareStack.add(
    ((next: (a: unknown) => Promise<{ output: { Items?: unknown[] } }>, ctx: { commandName?: string }) => async (args: unknown) => {
      const out = await next(args);
      if (ctx.commandName === 'QueryCommand') tally.items += out.output.Items?.length ?? 0;
      return out;
    }) as never,
    { step: 'initialize', name: 'benchItemCounter' },
  );
  return tally;
}

interface Shape {
  records: number;
  partitions: number;
  producers: number;
}

interface Run {
  requests: number;
  records: number;
  bytes: number;
  ms: number;
  latencies: number[];
}

const emptyRun = (): Run => ({ requests: 0, records: 0, bytes: 0, ms: 0, latencies: [] });

/** `producers` concurrent loops sending requests of `records` 1 KB records spread over `partitions`, for `ms`. */
async function floeProduce(engine: Engine, topic: string, shape: Shape, ms: number, run: Run): Promise<void> {
  const records = Array.from({ length: shape.records }, (_, i) => ({ key: null, value: RECORD, partition: i % shape.partitions }));
  const deadline = Date.now() + ms;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: shape.producers }, async () => {
      while (Date.now() < deadline) {
        const t = performance.now();
        await engine.producer.produce(topic, records);
        run.latencies.push(performance.now() - t);
        run.requests++;
        run.records += shape.records;
        run.bytes += shape.records * RECORD.length;
      }
    }),
  );
  run.ms += Date.now() - started;
}

/**
 * The floor: the same storage calls with the same shapes and no Floe in between: one PUT of the
 * request's bytes, one consistent BatchGetItem of the partition heads, one transaction with a
 * condition check, per partition a conditional head update and an entry put, and one counter update.
 */
async function floorProduce(clients: AwsClients, config: ReturnType<typeof loadConfig>, id: string, shape: Shape, ms: number, run: Run): Promise<void> {
  const body = Buffer.alloc(shape.records * (RECORD.length + 20) + 61 * shape.partitions, 1);
  const touched = Math.min(shape.partitions, shape.records);
  const deadline = Date.now() + ms;
  const started = Date.now();
  let seq = 0;
  await Promise.all(
    Array.from({ length: shape.producers }, async () => {
      while (Date.now() < deadline) {
        const t = performance.now();
        const key = `floor/${id}/${seq++}-${randomBytes(4).toString('hex')}`;
        await clients.s3.send(new PutObjectCommand({ Bucket: config.bucket, Key: key, Body: body, ContentLength: body.length }));
        for (let attempt = 0; attempt < 50; attempt++) {
          const keys = Array.from({ length: touched }, (_, p) => ({ p: `floor-${id}#${p}`, o: -1 }));
          const r = await clients.ddb.send(new BatchGetCommand({ RequestItems: { [config.tables.log]: { Keys: keys, ConsistentRead: true } } }));
          const next = new Map<string, number>((r.Responses?.[config.tables.log] ?? []).map((i) => [String(i.p), Number(i.next)]));
          const items: unknown[] = [{ ConditionCheck: { TableName: config.tables.topics, Key: { topic: `floor-${id}` }, ConditionExpression: 'attribute_not_exists(id) OR id = :id', ExpressionAttributeValues: { ':id': id } } }];
          for (const k of keys) {
            const old = next.get(k.p);
            const per = Math.ceil(shape.records / touched);
            items.push({ Put: { TableName: config.tables.log, Item: { p: k.p, o: old ?? 0, k: key, b: 0, z: body.length, l: (old ?? 0) + per - 1, n: per, t: `${Date.now()}` }, ConditionExpression: 'attribute_not_exists(o)' } });
            items.push({
              Update: {
                TableName: config.tables.log,
                Key: { p: k.p, o: -1 },
                UpdateExpression: 'SET #n = :new',
                ConditionExpression: old === undefined ? 'attribute_not_exists(#n)' : '#n = :old',
                ExpressionAttributeNames: { '#n': 'next' },
                ExpressionAttributeValues: old === undefined ? { ':new': per } : { ':new': old + per, ':old': old },
              },
            });
          }
          items.push({ Update: { TableName: config.tables.objects, Key: { key }, UpdateExpression: 'ADD refs :n', ExpressionAttributeValues: { ':n': touched } } });
          try {
            await clients.ddb.send(new TransactWriteCommand({ TransactItems: items as never }));
            break;
          } catch (e) {
            if ((e as Error).name !== 'TransactionCanceledException') throw e;
            await new Promise((res) => setTimeout(res, Math.random() * 10 * (attempt + 1)));
          }
        }
        run.latencies.push(performance.now() - t);
        run.requests++;
        run.records += shape.records;
        run.bytes += shape.records * RECORD.length;
      }
    }),
  );
  run.ms += Date.now() - started;
}

function describe(run: Run) {
  const sorted = [...run.latencies].sort((a, b) => a - b);
  return {
    requests: run.requests,
    records_per_s: Math.round((run.records / run.ms) * 1000),
    mb_per_s: Math.round((run.bytes / 1024 / 1024 / (run.ms / 1000)) * 100) / 100,
    p50_ms: Math.round(percentile(sorted, 50) * 10) / 10,
    p99_ms: Math.round(percentile(sorted, 99) * 10) / 10,
  };
}

async function codec(): Promise<{ encode: number; decode: number }> {
  const records: RecordInput[] = Array.from({ length: 100 }, (_, i) => ({ key: Buffer.from(`key-${i}`), value: RECORD, headers: [{ key: 'h', value: Buffer.from('v') }], timestamp: 1_700_000_000_000 + i }));
  const oracle = records.map((r) => ({ key: r.key as Buffer, value: r.value as Buffer, headers: { h: Buffer.from('v') }, timestamp: r.timestamp }));
  const time = async (fn: () => unknown, ms: number) => {
    for (let i = 0; i < 50; i++) await fn(); // warm up
    let n = 0;
    const start = performance.now();
    while (performance.now() - start < ms) {
      await fn();
      n++;
    }
    return (n / (performance.now() - start)) * 1000;
  };
  const ms = QUICK ? 700 : 3000;
  const bytes = encodeRecordBatch(records);
  const theirs = await kafkajsEncode(oracle);
  const rows: Record<string, number> = {};
  // Interleaved, twice each, so machine noise falls on both sides.
  for (let round = 0; round < 2; round++) {
    rows.floeEncode = (rows.floeEncode ?? 0) + (await time(() => encodeRecordBatch(records), ms));
    rows.kafkajsEncode = (rows.kafkajsEncode ?? 0) + (await time(() => kafkajsEncode(oracle), ms));
    rows.floeDecode = (rows.floeDecode ?? 0) + (await time(() => decodeRecordBatch(bytes), ms));
    rows.kafkajsDecode = (rows.kafkajsDecode ?? 0) + (await time(() => kafkajsDecode(theirs), ms));
  }
  const mb = (ops: number) => Math.round(((ops / 2) * bytes.length) / 1024 / 1024);
  for (const [name, ops] of Object.entries(rows)) {
    lines.push({ workload: 'codec', op: name, batches_per_s: Math.round(ops / 2), mb_per_s: mb(ops), records_per_batch: 100, record_bytes: 1024 });
    table.push(['codec', name, `${Math.round(ops / 2)} batches/s`, `${mb(ops)} MB/s`, '', '']);
  }
  return { encode: rows.floeEncode! / rows.kafkajsEncode!, decode: rows.floeDecode! / rows.kafkajsDecode! };
}

/** The codec figures alone: they need no storage, so no emulators are started. */
async function codecOnly(): Promise<void> {
  const wall = Date.now();
  const ratios = await codec();
  const summary = {
    encode_vs_kafkajs: Math.round(ratios.encode * 100) / 100,
    decode_vs_kafkajs: Math.round(ratios.decode * 100) / 100,
  };
  console.log(`Floe benchmark (codec only, ${QUICK ? 'quick' : 'full'})`);
  for (const row of table) console.log(row.slice(0, 4).map((c, i) => c.padEnd([20, 22, 24, 12][i]!)).join(' '));
  console.log(`wall time ${Math.round((Date.now() - wall) / 1000)} s`);
  for (const l of lines) console.log(JSON.stringify(l));
  console.log(JSON.stringify(summary));
}

/** The streams part's lines and rows, and its summary fields (shared by the full run and `--only streams`). */
async function streams(config: ReturnType<typeof loadConfig>, run: string): Promise<Record<string, number>> {
  const s: StreamsFigures = await streamsBench(config, run, QUICK);
  lines.push({ workload: 'streams', record_bytes: 100, ...s });
  table.push(['streams map', `${s.map_records} x 100 B, ${s.partitions}p`, `${s.streams_map_records_per_s} rec/s`, `batch ${s.max_batch_records}`, 'exactly_once', 'mapValues, stateless']);
  table.push(['streams count', `${s.count_words} words, ${s.distinct_words} distinct`, `${s.streams_count_records_per_s} words/s`, `${s.commits} commits`, `${s.streams_records_per_commit} rec/commit`, `${s.streams_storage_calls_per_commit} calls/commit`]);
  table.push(['streams count ALO', `${s.count_words} words, ${s.distinct_words} distinct`, `${s.streams_count_records_per_s_at_least_once} words/s`, '', 'at_least_once', `${s.storage_calls_per_commit_at_least_once} calls/commit`]);
  table.push(['table lookup', `${s.table_lookups} x GET, ${s.table_keys} keys`, `p50 ${s.table_lookup_p50_ms} ms`, '', `p99 ${s.table_lookup_p99_ms} ms`, 'HTTP app in-process']);
  return {
    streams_map_records_per_s: s.streams_map_records_per_s,
    streams_count_records_per_s: s.streams_count_records_per_s,
    streams_storage_calls_per_commit: s.streams_storage_calls_per_commit,
    streams_records_per_commit: s.streams_records_per_commit,
    table_lookup_p50_ms: s.table_lookup_p50_ms,
    table_lookup_p99_ms: s.table_lookup_p99_ms,
  };
}

/** The connectors part's lines and rows, and its summary fields. */
async function connectors(config: ReturnType<typeof loadConfig>, run: string): Promise<Record<string, number>> {
  const figures = await connectorsBench(config, run, QUICK);
  const summary: Record<string, number> = {};
  for (const f of figures) {
    lines.push({ workload: 'connector', ...f });
    table.push([`sink ${f.sink}`, `${f.records} records, ${f.keys} keys`, `${f.records_per_s} rec/s`, '', `${f.storage_calls_per_1000} calls/1000 rec`, '']);
    const id = f.sink.replace(' ', '_');
    summary[`sink_${id}_records_per_s`] = f.records_per_s;
    summary[`sink_${id}_calls_per_1000`] = f.storage_calls_per_1000;
  }
  return summary;
}

/**
 * Contention: 1, 8, 32 and 64 producers on one partition, each its own engine (as separate Lambda
 * instances are: no shared process state, no group commit), 10 x 1 KB records per request.
 * `--only contention` runs it alone.
 */
async function contentionPart(config: ReturnType<typeof loadConfig>, engine = createEngine(config, createClients(config))): Promise<Map<number, { records_per_s: number; p99_ms: number; failures: number }>> {
  const contention = new Map<number, { records_per_s: number; p99_ms: number; failures: number }>();
  const topic = 'bench-contention';
  await engine.topics.create({ name: topic, partitions: 1 });
  await engine.producer.produce(topic, [{ key: null, value: RECORD }]);
  const records = Array.from({ length: 10 }, () => ({ key: null, value: RECORD, partition: 0 }));
  const loneConfig = { ...config, groupCommitMs: 0 };
  for (const producers of [1, 8, 32, 64]) {
    const engines = Array.from({ length: producers }, () => createEngine(loneConfig, createClients(loneConfig)));
    for (const e of engines) await e.topics.resolve(topic);
    const run = emptyRun();
    let failures = 0;
    const shapeMs = QUICK ? 2000 : 6000;
    const until = Date.now() + shapeMs;
    const started = Date.now();
    await Promise.all(
      engines.map(async (e) => {
        while (Date.now() < until) {
          const t = performance.now();
          try {
            await e.producer.produce(topic, records);
            run.latencies.push(performance.now() - t);
            run.requests++;
            run.records += records.length;
            run.bytes += records.length * RECORD.length;
          } catch {
            failures++;
          }
        }
      }),
    );
    run.ms = Date.now() - started;
    const d = describe(run);
    contention.set(producers, { records_per_s: d.records_per_s, p99_ms: d.p99_ms, failures });
    lines.push({ workload: 'contention', producers, partitions: 1, records: 10, record_bytes: 1024, ...d, failures });
    table.push([`contention 10x1KB`, `1p ${producers} processes`, `${d.records_per_s} rec/s`, `${d.mb_per_s} MB/s`, `p50 ${d.p50_ms} / p99 ${d.p99_ms} ms`, `${failures} failed`]);
  }
  return contention;
}

/** The fan-out part: the producer alone and with 50 groups tailing, served by one process and by one each. */
async function fanoutPart(config: ReturnType<typeof loadConfig>, env: NodeJS.ProcessEnv, engine = createEngine(config, createClients(config))): Promise<FanoutFigures> {
  const f = await fanoutBench(engine, env, RECORD, QUICK);
  lines.push({ workload: 'fanout', record_bytes: 1024, ...f });
  table.push(['fan-out', `${f.groups} groups, 1 reader`, `${f.producer_records_per_s_with_readers} rec/s`, `alone ${f.producer_records_per_s_alone}`, `x${f.fanout_producer_ratio}`, `${f.gets_per_record_read} GETs/record read`]);
  table.push(['fan-out', `${f.groups} groups, 50 readers`, `${f.producer_records_per_s_engine_per_group} rec/s`, `alone ${Math.round((f.producer_records_per_s_alone_runs[1]! + f.producer_records_per_s_alone_runs[2]!) / 2)}`, `x${f.fanout_producer_ratio_engine_per_group}`, `${f.gets_per_record_read_engine_per_group} GETs/record read`]);
  return f;
}

/**
 * The read side: one partition read from the start (fetch path, REST consumer, raw GETs), produce to a
 * long poll's answer, and the memory of a process reading 10^6 records. `--only read` runs it alone.
 */
async function readPart(config: ReturnType<typeof loadConfig>, run: string, env: NodeJS.ProcessEnv, engine: Engine = createEngine(config, createClients(config))) {
  // Consume: one partition read from the start by the fetch path and by a REST consumer instance,
  // each on a fresh engine, interleaved round by round with the raw GETs of the same objects.
  const consume = await (async () => {
    const topic = 'bench-consume';
    await engine.topics.create({ name: topic, partitions: 1 });
    const highWatermark = await fillPartition(engine, topic, QUICK ? 50 : 200, 100, RECORD);
    const { id } = await engine.topics.resolve(topic);
    const sum = { floor: { bytes: 0, ms: 0 }, fetch: { bytes: 0, ms: 0 }, rest: { bytes: 0, ms: 0 } };
    const add = (to: ReadRun, r: ReadRun) => {
      to.bytes += r.bytes;
      to.ms += r.ms;
    };
    for (let r = 0; r < (QUICK ? 2 : 3); r++) {
      add(sum.floor, await floorRead(config, id, highWatermark, RECORD.length));
      add(sum.fetch, await fetchPathRead(config, topic, highWatermark));
      add(sum.rest, await consumerRead(config, topic, highWatermark, `bench-consume-${run}-${r}`));
    }
    const result = { records: highWatermark, floor_mb_per_s: mbPerS(sum.floor), fetch_mb_per_s: mbPerS(sum.fetch), rest_consumer_mb_per_s: mbPerS(sum.rest) };
    const vs = Math.round((result.fetch_mb_per_s / result.floor_mb_per_s) * 100) / 100;
    const restVs = Math.round((result.rest_consumer_mb_per_s / result.floor_mb_per_s) * 100) / 100;
    lines.push({ workload: 'consume', ...result, record_bytes: 1024, fetch_vs_floor: vs, rest_consumer_vs_floor: restVs });
    table.push(['consume fetch path', `${highWatermark} records`, '', `${result.fetch_mb_per_s} MB/s`, '', `floor ${result.floor_mb_per_s} MB/s (x${vs})`]);
    table.push(['consume REST v2', `${highWatermark} records`, '', `${result.rest_consumer_mb_per_s} MB/s`, '', `floor ${result.floor_mb_per_s} MB/s (x${restVs})`]);
    return { mbPerS: result.fetch_mb_per_s, vsFloor: vs };
  })();

  // Produce to consume: one small record at a time, a long poll waiting for it in the same process.
  const e2e = await (async () => {
    const topic = 'bench-e2e';
    await engine.topics.create({ name: topic, partitions: 1 });
    await engine.producer.produce(topic, [{ key: null, value: RECORD, partition: 0 }]);
    const sorted = (await endToEnd(engine, topic, QUICK ? 50 : 200)).sort((a, b) => a - b);
    const p50 = Math.round(percentile(sorted, 50) * 10) / 10;
    const p99 = Math.round(percentile(sorted, 99) * 10) / 10;
    lines.push({ workload: 'e2e', records: sorted.length, p50_ms: p50, p99_ms: p99, max_ms: Math.round(sorted[sorted.length - 1]! * 10) / 10 });
    table.push(['produce to fetch', `${sorted.length} x 1 record`, '', '', `p50 ${p50} / p99 ${p99} ms`, 'long poll waiting']);
    return { p50, p99 };
  })();

  // Memory: a child process reads a long log of small records through the fetch path.
  const rss = await (async () => {
    const topic = 'bench-consume-rss';
    await engine.topics.create({ name: topic, partitions: 1, configs: { 'max.message.bytes': String(8 * 1024 * 1024) } });
    // 100-byte values, 5,000 per request: 10^6 records (10^5 quick) in a few hundred requests.
    const highWatermark = await fillPartition(engine, topic, QUICK ? 20 : 200, 5000, RECORD.subarray(0, 100));
    const r = await rssRead(env, topic, highWatermark);
    if (r.records !== highWatermark) throw new Error(`the memory run read ${r.records} records of ${highWatermark}`);
    lines.push({ workload: 'consume_rss', ...r, record_bytes: 100, records_per_s: Math.round((r.records / r.ms) * 1000) });
    table.push(['consume memory', `${r.records} x 100 B`, `${Math.round((r.records / r.ms) * 1000)} rec/s`, '', `peak RSS ${r.peak_rss_mb} MB`, `start ${r.start_rss_mb}, cache ${r.range_cache_mb} MB`]);
    return r.peak_rss_mb;
  })();

  return { consume, e2e, rss };
}

/** The console's part: the first 100 messages of a partition in the browser, cold and warm. */
async function consolePart(config: ReturnType<typeof loadConfig>, run: string): Promise<Record<string, number>> {
  const c = await consoleBench(config, run, QUICK);
  lines.push({ workload: 'console', ...c });
  table.push(['console first 100', `${c.records_per_partition} records, 1 partition`, `p50 ${c.console_first_100_p50_ms} ms`, `cold ${c.console_first_100_cold_ms} ms`, `p99 ${c.console_first_100_p99_ms} ms`, `${c.console_assets_gzip_bytes} B gzipped`]);
  return { console_first_100_p50_ms: c.console_first_100_p50_ms, console_first_100_cold_ms: c.console_first_100_cold_ms, console_assets_gzip_bytes: c.console_assets_gzip_bytes };
}

/** One part's figures alone (streams, connectors), on emulators of their own, for work on that part. */
async function partOnly(part: (config: ReturnType<typeof loadConfig>, run: string, env: NodeJS.ProcessEnv) => Promise<Record<string, number>>): Promise<void> {
  const wall = Date.now();
  const run = randomBytes(4).toString('hex');
  const emulators = process.env.AWS_ENDPOINT_URL ? undefined : await startEmulators();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void (emulators?.stop() ?? Promise.resolve()).finally(() => process.exit(130)));
  try {
    const env = {
      ...process.env,
      FLOE_TABLE_PREFIX: `bench-${run}-`,
      FLOE_BUCKET: `floe-bench-${run}`,
      ...(emulators ? { AWS_ENDPOINT_URL_DYNAMODB: emulators.endpoints.dynamodb, AWS_ENDPOINT_URL_S3: emulators.endpoints.s3 } : {}),
    };
    const config = loadConfig(env);
    await ensureStorage(createClients(config), config.tables, config.bucket);
    const summary = await part(config, run, env);
    const widths = [20, 22, 24, 12, 24, 28];
    console.log(`Floe benchmark (${ONLY} only, ${QUICK ? 'quick' : 'full'})`);
    for (const row of table) console.log(row.map((c, i) => c.padEnd(widths[i]!)).join(' '));
    console.log(`wall time ${Math.round((Date.now() - wall) / 1000)} s`);
    for (const l of lines) console.log(JSON.stringify(l));
    console.log(JSON.stringify(summary));
  } finally {
    await emulators?.stop();
  }
}

async function main(): Promise<void> {
  const wall = Date.now();
  const run = randomBytes(4).toString('hex');
  const emulators = process.env.AWS_ENDPOINT_URL ? undefined : await startEmulators();
  // Interrupted (Ctrl-C, a kill), it stops the emulators it started before it goes.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void (emulators?.stop() ?? Promise.resolve()).finally(() => process.exit(130)));
  // Also the environment of the memory run's child process, so it reads the same tables and bucket.
  const childEnv: Record<string, string> = {
    FLOE_TABLE_PREFIX: `bench-${run}-`,
    FLOE_BUCKET: `floe-bench-${run}`,
    ...(emulators ? { AWS_ENDPOINT_URL_DYNAMODB: emulators.endpoints.dynamodb, AWS_ENDPOINT_URL_S3: emulators.endpoints.s3 } : {}),
  };
  const config = loadConfig({ ...process.env, ...childEnv });
  const clients = createClients(config);
  await ensureStorage(clients, config.tables, config.bucket);
  const engine = createEngine(config, clients);
  const counter: CallCounter = countCalls(clients);
  const items = countItems(clients);
  const floorClients = createClients(config);

  try {
    // Produce: every shape, Floe and the floor interleaved round by round.
    const shapes: Shape[] = [];
    for (const records of [1, 100, 1000]) for (const partitions of [1, 8]) for (const producers of [1, 8]) shapes.push({ records, partitions, producers });
    const ms = QUICK ? 1200 : 6000;
    const rounds = 2;
    let headline: { floe: Run; floor: Run; transactions: number } | undefined;
    const profiles = new Map<string, { calls: Record<string, number>; timeIndexed: number; requests: number; p50: number }>();
    let totalProduces = 0;
    const totals = { puts: 0, reads: 0, singleWrites: 0, transactions: 0 };
    for (const shape of shapes) {
      const topic = `bench-${shape.records}-${shape.partitions}-${shape.producers}`;
      await engine.topics.create({ name: topic, partitions: 8, configs: { 'max.message.bytes': String(8 * 1024 * 1024) } });
      await engine.producer.produce(topic, [{ key: null, value: RECORD }]); // warm the topic cache
      const floe = emptyRun();
      const floor = emptyRun();
      counter.reset();
      // The headline shape, contended and so the noisiest, gets more and shorter interleaved rounds.
      const isHeadline = shape.records === 100 && shape.partitions === 8 && shape.producers === 8;
      const shapeRounds = isHeadline ? rounds * 3 : rounds;
      const shapeMs = isHeadline ? ms * 2.5 : ms;
      for (let r = 0; r < shapeRounds; r++) {
        await floeProduce(engine, topic, shape, shapeMs / shapeRounds, floe);
        await floorProduce(floorClients, config, `${topic}-${run}`, shape, shapeMs / shapeRounds, floor);
      }
      const calls = counter.snapshot();
      // The protocol's budget per produce, measured where no other producer races it; contended
      // shapes retry lost races (their own lines show how often) as the floor does too.
      if (shape.producers === 1) {
        totalProduces += floe.requests;
        totals.puts += calls['s3.PutObject'] ?? 0;
        totals.reads += (calls['dynamodb.BatchGetItem'] ?? 0) + (calls['dynamodb.GetItem'] ?? 0) + (calls['dynamodb.Query'] ?? 0);
        totals.singleWrites += (calls['dynamodb.UpdateItem'] ?? 0) + (calls['dynamodb.PutItem'] ?? 0);
        totals.transactions += calls['dynamodb.TransactWriteItems'] ?? 0;
      }
      const f = describe(floe);
      const fl = describe(floor);
      const line = { workload: 'produce', ...shape, record_bytes: 1024, floe: f, floor: fl, vs_floor: Math.round((f.records_per_s / fl.records_per_s) * 100) / 100, calls_per_produce: Object.fromEntries(Object.entries(calls).map(([k, v]) => [k, Math.round((v / floe.requests) * 100) / 100])) };
      lines.push(line);
      table.push([`produce ${shape.records}x1KB`, `${shape.partitions}p ${shape.producers} producers`, `${f.records_per_s} rec/s`, `${f.mb_per_s} MB/s`, `p50 ${f.p50_ms} / p99 ${f.p99_ms} ms`, `floor ${fl.records_per_s} rec/s (x${line.vs_floor})`]);
      if (isHeadline) headline = { floe, floor, transactions: calls['dynamodb.TransactWriteItems'] ?? 0 };
      if (shape.producers === 1 && shape.partitions === 1 && shape.records !== 100) profiles.set(String(shape.records), { calls, timeIndexed: counter.timeIndexEntries, requests: floe.requests, p50: f.p50_ms });
    }
    // Contention: 1, 8, 32 and 64 producers on one partition, each its own engine.
    const contention = await contentionPart(config, engine);

    // 64 KB requests for the cost model.
    {
      const topic = 'bench-64k';
      await engine.topics.create({ name: topic, partitions: 1 });
      await engine.producer.produce(topic, [{ key: null, value: RECORD }]);
      counter.reset();
      const r64 = emptyRun();
      await floeProduce(engine, topic, { records: 64, partitions: 1, producers: 1 }, ms / 2, r64);
      profiles.set('64', { calls: counter.snapshot(), timeIndexed: counter.timeIndexEntries, requests: r64.requests, p50: describe(r64).p50_ms });
    }

    // Fetch: index items read per fetch from a small and a large log, at the tail and in the middle.
    const fetchStats: Record<string, number> = {};
    for (const [name, batches] of [['small', 20], ['large', QUICK ? 200 : 1000]] as const) {
      const topic = `bench-fetch-${name}`;
      await engine.topics.create({ name: topic, partitions: 1 });
      const batch = Array.from({ length: 100 }, () => ({ key: null, value: RECORD }));
      for (let i = 0; i < batches; i += 8) await Promise.all(Array.from({ length: Math.min(8, batches - i) }, () => engine.producer.produce(topic, batch)));
      const { highWatermark } = await engine.fetcher.offsets(topic, 0);
      const reader = createEngine(config, createClients(config));
      const tally = countItems(reader.clients);
      let fetches = 0;
      const latencies: number[] = [];
      for (const at of [Math.floor(highWatermark / 2), highWatermark - 250, Math.floor(highWatermark / 2) + 50, highWatermark - 120]) {
        for (let i = 0; i < (QUICK ? 5 : 20); i++) {
          const t = performance.now();
          await reader.fetcher.fetch({ topic, partition: 0, offset: at, maxBytes: 256 * 1024 });
          latencies.push(performance.now() - t);
          fetches++;
        }
      }
      fetchStats[name] = Math.round((tally.items / fetches) * 10) / 10;
      const sorted = latencies.sort((a, b) => a - b);
      lines.push({ workload: 'fetch', log: name, records: highWatermark, index_items_per_fetch: fetchStats[name], p50_ms: Math.round(percentile(sorted, 50) * 10) / 10, cache_hits: reader.fetcher.cache.hits, cache_misses: reader.fetcher.cache.misses });
      table.push([`fetch ${name} log`, `${highWatermark} records`, `${fetchStats[name]} index items/fetch`, '', `p50 ${Math.round(percentile(sorted, 50) * 10) / 10} ms`, '']);
    }

    // The read side: consume against the floor, produce to fetch, and the memory of a long read.
    const { consume, e2e, rss } = await readPart(config, run, { ...process.env, ...childEnv }, engine);

    // The client: batching sends against one request per message; direct mode against HTTP.
    const sdk = await sdkBench(config, childEnv, QUICK);
    lines.push({ workload: 'sdk', record_bytes: 1024, ...sdk });
    table.push(['client send()', `${sdk.messages} x 1 KB`, `${sdk.sdk_send_records_per_s} rec/s`, '', `x${sdk.sdk_batching_speedup} vs 1 request each`, `${sdk.per_request_records_per_s} rec/s, ${sdk.per_request_concurrency} in flight`]);
    table.push(['client one send', 'direct vs HTTP', '', '', `p50 ${sdk.direct_send_p50_ms} / ${sdk.http_send_p50_ms} ms`, `x${sdk.direct_vs_http_p50}`]);

    // Fan-out: the producer alone, then with 50 groups tailing the topic (one process for them, then each its own).
    const fanout = await fanoutPart(config, { ...process.env, ...childEnv }, engine);

    // Transactions: commits over 1, 8 and 64 partitions, and read_committed against read_uncommitted.
    const txn = await transactionsBench(engine, counter, config, run, RECORD, QUICK ? TRANSACTIONS_PLAN.quick : TRANSACTIONS_PLAN.full);
    for (const c of txn.commits) {
      lines.push({ workload: 'transactions', record_bytes: 1024, ...c });
      table.push([`txn commit ${c.partitions}p`, `${c.transactions} x (1 send, commit)`, `${c.calls_per_commit} calls/commit`, `send ${c.send_p50_ms} ms`, `p50 ${c.commit_p50_ms} / p99 ${c.commit_p99_ms} ms`, `${c.calls_per_send} calls/send`]);
    }
    lines.push({ workload: 'transactions_isolation', record_bytes: 1024, ...txn.isolation });
    table.push(['txn read_committed', `${txn.isolation.records} records`, `${txn.isolation.read_committed_records_per_s} rec/s`, '', `uncommitted ${txn.isolation.read_uncommitted_records_per_s} rec/s`, `x${txn.isolation.read_committed_vs_uncommitted}`]);
    const txn8 = txn.commits.find((c) => c.partitions === 8)!;

    // Triggers: produce-to-handler latency, a backlog through a no-op handler, calls per batch.
    const trig = await triggersBench(config, run, QUICK);
    lines.push({ workload: 'triggers', record_bytes: 100, ...trig });
    table.push(['trigger latency', `${trig.latency_records} x 1 record`, `p50 ${trig.trigger_p50_ms} ms`, '', `p99 ${trig.trigger_p99_ms} ms`, 'window 0, in-process handler']);
    table.push(['trigger backlog', `${trig.backlog_records} x 100 B, 4p`, `${trig.trigger_records_per_s} rec/s`, `batch ${trig.batch_size}`, `${trig.invocations} invocations`, `${trig.storage_calls_per_batch} calls/batch`]);

    // Streams: a stateless map and a word count through FloeStreams, calls per commit, table lookups.
    const streamsSummary = await streams(config, run);

    // Connectors: a backlog into each sink, storage calls per 1,000 records.
    const connectorsSummary = await connectors(config, run);

    // The console: the message browser's first 100 messages, in Chromium.
    const consoleSummary = await consolePart(config, run);

    const codecRatios = await codec();

    const costOf = (key: string, recordsPerRequest: number) => {
      const p = profiles.get(key)!;
      const per = (op: string) => (p.calls[op] ?? 0) / p.requests;
      return costPerGb({
        s3Puts: per('s3.PutObject'),
        itemsRead: per('dynamodb.BatchGetItem') + per('dynamodb.GetItem') + per('dynamodb.Query'),
        // The allocation and the high watermark's move; a one-batch request's entry, put alone.
        singleWrites: per('dynamodb.UpdateItem') + per('dynamodb.PutItem'),
        transactions: per('dynamodb.TransactWriteItems'),
        // entry put and object refs: 2 items per single-partition commit
        itemsWritten: per('dynamodb.TransactWriteItems') * 2,
        // The entries put with a time index key, each copied into that index.
        indexEntriesWritten: p.timeIndexed / p.requests,
        requestBytes: recordsPerRequest * 1024,
        latencyMs: p.p50,
      });
    };
    const cost1mb = costOf('1000', 1000);
    const cost64k = costOf('64', 64);
    lines.push({ workload: 'cost', request_bytes: 1024 * 1000, usd_per_gb: cost1mb.total, parts: cost1mb.parts, prices: PRICES });
    lines.push({ workload: 'cost', request_bytes: 64 * 1024, usd_per_gb: cost64k.total, parts: cost64k.parts });
    table.push(['cost', '1 MB requests', `$${cost1mb.total.toFixed(4)}/GB`, '', '', '']);
    table.push(['cost', '64 KB requests', `$${cost64k.total.toFixed(4)}/GB`, '', '', '']);

    const h = describe(headline!.floe);
    const hf = describe(headline!.floor);
    const summary = {
      produce_records_per_s: h.records_per_s,
      produce_mb_per_s: h.mb_per_s,
      produce_p50_ms: h.p50_ms,
      produce_p99_ms: h.p99_ms,
      produce_vs_floor: Math.round((h.records_per_s / hf.records_per_s) * 100) / 100,
      s3_puts_per_produce: Math.round((totals.puts / totalProduces) * 1000) / 1000,
      ddb_reads_per_produce: Math.round((totals.reads / totalProduces) * 1000) / 1000,
      ddb_transactions_per_produce: Math.round((totals.transactions / totalProduces) * 1000) / 1000,
      ddb_single_writes_per_produce: Math.round((totals.singleWrites / totalProduces) * 1000) / 1000,
      // Group commit at work: the headline's 8 producers share one process, so their requests share commits.
      txns_per_produce_contended: Math.round((headline!.transactions / headline!.floe.requests) * 1000) / 1000,
      encode_vs_kafkajs: Math.round(codecRatios.encode * 100) / 100,
      decode_vs_kafkajs: Math.round(codecRatios.decode * 100) / 100,
      fetch_index_items_small_log: fetchStats.small!,
      fetch_index_items_large_log: fetchStats.large!,
      cost_usd_per_gb_1mb: Math.round(cost1mb.total * 10000) / 10000,
      cost_usd_per_gb_64kb: Math.round(cost64k.total * 10000) / 10000,
      consume_mb_per_s: consume.mbPerS,
      consume_vs_floor: consume.vsFloor,
      e2e_p50_ms: e2e.p50,
      e2e_p99_ms: e2e.p99,
      consume_rss_mb: rss,
      fanout_producer_ratio: fanout.fanout_producer_ratio,
      sdk_send_records_per_s: sdk.sdk_send_records_per_s,
      sdk_batching_speedup: sdk.sdk_batching_speedup,
      direct_vs_http_p50: sdk.direct_vs_http_p50,
      contention_scaling: Math.round((contention.get(64)!.records_per_s / contention.get(8)!.records_per_s) * 100) / 100,
      contention_p99_ms_64: contention.get(64)!.p99_ms,
      contention_failures: [...contention.values()].reduce((n, c) => n + c.failures, 0),
      txn_commit_p50_ms: txn8.commit_p50_ms,
      txn_commit_p99_ms: txn8.commit_p99_ms,
      txn_calls_per_commit_8p: txn8.calls_per_commit,
      read_committed_vs_uncommitted: txn.isolation.read_committed_vs_uncommitted,
      trigger_p50_ms: trig.trigger_p50_ms,
      trigger_p99_ms: trig.trigger_p99_ms,
      trigger_records_per_s: trig.trigger_records_per_s,
      trigger_storage_calls_per_batch: trig.storage_calls_per_batch,
      ...streamsSummary,
      ...connectorsSummary,
      ...consoleSummary,
    };
    const widths = [20, 22, 24, 12, 24, 28];
    console.log(`Floe benchmark (${QUICK ? 'quick' : 'full'}), headline: 100 x 1 KB records per request, 8 partitions, 8 producers`);
    for (const row of table) console.log(row.map((c, i) => c.padEnd(widths[i]!)).join(' '));
    console.log(`wall time ${Math.round((Date.now() - wall) / 1000)} s`);
    for (const l of lines) console.log(JSON.stringify(l));
    console.log(JSON.stringify(summary));
  } finally {
    await emulators?.stop();
  }
}

await (CODEC_ONLY ? codecOnly() : ONLY === 'streams' ? partOnly(streams) : ONLY === 'connectors' ? partOnly(connectors) : ONLY === 'console' ? partOnly(consolePart) : ONLY === 'read' ? partOnly(async (c, r, env) => { const { consume, e2e, rss } = await readPart(c, r, env); return { consume_mb_per_s: consume.mbPerS, consume_vs_floor: consume.vsFloor, e2e_p50_ms: e2e.p50, e2e_p99_ms: e2e.p99, consume_rss_mb: rss }; }) : ONLY === 'contention' ? partOnly(async (c) => { const m = await contentionPart(c); return { contention_scaling: Math.round((m.get(64)!.records_per_s / m.get(8)!.records_per_s) * 100) / 100, contention_p99_ms_64: m.get(64)!.p99_ms, contention_failures: [...m.values()].reduce((n, x) => n + x.failures, 0) }; }) : ONLY === 'fanout' ? partOnly(async (c, _r, env) => { const { producer_records_per_s_alone_runs: _runs, ...f } = await fanoutPart(c, env); return f; }) : main());
