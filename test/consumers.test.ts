// REST Proxy v2 consumers and server-side group coordination, over real HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomTopic } from './support/env.ts';
import { b64, BINARY, JSON_V2, V2 } from './support/engine.ts';
import { serverClient, type HttpClient } from './support/http.ts';
import { testServer, type TestServer } from './support/server.ts';

const SESSION_MS = 1500;

let s: TestServer;
let api: HttpClient;
beforeAll(async () => {
  s = await testServer({ FLOE_GROUP_SESSION_TIMEOUT_MS: String(SESSION_MS) });
  api = serverClient(s.url, { type: V2 });
});
afterAll(() => s.close());

async function createTopic(topic: string, partitions: number) {
  const r = await api.post('/v3/clusters/floe/topics', { topic_name: topic, partitions_count: partitions }, { type: 'application/json' });
  expect(r.status).toBe(201);
}

async function produceTo(topic: string, partition: number, values: string[]) {
  const r = await api.post(`/topics/${topic}/partitions/${partition}`, { records: values.map((v) => ({ value: b64(v) })) }, { type: BINARY });
  expect(r.status).toBe(200);
}

async function poll(group: string, instance: string, timeout = 300, accept = BINARY) {
  const r = await api.get(`/consumers/${group}/instances/${instance}/records?timeout=${timeout}`, { accept });
  expect(r.status).toBe(200);
  return r.body as Array<{ topic: string; key: string | null; value: any; partition: number; offset: number }>;
}

async function join(group: string, name: string, topics: string[], config: Record<string, string> = {}) {
  const created = await api.post(`/consumers/${group}`, { name, format: 'binary', 'auto.offset.reset': 'earliest', 'auto.commit.enable': 'false', ...config });
  expect(created.status).toBe(200);
  expect((await api.post(`/consumers/${group}/instances/${name}/subscription`, { topics })).status).toBe(204);
}

async function owned(group: string, name: string): Promise<string[]> {
  const r = await api.get(`/consumers/${group}/instances/${name}/assignments`);
  return r.body.partitions.map((p: any) => `${p.topic}:${p.partition}`);
}

/** Deletes the topic (v3) and creates it again under the same name: a new id, an empty log. */
async function recreateTopic(topic: string, partitions: number) {
  expect((await api.delete(`/v3/clusters/floe/topics/${topic}`)).status).toBe(204);
  await createTopic(topic, partitions);
}

/** Polls until `count` records arrived or a few seconds passed; the values, decoded. */
async function pollValues(group: string, instance: string, count: number): Promise<string[]> {
  const got: string[] = [];
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline && got.length < count) got.push(...(await poll(group, instance)).map((r) => Buffer.from(r.value, 'base64').toString()));
  return got;
}

const range = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('the REST Proxy quickstart', () => {
  it('works for a json consumer: create, subscribe, read, commit, read committed, delete', async () => {
    const topic = randomTopic('jsontest');
    const group = randomTopic('my_json_consumer');
    await api.post(`/topics/${topic}`, { records: [{ value: { foo: 'bar' } }] }, { type: JSON_V2 });
    const created = await api.post(`/consumers/${group}`, { name: 'my_consumer_instance', format: 'json', 'auto.offset.reset': 'earliest' });
    expect(created.status).toBe(200);
    expect(created.body).toEqual({ instance_id: 'my_consumer_instance', base_uri: `${s.url}/consumers/${group}/instances/my_consumer_instance` });
    expect((await api.post(`/consumers/${group}/instances/my_consumer_instance/subscription`, { topics: [topic] })).status).toBe(204);
    expect((await api.get(`/consumers/${group}/instances/my_consumer_instance/subscription`)).body).toEqual({ topics: [topic] });
    const records = await poll(group, 'my_consumer_instance', 1000, JSON_V2);
    expect(records).toEqual([{ topic, key: null, value: { foo: 'bar' }, partition: 0, offset: 0 }]);
    const commit = await api.post(`/consumers/${group}/instances/my_consumer_instance/offsets`, { offsets: [{ topic, partition: 0, offset: 0 }] });
    expect(commit.status).toBe(200);
    expect(commit.body).toEqual([]);
    const committed = await api.request('GET', `/consumers/${group}/instances/my_consumer_instance/offsets`, { partitions: [{ topic, partition: 0 }, { topic, partition: 7 }] });
    expect(committed.status).toBe(200);
    expect(committed.body).toEqual({ offsets: [{ topic, partition: 0, offset: 1, metadata: '' }] });
    expect((await api.delete(`/consumers/${group}/instances/my_consumer_instance`)).status).toBe(204);
    expect((await api.get(`/consumers/${group}/instances/my_consumer_instance/records`, { accept: JSON_V2 })).body.error_code).toBe(40403);
  });

  it('works for a binary consumer, with commit of everything returned (empty body)', async () => {
    const topic = randomTopic('binarytest');
    const group = randomTopic('my_binary_consumer');
    await api.post(`/topics/${topic}`, { records: [{ value: 'S2Fma2E=' }] }, { type: BINARY });
    await api.post(`/consumers/${group}`, { name: 'my_consumer_instance', format: 'binary', 'auto.offset.reset': 'earliest' });
    await api.post(`/consumers/${group}/instances/my_consumer_instance/subscription`, { topics: [topic] });
    expect(await poll(group, 'my_consumer_instance', 1000)).toEqual([{ topic, key: null, value: 'S2Fma2E=', partition: 0, offset: 0 }]);
    expect((await api.post(`/consumers/${group}/instances/my_consumer_instance/offsets`)).status).toBe(200);
    expect((await api.request('GET', `/consumers/${group}/instances/my_consumer_instance/offsets`, { partitions: [{ topic, partition: 0 }] })).body.offsets[0].offset).toBe(1);
    expect((await api.delete(`/consumers/${group}/instances/my_consumer_instance`)).status).toBe(204);
  });
});

