// Topic triggers as the API manages them: create (resolving the starting position to offsets at once,
// so nothing produced after the create call is missed), list, describe with per-partition progress and
// lag, PATCH any setting, pause and resume, seek, delete, and redrive of dead letters. Delivery itself is
// the dispatcher's (src/triggers/dispatcher.ts); this module only writes what it reads.
import { ulid } from 'ulid';
import { FloeError } from '../errors.ts';
import type { Fetcher } from '../fetch/fetch.ts';
import type { CommittedOffset } from '../model/group.ts';
import type { LaneState, Trigger, TriggerSettings } from '../model/trigger.ts';
import type { AwsClients } from '../storage/clients.ts';
import { Commit, sendCommit } from '../storage/commit.ts';
import type { GroupsTable } from '../storage/groups-table.ts';
import { laneSortKey, REDRIVE_PREFIX, redriveSortKey } from '../storage/keys.ts';
import type { TriggersTable } from '../storage/triggers-table.ts';
import type { Topic, TopicService } from '../topics/topics.ts';
import { mapBounded } from '../map-bounded.ts';
import { settingsForCreate, settingsForPatch, settingsView, validateTriggerName, type TargetPolicy } from './settings.ts';

export type SeekTarget = { to: 'earliest' } | { to: 'latest' } | { to: 'offset'; offset: number } | { to: 'timestamp'; timestamp: number };

export interface TriggerServiceDeps {
  clients: AwsClients;
  triggers: TriggersTable;
  groups: GroupsTable;
  topics: TopicService;
  fetcher: Fetcher;
  region: string;
  policy: TargetPolicy;
  /** Told of every change, so a dispatcher in this process acts on it at once. */
  onChange?: (trigger: Trigger, redrives?: number[]) => void;
}

/**
 * Where a trigger's lane stands on a partition: its committed offset (the log start when it has none,
 * when it fell below the log start, or when it belongs to an earlier topic of the name), and the
 * records from there to the high watermark.
 */
export function laneProgress(c: CommittedOffset | undefined, topic: Pick<Topic, 'id'>, o: { logStartOffset: number; highWatermark: number }): { committed: number; lag: number } {
  const committed = c && (c.topicId === null || c.topicId === topic.id) ? Math.max(c.offset, o.logStartOffset) : o.logStartOffset;
  return { committed, lag: Math.max(0, o.highWatermark - committed) };
}

function notFound(name: string): FloeError {
  return new FloeError('TRIGGER_NOT_FOUND', `Trigger '${name}' not found.`);
}

export class TriggerService {
  constructor(private readonly deps: TriggerServiceDeps) {}

  /** The topics, created with the default partition count when missing and auto-creation is on (as a subscribing Kafka consumer may). */
  private async topicsOf(names: string[]): Promise<Topic[]> {
    return Promise.all(names.map((n) => this.deps.topics.resolve(n, { autoCreate: true })));
  }

  async create(body: unknown) {
    const s = settingsForCreate(body, this.deps.policy);
    const { triggers } = this.deps;
    if (await triggers.get(s.name)) throw new FloeError('TRIGGER_ALREADY_EXISTS', `Trigger '${s.name}' already exists.`);
    const topics = await this.topicsOf(s.topics);
    await this.ensureDeadLetterTopic(s, topics);
    // Lanes a deleted trigger of this name left behind would carry its retry state into this one.
    await triggers.deleteLanes(s.name);
    await this.startPositions(s, topics);
    const now = Date.now();
    const t: Trigger = { ...s, id: `arn:floe:trigger:${this.deps.region}:${s.name}/${ulid(now)}`, createdAt: now, updatedAt: now, version: 1 };
    if (!(await triggers.create(t))) throw new FloeError('TRIGGER_ALREADY_EXISTS', `Trigger '${s.name}' already exists.`);
    this.deps.onChange?.(t);
    return settingsView(t);
  }

  /** The dead-letter topic exists from the start (as many partitions as the largest source), so its letters can always be written. */
  private async ensureDeadLetterTopic(s: TriggerSettings, topics: Topic[]): Promise<void> {
    try {
      await this.deps.topics.describe(s.deadLetterTopic);
    } catch (e) {
      if (!(e instanceof FloeError && e.code === 'TOPIC_NOT_FOUND')) throw e;
      await this.deps.topics.create({ name: s.deadLetterTopic, partitions: Math.max(...topics.map((t) => t.partitions)) }).catch((err: unknown) => {
        if (!(err instanceof FloeError && err.code === 'TOPIC_ALREADY_EXISTS')) throw err;
      });
    }
  }

