// The option objects of the DSL, named and shaped like Kafka Streams' (Consumed, Produced, Grouped,
// Materialized, ...). Each is a class with static factories and `with...` copies, and each operator
// takes the matching `...Options` interface, so a plain object literal works as well.
//
// Factories whose types cannot be inferred from their arguments (`Materialized.as('name')`) default
// their type parameters to `any`: in an argument position TypeScript infers them from the operator,
// and in a chain (`Materialized.as('n').withValueSerde(...)`) the `with...` call fixes the type it sets.

import type { KStream } from './kstream.ts';
import type { Serde } from './serdes.ts';

/** A record header, as on the topic. */
export interface Header {
  key: string;
  value: Uint8Array | null;
}

/**
 * Where the record being processed came from, for `to(extractor)`. A record emitted by a punctuation
 * (a suppressed window closing on the clock) has `topic: null`.
 *
 * @example
 * stream.to((key, value, ctx) => `${ctx.topic}-copy`);
 */
export interface RecordContext {
  readonly topic: string | null;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly headers: readonly Header[];
}

/**
 * A key and a value, what `map` and `flatMap` return (a `[key, value]` tuple works too).
 *
 * @example
 * stream.map((k, v) => KeyValue.pair(v, k));
 */
export class KeyValue<K, V> {
  constructor(
    readonly key: K,
    readonly value: V,
  ) {}

  static pair<K, V>(key: K, value: V): KeyValue<K, V> {
    return new KeyValue(key, value);
  }
}

/** What `map` and `flatMap` may return for one record. */
export type KeyValueLike<K, V> = KeyValue<K, V> | { readonly key: K; readonly value: V } | readonly [K, V];

/**
 * A processor's name, instead of the generated `KSTREAM-FILTER-0000000003`.
 *
 * @example
 * stream.filter((k, v) => v !== '', Named.as('drop-empty'));
 */
export class Named {
  private constructor(readonly name: string) {}

  static as(name: string): Named {
    return new Named(name);
  }
}

/** How `builder.stream` and `builder.table` read a topic. */
export interface ConsumedOptions<K, V> {
  readonly keySerde?: Serde<K> | undefined;
  readonly valueSerde?: Serde<V> | undefined;
  /** The source processor's name. */
  readonly name?: string | undefined;
}

/**
 * How to read a topic: its serdes (the builder's defaults otherwise).
 *
 * @example
 * builder.stream('orders', Consumed.with(Serdes.String(), Serdes.Json<Order>()));
 */
export class Consumed<K, V> implements ConsumedOptions<K, V> {
  private constructor(
    readonly keySerde: Serde<K> | undefined,
    readonly valueSerde: Serde<V> | undefined,
    readonly name: string | undefined,
  ) {}

  static with<K, V>(keySerde: Serde<K>, valueSerde: Serde<V>): Consumed<K, V> {
    return new Consumed(keySerde, valueSerde, undefined);
  }

  static as<K = any, V = any>(name: string): Consumed<K, V> {
    return new Consumed<K, V>(undefined, undefined, name);
  }

  withKeySerde<K2>(keySerde: Serde<K2>): Consumed<K2, V> {
    return new Consumed(keySerde, this.valueSerde, this.name);
  }

  withValueSerde<V2>(valueSerde: Serde<V2>): Consumed<K, V2> {
    return new Consumed(this.keySerde, valueSerde, this.name);
  }

  withName(name: string): Consumed<K, V> {
    return new Consumed(this.keySerde, this.valueSerde, name);
  }
}

/** How `to` writes a topic. */
export interface ProducedOptions<K, V> {
  readonly keySerde?: Serde<K> | undefined;
  readonly valueSerde?: Serde<V> | undefined;
  readonly name?: string | undefined;
}

/**
 * How to write a topic: its serdes (the stream's own, else the builder's defaults).
 *
 * @example
 * counts.toStream().to('counts', Produced.with(Serdes.String(), Serdes.Long()));
 */
