// Grouped streams and tables, and their aggregations. A grouping only records how to partition; the
// aggregation adds the repartition topic (when the key changed) and the aggregating processor with
// its store. Repartition topics are named after the grouping (`Grouped.as`) or else the store.

import type { MaterializedOptions } from './config.ts';
import { TopologyException } from './errors.ts';
import { changeSerde, type GraphNode, type InternalBuilder } from './internal/graph.ts';
import {
  type LateRecords,
  sessionAggregate,
  sessionStoreGetter,
  storeGetter,
  streamAggregate,
  tableAggregate,
  windowAggregate,
  windowStoreGetter,
} from './internal/processors.ts';
import type { KStream } from './kstream.ts';
import { KTable } from './ktable.ts';
import { Serdes, type Serde, type Windowed, WindowedSerdes } from './serdes.ts';
import { SessionWindows, TimeWindows } from './windows.ts';

/** Options of `windowedBy`: where records too late for their windows go, besides being counted. */
export interface WindowedByOptions {
  /** Late records are also written here, with the grouping's serdes and their own timestamp. */
  readonly lateRecordsTopic?: string;
  /** The late-records topic is the topology's own (`<applicationId>-<lateRecordsTopic>`, kind `late-records`) rather than a user topic. */
  readonly lateRecordsTopicInternal?: boolean;
}

/**
 * A stream grouped by key, ready to aggregate.
 *
 * @example
 * stream.groupByKey().reduce((a, b) => a + b);
 */
export class KGroupedStream<K, V> {
  private namedInput: GraphNode | undefined;

  /** @internal Made by `groupByKey` and `groupBy`. */
  constructor(
    /** @internal */ readonly stream: KStream<K, V>,
    /** @internal */ readonly keySerde: Serde<K> | undefined,
    /** @internal */ readonly valueSerde: Serde<V> | undefined,
    /** @internal */ readonly name: string | undefined,
    /** @internal */ readonly repartitionRequired: boolean,
  ) {}

  /** @internal */
  get graph(): InternalBuilder {
    return this.stream.graph;
  }

  /** @internal */
  resolvedKeySerde(): Serde<unknown> {
    return (this.keySerde ?? this.graph.defaultKeySerde) as Serde<unknown>;
  }

  /** @internal */
  resolvedValueSerde(): Serde<unknown> {
    return (this.valueSerde ?? this.graph.defaultValueSerde) as Serde<unknown>;
  }

  /** @internal The node an aggregation reads: the stream, or its repartition topic's source. */
  input(storeName: string, keySerde: Serde<unknown>): GraphNode {
    if (!this.repartitionRequired) return this.stream.node;
    const make = (base: string) => this.graph.repartition(this.stream.node, base, this.keySerde ? this.resolvedKeySerde() : keySerde, this.resolvedValueSerde(), null, 'auto');
    // A named grouping is one repartition topic, however many aggregations read it.
    if (this.name !== undefined) return (this.namedInput ??= make(this.name));
    return make(storeName);
  }

  private aggregateImpl<VA>(prefix: string, materialized: MaterializedOptions<K, VA> | undefined, aggSerde: Serde<unknown>, init: (() => unknown) | undefined, add: (k: unknown, v: unknown, a: unknown) => unknown): KTable<K, VA> {
    const g = this.graph;
    const storeName = materialized?.storeName ?? g.newStoreName(prefix);
    const keySerde = (materialized?.keySerde ?? this.keySerde ?? g.defaultKeySerde) as Serde<unknown>;
    const input = this.input(storeName, keySerde);
    g.addStore({ name: storeName, kind: 'kv', keySerde, valueSerde: aggSerde, timeStore: false, queryable: true });
    const node = g.addNode({ name: g.newName(prefix), parents: [input], stores: [storeName], create: streamAggregate(storeName, keySerde, aggSerde, init, add) });
    return new KTable<K, VA>(g, node, keySerde as Serde<K>, aggSerde as Serde<VA>, storeGetter(storeName, keySerde, aggSerde), storeName);
  }

