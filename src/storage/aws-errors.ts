// The one place that reads AWS SDK errors. Every other module sees what this says of an error: whether
// a condition or a transaction decided against the write (an expected race, answered as a value),
// whether trying again can help, and whether the write may have happened although the call failed.

/** A TransactWriteItems cancellation reason, as the SDK hands it over. */
export interface CancellationReason {
  Code?: string;
  Message?: string;
  Item?: Record<string, unknown>;
}

export interface AwsErrorClass {
  /** A later attempt may succeed: throttling, a transaction conflict, a timeout, a 5xx. */
  retriable: boolean;
  /**
   * The write may have been applied although the call failed (a timeout, a lost answer, a 5xx, or a
   * retry by the SDK that failed after an earlier attempt that did not answer).
   */
  ambiguous: boolean;
  /** For a cancelled transaction, one reason per item in the order sent. */
  reasons?: CancellationReason[];
}

const THROTTLED = /Throttl|ProvisionedThroughputExceeded|RequestLimitExceeded|SlowDown|TooManyRequests/;
const TRANSIENT = /Timeout|NetworkingError|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|AbortError|TransactionInProgress|InternalServerError|InternalFailure|ServiceUnavailable|RequestTimeout/;
const SOCKET = /ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|socket hang up/;

interface SdkErrorShape {
  name?: string;
  message?: string;
  code?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
  CancellationReasons?: CancellationReason[];
}

/** Whether this looks like an error from an AWS SDK call (it carries the SDK's metadata or a known name). */
export function isAwsError(e: unknown): boolean {
  const err = e as SdkErrorShape | undefined;
  return typeof err === 'object' && err !== null && (err.$metadata !== undefined || THROTTLED.test(err.name ?? '') || TRANSIENT.test(err.name ?? '') || SOCKET.test(String(err.code ?? '')));
}

export function classifyAwsError(e: unknown): AwsErrorClass {
  const err = (e ?? {}) as SdkErrorShape;
  const name = err.name ?? '';
  if (name === 'ConditionalCheckFailedException') return { retriable: false, ambiguous: false };
  if (name === 'TransactionCanceledException') {
    const reasons = err.CancellationReasons ?? [];
    // A conflict with another transaction or throttling of one item cancels the whole: try again.
    const retriable = !reasons.some((r) => r.Code === 'ConditionalCheckFailed') && reasons.some((r) => r.Code === 'TransactionConflict' || THROTTLED.test(r.Code ?? ''));
    return { retriable, ambiguous: false, reasons };
  }
  const status = err.$metadata?.httpStatusCode ?? 0;
  const transient = Boolean(err.$retryable) || status >= 500 || THROTTLED.test(name) || TRANSIENT.test(name) || SOCKET.test(String(err.code ?? err.message ?? ''));
  // Throttling rejects a call before it runs, but the SDK may have retried an attempt that timed out:
  // whatever failed transiently may have been applied.
  return { retriable: transient, ambiguous: transient };
}

/**
 * Whether one send's failure shows the request was not applied: the service answered it with a
 * throttling error (a 4xx: it refuses the request before it runs). A timeout, a lost answer or a 5xx
 * shows nothing of the kind.
 */
export function refusedUnapplied(e: unknown): boolean {
  const err = (e ?? {}) as SdkErrorShape;
  const status = err.$metadata?.httpStatusCode ?? 0;
  return status >= 400 && status < 500 && THROTTLED.test(err.name ?? '');
}

/** Whether a single conditional write was refused by its condition (nothing was written). */
export function isConditionFailure(e: unknown): boolean {
  return (e as SdkErrorShape | undefined)?.name === 'ConditionalCheckFailedException';
}

/**
 * Runs a single conditional write: true when it was applied, false when its condition failed (an
 * expected race, a value for the caller), anything else thrown.
 */
export async function conditionally(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (e) {
    if (isConditionFailure(e)) return false;
    throw e;
  }
}

/** The item a failed conditional write found, when the request asked for it (ReturnValuesOnConditionCheckFailure). */
export function itemOfConditionFailure(e: unknown): Record<string, unknown> | undefined {
  const err = e as SdkErrorShape & { Item?: Record<string, unknown> };
  return isConditionFailure(e) ? err.Item : undefined;
}