export class Produced<K, V> implements ProducedOptions<K, V> {
  private constructor(
    readonly keySerde: Serde<K> | undefined,
    readonly valueSerde: Serde<V> | undefined,
    readonly name: string | undefined,
  ) {}

  static with<K, V>(keySerde: Serde<K>, valueSerde: Serde<V>): Produced<K, V> {
    return new Produced(keySerde, valueSerde, undefined);
  }

  static keySerde<K, V = any>(keySerde: Serde<K>): Produced<K, V> {
    return new Produced<K, V>(keySerde, undefined, undefined);
  }

  static valueSerde<V, K = any>(valueSerde: Serde<V>): Produced<K, V> {
    return new Produced<K, V>(undefined, valueSerde, undefined);
  }

  static as<K = any, V = any>(name: string): Produced<K, V> {
    return new Produced<K, V>(undefined, undefined, name);
  }

  withKeySerde<K2>(keySerde: Serde<K2>): Produced<K2, V> {
    return new Produced(keySerde, this.valueSerde, this.name);
  }

  withValueSerde<V2>(valueSerde: Serde<V2>): Produced<K, V2> {
    return new Produced(this.keySerde, valueSerde, this.name);
  }

  withName(name: string): Produced<K, V> {
    return new Produced(this.keySerde, this.valueSerde, name);
  }
}

/** How `groupBy`/`groupByKey` write the repartition topic, if one is needed. */
export interface GroupedOptions<K, V> {
  readonly keySerde?: Serde<K> | undefined;
  readonly valueSerde?: Serde<V> | undefined;
  /** Names the repartition topic `<name>-repartition`. */
  readonly name?: string | undefined;
}

/**
 * The serdes and the repartition topic's name of a grouping.
 *
 * @example
 * stream.groupBy((k, v) => v.user, Grouped.with(Serdes.String(), Serdes.Json<Click>()).withName('by-user'));
 */
export class Grouped<K, V> implements GroupedOptions<K, V> {
  private constructor(
    readonly keySerde: Serde<K> | undefined,
    readonly valueSerde: Serde<V> | undefined,
    readonly name: string | undefined,
  ) {}

  static with<K, V>(keySerde: Serde<K>, valueSerde: Serde<V>): Grouped<K, V> {
    return new Grouped(keySerde, valueSerde, undefined);
  }

  static as<K = any, V = any>(name: string): Grouped<K, V> {
    return new Grouped<K, V>(undefined, undefined, name);
  }

  static keySerde<K, V = any>(keySerde: Serde<K>): Grouped<K, V> {
    return new Grouped<K, V>(keySerde, undefined, undefined);
  }

  static valueSerde<V, K = any>(valueSerde: Serde<V>): Grouped<K, V> {
    return new Grouped<K, V>(undefined, valueSerde, undefined);
  }

  withKeySerde<K2>(keySerde: Serde<K2>): Grouped<K2, V> {
    return new Grouped(keySerde, this.valueSerde, this.name);
  }

  withValueSerde<V2>(valueSerde: Serde<V2>): Grouped<K, V2> {
    return new Grouped(this.keySerde, valueSerde, this.name);
  }

  withName(name: string): Grouped<K, V> {
    return new Grouped(this.keySerde, this.valueSerde, name);
  }
}

/** How a table or an aggregation is stored. */
export interface MaterializedOptions<K, V> {
  /** The store's name (its changelog is `<name>-changelog`); generated otherwise. */
  readonly storeName?: string | undefined;
  readonly keySerde?: Serde<K> | undefined;
  readonly valueSerde?: Serde<V> | undefined;
  /** Windowed stores: how long windows are kept after they start (at least size + grace, the default). */
  readonly retentionMs?: number | undefined;
}

/**
 * A state store's name and serdes, for tables and aggregations.
 *
 * @example
 * grouped.aggregate(() => 0, (k, v, sum) => sum + v.amount, Materialized.as<string, number>('totals').withValueSerde(Serdes.Long()));
 */
