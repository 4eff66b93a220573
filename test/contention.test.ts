// Many producers on one partition, each its own process (its own engine, as separate Lambda instances
// are): offsets come from allocations that cannot lose a race, and the high watermark is the contiguous
// committed prefix. A producer that dies or stalls between allocation and commit leaves a hole that is
// filled with an empty batch past the hole deadline: readers wait at most that long, and the stalled
// writer's records are never acknowledged at the offsets it was handed.
import { describe, expect, it } from 'vitest';
import type { ProducedRecord } from '../src/produce/produce.ts';
import { runCompaction } from '../src/jobs/compaction.ts';
import { MERGE_MIN_AGE_MS } from '../src/model/lifetimes.ts';
import { partitionKey } from '../src/storage/keys.ts';
import { countCalls } from './support/call-counter.ts';
import { testEngine } from './support/engine.ts';
import { randomTopic } from './support/env.ts';

const value = (s: string) => Buffer.from(s);
const offsetOf = (r: { records: Array<ProducedRecord | { error: unknown }> }, i = 0) => (r.records[i] as ProducedRecord).offset;

/** Every record of the partition from the start, read through the fetch path. */
async function readAll(engine: ReturnType<typeof testEngine>, topic: string, partition = 0) {
  const out: Array<{ offset: number; value: string }> = [];
  let offset = 0;
  for (;;) {
    const r = await engine.fetcher.fetch({ topic, partition, offset, maxBytes: 4 * 1024 * 1024 });
    for (const x of r.records) out.push({ offset: x.offset, value: x.value!.toString() });
    if (r.nextOffset >= r.highWatermark) return { records: out, highWatermark: r.highWatermark };
    offset = r.nextOffset;
  }
}

/** Delays the first `count` calls of one command by `ms` (after which they are sent as usual). */
function delayCalls(engine: ReturnType<typeof testEngine>, command: string, ms: number, count = 1): void {
  let left = count;
  engine.clients.ddb.middlewareStack.add(
    ((next: (a: unknown) => Promise<unknown>, ctx: { commandName?: string }) => async (args: unknown) => {
      if (ctx.commandName === command && left > 0) {
        left--;
        await new Promise((r) => setTimeout(r, ms));
      }
      return next(args);
    }) as never,
    { step: 'initialize', name: `delay${command}` },
  );
}

