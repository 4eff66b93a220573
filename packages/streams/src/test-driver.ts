// TopologyTestDriver: runs a topology in memory, deterministically, like Kafka's. One partition (0)
// per topic and one task per sub-topology; every record a task sends to an internal topic (or to a
// user topic the topology also reads) is processed before `pipeInput` resolves, in the order sent.
// Tasks run through the same byte interfaces as in the real runtime: records are serialized into the
// driver, stores hold bytes, and outputs are deserialized by the output topic's serdes.

import { KeyValue, type Header, type KeyValueLike } from './config.ts';
import { compareBytes, fromHex, hex } from './internal/bytes.ts';
import type { StoreDef } from './internal/graph.ts';
import { changelogTopic, decodeTimestamped, isMetaKey, keyBytesOf, keyPrefix, parseSessionKey, parseWindowKey, prefixRange } from './internal/stores.ts';
import { Window, Windowed, type Serde } from './serdes.ts';
import type { GlobalStore, InputRecord, OutputRecord, StateStore, Task, TopicRef } from './task.ts';
import type { Topology } from './topology.ts';

/** A record as piped in or read out. */
export interface TestRecord<K, V> {
  key: K;
  value: V;
  timestamp?: number;
  headers?: Header[];
}

export interface TopologyTestDriverOptions {
  /** Prefix of internal topics' names as the runtime would make them. Default `topology-test-driver`. */
  applicationId?: string;
  /** The wall clock's start, for `advanceWallClockTime` and input topics without a start time. Default 0. */
  initialWallClockTimeMs?: number;
}

export interface InputTopicOptions {
  /** The timestamp of the first record piped without one (default: the driver's initial wall clock). */
  startTimestampMs?: number;
  /** How much the next default timestamp advances after each record (default 0). */
  autoAdvanceMs?: number;
}

/** A store's bytes, ordered: keys are kept as lowercase hex, whose string order is the byte order. */
class MemoryStore implements StateStore, GlobalStore {
  private readonly data = new Map<string, Uint8Array>();
  private sorted: string[] | null = null;

  constructor(readonly name: string) {}

  async get(key: Uint8Array): Promise<Uint8Array | null> {
    return this.getSync(key);
  }

  getSync(key: Uint8Array): Uint8Array | null {
    return this.data.get(hex(key)) ?? null;
  }

  async getMany(keys: Uint8Array[]): Promise<Array<Uint8Array | null>> {
    return keys.map((k) => this.getSync(k));
  }

  put(key: Uint8Array, value: Uint8Array | null): void {
    const h = hex(key);
    if (value === null) {
      if (this.data.delete(h)) this.sorted = null;
      return;
    }
    if (!this.data.has(h)) this.sorted = null;
    this.data.set(h, value.slice());
  }

  async range(from: Uint8Array | null, to: Uint8Array | null): Promise<Array<[Uint8Array, Uint8Array]>> {
    return this.rangeSync(from, to);
  }

  rangeSync(from: Uint8Array | null, to: Uint8Array | null): Array<[Uint8Array, Uint8Array]> {
    this.sorted ??= [...this.data.keys()].sort();
    const out: Array<[Uint8Array, Uint8Array]> = [];
    for (const h of this.sorted) {
      const key = fromHex(h);
      if (from && compareBytes(key, from) < 0) continue;
      if (to && compareBytes(key, to) >= 0) break;
      out.push([key, this.data.get(h)!]);
    }
    return out;
  }
}

/** A table store, read typed, as `driver.getKeyValueStore` gives it. */
export interface ReadOnlyKeyValueStore<K, V> {
  get(key: K): V | null;
  /** Every row, in key byte order. */
  all(): Array<KeyValue<K, V>>;
  approximateNumEntries(): number;
}

/** A time-window store, read typed. */
export interface ReadOnlyWindowStore<K, V> {
  /** The key's windows starting in `[timeFrom, timeTo]`, as (window start, value). */
  fetch(key: K, timeFrom: number, timeTo: number): Array<KeyValue<number, V>>;
  fetchWindow(key: K, windowStart: number): V | null;
  all(): Array<KeyValue<Windowed<K>, V>>;
}

/** A session store, read typed. */
export interface ReadOnlySessionStore<K, V> {
  /** The key's sessions, by end. */
  fetch(key: K): Array<KeyValue<Windowed<K>, V>>;
  all(): Array<KeyValue<Windowed<K>, V>>;
}

