// KStream: a record stream, and the operators that make new streams from it. Each operator adds a
// node to the builder's graph; nothing runs until a task is made from the built topology. A key
// change (map, selectKey, flatMap, groupBy) only marks the stream: the next grouping or join routes
// it through a repartition topic first, so records with the same new key meet in one task.

import type {
  Branched,
  GroupedOptions,
  JoinedOptions,
  KeyValueLike,
  MaterializedOptions,
  Named,
  ProducedOptions,
  RecordContext,
  RepartitionedOptions,
  StreamJoinedOptions,
} from './config.ts';
import { TopologyException } from './errors.ts';
import { KGroupedStream } from './grouped.ts';
import type { GraphNode, InternalBuilder, ProcessorFactory, StreamRecord } from './internal/graph.ts';
import { DROPPED, storeGetter, streamJoinSide, tableSource } from './internal/processors.ts';
import { GlobalKTable, KTable } from './ktable.ts';
import type { Serde } from './serdes.ts';
import type { JoinWindows } from './windows.ts';

function toPair<K, V>(kv: KeyValueLike<K, V>): { key: K; value: V } {
  if (Array.isArray(kv)) return { key: kv[0] as K, value: kv[1] as V };
  return kv as { key: K; value: V };
}

const same = <T>(a: Serde<T> | undefined, b: Serde<T> | undefined): Serde<T> | undefined => (a === b ? a : undefined);

/**
 * A stream of records, Kafka Streams' `KStream<K, V>`. Made by `builder.stream(...)` or by an operator.
 *
 * @example
 * builder.stream<string, string>('text').flatMapValues((line) => line.split(' ')).to('words');
 */
export class KStream<K, V> {
  // A private member makes the type nominal, so the join overloads tell streams, tables and global tables apart.
  private readonly brand = 'KStream';
  private repartitionedForJoin: KStream<K, V> | undefined;

  /** @internal Streams are made by the builder and by operators. */
  constructor(
    /** @internal */ readonly graph: InternalBuilder,
    /** @internal */ readonly node: GraphNode,
    /** The serde known for the keys (the builder's default is used where this is unset). */
    readonly keySerde: Serde<K> | undefined,
    readonly valueSerde: Serde<V> | undefined,
    /** @internal Whether the key changed since the stream was last partitioned by it. */
    readonly repartitionRequired: boolean,
  ) {}

  /** @internal */
  derive<K2, V2>(prefix: string, named: Named | undefined, create: ProcessorFactory, keySerde: Serde<K2> | undefined, valueSerde: Serde<V2> | undefined, keyChanged: boolean): KStream<K2, V2> {
    const node = this.graph.addNode({ name: named?.name ?? this.graph.newName(prefix), parents: [this.node], create });
    return new KStream(this.graph, node, keySerde, valueSerde, this.repartitionRequired || keyChanged);
  }

  /** @internal */
  resolvedKeySerde(): Serde<K> {
    return (this.keySerde ?? this.graph.defaultKeySerde) as Serde<K>;
  }

  /** @internal */
  resolvedValueSerde(): Serde<V> {
    return (this.valueSerde ?? this.graph.defaultValueSerde) as Serde<V>;
  }

  /**
   * The records for which `predicate` holds.
   *
   * @example
   * orders.filter((id, order) => order.total > 100);
   */
  filter(predicate: (key: K, value: V) => boolean, named?: Named): KStream<K, V> {
    return this.derive('KSTREAM-FILTER-', named, (ctx) => ({ process: async (r) => (predicate(r.key as K, r.value as V) ? ctx.forward(r) : undefined) }), this.keySerde, this.valueSerde, false);
  }

  /**
   * The records for which `predicate` does not hold.
   *
   * @example
   * lines.filterNot((k, line) => line.startsWith('#'));
   */
  filterNot(predicate: (key: K, value: V) => boolean, named?: Named): KStream<K, V> {
    return this.derive('KSTREAM-FILTER-', named, (ctx) => ({ process: async (r) => (predicate(r.key as K, r.value as V) ? undefined : ctx.forward(r)) }), this.keySerde, this.valueSerde, false);
  }

