// Streams written with the DSL, run on Floe (DynamoDB Local and the S3 emulator): a windowed count whose
// suppressed windows close on the wall clock on a partition that goes idle, each emitted once; orders
// enriched from a customers table, with the customers topic also kept as a queryable table (latest
// value, 404 after a tombstone, a replay never showing an older value); and the same application run
// by topic triggers through its handler (the local server's module targets), fenced per invocation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BufferConfig,
  deployStreams,
  FloeStreams,
  Serdes,
  streamsHandler,
  StreamsBuilder,
  Suppressed,
  TimeWindows,
  Windowed,
  WindowedSerdes,
} from '../packages/streams/src/index.ts';
import { randomTopic } from './support/env.ts';
import { readAll, streamsFloe, until, type StreamsFloe } from './support/streams.ts';
import { resolve } from 'node:path';

let f: StreamsFloe;
beforeAll(async () => {
  f = await streamsFloe();
});
afterAll(async () => {
  await f?.close();
});

const long = (v: Buffer) => Number(v.readBigInt64BE(0));

describe('streams on Floe', () => {
  it('emits each suppressed window once, closing windows by the clock on a partition that went idle', async () => {
    const input = randomTopic('views');
    const output = randomTopic('per-window');
    await f.floe.admin().createTopics({ topics: [{ topic: input, numPartitions: 2 }, { topic: output, numPartitions: 1 }] });
    const SIZE = 3000;
    const GRACE = 1000;
    const b = new StreamsBuilder();
    b.stream<string, string>(input)
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeAndGrace(SIZE, GRACE))
      .count()
      .suppress(Suppressed.untilWindowCloses(BufferConfig.unbounded()))
      .toStream()
      .to(output, { keySerde: WindowedSerdes.timeWindowedSerdeFrom(Serdes.String(), SIZE), valueSerde: Serdes.Long() });
    const streams = new FloeStreams(b.build(), { applicationId: randomTopic('views-app'), floe: f.floe, punctuateIntervalMs: 200 });
    await streams.start();
    // A burst at the start of a window, then nothing: no later record would ever move stream time past
    // the window's end. (The window is open until end + grace, long after the burst is in.)
    while (Date.now() % SIZE > 200) await new Promise((r) => setTimeout(r, 20));
    const now = Date.now();
    const producer = f.floe.producer();
    const messages = Array.from({ length: 40 }, (_, i) => ({ key: `page-${i % 3}`, value: 'v', timestamp: now + (i % 4) * 10 }));
    const want = new Map<string, number>();
    for (const m of messages) {
      const id = `${m.key}@${Math.floor(m.timestamp / SIZE) * SIZE}`;
      want.set(id, (want.get(id) ?? 0) + 1);
    }
    await producer.send({ topic: input, messages });
    await producer.disconnect();
    const serde = WindowedSerdes.timeWindowedSerdeFrom(Serdes.String(), SIZE);
    const seen = await until(
      'every window to close',
      async () => {
        const rows = (await readAll(f.floe, output)).map((r) => {
          const k = serde.deserialize(output, new Uint8Array(r.key!)) as Windowed<string>;
          return [`${k.key}@${k.window.start}`, long(r.value!)] as const;
        });
        return rows.length >= want.size ? rows : undefined;
      },
      20_000,
    );
    // Some time more: a window emitted twice would show now.
    await new Promise((r) => setTimeout(r, 1500));
    await streams.close();
    const rows = (await readAll(f.floe, output)).map((r) => {
      const k = serde.deserialize(output, new Uint8Array(r.key!)) as Windowed<string>;
      return [`${k.key}@${k.window.start}`, long(r.value!)] as const;
    });
    expect(rows.length).toBe(seen.length);
    expect(new Set(rows.map((r) => r[0])).size).toBe(rows.length);
    expect(Object.fromEntries(rows)).toEqual(Object.fromEntries(want));
  });

  it('enriches every order whose customer exists; the customers table answers the latest value, 404 after a tombstone, and a replay never goes back', async () => {
    const customers = randomTopic('customers');
    const orders = randomTopic('orders');
    const enriched = randomTopic('enriched');
    await f.floe.admin().createTopics({
      topics: [
        { topic: customers, numPartitions: 2, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
        { topic: orders, numPartitions: 2 },
        { topic: enriched, numPartitions: 2 },
      ],
    });
    const table = `${customers}-table`;
    await f.floe.request('POST', '/floe/v1/tables', { body: { name: table, topic: customers } });
    const b = new StreamsBuilder();
    const people = b.table<string, { name: string; tier: string }>(customers, { valueSerde: Serdes.Json() });
    b.stream<string, { id: string; amount: number }>(orders, { valueSerde: Serdes.Json() })
      .join(people, (o, c) => ({ ...o, customer: c.name, tier: c.tier }))
      .to(enriched, { valueSerde: Serdes.Json() });
    const streams = new FloeStreams(b.build(), { applicationId: randomTopic('orders-app'), floe: f.floe });
    await streams.start();
    const producer = f.floe.producer();
    const send = (topic: string, key: string, value: unknown, timestamp: number) => producer.send({ topic, messages: [{ key, value: value === null ? null : JSON.stringify(value), timestamp }] });
    const t0 = Date.now();
    for (let c = 0; c < 10; c++) await send(customers, `c${c}`, { name: `name-${c}`, tier: 'basic' }, t0);
    await send(customers, 'c3', { name: 'name-3', tier: 'gold' }, t0 + 1);
    await send(customers, 'c9', null, t0 + 1);
    // Orders after the customers (by time: a stream-table join looks up the table as of the order).
    for (let o = 0; o < 30; o++) await send(orders, `c${o % 12}`, { id: `o${o}`, amount: o }, t0 + 10 + o);
    await producer.disconnect();
    await streams.drained();
    await streams.close();
    const out = (await readAll(f.floe, enriched)).map((r) => JSON.parse(r.value!.toString()) as { id: string; customer: string; tier: string });
    const expectedIds = Array.from({ length: 30 }, (_, o) => o).filter((o) => o % 12 < 9).map((o) => `o${o}`);
    expect(out.map((o) => o.id).sort()).toEqual(expectedIds.sort());
    expect(out.find((o) => o.id === 'o3')).toMatchObject({ customer: 'name-3', tier: 'gold' });
    expect(out.find((o) => o.id === 'o1')).toMatchObject({ customer: 'name-1', tier: 'basic' });
    // The table of the customers topic: the latest value, 404 after the tombstone.
    const get = (key: string) => f.floe.request<{ value: string }>('GET', `/floe/v1/tables/${table}/keys/${key}`);
    await until('the table to apply every record', async () => ((await f.floe.request<{ lag: number }>('GET', `/floe/v1/tables/${table}`)).lag === 0 ? true : undefined));
    expect(JSON.parse(Buffer.from((await get('c3')).value, 'base64').toString())).toEqual({ name: 'name-3', tier: 'gold' });
    await expect(get('c9')).rejects.toMatchObject({ status: 404 });
    // Replayed from the start: c3 never reads as basic again, and c9 never comes back.
    await f.engine.tables.replay(table);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      expect(JSON.parse(Buffer.from((await get('c3')).value, 'base64').toString()).tier).toBe('gold');
      await expect(get('c9')).rejects.toMatchObject({ status: 404 });
      if ((await f.floe.request<{ lag: number }>('GET', `/floe/v1/tables/${table}`)).lag === 0 && Date.now() > deadline - 4000) break;
    }
  });

  it('runs as topic triggers: one per sub-topology, the handler committing each batch exactly once', async () => {
    const input = randomTopic('lines');
    const output = randomTopic('counts');
    const applicationId = randomTopic('trig-app');
    await f.floe.admin().createTopics({ topics: [{ topic: input, numPartitions: 2 }, { topic: output, numPartitions: 2 }] });
    const b = new StreamsBuilder();
    b.stream<string, string>(input)
      .flatMapValues((v) => v.split(' '))
      .groupBy((_k, w) => w)
      .count()
      .toStream()
      .to(output, { valueSerde: Serdes.Long() });
    const topology = b.build();
    // The module target calls the handler this test registers (the fixture forwards to it).
    (globalThis as Record<string, unknown>).floeStreamsFixture = streamsHandler(topology, { applicationId, floe: f.floe });
    const names = await deployStreams(f.floe, topology, applicationId, { type: 'module', path: resolve(import.meta.dirname, 'support/streams-fixture.ts'), export: 'handler' });
    expect(names).toHaveLength(topology.subtopologies.length);
    const producer = f.floe.producer();
    const words = ['a', 'b', 'c', 'd', 'e'];
    const want = new Map<string, number>();
    for (let i = 0; i < 60; i++) {
      const line = `${words[i % 5]} ${words[(i * 3) % 5]}`;
      for (const w of line.split(' ')) want.set(w, (want.get(w) ?? 0) + 1);
      await producer.send({ topic: input, messages: [{ key: `l${i}`, value: line }] });
    }
    await producer.disconnect();
    const got = await until(
      'the counts',
      async () => {
        const m = new Map<string, number>();
        for (const r of await readAll(f.floe, output)) m.set(r.key!.toString(), long(r.value!));
        return [...want].every(([w, n]) => m.get(w) === n) ? m : undefined;
      },
      45_000,
    );
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));
    for (const n of names) await f.floe.request('DELETE', `/floe/v1/triggers/${n}`);
  });
});