/**
 * Runs a topology in memory, as Kafka Streams' `TopologyTestDriver` does: pipe records into input
 * topics, read what the topology wrote from output topics, inspect its stores, move the wall clock.
 *
 * @example
 * const driver = new TopologyTestDriver(builder.build());
 * const input = driver.createInputTopic('text', Serdes.String(), Serdes.String());
 * const output = driver.createOutputTopic('counts', Serdes.String(), Serdes.Long());
 * await input.pipeInput(null, 'hello hello');
 * output.readKeyValuesToMap(); // Map { 'hello' => 2 }
 */
export class TopologyTestDriver {
  readonly applicationId: string;
  private wallClock: number;
  private readonly tasks: Task[] = [];
  private readonly stores = new Map<string, MemoryStore>();
  private readonly globals = new Map<string, MemoryStore>();
  private readonly globalByTopic = new Map<string, MemoryStore>();
  private readonly readers = new Map<string, number[]>();
  private readonly outputs = new Map<string, OutputRecord[]>();
  private readonly offsets = new Map<string, number>();
  private readonly counters = new Map<string, number>();
  private readonly pending: Array<{ topic: TopicRef; record: OutputRecord }> = [];
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly topology: Topology,
    options: TopologyTestDriverOptions = {},
  ) {
    this.applicationId = options.applicationId ?? 'topology-test-driver';
    this.wallClock = options.initialWallClockTimeMs ?? 0;
    for (const s of topology.stores) this.stores.set(s.name, new MemoryStore(s.name));
    for (const g of topology.globalStores) {
      const store = new MemoryStore(g.name);
      this.globals.set(g.name, store);
      this.globalByTopic.set(g.topic, store);
    }
    for (const sub of topology.subtopologies) {
      for (const src of sub.sources) {
        const key = this.refKey(src);
        if (!this.readers.has(key)) this.readers.set(key, []);
        this.readers.get(key)!.push(sub.id);
      }
      this.tasks[sub.id] = topology.createTask(sub.id, {
        applicationId: this.applicationId,
        subtopology: sub.id,
        partition: 0,
        store: (name) => {
          const s = this.stores.get(name);
          if (!s || !sub.stores.includes(name)) throw new Error(`sub-topology ${sub.id} has no store ${name}`);
          return s;
        },
        globalStore: (name) => {
          const s = this.globals.get(name);
          if (!s) throw new Error(`no global store ${name}`);
          return s;
        },
        send: (topic, record) => {
          if (!topic.internal && !sub.dynamicSinks && !sub.sinks.some((t) => t.name === topic.name && !t.internal)) throw new Error(`sub-topology ${sub.id} sent to ${topic.name}, which is not among its sinks`);
          this.pending.push({ topic, record });
        },
        count: (metric, n = 1) => this.counters.set(metric, (this.counters.get(metric) ?? 0) + n),
      });
    }
  }

  private refKey(t: TopicRef): string {
    return `${t.internal ? 'i' : 'u'}:${t.name}`;
  }

  /** Runs `fn` after everything already piped: calls that were not awaited still run in order. */
  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the driver is closed'));
    const next = this.chain.then(fn).catch((e: unknown) => {
      // A failed record's outputs are not committed (its store writes, unlike a runtime's, stay).
      this.pending.length = 0;
      throw e;
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async deliver(topic: TopicRef, record: OutputRecord): Promise<void> {
    const key = this.refKey(topic);
    const offset = this.offsets.get(key) ?? 0;
    this.offsets.set(key, offset + 1);
    const input: InputRecord = { topic: topic.name, partition: 0, offset, timestamp: record.timestamp, key: record.key, value: record.value, headers: record.headers ?? [] };
    for (const sub of this.readers.get(key) ?? []) await this.tasks[sub]!.process(input);
  }

  private async drain(): Promise<void> {
    while (this.pending.length) {
      const { topic, record } = this.pending.shift()!;
      if (!topic.internal) {
        if (!this.outputs.has(topic.name)) this.outputs.set(topic.name, []);
        this.outputs.get(topic.name)!.push(record);
        this.globalByTopic.get(topic.name)?.put(record.key ?? new Uint8Array(0), record.value);
      }
      await this.deliver(topic, record);
    }
  }

  /** @internal Used by TestInputTopic. */
  pipe(topic: string, record: OutputRecord): Promise<void> {
    return this.serialized(async () => {
      const global = this.globalByTopic.get(topic);
      const ref: TopicRef = { name: topic, internal: false };
      if (global) {
        if (record.key === null) throw new Error(`a global table's record needs a key (topic ${topic})`);
        global.put(record.key, record.value);
      } else if (!this.readers.has(this.refKey(ref))) {
        throw new Error(`Unknown topic: ${topic} (the topology reads ${[...this.readers.keys()].filter((k) => k.startsWith('u:')).map((k) => k.slice(2)).join(', ') || 'no user topic'})`);
      }
      await this.deliver(ref, record);
      await this.drain();
    });
  }

  /** @internal Used by TestOutputTopic. */
  queue(topic: string): OutputRecord[] {
    if (!this.outputs.has(topic)) this.outputs.set(topic, []);
    return this.outputs.get(topic)!;
  }

  /**
   * An input topic to pipe typed records into.
   *
   * @example
   * const input = driver.createInputTopic('orders', Serdes.String(), Serdes.Json<Order>(), { startTimestampMs: 1000, autoAdvanceMs: 10 });
   */
  createInputTopic<K, V>(topic: string, keySerde: Serde<K>, valueSerde: Serde<V>, options: InputTopicOptions = {}): TestInputTopic<K, V> {
    return new TestInputTopic(this, topic, keySerde, valueSerde, options.startTimestampMs ?? this.wallClock, options.autoAdvanceMs ?? 0);
  }

  /**
   * An output topic to read what the topology wrote (records are read once, in order).
   *
   * @example
   * const out = driver.createOutputTopic('counts', Serdes.String(), Serdes.Long());
   */
  createOutputTopic<K, V>(topic: string, keySerde: Serde<K>, valueSerde: Serde<V>): TestOutputTopic<K, V> {
    return new TestOutputTopic(this, topic, keySerde, valueSerde);
  }

  private storeDef(name: string, kind: StoreDef['kind']): { def: StoreDef; store: MemoryStore } {
    const def = this.topology.storeDefs.get(name);
    const store = this.stores.get(name);
    if (!def || !store) throw new Error(`no store ${name} (stores: ${[...this.topology.storeDefs.keys()].join(', ')})`);
    if (!def.queryable || def.kind !== kind) throw new Error(`store ${name} is not a ${kind === 'kv' ? 'key-value' : kind} store users can read`);
    return { def, store };
  }

  /**
   * A table store (a table's, an aggregation's), or a global table's, read typed.
   *
   * @example
   * driver.getKeyValueStore<string, number>('counts-store').get('hello'); // 2
   */
  getKeyValueStore<K, V>(name: string): ReadOnlyKeyValueStore<K, V> {
    const global = this.globals.get(name);
    if (global) {
      const g = this.topology.globalStoreDefs.find((d) => d.name === name)!;
      const read = (v: Uint8Array) => g.valueSerde.deserialize(g.topic, v) as V;
      return {
        get: (key) => {
          const raw = global.getSync(keyBytesOf(g.keySerde, g.topic, key));
          return raw === null ? null : read(raw);
        },
        all: () => global.rangeSync(null, null).map(([k, v]) => KeyValue.pair(g.keySerde.deserialize(g.topic, k) as K, read(v))),
        approximateNumEntries: () => global.rangeSync(null, null).length,
      };
    }
    const { def, store } = this.storeDef(name, 'kv');
    const topic = changelogTopic(name);
    const read = (v: Uint8Array) => def.valueSerde.deserialize(topic, decodeTimestamped(v).bytes) as V;
    return {
      get: (key) => {
        const raw = store.getSync(keyBytesOf(def.keySerde, topic, key));
        return raw === null ? null : read(raw);
      },
      all: () => store.rangeSync(null, null).map(([k, v]) => KeyValue.pair(def.keySerde.deserialize(topic, k) as K, read(v))),
      approximateNumEntries: () => store.rangeSync(null, null).length,
    };
  }

  /**
   * A time-windowed aggregation's store, read typed.
   *
   * @example
   * driver.getWindowStore<string, number>('clicks-per-minute').fetch('alice', 0, 60_000);
   */
  getWindowStore<K, V>(name: string): ReadOnlyWindowStore<K, V> {
    const { def, store } = this.storeDef(name, 'window');
    const topic = changelogTopic(name);
    const size = def.windowSizeMs ?? 0;
    const entries = (from: Uint8Array | null, to: Uint8Array | null) =>
      store
        .rangeSync(from, to)
        .filter(([k]) => !isMetaKey(k))
        .map(([k, v]) => {
          const { key, start } = parseWindowKey(k);
          return { key, start, value: def.valueSerde.deserialize(topic, decodeTimestamped(v).bytes) as V };
        });
    return {
      fetch: (key, timeFrom, timeTo) => {
        const [from, to] = prefixRange(keyPrefix(keyBytesOf(def.keySerde, topic, key)));
        return entries(from, to)
          .filter((e) => e.start >= timeFrom && e.start <= timeTo)
          .map((e) => KeyValue.pair(e.start, e.value));
      },
      fetchWindow: (key, windowStart) => {
        const [from, to] = prefixRange(keyPrefix(keyBytesOf(def.keySerde, topic, key)));
        return entries(from, to).find((e) => e.start === windowStart)?.value ?? null;
      },
      all: () => entries(null, null).map((e) => KeyValue.pair(new Windowed(def.keySerde.deserialize(topic, e.key) as K, new Window(e.start, e.start + size)), e.value)),
    };
  }

  /**
   * A session aggregation's store, read typed.
   *
   * @example
   * driver.getSessionStore<string, number>('sessions').fetch('alice');
   */
  getSessionStore<K, V>(name: string): ReadOnlySessionStore<K, V> {
    const { def, store } = this.storeDef(name, 'session');
    const topic = changelogTopic(name);
    const entries = (from: Uint8Array | null, to: Uint8Array | null) =>
      store
        .rangeSync(from, to)
        .filter(([k]) => !isMetaKey(k))
        .map(([k, v]) => {
          const { key, start, end } = parseSessionKey(k);
          return KeyValue.pair(new Windowed(def.keySerde.deserialize(topic, key) as K, new Window(start, end)), def.valueSerde.deserialize(topic, decodeTimestamped(v).bytes) as V);
        });
    return {
      fetch: (key) => {
        const [from, to] = prefixRange(keyPrefix(keyBytesOf(def.keySerde, topic, key)));
        return entries(from, to);
      },
      all: () => entries(null, null),
    };
  }

  /**
   * Moves the wall clock and punctuates every task with it: suppressed windows the clock has closed
   * are emitted even if no record arrives.
   *
   * @example
   * await driver.advanceWallClockTime(60_000);
   */
  advanceWallClockTime(ms: number): Promise<void> {
    return this.serialized(async () => {
      this.wallClock += ms;
      for (const task of this.tasks) {
        await task.punctuate(this.wallClock);
        await this.drain();
      }
    });
  }

  /** The wall clock, in epoch ms. */
  get wallClockTimeMs(): number {
    return this.wallClock;
  }

  /**
   * What the topology counted (e.g. `dropped-late-records`), summed over tasks.
   *
   * @example
   * driver.metrics()['dropped-late-records']; // 1
   */
  metrics(): Record<string, number> {
    return Object.fromEntries(this.counters);
  }

  /** One counter (0 if never counted). */
  metric(name: string): number {
    return this.counters.get(name) ?? 0;
  }

  /** Waits for what was piped, then refuses further input. */
  async close(): Promise<void> {
    await this.chain;
    this.closed = true;
  }
}

/**
 * Pipes typed records into a topic. Records without a timestamp get the topic's current time, which
 * then moves by `autoAdvanceMs`; `advanceTime` moves it by hand.
 *
 * @example
 * await input.pipeInput('alice', 'hello', 1_000);
 * await input.pipeKeyValueList([KeyValue.pair('a', 'x'), ['b', 'y']]);
 */
export class TestInputTopic<K, V> {
  private currentTime: number;

  /** @internal Made by `driver.createInputTopic`. */
  constructor(
    private readonly driver: TopologyTestDriver,
    readonly topic: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    startTimestampMs: number,
    private readonly autoAdvanceMs: number,
  ) {
    this.currentTime = startTimestampMs;
  }

  private nextTimestamp(explicit: number | undefined): number {
    if (explicit !== undefined) return explicit;
    const t = this.currentTime;
    this.currentTime += this.autoAdvanceMs;
    return t;
  }

  /** Moves the time of records piped without a timestamp. */
  advanceTime(ms: number): void {
    this.currentTime += ms;
  }

  /** One record; `timestamp` defaults to the topic's current time. */
  pipeInput(key: K | null, value: V | null, timestamp?: number): Promise<void> {
    return this.pipeRecord({ key, value, ...(timestamp === undefined ? {} : { timestamp }) });
  }

  /** One record without a key. */
  pipeValue(value: V | null, timestamp?: number): Promise<void> {
    return this.pipeInput(null, value, timestamp);
  }

  pipeRecord(record: TestRecord<K | null, V | null>): Promise<void> {
    const timestamp = this.nextTimestamp(record.timestamp);
    return this.driver.pipe(this.topic, {
      key: record.key === null ? null : this.keySerde.serialize(this.topic, record.key),
      value: record.value === null ? null : this.valueSerde.serialize(this.topic, record.value),
      timestamp,
      headers: record.headers ?? [],
    });
  }

  async pipeRecordList(records: Iterable<TestRecord<K | null, V | null>>): Promise<void> {
    for (const r of records) await this.pipeRecord(r);
  }

  /** Records one after another; with `startTimestampMs`, timestamps are `start + i * advanceMs`. */
  async pipeKeyValueList(list: Iterable<KeyValueLike<K | null, V | null>>, startTimestampMs?: number, advanceMs = 0): Promise<void> {
    let i = 0;
    for (const kv of list) {
      const [key, value] = Array.isArray(kv) ? [kv[0], kv[1]] : [(kv as KeyValue<K, V>).key, (kv as KeyValue<K, V>).value];
      await this.pipeInput(key, value, startTimestampMs === undefined ? undefined : startTimestampMs + i++ * advanceMs);
    }
  }

  /** Values without keys, like `pipeKeyValueList`. */
  async pipeValueList(values: Iterable<V | null>, startTimestampMs?: number, advanceMs = 0): Promise<void> {
    let i = 0;
    for (const value of values) await this.pipeInput(null, value, startTimestampMs === undefined ? undefined : startTimestampMs + i++ * advanceMs);
  }
}

/**
 * Reads what the topology wrote to a topic, typed; each record is read once.
 *
 * @example
 * expect(output.readKeyValuesToList()).toEqual([KeyValue.pair('hello', 1)]);
 */
export class TestOutputTopic<K, V> {
  /** @internal Made by `driver.createOutputTopic`. */
  constructor(
    private readonly driver: TopologyTestDriver,
    readonly topic: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
  ) {}

  /** The next record (throws if there is none). */
  readRecord(): Required<TestRecord<K, V>> {
    const r = this.driver.queue(this.topic).shift();
    if (!r) throw new Error(`Empty topic: ${this.topic}`);
    return {
      key: this.keySerde.deserialize(this.topic, r.key),
      value: this.valueSerde.deserialize(this.topic, r.value),
      timestamp: r.timestamp,
      headers: r.headers ?? [],
    };
  }

  readKeyValue(): KeyValue<K, V> {
    const r = this.readRecord();
    return KeyValue.pair(r.key, r.value);
  }

  readValue(): V {
    return this.readRecord().value;
  }

  readRecordsToList(): Array<Required<TestRecord<K, V>>> {
    const out: Array<Required<TestRecord<K, V>>> = [];
    while (!this.isEmpty()) out.push(this.readRecord());
    return out;
  }

  readKeyValuesToList(): Array<KeyValue<K, V>> {
    return this.readRecordsToList().map((r) => KeyValue.pair(r.key, r.value));
  }

  readValuesToList(): V[] {
    return this.readRecordsToList().map((r) => r.value);
  }

  /** The last value per key (a `null` value is kept as `null`, as Kafka's driver does). */
  readKeyValuesToMap(): Map<K, V> {
    const out = new Map<K, V>();
    for (const r of this.readRecordsToList()) {
      if (r.key === null) throw new Error(`readKeyValuesToMap needs keys, and ${this.topic} has a record without one`);
      out.set(r.key, r.value);
    }
    return out;
  }

  isEmpty(): boolean {
    return this.driver.queue(this.topic).length === 0;
  }

  getQueueSize(): number {
    return this.driver.queue(this.topic).length;
  }
}
