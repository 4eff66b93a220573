// Where a topology lives on one Floe: the real names of its internal topics and stores' tables, each
// topic's partition count, and the check that every sub-topology's sources are co-partitioned. Made
// once when an application starts: its internal topics and tables are created when missing.
import { FloeError, type Floe } from '../../../client/src/index.ts';
import type { CompiledTopology, SubtopologySpec, TopicRef } from '../task.ts';

export class StreamsConfigError extends Error {
  override name = 'StreamsConfigError';
}

export interface Layout {
  applicationId: string;
  topicName(ref: TopicRef): string;
  /** Partition count by real topic name. */
  partitions: Map<string, number>;
  /** Partition count of each sub-topology (its tasks). */
  tasks: Map<number, number>;
  /** The changelog topic and table of each store. */
  stores: Map<string, { changelog: string; table: string; subtopology: number }>;
  /** The table and source topic of each global store. */
  globals: Map<string, { table: string; topic: string }>;
}

/** Application ids name topics: Kafka's topic rules, leaving room for the suffixes. */
export function validateApplicationId(id: string): string {
  if (typeof id !== 'string' || !/^[a-zA-Z0-9._-]{1,120}$/.test(id)) {
    throw new StreamsConfigError(`applicationId must be 1 to 120 characters of [a-zA-Z0-9._-], not ${JSON.stringify(id)}`);
  }
  return id;
}

export function internalName(applicationId: string, name: string): string {
  return `${applicationId}-${name}`;
}

async function partitionCount(floe: Floe, topic: string): Promise<number | null> {
  try {
    const r = await floe.request<{ partitions: unknown[] }>('GET', `/topics/${encodeURIComponent(topic)}`, { retry: true });
    return r.partitions.length;
  } catch (e) {
    if (e instanceof FloeError && e.status === 404) return null;
    throw e;
  }
}

/** The real names and counts, without creating anything (what a Lambda cold start and `start()` share). */
export async function resolveLayout(floe: Floe, applicationId: string, topology: CompiledTopology, create: boolean): Promise<Layout> {
  validateApplicationId(applicationId);
  const topicName = (ref: TopicRef) => (ref.internal ? internalName(applicationId, ref.name) : ref.name);
  const partitions = new Map<string, number>();
  const userTopics = new Set<string>();
  for (const s of topology.subtopologies) for (const src of s.sources) if (!src.internal) userTopics.add(src.name);
  for (const g of topology.globalStores) userTopics.add(g.topic);
  for (const t of userTopics) {
    const n = await partitionCount(floe, t);
    if (n === null) throw new StreamsConfigError(`source topic '${t}' does not exist: create it before starting application '${applicationId}'`);
    partitions.set(t, n);
  }
  // Internal topics: a fixed count, or the count of the sub-topology that writes (or, for a changelog, owns) it.
  const internal = new Map(topology.internalTopics.map((t) => [t.name, t]));
  const tasks = new Map<number, number>();
  const countOf = (s: SubtopologySpec): number | null => {
    const counts = s.sources.map((src) => partitions.get(topicName(src)));
    if (counts.some((c) => c === undefined)) return null;
    return Math.max(...(counts as number[]));
  };
  for (let round = 0; round <= topology.subtopologies.length + 1; round++) {
    for (const s of topology.subtopologies) {
      const n = countOf(s);
      if (n !== null) tasks.set(s.id, n);
    }
    for (const t of internal.values()) {
      const real = internalName(applicationId, t.name);
      if (partitions.has(real)) continue;
      if (t.partitions !== null) {
        partitions.set(real, t.partitions);
        continue;
      }
      let owner: SubtopologySpec | undefined;
      if (t.kind === 'changelog') {
        const store = topology.stores.find((st) => st.name === t.store);
        owner = topology.subtopologies.find((s) => s.id === store?.subtopology);
      } else {
        owner = topology.subtopologies.find((s) => s.sinks.some((k) => k.internal && k.name === t.name));
      }
      const n = owner ? tasks.get(owner.id) : undefined;
      if (n !== undefined) partitions.set(real, n);
    }
  }
  for (const t of internal.values()) if (!partitions.has(internalName(applicationId, t.name))) throw new StreamsConfigError(`cannot tell how many partitions internal topic '${t.name}' needs`);
  for (const s of topology.subtopologies) {
    const counts = s.sources.map((src) => [topicName(src), partitions.get(topicName(src))!] as const);
    if (new Set(counts.map((c) => c[1])).size > 1) {
      throw new StreamsConfigError(`sub-topology ${s.id} reads topics that are not co-partitioned: ${counts.map(([n, c]) => `${n} (${c})`).join(', ')}; they need the same partition count (repartition one side)`);
    }
  }
  const stores = new Map(topology.stores.map((st) => [st.name, { changelog: internalName(applicationId, `${st.name}-changelog`), table: internalName(applicationId, st.name), subtopology: st.subtopology }]));
  for (const t of internal.values()) if (t.kind === 'changelog' && t.store && stores.has(t.store)) stores.get(t.store)!.changelog = internalName(applicationId, t.name);
  const globals = new Map(topology.globalStores.map((g) => [g.name, { table: internalName(applicationId, g.name), topic: g.topic }]));
  const layout: Layout = { applicationId, topicName, partitions, tasks, stores, globals };
  if (create) await createLayout(floe, topology, layout);
  return layout;
}

async function createLayout(floe: Floe, topology: CompiledTopology, layout: Layout): Promise<void> {
  const admin = floe.admin();
  for (const t of topology.internalTopics) {
    const name = internalName(layout.applicationId, t.name);
    const want = layout.partitions.get(name)!;
    const have = await partitionCount(floe, name);
    if (have === null) {
      await admin.createTopics({ topics: [{ topic: name, numPartitions: want, configEntries: t.kind === 'changelog' ? [{ name: 'cleanup.policy', value: 'compact' }] : [] }] });
    } else if (have !== want) {
      throw new StreamsConfigError(`internal topic '${name}' has ${have} partitions, but application '${layout.applicationId}' needs ${want}: delete it (and the application's state) or keep the source topics' counts`);
    }
  }
  const tables = [...[...layout.stores.values()].map((s) => ({ name: s.table, topic: s.changelog })), ...[...layout.globals.values()].map((g) => ({ name: g.table, topic: g.topic }))];
  for (const t of tables) {
    try {
      await floe.request('POST', '/floe/v1/tables', { body: { name: t.name, topic: t.topic }, retry: true });
    } catch (e) {
      if (!(e instanceof FloeError && e.status === 409)) throw e;
    }
  }
}
