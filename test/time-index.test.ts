// The time index (ListOffsets by time) holds only some index entries: a writer puts an entry into it
// at the first of each second and at least every TIME_INDEX_EVERY-th, the rest carry the same key
// outside the index. A lookup starts at the newest indexed entry older than the timestamp and reads on
// by offset. These tests hold every lookup to the answer of a scan over all entries, for timestamps
// that rise, stall, fall back and come from several writers, and hold the index to its sparseness.
import { describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/engine.ts';
import { runCompaction } from '../src/jobs/compaction.ts';
import { MERGE_MIN_AGE_MS } from '../src/model/lifetimes.ts';
import { partitionKey } from '../src/storage/keys.ts';
import { TIME_INDEX_EVERY } from '../src/storage/log-table.ts';
import type { IndexEntry } from '../src/model/partition.ts';
import { countCalls } from './support/call-counter.ts';
import { testEngine } from './support/engine.ts';
import { randomTopic } from './support/env.ts';

const T0 = Date.UTC(2026, 0, 1);

async function setUp(partitions = 1): Promise<{ engine: Engine; topic: string; pk: string }> {
  const engine = testEngine({ FLOE_GROUP_COMMIT_MS: '0' });
  const topic = randomTopic('bytime');
  const t = await engine.topics.create({ name: topic, partitions });
  return { engine, topic, pk: partitionKey(t.id, 0) };
}

/** One request, one record, per timestamp, in order. */
async function produceAt(engine: Engine, topic: string, timestamps: number[]): Promise<void> {
  for (const [i, timestamp] of timestamps.entries()) await engine.producer.produce(topic, [{ key: null, value: Buffer.from(`r${i}`), partition: 0, timestamp }]);
}

/** Every index entry of the partition, from the base table. */
async function allEntries(engine: Engine, pk: string): Promise<IndexEntry[]> {
  return engine.log.entriesBetween(pk, 0, Number.MAX_SAFE_INTEGER);
}

/** The lookup's answer as a scan over every entry gives it. */
function scanned(entries: IndexEntry[], ts: number): number | undefined {
  return entries.find((e) => e.timeIndex >= ts)?.baseOffset;
}

/** Every lookup from just before the first timestamp to just past the last agrees with the scan. */
async function expectLookupsAgree(engine: Engine, pk: string, timestamps: number[]): Promise<void> {
  const entries = await allEntries(engine, pk);
  const probes = [...new Set(timestamps.flatMap((t) => [t - 1, t, t + 1]).concat([0, Math.max(...timestamps) + 5000]))].sort((a, b) => a - b);
  for (const ts of probes) expect({ ts, base: await engine.log.firstBatchAtOrAfterTime(pk, ts) }).toEqual({ ts, base: scanned(entries, ts) });
}

describe('the time index', () => {
  it('holds the first entry of each second and answers every lookup as a scan would', async () => {
    const { engine, topic, pk } = await setUp();
    // Ten records a second for six seconds.
    const timestamps = Array.from({ length: 60 }, (_, i) => T0 + Math.floor(i / 10) * 1000 + (i % 10) * 37);
    await produceAt(engine, topic, timestamps);
    const entries = await allEntries(engine, pk);
    expect(entries).toHaveLength(60);
    expect(entries.filter((e) => !e.untimed).map((e) => e.baseOffset)).toEqual([0, 10, 20, 30, 40, 50]);
    await expectLookupsAgree(engine, pk, timestamps);
    // Through the API's path: the first record at or after the time.
    expect(await engine.fetcher.offsetForTime(topic, 0, T0 + 3000 + 100)).toBe(33);
    expect(await engine.fetcher.offsetForTime(topic, 0, T0 + 10_000)).toBeNull();
  });

  it('reads at most a short run of entries for a lookup: one index query and one by offset', async () => {
    const { engine, topic, pk } = await setUp();
    const timestamps = Array.from({ length: 40 }, (_, i) => T0 + Math.floor(i / 20) * 1000 + i);
    await produceAt(engine, topic, timestamps);
    const counter = countCalls(engine.clients);
    expect(await engine.log.firstBatchAtOrAfterTime(pk, T0 + 1000 + 35)).toBe(35);
    expect(counter.snapshot()).toEqual({ 'dynamodb.Query': 2 });
  });

  it('indexes every TIME_INDEX_EVERY-th entry when timestamps stall, and still finds the end', async () => {
    const { engine, topic, pk } = await setUp();
    const timestamps = [...Array.from({ length: 3 * TIME_INDEX_EVERY + 5 }, () => T0), T0 + 1];
    await produceAt(engine, topic, timestamps);
    const indexed = (await allEntries(engine, pk)).filter((e) => !e.untimed).map((e) => e.baseOffset);
    expect(indexed).toEqual([0, TIME_INDEX_EVERY, 2 * TIME_INDEX_EVERY, 3 * TIME_INDEX_EVERY]);
    expect(await engine.log.firstBatchAtOrAfterTime(pk, T0 + 1)).toBe(3 * TIME_INDEX_EVERY + 5);
    expect(await engine.log.firstBatchAtOrAfterTime(pk, T0 + 2)).toBeUndefined();
    await expectLookupsAgree(engine, pk, timestamps);
  });

  it('answers as a scan when timestamps fall back (the running maximum holds) and with several writers', async () => {
    const { engine, topic, pk } = await setUp();
    const other = testEngine({ FLOE_GROUP_COMMIT_MS: '0' });
    await other.topics.resolve(topic);
    const timestamps: number[] = [];
    for (let i = 0; i < 50; i++) {
      // Rising by the second with falls of up to two seconds, the writers taking turns at random.
      const ts = T0 + i * 300 - (i % 7 === 3 ? 2000 : 0);
      timestamps.push(ts);
      await (i % 3 === 0 ? other : engine).producer.produce(topic, [{ key: null, value: Buffer.from(`r${i}`), partition: 0, timestamp: ts }]);
    }
    const entries = await allEntries(engine, pk);
    expect(entries.some((e) => e.untimed)).toBe(true);
    for (let i = 1; i < entries.length; i++) expect(entries[i]!.timeIndex).toBeGreaterThanOrEqual(entries[i - 1]!.timeIndex);
    await expectLookupsAgree(engine, pk, timestamps);
  });

  it('indexes the empty batch of a filled hole and a merged batch, and lookups agree across them', async () => {
    const { engine, topic, pk } = await setUp();
    const timestamps = Array.from({ length: 30 }, (_, i) => T0 + i * 100);
    await produceAt(engine, topic, timestamps.slice(0, 15));
    // A writer that dies after its allocation: the next one past the deadline fills its range.
    const at = Date.now() - 60_000;
    await engine.log.allocate(pk, { count: 2, maxTimestamp: T0 + 1450, at, tag: 'dead' }, async () => undefined);
    await produceAt(engine, topic, timestamps.slice(15));
    const entries = await allEntries(engine, pk);
    const hole = entries.find((e) => e.recordCount === 0)!;
    expect(hole).toMatchObject({ baseOffset: 15, lastOffset: 16 });
    expect(hole.untimed).toBeUndefined();
    await expectLookupsAgree(engine, pk, timestamps);
    // Merged: each new batch is in the index, and lookups land on the batch holding the answer.
    const merged = await runCompaction(engine, { now: Date.now() + 10 * MERGE_MIN_AGE_MS });
    expect(merged.rewrote.batches).toBeGreaterThan(0);
    const after = await allEntries(engine, pk);
    expect(after.length).toBeLessThan(entries.length);
    expect(after.filter((e) => e.untimed).length).toBeLessThan(entries.filter((e) => e.untimed).length);
    await expectLookupsAgree(engine, pk, timestamps);
  });
});
