import { afterAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { CreateTableCommand, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, GetObjectCommand, ListObjectsCommand } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { parquetReadObjects } from 'hyparquet';
import { createApp } from '../src/api/app.ts';
import { CONNECT_ERROR_HEADERS } from '../src/connectors/records.ts';
import { createEngine } from '../src/engine/engine.ts';
import type { ProduceRecord } from '../src/produce/types.ts';
import { ownTriggersTable, randomTopic, testClients, testConfig } from './support/env.ts';
import { appClient, readInProcessBody } from './support/http.ts';
import { until } from './support/streams.ts';

// The local runtime's engine: the dispatcher woken by this process's commits and swept every 200 ms,
// with a triggers table of its own (connectors are internal triggers).
const config = testConfig(await ownTriggersTable());
const clients = testClients(config);
const engine = createEngine(config, clients, { local: true, triggerLog: process.env.DEBUG_TRIGGERS ? (l) => console.log(l) : () => undefined, ...(process.env.DEBUG_TRIGGERS ? { onTriggerAttempt: (e) => console.log(JSON.stringify(e).slice(0, 300)) } : {}) });
const api = appClient(createApp(engine, { readBody: readInProcessBody }));
const sweeper = setInterval(() => void engine.dispatcher.sweep({ wait: false }).catch(() => undefined), 200);
afterAll(async () => {
  clearInterval(sweeper);
  await engine.dispatcher.stop();
});

const enc = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString() : null);

async function topic(partitions: number): Promise<string> {
  const name = randomTopic('c');
  await engine.topics.create({ name, partitions });
  return name;
}

async function produce(t: string, records: ProduceRecord[]): Promise<Array<{ partition: number; offset: number }>> {
  const r = await engine.producer.produce(t, records);
  for (const x of r.records) if ('error' in x) throw x.error;
  return r.records as Array<{ partition: number; offset: number }>;
}

async function userTable(keys: { hash: string; range?: string; hashType?: 'S' | 'N' } = { hash: 'id' }): Promise<string> {
  const name = `sink-${randomBytes(5).toString('hex')}`;
  const input: CreateTableCommandInput = {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: [{ AttributeName: keys.hash, KeyType: 'HASH' }, ...(keys.range ? [{ AttributeName: keys.range, KeyType: 'RANGE' as const }] : [])],
    AttributeDefinitions: [{ AttributeName: keys.hash, AttributeType: keys.hashType ?? 'S' }, ...(keys.range ? [{ AttributeName: keys.range, AttributeType: 'S' as const }] : [])],
  };
  await clients.ddb.send(new CreateTableCommand(input));
  return name;
}

async function bucket(): Promise<string> {
  const name = `sink-${randomBytes(5).toString('hex')}`;
  await clients.s3.send(new CreateBucketCommand({ Bucket: name }));
  return name;
}

async function scan(table: string): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  let start: Record<string, unknown> | undefined;
  do {
    const r = await clients.ddb.send(new ScanCommand({ TableName: table, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) }));
    out.push(...(r.Items ?? []));
    start = r.LastEvaluatedKey;
  } while (start);
  return out;
}

async function objects(b: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  let marker: string | undefined;
  for (;;) {
    const r = await clients.s3.send(new ListObjectsCommand({ Bucket: b, ...(marker ? { Marker: marker } : {}) }));
    for (const o of r.Contents ?? []) {
      const body = await clients.s3.send(new GetObjectCommand({ Bucket: b, Key: o.Key! }));
      out.set(o.Key!, Buffer.from(await body.Body!.transformToByteArray()));
    }
    if (!r.IsTruncated || !r.Contents?.length) return out;
    marker = r.Contents.at(-1)!.Key!;
  }
}

