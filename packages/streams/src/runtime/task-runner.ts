// One task (a sub-topology on one partition) on Floe: it opens (initializing its transactional id,
// which fences any older instance of the same task, then reading where its group stands and the tail
// of each store's changelog the table has not applied), processes batches, and commits each batch as
// one Floe transaction: the records it sent, its stores' changes (to their changelogs) and the offsets
// after the batch, to the group named after the application. A batch that fails is aborted and
// forgotten (the stores drop its writes), so the task goes on from the last commit.
import { FloeError, partitionForKey, ProducerFencedError, type Floe, type Message, type Producer } from '../../../client/src/index.ts';
import type { CompiledTopology, GlobalStore, InputRecord, OutputRecord, StateStore, SubtopologySpec, Task, TaskContext, TopicRef } from '../task.ts';
import { b64, unb64 } from './bytes.ts';
import type { Layout } from './layout.ts';
import { RemoteStateStore, type StoreCalls } from './store.ts';

export type ProcessingGuarantee = 'exactly_once' | 'at_least_once';

export interface RunnerDeps {
  floe: Floe;
  topology: CompiledTopology;
  layout: Layout;
  guarantee: ProcessingGuarantee;
  /** Entries a store keeps in memory before it frees what its table already holds. */
  maxCachedEntries?: number;
  metrics: Map<string, number>;
  calls: StoreCalls & { commits: number; fetches: number };
}

/** A task lost its transactional id to a newer instance of itself: it must stop, never commit. */
export class TaskFencedError extends Error {
  override name = 'TaskFencedError';
}

interface WireRecord {
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Array<{ key: string; value: string | null }>;
}

export function inputOf(topic: string, partition: number, r: WireRecord): InputRecord {
  return { topic, partition, offset: r.offset, timestamp: r.timestamp, key: unb64(r.key), value: unb64(r.value), headers: r.headers.map((h) => ({ key: h.key, value: unb64(h.value) })) };
}

/** Records of several source partitions in Kafka's order: the head with the smallest timestamp first. */
export function byTimestamp(lists: InputRecord[][]): InputRecord[] {
  const heads = lists.map(() => 0);
  const out: InputRecord[] = [];
  for (;;) {
    let best = -1;
    for (let i = 0; i < lists.length; i++) {
      const r = lists[i]![heads[i]!];
      if (r && (best < 0 || r.timestamp < lists[best]![heads[best]!]!.timestamp)) best = i;
    }
    if (best < 0) return out;
    out.push(lists[best]![heads[best]!++]!);
  }
}

export class TaskRunner {
  readonly sources: string[];
  /** The next offset to process, per source topic. */
  readonly positions = new Map<string, number>();
  private producer?: Producer;
  /** At least once: outputs go through this idempotent producer, outside the transaction that moves the offsets. */
  private plain?: Producer;
  private task?: Task;
  private stores = new Map<string, RemoteStateStore>();
  private outputs: Array<{ topic: string; record: OutputRecord }> = [];
  private globalCache = new Map<string, Uint8Array | null>();
  private opened = false;

  constructor(
    private readonly deps: RunnerDeps,
    readonly sub: SubtopologySpec,
    readonly partition: number,
  ) {
    this.sources = sub.sources.map((s) => deps.layout.topicName(s));
  }

  get transactionalId(): string {
    return `${this.deps.layout.applicationId}-${this.sub.id}_${this.partition}`;
  }

  get group(): string {
    return this.deps.layout.applicationId;
  }

  /** Fences older instances, reads positions and restores the stores' tails. */
  async open(): Promise<void> {
    const { floe, layout, guarantee } = this.deps;
    this.producer = floe.producer({ transactionalId: this.transactionalId, lingerMs: 0 });
    await this.producer.connect();
    if (guarantee === 'at_least_once') {
      this.plain = floe.producer({ idempotent: true, lingerMs: 0 });
      await this.plain.connect();
    }
    const committed = await floe.admin().fetchOffsets({ groupId: this.group, topics: this.sources });
    for (const t of committed) {
      const p = t.partitions.find((x) => x.partition === this.partition);
      let next = p && p.offset !== '-1' ? Number(p.offset) : -1;
      if (next < 0) next = (await this.offsets(t.topic)).log_start_offset;
      this.positions.set(t.topic, next);
    }
    this.stores.clear();
    for (const name of this.sub.stores) {
      const s = layout.stores.get(name)!;
      const store = new RemoteStateStore(floe, name, s.table, this.partition, this.deps.calls);
      await this.restore(store, s.changelog, s.table);
      this.stores.set(name, store);
    }
    this.task = this.deps.topology.createTask(this.sub.id, this.context());
    this.opened = true;
  }

