// REST Proxy consumer instances over the group coordinator. Everything an instance is lives in
// DynamoDB, so any process (any Lambda) can serve any request of any instance.
import { randomUUID } from 'node:crypto';
import { FloeError, OffsetOutOfRangeError, PartitionNotFoundError } from '../errors.ts';
import type { FetchedRecord, Fetcher } from '../fetch/fetch.ts';
import { parseTopicPartitionKey, topicPartitionKey } from '../storage/keys.ts';
import type { CommittedOffset, InstanceState, Strategy } from '../model/group.ts';
import { INSTANCE_IDLE_MS, type GroupsTable, type OffsetGuard } from '../storage/groups-table.ts';
import { refusedCommit } from './offset-commits.ts';
import type { Topic, TopicService } from '../topics/topics.ts';
import { validateTopicName } from '../topics/names.ts';
import { STRATEGIES } from './assignors.ts';
import type { Metrics } from '../metrics.ts';
import { isLive, liveMembers, settleEmptyGroup, type GroupCoordinator } from './coordinator.ts';
import { compileTopicPattern, topicsMatching } from './patterns.ts';
import { currentOffsets, currentTopicIds } from './topic-ids.ts';

export interface InstanceConfig {
  name?: string;
  format?: 'binary' | 'json';
  autoOffsetReset?: 'earliest' | 'latest' | 'none';
  autoCommit?: boolean;
  fetchMinBytes?: number;
  requestTimeoutMs?: number;
  strategy?: Strategy;
}

export interface ConsumedRecord extends FetchedRecord {
  topic: string;
  partition: number;
}

export interface ConsumerOptions {
  sessionTimeoutMs: number;
  /** The longest a records call waits for data, whatever the instance asks (a Lambda's time is bounded). */
  maxWaitMs: number;
  /** The most key and value bytes a records call answers with, whatever max_bytes asks. */
  maxBytes: number;
  metrics?: Metrics;
}

const NAME = /^[a-zA-Z0-9._-]{1,249}$/;

export function validateGroupId(group: string): string {
  if (!NAME.test(group)) throw new FloeError('BAD_REQUEST', `Consumer group id '${group.slice(0, 64)}' is invalid: use 1 to 249 of [a-zA-Z0-9._-]`);
  return group;
}

export class Consumers {
  constructor(
    private readonly groups: GroupsTable,
    private readonly coordinator: GroupCoordinator,
    private readonly topics: TopicService,
    private readonly fetcher: Fetcher,
    private readonly options: ConsumerOptions,
  ) {}

  async create(group: string, config: InstanceConfig): Promise<InstanceState> {
    validateGroupId(group);
    const id = config.name ?? `rest-consumer-${randomUUID()}`;
    if (!NAME.test(id)) throw new FloeError('INVALID_CONSUMER_CONFIG', `Consumer name '${id.slice(0, 64)}' is invalid: use 1 to 249 of [a-zA-Z0-9._-]`);
    const now = Date.now();
    const state: InstanceState = {
      group,
      id,
      format: config.format ?? 'binary',
      autoOffsetReset: config.autoOffsetReset ?? 'latest',
      autoCommit: config.autoCommit ?? true,
      fetchMinBytes: config.fetchMinBytes ?? 0,
      requestTimeoutMs: config.requestTimeoutMs ?? 1000,
      strategy: config.strategy ?? 'range',
      createdAt: now,
      lastUsed: now,
      mode: 'none',
      topics: [],
      pattern: null,
      manual: [],
      generation: -1,
      owned: [],
      positions: {},
      pending: {},
      topicIds: {},
      turn: 0,
    };
    const existing = await this.groups.getInstance(group, id);
    if (existing && existing.lastUsed + INSTANCE_IDLE_MS < now) await this.destroy(existing);
    if (!(await this.groups.createInstance(state))) {
      throw new FloeError('CONSUMER_ALREADY_EXISTS', `Consumer with specified consumer ID already exists in the specified consumer group.`);
    }
    return state;
  }

