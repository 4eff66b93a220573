// KTable: a changelog stream read as a table, one current value per key. Table processors pass
// `Change`s (new and old value) downstream, so that an aggregation of a table can subtract a row's
// old value when the row changes, and joins can look the other side up through value getters (a
// chain back to the nearest store) instead of materializing every intermediate table.

import { type GroupedOptions, type KeyValueLike, type MaterializedOptions, type Named } from './config.ts';
import { TopologyException } from './errors.ts';
import { KGroupedTable } from './grouped.ts';
import { equalBytes } from './internal/bytes.ts';
import { Change, type GraphNode, type InternalBuilder, type ProcessorFactory } from './internal/graph.ts';
import { materializing, storeGetter, suppressUntilWindowCloses, type TableGetter } from './internal/processors.ts';
import { KStream } from './kstream.ts';
import type { Serde } from './serdes.ts';
import type { Suppressed } from './windows.ts';

const isNull = (v: unknown): boolean => v === null || v === undefined;

function toPair<K, V>(kv: KeyValueLike<K, V>): { key: K; value: V } {
  if (Array.isArray(kv)) return { key: kv[0] as K, value: kv[1] as V };
  return kv as { key: K; value: V };
}

/** @internal What suppression needs to know of a windowed table. */
export interface WindowInfo {
  /** A window is closed once stream time reaches its end plus this (grace; gap + grace for sessions). */
  readonly closeAfterEndMs: number;
}

/**
 * A table: the latest value per key of a changelog (a `null` value deletes its key). Made by
 * `builder.table`, an aggregation, `toTable`, or a table operator.
 *
 * @example
 * const users = builder.table('users', Consumed.with(Serdes.String(), Serdes.Json<User>()));
 * users.filter((id, u) => u.active).toStream().to('active-users');
 */
export class KTable<K, V> {
  // A private member makes the type nominal, so the join overloads tell streams, tables and global tables apart.
  private readonly brand = 'KTable';

  /** @internal Tables are made by the builder, aggregations and operators. */
  constructor(
    /** @internal */ readonly graph: InternalBuilder,
    /** @internal */ readonly node: GraphNode,
    readonly keySerde: Serde<K> | undefined,
    readonly valueSerde: Serde<V> | undefined,
    /** @internal */ readonly getter: TableGetter,
    /** @internal */ readonly storeName: string | undefined,
    /** @internal */ readonly windowing?: WindowInfo,
  ) {}

  /** The store holding this table, if it has one (a source, an aggregation, or `Materialized`). */
  queryableStoreName(): string | null {
    return this.storeName ?? null;
  }

  private derive<K2, V2>(
    name: string,
    parents: GraphNode[],
    stores: string[],
    create: ProcessorFactory,
    getter: TableGetter,
    keySerde: Serde<K2> | undefined,
    valueSerde: Serde<V2> | undefined,
    materialized: MaterializedOptions<K2, V2> | undefined,
  ): KTable<K2, V2> {
    const g = this.graph;
    if (!materialized) {
      const node = g.addNode({ name, parents, stores, create });
      return new KTable(g, node, keySerde, valueSerde, getter, undefined, this.windowing);
    }
    const storeName = materialized.storeName ?? g.newStoreName(name.replace(/\d+$/, ''));
    const ks = (materialized.keySerde ?? keySerde ?? g.defaultKeySerde) as Serde<unknown>;
    const vs = (materialized.valueSerde ?? valueSerde ?? g.defaultValueSerde) as Serde<unknown>;
    g.addStore({ name: storeName, kind: 'kv', keySerde: ks, valueSerde: vs, timeStore: false, queryable: true });
    const node = g.addNode({ name, parents, stores: [...stores, storeName], create: materializing(storeName, ks, vs, create) });
    return new KTable(g, node, ks as Serde<K2>, vs as Serde<V2>, storeGetter(storeName, ks, vs), storeName, this.windowing);
  }