  private async offsets(topic: string): Promise<{ log_start_offset: number; high_watermark: number }> {
    return this.deps.floe.request('GET', `/floe/v1/topics/${encodeURIComponent(topic)}/partitions/${this.partition}/offsets`, { retry: true });
  }

  /** The changelog's records past what the table has applied: the task reads them before the table has them. */
  private async restore(store: RemoteStateStore, changelog: string, table: string): Promise<void> {
    const d = await this.deps.floe.request<{ partitions: Array<{ partition: number; applied_offset: number }> }>('GET', `/floe/v1/tables/${encodeURIComponent(table)}`, { retry: true });
    let next = d.partitions.find((p) => p.partition === this.partition)?.applied_offset ?? 0;
    const end = (await this.offsets(changelog)).high_watermark;
    while (next < end) {
      const r = await this.fetch(changelog, next, 0, 10_000);
      for (const rec of r.records) store.restore(unb64(rec.key)!, unb64(rec.value));
      if (r.next_offset <= next) break;
      next = r.next_offset;
    }
  }

  async fetch(topic: string, offset: number, waitMs: number, maxRecords: number): Promise<{ records: WireRecord[]; next_offset: number; high_watermark: number }> {
    this.deps.calls.fetches++;
    return this.deps.floe.request('GET', `/floe/v1/topics/${encodeURIComponent(topic)}/partitions/${this.partition}/records`, {
      query: { offset, timeout: waitMs, max_records: maxRecords, isolation_level: 'read_committed', max_bytes: 8 * 1024 * 1024 },
      retry: true,
    });
  }

  private context(): TaskContext {
    const deps = this.deps;
    return {
      applicationId: deps.layout.applicationId,
      subtopology: this.sub.id,
      partition: this.partition,
      store: (name: string): StateStore => {
        const s = this.stores.get(name);
        if (!s) throw new Error(`sub-topology ${this.sub.id} has no store '${name}'`);
        return s;
      },
      globalStore: (name: string): GlobalStore => this.global(name),
      send: (topic: TopicRef, record: OutputRecord) => this.outputs.push({ topic: deps.layout.topicName(topic), record }),
      count: (metric: string, n = 1) => deps.metrics.set(metric, (deps.metrics.get(metric) ?? 0) + n),
    };
  }

  private global(name: string): GlobalStore {
    const g = this.deps.layout.globals.get(name);
    if (!g) throw new Error(`no global store '${name}'`);
    const count = this.deps.layout.partitions.get(g.topic)!;
    return {
      name,
      get: async (key: Uint8Array) => {
        const id = `${name}\u0000${b64(key)}`;
        if (this.globalCache.has(id)) return this.globalCache.get(id)!;
        this.deps.calls.lookups++;
        const r = await this.deps.floe.request<{ entries: Array<{ value: string | null }> }>('POST', `/floe/v1/tables/${encodeURIComponent(g.table)}/partitions/${partitionForKey(key, count)}/lookup`, {
          body: { keys: [b64(key)] },
          retry: true,
        });
        const v = unb64(r.entries[0]?.value);
        this.globalCache.set(id, v);
        return v;
      },
    };
  }

  /**
   * Processes records of this task's partitions (any of its sources, each source's in offset order),
   * skipping what a commit already covers, then commits. `ends` moves positions past offsets a fetch
   * stepped over with no record to give (transaction markers), so the group's lag reaches 0. Returns
   * how many were processed.
   */
  async process(records: InputRecord[], ends?: Map<string, number>): Promise<number> {
    if (!this.opened) await this.open();
    this.globalCache.clear();
    const fresh = records.filter((r) => r.offset >= (this.positions.get(r.topic) ?? Infinity));
    const next = new Map(this.positions);
    try {
      await this.prefetch(fresh);
      for (const r of fresh) {
        await this.task!.process(r);
        next.set(r.topic, r.offset + 1);
      }
      for (const [t, end] of ends ?? []) if (end > (next.get(t) ?? Infinity)) next.set(t, end);
      await this.commit(next);
    } catch (e) {
      await this.fail();
      throw e;
    }
    return fresh.length;
  }

  /** Runs the task's scheduled work (windows closing on the wall clock) and commits what it sent. */
  async punctuate(now: number): Promise<void> {
    if (!this.opened) await this.open();
    if (!this.sub.punctuates) return;
    try {
      await this.task!.punctuate(now);
      await this.commit(new Map(this.positions));
    } catch (e) {
      await this.fail();
      throw e;
    }
  }

