// A consumer in a group, shaped like kafkajs's, on a REST Proxy v2 consumer instance: the server keeps
// the membership, the assignment and the read positions; this side runs the handlers, commits what
// they finished, and puts positions back where a lost answer or a failed handler left them.
import { ConsumerInstance, type TopicPartition, type WireConsumedRecord } from './consumer-instance.ts';
import { ConsumerInstanceNotFoundError, FloeError } from './errors.ts';
import type { Floe } from './floe.ts';

/** A consumed record as kafkajs gives it: bytes as Buffers, offsets and timestamps as strings. */
export interface KafkaMessage {
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[] | undefined>;
  offset: string;
  timestamp: string;
  attributes: number;
  size: number;
}

export interface EachMessagePayload {
  topic: string;
  partition: number;
  message: KafkaMessage;
  /** Keeps the membership alive during a long handler (at most one heartbeat per `heartbeatInterval`). */
  heartbeat(): Promise<void>;
  /** Pauses this topic-partition: nothing more of it reaches the handlers until `resume`. */
  pause(): () => void;
}

export interface Batch {
  topic: string;
  partition: number;
  highWatermark: string;
  messages: KafkaMessage[];
  isEmpty(): boolean;
  firstOffset(): string | null;
  lastOffset(): string;
}

export interface EachBatchPayload {
  batch: Batch;
  /** Marks a message done: what is resolved is committed (autoCommit) even if the handler fails later. */
  resolveOffset(offset: string): void;
  heartbeat(): Promise<void>;
  /** Commits what is resolved so far (with autoCommit). */
  commitOffsetsIfNecessary(): Promise<void>;
  isRunning(): boolean;
  isStale(): boolean;
  pause(): () => void;
}

export interface ConsumerRunConfig {
  eachMessage?: (payload: EachMessagePayload) => Promise<void>;
  eachBatch?: (payload: EachBatchPayload) => Promise<void>;
  /** Commit after the handler finished (the offset after the last message processed, as Kafka). */
  autoCommit?: boolean;
  /** With eachBatch: a batch whose handler resolved counts as entirely processed. */
  eachBatchAutoResolve?: boolean;
  partitionsConsumedConcurrently?: number;
}

export interface ConsumerSubscribeTopics {
  topics?: Array<string | RegExp>;
  topic?: string | RegExp;
  fromBeginning?: boolean;
}

export interface ConsumerOptions {
  groupId: string;
  /** Where a partition without a committed offset starts: the beginning (true) or the end. */
  fromBeginning?: boolean;
  /**
   * Accepted for kafkajs compatibility: the server's `FLOE_GROUP_SESSION_TIMEOUT_MS` decides when a
   * silent member is removed. The consumer heartbeats at least every `heartbeatInterval`.
   */
  sessionTimeout?: number;
  /** How often the consumer asks for its assignment (a heartbeat that also tells of a rebalance), ms. */
  heartbeatInterval?: number;
  /**
   * kafkajs's isolation level: `read_committed` (or 1) or `read_uncommitted` (or 0, the default here),
   * the consumer instance's `isolation.level`. Floe appends a transaction's records only when it
   * commits, so both read the same records: never an open or aborted transaction's.
   */
  isolationLevel?: 'read_uncommitted' | 'read_committed' | 0 | 1;
  /** The most key and value bytes one poll brings. */
  maxBytes?: number;
  /** The longest one poll waits for data (ms, at most 60 000). */
  maxWaitTimeInMs?: number;
}

/** kafkajs's instrumentation event names the consumer emits. */
export const CONSUMER_EVENTS = {
  CONNECT: 'consumer.connect',
  GROUP_JOIN: 'consumer.group_join',
  CRASH: 'consumer.crash',
  STOP: 'consumer.stop',
  DISCONNECT: 'consumer.disconnect',
} as const;

export type ConsumerEventName = (typeof CONSUMER_EVENTS)[keyof typeof CONSUMER_EVENTS];

