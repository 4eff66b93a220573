import { afterAll, describe, expect, it } from 'vitest';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { Floe } from '../packages/client/src/index.ts';
import { createApp } from '../src/api/app.ts';
import { createEngine } from '../src/engine/engine.ts';
import { partitionForKey } from '../src/log/partitioner.ts';
import { tableTriggerName } from '../src/model/table.ts';
import { ownTriggersTable, randomTopic, testClients, testConfig } from './support/env.ts';
import { appClient, readInProcessBody } from './support/http.ts';

// The local runtime's engine: the dispatcher woken by this process's commits and, as `npm start` does
// with a timer, by a sweep (here every 200 ms). A triggers table of its own: the sweep delivers every
// trigger of its table, tables' internal ones included.
const config = testConfig(await ownTriggersTable());
const engine = createEngine(config, testClients(config), { local: true, triggerLog: () => undefined });
const app = createApp(engine, { readBody: readInProcessBody });
const api = appClient(app);
const sweeper = setInterval(() => void engine.dispatcher.sweep({ wait: false }).catch(() => undefined), 200);
afterAll(async () => {
  clearInterval(sweeper);
  await engine.dispatcher.stop();
});

const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64');
const text = (v: string | null) => (v === null ? null : Buffer.from(v, 'base64').toString());

async function topic(partitions: number, configs: Record<string, string> = { 'cleanup.policy': 'compact' }): Promise<string> {
  const name = randomTopic();
  await engine.topics.create({ name, partitions, configs });
  return name;
}

/** Produces through the native API; values null are tombstones. Answers each record's partition and offset. */
async function produce(t: string, records: Array<{ key: string | Uint8Array; value: string | Uint8Array | null; partition?: number }>) {
  const r = await api.post(`/floe/v1/topics/${t}/records`, { records: records.map((x) => ({ key: b64(x.key), value: x.value === null ? null : b64(x.value), ...(x.partition !== undefined ? { partition: x.partition } : {}) })) });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.records as Array<{ partition: number; offset: number }>;
}

