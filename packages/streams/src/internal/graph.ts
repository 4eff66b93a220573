// The logical graph the DSL builds: named nodes (sources, processors, sinks) with their stores, and
// the factories that make a node's processor inside a task. `Topology` cuts this graph into
// sub-topologies; `StreamTask` instantiates one sub-topology's nodes. Records flow between processors
// typed (serdes run only at sources, sinks and stores), so values here are `unknown`.

import type { Header, RecordContext } from '../config.ts';
import { TopologyException } from '../errors.ts';
import type { Serde } from '../serdes.ts';
import type { GlobalStore, OutputRecord, StateStore, TopicRef } from '../task.ts';
import { concat, readU32, u32 } from './bytes.ts';

export interface StreamRecord {
  key: unknown;
  value: unknown;
  timestamp: number;
  headers: Header[];
}

/** A table update: the row's new value and the value it replaces (`null`: none). */
export class Change {
  constructor(
    readonly newValue: unknown,
    readonly oldValue: unknown,
  ) {}
}

/** What a processor sees of its task. */
export interface TaskRuntime {
  readonly applicationId: string;
  readonly partition: number;
  /** The largest timestamp the task has processed (or the clock it was punctuated with); -1 before any. */
  readonly streamTime: number;
  /** The input record being processed (or a punctuation's stand-in). */
  readonly recordContext: RecordContext;
  store(name: string): StateStore;
  globalStore(name: string): GlobalStore;
  send(topic: TopicRef, record: OutputRecord): void;
  count(metric: string, n?: number): void;
}

export interface NodeContext {
  readonly task: TaskRuntime;
  /** To every child, in the order they were added. */
  forward(record: StreamRecord): Promise<void>;
  forwardTo(child: string, record: StreamRecord): Promise<void>;
}

export interface Processor {
  process(record: StreamRecord): Promise<void>;
  /** After every input record and punctuation, in node order: emit what stream time has released. */
  onTime?(): Promise<void>;
}

export type ProcessorFactory = (ctx: NodeContext) => Processor;

export interface GraphNode {
  readonly name: string;
  /** Creation order: sub-topologies and `describe()` follow it. */
  readonly index: number;
  readonly kind: 'source' | 'processor' | 'sink';
  readonly parents: GraphNode[];
  readonly children: GraphNode[];
  readonly stores: string[];
  readonly globalStores: string[];
  /** A source's topics and how it reads them. */
  readonly source?: { topics: TopicRef[]; keySerde: Serde<unknown>; valueSerde: Serde<unknown> };
  /** A sink's topic (`dynamic`: chosen per record by an extractor). */
  readonly sink?: TopicRef | 'dynamic';
  /** Topics a processor sends to besides its sink (late records). */
  readonly sends: TopicRef[];
  /** A global table's nodes: described, never part of a task. */
  readonly global: boolean;
  /** Needs `punctuate` on the wall clock (suppression). */
  readonly punctuates: boolean;
  readonly create: ProcessorFactory;
}

export interface StoreDef {
  readonly name: string;
  readonly kind: 'kv' | 'window' | 'session';
  readonly keySerde: Serde<unknown>;
  readonly valueSerde: Serde<unknown>;
  /** Keeps a copy of the task's stream time (so time-based decisions survive restarts). */
  readonly timeStore: boolean;
  /** Laid out as a table, window or session store users can read; `false` for buffers. */
  readonly queryable: boolean;
  readonly windowSizeMs?: number;
}

export interface RepartitionTopicDef {
  readonly name: string;
  readonly partitions: number | null;
  /** `auto`: inserted by the DSL before a grouping or join; `explicit`: the user's `repartition()`. */
  readonly origin: 'auto' | 'explicit';
}

export interface NodeOptions {
  name: string;
  kind?: GraphNode['kind'];
  parents?: GraphNode[];
  stores?: string[];
  globalStores?: string[];
  source?: GraphNode['source'];
  sink?: GraphNode['sink'];
  sends?: TopicRef[];
  global?: boolean;
  punctuates?: boolean;
  create?: ProcessorFactory;
}

const passThrough: ProcessorFactory = (ctx) => ({ process: (r) => ctx.forward(r) });

/** Serialization of table changes through a repartition topic: flags, then the new value's length and bytes, then the old value's bytes. */
export function changeSerde(inner: Serde<unknown>): Serde<unknown> {
  return {
    serialize(topic, data) {
      if (data === null || data === undefined) return null;
      const c = data as Change;
      const n = c.newValue === null ? null : inner.serialize(topic, c.newValue);
      const o = c.oldValue === null ? null : inner.serialize(topic, c.oldValue);
      const flags = (n !== null ? 1 : 0) | (o !== null ? 2 : 0);
      return concat(Uint8Array.of(flags), u32(n?.length ?? 0), n ?? new Uint8Array(0), o ?? new Uint8Array(0));
    },
    deserialize(topic, data) {
      if (data === null) return null;
      const flags = data[0]!;
      const nLen = readU32(data, 1);
      const n = flags & 1 ? inner.deserialize(topic, data.subarray(5, 5 + nLen)) : null;
      const o = flags & 2 ? inner.deserialize(topic, data.subarray(5 + nLen)) : null;
      return new Change(n, o);
    },
  };
}

