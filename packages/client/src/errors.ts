// The client's errors: one base class with the REST error code, the HTTP status and whether a retry can
// help, and a subclass per error the server reports. Retry decisions read only `retriable`.

/**
 * Every error the client throws: `code` is the server's `error_code` (Confluent REST Proxy codes, such as
 * 40401 for an unknown topic), `status` the HTTP status (0 when no answer came), `retriable` whether
 * sending again may succeed.
 *
 * @example
 * try {
 *   await producer.send({ topic: 'orders', messages: [{ value: 'x' }] });
 * } catch (e) {
 *   if (e instanceof FloeError && !e.retriable) console.error(e.code, e.message);
 * }
 */
export class FloeError extends Error {
  readonly code: number;
  readonly status: number;
  readonly retriable: boolean;

  constructor(message: string, options: { code: number; status: number; retriable?: boolean; cause?: unknown }) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    this.code = options.code;
    this.status = options.status;
    this.retriable = options.retriable ?? false;
  }
}

/** 40401: the topic does not exist. @example `if (e instanceof TopicNotFoundError) await admin.createTopics(...)` */
export class TopicNotFoundError extends FloeError {}
/** 40402: the topic has no such partition. @example `catch (e) { if (e instanceof PartitionNotFoundError) ... }` */
export class PartitionNotFoundError extends FloeError {}
/** 40403: the consumer instance expired or was deleted (the consumer re-creates it). @example `e instanceof ConsumerInstanceNotFoundError` */
export class ConsumerInstanceNotFoundError extends FloeError {}
/** 416: the offset is outside the log. @example `catch (e) { if (e instanceof OffsetOutOfRangeError) await consumer.seek(...) }` */
export class OffsetOutOfRangeError extends FloeError {}
/** 40904: the group moved to a new generation (a rebalance); the consumer rejoins. @example `e instanceof RebalanceInProgressError` */
export class RebalanceInProgressError extends FloeError {}
/**
 * 40905: a newer epoch of this producer id exists: another producer initialized the same
 * transactionalId, or the open transaction passed its timeout and was aborted. Not retriable: the
 * fenced producer's transaction is gone. @example `e instanceof ProducerFencedError`
 */
export class ProducerFencedError extends FloeError {}
/**
 * 40906: the transaction cannot do this in its state (commit after abort, a send outside a
 * transaction of a transactional producer, a second transaction while one is open).
 * @example `e instanceof InvalidTransactionStateError`
 */
export class InvalidTransactionStateError extends FloeError {}
/** 40907: a transaction not yet ended holds offsets of the group; retriable. @example `e instanceof UnstableOffsetCommitError` */
export class UnstableOffsetCommitError extends FloeError {}
/** 40404: the transactional id is unknown (never initialized). @example `e instanceof TransactionalIdNotFoundError` */
export class TransactionalIdNotFoundError extends FloeError {}
/** 42206: a sequence older than the producer's newest, no longer remembered. @example `e instanceof OutOfOrderSequenceError` */
export class OutOfOrderSequenceError extends FloeError {}
/** 40406: the table does not exist (or is being deleted). @example `e instanceof TableNotFoundError` */
export class TableNotFoundError extends FloeError {}
/** 50301: a table read with a min offset the table has not applied yet; retriable. @example `e instanceof TableNotYetAppliedError` */
export class TableNotYetAppliedError extends FloeError {}
/** 413: the request or a record is too large. @example `e instanceof PayloadTooLargeError` */
export class PayloadTooLargeError extends FloeError {}
/** 40002, 400, 422 and other 4xx: the request is wrong; sending it again will not help. @example `e instanceof BadRequestError` */
export class BadRequestError extends FloeError {}
/** 5xx: the server or its storage failed; 50003 (and 502/503/504) are retriable. @example `if (e instanceof ServerError && e.retriable) ...` */
export class ServerError extends FloeError {}
/** No answer: the connection failed or timed out (retriable). @example `e instanceof NetworkError` */
export class NetworkError extends FloeError {}

const BY_CODE: Record<number, typeof FloeError> = {
  40401: TopicNotFoundError,
  40402: PartitionNotFoundError,
  40403: ConsumerInstanceNotFoundError,
  416: OffsetOutOfRangeError,
  40904: RebalanceInProgressError,
  40905: ProducerFencedError,
  40906: InvalidTransactionStateError,
  40907: UnstableOffsetCommitError,
  40404: TransactionalIdNotFoundError,
  42206: OutOfOrderSequenceError,
  413: PayloadTooLargeError,
  40406: TableNotFoundError,
  50301: TableNotYetAppliedError,
};

/**
 * The error for an answer with this status and body (`{error_code, message}` as Floe and the REST Proxy
 * answer). Exported for tools built on the client, such as the CLI.
 *
 * @example
 * const e = errorFromResponse(404, { error_code: 40401, message: "Topic 'x' not found." }); // TopicNotFoundError
 */
export function errorFromResponse(status: number, body: unknown): FloeError {
  const b = (body ?? {}) as { error_code?: unknown; message?: unknown };
  const code = typeof b.error_code === 'number' ? b.error_code : status;
  const message = typeof b.message === 'string' ? b.message : `HTTP ${status}`;
  const retriable = code === 50003 || code === 40907 || status === 429 || status === 502 || status === 503 || status === 504;
  const Kind = BY_CODE[code] ?? (status >= 500 ? ServerError : BadRequestError);
  return new Kind(message, { code, status, retriable });
}
