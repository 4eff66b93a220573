// Bad input, generated: requests for every endpoint with hostile paths, queries, media types and
// bodies. The properties: no 5xx, every error is `{error_code, message}`, and a rejected request
// changes no state. Used by a bounded test and by `npm run test:fuzz -- --runs N`.
import fc from 'fast-check';
import type { Hono } from 'hono';
import type { Engine } from '../../src/engine/engine.ts';
import { scanAll } from '../../src/storage/pages.ts';

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** A group and one of its consumer instances that exist before the run, so generated requests reach them. */
export const KNOWN_CONSUMER = { group: 'fuzz-group', instance: 'fuzz-instance' };

/** A transactional id initialized before the run, so generated transaction calls reach it. */
export const KNOWN_TRANSACTION = 'fuzz-txn';

/** A table created before the run (on the known topic), so generated table reads reach it. */
export const KNOWN_TABLE = 'fuzz-table';

/** A connector created before the run (a DynamoDB sink of the known topic into a table of that name), so generated connector calls reach it. */
export const KNOWN_CONNECTOR = 'fuzz-connector';

/** A trigger created before the run (on the known topic, a Lambda target), so generated trigger calls reach it. */
export const KNOWN_TRIGGER = 'fuzz-trigger';

const weirdSegment = fc.oneof(
  fc.constantFrom('..', '.', '%2e%2e', '..%2F..%2Fetc', '%00', 'a%2Fb', '-1', '0', '1', '99999999999', '1e3', 'NaN', '%E2%80%AE', 'x'.repeat(260), '__proto__', 'constructor'),
  fc.stringMatching(/^[a-zA-Z0-9._-]{1,12}$/),
  fc.string({ maxLength: 12 }).map((s) => encodeURIComponent(s)),
);

const mediaTypes = fc.constantFrom(
  'application/vnd.kafka.binary.v2+json',
  'application/vnd.kafka.json.v2+json',
  'application/vnd.kafka.v2+json',
  'application/json',
  'application/vnd.kafka.avro.v2+json',
  'application/vnd.kafka.protobuf.v2+json',
  'text/plain',
  'application/xml',
  'multipart/form-data; boundary=x',
  '',
  'application/json; charset=utf-16',
);

const accepts = fc.constantFrom('*/*', 'application/json', 'application/vnd.kafka.binary.v2+json', 'application/vnd.kafka.json.v2+json', 'text/html', 'image/png;q=0.5', '');

