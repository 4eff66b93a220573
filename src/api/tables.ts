// Tables over HTTP (README, "Tables"): create, list, describe, delete; a key, a prefix listing, and the
// streams runtime's per-partition lookup and range. Keys and values in answers are base64, as in the
// native records API; a key in a path or a prefix is UTF-8 unless `key_format=base64`.
import type { Context, Hono } from 'hono';
import type { Engine } from '../engine/engine.ts';
import { FloeError } from '../errors.ts';
import { TABLE_LIMITS } from '../model/table.ts';
import { BOUND_MAX } from '../storage/tables-table.ts';
import { requestBodies } from './body.ts';
import type { AppOptions } from './options.ts';
import { intQuery } from './params.ts';

const MAX_BODY_BYTES = 1024 * 1024;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Standard or URL-safe base64, padding optional; a '+' a query string turned into a space gets a hint. */
function base64(s: string, what: string): Uint8Array {
  const ok = BASE64.test(s) && s.length % 4 !== 1 && (!s.includes('=') || s.length % 4 === 0) && !(/[+/]/.test(s) && /[-_]/.test(s));
  if (!ok) throw new FloeError('BAD_REQUEST', `${what} must be base64${s.includes(' ') ? " (in a query string write '+' as %2B, or use the URL-safe alphabet)" : ''}`);
  return new Uint8Array(Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
}

/** Percent-decoding straight to bytes: %FF is the byte 0xFF, so any key can be spelled in a path. */
function pathBytes(segment: string): Uint8Array {
  if (/%(?![0-9A-Fa-f]{2})/.test(segment)) throw new FloeError('BAD_REQUEST', 'the key in the path has a malformed percent-escape');
  const out: number[] = [];
  const raw = Buffer.from(segment, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x25) {
      out.push(parseInt(raw.subarray(i + 1, i + 3).toString('latin1'), 16));
      i += 2;
    } else out.push(raw[i]!);
  }
  return new Uint8Array(out);
}

type KeyFormat = 'utf8' | 'base64';

function keyFormat(raw: string | undefined): KeyFormat {
  if (raw === undefined || raw === '' || raw === 'utf8') return 'utf8';
  if (raw === 'base64') return 'base64';
  throw new FloeError('BAD_REQUEST', `query parameter 'key_format' must be utf8 or base64, got '${raw}'`);
}

function bound(raw: string | undefined, what: string, format: KeyFormat): Uint8Array | undefined {
  if (raw === undefined) return undefined;
  const b = format === 'base64' ? base64(raw, what) : new Uint8Array(Buffer.from(raw, 'utf8'));
  if (b.length > BOUND_MAX) throw new FloeError('BAD_REQUEST', `${what} is ${b.length} bytes; at most ${BOUND_MAX}`);
  return b;
}

function partitionOf(name: string, raw: string | undefined): number {
  if (raw === undefined || !/^\d{1,9}$/.test(raw)) throw new FloeError('PARTITION_NOT_FOUND', `Partition ${JSON.stringify(raw ?? '')} of table '${name}' not found.`);
  return Number(raw);
}

const limitOf = (c: Context) => intQuery(c.req.query('limit'), 'limit', { min: 1, max: TABLE_LIMITS.pageEntries.max, default: TABLE_LIMITS.pageEntries.default })!;

export function tableRoutes(app: Hono, engine: Engine, options: AppOptions): void {
  const bodies = requestBodies(options.readBody);
  const name = (c: Context) => c.req.param('name')!;
  const t = engine.tables;

  app.post('/floe/v1/tables', async (c) => c.json(await t.create(await bodies.object(c, MAX_BODY_BYTES, { code: 'BAD_REQUEST' })), 201));
  app.get('/floe/v1/tables', async (c) => c.json({ tables: await t.list() }));
  app.get('/floe/v1/tables/:name', async (c) => c.json(await t.describe(name(c))));
  app.delete('/floe/v1/tables/:name', async (c) => {
    if (await t.delete(name(c))) return c.body(null, 204);
    // Entries are still being removed: the table is gone for reads; DELETE again to finish.
    return c.json({ name: name(c), state: 'deleting' }, 202);
  });

  app.get('/floe/v1/tables/:name/keys/:key', async (c) => {
    // The raw segment, not the router's decoding: percent-escapes become bytes, whatever UTF-8 says of them.
    const segment = new URL(c.req.url).pathname.split('/').at(-1)!;
    const format = keyFormat(c.req.query('key_format'));
    const key = format === 'base64' ? base64(Buffer.from(pathBytes(segment)).toString('latin1'), 'the key') : pathBytes(segment);
    const partition = intQuery(c.req.query('partition'), 'partition', { min: 0, max: 99_999 });
    const minOffset = intQuery(c.req.query('min_offset'), 'min_offset', { min: 0 });
    return c.json(await t.get(name(c), key, { ...(partition !== undefined ? { partition } : {}), ...(minOffset !== undefined ? { minOffset } : {}) }));
  });

  app.get('/floe/v1/tables/:name/keys', async (c) => {
    const prefix = bound(c.req.query('prefix'), 'prefix', keyFormat(c.req.query('key_format')));
    const cursor = c.req.query('cursor');
    return c.json(await t.keys(name(c), { ...(prefix && prefix.length > 0 ? { prefix } : {}), limit: limitOf(c), ...(cursor !== undefined ? { cursor } : {}) }));
  });

  app.post('/floe/v1/tables/:name/partitions/:partition/lookup', async (c) => {
    const partition = partitionOf(name(c), c.req.param('partition'));
    const body = await bodies.object(c, MAX_BODY_BYTES, { code: 'BAD_REQUEST' });
    for (const k of Object.keys(body)) if (k !== 'keys' && k !== 'min_offset') throw new FloeError('BAD_REQUEST', `unknown field '${k}'; expected keys, min_offset`);
    if (!Array.isArray(body.keys) || body.keys.length > TABLE_LIMITS.lookupKeys) throw new FloeError('BAD_REQUEST', `keys must be an array of at most ${TABLE_LIMITS.lookupKeys} base64 keys`);
    const keys = body.keys.map((k, i) => {
      if (typeof k !== 'string') throw new FloeError('BAD_REQUEST', `keys[${i}] must be a base64 string`);
      return base64(k, `keys[${i}]`);
    });
    const m = body.min_offset;
    if (m !== undefined && m !== null && (typeof m !== 'number' || !Number.isSafeInteger(m) || m < 0)) throw new FloeError('BAD_REQUEST', 'min_offset must be an integer >= 0');
    return c.json(await t.lookup(name(c), partition, keys, typeof m === 'number' ? m : undefined));
  });

  app.get('/floe/v1/tables/:name/partitions/:partition/range', async (c) => {
    const partition = partitionOf(name(c), c.req.param('partition'));
    const from = bound(c.req.query('from'), 'from', 'base64');
    const to = bound(c.req.query('to'), 'to', 'base64');
    const cursor = c.req.query('cursor');
    return c.json(await t.range(name(c), partition, { ...(from ? { from } : {}), ...(to ? { to } : {}), limit: limitOf(c), ...(cursor !== undefined ? { cursor } : {}) }));
  });
}
