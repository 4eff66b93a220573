// The admin client, shaped like kafkajs's: topics through REST Proxy v3, offsets and groups through
// Floe's native endpoints. Offsets are strings, as kafkajs gives them.
import { BadRequestError, FloeError } from './errors.ts';
import type { Floe } from './floe.ts';
import { TopicMetadataCache } from './topic-metadata.ts';

export interface ITopicConfig {
  topic: string;
  numPartitions?: number;
  /** Only 1 (or -1): S3 and DynamoDB replicate. */
  replicationFactor?: number;
  configEntries?: Array<{ name: string; value: string }>;
}

export interface PartitionMetadata {
  partitionErrorCode: number;
  partitionId: number;
  leader: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
}

export interface TopicPartitionOffsets {
  partition: number;
  /** The high watermark (the next offset to be written), as kafkajs's `offset`. */
  offset: string;
  high: string;
  low: string;
}

/** kafkajs's ConfigResourceTypes: Floe has topic configs only. */
export const ConfigResourceTypes = { UNKNOWN: 0, TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const;

export interface ResourceConfigQuery {
  type: number;
  name: string;
  configNames?: string[];
}

export interface ConfigEntry {
  configName: string;
  configValue: string | null;
  isDefault: boolean;
  configSource: number;
  isSensitive: boolean;
  readOnly: boolean;
  configSynonyms: never[];
}

export interface GroupOffsets {
  topic: string;
  partitions: Array<{ partition: number; offset: string; metadata: string | null; lag: string | null; high: string | null }>;
}

export interface GroupDescription {
  groupId: string;
  state: string;
  protocolType: 'consumer';
  protocol: string;
  errorCode: number;
  generation: number;
  members: Array<{ memberId: string; clientId: string; clientHost: string; assignment: Array<{ topic: string; partitions: number[] }>; subscription: string[] | string | null }>;
}

interface V3Config {
  name: string;
  value: string | null;
  is_default: boolean;
  is_read_only: boolean;
  is_sensitive: boolean;
  source: string;
}

interface Describe {
  group_id: string;
  generation: number;
  state: string;
  strategy: string;
  members: Array<{ member_id: string; topics: string[] | null; topic_pattern: string | null; assignment: Array<{ topic: string; partition: number }> }>;
  offsets: Array<{ topic: string; partition: number; committed_offset: number; metadata: string | null; high_watermark: number | null; lag: number | null }>;
}

const t = (topic: string) => `/v3/clusters/floe/topics/${encodeURIComponent(topic)}`;
const g = (group: string) => `/floe/v1/groups/${encodeURIComponent(group)}`;
const CONFIG_SOURCE: Record<string, number> = { DYNAMIC_TOPIC_CONFIG: 1, DEFAULT_CONFIG: 5 };

/**
 * Administration of topics, configs, offsets and groups.
 *
 * @example
 * const admin = floe.admin();
 * await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 4 }] });
 * console.log(await admin.fetchTopicOffsets('orders'));
 */
export class Admin {
  private readonly metadata: TopicMetadataCache;

  constructor(private readonly floe: Floe) {
    this.metadata = new TopicMetadataCache(floe, 0);
  }

  /** Nothing to open over HTTP; kept for kafkajs's shape. @example `await admin.connect()` */
  async connect(): Promise<void> {}

  /** Nothing to close over HTTP; kept for kafkajs's shape. @example `await admin.disconnect()` */
  async disconnect(): Promise<void> {}

  /**
   * Creates topics; true when all were created, false when some already existed (as kafkajs).
   *
   * @example
   * const created = await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 4, configEntries: [{ name: 'retention.ms', value: '86400000' }] }] });
   */
  async createTopics(options: { topics: ITopicConfig[]; validateOnly?: boolean; waitForLeaders?: boolean; timeout?: number }): Promise<boolean> {
    if (options.validateOnly) throw new FloeError('validateOnly is not supported', { code: 40002, status: 0 });
    const results = await Promise.all(
      options.topics.map(async (topic) => {
        try {
          await this.floe.request('POST', '/v3/clusters/floe/topics', {
            body: {
              topic_name: topic.topic,
              ...(topic.numPartitions !== undefined && topic.numPartitions !== -1 ? { partitions_count: topic.numPartitions } : {}),
              ...(topic.replicationFactor !== undefined ? { replication_factor: topic.replicationFactor } : {}),
              configs: (topic.configEntries ?? []).map((c) => ({ name: c.name, value: c.value })),
            },
          });
          return true;
        } catch (e) {
          if (e instanceof BadRequestError && /already exists/i.test(e.message)) return false;
          throw e;
        }
      }),
    );
    return results.every(Boolean);
  }

  /**
   * Deletes topics (their records, offsets and group offsets go with them).
   *
   * @example
   * await admin.deleteTopics({ topics: ['orders'] });
   */
  async deleteTopics(options: { topics: string[]; timeout?: number }): Promise<void> {
    for (const topic of options.topics) {
      await this.floe.request('DELETE', t(topic));
      this.metadata.forget(topic);
    }
  }

  /**
   * The names of every topic.
   *
   * @example
   * const names = await admin.listTopics();
   */
  listTopics(): Promise<string[]> {
    return this.floe.request<string[]>('GET', '/topics', { retry: true });
  }

  /**
   * Partitions of the given topics (all topics when none are given), as kafkajs's metadata.
   *
   * @example
   * const { topics } = await admin.fetchTopicMetadata({ topics: ['orders'] });
   */
  async fetchTopicMetadata(options: { topics?: string[] } = {}): Promise<{ topics: Array<{ name: string; partitions: PartitionMetadata[] }> }> {
    const names = options.topics ?? (await this.listTopics());
    const topics = await Promise.all(
      names.map(async (name) => {
        const count = await this.metadata.partitionCount(name);
        return { name, partitions: Array.from({ length: count }, (_, p) => ({ partitionErrorCode: 0, partitionId: p, leader: 0, replicas: [0], isr: [0], offlineReplicas: [] })) };
      }),
    );
    return { topics };
  }

  /**
   * Each partition's high watermark (`offset`, `high`) and log start offset (`low`).
   *
   * @example
   * const [{ partition, high, low }] = await admin.fetchTopicOffsets('orders');
   */
  async fetchTopicOffsets(topic: string): Promise<TopicPartitionOffsets[]> {
    return Promise.all(
      (await this.partitions(topic)).map(async (p) => {
        const o = await this.offsets(topic, p);
        return { partition: p, offset: String(o.high_watermark), high: String(o.high_watermark), low: String(o.log_start_offset) };
      }),
    );
  }

  /**
   * Each partition's first offset with a timestamp at or after `timestamp` (ms); the high watermark
   * where no record is that recent. Without a timestamp, the high watermarks.
   *
   * @example
   * const offsets = await admin.fetchTopicOffsetsByTimestamp('orders', Date.now() - 3_600_000);
   */
  async fetchTopicOffsetsByTimestamp(topic: string, timestamp?: number): Promise<Array<{ partition: number; offset: string }>> {
    return Promise.all(
      (await this.partitions(topic)).map(async (p) => {
        const o = await this.offsets(topic, p, timestamp ?? -1);
        return { partition: p, offset: String(o.offset ?? o.high_watermark) };
      }),
    );
  }

  /**
   * Topic configs (all of them, or the named ones), as kafkajs's describeConfigs answers.
   *
   * @example
   * const { resources } = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'orders', configNames: ['retention.ms'] }] });
   */
  async describeConfigs(options: { resources: ResourceConfigQuery[]; includeSynonyms?: boolean }) {
    const resources = await Promise.all(
      options.resources.map(async (r) => {
        requireTopicResource(r.type);
        const list = await this.floe.request<{ data: V3Config[] }>('GET', `${t(r.name)}/configs`, { retry: true });
        const wanted = r.configNames && r.configNames.length > 0 ? new Set(r.configNames) : undefined;
        const configEntries: ConfigEntry[] = list.data
          .filter((c) => !wanted || wanted.has(c.name))
          .map((c) => ({ configName: c.name, configValue: c.value === null ? null : String(c.value), isDefault: c.is_default, configSource: CONFIG_SOURCE[c.source] ?? 0, isSensitive: c.is_sensitive, readOnly: c.is_read_only, configSynonyms: [] }));
        return { resourceType: r.type, resourceName: r.name, errorCode: 0, errorMessage: null, configEntries };
      }),
    );
    return { resources, throttleTime: 0 };
  }

  /**
   * Sets topic configs (the ones named; others keep their values).
   *
   * @example
   * await admin.alterConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'orders', configEntries: [{ name: 'retention.ms', value: '3600000' }] }] });
   */
  async alterConfigs(options: { validateOnly?: boolean; resources: Array<{ type: number; name: string; configEntries: Array<{ name: string; value: string | null }> }> }) {
    if (options.validateOnly) throw new FloeError('validateOnly is not supported', { code: 40002, status: 0 });
    const resources = [];
    for (const r of options.resources) {
      requireTopicResource(r.type);
      await this.floe.request('POST', `${t(r.name)}/configs:alter`, { body: { data: r.configEntries.map((c) => ({ name: c.name, value: c.value })) } });
      resources.push({ errorCode: 0, errorMessage: null, resourceName: r.name, resourceType: r.type });
    }
    return { resources, throttleTime: 0 };
  }

  /**
   * Every consumer group (with a member, an instance or committed offsets).
   *
   * @example
   * const { groups } = await admin.listGroups();
   */
  async listGroups(): Promise<{ groups: Array<{ groupId: string; protocolType: string; state: string }> }> {
    const r = await this.floe.request<{ groups: Array<{ group_id: string; state: string }> }>('GET', '/floe/v1/groups', { retry: true });
    return { groups: r.groups.map((x) => ({ groupId: x.group_id, protocolType: 'consumer', state: x.state })) };
  }

  /**
   * Groups with their state and live members (each with its assignment); an unknown group is
   * described as Dead with no members, as Kafka does.
   *
   * @example
   * const { groups: [billing] } = await admin.describeGroups(['billing']);
   */
  async describeGroups(groupIds: string[]): Promise<{ groups: GroupDescription[] }> {
    const groups = await Promise.all(
      groupIds.map(async (id): Promise<GroupDescription> => {
        const d = await this.describe(id);
        if (!d) return { groupId: id, state: 'Dead', protocolType: 'consumer', protocol: '', errorCode: 0, generation: -1, members: [] };
        return {
          groupId: d.group_id,
          state: d.state,
          protocolType: 'consumer',
          protocol: d.strategy,
          errorCode: 0,
          generation: d.generation,
          members: d.members.map((m) => ({ memberId: m.member_id, clientId: m.member_id, clientHost: '', assignment: byTopic(m.assignment), subscription: m.topics ?? m.topic_pattern })),
        };
      }),
    );
    return { groups };
  }

  /**
   * Committed offsets of a group, per topic and partition, with the lag behind the high watermark;
   * `'-1'` where nothing is committed (lag then counts from the log start).
   *
   * @example
   * const [{ partitions }] = await admin.fetchOffsets({ groupId: 'billing', topics: ['orders'] });
   */
  async fetchOffsets(options: { groupId: string; topics?: string[] }): Promise<GroupOffsets[]> {
    const d = await this.describe(options.groupId);
    const committed = d?.offsets ?? [];
    const topics = options.topics ?? [...new Set(committed.map((o) => o.topic))];
    return Promise.all(
      topics.map(async (topic) => ({
        topic,
        partitions: await Promise.all(
          (await this.partitions(topic)).map(async (partition) => {
            const c = committed.find((o) => o.topic === topic && o.partition === partition);
            if (c) return { partition, offset: String(c.committed_offset), metadata: c.metadata, lag: c.lag === null ? null : String(c.lag), high: c.high_watermark === null ? null : String(c.high_watermark) };
            const o = await this.offsets(topic, partition);
            return { partition, offset: '-1', metadata: null, lag: String(o.high_watermark - o.log_start_offset), high: String(o.high_watermark) };
          }),
        ),
      })),
    );
  }

  /**
   * Moves a group's offsets of a topic to the earliest or latest offset (kafkajs's `earliest`), to
   * the first offset at or after `timestamp`, or to `offset`; only while the group has no live members.
   *
   * @example
   * await admin.resetOffsets({ groupId: 'billing', topic: 'orders', earliest: true });
   * await admin.resetOffsets({ groupId: 'billing', topic: 'orders', timestamp: Date.now() - 3_600_000 });
   */
  async resetOffsets(options: { groupId: string; topic: string; earliest?: boolean; timestamp?: number; offset?: number; partitions?: number[] }): Promise<Array<{ topic: string; partition: number; offset: number }>> {
    const target =
      options.offset !== undefined ? { to: 'offset', offset: options.offset } : options.timestamp !== undefined ? { to: 'timestamp', timestamp: options.timestamp } : { to: options.earliest ? 'earliest' : 'latest' };
    const r = await this.floe.request<{ offsets: Array<{ topic: string; partition: number; offset: number }> }>('POST', `${g(options.groupId)}/offsets/reset`, {
      body: { topic: options.topic, ...(options.partitions ? { partitions: options.partitions } : {}), ...target },
    });
    return r.offsets;
  }

  /**
   * kafkajs's setOffsets: each listed partition's committed offset (clamped to the log).
   *
   * @example
   * await admin.setOffsets({ groupId: 'billing', topic: 'orders', partitions: [{ partition: 0, offset: '42' }] });
   */
  async setOffsets(options: { groupId: string; topic: string; partitions: Array<{ partition: number; offset: string }> }): Promise<void> {
    for (const p of options.partitions) await this.resetOffsets({ groupId: options.groupId, topic: options.topic, partitions: [p.partition], offset: Number(p.offset) });
  }

  /**
   * Kafka's DeleteGroups: each group with its committed offsets; a group with live members is refused
   * (40903, `BadRequestError`), an unknown one is a 404. Returns kafkajs's per-group results.
   *
   * @example
   * await admin.deleteGroups(['billing']);
   */
  async deleteGroups(groupIds: string[]): Promise<Array<{ groupId: string; errorCode: string }>> {
    const out: Array<{ groupId: string; errorCode: string }> = [];
    for (const id of groupIds) {
      await this.floe.request('DELETE', `/floe/v1/groups/${encodeURIComponent(id)}`);
      out.push({ groupId: id, errorCode: 'NONE' });
    }
    return out;
  }

  private async partitions(topic: string): Promise<number[]> {
    return Array.from({ length: await this.metadata.partitionCount(topic) }, (_, p) => p);
  }

  private offsets(topic: string, partition: number, timestamp?: number) {
    return this.floe.request<{ log_start_offset: number; high_watermark: number; offset?: number | null }>('GET', `/floe/v1/topics/${encodeURIComponent(topic)}/partitions/${partition}/offsets`, {
      query: { timestamp },
      retry: true,
    });
  }

  private async describe(group: string): Promise<Describe | undefined> {
    try {
      return await this.floe.request<Describe>('GET', g(group), { retry: true });
    } catch (e) {
      if (e instanceof FloeError && e.code === 404) return undefined;
      throw e;
    }
  }
}

function requireTopicResource(type: number): void {
  if (type !== ConfigResourceTypes.TOPIC) throw new BadRequestError('Floe has topic configs only (ConfigResourceTypes.TOPIC)', { code: 40002, status: 0 });
}

function byTopic(parts: Array<{ topic: string; partition: number }>): Array<{ topic: string; partitions: number[] }> {
  const m = new Map<string, number[]>();
  for (const p of parts) m.set(p.topic, [...(m.get(p.topic) ?? []), p.partition]);
  return [...m.entries()].map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) }));
}
