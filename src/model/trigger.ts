// A topic trigger as stored: what it reads, what it calls, and how it treats failures; and per source
// partition (a "lane") the lease that makes one dispatcher its only deliverer, with its retry state.
// Plain types shared by storage, the trigger service and the dispatcher.

export type StartingPosition = 'LATEST' | 'TRIM_HORIZON' | 'AT_TIMESTAMP';

/**
 * What a trigger calls. `lambda` works in AWS and against LocalStack; `module` and `http` run user code
 * or reach any URL from the server, so only the local runtime accepts them.
 */
export type TriggerTarget =
  | { type: 'lambda'; function: string; timeoutMs: number }
  | { type: 'module'; path: string; export: string; timeoutMs: number }
  | { type: 'http'; url: string; timeoutMs: number }
  /**
   * Floe's own table writer (src/tables/writer.ts): the latest value per key into the tables table.
   * Only a table's internal trigger has it; the triggers API neither accepts nor shows it.
   */
  | { type: 'table'; table: string; id: string; timeoutMs: number }
  /**
   * A sink connector (src/connectors/): Floe's own writer into a user's DynamoDB table or S3 bucket.
   * Only a connector's internal trigger has it; the connectors API manages it.
   */
  | { type: 'connector'; connector: ConnectorSpec; timeoutMs: number };

export type ConnectorType = 'dynamodb-sink' | 's3-sink';

/** Where a connector stopped under `errors.tolerance=none`: the record and why. */
export interface ConnectorFailure {
  message: string;
  topic: string;
  partition: number;
  offset: number;
  at: number;
}

/** A sink connector as stored in its trigger's target. */
export interface ConnectorSpec {
  name: string;
  type: ConnectorType;
  /** Kafka Connect style: every value a string, as given (validated on every write). */
  config: Record<string, string>;
  tolerance: 'none' | 'all';
  deadLetterTopic: string | null;
  failure: ConnectorFailure | null;
}

export interface TriggerSettings {
  name: string;
  topics: string[];
  target: TriggerTarget;
  /** The consumer group that holds the trigger's committed offsets: `trigger.<name>` unless given. */
  group: string;
  batchSize: number;
  maxBatchingWindowMs: number;
  startingPosition: StartingPosition;
  startingTimestamp: number | null;
  /** Lambda's filter criteria, as given (validated on every write). */
  filters: Array<{ pattern: string }>;
  retryAttempts: number;
  /** -1: records of any age are retried. */
  maximumRecordAgeMs: number;
  bisectOnError: boolean;
  deadLetterTopic: string;
  parallelism: { by: 'key'; max: number } | null;
  enabled: boolean;
}

export interface Trigger extends TriggerSettings {
  /** A stable ARN-like id: `arn:floe:trigger:<name>:<created at>`; a re-created trigger gets a new one. */
  id: string;
  createdAt: number;
  updatedAt: number;
  /** Raised by every change; a change is written on condition it is unchanged since read. */
  version: number;
}

export interface LaneError {
  message: string;
  offset: number;
  at: number;
}

/** One source partition of a trigger (or, for a redrive, one dead-letter partition). */
export interface LaneState {
  /** Sort key of the lane's item. */
  key: string;
  /** The dispatcher that holds the lease, until `until`. */
  owner: string | null;
  until: number;
  /** Raised by every take of the lease and by every seek: writes of an older holder fail on it. */
  fence: number;
  /** Failed attempts at the batch that starts at `failingOffset`. */
  attempts: number;
  failingOffset: number | null;
  /** No delivery before this (ms): the backoff after a failure. */
  retryAt: number;
  /** While bisecting: batches hold at most this many records until the committed offset passes `bisectUntil`. */
  bisectLimit: number | null;
  bisectUntil: number | null;
  lastError: LaneError | null;
  delivered: number;
  filtered: number;
  deadLetters: number;
  invocations: number;
  /** A redrive's cursor and end (exclusive) on its dead-letter partition. */
  next: number | null;
  end: number | null;
  /**
   * A sink holds back records up to here (exclusive) until more arrive (an S3 object not yet complete):
   * the sweep leaves the lane alone while the high watermark is no further.
   */
  heldTo: number | null;
}

export const TRIGGER_LIMITS = {
  batchSize: { default: 100, max: 10_000 },
  maxBatchingWindowMs: { default: 500, max: 300_000 },
  retryAttempts: { default: 3, max: 10_000 },
  parallelism: { max: 100 },
  timeoutMs: { default: 30_000, max: 900_000 },
  /** Lambda's limit on a synchronous invocation's payload. */
  payloadBytes: 6 * 1024 * 1024,
} as const;

/**
 * The settings every trigger Floe keeps for itself (a table's, a connector's) shares: from the log
 * start, no filters, and retried without end (a storage outage only delays it; its target never gives
 * a record up to the lane's dead letters).
 */
export const INTERNAL_TRIGGER_DEFAULTS = {
  startingPosition: 'TRIM_HORIZON',
  startingTimestamp: null,
  filters: [],
  retryAttempts: Number.MAX_SAFE_INTEGER,
  maximumRecordAgeMs: -1,
  bisectOnError: false,
  parallelism: null,
  enabled: true,
} as const satisfies Partial<TriggerSettings>;