  /** The instance, or 40403; an instance idle past five minutes is destroyed on the spot. */
  async get(group: string, id: string): Promise<InstanceState> {
    if (!NAME.test(group) || !NAME.test(id)) throw new FloeError('CONSUMER_INSTANCE_NOT_FOUND', 'Consumer instance not found.');
    const state = await this.groups.getInstance(group, id);
    if (!state) throw new FloeError('CONSUMER_INSTANCE_NOT_FOUND', 'Consumer instance not found.');
    if (state.lastUsed + INSTANCE_IDLE_MS < Date.now()) {
      await this.destroy(state);
      throw new FloeError('CONSUMER_INSTANCE_NOT_FOUND', 'Consumer instance not found.');
    }
    return state;
  }

  async delete(group: string, id: string): Promise<void> {
    await this.destroy(await this.get(group, id));
  }

  private async destroy(state: InstanceState): Promise<void> {
    // As Kafka's consumer does on close: with auto commit, what the last records call returned is
    // committed before the member leaves (a commit the group refuses loses nothing but a re-read).
    if (state.autoCommit && Object.keys(state.pending).length > 0) {
      await this.forgetRecreatedTopics(state);
      await this.commitPending(state).catch((e: unknown) => {
        if (!(e instanceof FloeError && e.status < 500)) throw e;
      });
    }
    if (state.mode === 'subscribe') await this.coordinator.leave(state.group, state.id);
    await this.groups.deleteInstance(state.group, state.id);
  }

  private async save(state: InstanceState): Promise<void> {
    state.lastUsed = Date.now();
    const read = topicsRead(state);
    state.topicIds = Object.fromEntries(Object.entries(state.topicIds).filter(([t]) => read.has(t)));
    if (!(await this.groups.saveInstance(state))) throw new FloeError('CONSUMER_INSTANCE_NOT_FOUND', 'Consumer instance not found.');
  }

  async subscribe(group: string, id: string, sub: { topics?: string[]; pattern?: string }): Promise<void> {
    const state = await this.get(group, id);
    if (state.mode === 'assign') throw new FloeError('ILLEGAL_STATE', 'Subscription to topics, partitions and pattern are mutually exclusive.');
    if (sub.pattern !== undefined) compileTopicPattern(sub.pattern);
    for (const t of sub.topics ?? []) validateTopicName(t);
    state.mode = 'subscribe';
    state.topics = [...new Set(sub.topics ?? [])].sort();
    state.pattern = sub.pattern ?? null;
    await this.save(state);
    // Join now, so the group rebalances without waiting for the first records call.
    await this.membership(state);
    await this.save(state);
  }

  async subscription(group: string, id: string): Promise<string[]> {
    const state = await this.get(group, id);
    if (state.mode !== 'subscribe') return [];
    if (state.pattern === null) return state.topics;
    return topicsMatching(state.pattern, (await this.topics.list()).map((t) => t.topic));
  }

  async unsubscribe(group: string, id: string): Promise<void> {
    const state = await this.get(group, id);
    if (state.mode === 'subscribe') await this.coordinator.leave(group, id);
    Object.assign(state, { mode: 'none', topics: [], pattern: null, manual: [], owned: [], positions: {}, pending: {}, topicIds: {}, generation: -1 });
    await this.save(state);
  }

  async assign(group: string, id: string, partitions: Array<[string, number]>): Promise<void> {
    const state = await this.get(group, id);
    if (state.mode === 'subscribe') throw new FloeError('ILLEGAL_STATE', 'Subscription to topics, partitions and pattern are mutually exclusive.');
    await this.checkPartitions(partitions);
    const unique = [...new Map(partitions.map((x) => [topicPartitionKey(x[0], x[1]), x])).values()];
    state.mode = unique.length > 0 ? 'assign' : 'none';
    state.manual = unique;
    state.owned = unique;
    const keep = new Set(unique.map(([t, p]) => topicPartitionKey(t, p)));
    state.positions = Object.fromEntries(Object.entries(state.positions).filter(([k]) => keep.has(k)));
    await this.save(state);
  }