  /**
   * The starting position, resolved now to an offset per partition and committed for the trigger's group
   * (for partitions it has no offset of yet, as a Kafka consumer's reset applies only then). Partitions
   * added later start at their log start, so none of their records is missed.
   */
  private async startPositions(s: TriggerSettings, topics: Topic[]): Promise<void> {
    const { groups, fetcher } = this.deps;
    const rows = [];
    const now = Date.now();
    for (const t of topics) {
      const partitions = [...Array(t.partitions).keys()];
      const existing = await groups.getOffsets(s.group, partitions.map((p) => [t.topic, p]));
      const have = new Set([...existing.values()].filter((o) => o.topicId === null || o.topicId === t.id).map((o) => o.partition));
      for (const p of partitions) {
        if (have.has(p)) continue;
        const o = await fetcher.offsets(t.topic, p);
        const offset =
          s.startingPosition === 'TRIM_HORIZON' ? o.logStartOffset : s.startingPosition === 'LATEST' ? o.highWatermark : ((await fetcher.offsetForTime(t.topic, p, s.startingTimestamp!)) ?? o.highWatermark);
        rows.push({ topic: t.topic, topicId: t.id, partition: p, offset, metadata: null, generation: -1, time: now });
      }
    }
    if (rows.length === 0) return;
    const state = await groups.getGroup(s.group);
    const r = await groups.commitOffsets(s.group, rows, { kind: 'unchanged', group: state });
    if (!r.complete) throw new FloeError('ILLEGAL_STATE', `group '${s.group}' changed while the trigger's starting offsets were written; try again`);
  }

  async get(name: string): Promise<Trigger> {
    validateTriggerName(name);
    const t = await this.deps.triggers.get(name);
    if (!t) throw notFound(name);
    return t;
  }

  /** The users' triggers: the internal ones of tables and connectors are left out (their own APIs show them). */
  async list() {
    return (await this.deps.triggers.list()).filter((t) => t.target.type !== 'table' && t.target.type !== 'connector').map(settingsView);
  }

  /** Every trigger Floe keeps for itself with a target of this kind. */
  async listInternal(type: 'table' | 'connector'): Promise<Trigger[]> {
    return (await this.deps.triggers.list()).filter((t) => t.target.type === type);
  }

  /**
   * Replaces an internal trigger's settings on condition it is unchanged since `current` was read (false
   * when it changed meanwhile); topics it did not read before start from their log start.
   */
  async replaceInternal(current: Trigger, next: Trigger): Promise<boolean> {
    const added = next.topics.filter((x) => !current.topics.includes(x));
    if (added.length > 0) await this.startPositions(next, await Promise.all(added.map((n) => this.deps.topics.describe(n))));
    const ok = await this.deps.triggers.replace(next, current.version);
    if (ok) this.deps.onChange?.(next);
    return ok;
  }

  /**
   * Creates a trigger Floe keeps for itself (a table's): no name rules, no dead-letter topic made (its
   * target never gives a record up), the starting offsets committed as for any trigger. A leftover of the
   * name (and its lanes) is replaced.
   */
  async createInternal(t: Trigger): Promise<void> {
    const topics = await Promise.all(t.topics.map((n) => this.deps.topics.describe(n)));
    await this.deps.triggers.delete(t.name);
    await this.startPositions(t, topics);
    if (!(await this.deps.triggers.create(t))) throw new FloeError('ILLEGAL_STATE', `trigger '${t.name}' was created meanwhile; try again`);
    this.deps.onChange?.(t);
  }

  /** Deletes a trigger Floe keeps for itself, with its lanes; false when it was not there. */
  async deleteInternal(name: string): Promise<boolean> {
    const removed = await this.deps.triggers.delete(name);
    this.deps.onChange?.({ name } as Trigger);
    return removed;
  }

  /** A trigger by name, whatever its kind (internal ones included); undefined when there is none. */
  async find(name: string): Promise<Trigger | undefined> {
    return this.deps.triggers.get(name);
  }

  /** The settings, and per partition: committed offset, lag in records and in ms, retries, errors, dead letters. */
  async describe(name: string) {
    return this.describeTrigger(await this.get(name));
  }

