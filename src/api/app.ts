// The HTTP app: one Hono app whatever the runtime. The Node server (local) and the Lambda adapter
// (cloud) only translate requests into it; validation, error mapping and logging live here once.
import { Hono, type Context } from 'hono';
import type { Engine } from '../engine/engine.ts';
import { FloeError } from '../errors.ts';
import { connectorRoutes } from './connectors.ts';
import { consoleRoutes } from '../console/routes.ts';
import { consumerRoutes } from './consumers.ts';
import { errorResponse } from './http-errors.ts';
import { nativeRoutes } from './native.ts';
import { transactionRoutes } from './transactions.ts';
import { tableRoutes } from './tables.ts';
import { triggerRoutes } from './triggers.ts';
import type { AppOptions } from './options.ts';
import { v2TopicRoutes } from './v2-topics.ts';
import { v3Routes } from './v3.ts';

export function createApp(engine: Engine, options: AppOptions = {}): Hono {
  const app = new Hono();
  app.get('/', (c) => c.json({}));
  v2TopicRoutes(app, engine, options);
  v3Routes(app, engine, options);
  nativeRoutes(app, engine, options);
  transactionRoutes(app, engine, options);
  triggerRoutes(app, engine, options);
  tableRoutes(app, engine, options);
  connectorRoutes(app, engine, options);
  consumerRoutes(app, engine, options);
  consoleRoutes(app, engine, options);
  app.notFound((c) => notFound(app, c));
  app.onError((err, c) => errorResponse(c, err));
  return app;
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
