import { describe, expect, it } from 'vitest';
import { Branched, KeyValue, Named, Produced, Serdes, StreamsBuilder, TopologyTestDriver } from './index.ts';

async function run(build: (b: StreamsBuilder) => void, input: Array<[string | null, string | null, number?]>, outputs: string[] = ['out']) {
  const b = new StreamsBuilder();
  build(b);
  const driver = new TopologyTestDriver(b.build());
  const topic = driver.createInputTopic('in', Serdes.String(), Serdes.String());
  for (const [k, v, ts] of input) await topic.pipeInput(k, v, ts);
  return Object.fromEntries(outputs.map((o) => [o, driver.createOutputTopic(o, Serdes.String(), Serdes.String()).readKeyValuesToList().map((kv) => [kv.key, kv.value])]));
}

describe('stateless operators', () => {
  it('filter and filterNot', async () => {
    const out = await run(
      (b) => {
        const s = b.stream<string, string>('in');
        s.filter((k, v) => v.startsWith('a')).to('out');
        s.filterNot((k, v) => v.startsWith('a')).to('rest');
      },
      [['1', 'apple'], ['2', 'banana'], ['3', 'avocado']],
      ['out', 'rest'],
    );
    expect(out.out).toEqual([['1', 'apple'], ['3', 'avocado']]);
    expect(out.rest).toEqual([['2', 'banana']]);
  });

  it('map (KeyValue or tuple), mapValues with and without the key, selectKey', async () => {
    const out = await run(
      (b) => {
        const s = b.stream<string, string>('in');
        s.map((k, v) => KeyValue.pair(v, k)).to('out');
        s.map((k, v) => [v.toUpperCase(), `${k}!`]).to('tuple');
        s.mapValues((v) => v.length).to('len', Produced.valueSerde(Serdes.Long()));
        s.mapValues((v, k) => `${k}:${v}`).to('withKey');
        s.selectKey((k, v) => v[0]!).to('selected');
      },
      [['k1', 'x'], ['k2', 'yy']],
      ['out', 'tuple', 'withKey', 'selected'],
    );
    expect(out.out).toEqual([['x', 'k1'], ['yy', 'k2']]);
    expect(out.tuple).toEqual([['X', 'k1!'], ['YY', 'k2!']]);
    expect(out.withKey).toEqual([['k1', 'k1:x'], ['k2', 'k2:yy']]);
    expect(out.selected).toEqual([['x', 'x'], ['y', 'yy']]);
  });

  it('writes with the serdes given to to()', async () => {
    const b = new StreamsBuilder();
    b.stream<string, string>('in').mapValues((v) => v.length).to('len', Produced.with(Serdes.String(), Serdes.Long()));
    const driver = new TopologyTestDriver(b.build());
    await driver.createInputTopic('in', Serdes.String(), Serdes.String()).pipeInput('a', 'four');
    expect(driver.createOutputTopic('len', Serdes.String(), Serdes.Long()).readKeyValue()).toEqual(KeyValue.pair('a', 4));
  });

  it('flatMap and flatMapValues', async () => {
    const out = await run(
      (b) => {
        const s = b.stream<string, string>('in');
        s.flatMapValues((v) => v.split(' ')).to('out');
        s.flatMap((k, v) => v.split(' ').map((w, i) => KeyValue.pair(`${k}-${i}`, w))).to('flat');
      },
      [['k', 'a b c'], ['e', '']],
      ['out', 'flat'],
    );
    expect(out.out).toEqual([['k', 'a'], ['k', 'b'], ['k', 'c'], ['e', '']]);
    expect(out.flat).toEqual([['k-0', 'a'], ['k-1', 'b'], ['k-2', 'c'], ['e-0', '']]);
  });

  it('peek passes records on; foreach ends the stream', async () => {
    const peeked: string[] = [];
    const each: string[] = [];
    const out = await run(
      (b) => {
        const s = b.stream<string, string>('in');
        s.peek((k, v) => peeked.push(v)).to('out');
        s.foreach((k, v) => each.push(`${k}=${v}`));
      },
      [['a', '1'], ['b', '2']],
    );
    expect(peeked).toEqual(['1', '2']);
    expect(each).toEqual(['a=1', 'b=2']);
    expect(out.out).toEqual([['a', '1'], ['b', '2']]);
  });

  it('keeps timestamps and headers, and passes null keys and values through', async () => {
    const b = new StreamsBuilder();
    b.stream<string, string>('in').mapValues((v) => (v === null ? 'was null' : v)).to('out');
    const driver = new TopologyTestDriver(b.build());
    const input = driver.createInputTopic('in', Serdes.String(), Serdes.String());
    await input.pipeRecord({ key: null, value: null, timestamp: 42, headers: [{ key: 'h', value: Uint8Array.of(1) }] });
    const r = driver.createOutputTopic('out', Serdes.String(), Serdes.String()).readRecord();
    expect(r).toEqual({ key: null, value: 'was null', timestamp: 42, headers: [{ key: 'h', value: Uint8Array.of(1) }] });
  });

  it('split names branches prefix + name, or prefix + position, default branch 0', async () => {
    const b = new StreamsBuilder();
    const branches = b
      .stream<string, string>('in')
      .split(Named.as('size-'))
      .branch((k, v) => v.length > 5, Branched.as('long'))
      .branch((k, v) => v.length > 2)
      .defaultBranch();
    expect([...branches.keys()]).toEqual(['size-long', 'size-2', 'size-0']);
    branches.get('size-long')!.to('long');
    branches.get('size-2')!.to('medium');
    branches.get('size-0')!.to('short');
    const driver = new TopologyTestDriver(b.build());
    await driver.createInputTopic('in', Serdes.String(), Serdes.String()).pipeValueList(['abcdefg', 'abc', 'a', 'abcdef']);
    const read = (t: string) => driver.createOutputTopic(t, Serdes.String(), Serdes.String()).readValuesToList();
    expect(read('long')).toEqual(['abcdefg', 'abcdef']);
    expect(read('medium')).toEqual(['abc']);
    expect(read('short')).toEqual(['a']);
  });

  it('split without a name uses the generated processor name; withFunction and withConsumer', async () => {
    const b = new StreamsBuilder();
    const consumed: string[] = [];
    const branches = b
      .stream<string, string>('in')
      .split()
      .branch((k, v) => v === 'x', Branched.withFunction((s) => s.mapValues((v) => v + v)))
      .branch((k, v) => v === 'y', Branched.withConsumer((s) => s.foreach((k, v) => consumed.push(v)), 'ys'))
      .noDefaultBranch();
    expect([...branches.keys()]).toEqual(['KSTREAM-BRANCH-00000000011']);
    branches.get('KSTREAM-BRANCH-00000000011')!.to('out');
    const driver = new TopologyTestDriver(b.build());
    await driver.createInputTopic('in', Serdes.String(), Serdes.String()).pipeValueList(['x', 'y', 'z']);
    expect(driver.createOutputTopic('out', Serdes.String(), Serdes.String()).readValuesToList()).toEqual(['xx']);
    expect(consumed).toEqual(['y']);
  });

  it('merge interleaves both streams in arrival order', async () => {
    const b = new StreamsBuilder();
    b.stream<string, string>('a').merge(b.stream<string, string>('b')).to('out');
    const driver = new TopologyTestDriver(b.build());
    const a = driver.createInputTopic('a', Serdes.String(), Serdes.String());
    const c = driver.createInputTopic('b', Serdes.String(), Serdes.String());
    await a.pipeInput('1', 'a1');
    await c.pipeInput('2', 'b1');
    await a.pipeInput('3', 'a2');
    expect(driver.createOutputTopic('out', Serdes.String(), Serdes.String()).readValuesToList()).toEqual(['a1', 'b1', 'a2']);
  });

  it('to(extractor) picks the topic per record and marks the sub-topology dynamic', async () => {
    const b = new StreamsBuilder();
    b.stream<string, string>('in').to((k, v, ctx) => `${ctx.topic}-${v}`);
    const topology = b.build();
    expect(topology.subtopologies[0]!.dynamicSinks).toBe(true);
    const driver = new TopologyTestDriver(topology);
    await driver.createInputTopic('in', Serdes.String(), Serdes.String()).pipeKeyValueList([KeyValue.pair('k', 'red'), ['j', 'blue']]);
    expect(driver.createOutputTopic('in-red', Serdes.String(), Serdes.String()).readKeyValue()).toEqual(KeyValue.pair('k', 'red'));
    expect(driver.createOutputTopic('in-blue', Serdes.String(), Serdes.String()).readKeyValue()).toEqual(KeyValue.pair('j', 'blue'));
  });

  it('reads several topics as one stream; a topic written and read again is routed back in', async () => {
    const b = new StreamsBuilder();
    b.stream<string, string>(['a', 'b']).to('mid');
    b.stream<string, string>('mid').mapValues((v) => v.toUpperCase()).to('out');
    const driver = new TopologyTestDriver(b.build());
    await driver.createInputTopic('a', Serdes.String(), Serdes.String()).pipeInput('k', 'x');
    await driver.createInputTopic('b', Serdes.String(), Serdes.String()).pipeInput('k', 'y');
    expect(driver.createOutputTopic('out', Serdes.String(), Serdes.String()).readValuesToList()).toEqual(['X', 'Y']);
    expect(driver.createOutputTopic('mid', Serdes.String(), Serdes.String()).getQueueSize()).toBe(2);
  });

  it('input topics auto-advance time; output topics read once', async () => {
    const b = new StreamsBuilder();
    b.stream<string, string>('in').to('out');
    const driver = new TopologyTestDriver(b.build(), { initialWallClockTimeMs: 500 });
    const input = driver.createInputTopic('in', Serdes.String(), Serdes.String(), { autoAdvanceMs: 10 });
    await input.pipeValue('a');
    await input.pipeValue('b');
    input.advanceTime(100);
    await input.pipeValue('c');
    await input.pipeValue('d', 7);
    const out = driver.createOutputTopic('out', Serdes.String(), Serdes.String());
    expect(out.getQueueSize()).toBe(4);
    expect(out.readRecordsToList().map((r) => r.timestamp)).toEqual([500, 510, 620, 7]);
    expect(out.isEmpty()).toBe(true);
    expect(() => out.readValue()).toThrow(/Empty topic/);
  });

  it('refuses input to a topic the topology does not read', async () => {
    const b = new StreamsBuilder();
    b.stream('in').to('out');
    const driver = new TopologyTestDriver(b.build());
    await expect(driver.createInputTopic('nope', Serdes.String(), Serdes.String()).pipeInput('k', 'v')).rejects.toThrow(/Unknown topic: nope/);
  });

  it('uses the builder default serdes', async () => {
    const b = new StreamsBuilder({ defaultValueSerde: Serdes.Json<{ n: number }>() });
    b.stream('in').mapValues((v) => ({ n: v.n * 2 })).to('out');
    const driver = new TopologyTestDriver(b.build());
    await driver.createInputTopic('in', Serdes.String(), Serdes.Json<{ n: number }>()).pipeInput('k', { n: 2 });
    expect(driver.createOutputTopic('out', Serdes.String(), Serdes.Json<{ n: number }>()).readValue()).toEqual({ n: 4 });
  });

  it('reports a value of the wrong type for its serde clearly, and sends nothing of the failed record', async () => {
    const b = new StreamsBuilder();
    const s = b.stream<string, string>('in');
    s.to('out');
    s.mapValues((v) => v.length).to('bad');
    const driver = new TopologyTestDriver(b.build());
    await expect(driver.createInputTopic('in', Serdes.String(), Serdes.String()).pipeInput('k', 'abc')).rejects.toThrow(/Serdes.String\(\) cannot write a number/);
    expect(driver.createOutputTopic('out', Serdes.String(), Serdes.String()).isEmpty()).toBe(true);
  });
});
