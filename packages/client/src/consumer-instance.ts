// One REST Proxy v2 consumer instance as the consumer uses it: create, subscribe, poll, commit, seek,
// heartbeat (the assignments call) and delete. The server loads, changes and saves the instance on
// every call, so two calls at once could lose one's change: calls here go one at a time.
import { ConsumerInstanceNotFoundError } from './errors.ts';
import type { Floe } from './floe.ts';

const BINARY_V2 = 'application/vnd.kafka.binary.v2+json';

/** A record as the records call answers it with `include=timestamp,headers` (base64 bytes). */
export interface WireConsumedRecord {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  timestamp?: number;
  headers?: Array<{ key: string; value: string | null }>;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface InstanceSettings {
  autoOffsetReset: 'earliest' | 'latest';
  /** The longest a records call waits for data (ms), at most 60 s. */
  maxWaitMs: number;
  maxBytes?: number;
  /** The instance's `isolation.level`; the server's default (read_uncommitted) when absent. */
  isolation?: 'read_committed' | 'read_uncommitted';
}

/**
 * A consumer instance of a group on the server; `create` makes a new one (a new group member).
 *
 * @example
 * const instance = new ConsumerInstance(floe, 'billing', { autoOffsetReset: 'earliest', maxWaitMs: 1000 });
 * await instance.create();
 * await instance.subscribe({ topics: ['orders'] });
 * const records = await instance.records();
 */
export class ConsumerInstance {
  private base?: string;
  private id?: string;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly floe: Floe,
    readonly groupId: string,
    private readonly settings: InstanceSettings,
  ) {}

  /** The instance id (the member id in the group), once created. @example `instance.memberId` */
  get memberId(): string | undefined {
    return this.id;
  }

  /** Whether an instance exists on the server as far as this client knows. @example `if (!instance.exists) await instance.create()` */
  get exists(): boolean {
    return this.base !== undefined;
  }

  /**
   * Creates the instance: binary format, auto commit off (the consumer commits what its handlers
   * finished), `auto.offset.reset` for partitions without a committed offset.
   *
   * @example
   * await instance.create();
   */
  async create(): Promise<string> {
    const answer = await this.serial(() =>
      this.floe.request<{ instance_id: string }>('POST', `/consumers/${encodeURIComponent(this.groupId)}`, {
        body: { format: 'binary', 'auto.offset.reset': this.settings.autoOffsetReset, 'auto.commit.enable': 'false', 'consumer.request.timeout.ms': String(this.settings.maxWaitMs), ...(this.settings.isolation ? { 'isolation.level': this.settings.isolation } : {}) },
        retry: true,
      }),
    );
    this.id = answer.instance_id;
    this.base = `/consumers/${encodeURIComponent(this.groupId)}/instances/${encodeURIComponent(answer.instance_id)}`;
    return answer.instance_id;
  }

  /** Forgets the instance (it expired or was deleted); the next `create` makes a new one. @example `instance.forget()` */
  forget(): void {
    this.base = undefined;
    this.id = undefined;
  }

  /**
   * Joins the group with these topics, or every topic matching the pattern.
   *
   * @example
   * await instance.subscribe({ topics: ['orders'] });
   */
  subscribe(sub: { topics: string[] } | { pattern: string }): Promise<void> {
    const body = 'topics' in sub ? { topics: sub.topics } : { topic_pattern: sub.pattern };
    return this.call('POST', '/subscription', { body, retry: true });
  }

  /**
   * One long poll: the records of the owned partitions from the instance's positions. Not retried:
   * the server moves the positions on, so the caller puts them back after a lost answer.
   *
   * @example
   * const records = await instance.records();
   */
  async records(): Promise<WireConsumedRecord[]> {
    const query = { timeout: this.settings.maxWaitMs, max_bytes: this.settings.maxBytes, include: 'timestamp,headers' };
    return (await this.call<WireConsumedRecord[]>('GET', '/records', { query, accept: BINARY_V2 })) ?? [];
  }

  /**
   * The partitions the group gives this member now; asking is a heartbeat.
   *
   * @example
   * const owned = await instance.assignments();
   */
  async assignments(): Promise<TopicPartition[]> {
    return (await this.call<{ partitions: TopicPartition[] }>('GET', '/assignments', { retry: true })).partitions;
  }

  /**
   * Commits, for each partition, the offset of the last record processed (the server stores the
   * next offset, offset + 1, as the REST Proxy does).
   *
   * @example
   * await instance.commit([{ topic: 'orders', partition: 0, offset: 41 }]);
   */
  commit(lastProcessed: Array<TopicPartition & { offset: number }>): Promise<void> {
    return this.call('POST', '/offsets', { body: { offsets: lastProcessed }, retry: true });
  }

  /**
   * Sets where the next records call reads these partitions (only partitions the instance owns).
   *
   * @example
   * await instance.seek([{ topic: 'orders', partition: 0, offset: 10 }]);
   */
  seek(positions: Array<TopicPartition & { offset: number }>): Promise<void> {
    return this.call('POST', '/positions', { body: { offsets: positions }, retry: true });
  }

  /**
   * Sets these partitions to the start or the end of their logs.
   *
   * @example
   * await instance.seekToEdge([{ topic: 'orders', partition: 0 }], 'beginning');
   */
  seekToEdge(partitions: TopicPartition[], edge: 'beginning' | 'end'): Promise<void> {
    return this.call('POST', `/positions/${edge}`, { body: { partitions }, retry: true });
  }

  /**
   * Deletes the instance: the member leaves the group at once; one already gone is not an error.
   *
   * @example
   * await instance.delete();
   */
  async delete(): Promise<void> {
    if (!this.base) return;
    try {
      await this.call('DELETE', '', { retry: true });
    } catch (e) {
      if (!(e instanceof ConsumerInstanceNotFoundError)) throw e;
    } finally {
      this.forget();
    }
  }

  private call<T>(method: string, suffix: string, options: Parameters<Floe['request']>[2]): Promise<T> {
    return this.serial(() => {
      if (!this.base) throw new ConsumerInstanceNotFoundError('Consumer instance not created', { code: 40403, status: 0 });
      return this.floe.request<T>(method, this.base + suffix, options);
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }
}