  async assignments(group: string, id: string): Promise<Array<[string, number]>> {
    const state = await this.get(group, id);
    if (state.mode === 'assign') return state.manual;
    if (state.mode === 'subscribe') {
      await this.membership(state);
      await this.save(state);
      return state.owned;
    }
    return [];
  }

  /**
   * Seeks: an explicit offset, or the beginning or end of each partition. As in Kafka, only partitions
   * of the assignment the last records call saw can be sought; a refused seek writes nothing.
   */
  async seek(group: string, id: string, targets: Array<{ topic: string; partition: number; offset: number | 'beginning' | 'end' }>): Promise<void> {
    const state = await this.get(group, id);
    const topics = await this.checkPartitions(targets.map((x) => [x.topic, x.partition]));
    // The positions it keeps are of the topics as they are now, like the ones it sets.
    await this.forgetRecreatedTopics(state);
    const owned = new Set(state.owned.map(([t, p]) => topicPartitionKey(t, p)));
    for (const target of targets) {
      const key = topicPartitionKey(target.topic, target.partition);
      if (!owned.has(key)) throw new FloeError('ILLEGAL_STATE', `No current assignment for partition ${target.topic}-${target.partition}`);
      if (target.offset === 'beginning' || target.offset === 'end') {
        const o = await this.fetcher.offsets(target.topic, target.partition);
        state.positions[key] = target.offset === 'beginning' ? o.logStartOffset : o.highWatermark;
      } else {
        if (!Number.isSafeInteger(target.offset) || target.offset < 0) throw new FloeError('VALIDATION', 'offset must be a non-negative integer');
        state.positions[key] = target.offset;
      }
      state.topicIds[target.topic] = topics.get(target.topic)!.id;
    }
    await this.save(state);
  }

  /**
   * Every partition exists: 40401 for a topic, 40402 for a partition (from the topic cache, as the fetch
   * path resolves topics), before anything is read or written for it. Returns the topics it resolved.
   */
  private async checkPartitions(partitions: Array<[string, number]>): Promise<Map<string, Topic>> {
    const topics = new Map<string, Topic>();
    for (const [t, p] of partitions) {
      if (!Number.isSafeInteger(p) || p < 0) throw new FloeError('VALIDATION', 'partition must be a non-negative integer');
      let topic = topics.get(t);
      if (topic === undefined) {
        topic = await this.topics.resolve(validateTopicName(t));
        topics.set(t, topic);
      }
      if (p >= topic.partitions) throw new PartitionNotFoundError(t, p);
    }
    return topics;
  }

  /**
   * Drops the positions and the returned-not-committed offsets of every topic deleted (and perhaps
   * re-created under the same name) since they were read: they belong to a log that is gone, so such a
   * partition starts again from the committed offset of the new topic, else auto.offset.reset, and
   * nothing read from the old log is committed against the new one. Positions of an instance saved
   * before instances recorded topic ids are taken as they are, and from now on tied to the current id.
   */
  private async forgetRecreatedTopics(state: InstanceState): Promise<void> {
    const read = topicsRead(state);
    if (read.size === 0) return;
    const ids = await currentTopicIds(this.topics, read);
    for (const t of read) {
      const made = state.topicIds[t];
      const current = ids.get(t);
      if (made === undefined) {
        if (current !== undefined) state.topicIds[t] = current;
      } else if (made !== current) {
        const other = ([k]: [string, number]) => parseTopicPartitionKey(k)[0] !== t;
        state.positions = Object.fromEntries(Object.entries(state.positions).filter(other));
        state.pending = Object.fromEntries(Object.entries(state.pending).filter(other));
        delete state.topicIds[t];
      }
    }
  }

