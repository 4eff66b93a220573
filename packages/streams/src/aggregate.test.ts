import { describe, expect, it } from 'vitest';
import { Consumed, Grouped, KeyValue, Materialized, Produced, Serdes, StreamsBuilder, TopologyTestDriver } from './index.ts';

describe('grouping and aggregation', () => {
  it('counts words through a repartition topic (the word count)', async () => {
    const b = new StreamsBuilder();
    b.stream<string, string>('text')
      .flatMapValues((line) => line.toLowerCase().split(' '))
      .groupBy((k, w) => w)
      .count()
      .toStream()
      .to('counts', Produced.with(Serdes.String(), Serdes.Long()));
    const topology = b.build();
    expect(topology.subtopologies).toHaveLength(2);
    const repartition = topology.internalTopics.filter((t) => t.kind === 'repartition');
    expect(repartition).toEqual([{ name: 'KSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition', kind: 'repartition', partitions: null }]);
    expect(topology.subtopologies[0]!.sinks).toEqual([{ name: 'KSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition', internal: true }]);
    expect(topology.subtopologies[1]!.sources).toEqual([{ name: 'KSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition', internal: true }]);
    expect(topology.stores).toEqual([{ name: 'KSTREAM-AGGREGATE-STATE-STORE-0000000003', kind: 'kv', subtopology: 1 }]);
    expect(topology.internalTopics).toContainEqual({ name: 'KSTREAM-AGGREGATE-STATE-STORE-0000000003-changelog', kind: 'changelog', partitions: null, store: 'KSTREAM-AGGREGATE-STATE-STORE-0000000003' });

    const driver = new TopologyTestDriver(topology);
    const input = driver.createInputTopic('text', Serdes.String(), Serdes.String());
    await input.pipeValue('Hello world');
    await input.pipeValue('hello streams');
    const out = driver.createOutputTopic('counts', Serdes.String(), Serdes.Long());
    expect(out.readKeyValuesToList()).toEqual([KeyValue.pair('hello', 1), KeyValue.pair('world', 1), KeyValue.pair('hello', 2), KeyValue.pair('streams', 1)]);
    expect(driver.getKeyValueStore<string, number>('KSTREAM-AGGREGATE-STATE-STORE-0000000003').get('hello')).toBe(2);
  });

  it('count() values are 8-byte big-endian longs by default, as Kafka writes them', async () => {
    const b = new StreamsBuilder();
    b.stream<string, string>('in').groupByKey().count().toStream().to('out');
    const driver = new TopologyTestDriver(b.build());
    await driver.createInputTopic('in', Serdes.String(), Serdes.String()).pipeInput('k', 'v');
    const raw = driver.createOutputTopic('out', Serdes.String(), Serdes.Bytes()).readValue();
    expect([...raw]).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
  });

  it('groupByKey does not repartition an unchanged key; a named store and Grouped name the topics', async () => {
    const b = new StreamsBuilder();
    b.stream<string, string>('in').groupByKey().count(Materialized.as('per-key')).toStream().to('a');
    b.stream<string, string>('in2').selectKey((k, v) => v).groupByKey(Grouped.as('by-value')).count(Materialized.as('per-value')).toStream().to('b');
    const t = b.build();
    expect(t.subtopologies).toHaveLength(3);
    expect(t.internalTopics.filter((x) => x.kind === 'repartition').map((x) => x.name)).toEqual(['by-value-repartition']);
    expect(t.internalTopics.filter((x) => x.kind === 'changelog').map((x) => x.name)).toEqual(['per-key-changelog', 'per-value-changelog']);
  });

  it('drops records with a null key from aggregations (counted)', async () => {
    const b = new StreamsBuilder();
    b.stream<string, string>('in').groupByKey().count(Materialized.as('c'));
    const driver = new TopologyTestDriver(b.build());
    const input = driver.createInputTopic('in', Serdes.String(), Serdes.String());
    await input.pipeInput(null, 'x');
    await input.pipeInput('k', 'x');
    expect(driver.getKeyValueStore('c').all()).toEqual([KeyValue.pair('k', 1)]);
    expect(driver.metric('dropped-records')).toBe(1);
  });

  it('reduce and aggregate, with timestamps the latest of their records', async () => {
    const b = new StreamsBuilder();
    const grouped = b.stream('in', Consumed.with(Serdes.String(), Serdes.Long())).groupByKey();
    grouped.reduce((a, v) => a + v, Materialized.as('sum')).toStream().to('sum', Produced.with(Serdes.String(), Serdes.Long()));
    grouped
      .aggregate(() => ({ n: 0, max: -Infinity }), (k, v, agg) => ({ n: agg.n + 1, max: Math.max(agg.max, v) }), Materialized.with(Serdes.String(), Serdes.Json<{ n: number; max: number }>()))
      .toStream()
      .to('stats', Produced.with(Serdes.String(), Serdes.Json<{ n: number; max: number }>()));
    const driver = new TopologyTestDriver(b.build());
    const input = driver.createInputTopic('in', Serdes.String(), Serdes.Long());
    await input.pipeInput('a', 5, 100);
    await input.pipeInput('a', 7, 50);
    await input.pipeInput('b', 1, 10);
    const sum = driver.createOutputTopic('sum', Serdes.String(), Serdes.Long()).readRecordsToList();
    expect(sum.map((r) => [r.key, r.value, r.timestamp])).toEqual([
      ['a', 5, 100],
      ['a', 12, 100],
      ['b', 1, 10],
    ]);
    expect(driver.createOutputTopic('stats', Serdes.String(), Serdes.Json<{ n: number; max: number }>()).readKeyValuesToMap()).toEqual(
      new Map([
        ['a', { n: 2, max: 7 }],
        ['b', { n: 1, max: 1 }],
      ]),
    );
    expect(driver.getKeyValueStore<string, number>('sum').all()).toEqual([KeyValue.pair('a', 12), KeyValue.pair('b', 1)]);
  });

  it('a named grouping shares one repartition topic between aggregations', () => {
    const b = new StreamsBuilder();
    const g = b.stream<string, string>('in').selectKey((k, v) => v).groupByKey(Grouped.as('g'));
    g.count();
    g.reduce((a, v) => a + v);
    const t = b.build();
    expect(t.internalTopics.filter((x) => x.kind === 'repartition').map((x) => x.name)).toEqual(['g-repartition']);
    expect(t.subtopologies).toHaveLength(2);
  });
});

