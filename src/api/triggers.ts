// Topic triggers over HTTP (README, "Triggers"): create, list, describe, PATCH, delete, pause, resume,
// seek and redrive. Settings are validated in src/triggers/settings.ts; delivery is the dispatcher's.
import type { Context, Hono } from 'hono';
import type { Engine } from '../engine/engine.ts';
import { FloeError } from '../errors.ts';
import type { SeekTarget } from '../triggers/service.ts';
import { requestBodies } from './body.ts';
import type { AppOptions } from './options.ts';

const MAX_BODY_BYTES = 256 * 1024;

function optionalInt(v: unknown, name: string, min = 0): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new FloeError('BAD_REQUEST', `${name} must be an integer >= ${min}`);
  return v;
}

function only(body: Record<string, unknown>, allowed: string[]): void {
  for (const k of Object.keys(body)) if (!allowed.includes(k)) throw new FloeError('BAD_REQUEST', `unknown field '${k}'; expected ${allowed.join(', ')}`);
}

export function seekTargetOf(body: Record<string, unknown>): SeekTarget {
  switch (body.to) {
    case 'earliest':
    case 'latest':
      return { to: body.to };
    case 'offset': {
      const offset = optionalInt(body.offset, 'offset');
      if (offset === undefined) throw new FloeError('BAD_REQUEST', 'seek to an offset needs "offset"');
      return { to: 'offset', offset };
    }
    case 'timestamp': {
      const timestamp = optionalInt(body.timestamp, 'timestamp');
      if (timestamp === undefined) throw new FloeError('BAD_REQUEST', 'seek to a timestamp needs "timestamp" (ms since the epoch)');
      return { to: 'timestamp', timestamp };
    }
    default:
      throw new FloeError('BAD_REQUEST', '"to" must be earliest, latest, offset or timestamp');
  }
}

export function triggerRoutes(app: Hono, engine: Engine, options: AppOptions): void {
  const bodies = requestBodies(options.readBody);
  const name = (c: Context) => c.req.param('name')!;
  const objectBody = (c: Context, optional = false) => bodies.object(c, MAX_BODY_BYTES, { optional, code: 'BAD_REQUEST' });
  const t = engine.triggers;

  app.post('/floe/v1/triggers', async (c) => c.json(await t.create(await objectBody(c)), 201));
  app.get('/floe/v1/triggers', async (c) => c.json({ triggers: await t.list() }));
  app.get('/floe/v1/triggers/:name', async (c) => c.json(await t.describe(name(c))));
  app.patch('/floe/v1/triggers/:name', async (c) => c.json(await t.patch(name(c), await objectBody(c))));
  app.delete('/floe/v1/triggers/:name', async (c) => {
    await t.delete(name(c));
    return c.body(null, 204);
  });
  app.post('/floe/v1/triggers/:name/pause', async (c) => c.json(await t.setEnabled(name(c), false)));
  app.post('/floe/v1/triggers/:name/resume', async (c) => c.json(await t.setEnabled(name(c), true)));
  app.post('/floe/v1/triggers/:name/seek', async (c) => {
    const body = await objectBody(c);
    only(body, ['to', 'offset', 'timestamp', 'topic', 'partition']);
    if (body.topic !== undefined && typeof body.topic !== 'string') throw new FloeError('BAD_REQUEST', 'topic must be a string');
    const partition = optionalInt(body.partition, 'partition');
    const positions = await t.seek(name(c), seekTargetOf(body), { ...(body.topic !== undefined ? { topic: body.topic as string } : {}), ...(partition !== undefined ? { partition } : {}) });
    return c.json({ trigger: name(c), positions });
  });
  app.post('/floe/v1/triggers/:name/redrive', async (c) => {
    const body = await objectBody(c, true);
    only(body, ['partition', 'from_offset', 'to_offset']);
    const partition = optionalInt(body.partition, 'partition');
    const from = optionalInt(body.from_offset, 'from_offset');
    const to = optionalInt(body.to_offset, 'to_offset');
    if (from !== undefined && to !== undefined && to < from) throw new FloeError('BAD_REQUEST', 'to_offset must be >= from_offset');
    return c.json(await t.redrive(name(c), { ...(partition !== undefined ? { partition } : {}), ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) }), 202);
  });
}
