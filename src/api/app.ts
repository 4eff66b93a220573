// The HTTP app: one Hono app whatever the runtime. The Node server (local) and the Lambda adapter
// (cloud) only translate requests into it; validation, error mapping and logging live here once.
import { classifyAwsError, isAwsError } from '../storage/aws-errors.ts';
import { Hono, type Context } from 'hono';
import type { Engine } from '../engine/engine.ts';
import { FloeError, isFloeError } from '../errors.ts';
import { LogFormatError } from '../log/index.ts';
import { consumerRoutes } from './consumers.ts';
import { V2_JSON } from './media.ts';
import { nativeRoutes } from './native.ts';
import { v2TopicRoutes } from './v2-topics.ts';
import { v3Routes } from './v3.ts';

/**
 * Every runtime serves the whole app: in the cloud, API Gateway sends each function only its own
 * routes, and each function's IAM role allows only its own storage calls.
 */
export interface AppOptions {
  /** Where nothing runs after the answer (Lambda), finish acks=0 writes before answering. */
  awaitUnacknowledgedWrites?: boolean;
}

export function createApp(engine: Engine, options: AppOptions = {}): Hono {
  const app = new Hono();
  app.get('/', (c) => c.json({}));
  v2TopicRoutes(app, engine, options);
  v3Routes(app, engine, options);
  nativeRoutes(app, engine);
  consumerRoutes(app, engine);
  app.notFound((c) => notFound(app, c));
  app.onError((err, c) => errorResponse(c, err));
  return app;
}

export function errorBody(e: FloeError): { error_code: number; message: string } {
  return { error_code: e.errorCode, message: e.message };
}

function errorResponse(c: Context, err: unknown): Response {
  const e = toFloeError(err);
  if (e.status >= 500) {
    console.error(JSON.stringify({ level: 'error', msg: 'request failed', method: c.req.method, path: c.req.path, code: e.code, error: String(err), cause: String((err as Error).cause ?? '') }));
  }
  return c.body(JSON.stringify(errorBody(e)), e.status as 500, { 'content-type': errorType(c) });
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

/** 405 when the path exists with another method, 404 otherwise, always as an error body. */
function notFound(app: Hono, c: Context): Response {
  const path = c.req.path;
  const allowed = new Set<string>();
  for (const r of app.routes) {
    if (r.method === c.req.method || r.method === 'ALL') continue;
    const pattern = new RegExp(`^${r.path.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\/:[^/]+/g, '/[^/]+').replace(/\*/g, '.*')}$`);
    if (pattern.test(path)) allowed.add(r.method);
  }
  if (allowed.size > 0) {
    c.header('allow', [...allowed].join(', '));
    return errorResponse(c, new FloeError('METHOD_NOT_ALLOWED', 'HTTP 405 Method Not Allowed'));
  }
  return errorResponse(c, new FloeError('NOT_FOUND', 'HTTP 404 Not Found'));
}
