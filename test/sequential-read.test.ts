// A consumer reading a partition from far behind its end: its next fetch's index page and bytes are
// read ahead while it handles the current one, and what it reads far behind is kept apart from the
// cache of the tail, so one long read does not push out what the consumers at the end share.
import { describe, expect, it } from 'vitest';
import { countCalls } from './support/call-counter.ts';
import { randomTopic } from './support/env.ts';
import { testEngine } from './support/engine.ts';

describe('sequential readers', () => {
  const writer = testEngine();

  it('a sequential reader finds its next fetch read ahead: no index query and no GET of its own', async () => {
    const reader = testEngine();
    const calls = countCalls(reader.clients);
    const topic = randomTopic('ahead');
    await writer.topics.create({ name: topic, partitions: 1 });
    // Three requests, three batches in three objects; max_bytes of 90 lets each fetch take one batch (of about 85 bytes) and both its records.
    for (let i = 0; i < 3; i++) await writer.producer.produce(topic, [{ key: null, value: Buffer.from(`a-${i}`) }, { key: null, value: Buffer.from(`b-${i}`) }]);

    const first = await reader.fetcher.fetch({ topic, partition: 0, offset: 0, maxBytes: 90 });
    expect(first.records.map((r) => r.offset)).toEqual([0, 1]);
    // The second fetch starts where the first ended: a sequential reader, so the third is read ahead.
    const second = await reader.fetcher.fetch({ topic, partition: 0, offset: first.nextOffset, maxBytes: 90 });
    expect(second.records.map((r) => r.offset)).toEqual([2, 3]);
    // Its index page and GET, made before the third fetch is asked for (each fetch above made one of each).
    const end = Date.now() + 10_000;
    while ((calls.get('dynamodb.Query') < 3 || calls.get('s3.GetObject') < 3) && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    expect([calls.get('dynamodb.Query'), calls.get('s3.GetObject')]).toEqual([3, 3]);

    calls.reset();
    const third = await reader.fetcher.fetch({ topic, partition: 0, offset: second.nextOffset, maxBytes: 90 });
    expect(third.records.map((r) => [r.offset, r.value?.toString()])).toEqual([
      [4, 'a-2'],
      [5, 'b-2'],
    ]);
    // Only the head: nothing was left to read ahead after it.
    expect([calls.get('dynamodb.GetItem'), calls.get('dynamodb.Query'), calls.get('s3.GetObject')]).toEqual([1, 0, 0]);

    // A fetch from anywhere else reads for itself.
    calls.reset();
    expect((await reader.fetcher.fetch({ topic, partition: 0, offset: 2, maxBytes: 90 })).records.map((r) => r.offset)).toEqual([2, 3]);
    expect(calls.get('dynamodb.Query')).toBe(1);
  });

  it('keeps batches read far behind the end in a small cache of their own, and the tail in the main one', async () => {
    const reader = testEngine();
    const topic = randomTopic('behind');
    await writer.topics.create({ name: topic, partitions: 1, configs: { 'max.message.bytes': String(8 * 1024 * 1024) } });
    // 16,000 offsets in four batches of about 32 KB: the first ends more than 10,000 offsets behind the
    // end. max_bytes of 5,000 takes one batch a fetch, all its records.
    for (let i = 0; i < 4; i++) await writer.producer.produce(topic, Array.from({ length: 4000 }, () => ({ key: null, value: Buffer.from('x') })));

    const old = await reader.fetcher.fetch({ topic, partition: 0, offset: 0, maxBytes: 5000 });
    expect(old.records).toHaveLength(4000);
    expect(reader.fetcher.cache.bytes).toBe(0);
    expect(reader.fetcher.behind.bytes).toBeGreaterThan(0);
    // Read again soon after, it is served from there.
    const before = reader.fetcher.behind.hits;
    expect((await reader.fetcher.fetch({ topic, partition: 0, offset: 100, maxBytes: 5000 })).records[0]!.offset).toBe(100);
    expect(reader.fetcher.behind.hits).toBeGreaterThan(before);

    const tail = await reader.fetcher.fetch({ topic, partition: 0, offset: 12000, maxBytes: 5000 });
    expect(tail.records).toHaveLength(4000);
    expect(reader.fetcher.cache.bytes).toBeGreaterThan(0);
  });
});
