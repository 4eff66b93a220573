import { describe, expect, it } from 'vitest';
import { Consumed, JoinWindows, KeyValue, Materialized, Serdes, StreamJoined, StreamsBuilder, TopologyTestDriver } from './index.ts';

const S = Serdes.String();

function streamStream(kind: 'join' | 'leftJoin' | 'outerJoin', windows: JoinWindows) {
  const b = new StreamsBuilder();
  const left = b.stream<string, string>('left');
  const right = b.stream<string, string>('right');
  const joiner = (l: string | null, r: string | null) => `${l}+${r}`;
  if (kind === 'join') left.join(right, joiner, windows).to('out');
  else if (kind === 'leftJoin') left.leftJoin(right, joiner, windows).to('out');
  else left.outerJoin(right, joiner, windows).to('out');
  const topology = b.build();
  const driver = new TopologyTestDriver(topology);
  const l = driver.createInputTopic('left', S, S);
  const r = driver.createInputTopic('right', S, S);
  const out = driver.createOutputTopic('out', S, S);
  const read = () => out.readRecordsToList().map((x) => `${x.key}:${x.value}@${x.timestamp}`);
  return { topology, driver, l, r, read };
}

describe('stream-stream joins', () => {
  it('inner join: records of both sides within the window (bounds inclusive), at the later timestamp', async () => {
    const { topology, l, r, read } = streamStream('join', JoinWindows.ofTimeDifferenceWithNoGrace(10));
    expect(topology.subtopologies).toHaveLength(1);
    expect(topology.stores.map((s) => s.kind)).toEqual(['window', 'window']);
    await l.pipeInput('a', 'L1', 0);
    await r.pipeInput('a', 'R1', 5);
    await r.pipeInput('a', 'R2', 20);
    await r.pipeInput('b', 'R3', 20);
    await l.pipeInput('a', 'L2', 15);
    await l.pipeInput('a', 'L3', 9); // out of order, within retention: joins R1
    expect(read()).toEqual(['a:L1+R1@5', 'a:L2+R1@15', 'a:L2+R2@20', 'a:L3+R1@9']);
  });

  it('before/after make the window asymmetric', async () => {
    const { l, r, read } = streamStream('join', JoinWindows.ofTimeDifferenceAndGrace(0, 100).after(10));
    await l.pipeInput('a', 'L', 100);
    await r.pipeInput('a', 'early', 95); // before the left record: outside
    await r.pipeInput('a', 'late', 110); // within 10 after
    expect(read()).toEqual(['a:L+late@110']);
  });

  it('left join: unmatched left records are emitted with null once their window closes, not before', async () => {
    const { l, r, read } = streamStream('leftJoin', JoinWindows.ofTimeDifferenceWithNoGrace(10));
    await l.pipeInput('a', 'L1', 0);
    await l.pipeInput('a', 'L2', 3);
    await r.pipeInput('b', 'Rb', 5);
    expect(read()).toEqual([]);
    await r.pipeInput('a', 'R', 8);
    expect(read()).toEqual(['a:L1+R@8', 'a:L2+R@8']);
    await l.pipeInput('c', 'Lc', 20);
    await r.pipeInput('x', 'Rx', 30); // Lc's window closes at 30: not yet
    expect(read()).toEqual([]);
    await r.pipeInput('x', 'Rx2', 31);
    expect(read()).toEqual(['c:Lc+null@20']);
  });

  it('outer join: unmatched records of both sides are emitted with null at window close; late records are dropped', async () => {
    const { driver, l, r, read } = streamStream('outerJoin', JoinWindows.ofTimeDifferenceAndGrace(10, 5));
    await l.pipeInput('a', 'L', 0);
    await r.pipeInput('b', 'R', 2);
    await l.pipeInput('c', 'Lc', 4);
    await r.pipeInput('c', 'Rc', 6);
    expect(read()).toEqual(['c:Lc+Rc@6']);
    await l.pipeInput('z', 'Lz', 17); // closes a (0 + 10 + 5 < 17) and b (2 + 10 + 5 = 17: not yet)
    expect(read()).toEqual(['a:L+null@0']);
    await l.pipeInput('z', 'Lz2', 18);
    expect(read()).toEqual(['b:null+R@2']);
    await r.pipeInput('y', 'Ry', 1); // out of order, its window closed: emitted unmatched at once
    expect(read()).toEqual(['y:null+Ry@1']);
    await r.pipeInput('z', 'Rz', 100);
    expect(read()).toEqual(['z:Lz+null@17', 'z:Lz2+null@18']);
    await r.pipeInput('a', 'too late', 74); // 74 + 10 + 10 + 5 < 100: older than retention
    expect(driver.metric('dropped-late-records')).toBe(1);
    expect(read()).toEqual([]);
  });

  it('repartitions a key-changed side before joining, and names stores with StreamJoined', () => {
    const b = new StreamsBuilder();
    const left = b.stream<string, string>('left').selectKey((k, v) => v);
    left.join(b.stream<string, string>('right'), (x, y) => x + y, JoinWindows.ofTimeDifferenceWithNoGrace(5), StreamJoined.with(S, S, S).withName('j').withStoreName('js')).to('out');
    const t = b.build();
    expect(t.subtopologies).toHaveLength(2);
    expect(t.subtopologies[1]!.sources.map((s) => s.name).sort()).toEqual(['j-left-repartition', 'right']);
    expect(t.stores.map((s) => s.name)).toEqual(['js-this-join-store', 'js-other-join-store']);
  });
});