  /**
   * The number of records per key (values are `Serdes.Long()` unless `materialized` says otherwise).
   *
   * @example
   * words.groupBy((k, w) => w).count(Materialized.as('word-counts'));
   */
  count(materialized?: MaterializedOptions<K, number>): KTable<K, number> {
    return this.aggregateImpl<number>('KSTREAM-AGGREGATE-', materialized, (materialized?.valueSerde ?? Serdes.Long()) as Serde<unknown>, () => 0, (_k, _v, n) => (n as number) + 1);
  }

  /**
   * Combines each key's values: the first value is the aggregate, then `reducer(aggregate, value)`.
   *
   * @example
   * amounts.groupByKey().reduce((total, amount) => total + amount);
   */
  reduce(reducer: (aggregate: V, value: V) => V, materialized?: MaterializedOptions<K, V>): KTable<K, V> {
    return this.aggregateImpl<V>('KSTREAM-REDUCE-', materialized, (materialized?.valueSerde ?? this.resolvedValueSerde()) as Serde<unknown>, undefined, (_k, v, a) => reducer(a as V, v as V));
  }

  /**
   * Folds each key's values into an aggregate, starting from `initializer()`.
   *
   * @example
   * orders.groupByKey().aggregate(() => 0, (k, order, sum) => sum + order.total, Materialized.with(Serdes.String(), Serdes.Double()));
   */
  aggregate<VA>(initializer: () => VA, aggregator: (key: K, value: V, aggregate: VA) => VA, materialized?: MaterializedOptions<K, VA>): KTable<K, VA> {
    return this.aggregateImpl<VA>('KSTREAM-AGGREGATE-', materialized, (materialized?.valueSerde ?? this.graph.defaultValueSerde) as Serde<unknown>, initializer, (k, v, a) => aggregator(k as K, v as V, a as VA));
  }

  /**
   * Aggregates per window instead of per key: time windows (tumbling or hopping) or sessions.
   *
   * @example
   * clicks.groupByKey().windowedBy(TimeWindows.ofSizeAndGrace(60_000, 5_000), { lateRecordsTopic: 'late-clicks' }).count();
   */
  windowedBy(windows: TimeWindows, options?: WindowedByOptions): TimeWindowedKStream<K, V>;
  windowedBy(windows: SessionWindows, options?: WindowedByOptions): SessionWindowedKStream<K, V>;
  windowedBy(windows: TimeWindows | SessionWindows, options?: WindowedByOptions): TimeWindowedKStream<K, V> | SessionWindowedKStream<K, V> {
    if (windows instanceof TimeWindows) return new TimeWindowedKStream(this, windows, options);
    if (windows instanceof SessionWindows) return new SessionWindowedKStream(this, windows, options);
    throw new TopologyException('windowedBy takes TimeWindows or SessionWindows');
  }
}

function lateRecords(grouped: KGroupedStream<unknown, unknown>, options: WindowedByOptions | undefined): LateRecords | undefined {
  if (!options?.lateRecordsTopic) return undefined;
  const internal = options.lateRecordsTopicInternal ?? false;
  if (internal) grouped.graph.lateRecordTopics.add(options.lateRecordsTopic);
  return { topic: { name: options.lateRecordsTopic, internal }, keySerde: grouped.resolvedKeySerde(), valueSerde: grouped.resolvedValueSerde() };
}

/**
 * A grouped stream aggregated per time window: results are keyed by `Windowed<K>`.
 *
 * @example
 * stream.groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(60_000).advanceBy(10_000)).count();
 */
export class TimeWindowedKStream<K, V> {
  /** @internal Made by `windowedBy(TimeWindows)`. */
  constructor(
    private readonly grouped: KGroupedStream<K, V>,
    private readonly windows: TimeWindows,
    private readonly options: WindowedByOptions | undefined,
  ) {}

