// The seam between a topology and what runs it. The DSL compiles a topology into sub-topologies; a
// runtime (the test driver in memory, or Floe's: triggers in AWS, a local loop) makes one task per
// sub-topology and input partition, hands it records in offset order, and commits what the task did:
// the records it sent, the state it changed and the input offsets, together (exactly once) or in that
// order (at least once). Everything here is bytes: serdes live in the DSL, above this line.

/** A record as a task receives it (from a source topic, a repartition topic or a global table's topic). */
export interface InputRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: Array<{ key: string; value: Uint8Array | null }>;
}

/** A record a task sends. Without `partition`, the runtime partitions by murmur2 of the key (Kafka's default). */
export interface OutputRecord {
  key: Uint8Array | null;
  value: Uint8Array | null;
  timestamp: number;
  headers?: Array<{ key: string; value: Uint8Array | null }>;
  partition?: number;
}

/**
 * A state store's partition, as one task sees it. Keys and values are bytes; keys are ordered
 * byte-wise (unsigned), which is how window and session stores find a key's windows with `range`.
 * Reads see the task's own writes at once. Writes are buffered and committed with the task's batch:
 * into the store's changelog topic (in the same Floe transaction as outputs and offsets), and from
 * there into the store's DynamoDB table.
 */
export interface StateStore {
  readonly name: string;
  get(key: Uint8Array): Promise<Uint8Array | null>;
  /** Many keys at once (one storage round trip where the runtime can); the answer is in the keys' order. */
  getMany(keys: Uint8Array[]): Promise<Array<Uint8Array | null>>;
  /** `null` deletes. */
  put(key: Uint8Array, value: Uint8Array | null): void;
  /** Every entry with `from <= key < to` (either bound left out: open), in key order, the task's own writes included. */
  range(from: Uint8Array | null, to: Uint8Array | null): Promise<Array<[Uint8Array, Uint8Array]>>;
}

/** A global table's store: every key of its topic, whatever partition the task is; read only. */
export interface GlobalStore {
  readonly name: string;
  get(key: Uint8Array): Promise<Uint8Array | null>;
}

/** What a store is, for the runtime to create its changelog and table. */
export interface StoreSpec {
  /** Unique in the topology (the DSL's generated name, or the user's `Materialized.as(name)`). */
  name: string;
  kind: 'kv' | 'window' | 'session';
  /** The sub-topology whose tasks own it (its partitions are those tasks' partitions). */
  subtopology: number;
}

export interface GlobalStoreSpec {
  name: string;
  /** The topic a global table reads (every partition). */
  topic: string;
}

/** A topic the topology creates for itself: named `<applicationId>-<name>` by the runtime. */
export interface InternalTopicSpec {
  /** Without the application id, e.g. `KSTREAM-AGGREGATE-STATE-STORE-0000000004-repartition`. */
  name: string;
  kind: 'repartition' | 'changelog' | 'late-records';
  /** A fixed count (`repartition(n)`), or the partition count of the sub-topology that writes it (`null`). */
  partitions: number | null;
  /** For a changelog: the store it logs. */
  store?: string;
}

/** A topic a sub-topology reads: the user's (`internal: false`) or one of the topology's own. */
export interface TopicRef {
  name: string;
  internal: boolean;
}

export interface SubtopologySpec {
  id: number;
  /** The topics it reads; all of them have the same partition count (checked by the runtime when it starts). */
  sources: TopicRef[];
  /** The topics it may send to (a `to(extractor)` adds `dynamic: true`: any user topic). */
  sinks: TopicRef[];
  dynamicSinks: boolean;
  /** Its state stores (each logged to an internal changelog topic). */
  stores: string[];
  /** Global stores it reads. */
  globalStores: string[];
  /** Whether it needs `punctuate` on a schedule (suppression, stream-time upkeep). */
  punctuates: boolean;
}

/** What the DSL gives a runtime. */
export interface CompiledTopology {
  subtopologies: SubtopologySpec[];
  stores: StoreSpec[];
  globalStores: GlobalStoreSpec[];
  internalTopics: InternalTopicSpec[];
  /** One task of a sub-topology for one partition. */
  createTask(subtopology: number, context: TaskContext): Task;
  /** Kafka Streams' `Topology.describe()` text. */
  describe(): string;
}

/** What a task may use, given by the runtime. */
export interface TaskContext {
  readonly applicationId: string;
  readonly subtopology: number;
  readonly partition: number;
  store(name: string): StateStore;
  globalStore(name: string): GlobalStore;
  /** Buffers a record for the topic (`internal: true` for the topology's own topics, named without the application id). */
  send(topic: TopicRef, record: OutputRecord): void;
  /** Counts something the task wants reported (e.g. `dropped-late-records`). */
  count(metric: string, n?: number): void;
}

export interface Task {
  /** Processes one record; the runtime calls it in offset order per input partition and awaits each call. */
  process(record: InputRecord): Promise<void>;
  /**
   * Called on a schedule with the wall-clock time, also when no record arrives: suppression emits the
   * windows whose end + grace the clock has passed, so windows close on idle partitions too.
   */
  punctuate(wallClockMs: number): Promise<void>;
}
