import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { countCalls } from './support/call-counter.ts';
import { randomTopic } from './support/env.ts';
import { b64, BINARY, JSON_V2, testApp, V2 } from './support/engine.ts';

const { api, engine } = testApp();

async function createTopic(name: string, partitions = 1, configs: Array<{ name: string; value: string }> = []) {
  const r = await api.post('/v3/clusters/floe/topics', { topic_name: name, partitions_count: partitions, configs });
  expect(r.status).toBe(201);
}

async function produce(topic: string, records: unknown[], type = BINARY, path = `/topics/${topic}`) {
  return api.post(path, { records }, { type });
}

async function read(topic: string, partition: number, offset: number, accept = BINARY, extra = '') {
  return api.get(`/topics/${topic}/partitions/${partition}/records?offset=${offset}${extra}`, { accept });
}

describe('produce and fetch', () => {
  it('reads every produced record back at its returned offset (binary)', async () => {
    const topic = randomTopic();
    await createTopic(topic, 3);
    const records = Array.from({ length: 30 }, (_, i) => ({ key: b64(`k${i % 7}`), value: b64(`v${i}`) }));
    const r = await produce(topic, records);
    expect(r.status).toBe(200);
    expect(r.body.key_schema_id).toBeNull();
    expect(r.body.offsets).toHaveLength(30);
    for (const [i, o] of r.body.offsets.entries()) {
      expect(o.error_code).toBeNull();
      expect(o.error).toBeNull();
      const got = await read(topic, o.partition, o.offset, BINARY, '&max_bytes=1');
      expect(got.status).toBe(200);
      expect(got.body[0]).toEqual({ topic, key: b64(`k${i % 7}`), value: b64(`v${i}`), partition: o.partition, offset: o.offset });
    }
  });

  it('stores json-format keys and values as their compact serialization and parses them back', async () => {
    const topic = randomTopic();
    const r = await produce(topic, [{ key: 'k', value: { a: [1, 2, { b: null }] } }, { value: 'plain' }, { key: 1 }], JSON_V2);
    expect(r.status).toBe(200);
    const got = await read(topic, 0, 0, JSON_V2);
    expect(got.body.map((x: any) => [x.key, x.value])).toEqual([
      ['k', { a: [1, 2, { b: null }] }],
      [null, 'plain'],
      [1, null],
    ]);
    // A string key "k" is 3 bytes on the log, quotes included.
    const n = (await api.get(`/floe/v1/topics/${topic}/partitions/0/records?offset=0`)).body;
    expect(Buffer.from(n.records[0].key, 'base64').toString()).toBe('"k"');
    expect(n.records[2].value).toBeNull();
  });

  it('makes one S3 PUT, one DynamoDB transaction and, per partition, one allocation and one high-watermark update for N records to P partitions', async () => {
    const topic = randomTopic();
    await createTopic(topic, 8);
    // Warm the topic cache and create every partition's head, then count only the produce.
    await produce(topic, Array.from({ length: 8 }, (_, p) => ({ value: b64('warm'), partition: p })));
    const counter = countCalls(engine.clients);
    counter.reset();
    const records = Array.from({ length: 200 }, (_, i) => ({ key: b64(`key-${i}`), value: b64(`value-${i}`) }));
    const r = await produce(topic, records);
    const snapshot = counter.snapshot();
    expect(r.status).toBe(200);
    expect(new Set(r.body.offsets.map((o: any) => o.partition)).size).toBe(8);
    // No read: allocations cannot lose a race, and with nobody else in flight each writer moves the
    // high watermark over its own range.
    expect(snapshot).toEqual({ 'dynamodb.UpdateItem': 16, 'dynamodb.TransactWriteItems': 1, 's3.PutObject': 1 });
    for (const [i, o] of r.body.offsets.entries()) {
      const got = await read(topic, o.partition, o.offset, BINARY, '&max_bytes=1');
      expect(got.body[0].value).toBe(b64(`value-${i}`));
    }
  });

  it('puts keys on the same partitions as the Java client (kafkajs default partitioner)', async () => {
    const require = createRequire(import.meta.url);
    const { Partitioners } = require('kafkajs');
    const partitioner = Partitioners.DefaultPartitioner();
    const topic = randomTopic();
    await createTopic(topic, 7);
    const keys = Array.from({ length: 300 }, (_, i) => `user-${i * 7919}`);
    const r = await produce(topic, keys.map((k) => ({ key: b64(k), value: b64('x') })));
    const metadata = { topic, partitionMetadata: Array.from({ length: 7 }, (_, p) => ({ partitionId: p, leader: 0 })) };
    keys.forEach((k, i) => {
      expect(r.body.offsets[i].partition).toBe(partitioner({ topic, partitionMetadata: metadata.partitionMetadata, message: { key: Buffer.from(k) } }));
    });
  });

  it('gives every record of concurrent producers on one partition a unique, contiguous offset', async () => {
    const topic = randomTopic();
    await createTopic(topic, 1);
    const producers = 8;
    const requests = 6;
    const perRequest = 5;
    const acked = new Map<number, string>();
    const perRequestOffsets: number[][] = [];
    await Promise.all(
      Array.from({ length: producers }, async (_, p) => {
        for (let q = 0; q < requests; q++) {
          const values = Array.from({ length: perRequest }, (_, i) => `p${p}-q${q}-r${i}`);
          const r = await produce(topic, values.map((v) => ({ value: b64(v) })));
          expect(r.status).toBe(200);
          perRequestOffsets.push(r.body.offsets.map((o: any) => o.offset));
          r.body.offsets.forEach((o: any, i: number) => {
            expect(acked.has(o.offset)).toBe(false);
            acked.set(o.offset, values[i]!);
          });
        }
      }),
    );
    const total = producers * requests * perRequest;
    expect([...acked.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i));
    const all: any[] = [];
    while (all.length < total) {
      const got = await read(topic, 0, all.length);
      expect(got.body.length).toBeGreaterThan(0);
      all.push(...got.body);
    }
    for (const rec of all) expect(Buffer.from(rec.value, 'base64').toString()).toBe(acked.get(rec.offset));
    // Each request's records are contiguous and in request order: one batch, never interleaved with another's.
    expect(perRequestOffsets).toHaveLength(producers * requests);
    for (const offsets of perRequestOffsets) expect(offsets).toEqual(Array.from({ length: perRequest }, (_, i) => offsets[0]! + i));
  });

  it('splits a request over more partitions than one transaction holds, and says so', async () => {
    const topic = randomTopic();
    await createTopic(topic, 120);
    const counter = countCalls(engine.clients);
    await produce(topic, [{ value: b64('warm'), partition: 0 }]);
    counter.reset();
    const r = await produce(topic, Array.from({ length: 120 }, (_, p) => ({ value: b64(`to-${p}`), partition: p })));
    expect(r.status).toBe(200);
    expect(Number(r.headers.get('floe-transactions'))).toBe(3);
    expect(counter.get('s3.PutObject')).toBe(1);
    expect(counter.get('dynamodb.TransactWriteItems')).toBe(3);
    for (let p = 0; p < 120; p += 17) {
      const o = r.body.offsets[p];
      expect(o.partition).toBe(p);
      const got = await read(topic, p, o.offset);
      expect(got.body[0].value).toBe(b64(`to-${p}`));
    }
  });

  it('sends every record of a partition produce to that partition', async () => {
    const topic = randomTopic();
    await createTopic(topic, 4);
    const r = await produce(topic, [{ key: b64('a'), value: b64('1') }, { value: b64('2') }], BINARY, `/topics/${topic}/partitions/2`);
    expect(r.body.offsets.map((o: any) => [o.partition, o.offset])).toEqual([[2, 0], [2, 1]]);
  });

  it('splits a partition batch that would pass max.message.bytes, and refuses a record that alone does', async () => {
    const topic = randomTopic();
    await createTopic(topic, 1, [{ name: 'max.message.bytes', value: '2000' }]);
    const big = b64('x'.repeat(900));
    const r = await produce(topic, [{ value: big }, { value: big }, { value: big }, { value: big }]);
    expect(r.status).toBe(200);
    expect(r.body.offsets.map((o: any) => o.offset)).toEqual([0, 1, 2, 3]);
    const all = await read(topic, 0, 0);
    expect(all.body).toHaveLength(4);
    const tooBig = await produce(topic, [{ value: b64('y') }, { value: b64('x'.repeat(3000)) }]);
    expect(tooBig.status).toBe(422);
    expect(tooBig.body.error_code).toBe(422);
    expect(tooBig.body.message).toMatch(/max\.message\.bytes/);
    expect((await api.get(`/topics/${topic}/partitions/0/offsets`)).body).toEqual({ beginning_offset: 0, end_offset: 4 });
  });

  it('stores gzip-compressed batches for a topic with compression.type=gzip, and reads them back', async () => {
    const topic = randomTopic();
    await createTopic(topic, 1, [{ name: 'compression.type', value: 'gzip' }]);
    const values = Array.from({ length: 50 }, (_, i) => b64(`compressible ${'z'.repeat(200)} ${i}`));
    const r = await produce(topic, values.map((value) => ({ value })));
    expect(r.status).toBe(200);
    const got = await read(topic, 0, 0);
    expect(got.body.map((x: any) => x.value)).toEqual(values);
    // The stored batch is gzip (attributes bits 0-2 = 1) and much smaller than the raw values.
    const { objectKey } = (await engine.producer.produce(topic, values.map((v) => ({ key: null, value: Buffer.from(v, 'base64') })))) as any;
    const stored = await engine.bucket.getRange(objectKey, 0, 61);
    expect(stored.readInt16BE(21) & 0x07).toBe(1);
    expect(stored.readInt32BE(8) + 12).toBeLessThan(50 * 200 / 4);
  });

  it('creates a missing topic on first produce, with one partition', async () => {
    const topic = randomTopic();
    expect((await produce(topic, [{ value: b64('x') }])).status).toBe(200);
    const { body } = await api.get(`/topics/${topic}`);
    expect(body.name).toBe(topic);
    expect(body.partitions).toEqual([{ partition: 0, leader: 0, replicas: [{ broker: 0, leader: true, in_sync: true }] }]);
    expect(body.configs['cleanup.policy']).toBe('delete');
  });

  it('refuses to produce to a missing topic when auto-creation is off', async () => {
    const { api: strict } = testApp({ FLOE_AUTO_CREATE_TOPICS: 'false' });
    const topic = randomTopic();
    const r = await strict.post(`/topics/${topic}`, { records: [{ value: b64('x') }] }, { type: BINARY });
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ error_code: 40401, message: `Topic '${topic}' not found.` });
  });
});

