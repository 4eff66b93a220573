import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/api/app.ts';
import { createEngine } from '../src/engine/engine.ts';
import { DLQ_HEADERS } from '../src/triggers/lane.ts';
import { murmur2 } from '../src/log/partitioner.ts';
import { ownTriggersTable, randomTopic, testClients, testConfig } from './support/env.ts';
import { appClient, readInProcessBody } from './support/http.ts';
import { state } from './support/trigger-handlers.ts';

// The local runtime's engine: module targets allowed, the dispatcher woken by this process's commits
// and, as `npm start` does with a timer, by a sweep (here every 200 ms).
// A triggers table of its own: the sweep delivers every trigger of its table.
const config = testConfig(await ownTriggersTable());
const engine = createEngine(config, testClients(config), { local: true, apiUrl: 'http://127.0.0.1:8082', triggerLog: () => undefined });
const api = appClient(createApp(engine, { readBody: readInProcessBody }));
const sweeper = setInterval(() => void engine.dispatcher.sweep({ wait: false }).catch(() => undefined), 200);
afterAll(async () => {
  clearInterval(sweeper);
  await engine.dispatcher.stop();
});

const HANDLERS = './test/support/trigger-handlers.ts';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const text = (v: string | null | undefined) => (v == null ? null : Buffer.from(v, 'base64').toString());

async function topic(partitions: number): Promise<string> {
  const name = randomTopic();
  await engine.topics.create({ name, partitions });
  return name;
}