describe('stream-table joins', () => {
  function build(kind: 'join' | 'leftJoin') {
    const b = new StreamsBuilder();
    const users = b.table('users', Consumed.with(S, Serdes.Json<{ region: string }>()));
    const clicks = b
      .stream<string, string>('clicks')
      .selectKey((k, click) => click.split('/')[0]!)
      .mapValues((click) => click.split('/')[1]!);
    const joined = kind === 'join' ? clicks.join(users, (page, u) => `${page}@${u.region}`) : clicks.leftJoin(users, (page, u) => `${page}@${u?.region ?? 'none'}`);
    joined.to('out');
    const topology = b.build();
    const driver = new TopologyTestDriver(topology);
    return {
      topology,
      users: driver.createInputTopic('users', S, Serdes.Json<{ region: string }>()),
      clicks: driver.createInputTopic('clicks', S, S),
      out: driver.createOutputTopic('out', S, S),
    };
  }

  it('inner join looks the table up; only the stream side triggers; the key-changed stream is repartitioned', async () => {
    const { topology, users, clicks, out } = build('join');
    expect(topology.subtopologies).toHaveLength(2);
    const joinSub = topology.subtopologies.find((s) => s.stores.length > 0)!;
    expect(joinSub.sources.map((s) => s.name).sort()).toEqual(['KSTREAM-MAPVALUES-0000000005-repartition', 'users']);
    await clicks.pipeInput('x', 'alice/c1');
    await users.pipeInput('alice', { region: 'eu' });
    await clicks.pipeInput('x', 'alice/c2');
    await users.pipeInput('alice', { region: 'us' });
    await clicks.pipeInput('x', 'alice/c3');
    await users.pipeInput('alice', null);
    await clicks.pipeInput('x', 'alice/c4');
    expect(out.readKeyValuesToList()).toEqual([KeyValue.pair('alice', 'c2@eu'), KeyValue.pair('alice', 'c3@us')]);
  });

  it('left join emits with null when the table has no row', async () => {
    const { users, clicks, out } = build('leftJoin');
    await clicks.pipeInput('x', 'bob/c1');
    await users.pipeInput('bob', { region: 'ap' });
    await clicks.pipeInput('x', 'bob/c2');
    expect(out.readValuesToList()).toEqual(['c1@none', 'c2@ap']);
  });

  it('joins a derived table through its value getter (filter, mapValues)', async () => {
    const b = new StreamsBuilder();
    const prices = b
      .table('prices', Consumed.with(S, Serdes.Long()))
      .filter((k, p) => p > 0)
      .mapValues((p) => p * 2);
    b.stream<string, string>('orders').join(prices, (o, p) => `${o}:${p}`).to('out');
    const driver = new TopologyTestDriver(b.build());
    const p = driver.createInputTopic('prices', S, Serdes.Long());
    const o = driver.createInputTopic('orders', S, S);
    await p.pipeInput('x', 5);
    await p.pipeInput('y', 0);
    await o.pipeInput('x', 'o1');
    await o.pipeInput('y', 'o2');
    expect(driver.createOutputTopic('out', S, S).readValuesToList()).toEqual(['o1:10']);
  });
});