  private aggregateImpl<VA>(prefix: string, materialized: MaterializedOptions<K, VA> | undefined, aggSerde: Serde<unknown>, init: (() => unknown) | undefined, add: (k: unknown, v: unknown, a: unknown) => unknown): KTable<Windowed<K>, VA> {
    const g = this.grouped.graph;
    const w = this.windows;
    const storeName = materialized?.storeName ?? g.newStoreName(prefix);
    const retentionMs = materialized?.retentionMs ?? w.sizeMs + w.graceMs;
    if (retentionMs < w.sizeMs + w.graceMs) throw new TopologyException(`store ${storeName}: retention (${retentionMs} ms) must be at least the window size plus grace (${w.sizeMs + w.graceMs} ms)`);
    const keySerde = (materialized?.keySerde ?? this.grouped.keySerde ?? g.defaultKeySerde) as Serde<unknown>;
    const input = this.grouped.input(storeName, keySerde);
    const late = lateRecords(this.grouped as KGroupedStream<unknown, unknown>, this.options);
    g.addStore({ name: storeName, kind: 'window', keySerde, valueSerde: aggSerde, timeStore: true, queryable: true, windowSizeMs: w.sizeMs });
    const node = g.addNode({
      name: g.newName(prefix),
      parents: [input],
      stores: [storeName],
      sends: late ? [late.topic] : [],
      create: windowAggregate(storeName, w, retentionMs, keySerde, aggSerde, init, add, late),
    });
    return new KTable<Windowed<K>, VA>(g, node, WindowedSerdes.timeWindowedSerdeFrom(keySerde as Serde<K>, w.sizeMs), aggSerde as Serde<VA>, windowStoreGetter(storeName, keySerde, aggSerde), storeName, {
      closeAfterEndMs: w.graceMs,
    });
  }

  /**
   * The number of records per key and window.
   *
   * @example
   * clicks.groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(60_000)).count();
   */
  count(materialized?: MaterializedOptions<K, number>): KTable<Windowed<K>, number> {
    return this.aggregateImpl<number>('KSTREAM-AGGREGATE-', materialized, (materialized?.valueSerde ?? Serdes.Long()) as Serde<unknown>, () => 0, (_k, _v, n) => (n as number) + 1);
  }

  /**
   * Combines the values of each key and window.
   *
   * @example
   * amounts.groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(60_000)).reduce((a, b) => a + b);
   */
  reduce(reducer: (aggregate: V, value: V) => V, materialized?: MaterializedOptions<K, V>): KTable<Windowed<K>, V> {
    return this.aggregateImpl<V>('KSTREAM-REDUCE-', materialized, (materialized?.valueSerde ?? this.grouped.resolvedValueSerde()) as Serde<unknown>, undefined, (_k, v, a) => reducer(a as V, v as V));
  }

  /**
   * Folds the values of each key and window into an aggregate.
   *
   * @example
   * temps.groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(60_000)).aggregate(() => ({ max: -Infinity }), (k, t, a) => ({ max: Math.max(a.max, t) }), Materialized.with(Serdes.String(), Serdes.Json<{ max: number }>()));
   */
  aggregate<VA>(initializer: () => VA, aggregator: (key: K, value: V, aggregate: VA) => VA, materialized?: MaterializedOptions<K, VA>): KTable<Windowed<K>, VA> {
    return this.aggregateImpl<VA>('KSTREAM-AGGREGATE-', materialized, (materialized?.valueSerde ?? this.grouped.graph.defaultValueSerde) as Serde<unknown>, initializer, (k, v, a) => aggregator(k as K, v as V, a as VA));
  }
}

/**
 * A grouped stream aggregated per session: results are keyed by `Windowed<K>` with the session's
 * first and last record times; merged sessions are deleted downstream.
 *
 * @example
 * clicks.groupByKey().windowedBy(SessionWindows.ofInactivityGapWithNoGrace(300_000)).count();
 */
export class SessionWindowedKStream<K, V> {
  /** @internal Made by `windowedBy(SessionWindows)`. */
  constructor(
    private readonly grouped: KGroupedStream<K, V>,
    private readonly windows: SessionWindows,
    private readonly options: WindowedByOptions | undefined,
  ) {}

