import { describe, expect, it } from 'vitest';
import {
  BufferConfig,
  Consumed,
  KeyValue,
  Materialized,
  Produced,
  Serdes,
  SessionWindows,
  StreamsBuilder,
  Suppressed,
  TimeWindows,
  TopologyTestDriver,
  Windowed,
  WindowedSerdes,
  type Task,
  type StateStore,
} from './index.ts';

const windowedString = (size: number) => WindowedSerdes.timeWindowedSerdeFrom(Serdes.String(), size);
const show = (kvs: Array<KeyValue<Windowed<string>, number | null>>) => kvs.map((kv) => `${kv.key.key}@${kv.key.window.start}-${kv.key.window.end}=${kv.value}`);

async function windowedCounts(windows: TimeWindows, records: Array<[string, number]>, options?: { lateRecordsTopic?: string }) {
  const b = new StreamsBuilder();
  b.stream<string, string>('in').groupByKey().windowedBy(windows, options).count(Materialized.as('counts')).toStream().to('out');
  const driver = new TopologyTestDriver(b.build());
  const input = driver.createInputTopic('in', Serdes.String(), Serdes.String());
  for (const [k, ts] of records) await input.pipeInput(k, `v${ts}`, ts);
  const out = driver.createOutputTopic('out', windowedString(windows.sizeMs), Serdes.Long());
  return { driver, out: show(out.readKeyValuesToList()) };
}

describe('time windows', () => {
  it('tumbling windows: start inclusive, end exclusive, epoch aligned', async () => {
    const { out, driver } = await windowedCounts(TimeWindows.ofSizeAndGrace(10, 100), [
      ['a', 0],
      ['a', 9],
      ['a', 10],
      ['b', 19],
      ['a', 25],
    ]);
    expect(out).toEqual(['a@0-10=1', 'a@0-10=2', 'a@10-20=1', 'b@10-20=1', 'a@20-30=1']);
    const store = driver.getWindowStore<string, number>('counts');
    expect(store.fetch('a', 0, 20)).toEqual([KeyValue.pair(0, 2), KeyValue.pair(10, 1), KeyValue.pair(20, 1)]);
    expect(store.fetchWindow('b', 10)).toBe(1);
    expect(store.all().map((kv) => kv.key.toString())).toEqual(['[a@0/10]', '[a@10/20]', '[a@20/30]', '[b@10/20]']);
  });

  it('hopping windows: a record is in every window that contains it', async () => {
    const { out } = await windowedCounts(TimeWindows.ofSizeAndGrace(10, 100).advanceBy(5), [
      ['a', 3],
      ['a', 5],
      ['a', 10],
    ]);
    expect(out).toEqual(['a@0-10=1', 'a@0-10=2', 'a@5-15=1', 'a@5-15=2', 'a@10-20=1']);
  });

  it('admits out-of-order records within grace, drops and counts later ones, and writes them to the late-records topic', async () => {
    const { out, driver } = await windowedCounts(
      TimeWindows.ofSizeAndGrace(10, 5),
      [
        ['a', 20],
        ['a', 14], // window [10,20) closes at 25: on time
        ['a', 30],
        ['a', 14], // stream time 30 >= 25: late
        ['a', 29],
      ],
      { lateRecordsTopic: 'late' },
    );
    expect(out).toEqual(['a@20-30=1', 'a@10-20=1', 'a@30-40=1', 'a@20-30=2']);
    expect(driver.metric('dropped-late-records')).toBe(1);
    expect(driver.createOutputTopic('late', Serdes.String(), Serdes.String()).readRecordsToList().map((r) => [r.key, r.value, r.timestamp])).toEqual([['a', 'v14', 14]]);
  });

  it('without grace, a record for a window that has ended is late', async () => {
    const { out, driver } = await windowedCounts(TimeWindows.ofSizeWithNoGrace(10), [
      ['a', 10],
      ['b', 9],
    ]);
    expect(out).toEqual(['a@10-20=1']);
    expect(driver.metric('dropped-late-records')).toBe(1);
  });

  it('deletes windows past retention when it next reads the key', async () => {
    const { driver } = await windowedCounts(TimeWindows.ofSizeWithNoGrace(10), [
      ['a', 0],
      ['b', 5],
      ['a', 25],
    ]);
    const store = driver.getWindowStore<string, number>('counts');
    expect(store.fetch('a', 0, 100)).toEqual([KeyValue.pair(20, 1)]);
    expect(store.fetch('b', 0, 100)).toEqual([KeyValue.pair(0, 1)]);
  });

  it('an internal late-records topic is declared as such', () => {
    const b = new StreamsBuilder();
    b.stream<string, string>('in').groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(10), { lateRecordsTopic: 'late', lateRecordsTopicInternal: true }).count();
    const t = b.build();
    expect(t.internalTopics).toContainEqual({ name: 'late', kind: 'late-records', partitions: null });
    expect(t.subtopologies[0]!.sinks).toEqual([{ name: 'late', internal: true }]);
  });

  it('windowed results can be written with the default windowed key serde; reduce and aggregate', async () => {
    const b = new StreamsBuilder();
    const w = b.stream('in', Consumed.with(Serdes.String(), Serdes.Long())).groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(100));
    w.reduce((a, v) => a + v).toStream().to('sum');
    w.aggregate(() => '', (k, v, acc) => acc + String(v), Materialized.with(Serdes.String(), Serdes.String())).toStream().to('concat');
    const driver = new TopologyTestDriver(b.build());
    const input = driver.createInputTopic('in', Serdes.String(), Serdes.Long());
    await input.pipeInput('k', 1, 10);
    await input.pipeInput('k', 2, 20);
    await input.pipeInput('k', 3, 110);
    const sum = driver.createOutputTopic('sum', windowedString(100), Serdes.Long()).readKeyValuesToList();
    expect(show(sum)).toEqual(['k@0-100=1', 'k@0-100=3', 'k@100-200=3']);
    const concat = driver.createOutputTopic('concat', windowedString(100), Serdes.String()).readValuesToList();
    expect(concat).toEqual(['1', '12', '3']);
  });
});

