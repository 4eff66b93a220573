// @floe/client against a real server over HTTP and in direct mode (the same app in-process): the
// producer's batching, partitioning and idempotent retries, consumer groups with a rebalance, the admin,
// and errors mapped to classes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigResourceTypes, partitionForKey, TopicNotFoundError, type ConsumerEvent, type Floe, type KafkaMessage } from '../../packages/client/src/index.ts';
import { randomTopic } from '../support/env.ts';
import { DEFAULT_FAULTS, FaultInjector } from '../harness/faults.ts';
import { countingFetch, faultyFetch, readPartition, setUp, waitFor, type Mode, type Setup, FAST_RETRY, newTopic, suiteClient } from './support.ts';


describe.each<Mode>(['http', 'direct'])('client (%s)', (mode) => {
  const client = suiteClient(mode);
  const createTopic = (partitions: number) => newTopic(client.floe, 'client', partitions);

  it('gives each of many sends within one linger window its own offsets from one shared request', async () => {
    const topic = await createTopic(1);
    const producer = client.floe.producer({ lingerMs: 50 });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => producer.send({ topic, messages: [{ value: `v${i}a` }, { value: `v${i}b` }] })));
    // Sends made in this order got offsets in this order, two each, with none shared.
    const offsets = results.flatMap((r) => r.flatMap((m) => m.offsets));
    expect(offsets).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(results[3]).toEqual([{ topicName: topic, partition: 0, errorCode: 0, baseOffset: '6', logAppendTime: '-1', logStartOffset: '-1', offsets: [6, 7] }]);
    const read = await readPartition(client.floe, topic, 0);
    expect(read.map((r) => r.value)).toEqual(Array.from({ length: 10 }, (_, i) => [`v${i}a`, `v${i}b`]).flat());
    await producer.disconnect();
  });

  it('puts keyed messages on the murmur2 partition of their key and keyless ones of one batch on one partition', async () => {
    const topic = await createTopic(6);
    const producer = client.floe.producer({ lingerMs: 20 });
    const keys = Array.from({ length: 30 }, (_, i) => `key-${i}`);
    const meta = await producer.send({ topic, messages: keys.map((k) => ({ key: k, value: `for ${k}` })) });
    const keyless = await producer.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ value: `keyless ${i}` })) });
    expect(keyless).toHaveLength(1);
    await producer.disconnect();
    const seen = new Map<string, number>();
    for (let p = 0; p < 6; p++) for (const r of await readPartition(client.floe, topic, p)) if (r.key) seen.set(r.key, p);
    for (const k of keys) expect(seen.get(k), k).toBe(partitionForKey(Buffer.from(k), 6));
    expect(new Set(meta.map((m) => m.partition)).size).toBeGreaterThan(1);
  });

  it('carries headers and timestamps to a consumer, and gives a group two members that split a topic and one that takes all after the other leaves', async () => {
    const topic = await createTopic(4);
    const groupId = randomTopic('group');
    const producer = client.floe.producer();
    const ts = Date.UTC(2024, 0, 1);
    await producer.send({ topic, messages: Array.from({ length: 40 }, (_, i) => ({ partition: i % 4, value: `m${i}`, headers: { n: String(i) }, timestamp: ts + i })) });

    const got = { a: [] as KafkaMessage[], b: [] as KafkaMessage[] };
    const partitionsOf = { a: new Set<number>(), b: new Set<number>() };
    const joins = { a: [] as ConsumerEvent[], b: [] as ConsumerEvent[] };
    const make = (name: 'a' | 'b') => {
      const c = client.floe.consumer({ groupId, fromBeginning: true, heartbeatInterval: 300, maxWaitTimeInMs: 300 });
      c.on('consumer.group_join', (e) => joins[name].push(e));
      return c;
    };
    const a = make('a');
    const b = make('b');
    for (const [name, c] of [['a', a], ['b', b]] as const) {
      await c.connect();
      await c.subscribe({ topic });
      await c.run({
        eachMessage: async ({ partition, message }) => {
          got[name].push(message);
          partitionsOf[name].add(partition);
        },
      });
    }
    const assigned = (e: ConsumerEvent | undefined) => ((e?.payload.memberAssignment as Record<string, number[]>) ?? {})[topic] ?? [];
    await waitFor(() => assigned(joins.a.at(-1)).length === 2 && assigned(joins.b.at(-1)).length === 2, 15_000, 'a split assignment');
    await waitFor(() => got.a.length + got.b.length >= 40, 15_000, 'the first 40 records');
    await b.disconnect();
    await waitFor(() => assigned(joins.a.at(-1)).length === 4, 10_000, 'a to own every partition');
    const before = got.a.length;
    await producer.send({ topic, messages: Array.from({ length: 20 }, (_, i) => ({ partition: i % 4, value: `late${i}` })) });
    await waitFor(() => got.a.filter((m) => m.value!.toString().startsWith('late')).length >= 20, 15_000, 'a to read the late records');
    await a.disconnect();
    await producer.disconnect();

    const values = [...got.a, ...got.b].map((m) => m.value!.toString());
    for (let i = 0; i < 40; i++) expect(values).toContain(`m${i}`);
    // After the rebalance the late records of every partition, b's former ones included, reached a.
    const late = got.a.slice(before).filter((m) => m.value!.toString().startsWith('late'));
    expect(new Set(late.map((m) => m.value!.toString())).size).toBe(20);
    expect(new Set(late.map((m) => Number(m.value!.toString().slice(4)) % 4))).toEqual(new Set([0, 1, 2, 3]));
    expect(partitionsOf.b.size).toBeGreaterThan(0);
    const m7 = [...got.a, ...got.b].find((m) => m.value!.toString() === 'm7')!;
    expect(m7.headers.n!.toString()).toBe('7');
    expect(m7.timestamp).toBe(String(ts + 7));
    expect(joins.a[0]!.payload.groupId).toBe(groupId);
  });

  it('redelivers the message whose handler failed, tells it as a crash, and commits the next offset', async () => {
    const topic = await createTopic(1);
    const groupId = randomTopic('group');
    const producer = client.floe.producer();
    await producer.send({ topic, messages: ['a', 'b', 'c'].map((value) => ({ value })) });
    await producer.disconnect();
    const consumer = client.floe.consumer({ groupId, fromBeginning: true, maxWaitTimeInMs: 300 });
    const crashes: ConsumerEvent[] = [];
    consumer.on('consumer.crash', (e) => crashes.push(e));
    const seen: string[] = [];
    let failed = false;
    await consumer.subscribe({ topics: [topic] });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const v = message.value!.toString();
        if (v === 'b' && !failed) {
          failed = true;
          throw new Error('boom');
        }
        seen.push(v);
      },
    });
    await waitFor(() => seen.length >= 3, 10_000, 'all three values');
    await consumer.stop();
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(crashes).toHaveLength(1);
    expect((crashes[0]!.payload.error as Error).message).toBe('boom');
    const [offsets] = await client.floe.admin().fetchOffsets({ groupId, topics: [topic] });
    expect(offsets!.partitions).toEqual([{ partition: 0, offset: '3', metadata: null, lag: '0', high: '3' }]);
    await consumer.disconnect();
  });

  it('administers topics, configs, offsets and groups as kafkajs does', async () => {
    const admin = client.floe.admin();
    const topic = await createTopic(2);
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] })).toBe(false);
    expect(await admin.listTopics()).toContain(topic);
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(topics[0]!.partitions.map((p) => p.partitionId)).toEqual([0, 1]);

    const producer = client.floe.producer();
    const t0 = Date.now();
    await producer.send({ topic, messages: [{ partition: 0, value: 'x', timestamp: t0 - 10_000 }, { partition: 0, value: 'y', timestamp: t0 }, { partition: 1, value: 'z', timestamp: t0 }] });
    await producer.disconnect();
    expect(await admin.fetchTopicOffsets(topic)).toEqual([
      { partition: 0, offset: '2', high: '2', low: '0' },
      { partition: 1, offset: '1', high: '1', low: '0' },
    ]);
    expect(await admin.fetchTopicOffsetsByTimestamp(topic, t0 - 5_000)).toEqual([
      { partition: 0, offset: '1' },
      { partition: 1, offset: '0' },
    ]);

    await admin.alterConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] });
    const { resources } = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }] });
    expect(resources[0]!.configEntries).toEqual([expect.objectContaining({ configName: 'retention.ms', configValue: '3600000', isDefault: false })]);

    // A group that read partition 0 to its end, then left.
    const groupId = randomTopic('group');
    const consumer = client.floe.consumer({ groupId, fromBeginning: true, maxWaitTimeInMs: 300 });
    let read = 0;
    await consumer.subscribe({ topics: [topic] });
    await consumer.run({ eachMessage: async () => void read++ });
    await waitFor(() => read === 3, 10_000, 'three records');
    await consumer.disconnect();
    expect((await admin.listGroups()).groups.map((g) => g.groupId)).toContain(groupId);
    const { groups } = await admin.describeGroups([groupId]);
    expect(groups[0]).toMatchObject({ groupId, state: 'Empty', members: [] });

    await admin.resetOffsets({ groupId, topic, earliest: true });
    const [afterReset] = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(afterReset!.partitions.map((p) => [p.partition, p.offset, p.lag])).toEqual([
      [0, '0', '2'],
      [1, '0', '1'],
    ]);
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '1' }] });
    const [afterSet] = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(afterSet!.partitions[0]!.offset).toBe('1');
    // A group with a live member is not deleted; once empty it is, offsets and all.
    const member = client.floe.consumer({ groupId, maxWaitTimeInMs: 300 });
    await member.subscribe({ topics: [topic] });
    await member.run({ eachMessage: async () => undefined });
    await waitFor(async () => (await admin.describeGroups([groupId])).groups[0]!.members.length === 1, 10_000, 'a live member');
    await expect(admin.deleteGroups([groupId])).rejects.toMatchObject({ code: 40903 });
    await member.disconnect();
    expect(await admin.deleteGroups([groupId])).toEqual([{ groupId, errorCode: 'NONE' }]);
    expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain(groupId);
    await expect(admin.deleteGroups([groupId])).rejects.toMatchObject({ status: 404 });

    await admin.deleteTopics({ topics: [topic] });
    expect(await admin.listTopics()).not.toContain(topic);
    await expect(admin.fetchTopicOffsets(topic)).rejects.toBeInstanceOf(TopicNotFoundError);
  });
});