export class Materialized<K, V> implements MaterializedOptions<K, V> {
  private constructor(
    readonly storeName: string | undefined,
    readonly keySerde: Serde<K> | undefined,
    readonly valueSerde: Serde<V> | undefined,
    readonly retentionMs: number | undefined,
  ) {}

  static as<K = any, V = any>(storeName: string): Materialized<K, V> {
    return new Materialized<K, V>(storeName, undefined, undefined, undefined);
  }

  static with<K, V>(keySerde: Serde<K>, valueSerde: Serde<V>): Materialized<K, V> {
    return new Materialized(undefined, keySerde, valueSerde, undefined);
  }

  withKeySerde<K2>(keySerde: Serde<K2>): Materialized<K2, V> {
    return new Materialized(this.storeName, keySerde, this.valueSerde, this.retentionMs);
  }

  withValueSerde<V2>(valueSerde: Serde<V2>): Materialized<K, V2> {
    return new Materialized(this.storeName, this.keySerde, valueSerde, this.retentionMs);
  }

  withRetention(retentionMs: number): Materialized<K, V> {
    return new Materialized(this.storeName, this.keySerde, this.valueSerde, retentionMs);
  }
}

/** How `repartition` writes its topic. */
export interface RepartitionedOptions<K, V> {
  readonly keySerde?: Serde<K> | undefined;
  readonly valueSerde?: Serde<V> | undefined;
  /** Names the topic `<name>-repartition`. */
  readonly name?: string | undefined;
  /** A fixed partition count; otherwise that of the sub-topology writing it. */
  readonly numberOfPartitions?: number | undefined;
}

/**
 * The repartition topic of `repartition()`: its name, partition count and serdes.
 *
 * @example
 * stream.repartition(Repartitioned.numberOfPartitions(6));
 */
export class Repartitioned<K, V> implements RepartitionedOptions<K, V> {
  private constructor(
    readonly name: string | undefined,
    readonly numberOfPartitions: number | undefined,
    readonly keySerde: Serde<K> | undefined,
    readonly valueSerde: Serde<V> | undefined,
  ) {}

  static as<K = any, V = any>(name: string): Repartitioned<K, V> {
    return new Repartitioned<K, V>(name, undefined, undefined, undefined);
  }

  static numberOfPartitions<K = any, V = any>(n: number): Repartitioned<K, V> {
    return new Repartitioned<K, V>(undefined, n, undefined, undefined);
  }

  static with<K, V>(keySerde: Serde<K>, valueSerde: Serde<V>): Repartitioned<K, V> {
    return new Repartitioned(undefined, undefined, keySerde, valueSerde);
  }

  withName(name: string): Repartitioned<K, V> {
    return new Repartitioned(name, this.numberOfPartitions, this.keySerde, this.valueSerde);
  }

  withNumberOfPartitions(n: number): Repartitioned<K, V> {
    return new Repartitioned(this.name, n, this.keySerde, this.valueSerde);
  }

  withKeySerde<K2>(keySerde: Serde<K2>): Repartitioned<K2, V> {
    return new Repartitioned(this.name, this.numberOfPartitions, keySerde, this.valueSerde);
  }

  withValueSerde<V2>(valueSerde: Serde<V2>): Repartitioned<K, V2> {
    return new Repartitioned(this.name, this.numberOfPartitions, this.keySerde, valueSerde);
  }
}

/** Serdes and name of a stream-table join (the serdes write the stream's repartition topic if it needs one). */
export interface JoinedOptions<K, V, VO> {
  readonly keySerde?: Serde<K> | undefined;
  readonly valueSerde?: Serde<V> | undefined;
  readonly otherValueSerde?: Serde<VO> | undefined;
  readonly name?: string | undefined;
}

/**
 * The serdes and name of a stream-table join.
 *
 * @example
 * clicks.selectKey((k, c) => c.user).join(users, (c, u) => ({ ...c, region: u.region }), Joined.with(Serdes.String(), Serdes.Json<Click>(), Serdes.Json<User>()));
 */