async function create(body: Record<string, unknown>) {
  const r = await api.post('/floe/v1/connectors', body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body;
}

async function describeConnector(name: string) {
  const r = await api.get(`/floe/v1/connectors/${name}`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body as { state: string; lag: number; records_written: number; error: { offset: number; message: string } | null; dead_letters: { topic: string; records: number } | null; partitions: Array<{ committed_offset: number }> };
}

const caughtUp = (name: string) => until(`connector ${name} caught up`, async () => (await describeConnector(name)).lag === 0 || undefined);

/** Every record of a topic, all partitions, by fetching from the log start. */
async function readTopic(t: string) {
  const { partitions } = await engine.topics.describe(t);
  const out = [];
  for (let p = 0; p < partitions; p++) {
    for (let offset = 0; ; ) {
      const r = await engine.fetcher.fetch({ topic: t, partition: p, offset, maxRecords: 10_000, maxBytes: 8 << 20 });
      out.push(...r.records.map((x) => ({ ...x, partition: p })));
      if (r.records.length === 0 || r.nextOffset >= r.highWatermark) break;
      offset = r.nextOffset;
    }
  }
  return out;
}

describe('DynamoDB sink', () => {
  it('leaves exactly the latest value per key, tombstones as markers, and a replay from offset 0 changes nothing', async () => {
    const t = await topic(3);
    const table = await userTable();
    const latest = new Map<string, string | null>();
    const batch: ProduceRecord[] = [];
    for (let i = 0; i < 600; i++) {
      const k = `k${i % 40}`;
      const deleted = i % 7 === 3;
      const value = deleted ? null : JSON.stringify({ n: i, name: `v${i}`, nested: { list: [i, 'x'] } });
      latest.set(k, value);
      batch.push({ key: enc(k), value: value === null ? null : enc(value) });
    }
    for (let i = 0; i < batch.length; i += 50) await produce(t, batch.slice(i, i + 50));
    const name = randomTopic('ddb');
    await create({ name, type: 'dynamodb-sink', topics: [t], config: { 'table.name': table, 'key.attribute': 'id' } });
    await caughtUp(name);

    const check = async () => {
      const items = new Map((await scan(table)).map((i) => [i.id as string, i]));
      for (const [k, v] of latest) {
        const item = items.get(k);
        expect(item, k).toBeDefined();
        if (v === null) {
          expect(item!.floe_deleted, k).toBe(true);
          expect(typeof item!.ttl).toBe('number');
        } else {
          const parsed = JSON.parse(v);
          expect(item!.n, k).toBe(parsed.n);
          expect(item!.nested, k).toEqual(parsed.nested);
          expect(item!.floe_deleted, k).toBeUndefined();
        }
      }
      expect(items.size).toBe(latest.size);
      return items;
    };
    const before = await check();
    const d = await describeConnector(name);
    expect(d.state).toBe('RUNNING');
    expect(d.records_written).toBe(600);

    // A replay from the start (a reset, as after a lost commit): every write meets a newer offset and is refused.
    const reset = await api.post(`/floe/v1/connectors/${name}/offsets/reset`, { to: 'earliest' });
    expect(reset.status, JSON.stringify(reset.body)).toBe(200);
    expect(reset.body.offsets.every((o: { offset: number }) => o.offset === 0)).toBe(true);
    await until('replayed', async () => (await describeConnector(name)).records_written >= 1200 || undefined);
    await caughtUp(name);
    const after = await check();
    for (const [k, item] of after) expect(item.floe_offset, k).toBe(before.get(k)!.floe_offset);
  });

  it('a zombie invocation with an older batch never writes over a newer value', async () => {
    const t = await topic(1);
    const table = await userTable();
    const name = randomTopic('ddb');
    await create({ name, type: 'dynamodb-sink', topics: [t], config: { 'table.name': table, 'value.mapping': 'raw', 'value.attribute': 'v' } });
    await produce(t, [{ key: enc('a'), value: enc('old') }]);
    await produce(t, [{ key: enc('a'), value: enc('new') }]);
    await caughtUp(name);
    expect((await scan(table))[0]!.v).toBe('new');
    // The batch a lane held before it lost its lease, delivered late by its dispatcher.
    const trigger = (await engine.triggers.find(`connector:${name}`))!;
    const stale = (await readTopic(t)).filter((r) => r.offset === 0).map((r) => ({ topic: t, partition: 0, offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers, at: r.offset }));
    const { ConnectorWriter } = await import('../src/connectors/writer.ts');
    const zombie = new ConnectorWriter({ clients, topics: engine.topics, triggers: (engine.dispatcher as unknown as { deps: { triggers: never } }).deps.triggers, produce: async () => undefined });
    const answer = await zombie.write(trigger, stale, { full: false, end: 1 });
    expect(answer).toEqual({ ok: true, through: 1 });
    const [item] = await scan(table);
    expect(item!.v).toBe('new');
    expect(item!.floe_offset).toBe(1);
  });

  it('with a sort key and delete.enabled=false: tombstones leave the item as it was', async () => {
    const t = await topic(1);
    const table = await userTable({ hash: 'pk', range: 'sk' });
    const name = randomTopic('ddb');
    await create({ name, type: 'dynamodb-sink', topics: [t], config: { 'table.name': table, 'sort.key.value': 'PROFILE', 'delete.enabled': false } });
    await produce(t, [
      { key: enc('u1'), value: enc('{"tier":"gold"}') },
      { key: enc('u1'), value: null },
      { key: enc('u2'), value: null },
    ]);
    await caughtUp(name);
    const items = await scan(table);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ pk: 'u1', sk: 'PROFILE', tier: 'gold', floe_offset: 0 });
  });

  it('errors.tolerance=all: bad records go to the dead-letter topic with Kafka Connect headers, the rest is written', async () => {
    const t = await topic(2);
    const table = await userTable();
    const dlq = randomTopic('dlq');
    const name = randomTopic('ddb');
    await create({ name, type: 'dynamodb-sink', topics: [t], config: { 'table.name': table }, 'errors.tolerance': 'all', 'errors.deadletterqueue.topic.name': dlq });
    await produce(t, [
      { key: enc('good1'), value: enc('{"x":1}'), partition: 0 },
      { key: enc('bad1'), value: enc('not json'), partition: 0, headers: [{ key: 'trace', value: enc('t-1') }] },
      { key: null, value: enc('{"x":2}'), partition: 1 },
      { key: enc('good2'), value: enc('{"x":3}'), partition: 1 },
      { key: enc('arr'), value: enc('[1,2]'), partition: 1 },
    ]);
    await caughtUp(name);
    const items = new Map((await scan(table)).map((i) => [i.id as string, i]));
    expect([...items.keys()].sort()).toEqual(['good1', 'good2']);
    const letters = await until('dead letters', async () => {
      const rs = await readTopic(dlq);
      return rs.length >= 3 ? rs : undefined;
    });
    expect(letters).toHaveLength(3);
    const header = (r: (typeof letters)[number], k: string) => text(r.headers.find((h) => h.key === k)?.value);
    const bad1 = letters.find((r) => text(r.key) === 'bad1')!;
    expect(text(bad1.value)).toBe('not json');
    expect(header(bad1, 'trace')).toBe('t-1');
    expect(header(bad1, CONNECT_ERROR_HEADERS.topic)).toBe(t);
    expect(header(bad1, CONNECT_ERROR_HEADERS.partition)).toBe('0');
    expect(header(bad1, CONNECT_ERROR_HEADERS.offset)).toBe('1');
    expect(header(bad1, CONNECT_ERROR_HEADERS.connector)).toBe(name);
    expect(header(bad1, CONNECT_ERROR_HEADERS.stage)).toBe('VALUE_CONVERTER');
    expect(header(bad1, CONNECT_ERROR_HEADERS.exceptionClass)).toBe('org.apache.kafka.connect.errors.DataException');
    expect(header(bad1, CONNECT_ERROR_HEADERS.exceptionMessage)).toMatch(/not JSON/);
    const keyless = letters.find((r) => r.key === null)!;
    expect(header(keyless, CONNECT_ERROR_HEADERS.stage)).toBe('KEY_CONVERTER');
    const d = await describeConnector(name);
    expect(d.state).toBe('RUNNING');
    expect(d.dead_letters).toEqual({ topic: dlq, records: 3 });
  });

  it('errors.tolerance=none: stops at the first bad record with the error shown; resume after a fix goes on', async () => {
    const t = await topic(1);
    const table = await userTable();
    const name = randomTopic('ddb');
    await create({ name, type: 'dynamodb-sink', topics: [t], config: { 'table.name': table } });
    await produce(t, [
      { key: enc('a'), value: enc('{"x":1}') },
      { key: enc('b'), value: enc('{oops') },
      { key: enc('c'), value: enc('{"x":3}') },
    ]);
    const failed = await until('failed', async () => {
      const d = await describeConnector(name);
      return d.state === 'FAILED' ? d : undefined;
    });
    expect(failed.error!.offset).toBe(1);
    expect(failed.error!.message).toMatch(/VALUE_CONVERTER: the value is not JSON/);
    expect((await scan(table)).map((i) => i.id)).toEqual(['a']);
    // Nothing moves while it is failed.
    await engine.dispatcher.sweep();
    expect((await describeConnector(name)).partitions[0]!.committed_offset).toBeLessThanOrEqual(1);
    // The fix: skip bad records from now on; resume clears the failure.
    const dlq = randomTopic('dlq');
    const patched = await api.patch(`/floe/v1/connectors/${name}`, { 'errors.tolerance': 'all', 'errors.deadletterqueue.topic.name': dlq });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.state).toBe('FAILED');
    const resumed = await api.post(`/floe/v1/connectors/${name}/resume`);
    expect(resumed.body.state).toBe('RUNNING');
    await caughtUp(name);
    expect((await scan(table)).map((i) => i.id).sort()).toEqual(['a', 'c']);
    expect((await readTopic(dlq)).map((r) => text(r.key))).toEqual(['b']);
  });
});