export interface ConsumerEvent {
  id: number;
  type: ConsumerEventName;
  timestamp: number;
  payload: Record<string, unknown>;
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * A group member. `run` polls until `stop`; each poll's records go to the handlers partition by
 * partition, in offset order. Delivery is at least once: what a handler finished is committed, and a
 * record may be delivered again after a failure or a rebalance, never skipped.
 *
 * A handler that throws: the consumer emits `consumer.crash` (with `restart: true`), commits what
 * was finished, puts that partition back at the failed message and retries it after a backoff (the
 * client's retry policy); the other partitions go on. Any other error that cannot be retried stops
 * the consumer with `consumer.crash` and `restart: false`. A 40403 (the instance expired or was
 * deleted) makes a new instance and subscribes it again: a new member, which starts from the
 * committed offsets.
 *
 * @example
 * const consumer = floe.consumer({ groupId: 'billing' });
 * await consumer.connect();
 * await consumer.subscribe({ topics: ['orders'], fromBeginning: true });
 * await consumer.run({ eachMessage: async ({ partition, message }) => console.log(partition, message.value?.toString()) });
 */
export class Consumer {
  private readonly floe: Floe;
  private readonly options: ConsumerOptions;
  private readonly listeners = new Map<string, Set<(e: ConsumerEvent) => void>>();
  private instance?: ConsumerInstance;
  private topics: Array<string | RegExp> = [];
  private fromBeginning: boolean;
  private running = false;
  private loop?: Promise<void>;
  private eventId = 0;
  private assigned = '';
  private lastHeartbeat = 0;
  private readonly heartbeatInterval: number;
  /** Where each partition's next record is, as far as the handlers got: restored after a lost answer. */
  private readonly next = new Map<string, TopicPartition & { offset: number }>();
  private readonly seeks = new Map<string, TopicPartition & { offset: number }>();
  private readonly paused = new Set<string>();
  private positionsUncertain = false;

  constructor(floe: Floe, options: ConsumerOptions) {
    if (!options?.groupId) throw new FloeError('A consumer needs a groupId', { code: 40002, status: 0 });
    const level = options.isolationLevel;
    if (level !== undefined && level !== 'read_committed' && level !== 'read_uncommitted' && level !== 0 && level !== 1) {
      throw new FloeError(`isolationLevel must be 'read_committed' (1) or 'read_uncommitted' (0), not ${JSON.stringify(level)}`, { code: 40002, status: 0 });
    }
    this.floe = floe;
    this.options = options;
    this.fromBeginning = options.fromBeginning ?? false;
    this.heartbeatInterval = options.heartbeatInterval ?? 3000;
  }

  /** kafkajs's event names, as `consumer.events.GROUP_JOIN`. @example `consumer.on(consumer.events.CRASH, (e) => console.error(e.payload.error))` */
  get events(): typeof CONSUMER_EVENTS {
    return CONSUMER_EVENTS;
  }

  /**
   * Listens to an event; returns the function that removes the listener.
   *
   * @example
   * const off = consumer.on('consumer.group_join', (e) => console.log(e.payload.memberAssignment));
   */
  on(event: ConsumerEventName, listener: (e: ConsumerEvent) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /**
   * Readies the consumer; the instance (the group member) is made when `run` starts.
   *
   * @example
   * await consumer.connect();
   */
  async connect(): Promise<void> {
    this.emit(CONSUMER_EVENTS.CONNECT, {});
  }

  /**
   * Adds topics (names, or RegExps matched against whole topic names) to the subscription.
   *
   * @example
   * await consumer.subscribe({ topics: ['orders', /^audit-.*$/], fromBeginning: true });
   */
  async subscribe(sub: ConsumerSubscribeTopics): Promise<void> {
    if (this.running) throw new FloeError('Cannot subscribe while the consumer is running', { code: 40903, status: 0 });
    const add = [...(sub.topics ?? []), ...(sub.topic !== undefined ? [sub.topic] : [])];
    if (add.length === 0) throw new FloeError('subscribe needs topics or topic', { code: 40002, status: 0 });
    this.topics.push(...add);
    if (sub.fromBeginning !== undefined) this.fromBeginning = sub.fromBeginning;
  }

  /**
   * Starts the poll loop and resolves once it runs; it goes on until `stop` or `disconnect`.
   *
   * @example
   * await consumer.run({ partitionsConsumedConcurrently: 2, eachMessage: async ({ message }) => handle(message) });
   */
  async run(config: ConsumerRunConfig): Promise<void> {
    if (this.running) throw new FloeError('The consumer is already running', { code: 40903, status: 0 });
    if (!config.eachMessage === !config.eachBatch) throw new FloeError('run needs exactly one of eachMessage and eachBatch', { code: 40002, status: 0 });
    if (this.topics.length === 0) throw new FloeError('subscribe before run', { code: 40002, status: 0 });
    this.running = true;
    this.loop = this.pollLoop(config);
  }

  /**
   * Commits offsets (the offset of the next record to read, as kafkajs and Kafka take it).
   *
   * @example
   * await consumer.commitOffsets([{ topic: 'orders', partition: 0, offset: '42' }]);
   */
  async commitOffsets(offsets: Array<{ topic: string; partition: number; offset: string | number }>): Promise<void> {
    const instance = await this.ensureInstance();
    const rows = offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: Number(o.offset) - 1 }));
    if (rows.some((r) => !Number.isSafeInteger(r.offset) || r.offset < 0)) {
      throw new FloeError('commitOffsets takes offsets of at least 1 (the next record to read); use admin.resetOffsets to go back to the start', { code: 40002, status: 0 });
    }
    await instance.commit(rows);
  }

