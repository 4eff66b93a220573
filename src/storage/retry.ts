// The one retry policy: bounded, with full jitter on an exponential cap, deciding only by `retriable`
// (a FloeError's, or what the AWS error classifier says). Expected races are not errors: an attempt
// that lost one returns RETRY and is tried again under the same bounds.
import { FloeError, RetriableStorageError } from '../errors.ts';
import { classifyAwsError, isAwsError } from './aws-errors.ts';

/** Returned by an attempt that lost a race and should run again. */
export const RETRY: unique symbol = Symbol('retry');
export type Retry = typeof RETRY;

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** The delay before attempt n (n >= 1) is random in [cap/2, cap], cap = min(maxDelayMs, baseDelayMs * 2^n). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** No attempt starts after this time (epoch ms), whatever attempts are left. */
  deadline?: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 12, baseDelayMs: 10, maxDelayMs: 1000 };

/** Whether trying again may help. */
export function isRetriable(e: unknown): boolean {
  if (e instanceof FloeError) return e.retriable;
  return isAwsError(e) && classifyAwsError(e).retriable;
}

export function retryDelayMs(attempt: number, policy: RetryPolicy = DEFAULT_RETRY): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return cap / 2 + Math.random() * (cap / 2);
}

/**
 * Runs `attempt` until it returns a value, retrying lost races (RETRY) and retriable errors with
 * backoff; a non-retriable error is thrown at once. When the attempts run out, a RetriableStorageError
 * names `what` and carries the last error.
 */
export async function retrying<T>(what: string, attempt: (n: number) => Promise<T | Retry>, policy: RetryPolicy = DEFAULT_RETRY): Promise<T> {
  // The last error, or the last lost race.
  let last: unknown;
  for (let n = 0; n < policy.attempts; n++) {
    if (n > 0) await sleep(retryDelayMs(n, policy));
    if (policy.deadline !== undefined && Date.now() > policy.deadline) {
      throw new RetriableStorageError(`${what} did not succeed before its deadline${last ? `: ${(last as Error).message}` : ''}`, last);
    }
    try {
      const r = await attempt(n);
      if (r !== RETRY) return r;
      last = new Error('lost a race to a concurrent writer');
    } catch (e) {
      if (!isRetriable(e)) throw e;
      last = e;
    }
  }
  throw new RetriableStorageError(`${what} did not succeed after ${policy.attempts} attempts${last ? `: ${(last as Error).message}` : ''}`, last);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