describe('session windows', () => {
  it('merges sessions a record bridges and deletes the merged ones downstream', async () => {
    const b = new StreamsBuilder();
    b.stream<string, string>('in').groupByKey().windowedBy(SessionWindows.ofInactivityGapAndGrace(10, 100)).count(Materialized.as('sessions')).toStream().to('out');
    const driver = new TopologyTestDriver(b.build());
    const input = driver.createInputTopic('in', Serdes.String(), Serdes.String());
    for (const ts of [0, 5, 30, 18, 12]) await input.pipeInput('a', 'x', ts);
    const out = driver.createOutputTopic('out', WindowedSerdes.sessionWindowedSerdeFrom(Serdes.String()), Serdes.Long()).readKeyValuesToList();
    expect(show(out)).toEqual(['a@0-0=1', 'a@0-0=null', 'a@0-5=2', 'a@30-30=1', 'a@18-18=1', 'a@0-5=null', 'a@18-18=null', 'a@0-18=4']);
    expect(show(driver.getSessionStore<string, number>('sessions').fetch('a'))).toEqual(['a@0-18=4', 'a@30-30=1']);
  });

  it('aggregates with a merger; records for closed sessions are late', async () => {
    const b = new StreamsBuilder();
    b.stream<string, string>('in')
      .groupByKey()
      .windowedBy(SessionWindows.ofInactivityGapWithNoGrace(10))
      .aggregate(
        () => '',
        (k, v, agg) => agg + v,
        (k, a1, a2) => a1 + a2,
        Materialized.with(Serdes.String(), Serdes.String()),
      )
      .toStream()
      .to('out', Produced.with(WindowedSerdes.sessionWindowedSerdeFrom(Serdes.String()), Serdes.String()));
    const driver = new TopologyTestDriver(b.build());
    const input = driver.createInputTopic('in', Serdes.String(), Serdes.String());
    await input.pipeInput('a', 'x', 0);
    await input.pipeInput('a', 'y', 8);
    await input.pipeInput('a', 'z', 40); // stream time 40: the session [0,8] closed at 18
    await input.pipeInput('a', 'late', 12);
    const out = driver.createOutputTopic('out', WindowedSerdes.sessionWindowedSerdeFrom(Serdes.String()), Serdes.String()).readKeyValuesToList();
    expect(out.map((kv) => `${kv.key.window.start}-${kv.key.window.end}=${kv.value}`)).toEqual(['0-0=x', '0-0=null', '0-8=xy', '40-40=z']);
    expect(driver.metric('dropped-late-records')).toBe(1);
  });
});

