// REST Proxy v2 consumer resources, and Floe's native group administration.
import type { Context, Hono } from 'hono';
import type { Engine } from '../engine/engine.ts';
import { FloeError } from '../errors.ts';
import { parseStrategy, type InstanceConfig } from '../groups/consumer-instances.ts';
import type { ResetTarget } from '../groups/admin.ts';
import { requestBodies } from './body.ts';
import { bytesToEmbedded } from './embedded.ts';
import { BINARY_V2, JSON_V2, negotiate, negotiateMetadata, reply, requireJsonBody } from './media.ts';
import type { AppOptions } from './options.ts';
import { intQuery } from './params.ts';

const BODY_LIMIT = 1024 * 1024;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Confluent's consumer configs arrive as strings or JSON values; both are taken. */
function parseInstanceConfig(body: unknown): InstanceConfig {
  if (body === undefined) return {};
  if (!isObject(body)) throw new FloeError('VALIDATION', 'request body must be a JSON object');
  const config: InstanceConfig = {};
  const known = new Set(['name', 'format', 'auto.offset.reset', 'auto.commit.enable', 'fetch.min.bytes', 'consumer.request.timeout.ms', 'partition.assignment.strategy', 'isolation.level', 'id']);
  for (const k of Object.keys(body)) if (!known.has(k)) throw new FloeError('INVALID_CONSUMER_CONFIG', `Unknown consumer config '${k}'`);
  const str = (k: string) => {
    const v = body[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw new FloeError('INVALID_CONSUMER_CONFIG', `${k} must be a string`);
    return String(v);
  };
  const name = str('name') ?? str('id');
  if (name !== undefined) config.name = name;
  const format = str('format');
  if (format !== undefined) {
    if (format === 'binary' || format === 'json') config.format = format;
    else if (['avro', 'jsonschema', 'protobuf'].includes(format)) throw new FloeError('INVALID_CONSUMER_CONFIG', `format ${format} needs a schema registry, which Floe does not have; use binary or json`);
    else throw new FloeError('INVALID_CONSUMER_CONFIG', `Invalid format '${format}': use binary or json`);
  }
  const reset = str('auto.offset.reset');
  if (reset !== undefined) {
    const r = reset === 'smallest' ? 'earliest' : reset === 'largest' ? 'latest' : reset;
    if (r !== 'earliest' && r !== 'latest' && r !== 'none') throw new FloeError('INVALID_CONSUMER_CONFIG', `Invalid auto.offset.reset '${reset}': use earliest, latest or none`);
    config.autoOffsetReset = r;
  }
  const commit = str('auto.commit.enable');
  if (commit !== undefined) {
    if (commit !== 'true' && commit !== 'false') throw new FloeError('INVALID_CONSUMER_CONFIG', `Invalid auto.commit.enable '${commit}': use true or false`);
    config.autoCommit = commit === 'true';
  }
  const int = (k: string, min: number, max: number) => {
    const v = str(k);
    if (v === undefined) return undefined;
    if (!/^-?\d+$/.test(v)) throw new FloeError('INVALID_CONSUMER_CONFIG', `${k} must be an integer`);
    const n = Number(v);
    if (n < min || n > max) throw new FloeError('CONSUMER_CONFIG_OUT_OF_RANGE', `${k} must be between ${min} and ${max}`);
    return n;
  };
  const minBytes = int('fetch.min.bytes', 0, 64 * 1024 * 1024);
  if (minBytes !== undefined) config.fetchMinBytes = minBytes;
  const timeout = int('consumer.request.timeout.ms', 0, 60_000);
  if (timeout !== undefined) config.requestTimeoutMs = timeout;
  const strategy = str('partition.assignment.strategy');
  if (strategy !== undefined) config.strategy = parseStrategy(strategy);
  // Kafka's consumer isolation.level. Only committed transactions are ever in the log, so both read
  // the same records; the level is kept so the instance reads as its client asked.
  const isolation = str('isolation.level');
  if (isolation !== undefined) {
    if (isolation !== 'read_committed' && isolation !== 'read_uncommitted') {
      throw new FloeError('INVALID_CONSUMER_CONFIG', `Invalid isolation.level '${isolation.slice(0, 64)}': use read_committed or read_uncommitted`);
    }
    config.isolation = isolation;
  }
  return config;
}

function topicPartitions(raw: unknown, field = 'partitions'): Array<[string, number]> {
  if (!isObject(raw) || !Array.isArray(raw[field])) throw new FloeError('VALIDATION', `request body must be {"${field}": [{"topic","partition"}]}`);
  return (raw[field] as unknown[]).map((x, i) => {
    if (!isObject(x) || typeof x.topic !== 'string' || typeof x.partition !== 'number' || !Number.isInteger(x.partition) || x.partition < 0) {
      throw new FloeError('VALIDATION', `${field}[${i}] must be {"topic": string, "partition": non-negative integer}`);
    }
    return [x.topic, x.partition];
  });
}

/** The `include` query of a records call: a comma-separated subset of `timestamp` and `headers`. */
function recordFields(raw: string | undefined): Set<string> {
  if (raw === undefined || raw === '') return new Set();
  const fields = raw.split(',').map((f) => f.trim());
  for (const f of fields) if (f !== 'timestamp' && f !== 'headers') throw new FloeError('BAD_REQUEST', `include may name timestamp and headers, not '${f.slice(0, 64)}'`);
  return new Set(fields);
}

export function consumerRoutes(app: Hono, engine: Engine, options: AppOptions): void {
  const bodies = requestBodies(options.readBody);
  const consumers = engine.consumers;
  const g = (c: Context) => c.req.param('group')!;
  const i = (c: Context) => c.req.param('instance')!;

  app.post('/consumers/:group', async (c) => {
    const type = negotiateMetadata(c);
    requireJsonBody(c);
    const config = parseInstanceConfig(await bodies.json(c, BODY_LIMIT, { optional: true }));
    const state = await consumers.create(g(c), config);
    return reply(c, type, { instance_id: state.id, base_uri: `${new URL(c.req.url).origin}/consumers/${state.group}/instances/${state.id}` });
  });

  app.delete('/consumers/:group/instances/:instance', async (c) => {
    await consumers.delete(g(c), i(c));
    return c.body(null, 204);
  });

  app.post('/consumers/:group/instances/:instance/subscription', async (c) => {
    requireJsonBody(c);
    const body = await bodies.json(c, BODY_LIMIT);
    if (!isObject(body)) throw new FloeError('VALIDATION', 'request body must be {"topics": [...]} or {"topic_pattern": "..."}');
    const hasTopics = body.topics !== undefined && body.topics !== null;
    const hasPattern = body.topic_pattern !== undefined && body.topic_pattern !== null;
    if (hasTopics === hasPattern) throw new FloeError('VALIDATION', 'give exactly one of "topics" and "topic_pattern"');
    if (hasTopics && (!Array.isArray(body.topics) || body.topics.length === 0 || !body.topics.every((t) => typeof t === 'string'))) {
      throw new FloeError('VALIDATION', 'topics must be a non-empty array of topic names');
    }
    if (hasPattern && typeof body.topic_pattern !== 'string') throw new FloeError('VALIDATION', 'topic_pattern must be a string');
    await consumers.subscribe(g(c), i(c), hasTopics ? { topics: body.topics as string[] } : { pattern: body.topic_pattern as string });
    return c.body(null, 204);
  });

  app.get('/consumers/:group/instances/:instance/subscription', async (c) => {
    const type = negotiateMetadata(c);
    return reply(c, type, { topics: await consumers.subscription(g(c), i(c)) });
  });

  app.delete('/consumers/:group/instances/:instance/subscription', async (c) => {
    await consumers.unsubscribe(g(c), i(c));
    return c.body(null, 204);
  });

  app.post('/consumers/:group/instances/:instance/assignments', async (c) => {
    requireJsonBody(c);
    await consumers.assign(g(c), i(c), topicPartitions(await bodies.json(c, BODY_LIMIT)));
    return c.body(null, 204);
  });

  app.get('/consumers/:group/instances/:instance/assignments', async (c) => {
    const type = negotiateMetadata(c);
    const parts = await consumers.assignments(g(c), i(c));
    return reply(c, type, { partitions: parts.map(([topic, partition]) => ({ topic, partition })) });
  });

  app.post('/consumers/:group/instances/:instance/positions', async (c) => {
    requireJsonBody(c);
    const body = await bodies.json(c, BODY_LIMIT);
    if (!isObject(body) || !Array.isArray(body.offsets)) throw new FloeError('VALIDATION', 'request body must be {"offsets": [{"topic","partition","offset"}]}');
    const targets = body.offsets.map((o: unknown, n) => {
      if (!isObject(o) || typeof o.topic !== 'string' || typeof o.partition !== 'number' || typeof o.offset !== 'number') {
        throw new FloeError('VALIDATION', `offsets[${n}] must be {"topic","partition","offset"}`);
      }
      return { topic: o.topic, partition: o.partition, offset: o.offset };
    });
    await consumers.seek(g(c), i(c), targets);
    return c.body(null, 204);
  });

  for (const where of ['beginning', 'end'] as const) {
    app.post(`/consumers/:group/instances/:instance/positions/${where}`, async (c) => {
      requireJsonBody(c);
      const parts = topicPartitions(await bodies.json(c, BODY_LIMIT));
      await consumers.seek(g(c), i(c), parts.map(([topic, partition]) => ({ topic, partition, offset: where })));
      return c.body(null, 204);
    });
  }

  app.post('/consumers/:group/instances/:instance/offsets', async (c) => {
    requireJsonBody(c);
    const body = await bodies.json(c, BODY_LIMIT, { optional: true });
    let offsets: Array<{ topic: string; partition: number; offset: number; metadata?: string | null }> | undefined;
    if (body !== undefined) {
      if (!isObject(body) || !Array.isArray(body.offsets)) throw new FloeError('VALIDATION', 'request body must be {"offsets": [{"topic","partition","offset","metadata"?}]}');
      offsets = body.offsets.map((o: unknown, n) => {
        if (!isObject(o) || typeof o.topic !== 'string' || typeof o.partition !== 'number' || typeof o.offset !== 'number') {
          throw new FloeError('VALIDATION', `offsets[${n}] must be {"topic","partition","offset","metadata"?}`);
        }
        if (o.metadata !== undefined && o.metadata !== null && typeof o.metadata !== 'string') throw new FloeError('VALIDATION', `offsets[${n}].metadata must be a string`);
        return { topic: o.topic, partition: o.partition, offset: o.offset, metadata: (o.metadata as string | undefined) ?? null };
      });
    }
    await consumers.commit(g(c), i(c), offsets);
    return reply(c, negotiateMetadata(c), []);
  });

  app.get('/consumers/:group/instances/:instance/offsets', async (c) => {
    const type = negotiateMetadata(c);
    // The REST Proxy sends this GET with a body: the adapter's reader is what still has it.
    const parts = topicPartitions(await bodies.json(c, BODY_LIMIT, { optional: true }));
    const found = await consumers.committed(g(c), i(c), parts);
    return reply(c, type, { offsets: found.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset, metadata: o.metadata ?? '' })) });
  });

  app.get('/consumers/:group/instances/:instance/records', async (c) => {
    const state = await consumers.get(g(c), i(c));
    const want = state.format === 'json' ? JSON_V2 : BINARY_V2;
    const accept = c.req.header('accept');
    if (accept && !/^\s*\*\/\*\s*$/.test(accept)) {
      try {
        if (negotiate(c, [want]) !== want) throw new Error();
      } catch {
        throw new FloeError('CONSUMER_FORMAT_MISMATCH', 'The requested embedded data format does not match the deserializer for this consumer instance');
      }
    }
    const r = await consumers.records(g(c), i(c), {
      ...(c.req.query('timeout') !== undefined ? { timeoutMs: intQuery(c.req.query('timeout'), 'timeout', { min: 0, max: 600_000 })! } : {}),
      ...(c.req.query('max_bytes') !== undefined ? { maxBytes: intQuery(c.req.query('max_bytes'), 'max_bytes', { min: 1 })! } : {}),
    });
    // Floe's extension for clients that mirror Kafka's (timestamps and headers, which the REST shape
    // leaves out): asked for by name, so the REST Proxy's answer stays exactly its own otherwise.
    const include = recordFields(c.req.query('include'));
    return reply(
      c,
      want,
      r.records.map((x) => ({
        topic: x.topic,
        key: bytesToEmbedded(x.key, state.format),
        value: bytesToEmbedded(x.value, state.format),
        partition: x.partition,
        offset: x.offset,
        ...(include.has('timestamp') ? { timestamp: x.timestamp } : {}),
        ...(include.has('headers') ? { headers: x.headers.map((h) => ({ key: h.key, value: h.value === null ? null : Buffer.from(h.value).toString('base64') })) } : {}),
      })),
    );
  });

  app.get('/floe/v1/groups', async (c) => c.json({ groups: await engine.groupAdmin.list() }));
  app.get('/floe/v1/groups/:group', async (c) => c.json(await engine.groupAdmin.describe(g(c))));
  app.delete('/floe/v1/groups/:group', async (c) => {
    await engine.groupAdmin.delete(g(c));
    return c.body(null, 204);
  });
  app.post('/floe/v1/groups/:group/offsets/reset', async (c) => {
    requireJsonBody(c);
    const body = await bodies.json(c, BODY_LIMIT);
    if (!isObject(body) || typeof body.topic !== 'string') throw new FloeError('VALIDATION', 'request body must be {"topic", "partitions"?, "to": "earliest"|"latest"|"offset"|"timestamp", "offset"?, "timestamp"?, "dry_run"?}');
    if (body.dry_run !== undefined && typeof body.dry_run !== 'boolean') throw new FloeError('VALIDATION', 'dry_run must be true or false');
    let partitions: number[] | undefined;
    if (body.partitions !== undefined) {
      if (!Array.isArray(body.partitions) || !body.partitions.every((p) => typeof p === 'number')) throw new FloeError('VALIDATION', 'partitions must be an array of integers');
      partitions = body.partitions as number[];
    }
    let target: ResetTarget;
    if (body.to === 'earliest' || body.to === 'latest') target = { to: body.to };
    else if (body.to === 'offset' && typeof body.offset === 'number' && Number.isSafeInteger(body.offset) && body.offset >= 0) target = { to: 'offset', offset: body.offset };
    else if (body.to === 'timestamp' && typeof body.timestamp === 'number' && Number.isSafeInteger(body.timestamp) && body.timestamp >= 0) target = { to: 'timestamp', timestamp: body.timestamp };
    else throw new FloeError('VALIDATION', '"to" must be earliest, latest, offset (with "offset") or timestamp (with "timestamp")');
    if (body.dry_run === true) return c.json({ dry_run: true, offsets: await engine.groupAdmin.resetOffsets(g(c), body.topic, partitions, target, { dryRun: true }) });
    return c.json({ offsets: await engine.groupAdmin.resetOffsets(g(c), body.topic, partitions, target) });
  });
}