describe('consumer groups', () => {
  it('shares partitions between two and three members with no overlap', async () => {
    const topic = randomTopic('shared');
    const group = randomTopic('g');
    await createTopic(topic, 6);
    await join(group, 'a', [topic]);
    expect((await owned(group, 'a')).length).toBe(6);
    await join(group, 'b', [topic]);
    const a2 = await owned(group, 'a');
    const b2 = await owned(group, 'b');
    expect(a2.length + b2.length).toBe(6);
    expect(a2.filter((p) => b2.includes(p))).toEqual([]);
    await join(group, 'c', [topic]);
    const all = [await owned(group, 'a'), await owned(group, 'b'), await owned(group, 'c')];
    expect(all.map((x) => x.length)).toEqual([2, 2, 2]);
    expect(new Set(all.flat()).size).toBe(6);
  });

  it('delivers each record to exactly one member, and after a member dies the others resume from its last commit', async () => {
    const topic = randomTopic('failover');
    const group = randomTopic('g');
    await createTopic(topic, 4);
    for (let p = 0; p < 4; p++) await produceTo(topic, p, Array.from({ length: 5 }, (_, i) => `p${p}-r${i}`));
    await join(group, 'a', [topic]);
    await join(group, 'b', [topic]);
    const seen = new Map<string, string[]>();
    const consume = async (name: string) => {
      const recs = await poll(group, name);
      for (const r of recs) {
        const k = `${r.partition}:${r.offset}`;
        seen.set(k, [...(seen.get(k) ?? []), name]);
      }
      return recs;
    };
    // Both read their halves; b commits only its first record per partition, then dies.
    const fromA = await consume('a');
    const fromB = await consume('b');
    expect(fromA.length + fromB.length).toBe(20);
    for (const [k, who] of seen) expect(who, k).toHaveLength(1);
    await api.post('/consumers/' + group + '/instances/a/offsets');
    const bFirst = [...new Set(fromB.map((r) => r.partition))].map((p) => ({ topic, partition: p, offset: Math.min(...fromB.filter((r) => r.partition === p).map((r) => r.offset)) }));
    expect((await api.post(`/consumers/${group}/instances/b/offsets`, { offsets: bFirst })).status).toBe(200);

    // b stops polling; a keeps polling and, after b's session times out, owns everything.
    const deadline = Date.now() + SESSION_MS * 6;
    let takeover: typeof fromA = [];
    while (Date.now() < deadline) {
      takeover.push(...(await poll(group, 'a', 200)));
      if ((await owned(group, 'a')).length === 4 && takeover.length >= fromB.length - bFirst.length) break;
    }
    expect(await owned(group, 'a')).toHaveLength(4);
    // a re-reads b's uncommitted records (the allowed duplicates) and no committed one.
    const expected = fromB.filter((r) => !bFirst.some((c) => c.partition === r.partition && c.offset === r.offset)).map((r) => `${r.partition}:${r.offset}`).sort();
    expect(takeover.map((r) => `${r.partition}:${r.offset}`).sort()).toEqual(expected);

    // The zombie b comes back and tries to commit: refused, and nothing is written.
    const zombie = await api.post(`/consumers/${group}/instances/b/offsets`, { offsets: [{ topic, partition: bFirst[0]!.partition, offset: 4 }] });
    expect(zombie.status).toBe(409);
    expect(zombie.body.error_code).toBe(40904);
    const stored = await api.request('GET', `/consumers/${group}/instances/a/offsets`, { partitions: [{ topic, partition: bFirst[0]!.partition }] });
    expect(stored.body.offsets[0].offset).toBe(bFirst[0]!.offset + 1);
  }, 30_000);

  it('never gives one partition two owners when many members join at once', async () => {
    const topic = randomTopic('race');
    const group = randomTopic('g');
    await createTopic(topic, 8);
    const names = Array.from({ length: 6 }, (_, i) => `m${i}`);
    await Promise.all(names.map((n) => join(group, n, [topic])));
    // Every member polls once more so all see the final generation.
    await Promise.all(names.map((n) => owned(group, n)));
    const desc = (await api.get(`/floe/v1/groups/${group}`)).body;
    const owners = new Map<string, string>();
    for (const m of desc.members) {
      for (const p of m.assignment) {
        const k = `${p.topic}:${p.partition}`;
        expect(owners.has(k), `${k} owned twice`).toBe(false);
        owners.set(k, m.member_id);
      }
    }
    expect(owners.size).toBe(8);
    expect(desc.members).toHaveLength(6);
  });

  it('keeps members\' partitions across a rebalance with the sticky strategy', async () => {
    const topic = randomTopic('sticky');
    const group = randomTopic('g');
    await createTopic(topic, 6);
    const sticky = { 'partition.assignment.strategy': 'sticky' };
    await join(group, 'a', [topic], sticky);
    await join(group, 'b', [topic], sticky);
    const before = { a: await owned(group, 'a'), b: await owned(group, 'b') };
    await join(group, 'c', [topic], sticky);
    const after = { a: await owned(group, 'a'), b: await owned(group, 'b'), c: await owned(group, 'c') };
    expect([after.a.length, after.b.length, after.c.length]).toEqual([2, 2, 2]);
    for (const id of ['a', 'b'] as const) for (const p of after[id]) expect(before[id]).toContain(p);
  });

  it('assigns a topic created later that a member\'s topic_pattern matches', async () => {
    const prefix = randomTopic('pat');
    const group = randomTopic('g');
    await createTopic(`${prefix}-one`, 1);
    await api.post(`/consumers/${group}`, { name: 'p', 'auto.offset.reset': 'earliest' });
    expect((await api.post(`/consumers/${group}/instances/p/subscription`, { topic_pattern: `${prefix}-.*` })).status).toBe(204);
    expect(await owned(group, 'p')).toEqual([`${prefix}-one:0`]);
    await createTopic(`${prefix}-two`, 2);
    await produceTo(`${prefix}-two`, 1, ['late']);
    const deadline = Date.now() + 15_000;
    let got: Awaited<ReturnType<typeof poll>> = [];
    while (Date.now() < deadline && got.length === 0) got = await poll(group, 'p', 300);
    expect(got.map((r) => [r.topic, r.partition, r.offset])).toEqual([[`${prefix}-two`, 1, 0]]);
    expect(await owned(group, 'p')).toEqual([`${prefix}-one:0`, `${prefix}-two:0`, `${prefix}-two:1`]);
  }, 30_000);

  it('spreads records of all owned partitions fairly', async () => {
    const topic = randomTopic('fair');
    const group = randomTopic('g');
    await createTopic(topic, 3);
    for (let p = 0; p < 3; p++) await produceTo(topic, p, Array.from({ length: 30 }, (_, i) => `${p}-${'x'.repeat(50)}-${i}`));
    await join(group, 'solo', [topic]);
    const first = await api.get(`/consumers/${group}/instances/solo/records?timeout=500&max_bytes=600`, { accept: BINARY });
    const partitions = new Set(first.body.map((r: any) => r.partition));
    expect(partitions.size).toBe(3);
  });

  it('supports manual assignment and seeking, and refuses subscribe after assign', async () => {
    const topic = randomTopic('manual');
    const group = randomTopic('g');
    await createTopic(topic, 2);
    await produceTo(topic, 1, ['a', 'b', 'c']);
    await api.post(`/consumers/${group}`, { name: 'm', 'auto.offset.reset': 'latest' });
    expect((await api.post(`/consumers/${group}/instances/m/assignments`, { partitions: [{ topic, partition: 1 }] })).status).toBe(204);
    expect((await api.get(`/consumers/${group}/instances/m/assignments`)).body).toEqual({ partitions: [{ topic, partition: 1 }] });
    const illegal = await api.post(`/consumers/${group}/instances/m/subscription`, { topics: [topic] });
    expect(illegal.status).toBe(409);
    expect(illegal.body.error_code).toBe(40903);
    expect(await poll(group, 'm', 100)).toEqual([]); // latest
    expect((await api.post(`/consumers/${group}/instances/m/positions/beginning`, { partitions: [{ topic, partition: 1 }] })).status).toBe(204);
    expect((await poll(group, 'm')).map((r) => r.offset)).toEqual([0, 1, 2]);
    expect((await api.post(`/consumers/${group}/instances/m/positions`, { offsets: [{ topic, partition: 1, offset: 1 }] })).status).toBe(204);
    expect((await poll(group, 'm')).map((r) => r.offset)).toEqual([1, 2]);
    const notMine = await api.post(`/consumers/${group}/instances/m/positions`, { offsets: [{ topic, partition: 0, offset: 0 }] });
    expect(notMine.body.error_code).toBe(40903);
  });

  it('auto-commits what the previous records call returned', async () => {
    const topic = randomTopic('auto');
    const group = randomTopic('g');
    await produceTo(topic, 0, ['x', 'y']);
    await join(group, 'a', [topic], { 'auto.commit.enable': 'true' });
    expect(await poll(group, 'a')).toHaveLength(2);
    expect((await api.request('GET', `/consumers/${group}/instances/a/offsets`, { partitions: [{ topic, partition: 0 }] })).body.offsets).toEqual([]);
    await poll(group, 'a', 50);
    expect((await api.request('GET', `/consumers/${group}/instances/a/offsets`, { partitions: [{ topic, partition: 0 }] })).body.offsets[0].offset).toBe(2);
  });

  it('commits what the last records call returned when an auto-committing instance is deleted, as Kafka closes', async () => {
    const topic = randomTopic('close');
    const group = randomTopic('g');
    await produceTo(topic, 0, ['x', 'y', 'z']);
    await join(group, 'a', [topic], { 'auto.commit.enable': 'true' });
    expect(await poll(group, 'a')).toHaveLength(3);
    expect((await api.delete(`/consumers/${group}/instances/a`)).status).toBe(204);
    await join(group, 'b', [topic]);
    expect((await api.request('GET', `/consumers/${group}/instances/b/offsets`, { partitions: [{ topic, partition: 0 }] })).body.offsets[0].offset).toBe(3);
    expect(await poll(group, 'b')).toEqual([]);
  });

  it('describes a group with lag, and resets its offsets only when it is empty', async () => {
    const topic = randomTopic('admin');
    const group = randomTopic('g');
    await produceTo(topic, 0, ['1', '2', '3', '4']);
    await join(group, 'a', [topic]);
    await poll(group, 'a');
    await api.post(`/consumers/${group}/instances/a/offsets`, { offsets: [{ topic, partition: 0, offset: 0 }] });
    const d = (await api.get(`/floe/v1/groups/${group}`)).body;
    expect(d.offsets).toEqual([{ topic, partition: 0, committed_offset: 1, metadata: null, high_watermark: 4, lag: 3 }]);
    expect(d.members.map((m: any) => m.member_id)).toEqual(['a']);
    expect((await api.get('/floe/v1/groups')).body.groups.map((x: any) => x.group_id)).toContain(group);
    const busy = await api.post(`/floe/v1/groups/${group}/offsets/reset`, { topic, to: 'earliest' }, { type: 'application/json' });
    expect(busy.status).toBe(409);
    await api.delete(`/consumers/${group}/instances/a`);
    const reset = await api.post(`/floe/v1/groups/${group}/offsets/reset`, { topic, to: 'offset', offset: 3 }, { type: 'application/json' });
    expect(reset.status).toBe(200);
    expect(reset.body.offsets).toEqual([{ topic, partition: 0, offset: 3 }]);
    await join(group, 'b', [topic]);
    expect((await poll(group, 'b')).map((r) => r.offset)).toEqual([3]);
  });

  it('starts a member whose session expired from the offsets an admin reset meanwhile, on all its partitions', async () => {
    const topic = randomTopic('rejoin');
    const group = randomTopic('g');
    await createTopic(topic, 6);
    for (let p = 0; p < 6; p++) await produceTo(topic, p, [`p${p}-a`, `p${p}-b`]);
    await join(group, 'r1', [topic]);
    await join(group, 'r2', [topic]);
    const all = Array.from({ length: 6 }, (_, p) => [`${p}:0`, `${p}:1`]).flat().sort();
    const first = [...(await poll(group, 'r1')), ...(await poll(group, 'r2'))];
    expect(first.map((r) => `${r.partition}:${r.offset}`).sort()).toEqual(all);
    expect(await owned(group, 'r1')).toEqual([0, 1, 2].map((p) => `${topic}:${p}`));
    for (const name of ['r1', 'r2']) expect((await api.post(`/consumers/${group}/instances/${name}/offsets`)).status).toBe(200);

    // Both go silent past the session timeout; the group is empty and its offsets are reset.
    await new Promise((r) => setTimeout(r, SESSION_MS + 300));
    expect((await api.get(`/floe/v1/groups/${group}`)).body.state).toBe('Empty');
    const reset = await api.post(`/floe/v1/groups/${group}/offsets/reset`, { topic, to: 'earliest' }, { type: 'application/json' });
    expect(reset.status).toBe(200);
    expect(reset.body.offsets.map((o: any) => o.offset)).toEqual([0, 0, 0, 0, 0, 0]);

    // r1 comes back: a new member, it owns everything and re-reads every partition from 0, including
    // the three it had read before.
    const again: typeof first = [];
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline && again.length < 12) again.push(...(await poll(group, 'r1')));
    expect(await owned(group, 'r1')).toHaveLength(6);
    expect(again.map((r) => `${r.partition}:${r.offset}`).sort()).toEqual(all);
  }, 20_000);

  it('starts a member whose session expired from what a manually assigned consumer committed while the group was empty', async () => {
    const topic = randomTopic('handover');
    const group = randomTopic('g');
    await produceTo(topic, 0, ['0', '1', '2', '3']);
    await join(group, 'r', [topic]);
    expect((await poll(group, 'r')).map((r) => r.offset)).toEqual([0, 1, 2, 3]);
    expect((await api.post(`/consumers/${group}/instances/r/offsets`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, SESSION_MS + 300));
    await api.post(`/consumers/${group}`, { name: 'm' });
    expect((await api.post(`/consumers/${group}/instances/m/assignments`, { partitions: [{ topic, partition: 0 }] })).status).toBe(204);
    expect((await api.post(`/consumers/${group}/instances/m/offsets`, { offsets: [{ topic, partition: 0, offset: 0 }] })).status).toBe(200);
    expect((await poll(group, 'r')).map((r) => r.offset)).toEqual([1, 2, 3]);
  }, 20_000);

  it('keeps members whose long polls outlast the session timeout, in the same generation', async () => {
    const topic = randomTopic('longpoll');
    const group = randomTopic('g');
    await createTopic(topic, 2);
    const slow = { 'consumer.request.timeout.ms': '4000' };
    await join(group, 'a', [topic], slow);
    await join(group, 'b', [topic], slow);
    await Promise.all([owned(group, 'a'), owned(group, 'b')]);
    const before = (await api.get(`/floe/v1/groups/${group}`)).body;
    expect(before.members).toHaveLength(2);
    // Each waits 2.5 s on an empty topic, twice back to back; the session timeout is 1.5 s.
    const longPolls = async (name: string) => {
      for (let i = 0; i < 2; i++) expect(await poll(group, name, SESSION_MS + 1000)).toEqual([]);
    };
    await Promise.all([longPolls('a'), longPolls('b')]);
    const after = (await api.get(`/floe/v1/groups/${group}`)).body;
    expect(after.generation).toBe(before.generation);
    expect(after.members.map((m: any) => m.member_id).sort()).toEqual(['a', 'b']);
    expect(after.members.map((m: any) => m.assignment)).toEqual(before.members.map((m: any) => m.assignment));
  }, 20_000);

  it('matches a topic_pattern in linear time, against whole topic names, so a catastrophic pattern cannot stall the server', async () => {
    const suffix = randomTopic('x');
    const evil = `${'a'.repeat(28)}-${suffix}`;
    const wanted = `aaab-${suffix}`;
    await createTopic(evil, 1);
    await createTopic(wanted, 1);
    await createTopic(`${wanted}-not`, 1);
    const group = randomTopic('g');
    await api.post(`/consumers/${group}`, { name: 'p' });
    const started = Date.now();
    // With a backtracking engine, (a+)+b against 28 a's and no b takes seconds and blocks everything.
    const r = await api.post(`/consumers/${group}/instances/p/subscription`, { topic_pattern: `(a+)+b-${suffix}` });
    expect(r.status).toBe(204);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((await api.get(`/consumers/${group}/instances/p/subscription`)).body).toEqual({ topics: [wanted] });
    expect(await owned(group, 'p')).toEqual([`${wanted}:0`]);
  });

  it('lists every group that has a group item, a consumer instance or committed offsets, once each', async () => {
    const topic = randomTopic('listed');
    await produceTo(topic, 0, ['x']);
    const member = randomTopic('g-member');
    const instanceOnly = randomTopic('g-instance');
    const offsetsOnly = randomTopic('g-offsets');
    await join(member, 'a', [topic]);
    await api.post(`/consumers/${instanceOnly}`, { name: 'idle' });
    await api.post(`/consumers/${offsetsOnly}`, { name: 'm' });
    await api.post(`/consumers/${offsetsOnly}/instances/m/assignments`, { partitions: [{ topic, partition: 0 }] });
    expect((await api.post(`/consumers/${offsetsOnly}/instances/m/offsets`, { offsets: [{ topic, partition: 0, offset: 0 }] })).status).toBe(200);
    expect((await api.delete(`/consumers/${offsetsOnly}/instances/m`)).status).toBe(204);

    const listed = (await api.get('/floe/v1/groups')).body.groups as Array<{ group_id: string; state: string; members: number }>;
    for (const g of [member, instanceOnly, offsetsOnly]) {
      expect(listed.filter((x) => x.group_id === g), g).toHaveLength(1);
      expect((await api.get(`/floe/v1/groups/${g}`)).status).toBe(200);
    }
    expect(listed.find((x) => x.group_id === member)).toMatchObject({ state: 'Stable', members: 1 });
    expect(listed.find((x) => x.group_id === offsetsOnly)).toMatchObject({ generation: 0, state: 'Empty', members: 0 });
  });

  it('resets the offsets of a group that only has offsets, and answers 404 for a group that has nothing, creating nothing', async () => {
    const topic = randomTopic('resetonly');
    await produceTo(topic, 0, ['0', '1', '2']);
    const group = randomTopic('g-offsets');
    await api.post(`/consumers/${group}`, { name: 'm' });
    await api.post(`/consumers/${group}/instances/m/assignments`, { partitions: [{ topic, partition: 0 }] });
    await api.post(`/consumers/${group}/instances/m/offsets`, { offsets: [{ topic, partition: 0, offset: 2 }] });
    await api.delete(`/consumers/${group}/instances/m`);
    const reset = await api.post(`/floe/v1/groups/${group}/offsets/reset`, { topic, to: 'earliest' }, { type: 'application/json' });
    expect(reset.status).toBe(200);
    expect((await api.get(`/floe/v1/groups/${group}`)).body.offsets.map((o: any) => o.committed_offset)).toEqual([0]);

    const nobody = randomTopic('nosuchgroup');
    const missing = await api.post(`/floe/v1/groups/${nobody}/offsets/reset`, { topic, to: 'earliest' }, { type: 'application/json' });
    expect(missing.status).toBe(404);
    expect(missing.body.error_code).toBe(404);
    expect((await api.get(`/floe/v1/groups/${nobody}`)).status).toBe(404);
    expect((await api.get('/floe/v1/groups')).body.groups.map((x: any) => x.group_id)).not.toContain(nobody);
  });
});

