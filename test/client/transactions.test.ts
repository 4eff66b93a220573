// Transactions in @floe/client against a real server over HTTP and in direct mode: a commit over two
// topics read by a read_committed consumer, an abort that leaves nothing, group offsets that move only
// with a commit, the fencing of an older producer of the same transactionalId, and the client's refusals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidTransactionStateError, ProducerFencedError, type Floe, type KafkaMessage } from '../../packages/client/src/index.ts';
import { randomTopic } from '../support/env.ts';
import { countingFetch, faultyFetch, setUp, waitFor, type Mode, type Setup, FAST_RETRY, newTopic, suiteClient } from './support.ts';


/** Every value of a partition, read at the given isolation level through the native API. */
async function values(floe: Floe, topic: string, partition: number, isolation: 'read_committed' | 'read_uncommitted' = 'read_committed'): Promise<string[]> {
  const r = await floe.request<{ records: Array<{ value: string | null }> }>('GET', `/floe/v1/topics/${topic}/partitions/${partition}/records`, {
    query: { offset: 0, isolation_level: isolation, max_records: 10_000 },
  });
  return r.records.map((x) => (x.value === null ? '' : Buffer.from(x.value, 'base64').toString()));
}

describe.each<Mode>(['http', 'direct'])('client transactions (%s)', (mode) => {
  const client = suiteClient(mode);
  const createTopic = (partitions: number) => newTopic(client.floe, 'ctxn', partitions);

  it('publishes sends to two topics at the commit, all at once, to a read_committed consumer', async () => {
    const orders = await createTopic(2);
    const audit = await createTopic(1);
    const producer = client.floe.producer({ transactionalId: randomTopic('tid'), transactionTimeout: 30_000 });
    await producer.connect();
    const txn = await producer.transaction();
    expect(txn.isActive()).toBe(true);
    const meta = await txn.send({ topic: orders, messages: [{ value: 'o0', partition: 0 }, { value: 'o1', partition: 1 }, { value: 'o2', partition: 0 }] });
    expect(meta.map((m) => [m.partition, m.baseOffset, m.offsets])).toEqual([[0, '-1', []], [1, '-1', []]]);
    await txn.sendBatch({ topicMessages: [{ topic: audit, messages: [{ key: 'k', value: 'a0' }] }, { topic: orders, messages: [{ value: 'o3', partition: 1 }] }] });
    // Open: nothing of it is in either log.
    for (const [t, p] of [[orders, 0], [orders, 1], [audit, 0]] as const) expect(await values(client.floe, t, p, 'read_uncommitted')).toEqual([]);
    await txn.commit();
    expect(txn.isActive()).toBe(false);

    const got: Array<{ topic: string; message: KafkaMessage }> = [];
    const consumer = client.floe.consumer({ groupId: randomTopic('ctxng'), fromBeginning: true, isolationLevel: 'read_committed', maxWaitTimeInMs: 300, heartbeatInterval: 300 });
    await consumer.connect();
    await consumer.subscribe({ topics: [orders, audit] });
    await consumer.run({ eachMessage: async ({ topic, message }) => void got.push({ topic, message }) });
    await waitFor(() => got.length >= 5, 15_000, 'the five committed records');
    await consumer.disconnect();
    const seen = (t: string) => got.filter((g) => g.topic === t).map((g) => g.message.value!.toString()).sort();
    expect(seen(orders)).toEqual(['o0', 'o1', 'o2', 'o3']);
    expect(seen(audit)).toEqual(['a0']);
    expect(await values(client.floe, orders, 0)).toEqual(['o0', 'o2']);
    expect(await values(client.floe, orders, 1)).toEqual(['o1', 'o3']);
    await producer.disconnect();
  });

  it('leaves nothing of an aborted transaction, and the next one of the same producer commits', async () => {
    const topic = await createTopic(2);
    const producer = client.floe.producer({ transactionalId: randomTopic('tid') });
    await producer.connect();
    const dropped = await producer.transaction();
    await dropped.send({ topic, messages: [{ value: 'dropped-0', partition: 0 }, { value: 'dropped-1', partition: 1 }] });
    await dropped.abort();
    expect(dropped.isActive()).toBe(false);
    await expect(dropped.send({ topic, messages: [{ value: 'late' }] })).rejects.toBeInstanceOf(InvalidTransactionStateError);
    await expect(dropped.commit()).rejects.toBeInstanceOf(InvalidTransactionStateError);
    const kept = await producer.transaction();
    await kept.send({ topic, messages: [{ value: 'kept', partition: 0 }] });
    await kept.commit();
    for (const isolation of ['read_committed', 'read_uncommitted'] as const) {
      expect(await values(client.floe, topic, 0, isolation)).toEqual(['kept']);
      expect(await values(client.floe, topic, 1, isolation)).toEqual([]);
    }
    // A transaction with nothing in it ends without a call, after an abort as after a commit.
    const empty = await producer.transaction();
    await empty.commit();
    await producer.disconnect();
  });

  it("moves the group's offsets with sendOffsets only when the transaction commits", async () => {
    const source = await createTopic(2);
    const groupId = randomTopic('ctxng');
    const admin = client.floe.admin();
    const committed = async () => (await admin.fetchOffsets({ groupId, topics: [source] }))[0]!.partitions.map((p) => p.offset);
    const producer = client.floe.producer({ transactionalId: randomTopic('tid') });
    await producer.connect();
    const aborted = await producer.transaction();
    await aborted.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: source, partitions: [{ partition: 0, offset: '7' }, { partition: 1, offset: 9 }] }] });
    await aborted.abort();
    expect(await committed()).toEqual(['-1', '-1']);
    const txn = await producer.transaction();
    await txn.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: source, partitions: [{ partition: 0, offset: '3' }] }] });
    await txn.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: source, partitions: [{ partition: 0, offset: '4' }, { partition: 1, offset: 2 }] }] });
    await txn.commit();
    // The last sendOffsets of a partition wins.
    expect(await committed()).toEqual(['4', '2']);
    await producer.disconnect();
  });

  it('fences the older of two producers with one transactionalId: its send and its commit reject with ProducerFencedError', async () => {
    const topic = await createTopic(1);
    const transactionalId = randomTopic('tid');
    const first = client.floe.producer({ transactionalId });
    await first.connect();
    const zombie = await first.transaction();
    await zombie.send({ topic, messages: [{ value: 'zombie-open' }] });

    const second = client.floe.producer({ transactionalId });
    await second.connect();
    const late = zombie.send({ topic, messages: [{ value: 'zombie-late' }] });
    await expect(late).rejects.toBeInstanceOf(ProducerFencedError);
    await expect(late).rejects.toMatchObject({ code: 40905, retriable: false });
    expect(zombie.isActive()).toBe(false);
    await expect(first.transaction()).rejects.toBeInstanceOf(ProducerFencedError);

    const current = await second.transaction();
    await current.send({ topic, messages: [{ value: 'second' }] });
    // A third producer takes the id while the second's transaction is open: its commit is refused.
    const third = client.floe.producer({ transactionalId });
    await third.connect();
    await expect(current.commit()).rejects.toBeInstanceOf(ProducerFencedError);
    const last = await third.transaction();
    await last.send({ topic, messages: [{ value: 'third' }] });
    await last.commit();
    expect(await values(client.floe, topic, 0)).toEqual(['third']);
    for (const p of [first, second, third]) await p.disconnect();
  });

  it('refuses what kafkajs refuses: a plain send of a transactional producer, a transaction of a plain one, two at once', async () => {
    const topic = await createTopic(1);
    const plain = client.floe.producer();
    await expect(plain.transaction()).rejects.toBeInstanceOf(InvalidTransactionStateError);
    const producer = client.floe.producer({ transactionalId: randomTopic('tid') });
    await producer.connect();
    await expect(producer.send({ topic, messages: [{ value: 'x' }] })).rejects.toThrow(/only in a transaction/);
    const txn = await producer.transaction();
    await expect(producer.send({ topic, messages: [{ value: 'x' }] })).rejects.toThrow(/send through it/);
    await expect(producer.sendBatch({ topicMessages: [{ topic, messages: [{ value: 'x' }] }] })).rejects.toBeInstanceOf(InvalidTransactionStateError);
    await expect(producer.transaction()).rejects.toBeInstanceOf(InvalidTransactionStateError);
    await expect(txn.sendOffsets({ consumerGroupId: 'g', topics: [{ topic, partitions: [{ partition: 0, offset: 'soon' }] }] })).rejects.toThrow(/non-negative integer/);
    expect(() => client.floe.producer({ transactionalId: 'x', idempotent: false })).toThrow(/idempotent/);
    await txn.abort();
    await producer.disconnect();
    await plain.disconnect();
  });
});