interface Line {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: unknown;
  headers: Array<{ key: string; value: string }>;
}

const lines = (b: Buffer): Line[] =>
  b
    .toString()
    .split('\n')
    .filter((l) => l)
    .map((l) => JSON.parse(l));

describe('S3 sink', () => {
  it('holds every record exactly once in objects named by their first offset; a rerun from offset 0 writes the same objects', async () => {
    const t = await topic(2);
    const b = await bucket();
    const sent: ProduceRecord[] = [];
    for (let i = 0; i < 530; i++) sent.push({ key: enc(`k${i % 13}`), value: enc(`value-${i}`), headers: i % 5 === 0 ? [{ key: 'h', value: enc(`x${i}`) }] : [] });
    for (let i = 0; i < sent.length; i += 37) await produce(t, sent.slice(i, i + 37));
    const name = randomTopic('s3');
    await create({ name, type: 's3-sink', topics: [t], config: { 's3.bucket.name': b, 'flush.size': 100 } });
    const records = await readTopic(t);
    // Each partition's last records short of 100 wait for more: exactly the full objects are there.
    const expectedObjects = [0, 1].reduce((n, p) => n + Math.floor(records.filter((r) => r.partition === p).length / 100), 0);
    const first = await until('objects', async () => {
      const o = await objects(b);
      return o.size >= expectedObjects ? o : undefined;
    });
    await until('committed', async () => {
      const d = await describeConnector(name);
      return d.partitions.every((p) => p.committed_offset % 100 === 0 && p.committed_offset === Math.floor(records.filter((r) => r.partition === d.partitions.indexOf(p)).length / 100) * 100) || undefined;
    });
    expect(first.size).toBe(expectedObjects);
    for (const [key, body] of first) {
      const m = key.match(new RegExp(`^topics/${t}/partition=(\\d+)/${t}\\+(\\d+)\\+(\\d{10})\\.json$`));
      expect(m, key).not.toBeNull();
      const ls = lines(body);
      expect(ls).toHaveLength(100);
      expect(ls[0]!.offset).toBe(Number(m![3]));
      expect(ls.every((l) => l.partition === Number(m![1]))).toBe(true);
    }
    // Top up: 100 more per partition closes each pending object and opens the next.
    for (let p = 0; p < 2; p++) await produce(t, Array.from({ length: 100 }, (_, i) => ({ key: enc(`t${i}`), value: enc(`top-${p}-${i}`), partition: p })));
    const all = await readTopic(t);
    const full = [0, 1].reduce((n, p) => n + Math.floor(all.filter((r) => r.partition === p).length / 100), 0);
    const second = await until('more objects', async () => {
      const o = await objects(b);
      return o.size >= full ? o : undefined;
    });
    const written = [...second.values()].flatMap(lines);
    const seen = new Set(written.map((l) => `${l.partition}:${l.offset}`));
    expect(seen.size).toBe(written.length);
    const covered = all.filter((r) => r.offset < Math.floor(all.filter((x) => x.partition === r.partition).length / 100) * 100);
    expect(written.length).toBe(covered.length);
    for (const r of covered) {
      const l = written.find((x) => x.partition === r.partition && x.offset === r.offset)!;
      expect(l.value).toBe(text(r.value));
      expect(l.key).toBe(text(r.key));
      expect(l.timestamp).toBe(r.timestamp);
      expect(l.headers).toEqual(r.headers.map((h) => ({ key: h.key, value: text(h.value) })));
    }
    // A rerun from offset 0: the same names, the same bytes, none added.
    await caughtUpOrPending(name);
    const reset = await api.post(`/floe/v1/connectors/${name}/offsets/reset`, { to: 'earliest' });
    expect(reset.status).toBe(200);
    const before = (await describeConnector(name)).records_written;
    await until('rerun', async () => (await describeConnector(name)).records_written >= before + covered.length || undefined);
    const third = await objects(b);
    expect([...third.keys()].sort()).toEqual([...second.keys()].sort());
    for (const [k, body] of third) expect(body.equals(second.get(k)!), k).toBe(true);
  });

  it('rotates by record time, and lays objects out by path.format of the first record time', async () => {
    const t = await topic(1);
    const b = await bucket();
    const name = randomTopic('s3');
    const base = Date.UTC(2026, 11, 1, 10, 58, 0);
    await create({ name, type: 's3-sink', topics: [t], config: { 's3.bucket.name': b, 'flush.size': 1000, 'rotate.interval.ms': 60_000, 'path.format': "'dt'=yyyy-MM-dd/'hour'=HH" } });
    // Records at 10:58:00, :30, 10:59:10 (a minute past the first: a new object), 11:00:05 (a new hour path), 11:00:20.
    const times = [0, 30_000, 70_000, 125_000, 140_000].map((d) => base + d);
    await produce(t, times.map((ts, i) => ({ key: enc(`k${i}`), value: enc(`v${i}`), timestamp: ts })));
    const o = await until('objects', async () => {
      const x = await objects(b);
      return x.size >= 2 ? x : undefined;
    });
    expect([...o.keys()].sort()).toEqual([`topics/${t}/dt=2026-12-01/hour=10/${t}+0+0000000000.json`, `topics/${t}/dt=2026-12-01/hour=10/${t}+0+0000000002.json`]);
    expect(lines(o.get(`topics/${t}/dt=2026-12-01/hour=10/${t}+0+0000000000.json`)!).map((l) => l.offset)).toEqual([0, 1]);
    // The 11:00 records wait for a later record (or a fuller object); none arrives here.
    expect((await describeConnector(name)).partitions[0]!.committed_offset).toBe(3);
  });

  it('writes Parquet that an independent reader reads back, with the JSON value fields of value.schema as columns', async () => {
    const t = await topic(1);
    const b = await bucket();
    const name = randomTopic('s3');
    const dlq = randomTopic('dlq');
    await create({
      name,
      type: 's3-sink',
      topics: [t],
      config: { 's3.bucket.name': b, 'flush.size': 4, 'format.class': 'io.confluent.connect.s3.format.parquet.ParquetFormat', 'value.converter': 'json', 'value.schema': { user: 'string', amount: 'double', count: 'int64', ok: 'boolean' } },
      'errors.tolerance': 'all',
      'errors.deadletterqueue.topic.name': dlq,
    });
    await produce(t, [
      { key: enc('a'), value: enc('{"user":"ada","amount":1.5,"count":3,"ok":true}'), headers: [{ key: 'h', value: enc('1') }], timestamp: 1000 },
      { key: enc('b'), value: enc('{"user":"bob"}'), timestamp: 2000 },
      { key: enc('c'), value: enc('{"user":7}'), timestamp: 3000 },
      { key: null, value: null, timestamp: 4000 },
      { key: enc('d'), value: enc('{"user":"dan","amount":-2,"count":9007199254740991,"ok":false}'), timestamp: 5000 },
    ]);
    const o = await until('object', async () => {
      const x = await objects(b);
      return x.size >= 1 ? x : undefined;
    });
    expect([...o.keys()]).toEqual([`topics/${t}/partition=0/${t}+0+0000000000.parquet`]);
    const buf = o.values().next().value!;
    const rows = await parquetReadObjects({ file: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer });
    expect(rows.map((r) => ({ ...r, timestamp: (r.timestamp as Date).getTime() }))).toEqual([
      { key: 'a', value: '{"user":"ada","amount":1.5,"count":3,"ok":true}', headers: '[{"key":"h","value":"1"}]', topic: t, partition: 0, offset: 0n, timestamp: 1000, user: 'ada', amount: 1.5, count: 3n, ok: true },
      { key: 'b', value: '{"user":"bob"}', headers: '[]', topic: t, partition: 0, offset: 1n, timestamp: 2000, user: 'bob', amount: null, count: null, ok: null },
      { key: null, value: null, headers: '[]', topic: t, partition: 0, offset: 3n, timestamp: 4000, user: null, amount: null, count: null, ok: null },
      { key: 'd', value: '{"user":"dan","amount":-2,"count":9007199254740991,"ok":false}', headers: '[]', topic: t, partition: 0, offset: 4n, timestamp: 5000, user: 'dan', amount: -2, count: 9007199254740991n, ok: false },
    ]);
    const letters = await until('letter', async () => {
      const r = await readTopic(dlq);
      return r.length > 0 ? r : undefined;
    });
    expect(letters.map((r) => text(r.key))).toEqual(['c']);
    expect(text(letters[0]!.headers.find((h) => h.key === CONNECT_ERROR_HEADERS.exceptionMessage)!.value)).toMatch(/field 'user'/);
  });
});