describe('a topic deleted and re-created under the same name', () => {
  it('starts a new member from the beginning of the new topic, not from an offset committed on the old one', async () => {
    const topic = randomTopic('recreated');
    const group = randomTopic('g');
    await createTopic(topic, 1);
    await produceTo(topic, 0, range('old', 5));
    await join(group, 'a', [topic]);
    expect(await pollValues(group, 'a', 5)).toEqual(range('old', 5));
    expect((await api.post(`/consumers/${group}/instances/a/offsets`, { offsets: [{ topic, partition: 0, offset: 4 }] })).status).toBe(200);
    expect((await api.delete(`/consumers/${group}/instances/a`)).status).toBe(204);

    await recreateTopic(topic, 1);
    await produceTo(topic, 0, range('new', 8));
    await join(group, 'b', [topic]);
    expect(await pollValues(group, 'b', 8)).toEqual(range('new', 8));
  });

  it('leaves an offset committed on the old topic out of the committed offsets, and keeps one committed on the new', async () => {
    const topic = randomTopic('recreated');
    const group = randomTopic('g');
    await createTopic(topic, 1);
    await produceTo(topic, 0, range('old', 3));
    await api.post(`/consumers/${group}`, { name: 'm' });
    expect((await api.post(`/consumers/${group}/instances/m/assignments`, { partitions: [{ topic, partition: 0 }] })).status).toBe(204);
    expect((await api.post(`/consumers/${group}/instances/m/offsets`, { offsets: [{ topic, partition: 0, offset: 2 }] })).status).toBe(200);
    const path = `/consumers/${group}/instances/m/offsets`;
    expect((await api.request('GET', path, { partitions: [{ topic, partition: 0 }] })).body.offsets).toEqual([{ topic, partition: 0, offset: 3, metadata: '' }]);

    await recreateTopic(topic, 1);
    expect((await api.request('GET', path, { partitions: [{ topic, partition: 0 }] })).body).toEqual({ offsets: [] });
    await produceTo(topic, 0, range('new', 2));
    expect((await api.post(path, { offsets: [{ topic, partition: 0, offset: 0 }] })).status).toBe(200);
    expect((await api.request('GET', path, { partitions: [{ topic, partition: 0 }] })).body.offsets).toEqual([{ topic, partition: 0, offset: 1, metadata: '' }]);
  });

  it('makes an instance that was consuming the old topic start the new one afresh, without committing its old position', async () => {
    const topic = randomTopic('recreated');
    const group = randomTopic('g');
    await createTopic(topic, 1);
    await produceTo(topic, 0, range('old', 5));
    await join(group, 'a', [topic], { 'auto.commit.enable': 'true' });
    expect(await pollValues(group, 'a', 5)).toEqual(range('old', 5));
    // a now has position 5 and 5 returned, not yet committed (the next records call would auto-commit it).

    await recreateTopic(topic, 1);
    await produceTo(topic, 0, range('new', 8));
    const path = `/consumers/${group}/instances/a/offsets`;
    expect(await pollValues(group, 'a', 8)).toEqual(range('new', 8));
    // The old topic's returned position was dropped, not committed against the new one.
    expect((await api.request('GET', path, { partitions: [{ topic, partition: 0 }] })).body.offsets).toEqual([]);
    await poll(group, 'a', 50);
    expect((await api.request('GET', path, { partitions: [{ topic, partition: 0 }] })).body.offsets.map((o: any) => o.offset)).toEqual([8]);
  });

  it('resumes an instance that was consuming the old topic from the offset committed on the new one', async () => {
    const topic = randomTopic('recreated');
    const group = randomTopic('g');
    await createTopic(topic, 1);
    await produceTo(topic, 0, range('old', 5));
    await join(group, 'a', [topic]);
    expect(await pollValues(group, 'a', 5)).toEqual(range('old', 5));

    await recreateTopic(topic, 1);
    await produceTo(topic, 0, range('new', 8));
    // a, still the partition's owner, commits on the new topic before it reads again.
    expect((await api.post(`/consumers/${group}/instances/a/offsets`, { offsets: [{ topic, partition: 0, offset: 1 }] })).status).toBe(200);
    expect(await pollValues(group, 'a', 6)).toEqual(range('new', 8).slice(2));
  });

  it('describes the group without the offset and lag of the old topic, and with those an admin reset on the new one', async () => {
    const topic = randomTopic('recreated');
    const group = randomTopic('g');
    await createTopic(topic, 1);
    await produceTo(topic, 0, range('old', 4));
    await api.post(`/consumers/${group}`, { name: 'm' });
    const json = { type: 'application/json' };
    expect((await api.post(`/floe/v1/groups/${group}/offsets/reset`, { topic, to: 'offset', offset: 3 }, json)).status).toBe(200);
    expect((await api.get(`/floe/v1/groups/${group}`)).body.offsets).toEqual([{ topic, partition: 0, committed_offset: 3, metadata: null, high_watermark: 4, lag: 1 }]);

    await recreateTopic(topic, 1);
    await produceTo(topic, 0, range('new', 2));
    expect((await api.get(`/floe/v1/groups/${group}`)).body.offsets).toEqual([]);
    expect((await api.post(`/floe/v1/groups/${group}/offsets/reset`, { topic, to: 'earliest' }, json)).status).toBe(200);
    expect((await api.get(`/floe/v1/groups/${group}`)).body.offsets).toEqual([{ topic, partition: 0, committed_offset: 0, metadata: null, high_watermark: 2, lag: 2 }]);
  });
});

