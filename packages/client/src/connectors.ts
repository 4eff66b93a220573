// Sink connectors from code: a topic's records written into a DynamoDB table or an S3 bucket of yours
// (README, "Connectors"). The settings are Kafka Connect's, dotted keys and all, as the API takes them.
import type { Floe } from './floe.ts';
import type { SeekTo } from './triggers.ts';

export type ConnectorType = 'dynamodb-sink' | 's3-sink';

/** RUNNING delivers; PAUSED keeps its offsets; FAILED stopped at a bad record (errors.tolerance=none) until resumed. */
export type ConnectorState = 'RUNNING' | 'PAUSED' | 'FAILED';

export interface ConnectorConfig {
  name: string;
  type: ConnectorType;
  topics: string[];
  /**
   * The sink's settings: `table.name` (dynamodb-sink) or `s3.bucket.name` (s3-sink), and the optional
   * keys of each; numbers and booleans are taken as their text, as Kafka Connect's REST API takes them.
   */
  config: Record<string, string | number | boolean>;
  /** `none` (the default) stops at a bad record; `all` skips it, to the dead-letter topic when one is named. */
  'errors.tolerance'?: 'none' | 'all';
  /** Where bad records go under `errors.tolerance=all`, with Kafka Connect's error headers; null for none. */
  'errors.deadletterqueue.topic.name'?: string | null;
}

/** What an update may change: anything but the name and the type. */
export type ConnectorChanges = Partial<Omit<ConnectorConfig, 'name' | 'type'>>;

/** A connector as the API shows it: its settings with every default filled in (all values strings), and its state. */
export interface ConnectorView {
  name: string;
  type: ConnectorType;
  topics: string[];
  config: Record<string, string>;
  'errors.tolerance': 'none' | 'all';
  'errors.deadletterqueue.topic.name': string | null;
  state: ConnectorState;
  /** Why a FAILED connector stopped: the record it stopped at. */
  error: { message: string; topic: string; partition: number; offset: number; time: number } | null;
  created_at: number;
  updated_at: number;
}

export interface ConnectorPartition {
  topic: string;
  partition: number;
  committed_offset: number;
  high_watermark: number;
  lag: number;
  /** Milliseconds since the oldest record not yet written was produced. */
  lag_ms: number;
  records_written: number;
  retry_at: number | null;
  last_error: { message: string; offset: number; time: number } | null;
}

export interface ConnectorDescription extends ConnectorView {
  /** Records not yet written, all partitions. */
  lag: number;
  records_written: number;
  /** The dead-letter topic and how many records it holds; null without one. */
  dead_letters: { topic: string; records: number } | null;
  partitions: ConnectorPartition[];
}

const path = (name?: string, action?: string) => `/floe/v1/connectors${name === undefined ? '' : `/${encodeURIComponent(name)}`}${action ? `/${action}` : ''}`;

/**
 * The sink connectors of one Floe.
 *
 * @example
 * const connectors = floe.connectors();
 * await connectors.create({ name: 'orders-to-ddb', type: 'dynamodb-sink', topics: ['orders'], config: { 'table.name': 'orders' } });
 * const { lag, state } = await connectors.describe('orders-to-ddb');
 */
export class Connectors {
  constructor(private readonly floe: Floe) {}

  /**
   * Creates a connector; the table or bucket must exist (the server checks it, and a table's keys). It
   * starts where its group `connect-<name>` stands, else at the log start.
   *
   * @example
   * await floe.connectors().create({ name: 'orders-archive', type: 's3-sink', topics: ['orders'], config: { 's3.bucket.name': 'my-archive', 'flush.size': 500 } });
   */
  create(config: ConnectorConfig): Promise<ConnectorView> {
    return this.floe.request('POST', path(), { body: config });
  }

  /** @example const names = (await floe.connectors().list()).map((c) => c.name); */
  async list(): Promise<ConnectorView[]> {
    return (await this.floe.request<{ connectors: ConnectorView[] }>('GET', path(), { retry: true })).connectors;
  }

  /**
   * Settings, state and per-partition progress: committed offset, lag, records written, the last error.
   *
   * @example
   * const caughtUp = (await floe.connectors().describe('orders-to-ddb')).lag === 0;
   */
  describe(name: string): Promise<ConnectorDescription> {
    return this.floe.request('GET', path(name), { retry: true });
  }

  /**
   * Changes what `changes` names (topics, config, error handling); the next batch uses it.
   *
   * @example
   * await floe.connectors().update('orders-to-ddb', { config: { 'table.name': 'orders', 'value.mapping': 'raw' } });
   */
  update(name: string, changes: ConnectorChanges): Promise<ConnectorView> {
    return this.floe.request('PATCH', path(name), { body: changes });
  }

  /** @example await floe.connectors().pause('orders-to-ddb'); */
  pause(name: string): Promise<ConnectorView> {
    return this.floe.request('POST', path(name, 'pause'));
  }

  /** Resumes a paused connector, or a failed one from the record it stopped at. @example await floe.connectors().resume('orders-to-ddb'); */
  resume(name: string): Promise<ConnectorView> {
    return this.floe.request('POST', path(name, 'resume'));
  }

  /**
   * Moves the connector's offsets (all its partitions, or one topic's, or one partition); a batch under
   * way cannot commit over them.
   *
   * @example
   * await floe.connectors().resetOffsets('orders-to-ddb', { to: 'earliest' }, { topic: 'orders', partition: 0 });
   */
  async resetOffsets(name: string, to: SeekTo, only: { topic?: string; partition?: number } = {}): Promise<Array<{ topic: string; partition: number; offset: number }>> {
    return (await this.floe.request<{ offsets: Array<{ topic: string; partition: number; offset: number }> }>('POST', path(name, 'offsets/reset'), { body: { ...to, ...only } })).offsets;
  }

  /** Its group's offsets stay: a connector re-created under the name resumes from them. @example await floe.connectors().delete('orders-to-ddb'); */
  async delete(name: string): Promise<void> {
    await this.floe.request('DELETE', path(name));
  }
}
