// Topic triggers from code: a topic invokes a function with MSK-shaped events (README, "Triggers").
// The settings are the API's own, snake_case as Lambda's event source mapping names them.
import type { Floe } from './floe.ts';

export type TriggerTarget =
  | { type: 'lambda'; function: string; timeout_ms?: number }
  /** Local runtime only: an ES module's export, loaded by the server. */
  | { type: 'module'; path: string; export?: string; timeout_ms?: number }
  /** Local runtime only: the event POSTed, the JSON answer its result. */
  | { type: 'http'; url: string; timeout_ms?: number };

export interface TriggerConfig {
  name: string;
  topic?: string;
  topics?: string[];
  target: TriggerTarget;
  group_id?: string;
  batch_size?: number;
  max_batching_window_ms?: number;
  starting_position?: 'LATEST' | 'TRIM_HORIZON' | 'AT_TIMESTAMP';
  starting_timestamp?: number;
  /** Lambda's filter criteria: each pattern a JSON string (or object) on `value` and `key`. */
  filters?: Array<{ pattern: string | object }>;
  retry_attempts?: number;
  maximum_record_age_ms?: number;
  bisect_on_error?: boolean;
  dead_letter_topic?: string;
  parallelism?: { by: 'key'; max: number } | null;
  enabled?: boolean;
}

/** A trigger as the API shows it: its settings with every default filled in. */
export type TriggerView = Required<Omit<TriggerConfig, 'topic' | 'starting_timestamp'>> & { id: string; starting_timestamp: number | null; created_at: number; updated_at: number };

export interface TriggerPartition {
  topic: string;
  partition: number;
  committed_offset: number;
  high_watermark: number;
  lag: number;
  /** Milliseconds since the oldest record not yet processed was written. */
  lag_ms: number;
  attempts: number;
  retry_at: number | null;
  last_error: { message: string; offset: number; time: number } | null;
  delivered: number;
  filtered: number;
  dead_letters: number;
  invocations: number;
  delivering: boolean;
}

export interface TriggerDescription extends TriggerView {
  state: 'Enabled' | 'Disabled';
  partitions: TriggerPartition[];
  dead_letters: { topic: string; records: number };
  redrives: Array<{ partition: number; next_offset: number; end_offset: number; done: boolean }>;
}

export type SeekTo = { to: 'earliest' | 'latest' } | { to: 'offset'; offset: number } | { to: 'timestamp'; timestamp: number };

const path = (name?: string, action?: string) => `/floe/v1/triggers${name === undefined ? '' : `/${encodeURIComponent(name)}`}${action ? `/${action}` : ''}`;

/**
 * The triggers of one Floe.
 *
 * @example
 * const triggers = floe.triggers();
 * await triggers.create({ name: 'billing', topic: 'orders', target: { type: 'lambda', function: 'billing-handler' } });
 * const { partitions } = await triggers.describe('billing');
 */
export class Triggers {
  constructor(private readonly floe: Floe) {}

  /**
   * Creates a trigger; its starting position is resolved at once, so nothing produced after this call is missed.
   *
   * @example
   * await floe.triggers().create({ name: 'audit', topic: 'orders', target: { type: 'module', path: './handlers/audit.ts' }, batch_size: 500 });
   */
  create(config: TriggerConfig): Promise<TriggerView> {
    return this.floe.request('POST', path(), { body: config });
  }

  /** @example const all = await floe.triggers().list(); */
  async list(): Promise<TriggerView[]> {
    return (await this.floe.request<{ triggers: TriggerView[] }>('GET', path(), { retry: true })).triggers;
  }

  /**
   * Settings and per-partition progress: committed offset, lag in records and in milliseconds, retries, errors.
   *
   * @example
   * const lag = (await floe.triggers().describe('audit')).partitions.map((p) => p.lag_ms);
   */
  describe(name: string): Promise<TriggerDescription> {
    return this.floe.request('GET', path(name), { retry: true });
  }

  /**
   * Changes any setting but the name, without recreating the trigger.
   *
   * @example
   * await floe.triggers().update('audit', { batch_size: 50, filters: [{ pattern: { value: { kind: ['refund'] } } }] });
   */
  update(name: string, changes: Partial<Omit<TriggerConfig, 'name'>>): Promise<TriggerView> {
    return this.floe.request('PATCH', path(name), { body: changes });
  }

  /** @example await floe.triggers().pause('audit'); */
  pause(name: string): Promise<TriggerView> {
    return this.floe.request('POST', path(name, 'pause'));
  }

  /** @example await floe.triggers().resume('audit'); */
  resume(name: string): Promise<TriggerView> {
    return this.floe.request('POST', path(name, 'resume'));
  }

  /**
   * Moves the trigger's position (all its partitions, or one topic's, or one partition).
   *
   * @example
   * await floe.triggers().seek('audit', { to: 'timestamp', timestamp: Date.now() - 3600_000 });
   */
  async seek(name: string, to: SeekTo, only: { topic?: string; partition?: number } = {}): Promise<Array<{ topic: string; partition: number; offset: number }>> {
    return (await this.floe.request<{ positions: Array<{ topic: string; partition: number; offset: number }> }>('POST', path(name, 'seek'), { body: { ...to, ...only } })).positions;
  }

  /**
   * Sends dead letters back through the function: all, or a range of the dead-letter topic's offsets.
   *
   * @example
   * await floe.triggers().redrive('audit', { partition: 0, from_offset: 10, to_offset: 20 });
   */
  redrive(name: string, range: { partition?: number; from_offset?: number; to_offset?: number } = {}): Promise<{ redrives: Array<{ partition: number; from_offset: number; end_offset: number; records: number }> }> {
    return this.floe.request('POST', path(name, 'redrive'), { body: range });
  }

  /** @example await floe.triggers().delete('audit'); */
  async delete(name: string): Promise<void> {
    await this.floe.request('DELETE', path(name));
  }
}
