// Many consumers at the end of one partition, served by one process: they share its head reads, index
// queries and GETs instead of each making its own, and each still reads what was acknowledged before
// it asked. The writer is another engine, as another process would be, so the readers see its appends
// only through storage.
import { describe, expect, it } from 'vitest';
import { countCalls } from './support/call-counter.ts';
import { randomTopic } from './support/env.ts';
import { testEngine } from './support/engine.ts';

describe('fan-out at the tail', () => {
  const writer = testEngine();
  const reader = testEngine();
  const calls = countCalls(reader.clients);
  const value = (s: string) => Buffer.from(s);

  it('50 long polls of one partition share the head reads, the index query and the GET of a new batch', async () => {
    const topic = randomTopic('fan');
    await writer.topics.create({ name: topic, partitions: 1 });
    await writer.producer.produce(topic, [{ key: null, value: value('first') }]);
    expect((await reader.fetcher.fetch({ topic, partition: 0, offset: 0 })).records).toHaveLength(1);

    calls.reset();
    const polls = Array.from({ length: 50 }, () => reader.fetcher.fetch({ topic, partition: 0, offset: 1, waitMs: 10_000 }));
    // Let the polls wait through a few intervals before anything arrives.
    await new Promise((r) => setTimeout(r, 700));
    const idleHeadReads = calls.get('dynamodb.GetItem');
    await writer.producer.produce(topic, [{ key: null, value: value('second') }]);
    const got = await Promise.all(polls);
    for (const r of got) expect(r.records.map((x) => x.value?.toString())).toEqual(['second']);

    // One process polling for 50: a few head reads an interval (5 a second), where each poll alone
    // would read the head at its start and every 200 ms (about 50 + 50 x 3 by now).
    expect(idleHeadReads).toBeLessThan(20);
    expect(calls.get('dynamodb.GetItem')).toBeLessThan(30);
    // The woken polls find the batch with shared index queries and read it with one GET.
    expect(calls.get('dynamodb.Query')).toBeLessThanOrEqual(4);
    expect(calls.get('s3.GetObject')).toBe(1);
    expect(reader.fetcher.tails.reads).toBeGreaterThan(0);
  });

  it('polls of several partitions share one head read a tick, and at most a GET per partition for the object their batches share', async () => {
    const topic = randomTopic('fan');
    await writer.topics.create({ name: topic, partitions: 4 });
    await writer.producer.produce(topic, [0, 1, 2, 3].map((p) => ({ key: null, value: value(`first-${p}`), partition: p })));
    for (const p of [0, 1, 2, 3]) expect((await reader.fetcher.fetch({ topic, partition: p, offset: 0 })).records).toHaveLength(1);

    calls.reset();
    const polls = [0, 1, 2, 3].flatMap((p) => Array.from({ length: 10 }, () => reader.fetcher.fetch({ topic, partition: p, offset: 1, waitMs: 10_000 })));
    await new Promise((r) => setTimeout(r, 700));
    // One produce request: one object holding a batch for each partition.
    await writer.producer.produce(topic, [0, 1, 2, 3].map((p) => ({ key: null, value: value(`second-${p}`), partition: p })));
    const got = await Promise.all(polls);
    got.forEach((r, i) => expect(r.records.map((x) => x.value?.toString())).toEqual([`second-${Math.floor(i / 10)}`]));

    // The watch reads the four heads with one BatchGetItem a tick (a few by now), not one GetItem each.
    expect(calls.get('dynamodb.BatchGetItem')).toBeGreaterThan(0);
    expect(calls.get('dynamodb.BatchGetItem')).toBeLessThan(15);
    expect(calls.get('dynamodb.GetItem')).toBeLessThan(10);
    // Each partition's ten polls share one GET; partitions whose index reads come back on the same turn
    // of the event loop share one GET of the object (how many do depends on timing, so not asserted).
    expect(calls.get('s3.GetObject')).toBeGreaterThan(0);
    expect(calls.get('s3.GetObject')).toBeLessThanOrEqual(4);
  });

  it('a fetch asked after a produce is acknowledged returns it, while other polls share reads', async () => {
    const topic = randomTopic('fan');
    await writer.topics.create({ name: topic, partitions: 1 });
    let stop = false;
    let offset = 0;
    // Background tails keep head reads and queries in flight all the time.
    const tails = Array.from({ length: 20 }, async () => {
      let at = 0;
      while (!stop) at = (await reader.fetcher.fetch({ topic, partition: 0, offset: at, waitMs: 300 })).nextOffset;
    });
    for (let i = 0; i < 30; i++) {
      const r = await writer.producer.produce(topic, [{ key: null, value: value(`v${i}`) }]);
      const ack = r.records[0]!;
      expect('offset' in ack && ack.offset).toBe(offset);
      const seen = await reader.fetcher.fetch({ topic, partition: 0, offset });
      expect(seen.records.map((x) => x.value?.toString())).toEqual([`v${i}`]);
      offset++;
    }
    stop = true;
    await Promise.all(tails);
    expect(reader.fetcher.heads.shared).toBeGreaterThan(0);
    expect(reader.fetcher.heads.pending).toBe(0);
    expect(reader.fetcher.index.pending).toBe(0);
  });
  it('a consumer near the tail reads every batch that arrived since its last fetch with one index query', async () => {
    const topic = randomTopic('fan');
    await writer.topics.create({ name: topic, partitions: 1 });
    await writer.producer.produce(topic, [{ key: null, value: value('first') }]);
    expect((await reader.fetcher.fetch({ topic, partition: 0, offset: 0 })).records).toHaveLength(1);
    // Six requests, six batches: more than a first index page holds.
    for (let i = 0; i < 6; i++) await writer.producer.produce(topic, [{ key: null, value: value(`next-${i}`) }, { key: null, value: value(`more-${i}`) }]);

    calls.reset();
    const r = await reader.fetcher.fetch({ topic, partition: 0, offset: 1 });
    expect(r.records.map((x) => x.offset)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(r.nextOffset).toBe(13);
    expect(calls.get('dynamodb.Query')).toBe(1);
    // From the middle of a batch: the batch holding the offset, then the rest, still one page of them.
    calls.reset();
    const mid = await reader.fetcher.fetch({ topic, partition: 0, offset: 4 });
    expect(mid.records.map((x) => x.offset)).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(calls.get('dynamodb.Query')).toBeLessThanOrEqual(2);
  });
});