  /**
   * A new key and value for each record (marks the stream for repartitioning).
   *
   * @example
   * clicks.map((k, click) => KeyValue.pair(click.user, click.page));
   */
  map<KR, VR>(mapper: (key: K, value: V) => KeyValueLike<KR, VR>, named?: Named): KStream<KR, VR> {
    return this.derive<KR, VR>(
      'KSTREAM-MAP-',
      named,
      (ctx) => ({
        process: (r) => {
          const { key, value } = toPair(mapper(r.key as K, r.value as V));
          return ctx.forward({ ...r, key, value });
        },
      }),
      undefined,
      undefined,
      true,
    );
  }

  /**
   * A new value for each record; the key is read-only, so no repartitioning.
   *
   * @example
   * lines.mapValues((line) => line.toUpperCase());
   * lines.mapValues((line, key) => `${key}: ${line}`);
   */
  mapValues<VR>(mapper: (value: V, key: K) => VR, named?: Named): KStream<K, VR> {
    return this.derive<K, VR>('KSTREAM-MAPVALUES-', named, (ctx) => ({ process: (r) => ctx.forward({ ...r, value: mapper(r.value as V, r.key as K) }) }), this.keySerde, undefined, false);
  }

  /**
   * Zero or more records for each record (marks the stream for repartitioning).
   *
   * @example
   * orders.flatMap((id, order) => order.items.map((item) => KeyValue.pair(item.sku, item.qty)));
   */
  flatMap<KR, VR>(mapper: (key: K, value: V) => Iterable<KeyValueLike<KR, VR>>, named?: Named): KStream<KR, VR> {
    return this.derive<KR, VR>(
      'KSTREAM-FLATMAP-',
      named,
      (ctx) => ({
        async process(r) {
          for (const kv of mapper(r.key as K, r.value as V)) {
            const { key, value } = toPair(kv);
            await ctx.forward({ ...r, key, value });
          }
        },
      }),
      undefined,
      undefined,
      true,
    );
  }

  /**
   * Zero or more values for each record, keeping its key.
   *
   * @example
   * lines.flatMapValues((line) => line.toLowerCase().split(/\W+/));
   */
  flatMapValues<VR>(mapper: (value: V, key: K) => Iterable<VR>, named?: Named): KStream<K, VR> {
    return this.derive<K, VR>(
      'KSTREAM-FLATMAPVALUES-',
      named,
      (ctx) => ({
        async process(r) {
          for (const value of mapper(r.value as V, r.key as K)) await ctx.forward({ ...r, value });
        },
      }),
      this.keySerde,
      undefined,
      false,
    );
  }

  /**
   * A new key for each record, the value unchanged (marks the stream for repartitioning).
   *
   * @example
   * orders.selectKey((id, order) => order.customerId);
   */
  selectKey<KR>(mapper: (key: K, value: V) => KR, named?: Named): KStream<KR, V> {
    return this.derive<KR, V>('KSTREAM-KEY-SELECT-', named, (ctx) => ({ process: (r) => ctx.forward({ ...r, key: mapper(r.key as K, r.value as V) }) }), undefined, this.valueSerde, true);
  }

  /**
   * Calls `action` for each record and passes the record on.
   *
   * @example
   * stream.peek((k, v) => console.log('saw', k, v)).to('out');
   */
  peek(action: (key: K, value: V) => void, named?: Named): KStream<K, V> {
    return this.derive(
      'KSTREAM-PEEK-',
      named,
      (ctx) => ({
        process: (r) => {
          action(r.key as K, r.value as V);
          return ctx.forward(r);
        },
      }),
      this.keySerde,
      this.valueSerde,
      false,
    );
  }

  /**
   * Calls `action` for each record; the stream ends here.
   *
   * @example
   * alerts.foreach((k, alert) => notify(alert));
   */
  foreach(action: (key: K, value: V) => void, named?: Named): void {
    this.derive('KSTREAM-FOREACH-', named, () => ({ process: async (r) => action(r.key as K, r.value as V) }), undefined, undefined, false);
  }