/** Everything `StreamsBuilder` has declared so far. */
export class InternalBuilder {
  readonly nodes: GraphNode[] = [];
  readonly stores = new Map<string, StoreDef>();
  readonly globalStores: Array<{ name: string; topic: string; keySerde: Serde<unknown>; valueSerde: Serde<unknown> }> = [];
  readonly repartitionTopics = new Map<string, RepartitionTopicDef>();
  readonly lateRecordTopics = new Set<string>();
  private readonly sourceTopics = new Set<string>();
  private readonly nodeNames = new Set<string>();
  private counter = 0;

  constructor(
    readonly defaultKeySerde: Serde<unknown>,
    readonly defaultValueSerde: Serde<unknown>,
  ) {}

  /** Kafka's generated names: the prefix and a 10-digit index shared by every generated name. */
  newName(prefix: string): string {
    return `${prefix}${String(this.counter++).padStart(10, '0')}`;
  }

  newStoreName(prefix: string): string {
    return `${prefix}STATE-STORE-${String(this.counter++).padStart(10, '0')}`;
  }

  registerSourceTopic(topic: string): void {
    if (this.sourceTopics.has(topic)) throw new TopologyException(`topic ${topic} is already read by another source (read it once and reuse the stream or table)`);
    this.sourceTopics.add(topic);
  }

  addNode(o: NodeOptions): GraphNode {
    if (this.nodeNames.has(o.name)) throw new TopologyException(`a processor named ${o.name} already exists`);
    this.nodeNames.add(o.name);
    const node: GraphNode = {
      name: o.name,
      index: this.nodes.length,
      kind: o.kind ?? 'processor',
      parents: [...(o.parents ?? [])],
      children: [],
      stores: o.stores ?? [],
      globalStores: o.globalStores ?? [],
      ...(o.source ? { source: o.source } : {}),
      ...(o.sink ? { sink: o.sink } : {}),
      sends: o.sends ?? [],
      global: o.global ?? false,
      punctuates: o.punctuates ?? false,
      create: o.create ?? passThrough,
    };
    for (const p of node.parents) p.children.push(node);
    this.nodes.push(node);
    return node;
  }

  addStore(def: StoreDef): void {
    if (this.stores.has(def.name) || this.globalStores.some((g) => g.name === def.name)) throw new TopologyException(`a store named ${def.name} already exists`);
    this.stores.set(def.name, def);
  }

  addSink(
    name: string,
    parent: GraphNode,
    target: TopicRef | ((key: unknown, value: unknown, context: RecordContext) => string),
    keySerde: Serde<unknown>,
    valueSerde: Serde<unknown>,
  ): GraphNode {
    return this.addNode({
      name,
      kind: 'sink',
      parents: [parent],
      sink: typeof target === 'function' ? 'dynamic' : target,
      create: (ctx) => ({
        async process(r) {
          const topic: TopicRef = typeof target === 'function' ? { name: target(r.key, r.value, ctx.task.recordContext), internal: false } : target;
          ctx.task.send(topic, { key: keySerde.serialize(topic.name, r.key), value: valueSerde.serialize(topic.name, r.value), timestamp: r.timestamp, headers: r.headers });
        },
      }),
    });
  }

  /**
   * Routes `parent`'s records through the internal topic `<base>-repartition` (records without a key
   * are dropped: they cannot be partitioned) and returns the node reading it back.
   */
  repartition(parent: GraphNode, base: string, keySerde: Serde<unknown>, valueSerde: Serde<unknown>, partitions: number | null, origin: RepartitionTopicDef['origin']): GraphNode {
    const topic = `${base}-repartition`;
    if (this.repartitionTopics.has(topic)) throw new TopologyException(`the repartition topic ${topic} already exists: name the operation differently`);
    if (partitions !== null && !(Number.isInteger(partitions) && partitions > 0)) throw new TopologyException(`${topic}: a partition count must be a positive integer, got ${partitions}`);
    this.repartitionTopics.set(topic, { name: topic, partitions, origin });
    const ref: TopicRef = { name: topic, internal: true };
    const filter = this.addNode({
      name: `${topic}-filter`,
      parents: [parent],
      create: (ctx) => ({ process: async (r) => (r.key === null || r.key === undefined ? undefined : ctx.forward(r)) }),
    });
    this.addSink(`${topic}-sink`, filter, ref, keySerde, valueSerde);
    return this.addNode({ name: `${topic}-source`, kind: 'source', source: { topics: [ref], keySerde, valueSerde } });
  }
}
