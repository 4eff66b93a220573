// Retention, compaction, merging and garbage collection against DynamoDB Local and the S3 emulator.
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../src/engine/engine.ts';
import { OffsetOutOfRangeError } from '../src/errors.ts';
import { runCompaction } from '../src/jobs/compaction.ts';
import { runGc } from '../src/jobs/gc.ts';
import { runRetention } from '../src/jobs/retention.ts';
import { countCalls } from './support/call-counter.ts';
import { createClients } from '../src/storage/clients.ts';
import { partitionKey } from '../src/storage/keys.ts';
import { CrashError, FaultInjector, NO_FAULTS } from './harness/faults.ts';
import { randomTopic } from './support/env.ts';
import { isolatedEngine } from './support/engine.ts';
import { kafkajsDecode } from './support/kafkajs-oracle.ts';

const HOUR = 3600_000;
let engine: Engine;
beforeAll(async () => {
  engine = await isolatedEngine();
});

const v = (s: string | null) => (s === null ? null : Buffer.from(s));

async function produce(e: Engine, topic: string, records: Array<{ key?: string; value: string | null; timestamp?: number; partition?: number }>) {
  return e.producer.produce(topic, records.map((r) => ({ key: r.key === undefined ? null : Buffer.from(r.key), value: v(r.value), ...(r.timestamp !== undefined ? { timestamp: r.timestamp } : {}), ...(r.partition !== undefined ? { partition: r.partition } : {}) })));
}

async function readAll(e: Engine, topic: string, partition = 0) {
  const out: Array<{ offset: number; key: string | null; value: string | null }> = [];
  const { logStartOffset, highWatermark } = await e.fetcher.offsets(topic, partition);
  let offset = logStartOffset;
  while (offset < highWatermark) {
    const r = await e.fetcher.fetch({ topic, partition, offset, maxBytes: 1 << 24 });
    out.push(...r.records.map((x) => ({ offset: x.offset, key: x.key?.toString() ?? null, value: x.value?.toString() ?? null })));
    expect(r.nextOffset).toBeGreaterThan(offset);
    offset = r.nextOffset;
  }
  return out;
}

async function entries(e: Engine, topic: string, partition = 0) {
  const t = await e.topics.describe(topic);
  return e.log.entriesBetween(partitionKey(t.id, partition), 0, Number.MAX_SAFE_INTEGER);
}

/** head.bytes and the objects' counts agree with the index: what every job must preserve. */
async function checkBookkeeping(e: Engine, topic: string, partitions = 1) {
  const t = await e.topics.describe(topic);
  for (let p = 0; p < partitions; p++) {
    const head = await e.log.getHead(t.id, p);
    const list = await entries(e, topic, p);
    expect(head.bytes).toBe(list.reduce((n, x) => n + x.length, 0));
    // The entries tile the log from its start to the high watermark: no hole, no overlap.
    if (list.length > 0) {
      expect(list[0]!.baseOffset).toBe(head.logStartOffset);
      expect(list[list.length - 1]!.lastOffset).toBe(head.highWatermark - 1);
    }
    for (let i = 1; i < list.length; i++) expect(list[i]!.baseOffset, `entry ${i}`).toBe(list[i - 1]!.lastOffset + 1);
  }
}

