import { describe, expect, it } from 'vitest';
import { countCalls } from './support/call-counter.ts';
import { randomTopic } from './support/env.ts';
import { b64, testApp } from './support/engine.ts';

const { api, engine } = testApp();

const send = (topic: string, body: unknown) => api.post(`/floe/v1/topics/${topic}/records`, body);

async function newProducer(): Promise<number> {
  const { body } = await api.post('/floe/v1/producer-ids');
  expect(body.producer_epoch).toBe(0);
  return body.producer_id;
}

describe('idempotent producer', () => {
  it('hands out distinct producer ids', async () => {
    const ids = await Promise.all(Array.from({ length: 10 }, () => newProducer()));
    expect(new Set(ids).size).toBe(10);
  });

  it('writes a retried request once and answers it with the first offsets', async () => {
    const topic = randomTopic('idem');
    await engine.topics.create({ name: topic, partitions: 2 });
    const pid = await newProducer();
    const request = { producer_id: pid, producer_epoch: 0, sequence: 0, records: [{ value: b64('a'), partition: 0 }, { value: b64('b'), partition: 1 }, { value: b64('c'), partition: 0 }] };
    const first = await send(topic, request);
    expect(first.status).toBe(200);
    const counter = countCalls(engine.clients);
    counter.reset();
    const again = await send(topic, request);
    expect(again.body.records.map((r: any) => [r.partition, r.offset])).toEqual(first.body.records.map((r: any) => [r.partition, r.offset]));
    // The retry reads the state and writes nothing to DynamoDB.
    expect(counter.get('dynamodb.TransactWriteItems')).toBe(0);
    const next = await send(topic, { ...request, sequence: 1, records: [{ value: b64('d'), partition: 0 }] });
    expect(next.body.records[0].offset).toBe(2);
    const log = (await api.get(`/floe/v1/topics/${topic}/partitions/0/records?offset=0`)).body;
    expect(log.records.map((r: any) => Buffer.from(r.value, 'base64').toString())).toEqual(['a', 'c', 'd']);
  });

  it('writes a retried request of keyless records once, when another process serves the retry', async () => {
    const topic = randomTopic('idemkeyless');
    await engine.topics.create({ name: topic, partitions: 3 });
    const pid = await newProducer();
    const request = { producer_id: pid, producer_epoch: 0, sequence: 0, records: [{ value: b64('a') }, { value: b64('b') }] };
    const first = await send(topic, request);
    expect(first.status).toBe(200);
    // Each retry reaches a fresh process (another Lambda), whose keyless partitioner starts elsewhere.
    for (let i = 0; i < 4; i++) {
      const other = testApp().api;
      const r = await other.post(`/floe/v1/topics/${topic}/records`, request);
      const at = (records: any[]) => records.map((x) => [x.partition, x.offset]);
      expect(at(r.body.records)).toEqual(at(first.body.records));
    }
    let total = 0;
    for (let p = 0; p < 3; p++) total += (await api.get(`/topics/${topic}/partitions/${p}/offsets`)).body.end_offset;
    expect(total).toBe(2);
  });

  it('fences an older epoch and refuses a forgotten old sequence', async () => {
    const topic = randomTopic('fence');
    const pid = await newProducer();
    const base = { producer_id: pid, records: [{ value: b64('x') }] };
    expect((await send(topic, { ...base, producer_epoch: 0, sequence: 0 })).status).toBe(200);
    expect((await send(topic, { ...base, producer_epoch: 1, sequence: 0 })).status).toBe(200);
    const fenced = await send(topic, { ...base, producer_epoch: 0, sequence: 1 });
    expect(fenced.status).toBe(409);
    expect(fenced.body.error_code).toBe(40905);
    for (let s = 1; s <= 6; s++) expect((await send(topic, { ...base, producer_epoch: 1, sequence: s })).status).toBe(200);
    const old = await send(topic, { ...base, producer_epoch: 1, sequence: 0 });
    expect(old.status).toBe(422);
    expect(old.body.error_code).toBe(42206);
  });

  it('keeps sequences per partition: concurrent retries of one request commit it once', async () => {
    const topic = randomTopic('race');
    const pid = await newProducer();
    const request = { producer_id: pid, producer_epoch: 0, sequence: 0, records: Array.from({ length: 5 }, (_, i) => ({ value: b64(`v${i}`) })) };
    const answers = await Promise.all(Array.from({ length: 6 }, () => send(topic, request)));
    const ok = answers.filter((a) => a.status === 200);
    expect(ok.length).toBeGreaterThan(0);
    for (const a of ok) expect(a.body.records.map((r: any) => r.offset)).toEqual([0, 1, 2, 3, 4]);
    expect((await api.get(`/topics/${topic}/partitions/0/offsets`)).body).toEqual({ beginning_offset: 0, end_offset: 5 });
  });

  it.each([
    ['a missing sequence', { producer_id: 1, producer_epoch: 0, records: [{ value: 'eA==' }] }],
    ['a negative sequence', { producer_id: 1, producer_epoch: 0, sequence: -1, records: [{ value: 'eA==' }] }],
    ['an epoch over 16 bits', { producer_id: 1, producer_epoch: 40000, sequence: 0, records: [{ value: 'eA==' }] }],
    ['bad base64', { records: [{ value: '%%%' }] }],
  ])('refuses %s with a 4xx', async (_what, body) => {
    const r = await send(randomTopic('badidem'), body);
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
  });
});