/** The S3 sink's lag never reaches 0 while an object is open: wait until its lanes rest. */
async function caughtUpOrPending(name: string) {
  await until(`connector ${name} at rest`, async () => {
    const a = await describeConnector(name);
    await new Promise((r) => setTimeout(r, 300));
    const b = await describeConnector(name);
    const at = (d: typeof a) => JSON.stringify(d.partitions.map((p) => p.committed_offset));
    return at(a) === at(b) || undefined;
  });
}

describe('connectors API', () => {
  it('lists, pauses, resumes, deletes, and answers bad input with a 4xx and a code', async () => {
    const t = await topic(1);
    const table = await userTable();
    const b = await bucket();
    const name = randomTopic('api');
    await create({ name, type: 'dynamodb-sink', topics: [t], config: { 'table.name': table } });
    const list = await api.get('/floe/v1/connectors');
    expect(list.body.connectors.map((c: { name: string }) => c.name)).toContain(name);
    expect((await api.get('/floe/v1/triggers')).body.triggers.map((x: { name: string }) => x.name)).not.toContain(`connector:${name}`);
    expect((await api.post(`/floe/v1/connectors/${name}/pause`)).body.state).toBe('PAUSED');
    await produce(t, [{ key: enc('p'), value: enc('{"x":1}') }]);
    await engine.dispatcher.sweep();
    expect(await scan(table)).toHaveLength(0);
    expect((await api.post(`/floe/v1/connectors/${name}/resume`)).body.state).toBe('RUNNING');
    await caughtUp(name);
    expect(await scan(table)).toHaveLength(1);

    const cases: Array<[Record<string, unknown>, number, number, RegExp]> = [
      [{ name, type: 'dynamodb-sink', topics: [t], config: { 'table.name': table } }, 409, 40910, /already exists/],
      [{ name: 'x1', type: 'kafka-sink', topics: [t], config: {} }, 400, 40002, /type must be/],
      [{ name: 'x1', type: 'dynamodb-sink', topics: [], config: { 'table.name': table } }, 400, 40002, /topics/],
      [{ name: 'x1', type: 'dynamodb-sink', topics: [t], config: { 'table.name': 'no-such-table' } }, 400, 40002, /does not exist/],
      [{ name: 'x1', type: 'dynamodb-sink', topics: [t], config: { 'table.name': table, 'key.attribute': 'pk' } }, 400, 40002, /not the partition key/],
      [{ name: 'x1', type: 'dynamodb-sink', topics: [t], config: { 'table.name': table, 'value.mapping': 'xml' } }, 400, 40002, /value.mapping/],
      [{ name: 'x1', type: 'dynamodb-sink', topics: [t], config: { 'table.name': table, bogus: 1 } }, 400, 40002, /unknown config 'bogus'/],
      [{ name: 'x1', type: 's3-sink', topics: [t], config: { 's3.bucket.name': 'no-such-bucket-x' } }, 400, 40002, /does not exist/],
      [{ name: 'x1', type: 's3-sink', topics: [t], config: { 's3.bucket.name': b, 'flush.size': 0 } }, 400, 40002, /flush.size/],
      [{ name: 'x1', type: 's3-sink', topics: [t], config: { 's3.bucket.name': b, 'path.format': 'year=yyyy' } }, 400, 40002, /quote literal/],
      [{ name: 'x1', type: 's3-sink', topics: [t], config: { 's3.bucket.name': b, 'format.class': 'avro' } }, 400, 40002, /format.class/],
      [{ name: 'x1', type: 's3-sink', topics: [t], config: { 's3.bucket.name': b, 'value.schema': { a: 'string' } } }, 400, 40002, /value.converter=json/],
      [{ name: 'x1', type: 's3-sink', topics: [t], config: { 's3.bucket.name': b }, 'errors.tolerance': 'some' }, 400, 40002, /errors.tolerance/],
      [{ name: 'x1', type: 's3-sink', topics: [t], config: { 's3.bucket.name': b }, 'errors.deadletterqueue.topic.name': t }, 400, 40002, /dead-letter topic/],
      [{ name: 'x1', type: 's3-sink', topics: ['no-such-topic-zz'], config: { 's3.bucket.name': b } }, 404, 40401, /not found/],
      [{ name: 'bad name!', type: 's3-sink', topics: [t], config: { 's3.bucket.name': b } }, 400, 40002, /connector name/],
      [{ name: 'x1', type: 's3-sink', topics: [t], config: { 's3.bucket.name': b }, extra: 1 }, 400, 40002, /unknown field 'extra'/],
    ];
    for (const [body, status, code, message] of cases) {
      const r = await api.post('/floe/v1/connectors', body);
      expect(r.status, JSON.stringify([body, r.body])).toBe(status);
      expect(r.body.error_code, JSON.stringify(r.body)).toBe(code);
      expect(r.body.message).toMatch(message);
    }
    expect((await api.get('/floe/v1/connectors/nope')).body.error_code).toBe(40408);
    expect((await api.patch(`/floe/v1/connectors/${name}`, { type: 's3-sink' })).status).toBe(400);
    expect((await api.post(`/floe/v1/connectors/${name}/offsets/reset`, { to: 'middle' })).status).toBe(400);
    expect((await api.delete(`/floe/v1/connectors/${name}`)).status).toBe(204);
    expect((await api.get(`/floe/v1/connectors/${name}`)).status).toBe(404);
    expect((await api.delete(`/floe/v1/connectors/${name}`)).status).toBe(404);
  });
});
