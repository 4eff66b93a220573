// How anything thrown becomes an HTTP answer: one error body, one status mapping. The app's error
// handler and the Lambda adapter answer with it, and v3 produce uses it to report records one by one.
import { classifyAwsError, isAwsError } from '../storage/aws-errors.ts';
import type { Context } from 'hono';
import { FloeError, isFloeError } from '../errors.ts';
import { LogFormatError } from '../log/index.ts';
import { V2_JSON } from './media.ts';

export function errorBody(e: FloeError): { error_code: number; message: string } {
  return { error_code: e.errorCode, message: e.message };
}

export function errorResponse(c: Context, err: unknown): Response {
  const e = toFloeError(err);
  // A 503 is an expected answer (a table read ahead of the table), not a failure to log.
  if (e.status >= 500 && e.status !== 503) {
    console.error(JSON.stringify({ level: 'error', msg: 'request failed', method: c.req.method, path: c.req.path, code: e.code, error: String(err), cause: String((err as Error).cause ?? '') }));
  }
  // 503 says the same request succeeds later (a table read ahead of what the table applied): when.
  const headers: Record<string, string> = { 'content-type': errorType(c) };
  if (e.status === 503) headers['retry-after'] = '1';
  return c.body(JSON.stringify(errorBody(e)), e.status as 500, headers);
}

/** Errors answer in the REST Proxy's metadata type to clients that speak its media types, else plain JSON. */
function errorType(c: Context): string {
  return /application\/vnd\.kafka\./i.test(c.req.header('accept') ?? '') ? V2_JSON : 'application/json';
}

/** Maps anything thrown to a FloeError: storage throttling and timeouts are retriable 50003, the rest 500. */
export function toFloeError(err: unknown): FloeError {
  if (isFloeError(err)) return err;
  if (err instanceof LogFormatError) return new FloeError('STORAGE', `Storage error: a stored record batch is unreadable (${err.code}): ${err.message}`, { cause: err });
  if (isAwsError(err)) {
    const e = err as Error;
    return new FloeError(classifyAwsError(err).retriable ? 'STORAGE_RETRIABLE' : 'STORAGE', `Storage error (${e.name ?? 'unknown'}): ${e.message ?? ''}`.trim(), { cause: err });
  }
  return new FloeError('INTERNAL', 'Internal server error', { cause: err });
}
