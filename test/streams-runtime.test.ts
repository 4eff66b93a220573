// The streams runtime on Floe, below the DSL: a word count written straight against the task contract
// (a splitter, an internal repartition topic, a counter with a key-value store), run by FloeStreams on
// DynamoDB Local and the S3 emulator. Exactly once: counts exact through lost answers and failed calls
// of the client, restarts (the store's changelog tail restored before its table has it) and a second
// instance of the application (the older one's tasks are fenced and stop).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Floe } from '../packages/client/src/index.ts';
import { FloeStreams, StreamsConfigError, TaskFencedError } from '../packages/streams/src/runtime/index.ts';
import type { CompiledTopology, InputRecord, TaskContext } from '../packages/streams/src/task.ts';
import { prng } from './harness/faults.ts';
import { randomTopic } from './support/env.ts';
import { latest, readAll, streamsFloe, until, type StreamsFloe } from './support/streams.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

function wordCount(input: string, output: string): CompiledTopology {
  const repartition = { name: 'words-repartition', internal: true };
  return {
    subtopologies: [
      { id: 0, sources: [{ name: input, internal: false }], sinks: [repartition], dynamicSinks: false, stores: [], globalStores: [], punctuates: false },
      { id: 1, sources: [repartition], sinks: [{ name: output, internal: false }], dynamicSinks: false, stores: ['counts'], globalStores: [], punctuates: false },
    ],
    stores: [{ name: 'counts', kind: 'kv', subtopology: 1 }],
    globalStores: [],
    internalTopics: [
      { name: 'words-repartition', kind: 'repartition', partitions: null },
      { name: 'counts-changelog', kind: 'changelog', partitions: null, store: 'counts' },
    ],
    describe: () => 'word count',
    createTask(sub: number, ctx: TaskContext) {
      if (sub === 0) {
        return {
          async process(r: InputRecord) {
            for (const w of dec.decode(r.value!).split(/\s+/).filter(Boolean)) ctx.send(repartition, { key: enc.encode(w), value: null, timestamp: r.timestamp });
          },
          async punctuate() {},
        };
      }
      const store = ctx.store('counts');
      return {
        async process(r: InputRecord) {
          const n = Number(dec.decode((await store.get(r.key!)) ?? enc.encode('0'))) + 1;
          store.put(r.key!, enc.encode(String(n)));
          ctx.send({ name: output, internal: false }, { key: r.key, value: enc.encode(String(n)), timestamp: r.timestamp });
        },
        async punctuate() {},
      };
    },
  };
}

/** A client whose calls fail before they are sent, or lose their answer after the server acted, at random (seeded). */
function flakyClient(f: StreamsFloe, seed: number, rate: number): { floe: Floe; faults: () => number } {
  const random = prng(seed);
  let faults = 0;
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const r = random();
    if (r < rate) {
      faults++;
      throw new TypeError('fetch failed (injected before send)');
    }
    const res = await f.fetch(input, init);
    if (r < rate * 2) {
      faults++;
      await res.arrayBuffer();
      throw new TypeError('fetch failed (injected: answer lost)');
    }
    return res;
  }) as typeof globalThis.fetch;
  return { floe: new Floe({ url: 'http://floe.test', fetch, retry: { retries: 8, initialRetryTime: 20, maxRetryTime: 200 } }), faults: () => faults };
}

const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];

function lines(n: number, seed: number): string[] {
  const random = prng(seed);
  return Array.from({ length: n }, () => Array.from({ length: 1 + Math.floor(random() * 5) }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' '));
}

function expected(all: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of all) for (const w of l.split(' ')) m.set(w, (m.get(w) ?? 0) + 1);
  return m;
}

let f: StreamsFloe;
beforeAll(async () => {
  f = await streamsFloe();
});
afterAll(async () => {
  await f?.close();
});

async function setup(partitions = 4) {
  const input = randomTopic('in');
  const output = randomTopic('out');
  const app = randomTopic('app');
  await f.floe.admin().createTopics({ topics: [{ topic: input, numPartitions: partitions }, { topic: output, numPartitions: 2 }] });
  return { input, output, app };
}

async function produce(input: string, all: string[]): Promise<void> {
  const p = f.floe.producer({ lingerMs: 5 });
  await Promise.all(all.map((l, i) => p.send({ topic: input, messages: [{ key: `k${i}`, value: l }] })));
  await p.disconnect();
}