  /**
   * The rows for which `predicate` holds; a row that stops passing is deleted downstream.
   *
   * @example
   * users.filter((id, u) => u.active);
   */
  filter(predicate: (key: K, value: V) => boolean, materialized?: MaterializedOptions<K, V>, named?: Named): KTable<K, V> {
    return this.filterImpl(predicate, false, materialized, named);
  }

  /**
   * The rows for which `predicate` does not hold.
   *
   * @example
   * users.filterNot((id, u) => u.banned);
   */
  filterNot(predicate: (key: K, value: V) => boolean, materialized?: MaterializedOptions<K, V>, named?: Named): KTable<K, V> {
    return this.filterImpl(predicate, true, materialized, named);
  }

  private filterImpl(predicate: (key: K, value: V) => boolean, not: boolean, materialized: MaterializedOptions<K, V> | undefined, named: Named | undefined): KTable<K, V> {
    const keep = (k: unknown, v: unknown) => !isNull(v) && predicate(k as K, v as V) !== not;
    const parent = this.getter;
    return this.derive<K, V>(
      named?.name ?? this.graph.newName('KTABLE-FILTER-'),
      [this.node],
      [],
      (ctx) => ({
        async process(r) {
          const c = r.value as Change;
          const nv = keep(r.key, c.newValue) ? c.newValue : null;
          const ov = keep(r.key, c.oldValue) ? c.oldValue : null;
          if (nv === null && ov === null) return;
          await ctx.forward({ ...r, value: new Change(nv, ov) });
        },
      }),
      {
        stores: parent.stores,
        make(task) {
          const get = parent.make(task);
          return async (key) => {
            const found = await get(key);
            return found && keep(key, found.value) ? found : null;
          };
        },
      },
      this.keySerde,
      this.valueSerde,
      materialized,
    );
  }

  /**
   * A new value for each row.
   *
   * @example
   * users.mapValues((u) => u.email);
   */
  mapValues<VR>(mapper: (value: V, key: K) => VR, materialized?: MaterializedOptions<K, VR>, named?: Named): KTable<K, VR> {
    const map = (k: unknown, v: unknown) => (isNull(v) ? null : mapper(v as V, k as K));
    const parent = this.getter;
    return this.derive<K, VR>(
      named?.name ?? this.graph.newName('KTABLE-MAPVALUES-'),
      [this.node],
      [],
      (ctx) => ({ process: (r) => ctx.forward({ ...r, value: new Change(map(r.key, (r.value as Change).newValue), map(r.key, (r.value as Change).oldValue)) }) }),
      {
        stores: parent.stores,
        make(task) {
          const get = parent.make(task);
          return async (key) => {
            const found = await get(key);
            return found ? { value: map(key, found.value), timestamp: found.timestamp } : null;
          };
        },
      },
      this.keySerde,
      undefined,
      materialized,
    );
  }

  /**
   * The table's changes as a stream: each update as a record, each delete as a `null` value.
   *
   * @example
   * counts.toStream().to('counts', Produced.with(Serdes.String(), Serdes.Long()));
   */
  toStream(named?: Named): KStream<K, V> {
    const node = this.graph.addNode({
      name: named?.name ?? this.graph.newName('KTABLE-TOSTREAM-'),
      parents: [this.node],
      create: (ctx) => ({ process: (r) => ctx.forward({ ...r, value: (r.value as Change).newValue }) }),
    });
    return new KStream<K, V>(this.graph, node, this.keySerde, this.valueSerde, false);
  }