describe('isolation.level', () => {
  it('keeps the level an instance was made with, and reads only committed transactions at read_committed', async () => {
    const topic = randomTopic('iso');
    const group = randomTopic('iso');
    await createTopic(topic, 1);
    const tid = randomTopic('isotid');
    let p = await s.engine.transactions.init(tid);
    const send = (value: string) => s.engine.transactions.send(tid, { ...p, sequence: 0 }, topic, [{ key: null, value: Buffer.from(value), partition: 0 }]);
    // Each end bumps the epoch: the next transaction goes on with the one it answers.
    const end = async (how: 'commit' | 'abort') => {
      const ended = await s.engine.transactions.end(tid, p, how);
      p = { id: ended.producerId, epoch: ended.epoch };
    };
    await send('aborted');
    await end('abort');
    await send('committed');
    await end('commit');
    await send('open');
    await join(group, 'rc', [topic], { 'isolation.level': 'read_committed' });
    await join(`${group}-u`, 'ru', [topic], { 'isolation.level': 'read_uncommitted' });
    await join(`${group}-d`, 'default', [topic]);
    expect((await s.engine.consumers.get(group, 'rc')).isolation).toBe('read_committed');
    expect((await s.engine.consumers.get(`${group}-u`, 'ru')).isolation).toBe('read_uncommitted');
    expect((await s.engine.consumers.get(`${group}-d`, 'default')).isolation).toBe('read_uncommitted');
    // Only committed transactions are ever in the log: every level reads the committed record alone.
    for (const [g, name] of [[group, 'rc'], [`${group}-u`, 'ru']] as const) {
      expect(await pollValues(g, name, 1)).toEqual(['committed']);
      expect(await poll(g, name)).toEqual([]);
    }
    await end('abort');
  });
});