/** 90 sends, 30 per partition of a 3-partition topic, several requests in flight, none awaited before the next. */
async function sendNinetyInOrder(floe: Floe, topic: string, batchRecords: number): Promise<void> {
  const producer = floe.producer({ lingerMs: 2, maxInFlight: 3, batchRecords });
  const sends: Array<Promise<unknown>> = [];
  for (let i = 0; i < 90; i++) {
    sends.push(producer.send({ topic, messages: [{ partition: i % 3, value: `p${i % 3}-${i}` }] }));
    if (i % 10 === 9) await new Promise((r) => setTimeout(r, 3));
  }
  await Promise.all(sends);
  await producer.disconnect();
}

/** Each partition holds exactly its 30 sends, in send order, none twice. */
async function expectSendOrder(floe: Floe, topic: string): Promise<void> {
  for (let p = 0; p < 3; p++) {
    const values = (await readPartition(floe, topic, p)).map((r) => r.value);
    expect(values).toEqual(Array.from({ length: 30 }, (_, j) => `p${p}-${j * 3 + p}`));
  }
}

describe('client producer over HTTP, under faults', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setUp('http');
  });
  afterAll(() => s.close());

  it('sends all sends of one linger window in exactly one produce request', async () => {
    const counter = countingFetch();
    const floe = s.floe({ fetch: counter.fetch });
    const topic = randomTopic('client');
    await floe.admin().createTopics({ topics: [{ topic, numPartitions: 3 }] });
    const producer = floe.producer({ lingerMs: 50 });
    const sends = await Promise.all(Array.from({ length: 12 }, (_, i) => producer.send({ topic, messages: [{ key: `k${i}`, value: `v${i}` }] })));
    expect(counter.produces()).toBe(1);
    expect(sends.every((r) => r.length === 1 && r[0]!.offsets.length === 1)).toBe(true);
    // The next window is another request.
    await producer.send({ topic, messages: [{ value: 'later' }] });
    expect(counter.produces()).toBe(2);
    await producer.disconnect();
  });

  it('writes a request whose answer was lost once, with the first attempt offsets, when idempotent', async () => {
    const topic = randomTopic('client');
    const lost = faultyFetch((n) => (n === 0 ? 'after' : 'ok'));
    const floe = s.floe({ fetch: lost.fetch, retry: FAST_RETRY });
    await floe.admin().createTopics({ topics: [{ topic, numPartitions: 1 }] });
    const producer = floe.producer();
    const [meta] = await producer.send({ topic, messages: [{ value: 'once' }] });
    await producer.disconnect();
    expect(lost.faults.after).toBe(1);
    expect(meta!.offsets).toEqual([0]);
    expect((await readPartition(floe, topic, 0)).map((r) => r.value)).toEqual(['once']);
  });

  it('delivers every record when the answer to a consumer\'s first records call is lost', async () => {
    const topic = randomTopic('client');
    const plain = s.floe();
    await plain.admin().createTopics({ topics: [{ topic, numPartitions: 2 }] });
    const producer = plain.producer();
    await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `m${i}`, partition: i % 2 })) });
    await producer.disconnect();
    // The first records call that carries records is answered by the server, which moves the
    // instance's positions on, and its answer never arrives.
    let lostOne = false;
    const losing = (async (input: string | URL | Request, init?: RequestInit) => {
      const res = await fetch(input, init);
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (!lostOne && /\/records$/.test(new URL(url).pathname) && /\/consumers\//.test(url)) {
        const body = await res.clone().text();
        if (body.startsWith('[{')) {
          lostOne = true;
          throw new TypeError('fetch failed (injected: answer lost)');
        }
      }
      return res;
    }) as typeof fetch;
    const floe = s.floe({ fetch: losing, retry: FAST_RETRY });
    const consumer = floe.consumer({ groupId: randomTopic('g'), fromBeginning: true });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const seen: string[] = [];
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`timed out with ${seen.join(',')}`)), 20_000);
      consumer
        .run({
          eachMessage: async ({ message }) => {
            seen.push(message.value!.toString());
            if (seen.length >= 10) {
              clearTimeout(timer);
              done();
            }
          },
        })
        .catch(fail);
    });
    await consumer.disconnect();
    expect(lostOne).toBe(true);
    expect([...new Set(seen)].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`).sort());
  });

  it('writes such a request twice without idempotence (what the sequence prevents)', async () => {
    const topic = randomTopic('client');
    const lost = faultyFetch((n) => (n === 0 ? 'after' : 'ok'));
    const floe = s.floe({ fetch: lost.fetch, retry: FAST_RETRY });
    await floe.admin().createTopics({ topics: [{ topic, numPartitions: 1 }] });
    const producer = floe.producer({ idempotent: false });
    await producer.send({ topic, messages: [{ value: 'twice' }] });
    await producer.disconnect();
    expect((await readPartition(floe, topic, 0)).map((r) => r.value)).toEqual(['twice', 'twice']);
  });

  it('keeps every partition in send order with no duplicates while requests fail and answers are lost, several in flight', async () => {
    const topic = randomTopic('client');
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const faulty = faultyFetch(() => {
      const x = random();
      return x < 0.2 ? 'before' : x < 0.4 ? 'after' : 'ok';
    });
    const floe = s.floe({ fetch: faulty.fetch, retry: { retries: 20, initialRetryTime: 10, maxRetryTime: 100 } });
    await floe.admin().createTopics({ topics: [{ topic, numPartitions: 3 }] });
    await sendNinetyInOrder(floe, topic, 4);
    expect(faulty.faults.before + faulty.faults.after).toBeGreaterThan(5);
    await expectSendOrder(floe, topic);
  });
});

describe('client producer against a server whose storage fails (the fault harness)', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setUp('http');
  });
  afterAll(() => s.close());

  it('keeps every partition in send order with no duplicates while DynamoDB and S3 calls fail, time out after applying, and throttle', async () => {
    const floe = s.floe({ retry: { retries: 30, initialRetryTime: 10, maxRetryTime: 200 } });
    const topic = randomTopic('client');
    await floe.admin().createTopics({ topics: [{ topic, numPartitions: 3 }] });
    // The storage calls of the server's engine fail as in the fault runs: connection resets, answers
    // lost after the write applied, throttling, 500s, latency. The server answers 50003 (retriable) or
    // 500s, and the producer resends the same sequence.
    const injector = new FaultInjector({ seed: 42, rates: { ...DEFAULT_FAULTS, loseResponse: 0.05 } }).attach(s.server!.engine.clients);
    await sendNinetyInOrder(floe, topic, 5);
    injector.enabled = false;
    expect(injector.total).toBeGreaterThan(5);
    await expectSendOrder(floe, topic);
  });
});

describe('client errors', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setUp('http', { FLOE_AUTO_CREATE_TOPICS: 'false' });
  });
  afterAll(() => s.close());

  it('rejects a send to a missing topic with TopicNotFoundError when auto-create is off', async () => {
    const producer = s.floe().producer();
    const err = await producer.send({ topic: randomTopic('missing'), messages: [{ value: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TopicNotFoundError);
    expect((err as TopicNotFoundError).code).toBe(40401);
    expect((err as TopicNotFoundError).retriable).toBe(false);
  });
});