describe('commits under contention', () => {
  it('gives 24 producers in separate processes on one partition distinct, contiguous offsets with no lost race', async () => {
    const topic = randomTopic('contend');
    const admin = testEngine();
    await admin.topics.create({ name: topic, partitions: 1 });
    await admin.producer.produce(topic, [{ key: null, value: value('first') }]);
    const engines = Array.from({ length: 24 }, () => testEngine({ FLOE_GROUP_COMMIT_MS: '0' }));
    for (const e of engines) await e.topics.resolve(topic);
    const counters = engines.map((e) => countCalls(e.clients));
    const rounds = 4;
    const results = await Promise.all(
      engines.map(async (e, i) => {
        const mine: Array<{ offset: number; value: string }> = [];
        for (let r = 0; r < rounds; r++) {
          const v = `p${i}-r${r}`;
          const res = await e.producer.produce(topic, [{ key: null, value: value(v), partition: 0 }]);
          mine.push({ offset: offsetOf(res), value: v });
        }
        return mine;
      }),
    );
    const acked = results.flat().sort((a, b) => a.offset - b.offset);
    expect(acked.map((a) => a.offset)).toEqual(Array.from({ length: 24 * rounds }, (_, i) => i + 1));
    // One commit per request (a one-batch request's is a conditional put of its entry): no commit was
    // tried twice (a race on the head would have retried).
    const commits = counters.reduce((n, c) => n + c.get('dynamodb.TransactWriteItems') + c.get('dynamodb.PutItem'), 0);
    expect(commits).toBe(24 * rounds);
    const { records, highWatermark } = await readAll(admin, topic);
    expect(highWatermark).toBe(24 * rounds + 1);
    expect(records.slice(1)).toEqual(acked);
  });

  it('fills the range of a producer that died after its allocation: a reader waits about the hole deadline, then reads on', async () => {
    const holeFillMs = 400;
    const topic = randomTopic('hole');
    const writer = testEngine({ FLOE_HOLE_FILL_MS: String(holeFillMs) });
    const reader = testEngine({ FLOE_HOLE_FILL_MS: String(holeFillMs) });
    const t = await writer.topics.create({ name: topic, partitions: 1 });
    await writer.producer.produce(topic, [{ key: null, value: value('before') }]);
    // The dead producer: handed offsets 1..3, never commits.
    const at = Date.now();
    await writer.log.allocate(partitionKey(t.id, 0), { count: 3, maxTimestamp: at, at, tag: 'dead' }, async () => undefined);
    // A later producer commits right away, but its records sit above the hole: not acknowledged yet.
    const started = Date.now();
    const later = writer.producer.produce(topic, [{ key: null, value: value('after') }]);
    // A reader at the tail sees nothing beyond offset 1 until the hole is filled, then the record.
    const polled = await reader.fetcher.fetch({ topic, partition: 0, offset: 1, waitMs: 5000 });
    const waited = Date.now() - started;
    const res = await later;
    expect(offsetOf(res)).toBe(4);
    expect(waited).toBeGreaterThanOrEqual(holeFillMs - 50);
    expect(polled.records.map((r) => r.value!.toString())).toEqual(['after']);
    expect(polled.records[0]!.offset).toBe(4);
    expect(writer.watermarks.holesFilled + reader.watermarks.holesFilled).toBe(1);
    // The hole is one empty batch over 1..3: the log reads on past it.
    const all = await readAll(reader, topic);
    expect(all.records).toEqual([
      { offset: 0, value: 'before' },
      { offset: 4, value: 'after' },
    ]);
    const [hole] = await reader.log.entriesFrom(partitionKey(t.id, 0), 1, 1);
    expect(hole).toMatchObject({ baseOffset: 1, lastOffset: 3, recordCount: 0 });
  });

  it('never acknowledges a writer too slow for the hole deadline at the offsets others gave up: it commits again at new ones', async () => {
    const holeFillMs = 300;
    const topic = randomTopic('slow');
    const slow = testEngine({ FLOE_HOLE_FILL_MS: String(holeFillMs) });
    const other = testEngine({ FLOE_HOLE_FILL_MS: String(holeFillMs) });
    await slow.topics.create({ name: topic, partitions: 1 });
    await slow.producer.produce(topic, [{ key: null, value: value('first') }]);
    await other.topics.resolve(topic);
    // The slow writer's first commit (a transaction, or a one-batch request's put of its entry alone)
    // reaches DynamoDB well past the deadline of its range.
    delayCalls(slow, 'PutItemCommand', holeFillMs * 4);
    delayCalls(slow, 'TransactWriteItemsCommand', holeFillMs * 4);
    const slowSend = slow.producer.produce(topic, [{ key: null, value: value('slow') }]);
    await new Promise((r) => setTimeout(r, 50));
    // Another producer behind it fills the slow range once it is past the deadline, and is acknowledged.
    const fast = await other.producer.produce(topic, [{ key: null, value: value('fast') }]);
    expect(offsetOf(fast)).toBe(2);
    const s = await slowSend;
    // The slow writer's range (offset 1) was given up; it was acknowledged at a new one.
    expect(offsetOf(s)).toBe(3);
    const all = await readAll(other, topic);
    expect(all.records).toEqual([
      { offset: 0, value: 'first' },
      { offset: 2, value: 'fast' },
      { offset: 3, value: 'slow' },
    ]);
  });

  it('keeps a given-up key taken through merges: a slow writer whose range was filled and merged away commits elsewhere, readable', async () => {
    const holeFillMs = 300;
    const topic = randomTopic('pinned');
    const slow = testEngine({ FLOE_HOLE_FILL_MS: String(holeFillMs) });
    const other = testEngine({ FLOE_HOLE_FILL_MS: String(holeFillMs) });
    const t = await slow.topics.create({ name: topic, partitions: 1 });
    await slow.producer.produce(topic, [{ key: null, value: value('first') }]);
    await other.topics.resolve(topic);
    // The slow writer's commit reaches DynamoDB only after its range was filled, and the filled batch
    // merged with its neighbours (a merge as the fault runs make them, of batches of any age).
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let held = false;
    slow.clients.ddb.middlewareStack.add(
      ((next: (a: unknown) => Promise<unknown>, ctx: { commandName?: string }) => async (args: unknown) => {
        if ((ctx.commandName === 'PutItemCommand' || ctx.commandName === 'TransactWriteItemsCommand') && !held) {
          held = true;
          await gate;
        }
        return next(args);
      }) as never,
      { step: 'initialize', name: 'holdCommit' },
    );
    const slowSend = slow.producer.produce(topic, [{ key: null, value: value('slow') }]);
    await new Promise((r) => setTimeout(r, 50));
    for (const v of ['a', 'b', 'c']) await other.producer.produce(topic, [{ key: null, value: value(v) }]);
    expect(other.watermarks.holesFilled).toBe(1);
    const merged = await runCompaction(other, { now: Date.now() + 10 * MERGE_MIN_AGE_MS });
    expect(merged.rewrote.batches).toBeGreaterThan(0);
    release();
    const s = await slowSend;
    const all = await readAll(other, topic);
    // Acknowledged where it can be read, and the index still tiles the log.
    expect(all.records.find((r) => r.value === 'slow')?.offset).toBe(offsetOf(s));
    expect(all.records.map((r) => r.value)).toEqual(['first', 'a', 'b', 'c', 'slow']);
    const entries = await other.log.entriesBetween(partitionKey(t.id, 0), 0, all.highWatermark - 1);
    entries.forEach((e, i) => expect(e.baseOffset).toBe(i === 0 ? 0 : entries[i - 1]!.lastOffset + 1));
  });

  it('gives up at once a range whose allocation was applied twice after a lost answer, without waiting for the deadline', async () => {
    const topic = randomTopic('twice');
    // A deadline far longer than this test may take: only the writer's own abandoning can free the range.
    const engine = testEngine({ FLOE_HOLE_FILL_MS: '60000' });
    await engine.topics.create({ name: topic, partitions: 1 });
    await engine.producer.produce(topic, [{ key: null, value: value('first') }]);
    let armed = true;
    engine.clients.ddb.middlewareStack.add(
      ((next: (a: unknown) => Promise<unknown>, ctx: { commandName?: string }) => async (args: unknown) => {
        // The allocation applied, its answer lost: the SDK sends it again, it is applied again, and the
        // answer of the second is the one the writer gets.
        if (armed && ctx.commandName === 'UpdateItemCommand') {
          armed = false;
          await next(args);
        }
        return next(args);
      }) as never,
      { step: 'initialize', name: 'applyTwice' },
    );
    const started = Date.now();
    const r = await engine.producer.produce(topic, [{ key: null, value: value('second') }]);
    expect(Date.now() - started).toBeLessThan(5000);
    const all = await readAll(engine, topic);
    expect(all.records.map((x) => x.value)).toEqual(['first', 'second']);
    expect(all.records[1]!.offset).toBe(offsetOf(r));
    expect(all.highWatermark).toBe(3);
    expect(engine.watermarks.holesFilled).toBe(1);
  });

  it('refuses a produce to a deleted topic whose partitions had heads: nothing is allocated', async () => {
    const topic = randomTopic('gone');
    const engine = testEngine();
    const other = testEngine();
    const t = await engine.topics.create({ name: topic, partitions: 2 });
    await engine.producer.produce(topic, [{ key: null, value: value('a'), partition: 0 }, { key: null, value: value('b'), partition: 1 }]);
    await engine.topics.resolve(topic);
    await other.topics.delete(topic);
    // The engine's topic cache still has it: the closed heads refuse the allocation.
    await expect(engine.producer.produce(topic, [{ key: null, value: value('late'), partition: 0 }])).rejects.toThrow(/was deleted while the produce was in flight; nothing was written/);
    const head = await engine.log.getHead(t.id, 0);
    expect(head).toMatchObject({ gone: true, highWatermark: 1, allocatedEnd: 1 });
  });
});
