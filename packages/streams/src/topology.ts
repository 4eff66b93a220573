// Topology: the compiled form of a StreamsBuilder's graph, and the CompiledTopology a runtime runs.
// Sub-topologies are the graph's connected parts once repartition topics are cut: nodes linked as
// parent and child, or sharing a store, run in the same task (a join reads the other side's store,
// so both sides' sources land in one sub-topology and must be co-partitioned).

import type { RecordContext } from './config.ts';
import { StreamsException, TopologyException } from './errors.ts';
import { i64, readI64 } from './internal/bytes.ts';
import type { GraphNode, InternalBuilder, NodeContext, Processor, RepartitionTopicDef, StoreDef, StreamRecord, TaskRuntime } from './internal/graph.ts';
import { META_STREAM_TIME } from './internal/stores.ts';
import type { Serde } from './serdes.ts';
import type { CompiledTopology, GlobalStoreSpec, InputRecord, InternalTopicSpec, StateStore, StoreSpec, SubtopologySpec, Task, TaskContext, TopicRef } from './task.ts';

const refKey = (t: TopicRef) => `${t.internal ? 'i' : 'u'}:${t.name}`;

function dedupe(refs: TopicRef[]): TopicRef[] {
  const seen = new Map<string, TopicRef>();
  for (const r of refs) if (!seen.has(refKey(r))) seen.set(refKey(r), r);
  return [...seen.values()];
}

/**
 * A built topology: what `builder.build()` returns. It is the `CompiledTopology` runtimes run
 * (`compiled()` returns it too), and `describe()` prints it as Kafka Streams does.
 *
 * @example
 * const topology = builder.build();
 * console.log(topology.describe());
 * const driver = new TopologyTestDriver(topology);
 */
export class Topology implements CompiledTopology {
  readonly subtopologies: SubtopologySpec[];
  readonly stores: StoreSpec[];
  readonly globalStores: GlobalStoreSpec[];
  readonly internalTopics: InternalTopicSpec[];
  /** @internal Each sub-topology's nodes, in creation order. */
  readonly nodesOf: GraphNode[][];
  /** @internal */
  readonly storeDefs: ReadonlyMap<string, StoreDef>;
  /** @internal */
  readonly globalStoreDefs: ReadonlyArray<{ name: string; topic: string; keySerde: Serde<unknown>; valueSerde: Serde<unknown> }>;
  private readonly globalNodes: GraphNode[];
  private readonly text: string;

  /** @internal Made by `StreamsBuilder.build()`. */
  constructor(graph: InternalBuilder) {
    const nodes = [...graph.nodes];
    const local = nodes.filter((n) => !n.global);
    this.globalNodes = nodes.filter((n) => n.global);
    this.storeDefs = new Map(graph.stores);
    this.globalStoreDefs = [...graph.globalStores];

    // Union-find over the local nodes: parent-child edges and shared stores.
    const up = new Map<number, number>();
    const find = (i: number): number => {
      let r = i;
      while (up.get(r) !== r) r = up.get(r)!;
      up.set(i, r);
      return r;
    };
    const union = (a: number, b: number) => {
      const [ra, rb] = [find(a), find(b)];
      if (ra !== rb) up.set(Math.max(ra, rb), Math.min(ra, rb));
    };
    for (const n of local) up.set(n.index, n.index);
    const storeOwner = new Map<string, number>();
    for (const n of local) {
      for (const p of n.parents) if (!p.global) union(n.index, p.index);
      for (const s of n.stores) {
        const owner = storeOwner.get(s);
        if (owner === undefined) storeOwner.set(s, n.index);
        else union(n.index, owner);
      }
    }
    const groups = new Map<number, GraphNode[]>();
    for (const n of local) {
      const r = find(n.index);
      if (!groups.has(r)) groups.set(r, []);
      groups.get(r)!.push(n);
    }
    this.nodesOf = [...groups.values()].sort((a, b) => a[0]!.index - b[0]!.index);

    const repartition = new Map<string, RepartitionTopicDef>(graph.repartitionTopics);
    this.subtopologies = this.nodesOf.map((group, id) => {
      const sources = dedupe(group.flatMap((n) => n.source?.topics ?? []));
      const sinks = dedupe(group.flatMap((n) => [...(n.sink && n.sink !== 'dynamic' ? [n.sink] : []), ...n.sends]));
      return {
        id,
        sources,
        sinks,
        dynamicSinks: group.some((n) => n.sink === 'dynamic'),
        stores: [...new Set(group.flatMap((n) => n.stores))],
        globalStores: [...new Set(group.flatMap((n) => n.globalStores))],
        punctuates: group.some((n) => n.punctuates),
      };
    });
    for (const sub of this.subtopologies) checkCopartitioning(sub, repartition);

    this.stores = [];
    for (const sub of this.subtopologies) for (const s of sub.stores) this.stores.push({ name: s, kind: graph.stores.get(s)!.kind, subtopology: sub.id });
    this.globalStores = graph.globalStores.map((g) => ({ name: g.name, topic: g.topic }));
    this.internalTopics = [
      ...[...repartition.values()].map((r): InternalTopicSpec => ({ name: r.name, kind: 'repartition', partitions: r.partitions })),
      ...this.stores.map((s): InternalTopicSpec => ({ name: `${s.name}-changelog`, kind: 'changelog', partitions: null, store: s.name })),
      ...[...graph.lateRecordTopics].map((name): InternalTopicSpec => ({ name, kind: 'late-records', partitions: null })),
    ];
    this.text = this.render();
  }

