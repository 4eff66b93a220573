// Sink connectors over HTTP (README, "Connectors"): create, list, describe, PATCH, delete, pause, resume
// and an offset reset. Settings are validated in src/connectors/config.ts; the sinks run as triggers.
import type { Context, Hono } from 'hono';
import type { Engine } from '../engine/engine.ts';
import { FloeError } from '../errors.ts';
import { requestBodies } from './body.ts';
import type { AppOptions } from './options.ts';
import { seekTargetOf } from './triggers.ts';

const MAX_BODY_BYTES = 256 * 1024;

export function connectorRoutes(app: Hono, engine: Engine, options: AppOptions): void {
  const bodies = requestBodies(options.readBody);
  const name = (c: Context) => c.req.param('name')!;
  const objectBody = (c: Context, optional = false) => bodies.object(c, MAX_BODY_BYTES, { optional, code: 'BAD_REQUEST' });
  const s = engine.connectors;

  app.post('/floe/v1/connectors', async (c) => c.json(await s.create(await objectBody(c)), 201));
  app.get('/floe/v1/connectors', async (c) => c.json({ connectors: await s.list() }));
  app.get('/floe/v1/connectors/:name', async (c) => c.json(await s.describe(name(c))));
  app.patch('/floe/v1/connectors/:name', async (c) => c.json(await s.patch(name(c), await objectBody(c))));
  app.delete('/floe/v1/connectors/:name', async (c) => {
    await s.delete(name(c));
    return c.body(null, 204);
  });
  app.post('/floe/v1/connectors/:name/pause', async (c) => c.json(await s.setRunning(name(c), false)));
  app.post('/floe/v1/connectors/:name/resume', async (c) => c.json(await s.setRunning(name(c), true)));
  app.post('/floe/v1/connectors/:name/offsets/reset', async (c) => {
    const body = await objectBody(c);
    for (const k of Object.keys(body)) if (!['to', 'offset', 'timestamp', 'topic', 'partition'].includes(k)) throw new FloeError('BAD_REQUEST', `unknown field '${k}'; expected to, offset, timestamp, topic, partition`);
    if (body.topic !== undefined && typeof body.topic !== 'string') throw new FloeError('BAD_REQUEST', 'topic must be a string');
    const p = body.partition;
    if (p !== undefined && (typeof p !== 'number' || !Number.isSafeInteger(p) || p < 0)) throw new FloeError('BAD_REQUEST', 'partition must be an integer >= 0');
    return c.json(await s.resetOffsets(name(c), seekTargetOf(body), { ...(body.topic !== undefined ? { topic: body.topic as string } : {}), ...(p !== undefined ? { partition: p as number } : {}) }));
  });
}