  /**
   * Splits the stream: each record goes to the first branch whose predicate holds.
   *
   * @example
   * const branches = stream.split(Named.as('kind-')).branch((k, v) => v.startsWith('a'), Branched.as('a')).defaultBranch();
   * branches.get('kind-a')!.to('a'); branches.get('kind-0')!.to('others');
   */
  split(named?: Named): BranchedKStream<K, V> {
    const name = named?.name ?? this.graph.newName('KSTREAM-BRANCH-');
    return new BranchedKStream(this, name);
  }

  /**
   * The records of both streams, as they arrive.
   *
   * @example
   * eu.merge(us).to('all-orders');
   */
  merge(other: KStream<K, V>, named?: Named): KStream<K, V> {
    if (other.graph !== this.graph) throw new TopologyException('cannot merge streams of different builders');
    const node = this.graph.addNode({ name: named?.name ?? this.graph.newName('KSTREAM-MERGE-'), parents: [this.node, other.node] });
    return new KStream(this.graph, node, same(this.keySerde, other.keySerde), same(this.valueSerde, other.valueSerde), this.repartitionRequired || other.repartitionRequired);
  }

  /**
   * Groups by the current key, for an aggregation (repartitioned first if the key changed).
   *
   * @example
   * stream.groupByKey().count();
   */
  groupByKey(grouped?: GroupedOptions<K, V>): KGroupedStream<K, V> {
    return new KGroupedStream<K, V>(this, grouped?.keySerde ?? this.keySerde, grouped?.valueSerde ?? this.valueSerde, grouped?.name, this.repartitionRequired);
  }

  /**
   * Groups by a new key; always repartitions.
   *
   * @example
   * words.groupBy((k, word) => word).count();
   */
  groupBy<KR>(selector: (key: K, value: V) => KR, grouped?: GroupedOptions<KR, V>): KGroupedStream<KR, V> {
    const selected = this.selectKey(selector);
    return new KGroupedStream<KR, V>(selected, grouped?.keySerde, grouped?.valueSerde ?? this.valueSerde, grouped?.name, true);
  }

  /**
   * Writes the stream to a topic, or to the topic `extractor` picks for each record.
   *
   * @example
   * stream.to('out', Produced.with(Serdes.String(), Serdes.Json<Out>()));
   * stream.to((key, value, ctx) => `events-${value.kind}`);
   */
  to(topic: string | ((key: K, value: V, context: RecordContext) => string), produced?: ProducedOptions<K, V>): void {
    const keySerde = (produced?.keySerde ?? this.resolvedKeySerde()) as Serde<unknown>;
    const valueSerde = (produced?.valueSerde ?? this.resolvedValueSerde()) as Serde<unknown>;
    const target = typeof topic === 'string' ? { name: topic, internal: false } : (topic as (key: unknown, value: unknown, context: RecordContext) => string);
    this.graph.addSink(produced?.name ?? this.graph.newName('KSTREAM-SINK-'), this.node, target, keySerde, valueSerde);
  }

  /**
   * The stream as a table: each record is its key's latest value, `null` deletes (repartitioned first if the key changed).
   *
   * @example
   * updates.toTable(Materialized.as('latest'));
   */
  toTable(materialized?: MaterializedOptions<K, V>, named?: Named): KTable<K, V> {
    const name = named?.name ?? this.graph.newName('KSTREAM-TOTABLE-');
    const storeName = materialized?.storeName ?? this.graph.newStoreName('KSTREAM-TOTABLE-');
    const keySerde = (materialized?.keySerde ?? this.resolvedKeySerde()) as Serde<unknown>;
    const valueSerde = (materialized?.valueSerde ?? this.resolvedValueSerde()) as Serde<unknown>;
    const parent = this.repartitionRequired ? this.graph.repartition(this.node, name, keySerde, valueSerde, null, 'auto') : this.node;
    this.graph.addStore({ name: storeName, kind: 'kv', keySerde, valueSerde, timeStore: false, queryable: true });
    const node = this.graph.addNode({ name, parents: [parent], stores: [storeName], create: tableSource(storeName, keySerde, valueSerde) });
    return new KTable<K, V>(this.graph, node, keySerde as Serde<K>, valueSerde as Serde<V>, storeGetter(storeName, keySerde, valueSerde), storeName);
  }

