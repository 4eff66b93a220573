// Group commit: concurrent produce requests of one process to one topic share an object and a commit,
// each keeping its own offsets and its own error.
import { describe, expect, it } from 'vitest';
import type { ProducedRecord } from '../src/produce/produce.ts';
import { GROUP_WRITES_IN_FLIGHT } from '../src/produce/group-commit.ts';
import { createEngine } from '../src/engine/engine.ts';
import { createClients } from '../src/storage/clients.ts';
import { DEFAULT_FAULTS, FaultInjector } from './harness/faults.ts';
import { countCalls } from './support/call-counter.ts';
import { testEngine } from './support/engine.ts';
import { randomTopic, testConfig } from './support/env.ts';

const value = (s: string) => Buffer.from(s);
/** Offsets of a result whose records all succeeded. */
const offsetsOf = (r: { records: Array<ProducedRecord | { error: unknown }> }) => r.records.map((x) => (x as ProducedRecord).offset);

describe('group commit', () => {
  it('writes concurrent requests to one topic as one object and one transaction, each with its own offsets', async () => {
    // A window far longer than the calls below take to start, so all six join one group.
    const engine = testEngine({ FLOE_GROUP_COMMIT_MS: '200' });
    const topic = randomTopic('group');
    await engine.topics.create({ name: topic, partitions: 2 });
    await engine.topics.resolve(topic);
    const calls = countCalls(engine.clients);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => engine.producer.produce(topic, [{ key: null, value: value(`a${i}`), partition: i % 2 }, { key: null, value: value(`b${i}`), partition: i % 2 }])),
    );
    expect(calls.get('s3.PutObject')).toBe(1);
    expect(calls.get('dynamodb.TransactWriteItems')).toBe(1);
    expect(new Set(results.map((r) => r.objectKey)).size).toBe(1);
    // Per partition, the requests' offsets are disjoint and, together, exactly 0..5; each request's own are consecutive.
    for (const p of [0, 1]) {
      const mine = results.filter((_, i) => i % 2 === p).map(offsetsOf);
      for (const o of mine) expect(o[1]).toBe(o[0]! + 1);
      expect(mine.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
      const read = await engine.fetcher.fetch({ topic, partition: p, offset: 0 });
      // Every record is at the offset its request was told.
      results.forEach((r, i) => {
        if (i % 2 !== p) return;
        const [a, b] = offsetsOf(r);
        expect(read.records.find((x) => x.offset === a)!.value!.toString()).toBe(`a${i}`);
        expect(read.records.find((x) => x.offset === b)!.value!.toString()).toBe(`b${i}`);
      });
    }
  });

  it(`has at most ${GROUP_WRITES_IN_FLIGHT} writes per topic under way at a time, and requests that come meanwhile join the next groups`, async () => {
    const engine = testEngine({ FLOE_GROUP_COMMIT_MS: '1' });
    const topic = randomTopic('grouplane');
    await engine.topics.create({ name: topic, partitions: 2 });
    await engine.topics.resolve(topic);
    let inFlight = 0;
    let most = 0;
    let transactions = 0;
    // Slow commits, so that requests keep coming while one is being written.
    engine.clients.ddb.middlewareStack.add(
      (next, context) => async (args) => {
        if ((context as { commandName?: string }).commandName !== 'TransactWriteItemsCommand') return next(args);
        transactions++;
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 50));
        try {
          return await next(args);
        } finally {
          inFlight--;
        }
      },
      { step: 'initialize', name: 'slowCommits' },
    );
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        await new Promise((r) => setTimeout(r, i * 10));
        return engine.producer.produce(topic, [{ key: null, value: value(`s${i}`), partition: i % 2 }]);
      }),
    );
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(GROUP_WRITES_IN_FLIGHT);
    expect(transactions).toBeLessThan(20);
    for (const p of [0, 1]) expect(results.filter((_, i) => i % 2 === p).flatMap(offsetsOf).sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
  });

  it('fails every request of a group whose commit fails, and writes none of them', async () => {
    const engine = testEngine({ FLOE_GROUP_COMMIT_MS: '200' });
    const other = testEngine();
    const topic = randomTopic('groupgone');
    await engine.topics.create({ name: topic, partitions: 1 });
    await engine.topics.resolve(topic);
    const pending = Array.from({ length: 3 }, (_, i) => engine.producer.produce(topic, [{ key: null, value: value(`x${i}`) }]).then(() => 'ok', (e: Error) => e.message));
    // Deleted by another process while the group waits: its commit finds the topic gone.
    await other.topics.delete(topic);
    const outcomes = await Promise.all(pending);
    for (const o of outcomes) expect(o).toMatch(/was deleted while the produce was in flight; nothing was written/);
  });

  it('does not group requests of idempotent producers, nor requests to different topics', async () => {
    const engine = testEngine({ FLOE_GROUP_COMMIT_MS: '200' });
    const [t1, t2] = [randomTopic('gi'), randomTopic('gi')];
    for (const t of [t1, t2]) {
      await engine.topics.create({ name: t, partitions: 1 });
      await engine.topics.resolve(t);
    }
    const pid = await engine.producer.allocateProducerId();
    const [a, b, c, d] = await Promise.all([
      engine.producer.produce(t1, [{ key: null, value: value('i0') }], { producer: { id: pid, epoch: 0, sequence: 0 } }),
      engine.producer.produce(t1, [{ key: null, value: value('i1') }], { producer: { id: pid + 1_000_000, epoch: 0, sequence: 0 } }),
      engine.producer.produce(t1, [{ key: null, value: value('plain') }]),
      engine.producer.produce(t2, [{ key: null, value: value('other') }]),
    ]);
    expect(new Set([a, b, c, d].map((r) => r.objectKey)).size).toBe(4);
    expect([...offsetsOf(a), ...offsetsOf(b), ...offsetsOf(c)].sort()).toEqual([0, 1, 2]);
    expect(offsetsOf(d)).toEqual([0]);
  });

  it('writes each request on its own when the window is 0', async () => {
    const engine = testEngine({ FLOE_GROUP_COMMIT_MS: '0' });
    const topic = randomTopic('nogroup');
    await engine.topics.create({ name: topic, partitions: 4 });
    await engine.topics.resolve(topic);
    const results = await Promise.all(Array.from({ length: 4 }, (_, p) => engine.producer.produce(topic, [{ key: null, value: value('v'), partition: p }])));
    expect(new Set(results.map((r) => r.objectKey)).size).toBe(4);
  });

  it('keeps every acknowledged record at its offset when grouped commits meet storage faults', async () => {
    const config = testConfig({ FLOE_GROUP_COMMIT_MS: '5' });
    const clients = createClients(config);
    // Lost answers, throttling, 500s, resets and latency on the one process all requests share.
    new FaultInjector({ seed: 20261201, rates: DEFAULT_FAULTS }).attach(clients);
    const engine = createEngine(config, clients);
    const reader = testEngine();
    const topic = randomTopic('groupfaults');
    await reader.topics.create({ name: topic, partitions: 2 });
    const acked = new Map<string, { partition: number; offset: number }>();
    let failures = 0;
    await Promise.all(
      Array.from({ length: 8 }, async (_, producer) => {
        for (let n = 0; n < 12; n++) {
          const values = [`p${producer}-${n}-a`, `p${producer}-${n}-b`];
          const r = await engine.producer.produce(topic, values.map((v) => ({ key: null, value: value(v), partition: (producer + n) % 2 }))).catch(() => undefined);
          if (!r) {
            failures++;
            continue;
          }
          r.records.forEach((x, i) => {
            if ('offset' in x) acked.set(values[i]!, { partition: x.partition, offset: x.offset });
          });
        }
      }),
    );
    expect(acked.size).toBeGreaterThan(0);
    const stored = new Map<string, string>();
    for (const partition of [0, 1]) {
      for (let offset = 0; ; ) {
        const r = await reader.fetcher.fetch({ topic, partition, offset });
        if (r.records.length === 0) break;
        for (const rec of r.records) stored.set(`${partition}:${rec.offset}`, rec.value!.toString());
        offset = r.nextOffset;
      }
    }
    // Each acknowledged record is where its request was told; no offset was told to two records.
    const told = new Set<string>();
    for (const [v, at] of acked) {
      const key = `${at.partition}:${at.offset}`;
      expect(told.has(key), key).toBe(false);
      told.add(key);
      expect(stored.get(key), `${v} at ${key} (${failures} requests failed)`).toBe(v);
    }
  });
});
