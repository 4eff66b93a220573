// Bad input, generated: requests for every endpoint with hostile paths, queries, media types and
// bodies. The properties: no 5xx, every error is `{error_code, message}`, and a rejected request
// changes no state. Used by a bounded test and by `npm run test:fuzz -- --runs N`.
import fc from 'fast-check';
import type { Hono } from 'hono';
import type { Engine } from '../../src/engine/engine.ts';

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

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
);

const query = fc.array(fc.tuple(fc.constantFrom('offset', 'timeout', 'max_bytes', 'acks', 'timestamp', 'max_records', 'isolation_level', 'x'), fc.oneof(fc.constantFrom('-1', '0', '1', 'earliest', 'latest', 'all', '1e9', '99999999999999999999', '', 'read_committed'), fc.string({ maxLength: 6 }).map(encodeURIComponent))), { maxLength: 3 }).map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}` : ''));

export function requestArbitrary(knownTopic: string): fc.Arbitrary<FuzzRequest> {
  const topic = fc.oneof(fc.constant(knownTopic), weirdSegment);
  const partition = fc.oneof(fc.constantFrom('0', '1', '2'), weirdSegment);
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
    fc.tuple(weirdSegment, weirdSegment).map(([g, i]) => `/consumers/${g}/instances/${i}/records`),
    fc.string({ maxLength: 30 }).map((s) => `/${encodeURIComponent(s)}`),
  );
  return fc.record({
    method: fc.oneof({ arbitrary: fc.constantFrom('GET', 'POST'), weight: 6 }, { arbitrary: fc.constantFrom('PUT', 'DELETE', 'PATCH'), weight: 1 }),
    path: fc.tuple(path, query).map(([p, q]) => p + q),
    headers: fc.record({ 'content-type': mediaTypes, accept: accepts }).map((h) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== ''))),
    body: fc.option(jsonish, { nil: undefined }),
  });
}

/** What a rejected request must leave as it was: the topic list and every known partition's offsets and configs. */
export async function snapshot(app: Hono): Promise<string> {
  const topics = (await (await app.request('/topics')).json()) as string[];
  const parts: unknown[] = [topics];
  for (const t of topics) {
    const meta = (await (await app.request(`/topics/${t}`)).json()) as { partitions: Array<{ partition: number }>; configs: unknown };
    parts.push(meta.configs);
    for (const p of meta.partitions) parts.push(await (await app.request(`/topics/${t}/partitions/${p.partition}/offsets`)).json());
  }
  return JSON.stringify(parts);
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
  let before = await snapshot(app);
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
      const after = await snapshot(app);
      if (after !== before) out.stateChanges.push({ request, status: r.status });
      before = after;
    } else if (request.method !== 'GET') {
      before = await snapshot(app);
    }
  }
  return out;
}
