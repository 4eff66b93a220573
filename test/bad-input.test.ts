import { describe, expect, it } from 'vitest';
import { randomTopic } from './support/env.ts';
import { b64, BINARY, JSON_V2, testApp } from './support/engine.ts';
import { appClient } from './support/http.ts';

const { app } = testApp();
const api = appClient(app, { type: BINARY });

async function endOffset(topic: string): Promise<number> {
  return (await api.get(`/topics/${topic}/partitions/0/offsets`)).body.end_offset;
}

/** A topic of its own for each test: one partition holding one record. */
async function topicWithARecord(): Promise<string> {
  const topic = randomTopic('bad');
  expect((await api.post(`/topics/${topic}`, { records: [{ value: b64('ok') }] })).status).toBe(200);
  return topic;
}

describe('bad input gets a 4xx with an error code, and writes nothing', () => {
  it.each([
    ['invalid JSON', '{"records": [', BINARY, 400, 400],
    ['invalid base64', JSON.stringify({ records: [{ value: b64('ok') }, { value: '***' }] }), BINARY, 400, 40002],
    ['empty records', JSON.stringify({ records: [] }), BINARY, 422, 422],
    ['records not an array', JSON.stringify({ records: 'x' }), BINARY, 422, 422],
    ['a body that is not an object', '[1,2]', BINARY, 422, 422],
    ['a negative partition', JSON.stringify({ records: [{ value: b64('x'), partition: -1 }] }), BINARY, 422, 422],
    ['a partition that does not exist', JSON.stringify({ records: [{ value: b64('x'), partition: 5 }] }), BINARY, 404, 40402],
    ['an unknown content type', JSON.stringify({ records: [{ value: b64('x') }] }), 'text/plain', 415, 415],
    ['a schema-registry format', JSON.stringify({ records: [{ value: 'x' }] }), 'application/vnd.kafka.avro.v2+json', 415, 415],
    ['JSON nested 5,000 deep', `{"records":[{"value":${'['.repeat(5000)}${']'.repeat(5000)}}]}`, JSON_V2, 422, 422],
  ])('%s', async (_what, body, type, status, code) => {
    const topic = await topicWithARecord();
    expect(await endOffset(topic)).toBe(1);
    const r = await api.post(`/topics/${topic}`, body, { type });
    expect(r.status).toBe(status);
    expect(r.body.error_code).toBe(code);
    expect(typeof r.body.message).toBe('string');
    expect(await endOffset(topic)).toBe(1);
  });

  it.each(['..%2Fx', '%2E%2E%2Fx', 'a%20b', 'x'.repeat(250), '%C3%A9t%C3%A9'])('refuses the topic name %j with 40002', async (name) => {
    const r = await api.post(`/topics/${name}`, { records: [{ value: b64('x') }] });
    expect(r.status).toBe(400);
    expect(r.body.error_code).toBe(40002);
    const get = await api.get(`/topics/${name}/partitions/0/records?offset=0`);
    expect(get.status).toBe(400);
  });

  it('refuses a request body over the size limit with 413', async () => {
    const topic = await topicWithARecord();
    const { api: small } = testApp({ FLOE_MAX_REQUEST_BYTES: '2048' });
    const r = await small.post(`/topics/${topic}`, { records: [{ value: b64('x'.repeat(4000)) }] }, { type: BINARY });
    expect(r.status).toBe(413);
    expect(r.body.error_code).toBe(413);
  });

  it.each([
    ['a negative offset', (t: string) => `/topics/${t}/partitions/0/records?offset=-1`, 400, 40002],
    ['a non-numeric offset', (t: string) => `/topics/${t}/partitions/0/records?offset=abc`, 400, 40002],
    ['no offset', (t: string) => `/topics/${t}/partitions/0/records`, 400, 40002],
    ['a negative partition', (t: string) => `/topics/${t}/partitions/-1/records?offset=0`, 404, 40402],
    ['a missing partition', (t: string) => `/topics/${t}/partitions/9/records?offset=0`, 404, 40402],
    ['a missing topic', () => `/topics/${randomTopic('none')}/partitions/0/records?offset=0`, 404, 40401],
    ['a bad timeout', (t: string) => `/topics/${t}/partitions/0/records?offset=0&timeout=-5`, 400, 40002],
    ['a missing topic (metadata)', () => `/topics/${randomTopic('none')}`, 404, 40401],
    ['a bad native isolation level', (t: string) => `/floe/v1/topics/${t}/partitions/0/records?offset=0&isolation_level=dirty`, 400, 40002],
    ['an unknown path', () => '/nope', 404, 404],
  ])('answers %s with its code', async (_what, path, status, code) => {
    const r = await api.get(path(await topicWithARecord()));
    expect(r.status).toBe(status);
    expect(r.body.error_code).toBe(code);
  });

  it('answers 406 when Accept allows nothing the resource can send', async () => {
    const topic = await topicWithARecord();
    const r = await api.get(`/topics/${topic}/partitions/0/records?offset=0`, { accept: 'text/html' });
    expect(r.status).toBe(406);
    expect(r.body.error_code).toBe(406);
  });

  it.each(['abc', '-1', '1.5', '99999999999'])('answers 40402 naming the partition %j that is not a partition number', async (p) => {
    const topic = await topicWithARecord();
    for (const path of [`/topics/${topic}/partitions/${p}`, `/topics/${topic}/partitions/${p}/offsets`, `/topics/${topic}/partitions/${p}/records?offset=0`]) {
      const r = await api.get(path);
      expect(r.status).toBe(404);
      expect(r.body.error_code).toBe(40402);
      expect(r.body.message).toContain(`"${p}"`);
    }
  });

  it('answers errors in the REST Proxy media type to clients that ask for it, else in plain JSON', async () => {
    const missing = randomTopic('none');
    const kafka = await api.get(`/topics/${missing}`, { accept: 'application/vnd.kafka.v2+json' });
    expect([kafka.status, kafka.headers.get('content-type')]).toEqual([404, 'application/vnd.kafka.v2+json']);
    expect(kafka.body.error_code).toBe(40401);
    const plain = await api.get(`/topics/${missing}`);
    expect([plain.status, plain.headers.get('content-type')]).toEqual([404, 'application/json']);
  });

  it('answers 405 for a known path with the wrong method', async () => {
    const topic = await topicWithARecord();
    const r = await api.delete(`/topics/${topic}/partitions/0/offsets`);
    expect(r.status).toBe(405);
    expect(r.body.error_code).toBe(405);
  });

  it('refuses bad acks', async () => {
    const topic = await topicWithARecord();
    const r = await api.post(`/topics/${topic}?acks=2`, { records: [{ value: b64('x') }] });
    expect(r.status).toBe(400);
    expect(r.body.error_code).toBe(40002);
  });
});