  private aggregateImpl<VA>(
    prefix: string,
    materialized: MaterializedOptions<K, VA> | undefined,
    aggSerde: Serde<unknown>,
    init: () => unknown,
    add: (k: unknown, v: unknown, a: unknown) => unknown,
    merge: (k: unknown, a: unknown, b: unknown) => unknown,
  ): KTable<Windowed<K>, VA> {
    const g = this.grouped.graph;
    const w = this.windows;
    const storeName = materialized?.storeName ?? g.newStoreName(prefix);
    const retentionMs = materialized?.retentionMs ?? w.gapMs + w.graceMs;
    const keySerde = (materialized?.keySerde ?? this.grouped.keySerde ?? g.defaultKeySerde) as Serde<unknown>;
    const input = this.grouped.input(storeName, keySerde);
    const late = lateRecords(this.grouped as KGroupedStream<unknown, unknown>, this.options);
    g.addStore({ name: storeName, kind: 'session', keySerde, valueSerde: aggSerde, timeStore: true, queryable: true });
    const node = g.addNode({
      name: g.newName(prefix),
      parents: [input],
      stores: [storeName],
      sends: late ? [late.topic] : [],
      create: sessionAggregate(storeName, w, retentionMs, keySerde, aggSerde, init, add, merge, late),
    });
    return new KTable<Windowed<K>, VA>(g, node, WindowedSerdes.sessionWindowedSerdeFrom(keySerde as Serde<K>), aggSerde as Serde<VA>, sessionStoreGetter(storeName, keySerde, aggSerde), storeName, {
      closeAfterEndMs: w.gapMs + w.graceMs,
    });
  }

  /**
   * The number of records per key and session.
   *
   * @example
   * visits.groupByKey().windowedBy(SessionWindows.ofInactivityGapWithNoGrace(1_800_000)).count();
   */
  count(materialized?: MaterializedOptions<K, number>): KTable<Windowed<K>, number> {
    return this.aggregateImpl<number>(
      'KSTREAM-AGGREGATE-',
      materialized,
      (materialized?.valueSerde ?? Serdes.Long()) as Serde<unknown>,
      () => 0,
      (_k, _v, n) => (n as number) + 1,
      (_k, a, b) => (a as number) + (b as number),
    );
  }

  /**
   * Combines the values of each session (also to merge two sessions' results).
   *
   * @example
   * amounts.groupByKey().windowedBy(SessionWindows.ofInactivityGapWithNoGrace(60_000)).reduce((a, b) => a + b);
   */
  reduce(reducer: (aggregate: V, value: V) => V, materialized?: MaterializedOptions<K, V>): KTable<Windowed<K>, V> {
    return this.aggregateImpl<V>(
      'KSTREAM-REDUCE-',
      materialized,
      (materialized?.valueSerde ?? this.grouped.resolvedValueSerde()) as Serde<unknown>,
      () => null,
      (_k, v, a) => (a === null ? v : reducer(a as V, v as V)),
      (_k, a, b) => (a === null ? b : b === null ? a : reducer(a as V, b as V)),
    );
  }

  /**
   * Folds each session's values into an aggregate; `merger` combines two sessions' aggregates when a record bridges them.
   *
   * @example
   * visits.groupByKey().windowedBy(SessionWindows.ofInactivityGapWithNoGrace(60_000)).aggregate(() => 0, (k, v, n) => n + 1, (k, a, b) => a + b, Materialized.with(Serdes.String(), Serdes.Long()));
   */
  aggregate<VA>(
    initializer: () => VA,
    aggregator: (key: K, value: V, aggregate: VA) => VA,
    merger: (key: K, aggregate1: VA, aggregate2: VA) => VA,
    materialized?: MaterializedOptions<K, VA>,
  ): KTable<Windowed<K>, VA> {
    return this.aggregateImpl<VA>(
      'KSTREAM-AGGREGATE-',
      materialized,
      (materialized?.valueSerde ?? this.grouped.graph.defaultValueSerde) as Serde<unknown>,
      initializer,
      (k, v, a) => aggregator(k as K, v as V, a as VA),
      (k, a, b) => merger(k as K, a as VA, b as VA),
    );
  }
}

/**
 * A table regrouped by `KTable.groupBy`, ready to aggregate with an adder and a subtractor.
 *
 * @example
 * users.groupBy((id, u) => KeyValue.pair(u.country, 1), Grouped.with(Serdes.String(), Serdes.Long())).reduce((a, b) => a + b, (a, b) => a - b);
 */