describe('consumer bad input', () => {
  it.each([
    ['an unknown instance', 'GET', '/consumers/nogroup/instances/nobody/records', undefined, 404, 40403],
    ['a schema-registry format', 'POST', '/consumers/g1', { format: 'avro' }, 422, 42204],
    ['an unknown format', 'POST', '/consumers/g1', { format: 'xml' }, 422, 42204],
    ['a bad auto.offset.reset', 'POST', '/consumers/g1', { 'auto.offset.reset': 'sometimes' }, 422, 42204],
    ['a fetch.min.bytes out of range', 'POST', '/consumers/g1', { 'fetch.min.bytes': '-5' }, 422, 40001],
    ['a non-numeric timeout', 'POST', '/consumers/g1', { 'consumer.request.timeout.ms': 'soon' }, 422, 42204],
    ['an unknown isolation.level', 'POST', '/consumers/g1', { 'isolation.level': 'read_dirty' }, 422, 42204],
    ['malformed JSON', 'POST', '/consumers/g1', '{"name":', 400, 400],
    ['a body that is not an object', 'POST', '/consumers/g1', '[1]', 422, 422],
    ['a bad group id', 'POST', '/consumers/bad%20group', {}, 400, 40002],
  ])('answers %s with its code', async (_what, method, path, body, status, code) => {
    const r = await api.request(method, path, body);
    expect(r.status).toBe(status);
    expect(r.body.error_code).toBe(code);
  });

  it('refuses a duplicate instance name with 40902', async () => {
    const group = randomTopic('dup');
    expect((await api.post(`/consumers/${group}`, { name: 'x' })).status).toBe(200);
    const again = await api.post(`/consumers/${group}`, { name: 'x' });
    expect(again.status).toBe(409);
    expect(again.body.error_code).toBe(40902);
  });

  it('answers 40601 when Accept does not match the instance format', async () => {
    const group = randomTopic('fmt');
    const topic = randomTopic('fmt');
    await api.post(`/consumers/${group}`, { name: 'x', format: 'binary' });
    await api.post(`/consumers/${group}/instances/x/subscription`, { topics: [topic] });
    const r = await api.get(`/consumers/${group}/instances/x/records`, { accept: JSON_V2 });
    expect(r.status).toBe(406);
    expect(r.body.error_code).toBe(40601);
  });

  it.each([
    ['subscription without topics', '/subscription', {}],
    ['subscription with both forms', '/subscription', { topics: ['a'], topic_pattern: 'a.*' }],
    ['assignments of a bad shape', '/assignments', { partitions: [{ topic: 'a' }] }],
    ['offsets of a bad shape', '/offsets', { offsets: [{ topic: 'a', partition: 'zero', offset: 1 }] }],
  ])('refuses %s with 422', async (_what, suffix, body) => {
    const group = randomTopic('shape');
    await api.post(`/consumers/${group}`, { name: 'x' });
    const r = await api.post(`/consumers/${group}/instances/x${suffix}`, body);
    expect(r.status).toBe(422);
    expect(r.body.error_code).toBe(422);
  });

  it.each([
    ['a backreference, which cannot run in linear time', '(a)\\1', /linear time/],
    ['a lookahead, which cannot run in linear time', '(?=a)a.*', /linear time/],
    ['a syntax error', '(', /Unterminated group/],
    ['a pattern that would escape the whole-name anchor', 'a)|(b', /Unmatched/],
    ['a pattern over 1,000 characters', 'a'.repeat(1001), /at most 1000/],
  ])('refuses a topic_pattern with %s with 40002 and subscribes to nothing', async (_what, pattern, why) => {
    const group = randomTopic('badpattern');
    await api.post(`/consumers/${group}`, { name: 'x' });
    const r = await api.post(`/consumers/${group}/instances/x/subscription`, { topic_pattern: pattern });
    expect(r.status).toBe(400);
    expect(r.body.error_code).toBe(40002);
    expect(r.body.message).toMatch(why);
    expect((await api.get(`/consumers/${group}/instances/x/subscription`)).body).toEqual({ topics: [] });
    const d = (await api.get(`/floe/v1/groups/${group}`)).body;
    expect([d.generation, d.members]).toEqual([0, []]);
  });

  it('refuses commits, seeks and assignments of topics or partitions that do not exist with 40401 and 40402, writing nothing', async () => {
    const topic = randomTopic('exists');
    const nosuch = randomTopic('nosuchtopic');
    const group = randomTopic('g');
    await createTopic(topic, 1);
    await api.post(`/consumers/${group}`, { name: 'm' });
    expect((await api.post(`/consumers/${group}/instances/m/assignments`, { partitions: [{ topic, partition: 0 }] })).status).toBe(204);
    const base = `/consumers/${group}/instances/m`;
    const cases: Array<[string, unknown, number]> = [
      ['/offsets', { offsets: [{ topic: nosuch, partition: 0, offset: 1 }] }, 40401],
      ['/offsets', { offsets: [{ topic, partition: 99, offset: 1 }] }, 40402],
      ['/offsets', { offsets: [{ topic, partition: 0, offset: 1 }, { topic, partition: 99, offset: 1 }] }, 40402],
      ['/positions', { offsets: [{ topic: nosuch, partition: 0, offset: 0 }] }, 40401],
      ['/positions', { offsets: [{ topic, partition: 99, offset: 0 }] }, 40402],
      ['/positions/beginning', { partitions: [{ topic: nosuch, partition: 0 }] }, 40401],
      ['/positions/end', { partitions: [{ topic, partition: 99 }] }, 40402],
      ['/assignments', { partitions: [{ topic: nosuch, partition: 0 }] }, 40401],
      ['/assignments', { partitions: [{ topic, partition: 99 }] }, 40402],
    ];
    for (const [suffix, body, code] of cases) {
      const r = await api.post(`${base}${suffix}`, body);
      expect([suffix, r.status, r.body.error_code]).toEqual([suffix, 404, code]);
    }
    const stored = await api.request('GET', `${base}/offsets`, { partitions: [{ topic: nosuch, partition: 0 }, { topic, partition: 99 }, { topic, partition: 0 }] });
    expect(stored.body).toEqual({ offsets: [] });
    expect((await api.get(`/floe/v1/groups/${group}`)).body.offsets).toEqual([]);
    expect((await api.get(`${base}/assignments`)).body).toEqual({ partitions: [{ topic, partition: 0 }] });
  });

  it('validates topic names when reading committed offsets as when committing them (40002)', async () => {
    const group = randomTopic('names');
    await api.post(`/consumers/${group}`, { name: 'm' });
    const read = await api.request('GET', `/consumers/${group}/instances/m/offsets`, { partitions: [{ topic: 'a/b', partition: 0 }] });
    expect([read.status, read.body.error_code]).toEqual([400, 40002]);
    const commit = await api.post(`/consumers/${group}/instances/m/offsets`, { offsets: [{ topic: 'a/b', partition: 0, offset: 1 }] });
    expect([commit.status, commit.body.error_code]).toEqual([400, 40002]);
  });
});