  /**
   * Refreshes the instance's group membership (a heartbeat; `waitMs` is how long the records call that
   * carries it will then wait for data); positions of partitions it did not hold are reset.
   */
  private async membership(state: InstanceState, waitMs = 0): Promise<void> {
    const m = await this.coordinator.heartbeat({
      group: state.group,
      member: state.id,
      topics: state.topics,
      pattern: state.pattern,
      sessionTimeoutMs: this.options.sessionTimeoutMs,
      strategy: state.strategy,
      waitMs,
    });
    if (m.generation === state.generation && !m.joined) return;
    // Positions are kept only by a member that stayed one through the last generation change, for the
    // partitions it held in the generation just before. Everything else starts from the group's
    // committed offset: another member may have consumed it meanwhile, and a member whose session
    // expired is a new member (an admin may have reset the offsets, or a manually assigned consumer
    // committed, while the group was empty).
    const continued = !m.joined && state.generation === m.generation - 1;
    const before = continued ? new Set(state.owned.map(([t, p]) => topicPartitionKey(t, p))) : new Set<string>();
    const keep = new Set(m.assignment.map(([t, p]) => topicPartitionKey(t, p)).filter((k) => before.has(k)));
    state.positions = Object.fromEntries(Object.entries(state.positions).filter(([k]) => keep.has(k)));
    state.pending = Object.fromEntries(Object.entries(state.pending).filter(([k]) => keep.has(k)));
    state.generation = m.generation;
    state.owned = m.assignment;
  }

  /**
   * Fills in the position of every owned partition that has none: the offset committed on the topic as
   * it is now, else auto.offset.reset. Each position is tied to the topic id it was found for.
   */
  private async initPositions(state: InstanceState): Promise<void> {
    const missing = state.owned.filter(([t, p]) => state.positions[topicPartitionKey(t, p)] === undefined);
    if (missing.length === 0) return;
    const ids = await currentTopicIds(this.topics, missing.map(([t]) => t));
    const found = await currentOffsets(this.topics, [...(await this.groups.getOffsets(state.group, missing)).values()]);
    const committed = new Map(found.map((c) => [topicPartitionKey(c.topic, c.partition), c]));
    for (const [t, p] of missing) {
      const key = topicPartitionKey(t, p);
      const c = committed.get(key);
      state.positions[key] = c ? c.offset : await this.resetPosition(state, t, p);
      const id = ids.get(t);
      if (id !== undefined) state.topicIds[t] = id;
    }
  }

  /** Where auto.offset.reset puts a partition that has no committed offset (`why`), or whose position left the log. */
  private async resetPosition(state: InstanceState, topic: string, partition: number, why = 'has no committed offset'): Promise<number> {
    if (state.autoOffsetReset === 'none') throw new FloeError('ILLEGAL_STATE', `Partition ${topic}-${partition} ${why} and auto.offset.reset is none`);
    const o = await this.fetcher.offsets(topic, partition);
    return state.autoOffsetReset === 'earliest' ? o.logStartOffset : o.highWatermark;
  }