  /** This topology, as the `CompiledTopology` a runtime takes. */
  compiled(): CompiledTopology {
    return this;
  }

  createTask(subtopology: number, context: TaskContext): Task {
    const spec = this.subtopologies[subtopology];
    const nodes = this.nodesOf[subtopology];
    if (!spec || !nodes) throw new StreamsException(`no sub-topology ${subtopology} (there are ${this.subtopologies.length})`);
    return new StreamTask(spec, nodes, context, this.storeDefs);
  }

  /** Kafka Streams' `Topology.describe()` text. */
  describe(): string {
    return this.text;
  }

  toString(): string {
    return this.text;
  }

  private render(): string {
    const lines = ['Topologies:'];
    const describeNodes = (group: GraphNode[]) => {
      const ordered = [...group.filter((n) => n.kind === 'source'), ...group.filter((n) => n.kind !== 'source')];
      for (const n of ordered) {
        if (n.kind === 'source') lines.push(`    Source: ${n.name} (topics: [${n.source!.topics.map((t) => t.name).join(', ')}])`);
        else if (n.kind === 'sink') lines.push(`    Sink: ${n.name} (${n.sink === 'dynamic' ? 'topic extractor' : `topic: ${n.sink!.name}`})`);
        else lines.push(`    Processor: ${n.name} (stores: [${n.stores.join(', ')}])`);
        if (n.kind !== 'sink') lines.push(`      --> ${n.children.length ? n.children.map((c) => c.name).join(', ') : 'none'}`);
        if (n.kind !== 'source') lines.push(`      <-- ${n.parents.map((p) => p.name).join(', ')}`);
      }
      lines.push('');
    };
    this.nodesOf.forEach((group, id) => {
      lines.push(`   Sub-topology: ${id}`);
      describeNodes(group);
    });
    let id = this.nodesOf.length;
    for (const source of this.globalNodes.filter((n) => n.kind === 'source')) {
      lines.push(`   Sub-topology: ${id++} for global store (will not generate tasks)`);
      describeNodes([source, ...source.children]);
    }
    return lines.join('\n');
  }
}

/**
 * The sources of one sub-topology are read together, partition by partition, so they must have the
 * same partition count. What can be known now: repartition topics with fixed counts must agree, and a
 * fixed count cannot be paired with a `repartition()` left to follow its writer. Repartition topics
 * the DSL inserted itself take the fixed count, as Kafka does.
 */
function checkCopartitioning(sub: SubtopologySpec, repartition: Map<string, RepartitionTopicDef>): void {
  if (sub.sources.length < 2) return;
  const defs = sub.sources.filter((s) => s.internal && repartition.has(s.name)).map((s) => repartition.get(s.name)!);
  const fixed = defs.filter((d) => d.partitions !== null);
  const counts = [...new Set(fixed.map((d) => d.partitions))];
  const all = sub.sources.map((s) => s.name).join(', ');
  if (counts.length > 1) {
    throw new TopologyException(
      `sub-topology ${sub.id} reads topics that must be co-partitioned (${all}), but their repartition topics have different partition counts: ${fixed.map((d) => `${d.name} (${d.partitions})`).join(', ')}`,
    );
  }
  if (counts.length === 0) return;
  const n = counts[0]!;
  const open = defs.filter((d) => d.partitions === null && d.origin === 'explicit');
  if (open.length) {
    throw new TopologyException(
      `sub-topology ${sub.id} reads topics that must be co-partitioned (${all}): ${fixed.map((d) => d.name).join(', ')} has ${n} partitions but ${open.map((d) => d.name).join(', ')} follows its writer's count; give it Repartitioned.numberOfPartitions(${n})`,
    );
  }
  for (const d of defs) if (d.partitions === null) repartition.set(d.name, { ...d, partitions: n });
}