describe('suppress(untilWindowCloses)', () => {
  function build() {
    const b = new StreamsBuilder();
    b.stream<string, string>('in')
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeAndGrace(10, 5))
      .count()
      .suppress(Suppressed.untilWindowCloses(BufferConfig.unbounded()))
      .toStream()
      .to('out');
    return b.build();
  }

  it('emits each window once, when stream time passes end + grace', async () => {
    const topology = build();
    expect(topology.subtopologies[0]!.punctuates).toBe(true);
    const driver = new TopologyTestDriver(topology);
    const input = driver.createInputTopic('in', Serdes.String(), Serdes.String());
    const out = driver.createOutputTopic('out', windowedString(10), Serdes.Long());
    await input.pipeInput('a', 'x', 1);
    await input.pipeInput('b', 'x', 2);
    await input.pipeInput('a', 'x', 9);
    await input.pipeInput('a', 'x', 14);
    expect(out.isEmpty()).toBe(true); // [0,10) closes at 15
    await input.pipeInput('a', 'x', 15);
    expect(show(out.readKeyValuesToList())).toEqual(['a@0-10=2', 'b@0-10=1']);
    await input.pipeInput('b', 'x', 3); // late: dropped, counted, not re-emitted
    await input.pipeInput('a', 'x', 40);
    expect(show(out.readKeyValuesToList())).toEqual(['a@10-20=2']);
    expect(driver.metric('dropped-late-records')).toBe(1);
  });

  it('closes windows on the wall clock with no new records; later records for them are late', async () => {
    const driver = new TopologyTestDriver(build(), { initialWallClockTimeMs: 0 });
    const input = driver.createInputTopic('in', Serdes.String(), Serdes.String());
    const out = driver.createOutputTopic('out', windowedString(10), Serdes.Long());
    await input.pipeInput('a', 'x', 1);
    await input.pipeInput('a', 'x', 2);
    await driver.advanceWallClockTime(14);
    expect(out.isEmpty()).toBe(true);
    await driver.advanceWallClockTime(1);
    expect(show(out.readKeyValuesToList())).toEqual(['a@0-10=2']);
    await driver.advanceWallClockTime(100);
    expect(out.isEmpty()).toBe(true);
    await input.pipeInput('a', 'x', 5);
    expect(out.isEmpty()).toBe(true);
    expect(driver.metric('dropped-late-records')).toBe(1);
  });

  it('emits a session once it closes (end + gap + grace), never the sessions merged into it', async () => {
    const b = new StreamsBuilder();
    b.stream<string, string>('in')
      .groupByKey()
      .windowedBy(SessionWindows.ofInactivityGapAndGrace(10, 5))
      .count()
      .suppress(Suppressed.untilWindowCloses(BufferConfig.unbounded()))
      .toStream()
      .to('out');
    const driver = new TopologyTestDriver(b.build());
    const input = driver.createInputTopic('in', Serdes.String(), Serdes.String());
    const out = driver.createOutputTopic('out', WindowedSerdes.sessionWindowedSerdeFrom(Serdes.String()), Serdes.Long());
    for (const ts of [0, 8, 16]) await input.pipeInput('a', 'x', ts);
    await input.pipeInput('b', 'x', 30); // a's session [0,16] closes at 31
    expect(out.isEmpty()).toBe(true);
    await input.pipeInput('b', 'x', 31);
    expect(show(out.readKeyValuesToList())).toEqual(['a@0-16=3']);
    await driver.advanceWallClockTime(1000);
    expect(show(out.readKeyValuesToList())).toEqual(['b@30-31=2']);
  });

  it('is rejected on a table that is not windowed', () => {
    const b = new StreamsBuilder();
    expect(() => b.table('t').suppress(Suppressed.untilWindowCloses(BufferConfig.unbounded()))).toThrow(/windowed table/);
  });

  it('emits once across tasks recreated from the same stores (stream time and buffer are in stores)', async () => {
    const topology = build();
    const data = new Map<string, Map<string, Uint8Array>>();
    const storeOf = (name: string): StateStore => {
      if (!data.has(name)) data.set(name, new Map());
      const m = data.get(name)!;
      const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
      return {
        name,
        get: async (k) => m.get(hex(k)) ?? null,
        getMany: async (ks) => ks.map((k) => m.get(hex(k)) ?? null),
        put: (k, v) => (v === null ? m.delete(hex(k)) : m.set(hex(k), v)),
        range: async (from, to) =>
          [...m.keys()]
            .sort()
            .filter((h) => (from === null || h >= hex(from)) && (to === null || h < hex(to)))
            .map((h) => [Buffer.from(h, 'hex'), m.get(h)!] as [Uint8Array, Uint8Array]),
      };
    };
    const sent: string[] = [];
    const ser = Serdes.String();
    const newTask = (): Task =>
      topology.createTask(0, {
        applicationId: 'app',
        subtopology: 0,
        partition: 0,
        store: storeOf,
        globalStore: () => {
          throw new Error('none');
        },
        send: (topic, r) => sent.push(`${topic.name}:${windowedString(10).deserialize(topic.name, r.key).toString()}`),
        count: () => undefined,
      });
    const record = (ts: number) => ({ topic: 'in', partition: 0, offset: ts, timestamp: ts, key: ser.serialize('in', 'a'), value: ser.serialize('in', 'x'), headers: [] });
    let task = newTask();
    await task.process(record(1));
    await task.process(record(20));
    expect(sent).toEqual(['out:[a@0/10]']);
    task = newTask();
    await task.punctuate(10);
    await task.process(record(21));
    expect(sent).toEqual(['out:[a@0/10]']);
    await task.punctuate(1000);
    expect(sent).toEqual(['out:[a@0/10]', 'out:[a@20/30]']);
    task = newTask();
    await task.process(record(5)); // stream time (1000) came back from the stores: late
    await task.punctuate(2000);
    expect(sent).toEqual(['out:[a@0/10]', 'out:[a@20/30]']);
  });
});