  /**
   * Regroups the rows by a new key (and value) for an aggregation; always repartitions. When a row
   * changes, its old value leaves its old group and its new value joins its new group.
   *
   * @example
   * users.groupBy((id, u) => KeyValue.pair(u.country, u)).count();
   */
  groupBy<KR, VR>(selector: (key: K, value: V) => KeyValueLike<KR, VR>, grouped?: GroupedOptions<KR, VR>): KGroupedTable<KR, VR> {
    const g = this.graph;
    const keySerde = (grouped?.keySerde ?? g.defaultKeySerde) as Serde<unknown>;
    const valueSerde = (grouped?.valueSerde ?? g.defaultValueSerde) as Serde<unknown>;
    const select = (k: unknown, v: unknown) => (isNull(v) ? null : toPair(selector(k as K, v as V)));
    const node = g.addNode({
      name: g.newName('KTABLE-SELECT-'),
      parents: [this.node],
      create: (ctx) => ({
        async process(r) {
          const c = r.value as Change;
          const np = select(r.key, c.newValue);
          const op = select(r.key, c.oldValue);
          const base = { timestamp: r.timestamp, headers: r.headers };
          // The same group before and after: one change, so the aggregate updates once.
          if (np && op && !isNull(np.key) && equalBytes(keySerde.serialize('', np.key), keySerde.serialize('', op.key))) {
            await ctx.forward({ ...base, key: np.key, value: new Change(np.value, op.value) });
            return;
          }
          if (op) await ctx.forward({ ...base, key: op.key, value: new Change(null, op.value) });
          if (np) await ctx.forward({ ...base, key: np.key, value: new Change(np.value, null) });
        },
      }),
    });
    return new KGroupedTable<KR, VR>(g, node, keySerde as Serde<KR>, valueSerde as Serde<VR>, grouped?.name);
  }

  /**
   * Inner table-table join: a row for each key both tables have, updated when either side changes.
   *
   * @example
   * users.join(addresses, (u, a) => ({ ...u, city: a.city }));
   */
  join<VO, VR>(other: KTable<K, VO>, joiner: (value: V, otherValue: VO, key: K) => VR, materialized?: MaterializedOptions<K, VR>): KTable<K, VR> {
    return this.tableJoin('inner', other, joiner as (v: V | null, o: VO | null, k: K) => VR, materialized);
  }

  /**
   * Left table-table join: a row for each key of this table, with `null` while the other has none.
   *
   * @example
   * users.leftJoin(addresses, (u, a) => ({ ...u, city: a?.city ?? null }));
   */
  leftJoin<VO, VR>(other: KTable<K, VO>, joiner: (value: V, otherValue: VO | null, key: K) => VR, materialized?: MaterializedOptions<K, VR>): KTable<K, VR> {
    return this.tableJoin('left', other, joiner as (v: V | null, o: VO | null, k: K) => VR, materialized);
  }

  /**
   * Outer table-table join: a row for each key either table has.
   *
   * @example
   * stock.outerJoin(orders, (s, o) => (s ?? 0) - (o ?? 0));
   */
  outerJoin<VO, VR>(other: KTable<K, VO>, joiner: (value: V | null, otherValue: VO | null, key: K) => VR, materialized?: MaterializedOptions<K, VR>): KTable<K, VR> {
    return this.tableJoin('outer', other, joiner, materialized);
  }