/** One task: a sub-topology's processors for one partition, and its stream time. */
class StreamTask implements Task, TaskRuntime {
  readonly applicationId: string;
  readonly partition: number;
  streamTime = -1;
  recordContext: RecordContext;
  private readonly processors = new Map<string, Processor>();
  private readonly timed: Processor[] = [];
  private readonly sources = new Map<string, { node: GraphNode; processor: Processor }[]>();
  private readonly timeStores: StateStore[];
  private loaded = false;
  private persistedTime = -1;

  constructor(
    private readonly spec: SubtopologySpec,
    nodes: GraphNode[],
    private readonly context: TaskContext,
    storeDefs: ReadonlyMap<string, StoreDef>,
  ) {
    this.applicationId = context.applicationId;
    this.partition = context.partition;
    this.recordContext = { topic: null, partition: context.partition, offset: -1, timestamp: -1, headers: [] };
    this.timeStores = spec.stores.filter((s) => storeDefs.get(s)?.timeStore).map((s) => context.store(s));
    for (const node of nodes) {
      const ctx: NodeContext = {
        task: this,
        forward: async (r: StreamRecord) => {
          for (const child of node.children) await this.processors.get(child.name)!.process(r);
        },
        forwardTo: async (child: string, r: StreamRecord) => {
          const p = this.processors.get(child);
          if (!p) throw new StreamsException(`${node.name} has no child ${child}`);
          await p.process(r);
        },
      };
      const processor = node.create(ctx);
      this.processors.set(node.name, processor);
      if (processor.onTime) this.timed.push(processor);
      for (const t of node.source?.topics ?? []) {
        // The runtime names internal topics `<applicationId>-<name>`; the driver may use either.
        const names = t.internal ? [t.name, `${this.applicationId}-${t.name}`] : [t.name];
        for (const name of names) {
          if (!this.sources.has(name)) this.sources.set(name, []);
          this.sources.get(name)!.push({ node, processor });
        }
      }
    }
  }

  store(name: string): StateStore {
    return this.context.store(name);
  }

  globalStore(name: string) {
    return this.context.globalStore(name);
  }

  send(topic: TopicRef, record: Parameters<TaskContext['send']>[1]): void {
    this.context.send(topic, record);
  }

  count(metric: string, n?: number): void {
    this.context.count(metric, n);
  }

  private async load(): Promise<void> {
    if (this.loaded) return;
    for (const s of this.timeStores) {
      const raw = await s.get(META_STREAM_TIME);
      if (raw !== null) this.streamTime = Math.max(this.streamTime, readI64(raw, 0));
    }
    this.persistedTime = this.streamTime;
    this.loaded = true;
  }

  private async afterwards(): Promise<void> {
    for (const p of this.timed) await p.onTime!();
    if (this.streamTime !== this.persistedTime) {
      for (const s of this.timeStores) s.put(META_STREAM_TIME, i64(this.streamTime));
      this.persistedTime = this.streamTime;
    }
  }

  async process(input: InputRecord): Promise<void> {
    await this.load();
    const targets = this.sources.get(input.topic);
    if (!targets) throw new StreamsException(`sub-topology ${this.spec.id} does not read topic ${input.topic}`);
    if (input.timestamp > this.streamTime) this.streamTime = input.timestamp;
    this.recordContext = { topic: input.topic, partition: input.partition, offset: input.offset, timestamp: input.timestamp, headers: input.headers };
    for (const { node, processor } of targets) {
      const { keySerde, valueSerde } = node.source!;
      await processor.process({ key: keySerde.deserialize(input.topic, input.key), value: valueSerde.deserialize(input.topic, input.value), timestamp: input.timestamp, headers: input.headers });
    }
    await this.afterwards();
  }

  async punctuate(wallClockMs: number): Promise<void> {
    // Only sub-topologies that asked for it follow the clock: elsewhere, replaying old data must not
    // make it late.
    if (!this.spec.punctuates) return;
    await this.load();
    if (wallClockMs > this.streamTime) this.streamTime = wallClockMs;
    this.recordContext = { topic: null, partition: this.partition, offset: -1, timestamp: this.streamTime, headers: [] };
    await this.afterwards();
  }
}