describe('tables', () => {
  it('a table keeps the latest value per key; null deletes', async () => {
    const b = new StreamsBuilder();
    b.table<string, string>('users', {}, Materialized.as('users-store')).toStream().to('changes');
    const driver = new TopologyTestDriver(b.build());
    const input = driver.createInputTopic('users', Serdes.String(), Serdes.String());
    await input.pipeInput('alice', 'v1');
    await input.pipeInput('bob', 'v1');
    await input.pipeInput('alice', 'v2');
    await input.pipeInput('bob', null);
    await input.pipeInput('carol', null);
    const store = driver.getKeyValueStore<string, string>('users-store');
    expect(store.get('alice')).toBe('v2');
    expect(store.get('bob')).toBeNull();
    expect(store.all()).toEqual([KeyValue.pair('alice', 'v2')]);
    expect(driver.createOutputTopic('changes', Serdes.String(), Serdes.String()).readKeyValuesToList()).toEqual([
      KeyValue.pair('alice', 'v1'),
      KeyValue.pair('bob', 'v1'),
      KeyValue.pair('alice', 'v2'),
      KeyValue.pair('bob', null),
    ]);
  });

  it('filter deletes rows that stop passing; mapValues maps rows and keeps deletes', async () => {
    const b = new StreamsBuilder();
    const t = b.table('t', Consumed.with(Serdes.String(), Serdes.Long()));
    t.filter((k, v) => v > 10).toStream().to('big', Produced.with(Serdes.String(), Serdes.Long()));
    t.filterNot((k, v) => v > 10, Materialized.as('small')).toStream().to('small', Produced.with(Serdes.String(), Serdes.Long()));
    t.mapValues((v, k) => `${k}=${v}`).toStream().to('text');
    const driver = new TopologyTestDriver(b.build());
    const input = driver.createInputTopic('t', Serdes.String(), Serdes.Long());
    await input.pipeInput('a', 5);
    await input.pipeInput('a', 20);
    await input.pipeInput('a', 3);
    await input.pipeInput('a', null);
    expect(driver.createOutputTopic('big', Serdes.String(), Serdes.Long()).readKeyValuesToList()).toEqual([KeyValue.pair('a', 20), KeyValue.pair('a', null)]);
    expect(driver.createOutputTopic('small', Serdes.String(), Serdes.Long()).readKeyValuesToList()).toEqual([
      KeyValue.pair('a', 5),
      KeyValue.pair('a', null),
      KeyValue.pair('a', 3),
      KeyValue.pair('a', null),
    ]);
    expect(driver.getKeyValueStore('small').all()).toEqual([]);
    expect(driver.createOutputTopic('text', Serdes.String(), Serdes.String()).readValuesToList()).toEqual(['a=5', 'a=20', 'a=3', null]);
  });

  it('KGroupedTable subtracts a row from its old group and adds it to its new one', async () => {
    const b = new StreamsBuilder();
    const users = b.table('users', Consumed.with(Serdes.String(), Serdes.Json<{ country: string; age: number }>()));
    const byCountry = users.groupBy((id, u) => KeyValue.pair(u.country, u.age), Grouped.with(Serdes.String(), Serdes.Long()));
    byCountry.count(Materialized.as('count')).toStream().to('count', Produced.with(Serdes.String(), Serdes.Long()));
    byCountry.reduce((a, v) => a + v, (a, v) => a - v, Materialized.as('ages')).toStream().to('ages', Produced.with(Serdes.String(), Serdes.Long()));
    byCountry
      .aggregate(
        () => [] as number[],
        (c, age, list) => [...list, age],
        (c, age, list) => list.filter((x) => x !== age),
        Materialized.with(Serdes.String(), Serdes.Json<number[]>()),
      )
      .toStream()
      .to('lists', Produced.with(Serdes.String(), Serdes.Json<number[]>()));
    const topology = b.build();
    expect(topology.internalTopics.filter((t) => t.kind === 'repartition')).toHaveLength(3);
    const driver = new TopologyTestDriver(topology);
    const input = driver.createInputTopic('users', Serdes.String(), Serdes.Json<{ country: string; age: number }>());
    await input.pipeInput('alice', { country: 'fr', age: 30 });
    await input.pipeInput('bob', { country: 'fr', age: 40 });
    await input.pipeInput('alice', { country: 'de', age: 31 });
    await input.pipeInput('bob', { country: 'fr', age: 41 });
    await input.pipeInput('bob', null);
    const count = driver.getKeyValueStore<string, number>('count');
    expect(count.get('fr')).toBe(0);
    expect(count.get('de')).toBe(1);
    expect(driver.createOutputTopic('count', Serdes.String(), Serdes.Long()).readKeyValuesToList()).toEqual([
      KeyValue.pair('fr', 1),
      KeyValue.pair('fr', 2),
      KeyValue.pair('fr', 1), // alice left fr
      KeyValue.pair('de', 1), // and joined de
      KeyValue.pair('fr', 1), // bob's age changed within fr: one update
      KeyValue.pair('fr', 0),
    ]);
    expect(driver.createOutputTopic('ages', Serdes.String(), Serdes.Long()).readKeyValuesToList()).toEqual([
      KeyValue.pair('fr', 30),
      KeyValue.pair('fr', 70),
      KeyValue.pair('fr', 40),
      KeyValue.pair('de', 31),
      KeyValue.pair('fr', 41),
      KeyValue.pair('fr', 0),
    ]);
    expect(driver.createOutputTopic('lists', Serdes.String(), Serdes.Json<number[]>()).readKeyValuesToMap()).toEqual(
      new Map([
        ['fr', []],
        ['de', [31]],
      ]),
    );
  });

  it('toTable materializes a stream; after a key change it repartitions first', async () => {
    const b = new StreamsBuilder();
    b.stream<string, string>('in').selectKey((k, v) => v.split(':')[0]!).mapValues((v) => v.split(':')[1] ?? null).toTable(Materialized.as('latest'));
    const t = b.build();
    expect(t.subtopologies).toHaveLength(2);
    const driver = new TopologyTestDriver(t);
    const input = driver.createInputTopic('in', Serdes.String(), Serdes.String());
    await input.pipeValue('a:1');
    await input.pipeValue('b:2');
    await input.pipeValue('a:3');
    await input.pipeValue('b');
    expect(driver.getKeyValueStore('latest').all()).toEqual([KeyValue.pair('a', '3')]);
  });
});