  /** The describe of a trigger already read (an internal one, which `get` would refuse by its name). */
  async describeTrigger(t: Trigger) {
    const name = t.name;
    const { triggers, groups, fetcher } = this.deps;
    const lanes = new Map<string, LaneState>((await triggers.lanes(name)).map((l) => [l.key, l]));
    const now = Date.now();
    const partitions: unknown[] = [];
    for (const topic of await Promise.all(t.topics.map((n) => this.deps.topics.describe(n))).catch(() => [] as Topic[])) {
      const ps = [...Array(topic.partitions).keys()];
      const offsets = await groups.getOffsets(t.group, ps.map((p) => [topic.topic, p])).catch(() => new Map());
      await mapBounded(ps, 16, async (p) => {
        const o = await fetcher.offsets(topic.topic, p);
        const { committed, lag } = laneProgress([...offsets.values()].find((x) => x.partition === p && x.topic === topic.topic), topic, o);
        let lagMs = 0;
        if (lag > 0) {
          // Time since the oldest record not yet processed (its timestamp), as a consumer's time lag.
          const r = await fetcher.fetch({ topic: topic.topic, partition: p, offset: committed, maxRecords: 1, maxBytes: 1 }).catch(() => undefined);
          const oldest = r?.records[0]?.timestamp;
          lagMs = oldest === undefined ? 0 : Math.max(0, now - oldest);
        }
        const l = lanes.get(laneSortKey(topic.topic, p));
        partitions.push({
          topic: topic.topic,
          partition: p,
          committed_offset: committed,
          high_watermark: o.highWatermark,
          lag,
          lag_ms: lagMs,
          attempts: l?.attempts ?? 0,
          retry_at: l && l.retryAt > now ? l.retryAt : null,
          bisecting: l?.bisectLimit ? { batch_limit: l.bisectLimit, until_offset: l.bisectUntil } : null,
          last_error: l?.lastError ? { message: l.lastError.message, offset: l.lastError.offset, time: l.lastError.at } : null,
          delivered: l?.delivered ?? 0,
          filtered: l?.filtered ?? 0,
          dead_letters: l?.deadLetters ?? 0,
          invocations: l?.invocations ?? 0,
          delivering: Boolean(l?.owner && l.until > now),
        });
      });
    }
    partitions.sort((a, b) => {
      const x = a as { topic: string; partition: number };
      const y = b as { topic: string; partition: number };
      return x.topic === y.topic ? x.partition - y.partition : x.topic < y.topic ? -1 : 1;
    });
    const redrives = [...lanes.values()]
      .filter((l) => l.key.startsWith(REDRIVE_PREFIX))
      .map((l) => ({ partition: Number(l.key.slice(REDRIVE_PREFIX.length)), next_offset: l.next, end_offset: l.end, done: (l.next ?? 0) >= (l.end ?? 0), delivered: l.delivered, dead_letters: l.deadLetters, last_error: l.lastError }));
    const dlq = await this.deps.topics.describe(t.deadLetterTopic).then(
      async (d) => {
        let records = 0;
        for (let p = 0; p < d.partitions; p++) {
          const o = await fetcher.offsets(d.topic, p);
          records += o.highWatermark - o.logStartOffset;
        }
        return { topic: d.topic, records };
      },
      () => ({ topic: t.deadLetterTopic, records: 0 }),
    );
    return { ...settingsView(t), state: t.enabled ? 'Enabled' : 'Disabled', partitions, dead_letters: dlq, redrives };
  }

  async patch(name: string, body: unknown) {
    for (let attempt = 0; ; attempt++) {
      const current = await this.get(name);
      const s = settingsForPatch(body, current, this.deps.policy);
      const added = s.topics.filter((x) => !current.topics.includes(x));
      const topics = await this.topicsOf(s.topics);
      if (s.deadLetterTopic !== current.deadLetterTopic) await this.ensureDeadLetterTopic(s, topics);
      if (added.length > 0 || s.group !== current.group) await this.startPositions(s, topics);
      const next: Trigger = { ...current, ...s, updatedAt: Date.now(), version: current.version + 1 };
      if (await this.deps.triggers.replace(next, current.version)) {
        this.deps.onChange?.(next);
        return settingsView(next);
      }
      if (attempt >= 4) throw new FloeError('ILLEGAL_STATE', `trigger '${name}' kept changing while it was being changed; try again`);
    }
  }