describe('retention', () => {
  it('drops batches past retention.ms, advances the log start, and never reuses offsets', async () => {
    const topic = randomTopic('ret');
    await engine.topics.create({ name: topic, partitions: 1, configs: { 'retention.ms': '1000' } });
    const old = Date.now() - 60_000;
    for (let i = 0; i < 3; i++) await produce(engine, topic, [{ value: `old-${i}-a`, timestamp: old }, { value: `old-${i}-b`, timestamp: old }]);
    await produce(engine, topic, [{ value: 'new' }]);
    const s = await runRetention(engine);
    expect(s.removed.batches).toBe(3);
    expect(s.removed.records).toBe(6);
    const o = await engine.fetcher.offsets(topic, 0);
    expect(o).toMatchObject({ logStartOffset: 6, highWatermark: 7 });
    await expect(engine.fetcher.fetch({ topic, partition: 0, offset: 2 })).rejects.toBeInstanceOf(OffsetOutOfRangeError);
    expect((await readAll(engine, topic)).map((r) => [r.offset, r.value])).toEqual([[6, 'new']]);
    const again = await produce(engine, topic, [{ value: 'after' }]);
    expect((again.records[0] as { offset: number }).offset).toBe(7);
    await checkBookkeeping(engine, topic);
  });

  it('drops the oldest batches beyond retention.bytes', async () => {
    const topic = randomTopic('bytes');
    await engine.topics.create({ name: topic, partitions: 1 });
    for (let i = 0; i < 5; i++) await produce(engine, topic, [{ value: 'x'.repeat(1000) }]);
    const size = (await entries(engine, topic))[0]!.length;
    // As Kafka: the log keeps at least retention.bytes, so a limit between two batch sizes keeps three.
    await engine.topics.alterConfigs(topic, { 'retention.bytes': String(size * 2 + 1) });
    await runRetention(engine);
    expect(await engine.fetcher.offsets(topic, 0)).toMatchObject({ logStartOffset: 2, highWatermark: 5 });
    await engine.topics.alterConfigs(topic, { 'retention.bytes': String(size * 2) });
    await runRetention(engine);
    expect(await engine.fetcher.offsets(topic, 0)).toMatchObject({ logStartOffset: 3, highWatermark: 5 });
    // Even a limit of 0 keeps the newest batch, as Kafka keeps the active segment.
    await engine.topics.alterConfigs(topic, { 'retention.bytes': '0' });
    await runRetention(engine);
    expect(await engine.fetcher.offsets(topic, 0)).toMatchObject({ logStartOffset: 4, highWatermark: 5 });
    await checkBookkeeping(engine, topic);
  });

  it('reclaims the partitions of a deleted topic', async () => {
    const topic = randomTopic('gone');
    await produce(engine, topic, [{ value: 'a' }, { value: 'b' }]);
    const t = await engine.topics.describe(topic);
    await engine.topics.delete(topic);
    await runRetention(engine);
    expect(await engine.log.entriesBetween(partitionKey(t.id, 0), 0, 100)).toEqual([]);
    expect((await engine.log.getHead(t.id, 0)).exists).toBe(false);
  });

  it('two concurrent runs drop each batch once', async () => {
    const topic = randomTopic('twice');
    await engine.topics.create({ name: topic, partitions: 1, configs: { 'retention.ms': '1000' } });
    for (let i = 0; i < 8; i++) await produce(engine, topic, [{ value: `v${i}`, timestamp: Date.now() - 60_000 }]);
    await produce(engine, topic, [{ value: 'keep' }]);
    const other = createEngine(engine.config, createClients(engine.config));
    await Promise.all([runRetention(engine), runRetention(other)]);
    expect(await engine.fetcher.offsets(topic, 0)).toMatchObject({ logStartOffset: 8, highWatermark: 9 });
    await checkBookkeeping(engine, topic);
    // Each dropped batch was released once, and the kept one not at all.
    const kept = (await entries(engine, topic))[0]!.objectKey;
    expect((await engine.objects.scanReleased()).map((r) => r.key)).not.toContain(kept);
  });
});

/**
 * A compacted topic with many updates per key and some tombstones. The last request, the active part
 * that is never cleaned, writes a key of its own so that a full clean leaves exactly one record per key.
 */
async function compactedTopic(e: Engine, topic: string, deleteRetentionMs = String(24 * HOUR)) {
  await e.topics.create({ name: topic, partitions: 1, configs: { 'cleanup.policy': 'compact', 'segment.ms': '1', 'min.cleanable.dirty.ratio': '0.1', 'delete.retention.ms': deleteRetentionMs } });
  for (let round = 0; round < 8; round++) {
    await produce(e, topic, Array.from({ length: 10 }, (_, k) => ({ key: `k${k}`, value: `k${k}-v${round}` })));
  }
  await produce(e, topic, [{ key: 'k3', value: null }, { key: 'k7', value: null }]);
  await produce(e, topic, [{ key: 'k10', value: 'tail' }]);
}

function asTable(records: Array<{ key: string | null; value: string | null }>) {
  const m = new Map<string, string | null>();
  for (const r of records) if (r.key !== null) m.set(r.key, r.value);
  return m;
}