  private tableJoin<VO, VR>(kind: 'inner' | 'left' | 'outer', other: KTable<K, VO>, joiner: (v: V | null, o: VO | null, k: K) => VR, materialized: MaterializedOptions<K, VR> | undefined): KTable<K, VR> {
    const g = this.graph;
    if (other.graph !== g) throw new TopologyException('cannot join tables of different builders');
    const compute = (l: unknown, r: unknown, k: unknown): unknown => {
      const lv = isNull(l) ? null : l;
      const rv = isNull(r) ? null : r;
      const present = kind === 'inner' ? lv !== null && rv !== null : kind === 'left' ? lv !== null : lv !== null || rv !== null;
      return present ? joiner(lv as V | null, rv as VO | null, k as K) : null;
    };
    const prefix = kind === 'inner' ? 'KTABLE-JOIN' : kind === 'left' ? 'KTABLE-LEFTJOIN' : 'KTABLE-OUTERJOIN';
    const side = (parent: GraphNode, lookup: TableGetter, isLeft: boolean, name: string) =>
      g.addNode({
        name,
        parents: [parent],
        stores: [...lookup.stores],
        create: (ctx) => {
          const get = lookup.make(ctx.task);
          return {
            async process(r) {
              const c = r.value as Change;
              const found = await get(r.key);
              const o = found?.value ?? null;
              const nv = isLeft ? compute(c.newValue, o, r.key) : compute(o, c.newValue, r.key);
              const ov = isLeft ? compute(c.oldValue, o, r.key) : compute(o, c.oldValue, r.key);
              if (nv === null && ov === null) return;
              await ctx.forward({ ...r, value: new Change(nv, ov), timestamp: Math.max(r.timestamp, found?.timestamp ?? r.timestamp) });
            },
          };
        },
      });
    const thisNode = side(this.node, other.getter, true, g.newName(`${prefix}THIS-`));
    const otherNode = side(other.node, this.getter, false, g.newName(`${prefix}OTHER-`));
    const left = this.getter;
    const right = other.getter;
    return this.derive<K, VR>(
      g.newName('KTABLE-MERGE-'),
      [thisNode, otherNode],
      [],
      (ctx) => ({ process: (r) => ctx.forward(r) }),
      {
        stores: [...new Set([...left.stores, ...right.stores])],
        make(task) {
          const getLeft = left.make(task);
          const getRight = right.make(task);
          return async (key) => {
            const [l, r] = [await getLeft(key), await getRight(key)];
            const value = compute(l?.value ?? null, r?.value ?? null, key);
            return value === null ? null : { value, timestamp: Math.max(l?.timestamp ?? -1, r?.timestamp ?? -1) };
          };
        },
      },
      this.keySerde ?? other.keySerde,
      undefined,
      materialized,
    );
  }

  /**
   * Holds a windowed table's updates back and emits each window's final result once, when the
   * window closes (stream time, or the wall clock on punctuation, passes its end + grace).
   *
   * @example
   * grouped.windowedBy(TimeWindows.ofSizeWithNoGrace(60_000)).count().suppress(Suppressed.untilWindowCloses(BufferConfig.unbounded()));
   */
  suppress(suppressed: Suppressed): KTable<K, V> {
    const g = this.graph;
    if (!this.windowing) throw new TopologyException('suppress(untilWindowCloses) needs a windowed table (the result of windowedBy(...).count/reduce/aggregate)');
    const name = suppressed.name ?? g.newName('KTABLE-SUPPRESS-');
    const storeName = suppressed.name ? `${suppressed.name}-store` : g.newStoreName('KTABLE-SUPPRESS-');
    const keySerde = (this.keySerde ?? g.defaultKeySerde) as Serde<unknown>;
    const valueSerde = (this.valueSerde ?? g.defaultValueSerde) as Serde<unknown>;
    g.addStore({ name: storeName, kind: 'kv', keySerde, valueSerde, timeStore: true, queryable: false });
    const node = g.addNode({ name, parents: [this.node], stores: [storeName], punctuates: true, create: suppressUntilWindowCloses(storeName, keySerde, valueSerde, this.windowing.closeAfterEndMs) });
    return new KTable<K, V>(g, node, this.keySerde, this.valueSerde, this.getter, undefined, this.windowing);
  }
}

/**
 * A table replicated whole to every task (Kafka's `GlobalKTable`): streams join it by any key they
 * compute, without co-partitioning. The runtime keeps its store from its topic.
 *
 * @example
 * const products = builder.globalTable('products', Consumed.with(Serdes.String(), Serdes.Json<Product>()));
 * orders.join(products, (id, o) => o.sku, (o, p) => ({ ...o, price: p.price }));
 */
export class GlobalKTable<K, V> {
  // A private member makes the type nominal, so the join overloads tell streams, tables and global tables apart.
  private readonly brand = 'GlobalKTable';

  /** @internal Made by `builder.globalTable`. */
  constructor(
    /** @internal */ readonly storeName: string,
    /** @internal */ readonly topic: string,
    readonly keySerde: Serde<K>,
    readonly valueSerde: Serde<V>,
  ) {}

  queryableStoreName(): string {
    return this.storeName;
  }
}