export class KGroupedTable<K, V> {
  private namedInput: GraphNode | undefined;

  /** @internal Made by `KTable.groupBy`. */
  constructor(
    private readonly graph: InternalBuilder,
    private readonly node: GraphNode,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    private readonly name: string | undefined,
  ) {}

  private aggregateImpl<VA>(
    prefix: string,
    materialized: MaterializedOptions<K, VA> | undefined,
    aggSerde: Serde<unknown>,
    init: (() => unknown) | undefined,
    add: (k: unknown, v: unknown, a: unknown) => unknown,
    subtract: (k: unknown, v: unknown, a: unknown) => unknown,
  ): KTable<K, VA> {
    const g = this.graph;
    const storeName = materialized?.storeName ?? g.newStoreName(prefix);
    const keySerde = (materialized?.keySerde ?? this.keySerde) as Serde<unknown>;
    const make = (base: string) => g.repartition(this.node, base, this.keySerde as Serde<unknown>, changeSerde(this.valueSerde as Serde<unknown>), null, 'auto');
    const input = this.name !== undefined ? (this.namedInput ??= make(this.name)) : make(storeName);
    g.addStore({ name: storeName, kind: 'kv', keySerde, valueSerde: aggSerde, timeStore: false, queryable: true });
    const node = g.addNode({ name: g.newName(prefix), parents: [input], stores: [storeName], create: tableAggregate(storeName, keySerde, aggSerde, init, add, subtract) });
    return new KTable<K, VA>(g, node, keySerde as Serde<K>, aggSerde as Serde<VA>, storeGetter(storeName, keySerde, aggSerde), storeName);
  }

  /**
   * The number of rows per group.
   *
   * @example
   * users.groupBy((id, u) => KeyValue.pair(u.country, id)).count();
   */
  count(materialized?: MaterializedOptions<K, number>): KTable<K, number> {
    return this.aggregateImpl<number>(
      'KTABLE-AGGREGATE-',
      materialized,
      (materialized?.valueSerde ?? Serdes.Long()) as Serde<unknown>,
      () => 0,
      (_k, _v, n) => (n as number) + 1,
      (_k, _v, n) => (n as number) - 1,
    );
  }

  /**
   * Combines each group's rows: `adder` for a row's new value, `subtractor` for the value it had.
   *
   * @example
   * balances.groupBy((acct, b) => KeyValue.pair(b.branch, b.amount), Grouped.with(Serdes.String(), Serdes.Long())).reduce((a, v) => a + v, (a, v) => a - v);
   */
  reduce(adder: (aggregate: V, value: V) => V, subtractor: (aggregate: V, value: V) => V, materialized?: MaterializedOptions<K, V>): KTable<K, V> {
    return this.aggregateImpl<V>(
      'KTABLE-REDUCE-',
      materialized,
      (materialized?.valueSerde ?? this.valueSerde) as Serde<unknown>,
      undefined,
      (_k, v, a) => adder(a as V, v as V),
      (_k, v, a) => subtractor(a as V, v as V),
    );
  }

  /**
   * Folds each group's rows into an aggregate, starting from `initializer()`.
   *
   * @example
   * users.groupBy((id, u) => KeyValue.pair(u.country, u.age), Grouped.with(Serdes.String(), Serdes.Long())).aggregate(() => 0, (c, age, sum) => sum + age, (c, age, sum) => sum - age, Materialized.with(Serdes.String(), Serdes.Long()));
   */
  aggregate<VA>(
    initializer: () => VA,
    adder: (key: K, value: V, aggregate: VA) => VA,
    subtractor: (key: K, value: V, aggregate: VA) => VA,
    materialized?: MaterializedOptions<K, VA>,
  ): KTable<K, VA> {
    return this.aggregateImpl<VA>(
      'KTABLE-AGGREGATE-',
      materialized,
      (materialized?.valueSerde ?? this.graph.defaultValueSerde) as Serde<unknown>,
      initializer,
      (k, v, a) => adder(k as K, v as V, a as VA),
      (k, v, a) => subtractor(k as K, v as V, a as VA),
    );
  }
}