describe('client transactions over HTTP, under faults', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setUp('http');
  });
  afterAll(() => s.close());

  it('stages a send whose answer was lost once: the retry reuses its sequence and the record is published once', async () => {
    const topic = randomTopic('ctxn');
    const lost = faultyFetch((n) => (n === 0 ? 'after' : 'ok'));
    const floe = s.floe({ fetch: lost.fetch, retry: FAST_RETRY });
    await floe.admin().createTopics({ topics: [{ topic, numPartitions: 1 }] });
    const producer = floe.producer({ transactionalId: randomTopic('tid') });
    await producer.connect();
    const txn = await producer.transaction();
    await txn.send({ topic, messages: [{ value: 'once' }] });
    await txn.send({ topic, messages: [{ value: 'twice' }] });
    await txn.commit();
    expect(lost.faults.after).toBe(1);
    expect(await values(floe, topic, 0)).toEqual(['once', 'twice']);
    await producer.disconnect();
  });

  it('sends one request per send, in order, whatever maxInFlightRequests', async () => {
    const topic = randomTopic('ctxn');
    const counter = countingFetch();
    const floe = s.floe({ fetch: counter.fetch, retry: FAST_RETRY });
    await floe.admin().createTopics({ topics: [{ topic, numPartitions: 1 }] });
    const producer = floe.producer({ transactionalId: randomTopic('tid'), maxInFlightRequests: 5 });
    await producer.connect();
    const txn = await producer.transaction();
    await Promise.all(Array.from({ length: 6 }, (_, i) => txn.send({ topic, messages: [{ value: `v${i}` }] })));
    await txn.commit();
    expect(counter.produces()).toBe(6);
    expect(await values(floe, topic, 0)).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'v5']);
    await producer.disconnect();
  });
});