const jsonish = fc.oneof(
  fc.json(),
  fc.constant('{"records":['),
  fc.constant('{"records":[]}'),
  fc.constant('{"records":null}'),
  fc.record({ records: fc.array(fc.record({ key: fc.oneof(fc.string(), fc.integer(), fc.constant(null)), value: fc.oneof(fc.string(), fc.base64String(), fc.object(), fc.constant(null)), partition: fc.oneof(fc.integer({ min: -3, max: 5 }), fc.string(), fc.constant(undefined)) }, { requiredKeys: [] }), { maxLength: 4 }) }).map((v) => JSON.stringify(v)),
  fc.record({ topic_name: fc.oneof(weirdSegment, fc.integer()), partitions_count: fc.oneof(fc.integer({ min: -2, max: 20_000 }), fc.string()), configs: fc.array(fc.record({ name: fc.constantFrom('retention.ms', 'cleanup.policy', 'nope', 'max.message.bytes'), value: fc.oneof(fc.string(), fc.integer()) }), { maxLength: 3 }) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  fc.record({ value: fc.record({ type: fc.constantFrom('BINARY', 'JSON', 'STRING', 'AVRO', 'nope'), data: fc.oneof(fc.string(), fc.integer(), fc.constant(null)) }), partition_id: fc.oneof(fc.integer({ min: -1, max: 9 }), fc.string()), headers: fc.oneof(fc.constant('x'), fc.array(fc.record({ name: fc.string(), value: fc.oneof(fc.string(), fc.integer()) }))), timestamp: fc.oneof(fc.string(), fc.integer({ min: -5, max: 2 ** 52 })) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  // Consumer instances, subscriptions, assignments, positions and commits, and group offset resets.
  fc.record({ name: fc.oneof(weirdSegment, fc.integer()), format: fc.constantFrom('binary', 'json', 'avro', 'xml', 5), 'auto.offset.reset': fc.constantFrom('earliest', 'latest', 'none', 'foo', 1), 'auto.commit.enable': fc.constantFrom('true', 'false', 'yes', true, 1), 'fetch.min.bytes': fc.oneof(fc.integer({ min: -5, max: 10 ** 9 }), fc.string({ maxLength: 4 })), 'consumer.request.timeout.ms': fc.oneof(fc.integer({ min: -5, max: 10 ** 7 }), fc.constant('abc')), 'partition.assignment.strategy': fc.constantFrom('range', 'roundrobin', 'sticky', 'nope') }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  fc.record({ topics: fc.oneof(fc.array(fc.oneof(weirdSegment, fc.integer()), { maxLength: 3 }), fc.string()), topic_pattern: fc.oneof(fc.constantFrom('.*', 'fuzz.*', '(a+)+b', '(', '(a)\\1', '[', 'x'.repeat(2000)), fc.string({ maxLength: 10 })) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  fc.record({ partitions: fc.array(fc.record({ topic: fc.oneof(weirdSegment, fc.integer()), partition: fc.oneof(fc.integer({ min: -2, max: 9 }), fc.string({ maxLength: 3 })) }, { requiredKeys: [] }), { maxLength: 3 }) }).map((v) => JSON.stringify(v)),
  fc.record({ offsets: fc.array(fc.record({ topic: fc.oneof(weirdSegment, fc.integer()), partition: fc.oneof(fc.integer({ min: -2, max: 9 }), fc.string({ maxLength: 3 })), offset: fc.oneof(fc.integer({ min: -3, max: 10 ** 6 }), fc.double(), fc.string({ maxLength: 3 })), metadata: fc.oneof(fc.string({ maxLength: 20 }), fc.integer()) }, { requiredKeys: [] }), { maxLength: 3 }) }).map((v) => JSON.stringify(v)),
  fc.record({ topic: fc.oneof(weirdSegment, fc.integer()), partitions: fc.array(fc.integer({ min: -1, max: 5 }), { maxLength: 2 }), to: fc.constantFrom('earliest', 'latest', 'offset', 'timestamp', 'nope'), offset: fc.integer({ min: -2, max: 100 }), timestamp: fc.oneof(fc.integer({ min: -2, max: 2 ** 45 }), fc.string({ maxLength: 3 })) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  // Native produce, idempotent or not.
  fc.record({ producer_id: fc.oneof(fc.integer({ min: -1, max: 3 }), fc.string({ maxLength: 2 })), producer_epoch: fc.integer({ min: -1, max: 40_000 }), sequence: fc.integer({ min: -1, max: 5 }), records: fc.array(fc.record({ key: fc.oneof(fc.base64String(), fc.integer(), fc.constant(null)), value: fc.oneof(fc.base64String(), fc.string({ maxLength: 5 })), partition: fc.integer({ min: -1, max: 4 }), timestamp: fc.oneof(fc.integer({ min: -1, max: 2 ** 45 }), fc.string({ maxLength: 3 })), headers: fc.oneof(fc.constant('x'), fc.array(fc.record({ key: fc.oneof(fc.string({ maxLength: 4 }), fc.integer()), value: fc.oneof(fc.base64String(), fc.integer()) }), { maxLength: 2 })) }, { requiredKeys: [] }), { maxLength: 3 }) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  // Transactions: init, offsets, commit and abort bodies, and transactional writes.
  fc.record({ transaction_timeout_ms: fc.oneof(fc.integer({ min: -5, max: 2_000_000 }), fc.string({ maxLength: 3 }), fc.constant(null)), producer_id: fc.oneof(fc.integer({ min: -1, max: 3 }), fc.string({ maxLength: 2 }), fc.constant(null)), producer_epoch: fc.oneof(fc.integer({ min: -1, max: 40_000 }), fc.double(), fc.string({ maxLength: 2 })), group_id: fc.oneof(fc.constant(KNOWN_CONSUMER.group), weirdSegment, fc.integer()), generation_id: fc.oneof(fc.integer({ min: -2, max: 5 }), fc.string({ maxLength: 2 })), member_id: fc.oneof(fc.string({ maxLength: 6 }), fc.integer()), offsets: fc.oneof(fc.constant('x'), fc.array(fc.record({ topic: fc.oneof(weirdSegment, fc.integer()), partition: fc.oneof(fc.integer({ min: -2, max: 9 }), fc.string({ maxLength: 3 })), offset: fc.oneof(fc.integer({ min: -3, max: 10 ** 6 }), fc.double()), metadata: fc.oneof(fc.string({ maxLength: 8 }), fc.integer()) }, { requiredKeys: [] }), { maxLength: 3 })) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  fc.record({ transactional_id: fc.oneof(fc.constant(KNOWN_TRANSACTION), weirdSegment, fc.integer()), producer_id: fc.oneof(fc.integer({ min: -1, max: 3 }), fc.string({ maxLength: 2 })), producer_epoch: fc.integer({ min: -1, max: 40_000 }), sequence: fc.oneof(fc.integer({ min: -1, max: 2 ** 32 }), fc.string({ maxLength: 2 })), records: fc.array(fc.record({ value: fc.oneof(fc.base64String(), fc.integer()), partition: fc.integer({ min: -1, max: 4 }) }, { requiredKeys: [] }), { maxLength: 3 }) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  // Triggers: create and PATCH bodies, seek and redrive.
  fc
    .record(
      {
        name: fc.oneof(fc.constant(KNOWN_TRIGGER), weirdSegment, fc.integer()),
        topic: fc.oneof(weirdSegment, fc.integer(), fc.constant(null)),
        topics: fc.oneof(fc.array(weirdSegment, { maxLength: 2 }), fc.string({ maxLength: 3 })),
        target: fc.oneof(
          fc.record({ type: fc.constantFrom('lambda', 'module', 'http', 'ftp', 1), function: fc.oneof(fc.string({ maxLength: 8 }), fc.integer()), path: fc.string({ maxLength: 8 }), url: fc.constantFrom('http://127.0.0.1:9/', 'file:///etc/passwd', 'x'), timeout_ms: fc.integer({ min: -1, max: 10 ** 7 }) }, { requiredKeys: [] }),
          fc.string({ maxLength: 4 }),
        ),
        batch_size: fc.oneof(fc.integer({ min: -1, max: 20_000 }), fc.string({ maxLength: 3 })),
        max_batching_window_ms: fc.integer({ min: -1, max: 10 ** 6 }),
        starting_position: fc.constantFrom('LATEST', 'TRIM_HORIZON', 'AT_TIMESTAMP', 'nope', 3),
        starting_timestamp: fc.oneof(fc.integer({ min: -1, max: 2 ** 45 }), fc.constant(null)),
        filters: fc.oneof(fc.constant('x'), fc.array(fc.record({ pattern: fc.oneof(fc.constantFrom('{"value":{"a":["x"]}}', '{"value":{"a":[{"numeric":[">",1]}]}}', '{"nope":1}', '{', '[]'), fc.json()) }, { requiredKeys: [] }), { maxLength: 6 })),
        retry_attempts: fc.integer({ min: -2, max: 20_000 }),
        maximum_record_age_ms: fc.integer({ min: -2, max: 10 ** 7 }),
        bisect_on_error: fc.oneof(fc.boolean(), fc.string({ maxLength: 2 })),
        dead_letter_topic: fc.oneof(weirdSegment, fc.integer()),
        parallelism: fc.oneof(fc.constant(null), fc.record({ by: fc.constantFrom('key', 'value'), max: fc.integer({ min: -1, max: 200 }) }, { requiredKeys: [] })),
        enabled: fc.oneof(fc.boolean(), fc.integer()),
        to: fc.constantFrom('earliest', 'latest', 'offset', 'timestamp', 'nope'),
        offset: fc.integer({ min: -2, max: 100 }),
        partition: fc.oneof(fc.integer({ min: -1, max: 5 }), fc.string({ maxLength: 2 })),
        from_offset: fc.integer({ min: -2, max: 10 }),
        to_offset: fc.integer({ min: -2, max: 10 }),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
  // Connectors: create and PATCH bodies, and offset resets.
  fc
    .record(
      {
        name: fc.oneof(fc.constant(KNOWN_CONNECTOR), weirdSegment, fc.integer()),
        type: fc.oneof(fc.constantFrom('dynamodb-sink', 's3-sink'), weirdSegment, fc.constant(null)),
        topics: fc.oneof(fc.array(weirdSegment, { maxLength: 3 }), weirdSegment, fc.constant([])),
        config: fc.oneof(
          fc.record(
            {
              'table.name': fc.oneof(fc.constant(KNOWN_CONNECTOR), weirdSegment),
              's3.bucket.name': weirdSegment,
              'flush.size': fc.oneof(fc.integer({ min: -5, max: 20_000 }), fc.string({ maxLength: 4 })),
              'value.mapping': fc.oneof(fc.constantFrom('fields', 'raw'), weirdSegment),
              'path.format': fc.oneof(fc.constantFrom("'dt'=yyyy", 'yyyy/../MM', '/x'), fc.string({ maxLength: 8 })),
              'value.schema': fc.oneof(fc.constant({ a: 'string' }), fc.constant({ a: 'float128' }), fc.string({ maxLength: 6 })),
              nope: fc.integer(),
            },
            { requiredKeys: [] },
          ),
          fc.array(fc.integer(), { maxLength: 2 }),
          fc.string({ maxLength: 4 }),
        ),
        'errors.tolerance': fc.oneof(fc.constantFrom('none', 'all'), weirdSegment),
        'errors.deadletterqueue.topic.name': fc.oneof(weirdSegment, fc.integer()),
        to: fc.oneof(fc.constantFrom('earliest', 'latest', 'offset', 'timestamp'), weirdSegment),
        offset: fc.oneof(fc.integer({ min: -2, max: 10 }), fc.string({ maxLength: 3 })),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
  // Tables: create bodies, and lookups (min_offset never past 0: a read ahead of the table is a 503 by design).
  fc.record({ name: fc.oneof(fc.constant(KNOWN_TABLE), weirdSegment, fc.integer()), topic: fc.oneof(weirdSegment, fc.integer(), fc.constant(null)), extra: fc.integer() }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  fc
    .record(
      {
        keys: fc.oneof(fc.array(fc.oneof(fc.base64String({ maxLength: 12 }), fc.string({ maxLength: 6 }), fc.integer(), fc.constant(null)), { maxLength: 4 }), fc.string({ maxLength: 4 }), fc.array(fc.constant('YQ=='), { minLength: 101, maxLength: 102 })),
        min_offset: fc.oneof(fc.constantFrom(0, -1, 1.5, '1', null), fc.string({ maxLength: 3 })),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
  // Deep nesting, as a key or value and as a whole body.
  fc.integer({ min: 900, max: 20_000 }).map((d) => `{"records":[{"value":${'['.repeat(d)}${']'.repeat(d)}}]}`),
  fc.integer({ min: 900, max: 20_000 }).map((d) => `{"value":{"type":"JSON","data":${'{"a":'.repeat(d)}1${'}'.repeat(d)}}}`),
  fc.integer({ min: 1, max: 50_000 }).map((d) => '['.repeat(d) + ']'.repeat(d)),
);

const query = fc
  .array(
    fc.tuple(
      fc.constantFrom('offset', 'timeout', 'max_bytes', 'acks', 'timestamp', 'max_records', 'isolation_level', 'x', 'limit', 'cursor', 'prefix', 'key_format', 'from', 'to', 'partition'),
      fc.oneof(fc.constantFrom('-1', '0', '1', 'earliest', 'latest', 'all', '1e9', '99999999999999999999', '', 'read_committed', 'base64', 'utf8', 'YQ', 'eyJwIjowfQ', 'AGE', '%2B%2F'), fc.string({ maxLength: 6 }).map(encodeURIComponent)),
    ),
    { maxLength: 3 },
  )
  .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}` : ''));


export function requestArbitrary(knownTopic: string): fc.Arbitrary<FuzzRequest> {
  const topic = fc.oneof(fc.constant(knownTopic), weirdSegment);
  const partition = fc.oneof(fc.constantFrom('0', '1', '2'), weirdSegment);
  const group = fc.oneof({ arbitrary: fc.constant(KNOWN_CONSUMER.group), weight: 3 }, { arbitrary: weirdSegment, weight: 1 });
  const instance = fc.tuple(group, fc.oneof({ arbitrary: fc.constant(KNOWN_CONSUMER.instance), weight: 3 }, { arbitrary: weirdSegment, weight: 1 })).map(([g, i]) => `/consumers/${g}/instances/${i}`);
  const path = fc.oneof(
    fc.constant('/'),
    fc.constant('/topics'),
    fc.constant('/brokers'),
    topic.map((t) => `/topics/${t}`),
    fc.tuple(topic, partition).map(([t, p]) => `/topics/${t}/partitions/${p}`),
    topic.map((t) => `/topics/${t}/partitions`),
    fc.tuple(topic, partition).map(([t, p]) => `/topics/${t}/partitions/${p}/offsets`),
    fc.tuple(topic, partition).map(([t, p]) => `/topics/${t}/partitions/${p}/records`),
    fc.tuple(topic, partition).map(([t, p]) => `/floe/v1/topics/${t}/partitions/${p}/records`),
    fc.tuple(topic, partition).map(([t, p]) => `/floe/v1/topics/${t}/partitions/${p}/offsets`),
    fc.constant('/v3/clusters'),
    fc.constantFrom('floe', 'other', '..').map((c) => `/v3/clusters/${c}/topics`),
    topic.map((t) => `/v3/clusters/floe/topics/${t}`),
    topic.map((t) => `/v3/clusters/floe/topics/${t}/configs`),
    fc.tuple(topic, fc.constantFrom('retention.ms', 'nope', 'cleanup.policy')).map(([t, n]) => `/v3/clusters/floe/topics/${t}/configs/${n}`),
    topic.map((t) => `/v3/clusters/floe/topics/${t}/configs:alter`),
    topic.map((t) => `/v3/clusters/floe/topics/${t}/records`),
    group.map((g) => `/consumers/${g}`),
    instance,
    fc.tuple(instance, fc.constantFrom('records', 'subscription', 'assignments', 'positions', 'positions/beginning', 'positions/end', 'offsets')).map(([i, r]) => `${i}/${r}`),
    fc.constant('/floe/v1/groups'),
    group.map((g) => `/floe/v1/groups/${g}`),
    group.map((g) => `/floe/v1/groups/${g}/offsets/reset`),
    topic.map((t) => `/floe/v1/topics/${t}/records`),
    fc.constant('/floe/v1/producer-ids'),
    fc.tuple(fc.oneof({ arbitrary: fc.constant(KNOWN_TRANSACTION), weight: 3 }, { arbitrary: weirdSegment, weight: 1 }), fc.constantFrom('', '/init', '/offsets', '/commit', '/abort', '/nope')).map(([t, a]) => `/floe/v1/transactions/${t}${a}`),
    fc.constant('/floe/v1/triggers'),
    fc.tuple(fc.oneof({ arbitrary: fc.constant(KNOWN_TRIGGER), weight: 3 }, { arbitrary: weirdSegment, weight: 1 }), fc.constantFrom('', '/pause', '/resume', '/seek', '/redrive', '/nope')).map(([t, a]) => `/floe/v1/triggers/${t}${a}`),
    fc.constant('/floe/v1/connectors'),
    fc.tuple(fc.oneof({ arbitrary: fc.constant(KNOWN_CONNECTOR), weight: 3 }, { arbitrary: weirdSegment, weight: 1 }), fc.constantFrom('', '/pause', '/resume', '/offsets/reset', '/offsets', '/nope')).map(([t, a]) => `/floe/v1/connectors/${t}${a}`),
    fc.constant('/floe/v1/tables'),
    fc.tuple(fc.oneof({ arbitrary: fc.constant(KNOWN_TABLE), weight: 3 }, { arbitrary: weirdSegment, weight: 1 }), fc.constantFrom('', '/keys', '/keys/a', '/keys/YQ%3D%3D', '/keys/%FF%00', '/nope')).map(([t, a]) => `/floe/v1/tables/${t}${a}`),
    fc.tuple(fc.oneof({ arbitrary: fc.constant(KNOWN_TABLE), weight: 3 }, { arbitrary: weirdSegment, weight: 1 }), partition, fc.constantFrom('/lookup', '/range', '/nope')).map(([t, p, a]) => `/floe/v1/tables/${t}/partitions/${p}${a}`),
    fc.string({ maxLength: 30 }).map((s) => `/${encodeURIComponent(s)}`),
  );
  return fc.record({
    method: fc.oneof({ arbitrary: fc.constantFrom('GET', 'POST'), weight: 6 }, { arbitrary: fc.constantFrom('PUT', 'DELETE', 'PATCH'), weight: 1 }),
    path: fc.tuple(path, query).map(([p, q]) => p + q),
    headers: fc.record({ 'content-type': mediaTypes, accept: accepts }).map((h) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== ''))),
    body: fc.option(jsonish, { nil: undefined }),
  });
}

/**
 * What a rejected request must leave as it was: the topic list, every known partition's offsets and
 * configs, and every item of the groups table (groups, instances, committed offsets), of the
 * transactions table (states, staged writes and offsets), of the triggers table (settings, lanes) and
 * of the tables table (definitions, entries).
 */
export async function snapshot(app: Hono, engine: Engine): Promise<string> {
  const topics = (await (await app.request('/topics')).json()) as string[];
  const groups = await scanAll(engine.clients, { TableName: engine.config.tables.groups, ConsistentRead: true });
  const transactions = await scanAll(engine.clients, { TableName: engine.config.tables.transactions, ConsistentRead: true });
  const triggers = await scanAll(engine.clients, { TableName: engine.config.tables.triggers, ConsistentRead: true });
  const tables = await scanAll(engine.clients, { TableName: engine.config.tables.tables, ConsistentRead: true });
  const parts: unknown[] = [topics, ...[groups, transactions, triggers, tables].map((items) => items.map((i) => JSON.stringify(canonical(i))).sort())];
  for (const t of topics) {
    const meta = (await (await app.request(`/topics/${t}`)).json()) as { partitions: Array<{ partition: number }>; configs: unknown };
    parts.push(meta.configs);
    for (const p of meta.partitions) parts.push(await (await app.request(`/topics/${t}/partitions/${p.partition}/offsets`)).json());
  }
  return JSON.stringify(parts);
}

/** A value with every object's keys in order, so equal items print alike. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v instanceof Set) return [...v].map(canonical).sort();
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
}

export interface FuzzOutcome {
  runs: number;
  fiveHundreds: Array<{ request: FuzzRequest; status: number; body: string }>;
  badBodies: Array<{ request: FuzzRequest; status: number; body: string }>;
  stateChanges: Array<{ request: FuzzRequest; status: number }>;
  statuses: Record<number, number>;
}

/** Sends `runs` generated requests; collects every violation instead of stopping at the first. */
export async function fuzz(app: Hono, engine: Engine, knownTopic: string, runs: number, seed: number): Promise<FuzzOutcome> {
  const out: FuzzOutcome = { runs, fiveHundreds: [], badBodies: [], stateChanges: [], statuses: {} };
  let before = await snapshot(app, engine);
  const samples = fc.sample(requestArbitrary(knownTopic), { numRuns: runs, seed });
  for (const request of samples) {
    const init: RequestInit = { method: request.method, headers: request.headers };
    if (request.body !== undefined && request.method !== 'GET') init.body = request.body;
    const r = await app.request(request.path, init);
    const text = await r.text();
    // acks=0 writes land after their answer: let them, so they are not blamed on the next request.
    await Promise.allSettled([...engine.background]);
    out.statuses[r.status] = (out.statuses[r.status] ?? 0) + 1;
    if (r.status >= 500) out.fiveHundreds.push({ request, status: r.status, body: text });
    if (r.status >= 400) {
      let ok = false;
      try {
        const b = JSON.parse(text) as Record<string, unknown>;
        ok = typeof b.error_code === 'number' && typeof b.message === 'string' && Object.keys(b).length === 2;
      } catch {
        ok = false;
      }
      if (!ok) out.badBodies.push({ request, status: r.status, body: text.slice(0, 200) });
      const after = await snapshot(app, engine);
      if (after !== before) out.stateChanges.push({ request, status: r.status });
      before = after;
    } else {
      // Accepted requests may write, a GET too (a consumer's records call heartbeats and auto-commits).
      before = await snapshot(app, engine);
    }
  }
  return out;
}