describe('v3 topic administration', () => {
  const v3 = '/v3/clusters/floe';
  const json = { type: 'application/json' };

  it('creates, reads, alters configs of and deletes a topic', async () => {
    const topic = randomTopic('admin');
    const created = await api.post(`${v3}/topics`, { topic_name: topic, partitions_count: 3, configs: [{ name: 'cleanup.policy', value: 'compact' }] }, json);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ kind: 'KafkaTopic', cluster_id: 'floe', topic_name: topic, partitions_count: 3 });
    expect((await api.get(`${v3}/topics/${topic}`)).body.partitions_count).toBe(3);
    expect((await api.get(`${v3}/topics`)).body.data.map((t: any) => t.topic_name)).toContain(topic);
    const again = await api.post(`${v3}/topics`, { topic_name: topic }, json);
    expect(again.status).toBe(400);
    expect(again.body.error_code).toBe(40002);

    const configs = await api.get(`${v3}/topics/${topic}/configs`);
    const policy = configs.body.data.find((c: any) => c.name === 'cleanup.policy');
    expect(policy).toMatchObject({ value: 'compact', is_default: false, source: 'DYNAMIC_TOPIC_CONFIG' });
    expect(configs.body.data.find((c: any) => c.name === 'retention.ms')).toMatchObject({ value: '604800000', is_default: true });

    expect((await api.put(`${v3}/topics/${topic}/configs/retention.ms`, { value: '1000' }, json)).status).toBe(204);
    expect((await api.get(`${v3}/topics/${topic}/configs/retention.ms`)).body.value).toBe('1000');
    expect(
      (await api.post(`${v3}/topics/${topic}/configs:alter`, { data: [{ name: 'retention.bytes', value: '5000' }, { name: 'cleanup.policy', operation: 'DELETE' }] }, json)).status,
    ).toBe(204);
    const v2 = await api.get(`/topics/${topic}`);
    expect(v2.body.configs).toMatchObject({ 'retention.ms': '1000', 'retention.bytes': '5000', 'cleanup.policy': 'delete' });

    expect((await api.delete(`${v3}/topics/${topic}`)).status).toBe(204);
    expect((await api.get(`${v3}/topics/${topic}`)).body.error_code).toBe(40401);
  });

  it('a re-created topic starts empty: partitions are keyed by topic id, not name', async () => {
    const topic = randomTopic('again');
    await api.post(`/topics/${topic}`, { records: [{ value: b64('old') }] });
    expect((await api.delete(`${v3}/topics/${topic}`)).status).toBe(204);
    await api.post(`${v3}/topics`, { topic_name: topic, partitions_count: 1 }, json);
    expect((await api.get(`/topics/${topic}/partitions/0/offsets`)).body).toEqual({ beginning_offset: 0, end_offset: 0 });
  });

  // Each with a name no topic has, so that only what is wrong with the request can refuse it.
  it.each([
    ['an unknown config', (name: string) => ({ topic_name: name, configs: [{ name: 'no.such', value: '1' }] })],
    ['a bad config value', (name: string) => ({ topic_name: name, configs: [{ name: 'retention.ms', value: 'soon' }] })],
    ['a bad cleanup policy', (name: string) => ({ topic_name: name, configs: [{ name: 'cleanup.policy', value: 'shred' }] })],
    ['zero partitions', (name: string) => ({ topic_name: name, partitions_count: 0 })],
    ['a bad topic name', () => ({ topic_name: '../x' })],
  ])('refuses %s with 40002', async (_what, body) => {
    const name = randomTopic('refused');
    const r = await api.post(`${v3}/topics`, body(name), json);
    expect(r.status).toBe(400);
    expect(r.body.error_code).toBe(40002);
    expect((await api.get(`${v3}/topics/${name}`)).status).toBe(404);
  });

  it('answers 404 for an unknown cluster id', async () => {
    expect((await api.get('/v3/clusters/other/topics')).status).toBe(404);
  });

  it('reports each record of a multi-record v3 produce, including a bad one, and writes the good ones', async () => {
    const topic = randomTopic('v3');
    const body = [
      JSON.stringify({ value: { type: 'STRING', data: 'one' } }),
      JSON.stringify({ value: { type: 'BINARY', data: '***' } }),
      JSON.stringify({ value: { type: 'JSON', data: [1] } }),
    ].join('\n');
    const r = await api.post(`${v3}/topics/${topic}/records`, body, { ...json, raw: true });
    expect(r.status).toBe(200);
    const reports = r.text.split('\n').map((l) => JSON.parse(l));
    expect(reports.map((x) => x.error_code)).toEqual([200, 400, 200]);
    expect(reports[0].offset).toBe(0);
    expect(reports[2].offset).toBe(1);
  });

  it.each([9e15, 1e15, 253_402_300_800_000, -1])('refuses the timestamp %d with 422 before writing anything (v3 and native)', async (ts) => {
    const topic = randomTopic('ts');
    await api.post('/v3/clusters/floe/topics', { topic_name: topic }, json);
    const v3r = await api.post(`${v3}/topics/${topic}/records`, { value: { type: 'STRING', data: 'x' }, timestamp: ts }, json);
    expect(v3r.status).toBe(422);
    const native = await api.post(`/floe/v1/topics/${topic}/records`, { records: [{ value: b64('x'), timestamp: ts }] }, json);
    expect(native.status).toBe(422);
    expect(await endOffset(topic)).toBe(0);
    // The latest accepted one round-trips.
    const ok = await api.post(`${v3}/topics/${topic}/records`, { value: { type: 'STRING', data: 'x' }, timestamp: 253_402_300_799_999 }, json);
    expect(ok.body.timestamp).toBe('9999-12-31T23:59:59.999Z');
  });

  it('refuses a v3 JSON value nested deeper than 1,000 levels with 422, not a stack overflow', async () => {
    const topic = randomTopic('v3deep');
    const body = `{"value":{"type":"JSON","data":${'['.repeat(5000)}${']'.repeat(5000)}}}`;
    const r = await api.post(`${v3}/topics/${topic}/records`, body, json);
    expect(r.status).toBe(422);
    expect(r.body.error_code).toBe(422);
    expect((await api.get(`/topics/${topic}`)).status).toBe(404);
  });
});

describe('a refused produce creates no topic', () => {
  it.each([
    ['a partition the new topic would not have', JSON.stringify({ records: [{ value: b64('x'), partition: 3 }] }), 404],
    ['a record over max.message.bytes', JSON.stringify({ records: [{ value: b64('x'.repeat(1_100_000)) }] }), 422],
  ])('%s', async (_what, body, status) => {
    const topic = randomTopic('nocreate');
    const r = await api.post(`/topics/${topic}`, body);
    expect(r.status).toBe(status);
    expect((await api.get(`/topics/${topic}`)).status).toBe(404);
  });
});