  /**
   * Moves a partition's position; takes effect at the next poll (records of the partition already
   * fetched and not yet handled are dropped). Only partitions assigned to this member can be sought.
   *
   * @example
   * consumer.seek({ topic: 'orders', partition: 0, offset: '100' });
   */
  seek(target: { topic: string; partition: number; offset: string | number }): void {
    const offset = Number(target.offset);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new FloeError(`Invalid offset ${target.offset}`, { code: 40002, status: 0 });
    this.seeks.set(key(target.topic, target.partition), { topic: target.topic, partition: target.partition, offset });
  }

  /**
   * Stops handing records of these topics (or only of the given partitions) to the handlers.
   *
   * @example
   * consumer.pause([{ topic: 'orders', partitions: [0] }]);
   */
  pause(topics: Array<{ topic: string; partitions?: number[] }>): void {
    for (const t of topics) for (const p of t.partitions ?? ['*']) this.paused.add(`${t.topic}\u0000${p}`);
  }

  /**
   * Hands records of these topics (or partitions) to the handlers again.
   *
   * @example
   * consumer.resume([{ topic: 'orders' }]);
   */
  resume(topics: Array<{ topic: string; partitions?: number[] }>): void {
    for (const t of topics) {
      if (!t.partitions) for (const k of [...this.paused]) if (k.startsWith(`${t.topic}\u0000`)) this.paused.delete(k);
      for (const p of t.partitions ?? []) this.paused.delete(key(t.topic, p));
    }
  }

  /**
   * The topic-partitions paused now.
   *
   * @example
   * const paused = consumer.paused();
   */
  pausedPartitions(): Array<{ topic: string; partitions: Array<number | '*'> }> {
    const by = new Map<string, Array<number | '*'>>();
    for (const k of this.paused) {
      const [topic, p] = k.split('\u0000') as [string, string];
      by.set(topic, [...(by.get(topic) ?? []), p === '*' ? '*' : Number(p)]);
    }
    return [...by.entries()].map(([topic, partitions]) => ({ topic, partitions }));
  }