/** The latest count per word in the output, and the store's table, both equal to `want`. */
async function checkCounts(output: string, app: string, want: Map<string, number>): Promise<void> {
  const out = latest(await readAll(f.floe, output), (v) => Number(v.toString()));
  expect(Object.fromEntries(out)).toEqual(Object.fromEntries(want));
  const table = `${app}-counts`;
  const got = await until('the table to catch up', async () => {
    const m = new Map<string, number>();
    for (const w of want.keys()) {
      const r = await f.floe.request<{ value: string | null }>('GET', `/floe/v1/tables/${table}/keys/${w}`).catch(() => ({ value: null }));
      if (r.value !== null) m.set(w, Number(Buffer.from(r.value, 'base64').toString()));
    }
    return [...want].every(([w, n]) => m.get(w) === n) ? m : undefined;
  });
  expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));
}

describe('the streams runtime', () => {
  it('counts words exactly once, with the state in a table and the offsets in the group', async () => {
    const { input, output, app } = await setup();
    const all = lines(200, 1);
    await produce(input, all);
    const streams = new FloeStreams(wordCount(input, output), { applicationId: app, floe: f.floe });
    await streams.start();
    await streams.drained();
    await checkCounts(output, app, expected(all));
    // More input, processed on top of the state (read back from the table).
    const more = lines(100, 2);
    await produce(input, more);
    await streams.drained();
    await streams.close();
    await checkCounts(output, app, expected([...all, ...more]));
    const offsets = await f.floe.admin().fetchOffsets({ groupId: app, topics: [input] });
    expect(offsets[0]!.partitions.map((p) => Number(p.offset)).reduce((a, b) => a + b, 0)).toBe(300);
    // Every line once, then every word once (the repartitioned records), with no fault to repeat a batch.
    const words = [...all, ...more].reduce((n, l) => n + l.split(' ').length, 0);
    expect(streams.metrics()['records-processed']).toBe(300 + words);
  });

  it('stays exact when calls fail and answers are lost, and across restarts before the table catches up', async () => {
    const { input, output, app } = await setup();
    const all = lines(300, 3);
    await produce(input, all.slice(0, 150));
    const flaky = flakyClient(f, 7, 0.04);
    let streams = new FloeStreams(wordCount(input, output), { applicationId: app, floe: flaky.floe, maxBatchRecords: 17 });
    await streams.start();
    await streams.drained(120_000);
    await streams.close();
    // Restarted at once: the table may not have applied the last changelog records yet.
    await produce(input, all.slice(150));
    streams = new FloeStreams(wordCount(input, output), { applicationId: app, floe: flaky.floe, maxBatchRecords: 23 });
    await streams.start();
    await streams.drained(120_000);
    await streams.close();
    expect(flaky.faults()).toBeGreaterThan(10);
    await checkCounts(output, app, expected(all));
  });

  it('fences the older of two instances of one application: its tasks stop, the counts stay exact', async () => {
    const { input, output, app } = await setup(2);
    const all = lines(200, 4);
    await produce(input, all.slice(0, 100));
    const errors: unknown[] = [];
    const older = new FloeStreams(wordCount(input, output), { applicationId: app, floe: f.floe, maxBatchRecords: 10, onError: (e) => errors.push(e) });
    await older.start();
    await older.drained();
    const newer = new FloeStreams(wordCount(input, output), { applicationId: app, floe: f.floe, maxBatchRecords: 10 });
    await newer.start();
    await produce(input, all.slice(100));
    await newer.drained(120_000);
    await until('the older instance to be fenced', async () => errors.some((e) => e instanceof TaskFencedError) || undefined);
    await Promise.all([older.close(), newer.close()]);
    await checkCounts(output, app, expected(all));
  });

  it('at least once: nothing lost (without faults, nothing repeated either)', async () => {
    const { input, output, app } = await setup(2);
    const all = lines(120, 5);
    await produce(input, all);
    const streams = new FloeStreams(wordCount(input, output), { applicationId: app, floe: f.floe, processingGuarantee: 'at_least_once' });
    await streams.start();
    await streams.drained();
    await streams.close();
    await checkCounts(output, app, expected(all));
  });

  it('refuses sources that are not co-partitioned, naming them', async () => {
    const a = randomTopic('a');
    const b = randomTopic('b');
    await f.floe.admin().createTopics({ topics: [{ topic: a, numPartitions: 2 }, { topic: b, numPartitions: 3 }] });
    const t = wordCount(a, randomTopic('out'));
    t.subtopologies[0]!.sources.push({ name: b, internal: false });
    const streams = new FloeStreams(t, { applicationId: randomTopic('app'), floe: f.floe });
    await expect(streams.start()).rejects.toThrow(StreamsConfigError);
    await expect(new FloeStreams(t, { applicationId: randomTopic('app'), floe: f.floe }).start()).rejects.toThrow(new RegExp(`${a} \\(2\\), ${b} \\(3\\)`));
  });
});