  /**
   * Routes the stream through a repartition topic now (`<name>-repartition`), by its current key.
   *
   * @example
   * stream.repartition(Repartitioned.numberOfPartitions<string, string>(6).withName('by-user'));
   */
  repartition(repartitioned?: RepartitionedOptions<K, V>): KStream<K, V> {
    const name = repartitioned?.name ?? this.graph.newName('KSTREAM-REPARTITION-');
    const keySerde = repartitioned?.keySerde ?? this.keySerde;
    const valueSerde = repartitioned?.valueSerde ?? this.valueSerde;
    const source = this.graph.repartition(
      this.node,
      name,
      (keySerde ?? this.graph.defaultKeySerde) as Serde<unknown>,
      (valueSerde ?? this.graph.defaultValueSerde) as Serde<unknown>,
      repartitioned?.numberOfPartitions ?? null,
      'explicit',
    );
    return new KStream(this.graph, source, keySerde, valueSerde, false);
  }

  /** @internal The stream repartitioned by its key before a join (once per stream, whichever joins use it). */
  partitionedForJoin(base: string, keySerde: Serde<K> | undefined, valueSerde: Serde<V> | undefined): KStream<K, V> {
    if (!this.repartitionRequired) return this;
    if (!this.repartitionedForJoin) {
      const ks = keySerde ?? this.keySerde;
      const vs = valueSerde ?? this.valueSerde;
      const source = this.graph.repartition(this.node, base, (ks ?? this.graph.defaultKeySerde) as Serde<unknown>, (vs ?? this.graph.defaultValueSerde) as Serde<unknown>, null, 'auto');
      this.repartitionedForJoin = new KStream(this.graph, source, ks, vs, false);
    }
    return this.repartitionedForJoin;
  }

  /**
   * Inner joins: with another stream (records of both within the join window), with a table (each
   * record looks up the table's current value for its key), or with a global table (by the key
   * `keySelector` picks). Records without a match produce nothing.
   *
   * @example
   * orders.join(payments, (o, p) => ({ ...o, paid: p.amount }), JoinWindows.ofTimeDifferenceWithNoGrace(60_000));
   * clicks.join(users, (click, user) => ({ ...click, region: user.region }));
   * orders.join(products, (id, o) => o.sku, (o, p) => ({ ...o, price: p.price }));
   */
  join<VO, VR>(other: KStream<K, VO>, joiner: (value: V, otherValue: VO, key: K) => VR, windows: JoinWindows, streamJoined?: StreamJoinedOptions<K, V, VO>): KStream<K, VR>;
  join<VO, VR>(table: KTable<K, VO>, joiner: (value: V, tableValue: VO, key: K) => VR, joined?: JoinedOptions<K, V, VO>): KStream<K, VR>;
  join<GK, GV, VR>(globalTable: GlobalKTable<GK, GV>, keySelector: (key: K, value: V) => GK, joiner: (value: V, globalValue: GV, key: K) => VR, named?: Named): KStream<K, VR>;
  // The implementation's parameters are untyped: the overloads above are the contract.
  join(other: unknown, a: any, b?: any, c?: any): KStream<K, any> {
    return this.dispatchJoin('inner', other, a, b, c);
  }