  /**
   * Ends the poll loop once the records in hand are handled.
   *
   * @example
   * await consumer.stop();
   */
  async stop(): Promise<void> {
    const wasRunning = this.running;
    this.running = false;
    await this.loop;
    this.loop = undefined;
    if (wasRunning) this.emit(CONSUMER_EVENTS.STOP, {});
  }

  /**
   * Stops, then deletes the instance, so the group rebalances at once.
   *
   * @example
   * await consumer.disconnect();
   */
  async disconnect(): Promise<void> {
    await this.stop();
    await this.instance?.delete();
    this.emit(CONSUMER_EVENTS.DISCONNECT, {});
  }

  private isPaused(topic: string, partition: number): boolean {
    return this.paused.has(key(topic, partition)) || this.paused.has(`${topic}\u0000*`);
  }

  private emit(type: ConsumerEventName, payload: Record<string, unknown>): void {
    const event: ConsumerEvent = { id: this.eventId++, type, timestamp: Date.now(), payload };
    for (const l of this.listeners.get(type) ?? []) {
      try {
        l(event);
      } catch {
        // A listener's failure is its own; the consumer goes on.
      }
    }
  }

  private backoff(attempt: number): Promise<void> {
    const { initialRetryTime, maxRetryTime } = this.floe.retryOptions;
    const cap = Math.min(maxRetryTime, initialRetryTime * 2 ** Math.min(attempt, 20));
    return sleep(cap / 2 + Math.random() * (cap / 2));
  }