  /** Key-value stores are mostly read by the record's key: one bulk read per store for the whole batch. */
  private async prefetch(records: InputRecord[]): Promise<void> {
    const keys = records.map((r) => r.key).filter((k): k is Uint8Array => k !== null);
    if (keys.length === 0) return;
    for (const [name, store] of this.stores) {
      if (this.deps.topology.stores.find((s) => s.name === name)?.kind === 'kv') await store.getMany(keys);
    }
  }

  private changed(next: Map<string, number>): boolean {
    for (const [t, o] of next) if (this.positions.get(t) !== o) return true;
    return false;
  }

  private async commit(next: Map<string, number>): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    const add = (topic: string, m: Message) => {
      let list = byTopic.get(topic);
      if (!list) byTopic.set(topic, (list = []));
      list.push(m);
    };
    for (const { topic, record } of this.outputs) {
      add(topic, {
        key: record.key === null ? null : Buffer.from(record.key),
        value: record.value === null ? null : Buffer.from(record.value),
        timestamp: record.timestamp,
        ...(record.partition !== undefined ? { partition: record.partition } : {}),
        ...(record.headers?.length ? { headers: Object.fromEntries(record.headers.map((h) => [h.key, h.value === null ? null : Buffer.from(h.value)])) } : {}),
      });
    }
    const now = Date.now();
    for (const [name, store] of this.stores) {
      const changelog = this.deps.layout.stores.get(name)!.changelog;
      for (const [k, v] of store.writes()) add(changelog, { key: Buffer.from(k), value: v === null ? null : Buffer.from(v), partition: this.partition, timestamp: now });
    }
    const offsets = [...next].filter(([t, o]) => this.positions.get(t) !== o).map(([topic, offset]) => ({ topic, partitions: [{ partition: this.partition, offset: String(offset) }] }));
    if (byTopic.size === 0 && !this.changed(next)) return;
    const producer = this.producer!;
    this.deps.calls.commits++;
    // At least once: outputs and changelogs first, then the offsets (a crash between them repeats the batch).
    if (this.deps.guarantee === 'at_least_once') await Promise.all([...byTopic].map(([topic, messages]) => this.plain!.send({ topic, messages })));
    const txn = await producer.transaction();
    try {
      if (this.deps.guarantee === 'exactly_once') for (const [topic, messages] of byTopic) await txn.send({ topic, messages });
      if (offsets.length) await txn.sendOffsets({ consumerGroupId: this.group, topics: offsets });
      await txn.commit();
    } catch (e) {
      if (txn.isActive()) await txn.abort().catch(() => undefined);
      if (e instanceof ProducerFencedError) throw new TaskFencedError(`task ${this.sub.id}_${this.partition} of '${this.group}' was fenced by a newer instance: ${e.message}`);
      throw e;
    }
    this.outputs = [];
    for (const s of this.stores.values()) s.committed();
    for (const [t, o] of next) this.positions.set(t, o);
    await this.bound();
  }

  /** Keeps memory bounded: past the limit, frees the stores' entries the tables have (waiting for them to catch up). */
  private async bound(): Promise<void> {
    const max = this.deps.maxCachedEntries ?? 200_000;
    for (const [name, store] of this.stores) {
      if (store.size <= max) continue;
      store.trim();
      if (store.size <= max / 2) continue;
      const s = this.deps.layout.stores.get(name)!;
      const end = (await this.offsets(s.changelog)).high_watermark;
      for (let i = 0; i < 600; i++) {
        const d = await this.deps.floe.request<{ partitions: Array<{ partition: number; applied_offset: number }> }>('GET', `/floe/v1/tables/${encodeURIComponent(s.table)}`, { retry: true });
        if ((d.partitions.find((p) => p.partition === this.partition)?.applied_offset ?? 0) >= end) {
          store.settled();
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** A failed batch: its sends and writes are dropped; the next batch reopens (reading positions and state anew). */
  private async fail(): Promise<void> {
    this.outputs = [];
    for (const s of this.stores.values()) s.rollback();
    this.opened = false;
    await this.producer?.disconnect().catch(() => undefined);
    await this.plain?.disconnect().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.opened = false;
    await this.producer?.disconnect().catch(() => undefined);
    await this.plain?.disconnect().catch(() => undefined);
  }
}

export function isRetriable(e: unknown): boolean {
  return e instanceof FloeError && e.retriable;
}