  /**
   * Left joins: like `join`, but every record of this stream produces a result, with `null` for the
   * other side when nothing matched (for a stream-stream join, once its window has closed).
   *
   * @example
   * orders.leftJoin(payments, (o, p) => ({ ...o, paid: p !== null }), JoinWindows.ofTimeDifferenceAndGrace(60_000, 10_000));
   * clicks.leftJoin(users, (click, user) => ({ ...click, region: user?.region ?? 'unknown' }));
   */
  leftJoin<VO, VR>(other: KStream<K, VO>, joiner: (value: V, otherValue: VO | null, key: K) => VR, windows: JoinWindows, streamJoined?: StreamJoinedOptions<K, V, VO>): KStream<K, VR>;
  leftJoin<VO, VR>(table: KTable<K, VO>, joiner: (value: V, tableValue: VO | null, key: K) => VR, joined?: JoinedOptions<K, V, VO>): KStream<K, VR>;
  leftJoin<GK, GV, VR>(globalTable: GlobalKTable<GK, GV>, keySelector: (key: K, value: V) => GK, joiner: (value: V, globalValue: GV | null, key: K) => VR, named?: Named): KStream<K, VR>;
  leftJoin(other: unknown, a: any, b?: any, c?: any): KStream<K, any> {
    return this.dispatchJoin('left', other, a, b, c);
  }

  /**
   * Outer stream-stream join: every record of either stream produces a result, with `null` for the
   * side that had no match once the record's window has closed.
   *
   * @example
   * ads.outerJoin(clicks, (ad, click) => ({ ad, clicked: click !== null }), JoinWindows.ofTimeDifferenceWithNoGrace(30_000));
   */
  outerJoin<VO, VR>(other: KStream<K, VO>, joiner: (value: V | null, otherValue: VO | null, key: K) => VR, windows: JoinWindows, streamJoined?: StreamJoinedOptions<K, V, VO>): KStream<K, VR> {
    return this.streamStreamJoin('outer', other, joiner as (v: unknown, o: unknown, k: K) => VR, windows, streamJoined) as KStream<K, VR>;
  }

  private dispatchJoin(kind: 'inner' | 'left', other: unknown, a: any, b: any, c: any): KStream<K, any> {
    if (other instanceof KStream) return this.streamStreamJoin(kind, other, a, b, c);
    if (other instanceof KTable) return this.streamTableJoin(kind, other, a, b);
    if (other instanceof GlobalKTable) return this.streamGlobalJoin(kind, other, a, b, c);
    throw new TopologyException('a stream joins a KStream, a KTable or a GlobalKTable');
  }

