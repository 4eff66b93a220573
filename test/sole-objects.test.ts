// A request of one batch that is not idempotent (most requests of a single producer) is committed
// without a transaction: its offsets are handed out first, the object goes up under a key naming the
// partition and base offset, and the index entry alone, one conditional PutItem, is the object's
// reference. These tests hold that path to its call budget, to the collector keeping such an object
// exactly while its entry points at it, and to writing each record once when a put's answer is lost.
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { runGc } from '../src/jobs/gc.ts';
import { runRetention } from '../src/jobs/retention.ts';
import { CROWDED_ALLOCATIONS } from '../src/produce/append.ts';
import { runCompaction } from '../src/jobs/compaction.ts';
import { MERGE_MIN_AGE_MS } from '../src/model/lifetimes.ts';
import type { Engine } from '../src/engine/engine.ts';
import { parseSoleObjectKey, partitionKey, soleObjectKey } from '../src/storage/keys.ts';
import { countCalls } from './support/call-counter.ts';
import { isolatedEngine, testEngine } from './support/engine.ts';
import { randomTopic } from './support/env.ts';

const HOUR = 3600_000;
/** The path is off by default (Config.soleCommits). */
const SOLE = { FLOE_SOLE_COMMITS: 'true' };
const value = (s: string) => Buffer.from(s);

async function produceOne(engine: Engine, topic: string, v: string, timestamp?: number): Promise<{ offset: number; objectKey: string }> {
  const r = await engine.producer.produce(topic, [{ key: null, value: value(v), ...(timestamp !== undefined ? { timestamp } : {}) }]);
  return { offset: (r.records[0] as { offset: number }).offset, objectKey: r.objectKey };
}

async function values(engine: Engine, topic: string): Promise<string[]> {
  const out: string[] = [];
  const { logStartOffset, highWatermark } = await engine.fetcher.offsets(topic, 0);
  for (let at = logStartOffset; at < highWatermark; ) {
    const f = await engine.fetcher.fetch({ topic, partition: 0, offset: at });
    if (f.records.length === 0) break;
    for (const r of f.records) out.push(r.value!.toString());
    at = f.records[f.records.length - 1]!.offset + 1;
  }
  return out;
}

async function listed(engine: Engine): Promise<string[]> {
  return (await engine.clients.s3.send(new ListObjectsV2Command({ Bucket: engine.config.bucket }))).Contents?.map((o) => o.Key!) ?? [];
}

