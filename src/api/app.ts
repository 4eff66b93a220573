// The HTTP app: one Hono app whatever the runtime. The Node server (local) and the Lambda adapter
// (cloud) only translate requests into it; validation, error mapping and logging live here once.
import { Hono } from 'hono';
import type { Engine } from '../engine/engine.ts';

export function createApp(engine: Engine): Hono {
  void engine;
  const app = new Hono();
  app.get('/', (c) => c.json({}));
  return app;
}