  private streamTableJoin(kind: 'inner' | 'left', table: KTable<K, unknown>, joiner: (v: V, t: unknown, k: K) => unknown, joined: JoinedOptions<K, V, unknown> | undefined): KStream<K, unknown> {
    const left = this.partitionedForJoin(joined?.name ?? this.node.name, joined?.keySerde, joined?.valueSerde);
    const name = joined?.name ?? this.graph.newName(kind === 'inner' ? 'KSTREAM-JOIN-' : 'KSTREAM-LEFTJOIN-');
    const getter = table.getter;
    const node = this.graph.addNode({
      name,
      parents: [left.node],
      stores: [...getter.stores],
      create: (ctx) => {
        const get = getter.make(ctx.task);
        return {
          async process(r) {
            if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) {
              ctx.task.count(DROPPED);
              return;
            }
            const found = await get(r.key);
            if (found === null && kind === 'inner') return;
            await ctx.forward({ ...r, value: joiner(r.value as V, found?.value ?? null, r.key as K) });
          },
        };
      },
    });
    return new KStream(this.graph, node, left.keySerde, undefined, false);
  }

  private streamGlobalJoin(kind: 'inner' | 'left', table: GlobalKTable<unknown, unknown>, keySelector: (k: K, v: V) => unknown, joiner: (v: V, g: unknown, k: K) => unknown, named: Named | undefined): KStream<K, unknown> {
    const name = named?.name ?? this.graph.newName(kind === 'inner' ? 'KSTREAM-JOIN-' : 'KSTREAM-LEFTJOIN-');
    const { storeName, topic } = table;
    const keySerde = table.keySerde as Serde<unknown>;
    const valueSerde = table.valueSerde as Serde<unknown>;
    const node = this.graph.addNode({
      name,
      parents: [this.node],
      globalStores: [storeName],
      create: (ctx) => {
        const store = ctx.task.globalStore(storeName);
        return {
          async process(r) {
            if (r.value === null || r.value === undefined) {
              ctx.task.count(DROPPED);
              return;
            }
            const globalKey = keySelector(r.key as K, r.value as V);
            const keyBytes = globalKey === null || globalKey === undefined ? null : keySerde.serialize(topic, globalKey);
            const raw = keyBytes === null ? null : await store.get(keyBytes);
            if (raw === null && kind === 'inner') return;
            const globalValue = raw === null ? null : valueSerde.deserialize(topic, raw);
            await ctx.forward({ ...r, value: joiner(r.value as V, globalValue, r.key as K) });
          },
        };
      },
    });
    return new KStream(this.graph, node, this.keySerde, undefined, this.repartitionRequired);
  }

  private streamStreamJoin<VO>(
    kind: 'inner' | 'left' | 'outer',
    other: KStream<K, VO>,
    joiner: (v: unknown, o: unknown, k: K) => unknown,
    windows: JoinWindows,
    streamJoined: StreamJoinedOptions<K, V, VO> | undefined,
  ): KStream<K, unknown> {
    if (other.graph !== this.graph) throw new TopologyException('cannot join streams of different builders');
    const g = this.graph;
    const keySerde = (streamJoined?.keySerde ?? this.keySerde ?? other.keySerde ?? g.defaultKeySerde) as Serde<unknown>;
    const thisValueSerde = (streamJoined?.valueSerde ?? this.resolvedValueSerde()) as Serde<unknown>;
    const otherValueSerde = (streamJoined?.otherValueSerde ?? other.resolvedValueSerde()) as Serde<unknown>;
    const named = streamJoined?.name;
    const left = this.partitionedForJoin(named ? `${named}-left` : this.node.name, keySerde as Serde<K>, thisValueSerde as Serde<V>);
    const right = other.partitionedForJoin(named ? `${named}-right` : other.node.name, keySerde as Serde<K>, otherValueSerde as Serde<VO>);
    const prefix = kind === 'outer' ? 'KSTREAM-OUTER' : 'KSTREAM-JOIN';
    const thisName = named ? `${named}-this-join` : g.newName(`${prefix}THIS-`);
    const otherName = named ? `${named}-other-join` : g.newName(kind === 'inner' ? 'KSTREAM-JOINOTHER-' : 'KSTREAM-OUTEROTHER-');
    const storeBase = streamJoined?.storeName;
    const thisStore = storeBase ? `${storeBase}-this-join-store` : `${thisName}-store`;
    const otherStore = storeBase ? `${storeBase}-other-join-store` : `${otherName}-store`;
    const outerStore = kind === 'inner' ? null : storeBase ? `${storeBase}-outer-shared-join-store` : `${g.newName('KSTREAM-OUTERSHARED-')}-store`;
    for (const s of [thisStore, otherStore]) g.addStore({ name: s, kind: 'window', keySerde, valueSerde: s === thisStore ? thisValueSerde : otherValueSerde, timeStore: true, queryable: false });
    if (outerStore) g.addStore({ name: outerStore, kind: 'kv', keySerde, valueSerde: thisValueSerde, timeStore: true, queryable: false });
    const stores = outerStore ? [thisStore, otherStore, outerStore] : [thisStore, otherStore];
    const common = { outerStore, keySerde, graceMs: windows.graceMs, retentionMs: windows.beforeMs + windows.afterMs + windows.graceMs };
    const unmatched = (side: 'this' | 'other', key: unknown, value: unknown) => (side === 'this' ? joiner(value, null, key as K) : joiner(null, value, key as K));
    const thisNode = g.addNode({
      name: thisName,
      parents: [left.node],
      stores,
      create: streamJoinSide({
        ...common,
        side: 'this',
        thisStore,
        otherStore,
        thisValueSerde,
        otherValueSerde,
        lookBefore: windows.beforeMs,
        lookAfter: windows.afterMs,
        joiner: (k, v, o) => joiner(v, o, k as K),
        thisOuter: kind !== 'inner',
        otherOuter: kind === 'outer',
        emitsUnmatched: true,
        unmatched,
      }),
    });
    const otherNode = g.addNode({
      name: otherName,
      parents: [right.node],
      stores,
      create: streamJoinSide({
        ...common,
        side: 'other',
        thisStore: otherStore,
        otherStore: thisStore,
        thisValueSerde: otherValueSerde,
        otherValueSerde: thisValueSerde,
        lookBefore: windows.afterMs,
        lookAfter: windows.beforeMs,
        joiner: (k, o, v) => joiner(v, o, k as K),
        thisOuter: kind === 'outer',
        otherOuter: kind !== 'inner',
        emitsUnmatched: false,
        unmatched,
      }),
    });
    const merge = g.addNode({ name: named ? `${named}-merge` : g.newName('KSTREAM-MERGE-'), parents: [thisNode, otherNode] });
    return new KStream(g, merge, left.keySerde, undefined, false);
  }
}