describe('compaction', () => {
  it('keeps the latest record per key at its offset, in order, and a second pass changes nothing', async () => {
    const topic = randomTopic('compact');
    await compactedTopic(engine, topic);
    const before = await readAll(engine, topic);
    const s = await runCompaction(engine);
    expect(s.removed.records).toBeGreaterThan(60);
    const after = await readAll(engine, topic);
    expect(asTable(after)).toEqual(asTable(before));
    // Exactly the latest record of each key (tombstones still within delete.retention.ms), by offset.
    const latest = new Map<string, number>();
    for (const r of before) latest.set(r.key!, r.offset);
    const want = before.filter((r) => latest.get(r.key!) === r.offset);
    expect(after).toEqual(want);
    expect(after.filter((r) => r.value === null).map((r) => r.key)).toEqual(['k3', 'k7']);
    await checkBookkeeping(engine, topic);
    const entriesAfter = await entries(engine, topic);
    const s2 = await runCompaction(engine);
    expect(s2.rewrote.batches).toBe(0);
    expect(await entries(engine, topic)).toEqual(entriesAfter);
    expect(await readAll(engine, topic)).toEqual(after);
  });

  it('keeps commit markers out of the key map and as control batches until delete.retention.ms, then drops them', async () => {
    for (const retention of [String(24 * HOUR), '0']) {
      const topic = randomTopic('compacttx');
      await engine.topics.create({ name: topic, partitions: 1, configs: { 'cleanup.policy': 'compact', 'segment.ms': '1', 'min.cleanable.dirty.ratio': '0.01', 'delete.retention.ms': retention } });
      const tid = randomTopic('ctid');
      let p = await engine.transactions.init(tid);
      // A user key equal to a commit marker's key (version 0, type COMMIT) must not be superseded by markers.
      const markerKey = Buffer.from([0, 0, 0, 1]).toString('latin1');
      for (let round = 0; round < 4; round++) {
        const records = [markerKey, 'a', 'b'].map((k) => ({ key: Buffer.from(k, 'latin1'), value: Buffer.from(`${round}`) }));
        await engine.transactions.send(tid, { ...p, sequence: 0 }, topic, round === 0 ? records : records.slice(1));
        const ended = await engine.transactions.end(tid, p, 'commit');
        p = { id: ended.producerId, epoch: ended.epoch };
      }
      await produce(engine, topic, [{ key: 'tail', value: 'tail' }]);
      await new Promise((r) => setTimeout(r, 5));
      expect((await runCompaction(engine)).rewrote.batches).toBeGreaterThan(0);
      const after = await readAll(engine, topic);
      expect(after.map((r) => [r.key, r.value])).toEqual([[markerKey, '0'], ['a', '3'], ['b', '3'], ['tail', 'tail']]);
      const list = await entries(engine, topic);
      const markers = list.filter((e) => e.isControl);
      if (retention === '0') expect(markers).toEqual([]);
      else {
        expect(markers.length).toBeGreaterThanOrEqual(1);
        for (const m of markers) {
          const batch = await kafkajsDecode(await engine.bucket.getRange(m.objectKey, m.position, m.position + m.length));
          expect(batch).toMatchObject({ isControlBatch: true, inTransaction: true, producerId: String(p.id) });
        }
      }
      await checkBookkeeping(engine, topic);
    }
  });

  it('drops tombstones once they are older than delete.retention.ms', async () => {
    const topic = randomTopic('tomb');
    await compactedTopic(engine, topic, '0');
    await new Promise((r) => setTimeout(r, 5));
    await runCompaction(engine);
    const after = await readAll(engine, topic);
    expect(after.some((r) => r.value === null)).toBe(false);
    expect([...asTable(after).keys()].sort()).toEqual(['k0', 'k1', 'k10', 'k2', 'k4', 'k5', 'k6', 'k8', 'k9']);
  });

  it('keeps an entry for batches whose records it all removes, so the index still tiles the log', async () => {
    const topic = randomTopic('tile');
    // Batches small enough that each old batch is a new batch of its own: most end up with no record.
    await engine.topics.create({ name: topic, partitions: 1, configs: { 'cleanup.policy': 'compact', 'segment.ms': '1', 'min.cleanable.dirty.ratio': '0', 'delete.retention.ms': '0', 'max.message.bytes': '1024' } });
    for (let i = 0; i < 6; i++) await produce(engine, topic, [{ key: 'k', value: `${i}`.repeat(600) }]);
    await produce(engine, topic, [{ key: 'gone', value: 'x' }]);
    await produce(engine, topic, [{ key: 'gone', value: null }]);
    await produce(engine, topic, [{ key: 'tail', value: 't' }]); // the active part, never cleaned
    await new Promise((r) => setTimeout(r, 5));
    await runCompaction(engine);
    await checkBookkeeping(engine, topic);
    const after = await readAll(engine, topic);
    expect(after.map((r) => [r.offset, r.key])).toEqual([[5, 'k'], [8, 'tail']]);
    // A run of batches whose every record goes keeps one empty batch for its offsets.
    const all = randomTopic('tile-empty');
    await engine.topics.create({ name: all, partitions: 1, configs: { 'cleanup.policy': 'compact', 'segment.ms': '1', 'min.cleanable.dirty.ratio': '0', 'delete.retention.ms': '0' } });
    await produce(engine, all, [{ key: 'a', value: '1' }]);
    await produce(engine, all, [{ key: 'a', value: null }]);
    await produce(engine, all, [{ key: 'tail', value: 't' }]);
    await new Promise((r) => setTimeout(r, 5));
    await runCompaction(engine);
    await checkBookkeeping(engine, all);
    expect(await entries(engine, all)).toEqual([expect.objectContaining({ baseOffset: 0, lastOffset: 1, recordCount: 0 }), expect.objectContaining({ baseOffset: 2, lastOffset: 2, recordCount: 1 })]);
    const r = await engine.fetcher.fetch({ topic: all, partition: 0, offset: 0, maxRecords: 1 });
    expect([r.records.map((x) => x.offset), r.nextOffset]).toEqual([[2], 3]);
  });

  it('a fetch racing a merge of the batches it reads sees a prefix, never skipping an offset', async () => {
    for (const [from, perBatch] of [[0, 1], [3, 2]] as const) {
      const iso = await isolatedEngine();
      const topic = randomTopic('race');
      await iso.topics.create({ name: topic, partitions: 1 });
      for (let i = 0; i < 10; i++) await produce(iso, topic, Array.from({ length: perBatch }, (_, j) => ({ value: `v${i * perBatch + j}` })));
      // The merge commits right after the fetch's first read of the index.
      const reader = createEngine(iso.config, createClients(iso.config));
      const entriesFrom = reader.log.entriesFrom.bind(reader.log);
      let raced = false;
      reader.log.entriesFrom = async (...args: Parameters<typeof entriesFrom>) => {
        const out = await entriesFrom(...args);
        if (!raced) {
          raced = true;
          expect((await runCompaction(iso, { now: Date.now() + HOUR })).rewrote.batches).toBeGreaterThan(0);
        }
        return out;
      };
      const seen: number[] = [];
      let offset: number = from;
      const hw = 10 * perBatch;
      for (let n = 0; offset < hw && n < 50; n++) {
        const r = await reader.fetcher.fetch({ topic, partition: 0, offset, maxBytes: 1 << 20 });
        seen.push(...r.records.map((x) => x.offset));
        offset = r.nextOffset;
      }
      expect(raced).toBe(true);
      expect(seen).toEqual(Array.from({ length: hw - from }, (_, i) => from + i));
    }
  });

  it('cleans past a record stamped in the future when min.compaction.lag.ms is 0', async () => {
    const topic = randomTopic('future');
    await engine.topics.create({ name: topic, partitions: 1, configs: { 'cleanup.policy': 'compact', 'segment.ms': '1', 'min.cleanable.dirty.ratio': '0' } });
    for (let i = 0; i < 3; i++) await produce(engine, topic, [{ key: 'k', value: `a${i}` }]);
    await produce(engine, topic, [{ key: 'other', value: 'future', timestamp: Date.parse('2100-01-01') }]);
    for (let i = 0; i < 3; i++) await produce(engine, topic, [{ key: 'k', value: `b${i}` }]);
    await produce(engine, topic, [{ key: 'tail', value: 't' }]);
    await new Promise((r) => setTimeout(r, 5));
    await runCompaction(engine);
    expect((await readAll(engine, topic)).map((r) => [r.offset, r.value])).toEqual([[3, 'future'], [6, 'b2'], [7, 't']]);
    await checkBookkeeping(engine, topic);
  });

  it('leaves the active part, and records younger than min.compaction.lag.ms, alone', async () => {
    const topic = randomTopic('lag');
    await engine.topics.create({ name: topic, partitions: 1, configs: { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': String(HOUR), 'min.cleanable.dirty.ratio': '0' } });
    for (let i = 0; i < 4; i++) await produce(engine, topic, [{ key: 'k', value: `v${i}` }]);
    await runCompaction(engine, { now: Date.now() });
    expect((await readAll(engine, topic)).map((r) => r.value)).toEqual(['v0', 'v1', 'v2', 'v3']);
  });

  it('cleans a partition with more keys than its offset map holds, over several passes', async () => {
    const topic = randomTopic('bigmap');
    await engine.topics.create({ name: topic, partitions: 1, configs: { 'cleanup.policy': 'compact', 'segment.ms': '1', 'min.cleanable.dirty.ratio': '0' } });
    for (let round = 0; round < 3; round++) await produce(engine, topic, Array.from({ length: 30 }, (_, k) => ({ key: `key-${k}`, value: `r${round}` })));
    await produce(engine, topic, [{ key: 'tail', value: 't' }]);
    const before = await readAll(engine, topic);
    for (let pass = 0; pass < 6; pass++) await runCompaction(engine, { maxMapKeys: 20 });
    const after = await readAll(engine, topic);
    expect(asTable(after)).toEqual(asTable(before));
    expect(after.length).toBe(31);
  });

  it('survives a crash at every storage call, and a rerun converges', async () => {
    // Its own tables: each step compacts one fresh topic and nothing else.
    const iso = await isolatedEngine();
    let completed = false;
    for (let crashAt = 1; crashAt < 200 && !completed; crashAt++) {
      const topic = randomTopic('crash');
      await compactedTopic(iso, topic);
      const before = await readAll(iso, topic);
      const clients = createClients(iso.config);
      new FaultInjector({ seed: crashAt, rates: NO_FAULTS, crashAtCall: crashAt }).attach(clients);
      try {
        await runCompaction(createEngine(iso.config, clients));
        completed = true;
      } catch (e) {
        expect(e).toBeInstanceOf(CrashError);
      }
      // Whatever was done before the crash, readers see every live key's latest value.
      expect(asTable(await readAll(iso, topic))).toEqual(asTable(before));
      await runCompaction(iso);
      const converged = await readAll(iso, topic);
      expect(asTable(converged)).toEqual(asTable(before));
      expect(converged.length).toBe(11);
      await checkBookkeeping(iso, topic);
      await iso.topics.delete(topic);
    }
    expect(completed).toBe(true);
  }, 120_000);

  it('two concurrent runs leave one consistent result', async () => {
    const iso = await isolatedEngine();
    const topic = randomTopic('both');
    await compactedTopic(iso, topic);
    const before = await readAll(iso, topic);
    await Promise.all([runCompaction(iso), runCompaction(createEngine(iso.config, createClients(iso.config)))]);
    await runCompaction(iso);
    const after = await readAll(iso, topic);
    expect(asTable(after)).toEqual(asTable(before));
    expect(after.length).toBe(11);
    await checkBookkeeping(iso, topic);
  });
});

describe('merging and garbage collection', () => {
  it('merges small objects into fewer, larger ones, cutting index items and GETs per fetched byte', async () => {
    const iso = await isolatedEngine();
    const topic = randomTopic('merge');
    await iso.topics.create({ name: topic, partitions: 2 });
    for (let i = 0; i < 30; i++) await produce(iso, topic, [{ value: `a${i}`, partition: 0 }, { value: `b${i}`, partition: 1 }]);
    const before = [await readAll(iso, topic, 0), await readAll(iso, topic, 1)];
    const cost = async () => {
      const fresh = createEngine(iso.config, createClients(iso.config));
      const counter = countCalls(fresh.clients);
      await readAll(fresh, topic, 0);
      await readAll(fresh, topic, 1);
      return { gets: counter.get('s3.GetObject'), queries: counter.get('dynamodb.Query') };
    };
    const costBefore = await cost();
    const entriesBefore = (await entries(iso, topic, 0)).length;
    // Nothing appended within a commit deadline is merged yet; later it all is.
    expect((await runCompaction(iso)).rewrote.batches).toBe(0);
    const s = await runCompaction(iso, { now: Date.now() + HOUR });
    expect(s.rewrote.batches).toBeGreaterThan(0);
    expect((await entries(iso, topic, 0)).length).toBeLessThan(entriesBefore / 5);
    expect([await readAll(iso, topic, 0), await readAll(iso, topic, 1)]).toEqual(before);
    const costAfter = await cost();
    expect(costAfter.gets).toBeLessThan(costBefore.gets / 5);
    console.log(JSON.stringify({ merge: { entries_before: entriesBefore, entries_after: (await entries(iso, topic, 0)).length, gets_before: costBefore.gets, gets_after: costAfter.gets, queries_before: costBefore.queries, queries_after: costAfter.queries } }));
    await checkBookkeeping(iso, topic, 2);

    // GC: the old objects (now unreferenced) and an orphan go once past the grace period; nothing referenced does.
    await iso.bucket.put('data/00/01ARZ3NDEKTSV4RRFFQ69G5FAV', Buffer.from('orphan'));
    const list = async () => (await iso.clients.s3.send(new ListObjectsV2Command({ Bucket: iso.config.bucket }))).Contents?.map((o) => o.Key!) ?? [];
    const objectsBefore = (await list()).length;
    expect((await runGc(iso)).removed.objects).toBe(1); // only the orphan is past the grace period yet (its ULID is from 2016)
    const gc = await runGc(iso, { now: Date.now() + HOUR });
    expect(gc.removed.objects).toBeGreaterThan(20);
    const left = await list();
    expect(left.length).toBeLessThan(objectsBefore);
    expect(left).not.toContain('data/00/01ARZ3NDEKTSV4RRFFQ69G5FAV');
    const referenced = new Set([...(await entries(iso, topic, 0)), ...(await entries(iso, topic, 1))].map((e) => e.objectKey));
    for (const k of referenced) expect(left).toContain(k);
    expect([await readAll(iso, topic, 0), await readAll(iso, topic, 1)]).toEqual(before);
  });

  it('lists a bucket of more than a thousand objects page by page and deletes orphans a thousand per request', async () => {
    const iso = await isolatedEngine();
    const topic = randomTopic('many');
    await iso.topics.create({ name: topic, partitions: 1 });
    await produce(iso, topic, [{ value: 'kept' }]);
    // 1,100 orphans named as Floe names objects, from 2016 (their ULIDs' time).
    const crockford = (n: number) => Array.from({ length: 6 }, (_, d) => '0123456789ABCDEFGHJKMNPQRSTVWXYZ'[Math.floor(n / 32 ** (5 - d)) % 32]).join('');
    const orphans = Array.from({ length: 1100 }, (_, i) => `data/${(i % 256).toString(16).padStart(2, '0')}/01ARZ3NDEKTSV4RRFFQ6${crockford(i)}`);
    for (let i = 0; i < orphans.length; i += 50) await Promise.all(orphans.slice(i, i + 50).map((k) => iso.bucket.put(k, Buffer.from('orphan'))));
    const counter = countCalls(iso.clients);
    const gc = await runGc(iso);
    expect(gc.removed.objects).toBe(1100);
    expect(gc.examined.listed).toBe(1101);
    expect(counter.get('s3.ListObjects')).toBe(2);
    // Two requests of up to 1,000 keys (the counter counts attempts: the emulator deletes a request's
    // keys in parallel and sometimes fails one, which the SDK's retry completes).
    expect(counter.get('s3.DeleteObjects')).toBeGreaterThanOrEqual(2);
    expect(counter.get('s3.DeleteObjects')).toBeLessThanOrEqual(6);
    expect(counter.get('s3.DeleteObject')).toBe(0);
    expect((await readAll(iso, topic)).map((r) => r.value)).toEqual(['kept']);
  }, 120_000);

  it('survives a crash at every storage call of a GC run, and two runs at once', async () => {
    const iso = await isolatedEngine();
    const topic = randomTopic('gccrash');
    await iso.topics.create({ name: topic, partitions: 1 });
    for (let i = 0; i < 12; i++) await produce(iso, topic, [{ value: `v${i}` }]);
    await runCompaction(iso, { now: Date.now() + HOUR });
    const before = await readAll(iso, topic);
    for (let i = 0; i < 3; i++) await iso.bucket.put(`data/0${i}/01ARZ3NDEKTSV4RRFFQ69G5FA${i}`, Buffer.from('orphan'));
    const later = Date.now() + HOUR;
    let completed = false;
    for (let crashAt = 1; crashAt < 200 && !completed; crashAt++) {
      const clients = createClients(iso.config);
      new FaultInjector({ seed: crashAt, rates: NO_FAULTS, crashAtCall: crashAt }).attach(clients);
      try {
        await runGc(createEngine(iso.config, clients), { now: later });
        completed = true;
      } catch (e) {
        expect(e).toBeInstanceOf(CrashError);
      }
      expect(await readAll(iso, topic)).toEqual(before);
    }
    expect(completed).toBe(true);
    await Promise.all([runGc(iso, { now: later }), runGc(createEngine(iso.config, createClients(iso.config)), { now: later })]);
    const left = (await iso.clients.s3.send(new ListObjectsV2Command({ Bucket: iso.config.bucket }))).Contents?.map((o) => o.Key!) ?? [];
    const referenced = new Set((await entries(iso, topic)).map((e) => e.objectKey));
    expect(new Set(left)).toEqual(referenced);
    expect(await readAll(iso, topic)).toEqual(before);
  }, 120_000);
});