async function createTable(name: string, t: string) {
  const r = await api.post('/floe/v1/tables', { name, topic: t });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body;
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function describeTable(name: string) {
  const r = await api.get(`/floe/v1/tables/${name}`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body as { name: string; topic: string; lag: number; partitions: Array<{ partition: number; applied_offset: number; high_watermark: number; lag: number }> };
}

const caughtUp = (name: string) => until(`table ${name} caught up`, async () => (await describeTable(name)).lag === 0 || undefined);

const getKey = (name: string, key: string, query = '') => api.get(`/floe/v1/tables/${name}/keys/${encodeURIComponent(key)}${query}`);

/** Every live key of a listing, page by page. */
async function listAll(name: string, query: string): Promise<Array<{ key: string; value: string; partition: number }>> {
  const out: Array<{ key: string; value: string; partition: number }> = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 1000; pages++) {
    const r = await api.get(`/floe/v1/tables/${name}/keys?${query}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    out.push(...r.body.entries.map((e: { key: string; value: string; partition: number }) => ({ key: text(e.key)!, value: text(e.value)!, partition: e.partition })));
    cursor = r.body.cursor;
    if (!cursor) return out;
  }
  throw new Error('listing never ended');
}

describe('tables', () => {
  it('ends equal to the topic\'s latest value per key, with updates and tombstones; a deleted or absent key is 404', async () => {
    const t = await topic(3);
    const name = `tb-${t}`;
    const created = await createTable(name, t);
    expect(created).toMatchObject({ name, topic: t, state: 'active' });
    const latest = new Map<string, string | null>();
    for (let round = 0; round < 4; round++) {
      const records = [...Array(30).keys()].map((i) => {
        const key = `k${i}`;
        // Every fifth key is deleted in round 2, and some come back in round 3.
        const value = round === 2 && i % 5 === 0 ? null : `v${round}-${i}`;
        if (round === 3 && i % 5 === 0 && i % 10 !== 0) return null;
        return { key, value };
      }).filter((r) => r !== null);
      for (const r of records) latest.set(r.key, r.value);
      await produce(t, records);
    }
    await caughtUp(name);
    for (const [key, value] of latest) {
      const r = await getKey(name, key);
      if (value === null) {
        expect(r.status, key).toBe(404);
        expect(r.body.error_code).toBe(40407);
        continue;
      }
      expect(r.status, key).toBe(200);
      expect(text(r.body.value)).toBe(value);
      expect(r.body.key).toBe(b64(key));
      expect(r.body.partition).toBe(partitionForKey(Buffer.from(key), 3));
      expect(r.body.offset).toEqual(expect.any(Number));
      expect(r.body.timestamp).toBeGreaterThan(Date.now() - 60_000);
    }
    expect((await getKey(name, 'never-written')).status).toBe(404);
    // Given the wrong partition, the key is not there.
    const p = partitionForKey(Buffer.from('k1'), 3);
    expect((await getKey(name, 'k1', `?partition=${(p + 1) % 3}`)).status).toBe(404);
    expect((await getKey(name, 'k1', `?partition=${p}`)).status).toBe(200);
    // A key with a slash and non-ASCII characters in the path, and a key that is no UTF-8 at all.
    await produce(t, [{ key: 'a/b é', value: 'slash' }, { key: new Uint8Array([0xff, 0x00, 0x41]), value: 'bytes' }]);
    await caughtUp(name);
    expect(text((await getKey(name, 'a/b é')).body.value)).toBe('slash');
    expect(text((await api.get(`/floe/v1/tables/${name}/keys/%FF%00A`)).body.value)).toBe('bytes');
    // A key in base64 reads the same entry.
    expect(text((await api.get(`/floe/v1/tables/${name}/keys/${encodeURIComponent(b64('k1'))}?key_format=base64`)).body.value)).toBe('v3-1');
    // The table's trigger is internal: not listed among the triggers, and not reachable by its name.
    expect((await api.get('/floe/v1/triggers')).body.triggers.map((x: { name: string }) => x.name)).not.toContain(tableTriggerName(name));
    expect((await api.get(`/floe/v1/triggers/${encodeURIComponent(tableTriggerName(name))}`)).status).toBe(400);
    expect((await api.get('/floe/v1/tables')).body.tables).toContainEqual(expect.objectContaining({ name, topic: t }));
  });

  it('never shows an older value while the topic is replayed from its start, and a tombstone keeps the key deleted', async () => {
    const t = await topic(2);
    const name = `tb-${t}`;
    const keys = ['a', 'b', 'c', 'd'];
    // Many versions of few keys, so the replay takes a while and passes every old version.
    for (let round = 0; round < 15; round++) await produce(t, [...Array(100).keys()].map((i) => ({ key: keys[i % 4]!, value: `${round}-${i}` })));
    await produce(t, [{ key: 'd', value: null }]);
    await createTable(name, t);
    await caughtUp(name);
    const expected = new Map([['a', '14-96'], ['b', '14-97'], ['c', '14-98']]);
    const check = async () => {
      for (const [k, v] of expected) expect(text((await getKey(name, k)).body.value), k).toBe(v);
      expect((await getKey(name, 'd')).status).toBe(404);
    };
    await check();
    const positions = await engine.tables.replay(name);
    expect(positions.every((x) => x.offset === 0)).toBe(true);
    // While the replay runs (its applied offsets start again from 0), every read shows the latest.
    let sawReplay = false;
    await until('the replay to finish', async () => {
      const d = await describeTable(name);
      if (d.lag > 0) sawReplay = true;
      await check();
      return d.lag === 0 || undefined;
    });
    expect(sawReplay).toBe(true);
    await check();
  });

  it('takes a late write of an older record (a retried batch landing after a newer one) as already applied', async () => {
    const { TableWriter } = await import('../src/tables/writer.ts');
    const { TablesTable } = await import('../src/storage/tables-table.ts');
    const t = await topic(1);
    const name = `tb-${t}`;
    await createTable(name, t);
    await produce(t, [{ key: 'k', value: 'new' }]);
    await caughtUp(name);
    const table = new TablesTable(engine.clients, config.tables.tables);
    const def = (await table.getDef(name))!;
    const writer = new TableWriter({ tables: table, topics: engine.topics });
    const target = { type: 'table' as const, table: name, id: def.id, timeoutMs: 10_000 };
    const record = (value: string | null, offset: number) => ({ topic: t, partition: 0, offset, timestamp: Date.now(), key: Buffer.from('k'), value: value === null ? null : Buffer.from(value), headers: [] });
    // Offset 0 holds "new" already: an older version at the same offset, and a tombstone there, change nothing.
    expect(await writer.write(target, [record('old', 0)])).toEqual({ ok: true, answer: undefined });
    expect(await writer.write(target, [record(null, 0)])).toEqual({ ok: true, answer: undefined });
    expect(text((await getKey(name, 'k')).body.value)).toBe('new');
    // The latest record of a batch per key wins; a tombstone leaves a marker with a TTL of delete.retention.ms.
    expect(await writer.write(target, [record('a', 5), record(null, 6), record('b', 3)])).toEqual({ ok: true, answer: undefined });
    expect((await getKey(name, 'k')).status).toBe(404);
    const marker = (await table.get(def.id, 0, Buffer.from('k')))!;
    expect(marker).toMatchObject({ deleted: true, offset: 6, value: null });
    const raw = await engine.clients.ddb.send(new QueryCommand({ TableName: config.tables.tables, KeyConditionExpression: 'p = :p', ExpressionAttributeValues: { ':p': `${def.id}#0` } }));
    const ttl = Number(raw.Items![0]!.ttl);
    expect(Math.abs(ttl - (Date.now() + 24 * 3600 * 1000) / 1000)).toBeLessThan(60);
    expect(await writer.write(target, [record('back', 5)])).toEqual({ ok: true, answer: undefined });
    expect((await getKey(name, 'k')).status).toBe(404);
  });

  it('answers a read with min_offset only once the table applied it, else 503 with Retry-After', async () => {
    const t = await topic(1);
    const name = `tb-${t}`;
    await createTable(name, t);
    const [first] = await produce(t, [{ key: 'x', value: 'one' }]);
    await caughtUp(name);
    const far = await getKey(name, 'x', `?min_offset=${first!.offset + 100}`);
    expect(far.status).toBe(503);
    expect(far.body.error_code).toBe(50301);
    expect(far.headers.get('retry-after')).toBe('1');
    expect(far.body.message).toContain(`up to offset ${first!.offset + 1}`);
    expect(far.body.message).toContain(`min_offset ${first!.offset + 100}`);
    const lookupFar = await api.post(`/floe/v1/tables/${name}/partitions/0/lookup`, { keys: [b64('x')], min_offset: first!.offset + 100 });
    expect(lookupFar.status).toBe(503);
    // Written by another engine (no wake-up of this dispatcher: only its sweep finds it): every answer is
    // either "not yet" or the new value, never the old one.
    const other = createEngine(config, testClients(config));
    const r = await other.producer.produce(t, [{ key: Buffer.from('x'), value: Buffer.from('two') }]);
    const offset = (r.records[0] as { offset: number }).offset;
    const answers = new Set<number>();
    await until('the write applied', async () => {
      const g = await getKey(name, 'x', `?min_offset=${offset + 1}`);
      answers.add(g.status);
      if (g.status === 503) return undefined;
      expect(g.status).toBe(200);
      expect(text(g.body.value)).toBe('two');
      return true;
    });
    const l = await api.post(`/floe/v1/tables/${name}/partitions/0/lookup`, { keys: [b64('x')], min_offset: offset + 1 });
    expect(l.status).toBe(200);
    expect(l.body.applied_offset).toBeGreaterThanOrEqual(offset + 1);
    expect(text(l.body.entries[0].value)).toBe('two');
    expect([...answers].every((s) => s === 200 || s === 503)).toBe(true);
  });

  it('lists keys by prefix over every partition, each once across pages, delete markers left out', async () => {
    const t = await topic(3);
    const name = `tb-${t}`;
    await createTable(name, t);
    const users = [...Array(57).keys()].map((i) => `user/${String(i).padStart(3, '0')}`);
    await produce(t, [...users.map((k) => ({ key: k, value: `u-${k}` })), ...[...Array(20).keys()].map((i) => ({ key: `order/${i}`, value: 'o' }))]);
    await produce(t, users.filter((_, i) => i % 7 === 0).map((k) => ({ key: k, value: null })));
    await caughtUp(name);
    const live = users.filter((_, i) => i % 7 !== 0);
    const got = await listAll(name, `prefix=user%2F&limit=7`);
    expect(got.map((e) => e.key).sort()).toEqual(live);
    expect(new Set(got.map((e) => e.key)).size).toBe(got.length);
    for (const e of got) {
      expect(e.value).toBe(`u-${e.key}`);
      expect(e.partition).toBe(partitionForKey(Buffer.from(e.key), 3));
    }
    // Partition by partition, each in key byte order.
    const parts = got.map((e) => e.partition);
    expect(parts).toEqual([...parts].sort());
    for (let p = 0; p < 3; p++) {
      const ks = got.filter((e) => e.partition === p).map((e) => e.key);
      expect(ks).toEqual([...ks].sort());
    }
    expect((await listAll(name, `prefix=${b64('order/')}&key_format=base64&limit=1000`)).length).toBe(20);
    expect((await listAll(name, 'limit=3')).length).toBe(live.length + 20);
  });

  it('answers lookups in the order asked and ranges from <= key < to, in the shapes the streams runtime reads', async () => {
    const t = await topic(1);
    const name = `tb-${t}`;
    await createTable(name, t);
    const written = await produce(t, ['a', 'b', 'c', 'd', 'e'].map((k) => ({ key: k, value: `v${k}` })));
    const gone = await produce(t, [{ key: 'c', value: null }]);
    await caughtUp(name);
    const l = await api.post(`/floe/v1/tables/${name}/partitions/0/lookup`, { keys: [b64('b'), b64('zz'), b64('c'), b64('b'), ''] });
    expect(l.status, JSON.stringify(l.body)).toBe(200);
    expect(l.body).toEqual({
      applied_offset: gone[0]!.offset + 1,
      entries: [
        { key: b64('b'), value: b64('vb'), offset: written[1]!.offset, timestamp: expect.any(Number) },
        { key: b64('zz'), value: null, offset: null, timestamp: null },
        { key: b64('c'), value: null, offset: gone[0]!.offset, timestamp: expect.any(Number) },
        { key: b64('b'), value: b64('vb'), offset: written[1]!.offset, timestamp: expect.any(Number) },
        { key: '', value: null, offset: null, timestamp: null },
      ],
    });
    expect((await api.post(`/floe/v1/tables/${name}/partitions/0/lookup`, { keys: [] })).body).toEqual({ applied_offset: gone[0]!.offset + 1, entries: [] });
    const range = await api.get(`/floe/v1/tables/${name}/partitions/0/range?from=${b64('b')}&to=${b64('e')}`);
    expect(range.body).toEqual({ applied_offset: gone[0]!.offset + 1, entries: [{ key: b64('b'), value: b64('vb'), offset: written[1]!.offset, timestamp: expect.any(Number) }, { key: b64('d'), value: b64('vd'), offset: written[3]!.offset, timestamp: expect.any(Number) }], cursor: null });
    // Paged, open-ended.
    const keys: string[] = [];
    let cursor: string | null = null;
    do {
      const r = await api.get(`/floe/v1/tables/${name}/partitions/0/range?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.entries.length).toBeLessThanOrEqual(2);
      keys.push(...r.body.entries.map((e: { key: string }) => text(e.key)));
      cursor = r.body.cursor;
    } while (cursor);
    expect(keys).toEqual(['a', 'b', 'd', 'e']);
    expect((await api.get(`/floe/v1/tables/${name}/partitions/0/range?to=${b64('b')}`)).body.entries.map((e: { key: string }) => text(e.key))).toEqual(['a']);
    expect((await api.get(`/floe/v1/tables/${name}/partitions/0/range?from=${b64('d')}`)).body.entries.map((e: { key: string }) => text(e.key))).toEqual(['d', 'e']);
    expect((await api.get(`/floe/v1/tables/${name}/partitions/0/range?from=${b64('e')}&to=${b64('b')}`)).body.entries).toEqual([]);
  });

  it('keeps keys over 1,023 bytes (hashed), the empty key, and a value too large for an item as its size', async () => {
    const t = await topic(1, { 'cleanup.policy': 'compact', 'max.message.bytes': String(2 * 1024 * 1024) });
    const name = `tb-${t}`;
    await createTable(name, t);
    const long1 = new Uint8Array(3000).fill(0x61);
    const long2 = new Uint8Array(3000).fill(0x61);
    long2[2999] = 0x62;
    const big = 'x'.repeat(450 * 1024);
    const [w1, , , w4] = await produce(t, [
      { key: long1, value: 'one' },
      { key: long2, value: 'two' },
      { key: new Uint8Array(0), value: 'empty' },
      { key: 'big', value: big },
    ]);
    await caughtUp(name);
    const l = await api.post(`/floe/v1/tables/${name}/partitions/0/lookup`, { keys: [b64(long1), b64(long2), ''] });
    expect(l.body.entries.map((e: { value: string }) => text(e.value))).toEqual(['one', 'two', 'empty']);
    expect(l.body.entries[0]).toMatchObject({ key: b64(long1), offset: w1!.offset });
    const g = await api.get(`/floe/v1/tables/${name}/keys/${encodeURIComponent(b64(long2))}?key_format=base64`);
    expect(text(g.body.value)).toBe('two');
    expect(g.body.key).toBe(b64(long2));
    const listed = (await api.get(`/floe/v1/tables/${name}/keys?prefix=aaa`)).body.entries;
    expect(listed.map((e: { key: string }) => e.key).sort()).toEqual([b64(long1), b64(long2)].sort());
    const b = await getKey(name, 'big');
    expect(b.status).toBe(200);
    expect(b.body).toMatchObject({ value: null, value_too_large: big.length, offset: w4!.offset });
  });

  it('describes each partition\'s applied offset and lag', async () => {
    const t = await topic(2);
    await produce(t, [{ key: 'a', value: '1', partition: 0 }, { key: 'b', value: '2', partition: 0 }, { key: 'c', value: '3', partition: 1 }]);
    // Made through an engine with no dispatcher and a triggers table of its own: nothing applies it.
    const idleConfig = testConfig(await ownTriggersTable());
    const idle = appClient(createApp(createEngine(idleConfig, testClients(idleConfig)), { readBody: readInProcessBody }));
    const name = `tb-${t}`;
    expect((await idle.post('/floe/v1/tables', { name, topic: t })).status).toBe(201);
    const before = (await idle.get(`/floe/v1/tables/${name}`)).body;
    expect(before.partitions).toEqual([
      { partition: 0, applied_offset: 0, high_watermark: 2, lag: 2 },
      { partition: 1, applied_offset: 0, high_watermark: 1, lag: 1 },
    ]);
    expect(before.lag).toBe(3);
    expect((await idle.get(`/floe/v1/tables/${name}/keys/a?min_offset=1`)).status).toBe(503);
    expect((await idle.get(`/floe/v1/tables/${name}/keys/a`)).status).toBe(404);
    expect((await idle.delete(`/floe/v1/tables/${name}`)).status).toBe(204);

    const live = `tb2-${t}`;
    await createTable(live, t);
    await caughtUp(live);
    expect((await describeTable(live)).partitions).toEqual([
      { partition: 0, applied_offset: 2, high_watermark: 2, lag: 0 },
      { partition: 1, applied_offset: 1, high_watermark: 1, lag: 0 },
    ]);
  });

  it('deletes a table with its entries; one re-created on the name starts from the topic\'s start', async () => {
    const t = await topic(2);
    const name = `tb-${t}`;
    await createTable(name, t);
    await produce(t, [...Array(40).keys()].map((i) => ({ key: `k${i}`, value: `v${i}` })));
    await caughtUp(name);
    const def = (await engine.tables.list()).find((x) => x.name === name)!;
    expect(def).toBeDefined();
    const { TablesTable } = await import('../src/storage/tables-table.ts');
    const table = new TablesTable(engine.clients, config.tables.tables);
    const id = (await table.getDef(name))!.id;
    expect((await api.delete(`/floe/v1/tables/${name}`)).status).toBe(204);
    expect((await getKey(name, 'k1')).status).toBe(404);
    expect((await getKey(name, 'k1')).body.error_code).toBe(40406);
    expect((await api.get(`/floe/v1/tables/${name}`)).status).toBe(404);
    expect((await api.delete(`/floe/v1/tables/${name}`)).status).toBe(404);
    expect((await api.get('/floe/v1/tables')).body.tables.map((x: { name: string }) => x.name)).not.toContain(name);
    for (const p of [0, 1]) {
      const left = await engine.clients.ddb.send(new QueryCommand({ TableName: config.tables.tables, KeyConditionExpression: 'p = :p', ExpressionAttributeValues: { ':p': `${id}#${p}` } }));
      expect(left.Items ?? []).toEqual([]);
    }
    await createTable(name, t);
    await caughtUp(name);
    expect((await listAll(name, 'limit=1000')).length).toBe(40);
    expect(text((await getKey(name, 'k7')).body.value)).toBe('v7');
  });

  it('refuses bad input with a 4xx, an error code and a message', async () => {
    const t = await topic(2);
    const name = `tb-${t}`;
    await createTable(name, t);
    await produce(t, [{ key: 'a', value: '1' }]);
    const cases: Array<[string, string, unknown, number, number]> = [
      ['POST', '/floe/v1/tables', { name, topic: t }, 409, 40909],
      ['POST', '/floe/v1/tables', { name: 'a/b', topic: t }, 400, 40002],
      ['POST', '/floe/v1/tables', { name: '..', topic: t }, 400, 40002],
      ['POST', '/floe/v1/tables', { name: 'x'.repeat(250), topic: t }, 400, 40002],
      ['POST', '/floe/v1/tables', { name: 5, topic: t }, 400, 40002],
      ['POST', '/floe/v1/tables', { name: `n-${t}`, topic: randomTopic('none') }, 404, 40401],
      ['POST', '/floe/v1/tables', { name: `n-${t}`, topic: 'bad topic' }, 400, 40002],
      ['POST', '/floe/v1/tables', { name: `n-${t}` }, 400, 40002],
      ['POST', '/floe/v1/tables', { name: `n-${t}`, topic: t, extra: 1 }, 400, 40002],
      ['POST', '/floe/v1/tables', [1], 400, 40002],
      ['GET', '/floe/v1/tables/no-such-table', undefined, 404, 40406],
      ['GET', '/floe/v1/tables/no-such-table/keys/a', undefined, 404, 40406],
      ['GET', '/floe/v1/tables/no-such-table/keys', undefined, 404, 40406],
      ['POST', '/floe/v1/tables/no-such-table/partitions/0/lookup', { keys: [] }, 404, 40406],
      ['GET', '/floe/v1/tables/no-such-table/partitions/0/range', undefined, 404, 40406],
      ['DELETE', '/floe/v1/tables/no-such-table', undefined, 404, 40406],
      ['GET', '/floe/v1/tables/bad%20name', undefined, 400, 40002],
      ['GET', `/floe/v1/tables/${name}/keys/a?key_format=hex`, undefined, 400, 40002],
      ['GET', `/floe/v1/tables/${name}/keys/a%2?key_format=utf8`, undefined, 400, 40002],
      ['GET', `/floe/v1/tables/${name}/keys/${encodeURIComponent('*!')}?key_format=base64`, undefined, 400, 40002],
      ['GET', `/floe/v1/tables/${name}/keys/a?partition=2`, undefined, 404, 40402],
      ['GET', `/floe/v1/tables/${name}/keys/a?partition=-1`, undefined, 400, 40002],
      ['GET', `/floe/v1/tables/${name}/keys/a?min_offset=x`, undefined, 400, 40002],
      ['GET', `/floe/v1/tables/${name}/keys?limit=0`, undefined, 400, 40002],
      ['GET', `/floe/v1/tables/${name}/keys?limit=1001`, undefined, 400, 40002],
      ['GET', `/floe/v1/tables/${name}/keys?limit=abc`, undefined, 400, 40002],
      ['GET', `/floe/v1/tables/${name}/keys?cursor=nope`, undefined, 400, 40002],
      ['GET', `/floe/v1/tables/${name}/keys?cursor=${Buffer.from('{"p":9}').toString('base64url')}`, undefined, 400, 40002],
      ['GET', `/floe/v1/tables/${name}/keys?prefix=b&cursor=${Buffer.from(JSON.stringify({ p: 0, k: Buffer.from('\u0000a').toString('base64url') })).toString('base64url')}`, undefined, 400, 40002],
      ['GET', `/floe/v1/tables/${name}/keys?prefix=${'p'.repeat(1024)}`, undefined, 400, 40002],
      ['POST', `/floe/v1/tables/${name}/partitions/0/lookup`, { keys: ['***'] }, 400, 40002],
      ['POST', `/floe/v1/tables/${name}/partitions/0/lookup`, { keys: [1] }, 400, 40002],
      ['POST', `/floe/v1/tables/${name}/partitions/0/lookup`, { keys: 'a' }, 400, 40002],
      ['POST', `/floe/v1/tables/${name}/partitions/0/lookup`, { keys: Array(101).fill('') }, 400, 40002],
      ['POST', `/floe/v1/tables/${name}/partitions/0/lookup`, { keys: [], min_offset: -1 }, 400, 40002],
      ['POST', `/floe/v1/tables/${name}/partitions/0/lookup`, { keys: [], other: 1 }, 400, 40002],
      ['POST', `/floe/v1/tables/${name}/partitions/0/lookup`, '{', 400, 400],
      ['POST', `/floe/v1/tables/${name}/partitions/5/lookup`, { keys: [] }, 404, 40402],
      ['POST', `/floe/v1/tables/${name}/partitions/x/lookup`, { keys: [] }, 404, 40402],
      ['GET', `/floe/v1/tables/${name}/partitions/0/range?from=a+b`, undefined, 400, 40002],
      ['GET', `/floe/v1/tables/${name}/partitions/0/range?limit=-3`, undefined, 400, 40002],
      ['GET', `/floe/v1/tables/${name}/partitions/0/range?cursor=%21`, undefined, 400, 40002],
      ['GET', `/floe/v1/tables/${name}/partitions/0/range?from=${b64('m')}&cursor=${Buffer.from('\u0000a').toString('base64url')}`, undefined, 400, 40002],
      ['PUT', `/floe/v1/tables/${name}`, undefined, 405, 405],
    ];
    for (const [method, path, body, status, code] of cases) {
      const r = await api.request(method, path, body);
      expect(r.status, `${method} ${path}: ${r.text}`).toBe(status);
      expect(r.body, `${method} ${path}`).toEqual({ error_code: code, message: expect.any(String) });
      expect(r.body.message.length, `${method} ${path}`).toBeGreaterThan(5);
    }
    const msg = (await api.post(`/floe/v1/tables/${name}/partitions/0/lookup`, { keys: ['***'] })).body.message;
    expect(msg).toContain('keys[0]');
  });

  it('is read through the client: floe.tables() and floe.table(name)', async () => {
    const floe = new Floe({ url: 'http://floe.test', fetch: ((input: string | URL | Request, init?: RequestInit) => app.fetch(new Request(input, init))) as typeof fetch });
    const t = await topic(2);
    const name = `tb-${t}`;
    expect(await floe.tables().create({ name, topic: t })).toMatchObject({ name, topic: t });
    expect((await floe.tables().list()).map((x) => x.name)).toContain(name);
    const [w] = await produce(t, [{ key: 'alice', value: 'cup' }, { key: 'bob', value: 'mug' }]);
    const table = floe.table(name);
    const got = await table.get('alice', { minOffset: w!.offset + 1 });
    expect(got && Buffer.from(got.value!).toString()).toBe('cup');
    expect(got!.partition).toBe(w!.partition);
    expect(await table.get('nobody')).toBeNull();
    await caughtUp(name);
    const page = await table.list({ limit: 10 });
    expect(page.entries.map((e) => Buffer.from(e.key).toString()).sort()).toEqual(['alice', 'bob']);
    expect(page.cursor).toBeNull();
    const p = partitionForKey(Buffer.from('alice'), 2);
    const l = await table.lookup(p, [Buffer.from('alice'), Buffer.from('zed')]);
    expect(l.appliedOffset).toBeGreaterThan(0);
    expect(l.entries.map((e) => (e.value ? Buffer.from(e.value).toString() : null))).toEqual(['cup', null]);
    const r = await table.range(p, null, null, { limit: 10 });
    expect(r.entries.map((e) => Buffer.from(e.key).toString())).toContain('alice');
    expect((await floe.tables().describe(name)).partitions).toHaveLength(2);
    await floe.tables().delete(name);
    await expect(floe.tables().describe(name)).rejects.toMatchObject({ code: 40406 });
  });
});