  async setEnabled(name: string, enabled: boolean) {
    return this.patch(name, { enabled });
  }

  async delete(name: string): Promise<void> {
    validateTriggerName(name);
    if (!(await this.deps.triggers.delete(name))) throw notFound(name);
    this.deps.onChange?.({ name } as Trigger);
  }

  /**
   * Moves the trigger's partitions (all, or one topic's, or one) to a new position. Each lane's lease
   * is fenced in the same transaction, so a delivery under way cannot commit over the new position;
   * its retry state starts afresh.
   */
  async seek(name: string, target: SeekTarget, only?: { topic?: string; partition?: number }) {
    return this.seekTrigger(await this.get(name), target, only);
  }

  /** The seek of a trigger already read (a table's internal one, which `get` would refuse by its name). */
  async seekTrigger(t: Trigger, target: SeekTarget, only?: { topic?: string; partition?: number }) {
    const name = t.name;
    const { fetcher, groups, triggers, clients } = this.deps;
    const names = only?.topic ? [only.topic] : t.topics;
    if (only?.topic && !t.topics.includes(only.topic)) throw new FloeError('BAD_REQUEST', `topic '${only.topic}' is not one of trigger '${name}''s topics`);
    const out: Array<{ topic: string; partition: number; offset: number }> = [];
    for (const topic of await Promise.all(names.map((n) => this.deps.topics.describe(n)))) {
      const ps = only?.partition !== undefined ? [only.partition] : [...Array(topic.partitions).keys()];
      for (const p of ps) if (!Number.isInteger(p) || p < 0 || p >= topic.partitions) throw new FloeError('PARTITION_NOT_FOUND', `Partition ${p} of topic '${topic.topic}' not found.`);
      await mapBounded(ps, 16, async (p) => {
        const o = await fetcher.offsets(topic.topic, p);
        let offset: number;
        if (target.to === 'earliest') offset = o.logStartOffset;
        else if (target.to === 'latest') offset = o.highWatermark;
        else if (target.to === 'offset') offset = Math.min(Math.max(target.offset, o.logStartOffset), o.highWatermark);
        else offset = (await fetcher.offsetForTime(topic.topic, p, target.timestamp)) ?? o.highWatermark;
        const commit = new Commit()
          .add(triggers.resetLaneParams(t.name, laneSortKey(topic.topic, p)))
          .add(groups.offsetPutParams(t.group, { topic: topic.topic, topicId: topic.id, partition: p, offset, metadata: null, generation: -1, time: Date.now() }));
        const r = await sendCommit(clients, commit);
        if (!r.committed) throw new FloeError('ILLEGAL_STATE', `seek of ${topic.topic}-${p} was refused (${r.reason}); try again`);
        out.push({ topic: topic.topic, partition: p, offset });
      });
    }
    this.deps.onChange?.(t);
    return out.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  }

  /**
   * Sends dead letters back through the function: those of one dead-letter partition or all, from
   * `from` (inclusive) to `to` (inclusive), by their offsets in the dead-letter topic. A letter that
   * fails again goes through the same retries and lands in the dead-letter topic once more.
   */
  async redrive(name: string, range: { partition?: number; from?: number; to?: number }) {
    const t = await this.get(name);
    const dlq = await this.deps.topics.describe(t.deadLetterTopic);
    const ps = range.partition !== undefined ? [range.partition] : [...Array(dlq.partitions).keys()];
    for (const p of ps) if (!Number.isInteger(p) || p < 0 || p >= dlq.partitions) throw new FloeError('PARTITION_NOT_FOUND', `Partition ${p} of topic '${dlq.topic}' not found.`);
    const out: Array<{ partition: number; from_offset: number; end_offset: number; records: number }> = [];
    for (const p of ps) {
      const o = await this.deps.fetcher.offsets(dlq.topic, p);
      const next = Math.max(range.from ?? 0, o.logStartOffset);
      const end = Math.min(range.to === undefined ? o.highWatermark : range.to + 1, o.highWatermark);
      if (next >= end) continue;
      await this.deps.triggers.resetLane(t.name, redriveSortKey(p), { next, end, lastError: null });
      out.push({ partition: p, from_offset: next, end_offset: end, records: end - next });
    }
    this.deps.onChange?.(t, out.map((r) => r.partition));
    return { trigger: t.name, dead_letter_topic: dlq.topic, redrives: out };
  }
}