describe('records with timestamps and headers (include)', () => {
  it('adds timestamp and headers only when asked, and refuses an unknown field', async () => {
    const topic = randomTopic();
    const group = randomTopic('g');
    await createTopic(topic, 1);
    const produced = await api.post(`/floe/v1/topics/${topic}/records`, { records: [{ value: b64('v'), timestamp: 1_700_000_000_000, headers: [{ key: 'h', value: b64('x') }] }] }, { type: 'application/json' });
    expect(produced.status).toBe(200);
    await join(group, 'm', [topic]);
    const plain = await pollUntil(group, 'm', '');
    expect(Object.keys(plain[0]!).sort()).toEqual(['key', 'offset', 'partition', 'topic', 'value']);
    expect((await api.post(`/consumers/${group}/instances/m/positions/beginning`, { partitions: [{ topic, partition: 0 }] })).status).toBe(204);
    const rich = await pollUntil(group, 'm', '&include=timestamp,headers');
    expect(rich[0]).toMatchObject({ offset: 0, timestamp: 1_700_000_000_000, headers: [{ key: 'h', value: b64('x') }] });
    const bad = await api.get(`/consumers/${group}/instances/m/records?timeout=0&include=bogus`, { accept: BINARY });
    expect([bad.status, bad.body.error_code]).toEqual([400, 40002]);
  });

  async function pollUntil(group: string, instance: string, extra: string): Promise<any[]> {
    for (let i = 0; i < 20; i++) {
      const r = await api.get(`/consumers/${group}/instances/${instance}/records?timeout=300${extra}`, { accept: BINARY });
      expect(r.status).toBe(200);
      if (r.body.length > 0) return r.body;
    }
    throw new Error('no records');
  }
});
