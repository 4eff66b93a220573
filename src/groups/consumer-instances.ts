// REST Proxy consumer instances. Everything an instance is lives in DynamoDB, so any process (any
// Lambda) can serve any request of any instance; nothing here keeps one in memory between requests.
import { randomUUID } from 'node:crypto';
import { FloeError } from '../errors.ts';
import type { IsolationLevel } from '../fetch/fetch.ts';
import type { InstanceState, Strategy } from '../model/group.ts';
import { INSTANCE_IDLE_MS, type GroupsTable } from '../storage/groups-table.ts';
import { STRATEGIES } from './assignors.ts';
import type { ConsumerOffsets } from './consumer-offsets.ts';
import type { GroupCoordinator } from './coordinator.ts';
import { topicsRead, type Positions } from './positions.ts';

export interface InstanceConfig {
  name?: string;
  format?: 'binary' | 'json';
  autoOffsetReset?: 'earliest' | 'latest' | 'none';
  autoCommit?: boolean;
  fetchMinBytes?: number;
  requestTimeoutMs?: number;
  strategy?: Strategy;
  isolation?: IsolationLevel;
}

const NAME = /^[a-zA-Z0-9._-]{1,249}$/;

export function validateGroupId(group: string): string {
  if (!NAME.test(group)) throw new FloeError('BAD_REQUEST', `Consumer group id '${group.slice(0, 64)}' is invalid: use 1 to 249 of [a-zA-Z0-9._-]`);
  return group;
}

export function parseStrategy(v: unknown): Strategy {
  if (typeof v === 'string' && (STRATEGIES as readonly string[]).includes(v)) return v as Strategy;
  throw new FloeError('INVALID_CONSUMER_CONFIG', `partition.assignment.strategy must be one of ${STRATEGIES.join(', ')}`);
}

export class ConsumerInstances {
  constructor(
    private readonly groups: GroupsTable,
    private readonly coordinator: GroupCoordinator,
    private readonly positions: Positions,
    private readonly offsets: ConsumerOffsets,
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
      isolation: config.isolation ?? 'read_uncommitted',
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

  /** Saves what a request changed; an instance deleted meanwhile stays deleted (40403). */
  async save(state: InstanceState): Promise<void> {
    state.lastUsed = Date.now();
    const read = topicsRead(state);
    state.topicIds = Object.fromEntries(Object.entries(state.topicIds).filter(([t]) => read.has(t)));
    if (!(await this.groups.saveInstance(state))) throw new FloeError('CONSUMER_INSTANCE_NOT_FOUND', 'Consumer instance not found.');
  }

  private async destroy(state: InstanceState): Promise<void> {
    // As Kafka's consumer does on close: with auto commit, what the last records call returned is
    // committed before the member leaves (a commit the group refuses loses nothing but a re-read).
    if (state.autoCommit && Object.keys(state.pending).length > 0) {
      await this.positions.forgetRecreatedTopics(state);
      await this.offsets.autoCommit(state);
    }
    if (state.mode === 'subscribe') await this.coordinator.leave(state.group, state.id);
    await this.groups.deleteInstance(state.group, state.id);
  }
}