export class Joined<K, V, VO> implements JoinedOptions<K, V, VO> {
  private constructor(
    readonly keySerde: Serde<K> | undefined,
    readonly valueSerde: Serde<V> | undefined,
    readonly otherValueSerde: Serde<VO> | undefined,
    readonly name: string | undefined,
  ) {}

  static with<K, V, VO>(keySerde: Serde<K>, valueSerde: Serde<V>, otherValueSerde: Serde<VO>): Joined<K, V, VO> {
    return new Joined(keySerde, valueSerde, otherValueSerde, undefined);
  }

  static as<K = any, V = any, VO = any>(name: string): Joined<K, V, VO> {
    return new Joined<K, V, VO>(undefined, undefined, undefined, name);
  }

  withName(name: string): Joined<K, V, VO> {
    return new Joined(this.keySerde, this.valueSerde, this.otherValueSerde, name);
  }
}

/** Serdes and names of a stream-stream join's window stores. */
export interface StreamJoinedOptions<K, V, VO> {
  readonly keySerde?: Serde<K> | undefined;
  readonly valueSerde?: Serde<V> | undefined;
  readonly otherValueSerde?: Serde<VO> | undefined;
  /** Names the join's processors and repartition topics. */
  readonly name?: string | undefined;
  /** Names the join's stores `<storeName>-this-join-store`, `<storeName>-other-join-store`, `<storeName>-outer-shared-join-store`. */
  readonly storeName?: string | undefined;
}

/**
 * The serdes and names of a stream-stream join.
 *
 * @example
 * left.join(right, (l, r) => l + r, JoinWindows.ofTimeDifferenceWithNoGrace(5_000), StreamJoined.with(Serdes.String(), Serdes.String(), Serdes.String()));
 */
export class StreamJoined<K, V, VO> implements StreamJoinedOptions<K, V, VO> {
  private constructor(
    readonly keySerde: Serde<K> | undefined,
    readonly valueSerde: Serde<V> | undefined,
    readonly otherValueSerde: Serde<VO> | undefined,
    readonly name: string | undefined,
    readonly storeName: string | undefined,
  ) {}

  static with<K, V, VO>(keySerde: Serde<K>, valueSerde: Serde<V>, otherValueSerde: Serde<VO>): StreamJoined<K, V, VO> {
    return new StreamJoined(keySerde, valueSerde, otherValueSerde, undefined, undefined);
  }

  static as<K = any, V = any, VO = any>(storeName: string): StreamJoined<K, V, VO> {
    return new StreamJoined<K, V, VO>(undefined, undefined, undefined, undefined, storeName);
  }

  withName(name: string): StreamJoined<K, V, VO> {
    return new StreamJoined(this.keySerde, this.valueSerde, this.otherValueSerde, name, this.storeName);
  }

  withStoreName(storeName: string): StreamJoined<K, V, VO> {
    return new StreamJoined(this.keySerde, this.valueSerde, this.otherValueSerde, this.name, storeName);
  }
}

/**
 * One branch of `split()`: its name (appended to the split's prefix) and, optionally, what to do
 * with the branch's stream. `withFunction`'s result is what the branch map holds; `withConsumer`
 * branches are not in the map.
 *
 * @example
 * stream.split(Named.as('size-')).branch((k, v) => v.length > 10, Branched.as('long')).defaultBranch(Branched.as('short'));
 */
export class Branched<K, V> {
  private constructor(
    readonly name: string | undefined,
    readonly fn: ((stream: KStream<K, V>) => KStream<K, V>) | undefined,
    readonly consumer: ((stream: KStream<K, V>) => void) | undefined,
  ) {}

  static as<K = any, V = any>(name: string): Branched<K, V> {
    return new Branched<K, V>(name, undefined, undefined);
  }

  static withFunction<K, V>(fn: (stream: KStream<K, V>) => KStream<K, V>, name?: string): Branched<K, V> {
    return new Branched(name, fn, undefined);
  }

  static withConsumer<K, V>(consumer: (stream: KStream<K, V>) => void, name?: string): Branched<K, V> {
    return new Branched(name, undefined, consumer);
  }
}