/**
 * The branches of `split()`: each `branch` takes the records its predicate holds for that no earlier
 * branch took. Branch names are the split's prefix plus the branch's name, or its position from 1;
 * the default branch's position is 0.
 *
 * @example
 * const b = stream.split(Named.as('n-')).branch((k, v) => v > 0, Branched.as('pos')).branch((k, v) => v < 0).defaultBranch();
 * // b.get('n-pos'), b.get('n-2'), b.get('n-0')
 */
export class BranchedKStream<K, V> {
  private readonly branches: Array<{ predicate: (key: K, value: V) => boolean; child: string }> = [];
  private readonly result = new Map<string, KStream<K, V>>();
  private readonly node: GraphNode;
  private done = false;

  /** @internal Made by `KStream.split`. */
  constructor(
    private readonly stream: KStream<K, V>,
    private readonly prefix: string,
  ) {
    const branches = this.branches;
    this.node = stream.graph.addNode({
      name: prefix,
      parents: [stream.node],
      create: (ctx) => ({
        async process(r: StreamRecord) {
          for (const b of branches) {
            if (b.predicate(r.key as K, r.value as V)) {
              await ctx.forwardTo(b.child, r);
              return;
            }
          }
        },
      }),
    });
  }

  private add(predicate: (key: K, value: V) => boolean, branched: Branched<K, V> | undefined, position: number): void {
    if (this.done) throw new TopologyException(`split ${this.prefix}: no branch can follow defaultBranch() or noDefaultBranch()`);
    const branchName = `${this.prefix}${branched?.name ?? String(position)}`;
    if (this.result.has(branchName) || this.branches.some((b) => b.child === branchName)) throw new TopologyException(`split ${this.prefix}: two branches are named ${branchName}`);
    const child = this.stream.graph.addNode({ name: branchName, parents: [this.node] });
    this.branches.push({ predicate, child: branchName });
    const stream = new KStream<K, V>(this.stream.graph, child, this.stream.keySerde, this.stream.valueSerde, this.stream.repartitionRequired);
    if (branched?.consumer) branched.consumer(stream);
    else this.result.set(branchName, branched?.fn ? branched.fn(stream) : stream);
  }

  /** A branch for the records `predicate` holds for (and no earlier branch took). */
  branch(predicate: (key: K, value: V) => boolean, branched?: Branched<K, V>): BranchedKStream<K, V> {
    this.add(predicate, branched, this.branches.length + 1);
    return this;
  }

  /** The rest of the records, as branch 0 (or the name given); ends the split. */
  defaultBranch(branched?: Branched<K, V>): Map<string, KStream<K, V>> {
    this.add(() => true, branched, 0);
    this.done = true;
    return this.result;
  }

  /** Ends the split; records no branch takes are dropped. */
  noDefaultBranch(): Map<string, KStream<K, V>> {
    this.done = true;
    return this.result;
  }
}
