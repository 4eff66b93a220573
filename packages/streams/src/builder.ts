// StreamsBuilder: the entry point of the DSL. It reads topics as streams, tables and global tables,
// and builds the Topology that a runtime (or the TopologyTestDriver) runs.

import type { ConsumedOptions, MaterializedOptions } from './config.ts';
import { TopologyException } from './errors.ts';
import { InternalBuilder } from './internal/graph.ts';
import { storeGetter, tableSource } from './internal/processors.ts';
import { KStream } from './kstream.ts';
import { GlobalKTable, KTable } from './ktable.ts';
import { Serdes, type Serde } from './serdes.ts';
import { Topology } from './topology.ts';

/** The serdes used wherever an operator is given none (both `Serdes.String()` unless set). */
export interface StreamsBuilderOptions<DK, DV> {
  readonly defaultKeySerde?: Serde<DK>;
  readonly defaultValueSerde?: Serde<DV>;
}

/**
 * Declares a topology, Kafka Streams' `StreamsBuilder`. `DK` and `DV` are the types of the default serdes.
 *
 * @example
 * const builder = new StreamsBuilder();
 * builder.stream<string, string>('text')
 *   .flatMapValues((line) => line.toLowerCase().split(/\W+/))
 *   .groupBy((k, word) => word)
 *   .count()
 *   .toStream()
 *   .to('counts', Produced.with(Serdes.String(), Serdes.Long()));
 * const topology = builder.build();
 */
export class StreamsBuilder<DK = string, DV = string> {
  private readonly graph: InternalBuilder;

  constructor(options: StreamsBuilderOptions<DK, DV> = {}) {
    this.graph = new InternalBuilder((options.defaultKeySerde ?? Serdes.String()) as Serde<unknown>, (options.defaultValueSerde ?? Serdes.String()) as Serde<unknown>);
  }

  /**
   * A stream of the records of one or more topics.
   *
   * @example
   * builder.stream('orders', { keySerde: Serdes.String(), valueSerde: Serdes.Json<Order>() });
   */
  stream<K = DK, V = DV>(topics: string | readonly string[], consumed?: ConsumedOptions<K, V>): KStream<K, V> {
    const g = this.graph;
    const list = typeof topics === 'string' ? [topics] : [...topics];
    for (const t of list) g.registerSourceTopic(t);
    const keySerde = (consumed?.keySerde ?? g.defaultKeySerde) as Serde<unknown>;
    const valueSerde = (consumed?.valueSerde ?? g.defaultValueSerde) as Serde<unknown>;
    const node = g.addNode({ name: consumed?.name ?? g.newName('KSTREAM-SOURCE-'), kind: 'source', source: { topics: list.map((name) => ({ name, internal: false })), keySerde, valueSerde } });
    return new KStream<K, V>(g, node, consumed?.keySerde, consumed?.valueSerde, false);
  }

  /**
   * A table of a topic: each record is its key's latest value, a `null` value deletes the key. The
   * table is kept in a store (named by `materialized`, or generated).
   *
   * @example
   * builder.table('users', Consumed.with(Serdes.String(), Serdes.Json<User>()), Materialized.as('users-store'));
   */
  table<K = DK, V = DV>(topic: string, consumed?: ConsumedOptions<K, V>, materialized?: MaterializedOptions<K, V>): KTable<K, V> {
    const g = this.graph;
    g.registerSourceTopic(topic);
    const keySerde = (consumed?.keySerde ?? materialized?.keySerde ?? g.defaultKeySerde) as Serde<unknown>;
    const valueSerde = (consumed?.valueSerde ?? materialized?.valueSerde ?? g.defaultValueSerde) as Serde<unknown>;
    const storeKeySerde = (materialized?.keySerde ?? keySerde) as Serde<unknown>;
    const storeValueSerde = (materialized?.valueSerde ?? valueSerde) as Serde<unknown>;
    const source = g.addNode({ name: consumed?.name ?? g.newName('KSTREAM-SOURCE-'), kind: 'source', source: { topics: [{ name: topic, internal: false }], keySerde, valueSerde } });
    const storeName = materialized?.storeName ?? g.newStoreName(`${topic}-`);
    g.addStore({ name: storeName, kind: 'kv', keySerde: storeKeySerde, valueSerde: storeValueSerde, timeStore: false, queryable: true });
    const node = g.addNode({ name: g.newName('KTABLE-SOURCE-'), parents: [source], stores: [storeName], create: tableSource(storeName, storeKeySerde, storeValueSerde) });
    return new KTable<K, V>(g, node, storeKeySerde as Serde<K>, storeValueSerde as Serde<V>, storeGetter(storeName, storeKeySerde, storeValueSerde), storeName);
  }

  /**
   * A table of every partition of a topic, in every task; streams join it by a key they compute.
   * Its store holds the topic's bytes as they are (the runtime maintains it).
   *
   * @example
   * builder.globalTable('products', Consumed.with(Serdes.String(), Serdes.Json<Product>()));
   */
  globalTable<K = DK, V = DV>(topic: string, consumed?: ConsumedOptions<K, V>, materialized?: MaterializedOptions<K, V>): GlobalKTable<K, V> {
    const g = this.graph;
    g.registerSourceTopic(topic);
    const keySerde = (consumed?.keySerde ?? materialized?.keySerde ?? g.defaultKeySerde) as Serde<K>;
    const valueSerde = (consumed?.valueSerde ?? materialized?.valueSerde ?? g.defaultValueSerde) as Serde<V>;
    const storeName = materialized?.storeName ?? g.newStoreName(`${topic}-`);
    if (g.stores.has(storeName) || g.globalStores.some((s) => s.name === storeName)) throw new TopologyException(`a store named ${storeName} already exists`);
    g.globalStores.push({ name: storeName, topic, keySerde: keySerde as Serde<unknown>, valueSerde: valueSerde as Serde<unknown> });
    const source = g.addNode({ name: consumed?.name ?? g.newName('KSTREAM-SOURCE-'), kind: 'source', global: true, source: { topics: [{ name: topic, internal: false }], keySerde: keySerde as Serde<unknown>, valueSerde: valueSerde as Serde<unknown> } });
    g.addNode({ name: g.newName('KTABLE-SOURCE-'), parents: [source], stores: [storeName], global: true });
    return new GlobalKTable<K, V>(storeName, topic, keySerde, valueSerde);
  }

  /**
   * Compiles what was declared: sub-topologies, stores, internal topics (throws `TopologyException` if it cannot).
   *
   * @example
   * const topology = builder.build();
   * console.log(topology.describe());
   */
  build(): Topology {
    return new Topology(this.graph);
  }
}