  /**
   * A records call: commit what the previous call returned (auto commit), heartbeat, then long-poll
   * the owned partitions, starting from a different one each call so none starves another.
   */
  async records(group: string, id: string, opts: { timeoutMs?: number; maxBytes?: number }): Promise<{ state: InstanceState; records: ConsumedRecord[] }> {
    const state = await this.get(group, id);
    if (state.mode === 'none') throw new FloeError('ILLEGAL_STATE', 'Consumer is not subscribed to any topics or assigned any partitions');
    await this.forgetRecreatedTopics(state);
    if (state.autoCommit && Object.keys(state.pending).length > 0) {
      await this.commitPending(state).catch((e: unknown) => {
        // A refused auto commit (the partition moved on) loses nothing: its records will be re-read.
        if (!(e instanceof FloeError && e.status < 500)) throw e;
      });
    }
    const wait = Math.min(opts.timeoutMs ?? state.requestTimeoutMs, state.requestTimeoutMs, this.options.maxWaitMs);
    // The heartbeat covers the wait below: a member blocked in a long poll is alive.
    if (state.mode === 'subscribe') await this.membership(state, wait);
    await this.initPositions(state);

    const maxBytes = Math.min(opts.maxBytes ?? this.options.maxBytes, this.options.maxBytes);
    const deadline = Date.now() + wait;
    const tally = { lag: 0 };
    const out: ConsumedRecord[] = [];
    let bytes = 0;
    const owned = state.owned;
    for (;;) {
      if (owned.length > 0) {
        const start = state.turn++ % owned.length;
        const order = [...owned.slice(start), ...owned.slice(0, start)];
        const share = Math.max(1, Math.floor((maxBytes - bytes) / order.length));
        const results = await Promise.all(order.map(([t, p]) => this.fetchOne(state, t, p, share, tally)));
        for (const r of results) {
          for (const rec of r) {
            out.push(rec);
            bytes += (rec.key?.length ?? 0) + (rec.value?.length ?? 0);
          }
        }
      }
      if ((out.length > 0 && bytes >= Math.max(1, state.fetchMinBytes)) || Date.now() >= deadline || bytes >= maxBytes) break;
      await new Promise((r) => setTimeout(r, Math.min(100, Math.max(0, deadline - Date.now()))));
    }
    for (const rec of out) state.pending[topicPartitionKey(rec.topic, rec.partition)] = state.positions[topicPartitionKey(rec.topic, rec.partition)]!;
    this.options.metrics?.consumerLag(tally.lag, state.group);
    await this.save(state);
    return { state, records: out };
  }