describe('a one-batch request', () => {
  it('writes one PUT, one allocation, one PutItem and one high-watermark move: no transaction, no object record', async () => {
    const engine = testEngine(SOLE);
    const topic = randomTopic('sole');
    const t = await engine.topics.create({ name: topic, partitions: 1 });
    await produceOne(engine, topic, 'first');
    const counter = countCalls(engine.clients);
    const r = await produceOne(engine, topic, 'second');
    expect(counter.snapshot()).toEqual({ 'dynamodb.PutItem': 1, 'dynamodb.UpdateItem': 2, 's3.PutObject': 1 });
    expect(r.offset).toBe(1);
    // The key names the partition and the offset its entry is at; nothing else refers to it.
    expect(parseSoleObjectKey(r.objectKey)).toEqual({ pk: partitionKey(t.id, 0), baseOffset: 1 });
    expect((await engine.log.getEntry(partitionKey(t.id, 0), 1))?.objectKey).toBe(r.objectKey);
    expect((await engine.objects.known([r.objectKey])).size).toBe(0);
    expect(await values(engine, topic)).toEqual(['first', 'second']);
  });

  it('uploads first, with a transaction, while the partition is crowded: an allocation found others in flight', async () => {
    const engine = testEngine({ ...SOLE, FLOE_HOLE_FILL_MS: '300', FLOE_GROUP_COMMIT_MS: '0' });
    const topic = randomTopic('crowded');
    const t = await engine.topics.create({ name: topic, partitions: 1 });
    await produceOne(engine, topic, 'first');
    // A writer that died after its allocation: the next allocation finds it in flight before it.
    const at = Date.now();
    await engine.log.allocate(partitionKey(t.id, 0), { count: 1, maxTimestamp: at, at, tag: 'dead' }, async () => undefined);
    expect(parseSoleObjectKey((await produceOne(engine, topic, 'behind')).objectKey)).toBeDefined();
    const counter = countCalls(engine.clients);
    const paths: string[] = [];
    for (let i = 0; i <= CROWDED_ALLOCATIONS; i++) {
      counter.reset();
      const r = await produceOne(engine, topic, `v${i}`);
      paths.push(counter.get('dynamodb.TransactWriteItems') === 1 && parseSoleObjectKey(r.objectKey) === undefined ? 'upload first' : counter.get('dynamodb.PutItem') === 1 ? 'sole' : 'other');
    }
    // Each of the next CROWDED_ALLOCATIONS allocations finds nobody before it; then the partition is no longer crowded.
    expect(paths).toEqual([...Array.from({ length: CROWDED_ALLOCATIONS }, () => 'upload first'), 'sole']);
    expect(await values(engine, topic)).toEqual(['first', 'behind', ...Array.from({ length: CROWDED_ALLOCATIONS + 1 }, (_, i) => `v${i}`)]);
  });

  it('is written once when the put was applied and its answer lost (the retry finds its own entry)', async () => {
    const engine = testEngine({ ...SOLE, FLOE_HOLE_FILL_MS: '60000' });
    const topic = randomTopic('sole-twice');
    await engine.topics.create({ name: topic, partitions: 1 });
    await produceOne(engine, topic, 'first');
    let armed = true;
    engine.clients.ddb.middlewareStack.add(
      ((next: (a: unknown) => Promise<unknown>, ctx: { commandName?: string }) => async (args: unknown) => {
        // The put applied, its answer lost: the SDK sends it again, and its condition fails on the
        // entry the first one wrote.
        if (armed && ctx.commandName === 'PutItemCommand') {
          armed = false;
          await next(args);
        }
        return next(args);
      }) as never,
      { step: 'initialize', name: 'applyTwice' },
    );
    const r = await produceOne(engine, topic, 'second');
    expect(armed).toBe(false);
    expect(r.offset).toBe(1);
    expect(await values(engine, topic)).toEqual(['first', 'second']);
    expect((await engine.fetcher.offsets(topic, 0)).highWatermark).toBe(2);
    expect(engine.watermarks.holesFilled).toBe(0);
  });

  // Found by the long fault run, whose cleaner merges batches of any age: the SDK's resend of a put
  // whose first send was applied put the entry again inside the batch it had been merged into, so the
  // index no longer tiled the log. The put is now sent once, and the writer asks the log instead.
  it('neither puts an entry again inside a merged batch nor writes the records twice when the put was applied, its answer lost, and the entry merged away', async () => {
    const engine = testEngine({ ...SOLE, FLOE_GROUP_COMMIT_MS: '0' });
    const topic = randomTopic('sole-merged');
    const t = await engine.topics.create({ name: topic, partitions: 1 });
    const pk = partitionKey(t.id, 0);
    await produceOne(engine, topic, 'a');
    await produceOne(engine, topic, 'b');
    const other = testEngine({ FLOE_GROUP_COMMIT_MS: '0' });
    await other.topics.resolve(topic);
    let armed = true;
    engine.clients.ddb.middlewareStack.add(
      ((next: (a: unknown) => Promise<unknown>, ctx: { commandName?: string }) => async (args: unknown) => {
        if (!(armed && ctx.commandName === 'PutItemCommand')) return next(args);
        armed = false;
        await next(args);
        // Applied; before the answer comes back another producer commits behind it (the high watermark
        // passes it) and the cleaner merges it with the batches before it, as the fault run's cleaner
        // merges batches of any age.
        await other.producer.produce(topic, [{ key: null, value: value('d') }]);
        const merged = await runCompaction(engine, { now: Date.now() + 10 * MERGE_MIN_AGE_MS });
        expect(merged.rewrote.batches).toBeGreaterThan(0);
        throw Object.assign(new Error('request timed out after it was sent'), { name: 'TimeoutError', $metadata: {} });
      }) as never,
      { step: 'finalizeRequest', priority: 'low', name: 'loseAfterMerge' },
    );
    const r = await produceOne(engine, topic, 'c');
    // The index still tiles the log: no entry put again inside the merged batch.
    const entries = await engine.log.entriesBetween(pk, 0, Number.MAX_SAFE_INTEGER);
    entries.forEach((e, i) => expect(e.baseOffset).toBe(i === 0 ? 0 : entries[i - 1]!.lastOffset + 1));
    // Acknowledged once, where it was first written: the writer finds its offset inside the merged
    // batch (only its own entry can have been there: a filler's entry is pinned, and keeps its key
    // through every rewrite), so it does not write its records again.
    expect(r.offset).toBe(2);
    expect(await values(engine, topic)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('lets the SDK send a throttled put again: committed at its own offset, no range given up', async () => {
    const engine = testEngine({ ...SOLE, FLOE_GROUP_COMMIT_MS: '0', FLOE_HOLE_FILL_MS: '60000' });
    const topic = randomTopic('sole-throttled');
    const t = await engine.topics.create({ name: topic, partitions: 1 });
    await produceOne(engine, topic, 'a');
    let puts = 0;
    engine.clients.ddb.middlewareStack.add(
      ((next: (a: unknown) => Promise<unknown>, ctx: { commandName?: string }) => async (args: unknown) => {
        if (ctx.commandName !== 'PutItemCommand') return next(args);
        // The service refuses the first send before it runs it.
        if (++puts === 1) throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), { name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
        return next(args);
      }) as never,
      { step: 'deserialize', name: 'throttleFirstPut' },
    );
    const r = await produceOne(engine, topic, 'b');
    expect(parseSoleObjectKey(r.objectKey)).toBeDefined();
    expect(puts).toBe(2);
    expect(r.offset).toBe(1);
    const entries = await engine.log.entriesBetween(partitionKey(t.id, 0), 0, Number.MAX_SAFE_INTEGER);
    expect(entries.map((e) => [e.baseOffset, e.pinned === true])).toEqual([[0, false], [1, false]]);
    expect(await values(engine, topic)).toEqual(['a', 'b']);
  });

  it('counts a transaction whose answer was lost as committed when a rewrite gave its entry another object', async () => {
    // The transaction path (the default): the outcome is unknown past the SDK's own retries, and by
    // the time the writer asks, the cleaner has rewritten its batch with the one after it. The entry
    // keeps its key but points at the merged object: still this writer's.
    const engine = testEngine({ FLOE_SOLE_COMMITS: 'false', FLOE_GROUP_COMMIT_MS: '0' });
    const topic = randomTopic('txn-rewritten');
    await engine.topics.create({ name: topic, partitions: 1 });
    const other = testEngine({ FLOE_GROUP_COMMIT_MS: '0' });
    await other.topics.resolve(topic);
    let armed = true;
    engine.clients.ddb.middlewareStack.add(
      ((next: (a: unknown) => Promise<unknown>, ctx: { commandName?: string }) => async (args: unknown) => {
        if (!(armed && ctx.commandName === 'TransactWriteItemsCommand')) return next(args);
        armed = false;
        await next(args);
        // Two after it: merging leaves the last batch alone.
        await other.producer.produce(topic, [{ key: null, value: value('b') }]);
        await other.producer.produce(topic, [{ key: null, value: value('c') }]);
        const merged = await runCompaction(engine, { now: Date.now() + 10 * MERGE_MIN_AGE_MS });
        expect(merged.rewrote.batches).toBeGreaterThan(0);
        throw Object.assign(new Error('request timed out after it was sent'), { name: 'TimeoutError', $metadata: {} });
      }) as never,
      { step: 'initialize', name: 'loseAfterRewrite' },
    );
    const r = await produceOne(engine, topic, 'a');
    expect(armed).toBe(false);
    expect(r.offset).toBe(0);
    expect(await values(engine, topic)).toEqual(['a', 'b', 'c']);
  });

  it('gives its range up at once when the upload fails, and the next request follows without a hole to wait for', async () => {
    const engine = testEngine({ ...SOLE, FLOE_HOLE_FILL_MS: '60000' });
    const topic = randomTopic('sole-put');
    await engine.topics.create({ name: topic, partitions: 1 });
    await produceOne(engine, topic, 'first');
    let fail = true;
    engine.clients.s3.middlewareStack.add(
      ((next: (a: unknown) => Promise<unknown>, ctx: { commandName?: string }) => async (args: unknown) => {
        if (fail && ctx.commandName === 'PutObjectCommand') {
          fail = false;
          throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
        }
        return next(args);
      }) as never,
      { step: 'initialize', name: 'failPut' },
    );
    await expect(produceOne(engine, topic, 'refused')).rejects.toThrow(/Access Denied/);
    const started = Date.now();
    const r = await produceOne(engine, topic, 'after');
    expect(Date.now() - started).toBeLessThan(5000);
    // Offset 1 went to the failed request and was given up with an empty batch.
    expect(r.offset).toBe(2);
    expect(await values(engine, topic)).toEqual(['first', 'after']);
    expect((await engine.fetcher.offsets(topic, 0)).highWatermark).toBe(3);
  });
});

describe('collecting sole objects', () => {
  it('keeps an object while its entry points at it, and deletes it past the grace period once retention dropped the entry', async () => {
    const iso = await isolatedEngine(SOLE);
    const topic = randomTopic('sole-gc');
    await iso.topics.create({ name: topic, partitions: 1, configs: { 'retention.ms': String(HOUR) } });
    // A writer's first request on a partition uploads first (it has a record); the next ones are sole.
    const warm = await produceOne(iso, topic, 'warm', Date.now() - 2 * HOUR);
    const old = await produceOne(iso, topic, 'old', Date.now() - 2 * HOUR);
    const kept = await produceOne(iso, topic, 'kept');
    expect(parseSoleObjectKey(warm.objectKey)).toBeUndefined();
    expect(parseSoleObjectKey(old.objectKey)).toBeDefined();
    // Long past the grace period, with no record: the entries keep both.
    expect((await runGc(iso, { now: Date.now() + HOUR })).removed.objects).toBe(0);
    expect(await listed(iso)).toEqual(expect.arrayContaining([old.objectKey, kept.objectKey]));
    expect((await runRetention(iso)).removed.batches).toBe(2);
    // Released just now: a fetch that found the entry before it went may still read the object.
    expect((await runGc(iso)).removed.objects).toBe(0);
    expect(await listed(iso)).toContain(old.objectKey);
    expect((await runGc(iso, { now: Date.now() + HOUR })).removed.objects).toBe(2);
    const left = await listed(iso);
    expect(left).not.toContain(old.objectKey);
    expect(left).not.toContain(warm.objectKey);
    expect(left).toContain(kept.objectKey);
    expect(await values(iso, topic)).toEqual(['kept']);
  });

  it('deletes a sole-named object no entry points at: its commit never happened, or another object took the offset', async () => {
    const iso = await isolatedEngine(SOLE);
    const topic = randomTopic('sole-orphan');
    const t = await iso.topics.create({ name: topic, partitions: 1 });
    const live = await produceOne(iso, topic, 'live');
    const pk = partitionKey(t.id, 0);
    const uncommitted = soleObjectKey(pk, 7)!;
    const displaced = soleObjectKey(pk, live.offset)!;
    for (const k of [uncommitted, displaced]) await iso.bucket.put(k, value('never committed'));
    // Younger than the grace period: a commit may still be on its way.
    expect((await runGc(iso)).removed.objects).toBe(0);
    const gc = await runGc(iso, { now: Date.now() + HOUR });
    expect(gc.removed.objects).toBe(2);
    expect(await listed(iso)).toEqual([live.objectKey]);
    expect(await values(iso, topic)).toEqual(['live']);
  });
});
