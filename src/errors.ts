// One error class for everything Floe reports, with a stable `code`, whether a retry can help, and
// the HTTP status and REST Proxy error code it maps to. The table is the single place that mapping
// lives; retry decisions read only `retriable`.

export interface ErrorKind {
  /** HTTP status of the answer. */
  status: number;
  /** The REST Proxy `error_code` (Confluent's table; the HTTP status where it has none). */
  errorCode: number;
  retriable: boolean;
}

export const ERROR_KINDS = {
  BAD_REQUEST: { status: 400, errorCode: 40002, retriable: false },
  MALFORMED_JSON: { status: 400, errorCode: 400, retriable: false },
  INVALID_TOPIC_NAME: { status: 400, errorCode: 40002, retriable: false },
  INVALID_CONFIG: { status: 400, errorCode: 40002, retriable: false },
  TOPIC_ALREADY_EXISTS: { status: 400, errorCode: 40002, retriable: false },
  NOT_FOUND: { status: 404, errorCode: 404, retriable: false },
  TOPIC_NOT_FOUND: { status: 404, errorCode: 40401, retriable: false },
  PARTITION_NOT_FOUND: { status: 404, errorCode: 40402, retriable: false },
  CONSUMER_INSTANCE_NOT_FOUND: { status: 404, errorCode: 40403, retriable: false },
  METHOD_NOT_ALLOWED: { status: 405, errorCode: 405, retriable: false },
  NOT_ACCEPTABLE: { status: 406, errorCode: 406, retriable: false },
  CONSUMER_FORMAT_MISMATCH: { status: 406, errorCode: 40601, retriable: false },
  CONSUMER_ALREADY_EXISTS: { status: 409, errorCode: 40902, retriable: false },
  ILLEGAL_STATE: { status: 409, errorCode: 40903, retriable: false },
  STALE_GENERATION: { status: 409, errorCode: 40904, retriable: false },
  PRODUCER_FENCED: { status: 409, errorCode: 40905, retriable: false },
  INVALID_TXN_STATE: { status: 409, errorCode: 40906, retriable: false },
  UNSTABLE_OFFSET_COMMIT: { status: 409, errorCode: 40907, retriable: true },
  TRANSACTIONAL_ID_NOT_FOUND: { status: 404, errorCode: 40404, retriable: false },
  TRIGGER_NOT_FOUND: { status: 404, errorCode: 40405, retriable: false },
  TRIGGER_ALREADY_EXISTS: { status: 409, errorCode: 40908, retriable: false },
  TABLE_NOT_FOUND: { status: 404, errorCode: 40406, retriable: false },
  TABLE_KEY_NOT_FOUND: { status: 404, errorCode: 40407, retriable: false },
  TABLE_ALREADY_EXISTS: { status: 409, errorCode: 40909, retriable: false },
  CONNECTOR_NOT_FOUND: { status: 404, errorCode: 40408, retriable: false },
  CONNECTOR_ALREADY_EXISTS: { status: 409, errorCode: 40910, retriable: false },
  /** A read with `min_offset` the table has not applied yet: the same read succeeds once it has. */
  TABLE_NOT_YET_APPLIED: { status: 503, errorCode: 50301, retriable: true },
  OUT_OF_ORDER_SEQUENCE: { status: 422, errorCode: 42206, retriable: false },
  PAYLOAD_TOO_LARGE: { status: 413, errorCode: 413, retriable: false },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, errorCode: 415, retriable: false },
  OFFSET_OUT_OF_RANGE: { status: 416, errorCode: 416, retriable: false },
  VALIDATION: { status: 422, errorCode: 422, retriable: false },
  RECORD_TOO_LARGE: { status: 422, errorCode: 422, retriable: false },
  INVALID_CONSUMER_CONFIG: { status: 422, errorCode: 42204, retriable: false },
  CONSUMER_CONFIG_OUT_OF_RANGE: { status: 422, errorCode: 40001, retriable: false },
  STORAGE: { status: 500, errorCode: 50002, retriable: false },
  STORAGE_RETRIABLE: { status: 500, errorCode: 50003, retriable: true },
  INTERNAL: { status: 500, errorCode: 500, retriable: false },
} as const satisfies Record<string, ErrorKind>;

export type ErrorCode = keyof typeof ERROR_KINDS;

export class FloeError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly errorCode: number;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FloeError';
    this.code = code;
    const kind: ErrorKind = ERROR_KINDS[code];
    this.status = kind.status;
    this.errorCode = kind.errorCode;
    this.retriable = kind.retriable;
  }
}

export class TopicNotFoundError extends FloeError {
  constructor(topic: string) {
    super('TOPIC_NOT_FOUND', `Topic '${topic}' not found.`);
    this.name = 'TopicNotFoundError';
  }
}

export class PartitionNotFoundError extends FloeError {
  constructor(topic: string, partition: number | string) {
    super('PARTITION_NOT_FOUND', `Partition ${partition} of topic '${topic}' not found.`);
    this.name = 'PartitionNotFoundError';
  }
}

export class OffsetOutOfRangeError extends FloeError {
  constructor(
    readonly offset: number,
    readonly logStartOffset: number,
    readonly highWatermark: number,
  ) {
    super(
      'OFFSET_OUT_OF_RANGE',
      `OFFSET_OUT_OF_RANGE: offset ${offset} is outside the log [${logStartOffset}, ${highWatermark}]`,
    );
    this.name = 'OffsetOutOfRangeError';
  }
}

/** A table read asked for `min_offset` and the partition's applied offset is below it. */
export class TableNotYetAppliedError extends FloeError {
  constructor(
    readonly table: string,
    readonly partition: number,
    readonly appliedOffset: number,
    readonly minOffset: number,
  ) {
    super('TABLE_NOT_YET_APPLIED', `Table '${table}' has applied partition ${partition} up to offset ${appliedOffset} (exclusive), below min_offset ${minOffset}; retry shortly.`);
    this.name = 'TableNotYetAppliedError';
  }
}

/** A storage call failed in a way that a retry may fix (throttling, a timeout, a lost race). */
export class RetriableStorageError extends FloeError {
  constructor(message: string, cause?: unknown) {
    super('STORAGE_RETRIABLE', message, { cause });
    this.name = 'RetriableStorageError';
  }
}

export function isFloeError(e: unknown): e is FloeError {
  return e instanceof FloeError;
}