  private async fetchOne(state: InstanceState, topic: string, partition: number, maxBytes: number, tally: { lag: number }): Promise<ConsumedRecord[]> {
    const key = topicPartitionKey(topic, partition);
    let offset = state.positions[key]!;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const r = await this.fetcher.fetch({ topic, partition, offset, maxBytes });
        state.positions[key] = r.nextOffset;
        tally.lag = Math.max(tally.lag, r.highWatermark - r.nextOffset);
        return r.records.map((x) => ({ ...x, topic, partition }));
      } catch (e) {
        // Retention moved the log start past us (or the log was re-created): auto.offset.reset decides.
        if (!(e instanceof OffsetOutOfRangeError) || attempt > 0) throw e;
        offset = await this.resetPosition(state, topic, partition, `is at offset ${offset}, outside the log [${e.logStartOffset}, ${e.highWatermark}]`);
        state.positions[key] = offset;
      }
    }
    return [];
  }

  /** Commits explicit offsets (the REST Proxy stores offset + 1), or with none, everything returned so far. */
  async commit(group: string, id: string, offsets?: Array<{ topic: string; partition: number; offset: number; metadata?: string | null }>): Promise<void> {
    const state = await this.get(group, id);
    if (offsets === undefined) {
      await this.forgetRecreatedTopics(state);
      await this.commitPending(state);
      await this.save(state);
      return;
    }
    await this.commitOffsets(state, offsets.map((o) => ({ ...o, offset: o.offset + 1 })));
  }

  private async commitPending(state: InstanceState): Promise<void> {
    const entries = Object.entries(state.pending);
    if (entries.length === 0) return;
    // Each offset is committed against the topic id its records were read from.
    await this.commitOffsets(
      state,
      entries.map(([k, offset]) => {
        const [topic, partition] = parseTopicPartitionKey(k);
        const topicId = state.topicIds[topic];
        return { topic, partition, offset, ...(topicId !== undefined ? { topicId } : {}) };
      }),
    );
    state.pending = {};
  }

  /**
   * Zombie fencing: a group member may commit only partitions it owns in the group's current
   * generation, and the write is conditioned on that generation and its membership; a manually
   * assigned instance may commit only while the group has no live members (as Kafka's coordinator).
   * Each offset carries the id of the topic it was made against: `topicId` when given (what the
   * records were read from), else the topic's current id.
   */
  private async commitOffsets(state: InstanceState, offsets: Array<{ topic: string; topicId?: string; partition: number; offset: number; metadata?: string | null }>): Promise<void> {
    if (offsets.length === 0) return;
    for (const o of offsets) {
      validateTopicName(o.topic);
      if (!Number.isSafeInteger(o.partition) || o.partition < 0) throw new FloeError('VALIDATION', 'partition must be a non-negative integer');
      if (!Number.isSafeInteger(o.offset) || o.offset < 0) throw new FloeError('VALIDATION', 'offset must be a non-negative integer');
    }
    const topics = await this.checkPartitions(offsets.map((o) => [o.topic, o.partition]));
    // A manually assigned consumer writes offsets from outside the group: expired members are removed
    // first, so that one coming back starts from these offsets (see settleEmptyGroup).
    const group = state.mode === 'subscribe' ? await this.groups.getGroup(state.group) : await settleEmptyGroup(this.groups, state.group);
    const now = Date.now();
    const rows = offsets.map((o) => ({ topic: o.topic, topicId: o.topicId ?? topics.get(o.topic)!.id, partition: o.partition, offset: o.offset, metadata: o.metadata ?? null, generation: group.generation, time: now }));
    let guard: OffsetGuard;
    if (state.mode === 'subscribe') {
      const member = group.members[state.id];
      if (!member || !isLive(member, now)) {
        throw new FloeError('STALE_GENERATION', `Commit refused: consumer '${state.id}' is no longer a member of group '${state.group}' (its session expired or it left); nothing was written`);
      }
      const mine = new Set((group.assignment[state.id] ?? []).map(([t, p]) => topicPartitionKey(t, p)));
      for (const o of offsets) {
        if (!mine.has(topicPartitionKey(o.topic, o.partition))) {
          throw new FloeError('STALE_GENERATION', `Commit refused: partition ${o.topic}-${o.partition} is not assigned to '${state.id}' in generation ${group.generation}; nothing was written`);
        }
      }
      guard = { kind: 'member', member: state.id, generation: group.generation };
    } else {
      if (liveMembers(group, now).length > 0) {
        throw new FloeError('ILLEGAL_STATE', `Commit refused: group '${state.group}' has active members; a manually assigned consumer may commit only to a group without them`);
      }
      guard = { kind: 'unchanged', group };
    }
    const result = await this.groups.commitOffsets(state.group, rows, guard);
    if (!result.complete) throw new FloeError('STALE_GENERATION', refusedCommit(`Commit refused: group '${state.group}' changed while committing`, rows.length, result.written));
  }

  /**
   * Committed offsets of the given partitions; those without a commit, or whose commit was made on a
   * topic since deleted (and perhaps re-created under the same name), are left out.
   */
  async committed(group: string, id: string, partitions: Array<[string, number]>): Promise<CommittedOffset[]> {
    await this.get(group, id);
    for (const [t] of partitions) validateTopicName(t);
    const found = await this.groups.getOffsets(group, partitions);
    const current = new Set((await currentOffsets(this.topics, [...found.values()])).map((c) => topicPartitionKey(c.topic, c.partition)));
    return partitions.flatMap(([t, p]) => {
      const key = topicPartitionKey(t, p);
      const c = found.get(key);
      return c && current.has(key) ? [c] : [];
    });
  }
}

export function parseStrategy(v: unknown): Strategy {
  if (typeof v === 'string' && (STRATEGIES as readonly string[]).includes(v)) return v as Strategy;
  throw new FloeError('INVALID_CONSUMER_CONFIG', `partition.assignment.strategy must be one of ${STRATEGIES.join(', ')}`);
}

/** The topics an instance holds positions or returned-not-committed offsets of. */
function topicsRead(state: InstanceState): Set<string> {
  return new Set([...Object.keys(state.positions), ...Object.keys(state.pending)].map((k) => parseTopicPartitionKey(k)[0]));
}