describe('fetch', () => {
  it('answers OFFSET_OUT_OF_RANGE above the high watermark, and empty at it', async () => {
    const topic = randomTopic();
    await produce(topic, [{ value: b64('a') }, { value: b64('b') }]);
    const above = await read(topic, 0, 3);
    expect(above.status).toBe(416);
    expect(above.body.message).toMatch(/OFFSET_OUT_OF_RANGE/);
    const at = await read(topic, 0, 2);
    expect(at.status).toBe(200);
    expect(at.body).toEqual([]);
  });

  it('returns records from inside a batch, not only from its start', async () => {
    const topic = randomTopic();
    await produce(topic, ['a', 'b', 'c', 'd'].map((v) => ({ value: b64(v) })));
    const got = await read(topic, 0, 2);
    expect(got.body.map((r: any) => [r.offset, Buffer.from(r.value, 'base64').toString()])).toEqual([[2, 'c'], [3, 'd']]);
  });

  it('long-polls at the high watermark until a record arrives', async () => {
    const topic = randomTopic();
    await produce(topic, [{ value: b64('first') }]);
    const started = Date.now();
    const pending = read(topic, 0, 1, BINARY, '&timeout=5000');
    await new Promise((r) => setTimeout(r, 300));
    await produce(topic, [{ value: b64('second') }]);
    const got = await pending;
    expect(got.body.map((r: any) => r.offset)).toEqual([1]);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('waits up to the timeout and answers empty when nothing arrives', async () => {
    const topic = randomTopic();
    await produce(topic, [{ value: b64('only') }]);
    const started = Date.now();
    const got = await read(topic, 0, 1, BINARY, '&timeout=400');
    expect(got.body).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
  });

  it('caps key and value bytes with max_bytes but always returns at least one record', async () => {
    const topic = randomTopic();
    await produce(topic, Array.from({ length: 10 }, () => ({ value: b64('x'.repeat(100)) })));
    expect((await read(topic, 0, 0, BINARY, '&max_bytes=250')).body).toHaveLength(2);
    expect((await read(topic, 0, 0, BINARY, '&max_bytes=1')).body).toHaveLength(1);
  });

  it('clamps max_bytes to the largest answer a function may send, on every read path', async () => {
    const { api: capped } = testApp({ FLOE_MAX_FETCH_BYTES: '2048' });
    const topic = randomTopic();
    await produce(topic, Array.from({ length: 10 }, () => ({ value: b64('x'.repeat(1000)) })));
    const v2 = (await capped.get(`/topics/${topic}/partitions/0/records?offset=0&max_bytes=1000000`, { accept: BINARY })).body as unknown[];
    expect(v2).toHaveLength(2);
    const native = (await capped.get(`/floe/v1/topics/${topic}/partitions/0/records?offset=0&max_bytes=1000000`)).body as { records: unknown[]; next_offset: number };
    expect([native.records.length, native.next_offset]).toEqual([2, 2]);
    const group = randomTopic('g');
    await capped.post(`/consumers/${group}`, { name: 'c', format: 'binary', 'auto.offset.reset': 'earliest' }, { type: V2 });
    await capped.post(`/consumers/${group}/instances/c/assignments`, { partitions: [{ topic, partition: 0 }] }, { type: V2 });
    const consumed = (await capped.get(`/consumers/${group}/instances/c/records?max_bytes=1000000`, { accept: BINARY })).body as unknown[];
    expect(consumed.length).toBeGreaterThan(0);
    expect(consumed.length).toBeLessThanOrEqual(3);
  });

  it('caps a consumer\'s wait at the longest a fetch may wait, whatever the instance asks', async () => {
    const { api: quick } = testApp({ FLOE_MAX_FETCH_WAIT_MS: '300' });
    const topic = randomTopic();
    await produce(topic, [{ value: b64('x') }]);
    const group = randomTopic('g');
    await quick.post(`/consumers/${group}`, { name: 'c', format: 'binary', 'auto.offset.reset': 'latest', 'consumer.request.timeout.ms': 30000 }, { type: V2 });
    await quick.post(`/consumers/${group}/instances/c/assignments`, { partitions: [{ topic, partition: 0 }] }, { type: V2 });
    const started = Date.now();
    const r = await quick.get(`/consumers/${group}/instances/c/records?timeout=30000`, { accept: BINARY });
    expect(r.body).toEqual([]);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('reads across many requests\' objects with a bounded number of index items', async () => {
    const topic = randomTopic();
    for (let i = 0; i < 5; i++) await produce(topic, [{ value: b64(`a${i}`) }, { value: b64(`b${i}`) }]);
    const got = await read(topic, 0, 3);
    expect(got.body.map((r: any) => r.offset)).toEqual([3, 4, 5, 6, 7, 8, 9]);
  });

  it('finds the first offset at or after a timestamp with the time index', async () => {
    const topic = randomTopic();
    const r = await api.post(
      `/v3/clusters/floe/topics/${topic}/records`,
      [1000, 2000, 2000, 3000, 5000].map((ts, i) => JSON.stringify({ value: { type: 'STRING', data: `at-${ts}-${i}` }, timestamp: ts })).join('\n'),
      { raw: true },
    );
    expect(r.status).toBe(200);
    const at = async (ts: number | string) => (await api.get(`/floe/v1/topics/${topic}/partitions/0/offsets?timestamp=${ts}`)).body.offset;
    expect(await at(0)).toBe(0);
    expect(await at(1500)).toBe(1);
    expect(await at(2000)).toBe(1);
    expect(await at(4000)).toBe(4);
    expect(await at(9000)).toBeNull(); // no record that recent: Kafka's -1
    expect(await at(-1)).toBe(5); // Kafka's LATEST_TIMESTAMP: the high watermark
    expect(await at(-2)).toBe(0); // EARLIEST_TIMESTAMP: the log start
    expect((await api.get(`/floe/v1/topics/${topic}/partitions/0/offsets?timestamp=-3`)).status).toBe(400);
    const fromTime = (await api.get(`/floe/v1/topics/${topic}/partitions/0/records?timestamp=2500`)).body;
    expect(fromTime.records.map((x: any) => x.offset)).toEqual([3, 4]);
    // Reading from a time later than every record starts at the high watermark, where the next one lands.
    const fromLater = (await api.get(`/floe/v1/topics/${topic}/partitions/0/records?timestamp=9000`)).body;
    expect([fromLater.next_offset, fromLater.records]).toEqual([5, []]);
  });

  it('reports headers, timestamps, the high watermark and the log start offset natively', async () => {
    const topic = randomTopic();
    const r = await api.post(`/v3/clusters/floe/topics/${topic}/records`, {
      key: { type: 'STRING', data: 'k' },
      value: { type: 'JSON', data: { n: 1 } },
      headers: [{ name: 'trace', value: b64('abc') }, { name: 'empty', value: null }],
      timestamp: '2026-01-02T03:04:05.678Z',
    });
    expect(r.status).toBe(200);
    const report = r.body;
    expect(report).toMatchObject({ error_code: 200, cluster_id: 'floe', topic_name: topic, partition_id: 0, offset: 0, timestamp: '2026-01-02T03:04:05.678Z' });
    const got = (await api.get(`/floe/v1/topics/${topic}/partitions/0/records?offset=earliest`)).body;
    expect(got).toMatchObject({ topic, partition: 0, high_watermark: 1, log_start_offset: 0, next_offset: 1 });
    expect(got.records[0]).toEqual({
      offset: 0,
      timestamp: Date.parse('2026-01-02T03:04:05.678Z'),
      key: b64('k'),
      value: b64('{"n":1}'),
      headers: [{ key: 'trace', value: b64('abc') }, { key: 'empty', value: null }],
    });
  });
});

describe('stored data integrity', () => {
  it('refuses to serve a batch whose bytes changed in storage (CRC), with a storage error', async () => {
    const topic = randomTopic('corrupt');
    const { objectKey } = await engine.producer.produce(topic, [{ key: null, value: Buffer.from('precious') }]);
    const { GetObjectCommand, PutObjectCommand } = await import('@aws-sdk/client-s3');
    const got = await engine.clients.s3.send(new GetObjectCommand({ Bucket: engine.config.bucket, Key: objectKey }));
    const whole = Buffer.from(await got.Body!.transformToByteArray());
    whole[whole.length - 2] = whole[whole.length - 2]! ^ 0xff;
    // The emulator lets an object be replaced (S3 refuses the If-None-Match PUT Floe uses).
    await engine.clients.s3.send(new PutObjectCommand({ Bucket: engine.config.bucket, Key: objectKey, Body: whole }));
    const { api: fresh } = testApp();
    const r = await fresh.get(`/topics/${topic}/partitions/0/records?offset=0`, { accept: BINARY });
    expect(r.status).toBe(500);
    const body = r.body;
    expect(body.error_code).toBe(50002);
    expect(body.message).toMatch(/CRC/);
  });
});

describe('topic metadata', () => {
  it('lists topics, describes partitions and reports offsets and brokers', async () => {
    const topic = randomTopic();
    await createTopic(topic, 2);
    expect((await api.get('/topics')).body).toContain(topic);
    const parts = await api.get(`/topics/${topic}/partitions`, { accept: V2 });
    expect(parts.headers.get('content-type')).toBe(V2);
    expect((parts.body as any[]).map((p) => p.partition)).toEqual([0, 1]);
    expect((await api.get(`/topics/${topic}/partitions/1`)).body).toEqual({ partition: 1, leader: 0, replicas: [{ broker: 0, leader: true, in_sync: true }] });
    expect((await api.get(`/topics/${topic}/partitions/1/offsets`)).body).toEqual({ beginning_offset: 0, end_offset: 0 });
    expect((await api.get('/brokers')).body).toEqual({ brokers: [0] });
  });
});