describe('table-table joins', () => {
  function build(kind: 'join' | 'leftJoin' | 'outerJoin') {
    const b = new StreamsBuilder();
    const l = b.table<string, string>('l');
    const r = b.table<string, string>('r');
    const j = (a: string | null, c: string | null) => `${a}+${c}`;
    const t = kind === 'join' ? l.join(r, j, Materialized.as('joined')) : kind === 'leftJoin' ? l.leftJoin(r, j) : l.outerJoin(r, j);
    t.toStream().to('out');
    const driver = new TopologyTestDriver(b.build());
    return { driver, l: driver.createInputTopic('l', S, S), r: driver.createInputTopic('r', S, S), out: driver.createOutputTopic('out', S, S) };
  }

  it('inner: a row while both sides have one, deleted when either goes', async () => {
    const { driver, l, r, out } = build('join');
    await l.pipeInput('k', 'a', 1);
    await r.pipeInput('k', 'x', 5);
    await l.pipeInput('k', 'b', 3);
    await r.pipeInput('k', null, 7);
    const records = out.readRecordsToList();
    expect(records.map((x) => x.value)).toEqual(['a+x', 'b+x', null]);
    expect(records.map((x) => x.timestamp)).toEqual([5, 5, 7]);
    expect(driver.getKeyValueStore('joined').all()).toEqual([]);
  });

  it('left: a row for every left row', async () => {
    const { l, r, out } = build('leftJoin');
    await l.pipeInput('k', 'a');
    await r.pipeInput('k', 'x');
    await r.pipeInput('j', 'y');
    await r.pipeInput('k', null);
    await l.pipeInput('k', null);
    expect(out.readValuesToList()).toEqual(['a+null', 'a+x', 'a+null', null]);
  });

  it('outer: a row for every key of either side', async () => {
    const { l, r, out } = build('outerJoin');
    await r.pipeInput('k', 'x');
    await l.pipeInput('k', 'a');
    await r.pipeInput('k', null);
    await l.pipeInput('k', null);
    expect(out.readValuesToList()).toEqual(['null+x', 'a+x', 'a+null', null]);
  });
});

describe('stream-globalTable joins', () => {
  it('joins by a key the selector computes; updates to the global table are seen at once', async () => {
    const b = new StreamsBuilder();
    const products = b.globalTable('products', Consumed.with(S, Serdes.Json<{ price: number }>()), Materialized.as('products-store'));
    const orders = b.stream<string, string>('orders');
    orders.join(products, (id, sku) => sku, (sku, p) => `${sku}=${p.price}`).to('inner');
    orders.leftJoin(products, (id, sku) => sku, (sku, p) => `${sku}=${p?.price ?? '?'}`).to('left');
    const t = b.build();
    expect(t.globalStores).toEqual([{ name: 'products-store', topic: 'products' }]);
    expect(t.subtopologies).toHaveLength(1);
    expect(t.subtopologies[0]!.globalStores).toEqual(['products-store']);
    const driver = new TopologyTestDriver(t);
    const p = driver.createInputTopic('products', S, Serdes.Json<{ price: number }>());
    const o = driver.createInputTopic('orders', S, S);
    await o.pipeInput('o1', 'apple');
    await p.pipeInput('apple', { price: 3 });
    await o.pipeInput('o2', 'apple');
    expect(driver.getKeyValueStore<string, { price: number }>('products-store').get('apple')).toEqual({ price: 3 });
    expect(driver.createOutputTopic('inner', S, S).readKeyValuesToList()).toEqual([KeyValue.pair('o2', 'apple=3')]);
    expect(driver.createOutputTopic('left', S, S).readValuesToList()).toEqual(['apple=?', 'apple=3']);
  });
});
