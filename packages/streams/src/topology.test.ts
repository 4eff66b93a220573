import { describe, expect, it } from 'vitest';
import { JoinWindows, Materialized, Produced, Repartitioned, Serdes, StreamsBuilder, TopologyException, TopologyTestDriver } from './index.ts';

describe('Topology', () => {
  it('describe() prints sub-topologies as Kafka does', () => {
    const b = new StreamsBuilder();
    b.stream<string, string>('text')
      .flatMapValues((l) => l.split(' '))
      .groupBy((k, w) => w)
      .count(Materialized.as('counts-store'))
      .toStream()
      .to('counts', Produced.with(Serdes.String(), Serdes.Long()));
    b.globalTable('products');
    const t = b.build();
    expect(t.describe()).toBe(
      [
        'Topologies:',
        '   Sub-topology: 0',
        '    Source: KSTREAM-SOURCE-0000000000 (topics: [text])',
        '      --> KSTREAM-FLATMAPVALUES-0000000001',
        '    Processor: KSTREAM-FLATMAPVALUES-0000000001 (stores: [])',
        '      --> KSTREAM-KEY-SELECT-0000000002',
        '      <-- KSTREAM-SOURCE-0000000000',
        '    Processor: KSTREAM-KEY-SELECT-0000000002 (stores: [])',
        '      --> counts-store-repartition-filter',
        '      <-- KSTREAM-FLATMAPVALUES-0000000001',
        '    Processor: counts-store-repartition-filter (stores: [])',
        '      --> counts-store-repartition-sink',
        '      <-- KSTREAM-KEY-SELECT-0000000002',
        '    Sink: counts-store-repartition-sink (topic: counts-store-repartition)',
        '      <-- counts-store-repartition-filter',
        '',
        '   Sub-topology: 1',
        '    Source: counts-store-repartition-source (topics: [counts-store-repartition])',
        '      --> KSTREAM-AGGREGATE-0000000003',
        '    Processor: KSTREAM-AGGREGATE-0000000003 (stores: [counts-store])',
        '      --> KTABLE-TOSTREAM-0000000004',
        '      <-- counts-store-repartition-source',
        '    Processor: KTABLE-TOSTREAM-0000000004 (stores: [])',
        '      --> KSTREAM-SINK-0000000005',
        '      <-- KSTREAM-AGGREGATE-0000000003',
        '    Sink: KSTREAM-SINK-0000000005 (topic: counts)',
        '      <-- KTABLE-TOSTREAM-0000000004',
        '',
        '   Sub-topology: 2 for global store (will not generate tasks)',
        '    Source: KSTREAM-SOURCE-0000000007 (topics: [products])',
        '      --> KTABLE-SOURCE-0000000008',
        '    Processor: KTABLE-SOURCE-0000000008 (stores: [products-STATE-STORE-0000000006])',
        '      --> none',
        '      <-- KSTREAM-SOURCE-0000000007',
        '',
      ].join('\n'),
    );
    expect(t.compiled()).toBe(t);
    expect(t.compiled().describe()).toBe(t.describe());
  });

  it('repartition(n) cuts the topology and fixes the partition count', () => {
    const b = new StreamsBuilder();
    b.stream<string, string>('in').repartition(Repartitioned.numberOfPartitions<string, string>(6).withName('by-x')).to('out');
    const t = b.build();
    expect(t.subtopologies.map((s) => [s.sources, s.sinks])).toEqual([
      [[{ name: 'in', internal: false }], [{ name: 'by-x-repartition', internal: true }]],
      [[{ name: 'by-x-repartition', internal: true }], [{ name: 'out', internal: false }]],
    ]);
    expect(t.internalTopics).toEqual([{ name: 'by-x-repartition', kind: 'repartition', partitions: 6 }]);
  });

  it('records every co-partitioned topic of a join in its sub-topology', () => {
    const b = new StreamsBuilder();
    const table = b.table('t');
    b.stream<string, string>('s').join(table, (v, t) => v + t).to('out');
    const t = b.build();
    expect(t.subtopologies).toHaveLength(1);
    expect(t.subtopologies[0]!.sources.map((s) => s.name).sort()).toEqual(['s', 't']);
  });

  const joinBoth = (left: Repartitioned<string, string> | 'selectKey' | undefined, right: Repartitioned<string, string> | 'selectKey' | undefined) => {
    const b = new StreamsBuilder();
    const side = (topic: string, how: typeof left) => {
      const s = b.stream<string, string>(topic);
      return how === 'selectKey' ? s.selectKey((k, v) => v) : how ? s.repartition(how) : s.repartition();
    };
    side('a', left).join(side('b', right), (x, y) => x + y, JoinWindows.ofTimeDifferenceWithNoGrace(10)).to('out');
    return b.build();
  };

  it('refuses a join of repartition topics with different partition counts, naming them', () => {
    expect(() => joinBoth(Repartitioned.numberOfPartitions<string, string>(4).withName('left'), Repartitioned.numberOfPartitions<string, string>(3).withName('right'))).toThrow(TopologyException);
    expect(() => joinBoth(Repartitioned.numberOfPartitions<string, string>(4).withName('left'), Repartitioned.numberOfPartitions<string, string>(3).withName('right'))).toThrow(
      /left-repartition \(4\), right-repartition \(3\)/,
    );
  });

  it('refuses a fixed count against a repartition() that follows its writer', () => {
    expect(() => joinBoth(Repartitioned.numberOfPartitions<string, string>(4).withName('left'), Repartitioned.as<string, string>('right'))).toThrow(
      /left-repartition has 4 partitions but right-repartition follows its writer's count/,
    );
  });

  it('gives an automatic repartition topic the fixed count of the other side', () => {
    const t = joinBoth(Repartitioned.numberOfPartitions<string, string>(4).withName('left'), 'selectKey');
    expect(t.internalTopics.filter((x) => x.kind === 'repartition').map((x) => [x.name, x.partitions])).toEqual([
      ['left-repartition', 4],
      ['KSTREAM-KEY-SELECT-0000000002-repartition', 4],
    ]);
  });

  it('refuses names used twice', () => {
    const b = new StreamsBuilder();
    b.stream('a');
    expect(() => b.stream('a')).toThrow(/topic a is already read/);
    const s = b.stream<string, string>('c');
    s.groupByKey().count(Materialized.as('x'));
    expect(() => s.groupByKey().count(Materialized.as('x'))).toThrow(/store named x/);
  });

  it('createTask rejects an unknown sub-topology and tasks reject topics they do not read', async () => {
    const b = new StreamsBuilder();
    b.stream('in').to('out');
    const t = b.build();
    expect(() => t.createTask(5, {} as never)).toThrow(/no sub-topology 5/);
    const task = t.createTask(0, { applicationId: 'app', subtopology: 0, partition: 0, store: () => ({}) as never, globalStore: () => ({}) as never, send: () => undefined, count: () => undefined });
    await expect(task.process({ topic: 'other', partition: 0, offset: 0, timestamp: 0, key: null, value: null, headers: [] })).rejects.toThrow(/does not read topic other/);
  });

  it('tasks accept internal topics under the runtime name <applicationId>-<name>', async () => {
    const b = new StreamsBuilder();
    b.stream<string, string>('in').repartition(Repartitioned.as('r')).to('out');
    const t = b.build();
    const sent: string[] = [];
    const task = t.createTask(1, { applicationId: 'app', subtopology: 1, partition: 0, store: () => ({}) as never, globalStore: () => ({}) as never, send: (topic) => sent.push(topic.name), count: () => undefined });
    await task.process({ topic: 'app-r-repartition', partition: 0, offset: 0, timestamp: 0, key: Buffer.from('k'), value: Buffer.from('v'), headers: [] });
    expect(sent).toEqual(['out']);
  });

  it('the driver runs a multi-sub-topology topology end to end', async () => {
    const b = new StreamsBuilder();
    b.stream<string, string>('in').selectKey((k, v) => v).repartition(Repartitioned.numberOfPartitions(2)).groupByKey().count(Materialized.as('c'));
    const driver = new TopologyTestDriver(b.build());
    await driver.createInputTopic('in', Serdes.String(), Serdes.String()).pipeValueList(['x', 'y', 'x']);
    expect(driver.getKeyValueStore<string, number>('c').get('x')).toBe(2);
    await driver.close();
    await expect(driver.createInputTopic('in', Serdes.String(), Serdes.String()).pipeValue('x')).rejects.toThrow(/closed/);
  });
});