async function produce(t: string, records: Array<{ key?: string | null; value: string | null; partition?: number; headers?: Array<{ key: string; value: string | null }> }>) {
  const r = await api.post(`/floe/v1/topics/${t}/records`, {
    records: records.map((x) => ({
      ...(x.key !== undefined ? { key: x.key === null ? null : b64(x.key) } : {}),
      value: x.value === null ? null : b64(x.value),
      ...(x.partition !== undefined ? { partition: x.partition } : {}),
      ...(x.headers ? { headers: x.headers.map((h) => ({ key: h.key, value: h.value === null ? null : b64(h.value) })) } : {}),
    })),
  });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

async function createTrigger(body: Record<string, unknown>) {
  const r = await api.post('/floe/v1/triggers', { max_batching_window_ms: 0, starting_position: 'TRIM_HORIZON', ...body });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body;
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Records the handlers received for one topic, per partition, as [offset, value]. */
function received(t: string, handler?: string): Map<number, Array<[number, string | null]>> {
  const out = new Map<number, Array<[number, string | null]>>();
  for (const c of state.calls) {
    if (handler && c.handler !== handler) continue;
    for (const r of c.records) {
      if (r.topic !== t) continue;
      out.set(r.partition, [...(out.get(r.partition) ?? []), [r.offset, text(r.value)]]);
    }
  }
  return out;
}

async function describeTrigger(name: string) {
  const r = await api.get(`/floe/v1/triggers/${name}`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

async function readAll(t: string, partition: number) {
  const r = await api.get(`/floe/v1/topics/${t}/partitions/${partition}/records?offset=0&max_records=10000`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.records as Array<{ offset: number; key: string | null; value: string | null; headers: Array<{ key: string; value: string | null }>; timestamp: number }>;
}

describe('topic triggers', () => {
  it('delivers every record to an MSKHandler in offset order per partition, as Lambda shapes MSK events', async () => {
    const t = await topic(3);
    const name = `t-${t}`;
    const created = await createTrigger({ name, topic: t, target: { type: 'module', path: HANDLERS, export: 'accept' }, batch_size: 7 });
    expect(created.id).toMatch(/^arn:floe:trigger:/);
    expect(created.group_id).toBe(`trigger.${name}`);
    const sent: Array<[number, string]> = [];
    for (let i = 0; i < 60; i++) sent.push([i % 3, `v${i}`]);
    for (let i = 0; i < 60; i += 20) await produce(t, sent.slice(i, i + 20).map(([p, v]) => ({ key: `k${v}`, value: v, partition: p, headers: [{ key: 'h', value: 'x\u00ff' }] })));
    await produce(t, [{ key: 'gone', value: null, partition: 0 }, { key: null, value: 'no-key', partition: 1 }]);
    await until('all 62 records', () => [...received(t).values()].reduce((n, l) => n + l.length, 0) >= 62 || undefined);
    const got = received(t);
    for (let p = 0; p < 3; p++) {
      const offsets = got.get(p)!.map(([o]) => o);
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
      expect(new Set(offsets).size).toBe(offsets.length);
    }
    expect(got.get(0)!.map(([, v]) => v)).toEqual([...sent.filter(([p]) => p === 0).map(([, v]) => v), null]);
    const calls = state.calls.filter((c) => c.records[0]?.topic === t);
    for (const c of calls) {
      expect(c.eventSource).toBe('aws:kafka');
      expect(c.eventSourceArn).toBe(created.id);
      expect(c.bootstrapServers).toBe('http://127.0.0.1:8082');
      expect(c.key).toBe(`${t}-${c.records[0]!.partition}`);
      expect(c.records.length).toBeLessThanOrEqual(7);
    }
    const all = calls.flatMap((c) => c.records);
    const first = all.find((r) => text(r.value) === 'v0')!;
    expect(first).toMatchObject({ topic: t, partition: 0, offset: 0, timestampType: 'CREATE_TIME', key: b64('kv0') });
    // Java's signed bytes: "x" then U+00FF as UTF-8 (0xc3 0xbf).
    expect(first.headers).toEqual([{ h: [120, -61, -65] }]);
    const tombstone = all.find((r) => r.key === b64('gone'))!;
    expect(tombstone.value).toBeNull();
    expect('key' in all.find((r) => text(r.value) === 'no-key')!).toBe(false);
    // The trigger's progress is an ordinary consumer group.
    const group = await api.get(`/floe/v1/groups/trigger.${name}`);
    expect(group.status).toBe(200);
    await until('lag 0', async () => ((await describeTrigger(name)).partitions as any[]).every((p) => p.lag === 0) || undefined);
  });

  it('hands Powertools\' Kafka consumer its records deserialized, and a callback handler works too', async () => {
    const t = await topic(1);
    await createTrigger({ name: `pt-${t}`, topic: t, target: { type: 'module', path: HANDLERS, export: 'powertools' } });
    await createTrigger({ name: `cb-${t}`, topic: t, target: { type: 'module', path: HANDLERS, export: 'withCallback' }, dead_letter_topic: `cb-${t}.dlq` });
    await produce(t, [
      { key: 'k1', value: JSON.stringify({ n: 1 }), headers: [{ key: 'trace', value: 'Zoë' }] },
      { key: 'k2', value: JSON.stringify({ n: 2 }) },
    ]);
    await until('powertools saw both', () => state.powertools.filter((r) => (r.value as any)?.n).length >= 2 || undefined);
    const seen = state.powertools.filter((r) => (r.value as any)?.n);
    expect(seen.map((r) => r.value)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(seen[0]!.key).toBe('k1');
    expect(seen[0]!.headers).toEqual([{ trace: 'Zoë' }]);
    await until('callback handler saw both', () => (received(t, 'callback').get(0)?.length ?? 0) >= 2 || undefined);
  });

  it('sends a poison record through retries and bisection to the dead-letter topic with its full record, while other partitions flow; redrive delivers it again', async () => {
    const t = await topic(2);
    const name = `poison-${t}`;
    const poison = `poison-${t}`;
    state.poison.add(poison);
    await createTrigger({ name, topic: t, target: { type: 'module', path: HANDLERS, export: 'flaky' }, batch_size: 8, retry_attempts: 1 });
    const before = Array.from({ length: 5 }, (_, i) => ({ key: `a${i}`, value: `p0-${i}`, partition: 0 }));
    const after = Array.from({ length: 5 }, (_, i) => ({ key: `b${i}`, value: `p0-${i + 6}`, partition: 0 }));
    await produce(t, [...before, { key: 'bad-key', value: poison, partition: 0, headers: [{ key: 'origin', value: 'test' }] }, ...after]);
    const started = Date.now();
    await produce(t, Array.from({ length: 10 }, (_, i) => ({ key: `c${i}`, value: `p1-${i}`, partition: 1 })));
    // Partition 1 is not held back by partition 0's poison.
    await until('partition 1 delivered', () => (received(t).get(1)?.length ?? 0) >= 10 || undefined, 10_000);
    expect(Date.now() - started).toBeLessThan(5000);
    // Partition 0: everything but the poison, in order, and the poison in the dead-letter topic.
    await until('partition 0 resumed after the poison', () => (received(t).get(0)?.length ?? 0) >= 10 || undefined);
    expect(received(t).get(0)!.map(([, v]) => v)).toEqual([...before, ...after].map((r) => r.value));
    const dlq = await until('dead letter', async () => {
      const rs = await readAll(`${name}.dlq`, 0);
      return rs.length > 0 ? rs : undefined;
    });
    expect(dlq).toHaveLength(1);
    const letter = dlq[0]!;
    expect(text(letter.key)).toBe('bad-key');
    expect(text(letter.value)).toBe(poison);
    const h = Object.fromEntries(letter.headers.map((x) => [x.key, text(x.value)]));
    expect(h.origin).toBe('test');
    expect(h[DLQ_HEADERS.topic]).toBe(t);
    expect(h[DLQ_HEADERS.partition]).toBe('0');
    expect(h[DLQ_HEADERS.offset]).toBe('5');
    expect(h[DLQ_HEADERS.trigger]).toBe(name);
    expect(Number(h[DLQ_HEADERS.attempts])).toBe(2);
    expect(h[DLQ_HEADERS.error]).toContain('poison record');
    const d = await describeTrigger(name);
    expect(d.partitions[0]).toMatchObject({ lag: 0, dead_letters: 1 });
    expect(d.partitions[0].last_error.message).toContain('poison record');
    expect(d.dead_letters).toEqual({ topic: `${name}.dlq`, records: 1 });

    // Fixed: the redrive delivers the letter with its original coordinates and headers.
    state.poison.delete(poison);
    const r = await api.post(`/floe/v1/triggers/${name}/redrive`, {});
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(r.body.redrives).toEqual([{ partition: 0, from_offset: 0, end_offset: 1, records: 1 }]);
    const redriven = await until('redriven', () => state.calls.flatMap((c) => c.records).find((x) => x.topic === t && text(x.value) === poison));
    expect(redriven).toMatchObject({ partition: 0, offset: 5, key: b64('bad-key') });
    expect(redriven.headers).toEqual([{ origin: [...Buffer.from('test')] }]);
    await until('redrive done', async () => (await describeTrigger(name)).redrives.every((x: any) => x.done) || undefined);
  });

  it('retries from the lowest failed offset of a partial batch response, and never redelivers what came before it', async () => {
    const t = await topic(1);
    state.failOnce.add(`${t}-0:3`);
    await createTrigger({ name: `partial-${t}`, topic: t, target: { type: 'module', path: HANDLERS, export: 'partial' }, batch_size: 10 });
    await produce(t, Array.from({ length: 6 }, (_, i) => ({ value: `v${i}` })));
    await until('redelivery from 3', () => (received(t).get(0)?.length ?? 0) >= 9 || undefined);
    await new Promise((r) => setTimeout(r, 300));
    expect(received(t).get(0)!.map(([o]) => o)).toEqual([0, 1, 2, 3, 4, 5, 3, 4, 5]);
    const d = await describeTrigger(`partial-${t}`);
    expect(d.partitions[0]).toMatchObject({ lag: 0, attempts: 0 });
  });

  it('delivers only records that match its filters, counts the rest as processed, and takes new filters by PATCH', async () => {
    const t = await topic(1);
    const name = `filter-${t}`;
    await createTrigger({ name, topic: t, target: { type: 'module', path: HANDLERS, export: 'accept' }, filters: [{ pattern: JSON.stringify({ value: { kind: ['order'] } }) }] });
    await produce(t, [{ value: JSON.stringify({ kind: 'order', n: 1 }) }, { value: JSON.stringify({ kind: 'ping' }) }, { value: 'not json' }, { value: JSON.stringify({ kind: 'order', n: 2 }) }]);
    await until('lag 0', async () => (await describeTrigger(name)).partitions[0].lag === 0 || undefined);
    expect(received(t).get(0)!.map(([o]) => o)).toEqual([0, 3]);
    expect((await describeTrigger(name)).partitions[0]).toMatchObject({ delivered: 2, filtered: 2 });
    const p = await api.request('PATCH', `/floe/v1/triggers/${name}`, { filters: [{ pattern: { value: { kind: [{ prefix: 'pi' }] } } }], batch_size: 2 });
    expect(p.status, JSON.stringify(p.body)).toBe(200);
    expect(p.body.batch_size).toBe(2);
    await produce(t, [{ value: JSON.stringify({ kind: 'ping', n: 3 }) }, { value: JSON.stringify({ kind: 'order' }) }]);
    await until('ping delivered', () => received(t).get(0)!.some(([o]) => o === 4) || undefined);
    await until('lag 0', async () => (await describeTrigger(name)).partitions[0].lag === 0 || undefined);
    expect(received(t).get(0)!.map(([o]) => o)).toEqual([0, 3, 4]);
  });

  it('starts at LATEST as the create call resolves it, pauses, resumes, and seeks back', async () => {
    const t = await topic(1);
    const name = `seek-${t}`;
    await produce(t, [{ value: 'old-0' }, { value: 'old-1' }]);
    await createTrigger({ name, topic: t, target: { type: 'module', path: HANDLERS, export: 'accept' }, starting_position: 'LATEST' });
    await produce(t, [{ value: 'new-2' }]);
    await until('new record', () => received(t).get(0)?.length || undefined);
    expect(received(t).get(0)).toEqual([[2, 'new-2']]);
    expect((await api.post(`/floe/v1/triggers/${name}/pause`)).body.enabled).toBe(false);
    // A batch under way when the pause came finishes; no delivery starts after it.
    await until('no delivery under way', async () => ((await describeTrigger(name)).partitions as any[]).every((p) => !p.delivering) || undefined);
    await produce(t, [{ value: 'while-paused-3' }]);
    await new Promise((r) => setTimeout(r, 600));
    expect(received(t).get(0)).toHaveLength(1);
    expect((await describeTrigger(name)).state).toBe('Disabled');
    expect((await api.post(`/floe/v1/triggers/${name}/resume`)).body.enabled).toBe(true);
    await until('resumed', () => (received(t).get(0)!.length >= 2 ? true : undefined));
    const s = await api.post(`/floe/v1/triggers/${name}/seek`, { to: 'earliest' });
    expect(s.status, JSON.stringify(s.body)).toBe(200);
    expect(s.body.positions).toEqual([{ topic: t, partition: 0, offset: 0 }]);
    await until('replayed', () => (received(t).get(0)!.length >= 6 ? true : undefined));
    expect(received(t).get(0)!.map(([o]) => o)).toEqual([2, 3, 0, 1, 2, 3]);
  });

  it('keeps order per key when it runs several batches of one partition at once', async () => {
    const t = await topic(1);
    await createTrigger({ name: `par-${t}`, topic: t, target: { type: 'module', path: HANDLERS, export: 'accept' }, parallelism: { by: 'key', max: 4 }, batch_size: 50 });
    const records = Array.from({ length: 120 }, (_, i) => ({ key: `key-${i % 9}`, value: `${i % 9}:${i}` }));
    await produce(t, records);
    await until('all', () => (received(t).get(0)?.length ?? 0) >= 120 || undefined);
    const calls = state.calls.filter((c) => c.records[0]?.topic === t);
    // Several events for one batch: at most 4 at once, each with whole keys.
    expect(calls.length).toBeGreaterThan(3);
    const byKey = new Map<string, number[]>();
    for (const c of calls) for (const r of c.records) byKey.set(text(r.key)!, [...(byKey.get(text(r.key)!) ?? []), r.offset]);
    for (const offsets of byKey.values()) expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
  });

  it('with key parallelism, dead-letters only the poison record, not the other keys\' records taken beside it', async () => {
    const t = await topic(1);
    const name = `parpoison-${t}`;
    const poison = `pp-${t}`;
    state.poison.add(poison);
    // Without bisection the failing event is the poison's alone: keys of the other event of the two.
    await createTrigger({ name, topic: t, target: { type: 'module', path: HANDLERS, export: 'flaky' }, parallelism: { by: 'key', max: 2 }, retry_attempts: 0, batch_size: 10, bisect_on_error: false });
    const laneOf = (k: string) => (murmur2(Buffer.from(k)) & 0x7fffffff) % 2;
    const [a, b] = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].filter((k) => laneOf(k) !== laneOf('bad'));
    await produce(t, [{ key: a!, value: 'a0' }, { key: 'bad', value: poison }, { key: a!, value: 'a2' }, { key: b!, value: 'b3' }]);
    await until('lag 0', async () => (await describeTrigger(name)).partitions[0].lag === 0 || undefined);
    const letters = await readAll(`${name}.dlq`, 0);
    expect(letters.map((l) => text(l.value))).toEqual([poison]);
    const got = received(t).get(0)!.map(([, v]) => v);
    for (const v of ['a0', 'a2', 'b3']) expect(got).toContain(v);
  });

  it('answers bad requests with a 400 naming the problem, unknown triggers with 404, and a second create with 409', async () => {
    const t = await topic(1);
    const target = { type: 'module', path: HANDLERS, export: 'accept' };
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ topic: t, target }, /name/],
      [{ name: 'x y', topic: t, target }, /trigger name/],
      [{ name: 'ok', target }, /topic/],
      [{ name: 'ok', topic: t }, /target is required/],
      [{ name: 'ok', topic: t, target, batch_size: 0 }, /batch_size/],
      [{ name: 'ok', topic: t, target, batch_size: 10_001 }, /batch_size/],
      [{ name: 'ok', topic: t, target, bogus: 1 }, /unknown field 'bogus'/],
      [{ name: 'ok', topic: t, target: { type: 'ftp' } }, /target.type/],
      [{ name: 'ok', topic: t, target, starting_position: 'AT_TIMESTAMP' }, /starting_timestamp/],
      [{ name: 'ok', topic: t, target, filters: [{ pattern: '{"value":{"a":[{"begins":"x"}]}}' }] }, /begins/],
      [{ name: 'ok', topic: t, target, parallelism: { by: 'value', max: 2 } }, /parallelism/],
      [{ name: 'ok', topic: t, target, retry_attempts: -2 }, /retry_attempts/],
    ];
    for (const [body, message] of cases) {
      const r = await api.post('/floe/v1/triggers', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.message).toMatch(message);
      expect(r.body.error_code).toBe(40002);
    }
    const strict = appClient(createApp(createEngine(testConfig({ FLOE_AUTO_CREATE_TOPICS: 'false', FLOE_TRIGGERS_TABLE: config.tables.triggers }), testClients(config), { local: true }), { readBody: readInProcessBody }));
    const missing = await strict.post('/floe/v1/triggers', { name: `m-${t}`, topic: `${t}-missing`, target });
    expect(missing.status).toBe(404);
    expect(missing.body.error_code).toBe(40401);
    expect((await api.get('/floe/v1/triggers/nope-none')).status).toBe(404);
    expect((await api.get('/floe/v1/triggers/nope-none')).body.error_code).toBe(40405);
    await createTrigger({ name: `dup-${t}`, topic: t, target });
    const again = await api.post('/floe/v1/triggers', { name: `dup-${t}`, topic: t, target });
    expect(again.status).toBe(409);
    expect(again.body.error_code).toBe(40908);
    expect((await api.post(`/floe/v1/triggers/dup-${t}/seek`, { to: 'somewhere' })).status).toBe(400);
    expect((await api.request('PATCH', `/floe/v1/triggers/dup-${t}`, { name: 'other' })).status).toBe(400);
    expect((await api.request('DELETE', `/floe/v1/triggers/dup-${t}`)).status).toBe(204);
    expect((await api.request('DELETE', `/floe/v1/triggers/dup-${t}`)).status).toBe(404);
  });

  it('refuses module and http targets outside the local runtime', async () => {
    const deployed = appClient(createApp(createEngine(config, testClients(config)), { readBody: readInProcessBody }));
    const t = await topic(1);
    for (const target of [{ type: 'module', path: HANDLERS }, { type: 'http', url: 'http://127.0.0.1:9/x' }]) {
      const r = await deployed.post('/floe/v1/triggers', { name: `remote-${t}`, topic: t, target });
      expect(r.status).toBe(400);
      expect(r.body.message).toMatch(/only the local runtime/);
    }
  });
  it('ends a lane run quietly when the settings cannot be read again after a run that left more to do', async () => {
    // A process of its own, never swept: its dispatcher's lane runs are steered here, not by records.
    const lines: string[] = [];
    const own = createEngine(config, testClients(config), { local: true, apiUrl: 'http://127.0.0.1:8082', triggerLog: (l) => void lines.push(l) });
    const t = await topic(1);
    const created = await appClient(createApp(own, { readBody: readInProcessBody })).post('/floe/v1/triggers', { name: `quiet-${t}`, topic: t, target: { type: 'module', path: HANDLERS } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const trigger = await own.triggers.get(`quiet-${t}`);
    const dispatcher = own.dispatcher as unknown as { runLane(): Promise<string>; deps: { triggers: { get(name: string): Promise<unknown> } } };
    let runs = 0;
    dispatcher.runLane = async () => (++runs === 1 ? 'more' : 'idle');
    dispatcher.deps.triggers = { ...dispatcher.deps.triggers, get: () => Promise.reject(new Error('injected: the read timed out')) } as never;
    // The run ends (resolves: a sweep that does not wait for it leaves nothing unhandled), and says why.
    await expect(own.dispatcher.schedule(trigger, { key: `${t}#0`, topic: t, partition: 0, redrive: false })).resolves.toBeUndefined();
    expect(runs).toBe(1);
    expect(lines.some((l) => l.includes('injected: the read timed out'))).toBe(true);
    await own.dispatcher.stop();
  });
});
