// Topic administration and the metadata cache the produce and fetch paths resolve topics through.
import { FloeError, TopicNotFoundError } from '../errors.ts';
import type { TopicItem } from '../model/topic.ts';
import type { CommitItem } from '../storage/commit.ts';
import { newTopicId } from '../storage/keys.ts';
import { RETRY, retrying } from '../storage/retry.ts';
import type { TopicsTable } from '../storage/topics-table.ts';
import { validateConfigs, type TopicConfigs } from './configs.ts';
import { validateTopicName } from './names.ts';

export const MAX_PARTITIONS = 10_000;

export interface Topic extends TopicItem {}

export interface CreateTopicInput {
  name: string;
  partitions?: number;
  configs?: Record<string, unknown>;
}

export interface TopicServiceOptions {
  defaultPartitions: number;
  autoCreate: boolean;
  /** How long a process trusts its cached view of a topic; the commit re-checks the id regardless. */
  cacheTtlMs?: number;
  /** Runs after a topic is deleted, with what it was (the log closes its partitions). */
  onDeleted?: (topic: Topic) => Promise<void>;
}

export class TopicService {
  private readonly cache = new Map<string, { topic: Topic; until: number }>();
  private readonly ttl: number;

  constructor(
    private readonly table: TopicsTable,
    private readonly options: TopicServiceOptions,
  ) {
    this.ttl = options.cacheTtlMs ?? 5_000;
  }

  get tableName(): string {
    return this.table.table;
  }

  async create(input: CreateTopicInput): Promise<Topic> {
    const name = validateTopicName(input.name);
    const partitions = input.partitions ?? this.options.defaultPartitions;
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS) {
      throw new FloeError('INVALID_CONFIG', `Number of partitions must be an integer between 1 and ${MAX_PARTITIONS}`);
    }
    const configs = validateConfigs(input.configs ?? {});
    const r = await this.table.create({ topic: name, id: newTopicId(), partitions, configs, createdAt: Date.now() });
    if (!r.created) throw new FloeError('TOPIC_ALREADY_EXISTS', `Topic '${name}' already exists.`);
    this.remember(r.item);
    return r.item;
  }

  /** The topic, from a consistent read. */
  async describe(name: string): Promise<Topic> {
    validateTopicName(name);
    const t = await this.table.get(name, true);
    if (!t) throw new TopicNotFoundError(name);
    this.remember(t);
    return t;
  }

  async list(): Promise<Topic[]> {
    const all = await this.table.list();
    return all.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
  }

  async delete(name: string): Promise<void> {
    const t = await this.describe(name);
    await this.table.delete(name, t.id);
    this.cache.delete(name);
    await this.options.onDeleted?.(t);
  }

  /** Whether the topic still has this id (a consistent read): not deleted, not re-created under its name. */
  async isCurrent(topic: Topic): Promise<boolean> {
    const t = await this.table.get(topic.topic, true);
    return t?.id === topic.id;
  }

  /**
   * Sets (or with null, resets to default) the given configs; the others keep their values. Optimistic:
   * the change is merged into the configs as read and written on condition nobody changed them since,
   * else read and merged again, so concurrent alters of different configs all take effect.
   */
  async alterConfigs(name: string, changes: Record<string, unknown>): Promise<Topic> {
    const resets = Object.entries(changes).filter(([, v]) => v === null).map(([k]) => k);
    const validated = validateConfigs(changes);
    return retrying(`altering the configs of topic '${name}'`, async () => {
      const t = await this.describe(name);
      const merged: TopicConfigs = { ...t.configs, ...validated };
      for (const k of resets) delete merged[k];
      const outcome = await this.table.setConfigs(t, merged);
      if (outcome === 'gone') throw new TopicNotFoundError(name);
      if (outcome === 'conflict') return RETRY;
      const updated = { ...t, configs: merged, version: (t.version ?? 0) + 1 };
      this.remember(updated);
      return updated;
    });
  }

  /** The commit item that checks the topic is still the one resolved (see TopicsTable). */
  sameTopicCheck(topic: Topic): CommitItem {
    return this.table.sameTopicCheckParams(topic);
  }

  /**
   * The topic for produce and fetch, from the cache when fresh. With `autoCreate` a missing topic is
   * created with the default partition count, as Kafka's auto.create.topics.enable does.
   */
  async resolve(name: string, opts: { autoCreate?: boolean } = {}): Promise<Topic> {
    const hit = this.cache.get(name);
    if (hit && hit.until > Date.now()) return hit.topic;
    validateTopicName(name);
    const t = await this.table.get(name, true);
    if (t) {
      this.remember(t);
      return t;
    }
    if (!(opts.autoCreate && this.options.autoCreate)) throw new TopicNotFoundError(name);
    const r = await this.table.create({ topic: name, id: newTopicId(), partitions: this.options.defaultPartitions, configs: {}, createdAt: Date.now() });
    this.remember(r.item);
    return r.item;
  }

  /** The topic auto-creation would make under this name; throws TopicNotFoundError when it is off. */
  prospective(name: string): Topic {
    validateTopicName(name);
    if (!this.options.autoCreate) throw new TopicNotFoundError(name);
    return { topic: name, id: '', partitions: this.options.defaultPartitions, configs: {}, createdAt: 0 };
  }

  /** Drops a cached topic, after a commit found that it was deleted or re-created. */
  forget(name: string): void {
    this.cache.delete(name);
  }

  private remember(t: Topic): void {
    this.cache.set(t.topic, { topic: t, until: Date.now() + this.ttl });
  }
}
