// Connectors: records per second from a backlog into each sink (DynamoDB, S3 as JSON lines, S3 as
// Parquet), and the storage calls (DynamoDB and S3, the sink's writes and the trigger's reads and
// commits together) per 1,000 records. The local runtime's engine, woken by a sweep as `npm start` does.
import { randomBytes } from 'node:crypto';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import type { FloeConfig } from '../src/config.ts';
import { createEngine, type Engine } from '../src/engine/engine.ts';
import { createClients } from '../src/storage/clients.ts';
import { ensureStorage } from '../src/storage/setup.ts';
import { countCalls } from '../test/support/call-counter.ts';

export interface SinkFigures {
  sink: string;
  records: number;
  keys: number;
  records_per_s: number;
  storage_calls_per_1000: number;
  calls_per_1000: Record<string, number>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

export async function connectorsBench(config: FloeConfig, run: string, quick: boolean): Promise<SinkFigures[]> {
  // A triggers table of its own, so no other bench's triggers add their sweeps to the calls counted.
  const cfg: FloeConfig = { ...config, tables: { ...config.tables, triggers: `bench-${run}-connector-triggers` } };
  const clients = createClients(cfg);
  await ensureStorage(clients, cfg.tables, cfg.bucket);
  const counter = countCalls(clients);
  const engine: Engine = createEngine(cfg, clients, { local: true, triggerLog: () => undefined });
  // Progress is watched through an engine of its own, so its reads are not counted.
  const watcher = createEngine(cfg, createClients(cfg));
  const sweeper = setInterval(() => void engine.dispatcher.sweep({ wait: false }).catch(() => undefined), 200);
  const partitions = 4;
  const records = quick ? 8_000 : 40_000;
  const keys = records / 4;
  const out: SinkFigures[] = [];
  try {
    const topic = `bench-${run}-sink`;
    await engine.topics.create({ name: topic, partitions });
    for (let i = 0; i < records; i += 1000) {
      await Promise.all(
        Array.from({ length: partitions }, (_, p) => {
          const batch = Array.from({ length: 250 }, (_, j) => {
            const n = i + p * 250 + j;
            return { key: Buffer.from(`k${n % keys}`), value: Buffer.from(JSON.stringify({ n, name: `customer-${n % keys}`, amount: n % 1000, pad: 'x'.repeat(40) })), partition: p };
          });
          return engine.producer.produce(topic, batch);
        }),
      );
    }
    const table = `bench-${run}-sink-${randomBytes(3).toString('hex')}`;
    await clients.ddb.send(new CreateTableCommand({ TableName: table, BillingMode: 'PAY_PER_REQUEST', KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }] }));
    const bucket = `bench-${run}-sink`;
    await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const sinks: Array<{ sink: string; body: Record<string, unknown> }> = [
      { sink: 'dynamodb', body: { type: 'dynamodb-sink', config: { 'table.name': table } } },
      { sink: 's3 json', body: { type: 's3-sink', config: { 's3.bucket.name': bucket, 'flush.size': 1000, 'topics.dir': 'json' } } },
      { sink: 's3 parquet', body: { type: 's3-sink', config: { 's3.bucket.name': bucket, 'flush.size': 1000, 'topics.dir': 'parquet', 'format.class': 'parquet', 'value.converter': 'json', 'value.schema': { n: 'int64', name: 'string', amount: 'double' } } } },
    ];
    for (const s of sinks) {
      const name = `bench-${run}-${s.sink.replace(' ', '-')}`;
      counter.reset();
      const started = performance.now();
      await engine.connectors.create({ name, topics: [topic], ...s.body });
      // Every record is in a complete object or item: flush.size divides each partition's records.
      for (;;) {
        const d = await watcher.connectors.describe(name).catch(() => undefined);
        if (d && d.lag === 0) break;
        if (performance.now() - started > 600_000) throw new Error(`connectors bench: ${name} did not catch up`);
        await sleep(50);
      }
      const ms = performance.now() - started;
      const calls = counter.snapshot();
      await engine.connectors.setRunning(name, false);
      const total = Object.values(calls).reduce((a, b) => a + b, 0);
      out.push({
        sink: s.sink,
        records,
        keys,
        records_per_s: Math.round(records / (ms / 1000)),
        storage_calls_per_1000: round((total / records) * 1000),
        calls_per_1000: Object.fromEntries(Object.entries(calls).map(([k, v]) => [k, round((v / records) * 1000)])),
      });
    }
    return out;
  } finally {
    clearInterval(sweeper);
    await engine.dispatcher.stop();
  }
}