  private async ensureInstance(): Promise<ConsumerInstance> {
    this.instance ??= new ConsumerInstance(this.floe, this.options.groupId, {
      autoOffsetReset: this.fromBeginning ? 'earliest' : 'latest',
      maxWaitMs: Math.min(60_000, this.options.maxWaitTimeInMs ?? 1000),
      ...(this.options.isolationLevel !== undefined ? { isolation: this.options.isolationLevel === 1 || this.options.isolationLevel === 'read_committed' ? 'read_committed' : 'read_uncommitted' } : {}),
      ...(this.options.maxBytes !== undefined ? { maxBytes: this.options.maxBytes } : {}),
    });
    if (!this.instance.exists) {
      await this.instance.create();
      const names = this.topics.filter((t): t is string => typeof t === 'string');
      const patterns = this.topics.filter((t): t is RegExp => t instanceof RegExp);
      // One subscription per instance: several RegExps and names become one pattern.
      if (patterns.length === 0) await this.instance.subscribe({ topics: names });
      else await this.instance.subscribe({ pattern: [...names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), ...patterns.map((p) => p.source)].map((s) => `(?:${s})`).join('|') });
      this.assigned = '';
      this.next.clear();
      this.lastHeartbeat = 0;
    }
    return this.instance;
  }

  /** Asks for the assignment (a heartbeat); a changed one is a rebalance, told as `consumer.group_join`. */
  private async heartbeat(force = false): Promise<void> {
    if (!force && Date.now() - this.lastHeartbeat < this.heartbeatInterval) return;
    const instance = await this.ensureInstance();
    this.lastHeartbeat = Date.now();
    const owned = await instance.assignments();
    const seen = owned.map((p) => key(p.topic, p.partition)).sort().join(',');
    if (seen === this.assigned) return;
    this.assigned = seen;
    const mine = new Set(owned.map((p) => key(p.topic, p.partition)));
    for (const k of [...this.next.keys()]) if (!mine.has(k)) this.next.delete(k);
    const memberAssignment: Record<string, number[]> = {};
    for (const p of owned) (memberAssignment[p.topic] ??= []).push(p.partition);
    for (const list of Object.values(memberAssignment)) list.sort((a, b) => a - b);
    this.emit(CONSUMER_EVENTS.GROUP_JOIN, { groupId: this.options.groupId, memberId: instance.memberId, leaderId: null, isLeader: false, memberAssignment, groupProtocol: 'floe' });
  }

  private async pollLoop(config: ConsumerRunConfig): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        const instance = await this.ensureInstance();
        await this.heartbeat();
        await this.restorePositions(instance);
        let records: WireConsumedRecord[];
        try {
          records = await instance.records();
        } catch (e) {
          // The server may have moved the positions on and the answer been lost: put them back.
          if (e instanceof FloeError && e.retriable) this.positionsUncertain = true;
          throw e;
        }
        failures = 0;
        await this.handle(instance, records, config);
      } catch (e) {
        if (e instanceof ConsumerInstanceNotFoundError) {
          this.instance?.forget();
          continue;
        }
        if (e instanceof FloeError && e.retriable) {
          await this.backoff(failures++);
          continue;
        }
        this.running = false;
        this.emit(CONSUMER_EVENTS.CRASH, { error: e, groupId: this.options.groupId, restart: false });
      }
    }
  }

  /** The group's committed offsets, by partition (none when the group has none yet). */
  private async committedOffsets(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    try {
      const d = await this.floe.request<{ offsets: Array<{ topic: string; partition: number; committed_offset: number }> }>('GET', `/floe/v1/groups/${encodeURIComponent(this.options.groupId)}`, { retry: true });
      for (const o of d.offsets) out.set(key(o.topic, o.partition), o.committed_offset);
    } catch (e) {
      if (!(e instanceof FloeError) || e.status !== 404) throw e;
    }
    return out;
  }

  /** Applies pending seeks, and after a lost answer the positions the handlers got to. */
  private async restorePositions(instance: ConsumerInstance): Promise<void> {
    const targets = new Map(this.positionsUncertain ? this.next : []);
    if (this.positionsUncertain) {
      // Partitions the handlers have not reached yet: the lost answer may have moved them past records
      // nobody saw. They go back to the group's committed offset, or where a group without one starts.
      const owned = (await instance.assignments()).filter((p) => !this.next.has(key(p.topic, p.partition)));
      if (owned.length > 0) {
        const committed = await this.committedOffsets();
        const edge: TopicPartition[] = [];
        for (const p of owned) {
          const c = committed.get(key(p.topic, p.partition));
          if (c !== undefined) targets.set(key(p.topic, p.partition), { ...p, offset: c });
          else edge.push(p);
        }
        if (edge.length > 0) await instance.seekToEdge(edge, this.fromBeginning ? 'beginning' : 'end');
      }
    }
    for (const [k, s] of this.seeks) targets.set(k, s);
    this.seeks.clear();
    this.positionsUncertain = false;
    for (const [k, t] of targets) {
      try {
        await instance.seek([t]);
        this.next.set(k, t);
      } catch (e) {
        // 40903: the partition is not this member's any more; its new owner starts from the commit.
        if (!(e instanceof FloeError) || e.code !== 40903) throw e;
      }
    }
  }

  private async handle(instance: ConsumerInstance, records: WireConsumedRecord[], config: ConsumerRunConfig): Promise<void> {
    const byPartition = new Map<string, WireConsumedRecord[]>();
    for (const r of records) {
      const k = key(r.topic, r.partition);
      let list = byPartition.get(k);
      if (!list) byPartition.set(k, (list = []));
      list.push(r);
    }
    let handed = 0;
    const work: Array<() => Promise<void>> = [];
    for (const [k, list] of byPartition) {
      const { topic, partition } = list[0]!;
      if (this.isPaused(topic, partition)) {
        // Read again after resume: the server's position goes back to the first record not handed out.
        this.seeks.set(k, { topic, partition, offset: list[0]!.offset });
        continue;
      }
      handed++;
      work.push(() => this.handlePartition(instance, topic, partition, list, config));
    }
    const width = Math.max(1, config.partitionsConsumedConcurrently ?? 1);
    let i = 0;
    await Promise.all(Array.from({ length: Math.min(width, work.length) }, async () => {
      while (i < work.length) await work[i++]!();
    }));
    // Only paused partitions had data: do not spin on them.
    if (records.length > 0 && handed === 0) await sleep(Math.min(500, this.heartbeatInterval));
  }

  private async handlePartition(instance: ConsumerInstance, topic: string, partition: number, list: WireConsumedRecord[], config: ConsumerRunConfig): Promise<void> {
    const k = key(topic, partition);
    const autoCommit = config.autoCommit ?? true;
    let done = -1;
    const pause = () => {
      this.pause([{ topic, partitions: [partition] }]);
      return () => this.resume([{ topic, partitions: [partition] }]);
    };
    const heartbeat = () => this.heartbeat();
    const messages = list.map(toMessage);
    const stale = () => this.seeks.has(k) || this.isPaused(topic, partition);
    try {
      if (config.eachMessage) {
        for (const [n, message] of messages.entries()) {
          if (stale()) {
            // Paused mid-batch: the rest is read again after resume (a seek already says where to go on).
            if (!this.seeks.has(k)) this.seeks.set(k, { topic, partition, offset: list[n]!.offset });
            break;
          }
          await config.eachMessage({ topic, partition, message, heartbeat, pause });
          done = list[n]!.offset;
        }
      } else {
        const batch: Batch = {
          topic,
          partition,
          highWatermark: '-1',
          messages,
          isEmpty: () => messages.length === 0,
          firstOffset: () => messages[0]?.offset ?? null,
          lastOffset: () => messages[messages.length - 1]!.offset,
        };
        const commit = async () => {
          if (autoCommit && done >= 0) await this.commit(instance, topic, partition, done);
        };
        await config.eachBatch!({
          batch,
          resolveOffset: (o) => (done = Math.max(done, Number(o))),
          heartbeat,
          commitOffsetsIfNecessary: commit,
          isRunning: () => this.running,
          isStale: stale,
          pause,
        });
        if (config.eachBatchAutoResolve ?? true) done = list[list.length - 1]!.offset;
      }
    } catch (error) {
      if (done >= 0) this.next.set(k, { topic, partition, offset: done + 1 });
      if (autoCommit && done >= 0) await this.commit(instance, topic, partition, done);
      const failedAt = list.find((r) => r.offset > done)!.offset;
      this.emit(CONSUMER_EVENTS.CRASH, { error, groupId: this.options.groupId, restart: true });
      if (!this.seeks.has(k)) this.seeks.set(k, { topic, partition, offset: failedAt });
      await this.backoff(0);
      return;
    }
    if (done >= 0) {
      this.next.set(k, { topic, partition, offset: done + 1 });
      if (autoCommit) await this.commit(instance, topic, partition, done);
    }
  }

  /** Commits `lastProcessed`; a refusal (the partition moved to another member) loses nothing but a re-read. */
  private async commit(instance: ConsumerInstance, topic: string, partition: number, lastProcessed: number): Promise<void> {
    try {
      await instance.commit([{ topic, partition, offset: lastProcessed }]);
    } catch (e) {
      if (!(e instanceof FloeError) || (e.code !== 40904 && e.code !== 40903)) throw e;
      this.lastHeartbeat = 0;
    }
  }
}

function toMessage(r: WireConsumedRecord): KafkaMessage {
  const headers: Record<string, Buffer | Buffer[] | undefined> = {};
  for (const h of r.headers ?? []) {
    const v = h.value === null ? undefined : Buffer.from(h.value, 'base64');
    const had = headers[h.key];
    if (had === undefined || v === undefined) headers[h.key] = had ?? v;
    else headers[h.key] = Array.isArray(had) ? [...had, v] : [had, v];
  }
  const key = r.key === null ? null : Buffer.from(r.key, 'base64');
  const value = r.value === null ? null : Buffer.from(r.value, 'base64');
  return { key, value, headers, offset: String(r.offset), timestamp: String(r.timestamp ?? -1), attributes: 0, size: (key?.length ?? 0) + (value?.length ?? 0) };
}
