// The Lambda entries serve the same app: driven here with real API Gateway HTTP API (payload 2.0)
// and Function URL event shapes. Each test spreads a base event and overrides what it needs.
import { beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { randomTopic } from './support/env.ts';
import { b64, BINARY, V2 } from './support/engine.ts';
import { lambdaClient, type LambdaHttpHandler } from './support/http.ts';
import { apiGatewayEvent, functionUrlEvent, lambdaContext, lambdaEvent } from './support/lambda-events.ts';

let produce: LambdaHttpHandler;
let fetch: LambdaHttpHandler;
let admin: LambdaHttpHandler;
let consumers: LambdaHttpHandler;

beforeAll(async () => {
  // The entries read their configuration at cold start, from the environment, as in Lambda.
  Object.assign(process.env, inject('floeEnv'));
  produce = (await import('../functions/produce.ts')).handler as unknown as LambdaHttpHandler;
  fetch = (await import('../functions/fetch.ts')).handler as unknown as LambdaHttpHandler;
  admin = (await import('../functions/admin.ts')).handler as unknown as LambdaHttpHandler;
  consumers = (await import('../functions/consumers.ts')).handler as unknown as LambdaHttpHandler;
});

describe('Lambda entries', () => {
  it('produce and fetch through API Gateway HTTP API events', async () => {
    const topic = randomTopic('lambda');
    const created = (await admin(
      lambdaEvent(apiGatewayEvent, 'POST', '/v3/clusters/floe/topics', { body: JSON.stringify({ topic_name: topic, partitions_count: 2 }), headers: { 'content-type': 'application/json' } }),
      lambdaContext,
    )) as { statusCode: number };
    expect(created.statusCode).toBe(201);

    const r = (await produce(
      lambdaEvent(apiGatewayEvent, 'POST', `/topics/${topic}/partitions/1`, { body: JSON.stringify({ records: [{ value: b64('via-lambda') }] }), headers: { 'content-type': BINARY }, base64: true }),
      lambdaContext,
    )) as { statusCode: number; body: string; headers: Record<string, string> };
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('application/vnd.kafka.v2+json');
    expect(JSON.parse(r.body).offsets).toEqual([{ partition: 1, offset: 0, error_code: null, error: null }]);

    const got = (await fetch(lambdaEvent(apiGatewayEvent, 'GET', `/topics/${topic}/partitions/1/records`, { query: 'offset=0', headers: { accept: BINARY } }), lambdaContext)) as { statusCode: number; body: string };
    expect(got.statusCode).toBe(200);
    expect(JSON.parse(got.body)).toEqual([{ topic, key: null, value: b64('via-lambda'), partition: 1, offset: 0 }]);
  });

  it('runs a transaction through the produce function: init, a write, commit; the fetch function reads it', async () => {
    const topic = randomTopic('lambdatx');
    const tid = randomTopic('lambdatid');
    const call = async (path: string, body: unknown) => {
      const r = (await produce(lambdaEvent(apiGatewayEvent, 'POST', path, { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }), lambdaContext)) as { statusCode: number; body: string };
      expect(r.statusCode, r.body).toBe(200);
      return JSON.parse(r.body);
    };
    const ids = await call(`/floe/v1/transactions/${tid}/init`, {});
    await call(`/floe/v1/topics/${topic}/records`, { transactional_id: tid, ...ids, sequence: 0, records: [{ value: b64('in-txn') }] });
    expect((await call(`/floe/v1/transactions/${tid}/commit`, ids)).state).toBe('CompleteCommit');
    const got = (await fetch(lambdaEvent(apiGatewayEvent, 'GET', `/floe/v1/topics/${topic}/partitions/0/records`, { query: 'offset=0&isolation_level=read_committed' }), lambdaContext)) as { statusCode: number; body: string };
    expect(JSON.parse(got.body).records.map((r: { value: string }) => r.value)).toEqual([b64('in-txn')]);
  });

  it('serves Function URL events, and maps bad input to the same 4xx as the local server', async () => {
    const ok = (await admin(lambdaEvent(functionUrlEvent, 'GET', '/'), lambdaContext)) as { statusCode: number; body: string };
    expect(ok.statusCode).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({});
    const bad = (await produce(lambdaEvent(functionUrlEvent, 'POST', '/topics/..%2Fsecret', { body: '{}', headers: { 'content-type': BINARY } }), lambdaContext)) as { statusCode: number; body: string };
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body).error_code).toBe(40002);
  });

  it('answers 404 for a route of another function that reaches it through its Function URL', async () => {
    const topic = randomTopic('url');
    const stray = (await produce(lambdaEvent(functionUrlEvent, 'GET', `/topics/${topic}/partitions/0/records`, { query: 'offset=0' }), lambdaContext)) as { statusCode: number; body: string };
    expect(stray.statusCode).toBe(404);
    expect(JSON.parse(stray.body)).toEqual({ error_code: 404, message: expect.stringContaining('not served by the produce function') });
    const own = (await produce(lambdaEvent(functionUrlEvent, 'POST', `/topics/${topic}`, { body: JSON.stringify({ records: [{ value: b64('x') }] }), headers: { 'content-type': BINARY } }), lambdaContext)) as { statusCode: number };
    expect(own.statusCode).toBe(200);
    // The admin function takes API Gateway's $default route: paths nobody serves get the app's own 404.
    const unknown = (await admin(lambdaEvent(apiGatewayEvent, 'GET', '/no/such/path'), lambdaContext)) as { statusCode: number; body: string };
    expect([unknown.statusCode, JSON.parse(unknown.body).error_code]).toEqual([404, 404]);
    // HEAD is routed to no function, so it reaches admin through $default: a HEAD of a fetch route is
    // refused there (admin may not read the log), a HEAD of an admin route is served.
    const head = (await admin(lambdaEvent(apiGatewayEvent, 'HEAD', `/topics/${topic}/partitions/0/records`, { query: 'offset=0' }), lambdaContext)) as { statusCode: number; body: string };
    expect([head.statusCode, JSON.parse(head.body).error_code]).toEqual([405, 405]);
    expect(((await admin(lambdaEvent(apiGatewayEvent, 'HEAD', '/topics'), lambdaContext)) as { statusCode: number }).statusCode).toBe(200);
  });

  it('reads committed offsets with a GET that carries a body, as the REST Proxy sends it', async () => {
    const topic = randomTopic('lambdaget');
    const group = randomTopic('lambdagroup');
    const base = `/consumers/${group}/instances/c1`;
    const api = lambdaClient(consumers, { type: V2 });
    const produced = (await produce(lambdaEvent(apiGatewayEvent, 'POST', `/topics/${topic}`, { body: JSON.stringify({ records: [{ value: b64('a') }, { value: b64('b') }] }), headers: { 'content-type': BINARY } }), lambdaContext)) as { statusCode: number };
    expect(produced.statusCode).toBe(200);
    expect((await api.post(`/consumers/${group}`, { name: 'c1', format: 'binary', 'auto.offset.reset': 'earliest' })).status).toBe(200);
    expect((await api.post(`${base}/subscription`, { topics: [topic] })).status).toBe(204);
    expect((await api.get(`${base}/records?timeout=1000`, { accept: BINARY })).body).toHaveLength(2);
    expect((await api.post(`${base}/offsets`, { offsets: [{ topic, partition: 0, offset: 0 }] })).status).toBe(200);
    // Function URLs may hand the body over base64-encoded; API Gateway sends text.
    for (const client of [api, lambdaClient(consumers, { type: V2, event: functionUrlEvent, base64: true })]) {
      const committed = await client.request('GET', `${base}/offsets`, { partitions: [{ topic, partition: 0 }] });
      expect([committed.status, committed.body]).toEqual([200, { offsets: [{ topic, partition: 0, offset: 1, metadata: '' }] }]);
    }
  });

  it('finishes an acks=0 write before the function returns, without reporting offsets', async () => {
    const topic = randomTopic('acks0');
    const r = (await produce(
      lambdaEvent(apiGatewayEvent, 'POST', `/topics/${topic}`, { query: 'acks=0', body: JSON.stringify({ records: [{ value: b64('fire') }] }), headers: { 'content-type': BINARY } }),
      lambdaContext,
    )) as { statusCode: number; body: string };
    expect(r.statusCode).toBe(200);
    expect(JSON.parse(r.body).offsets).toEqual([{ partition: null, offset: null, error_code: null, error: null }]);
    const got = (await fetch(lambdaEvent(apiGatewayEvent, 'GET', `/topics/${topic}/partitions/0/records`, { query: 'offset=0' }), lambdaContext)) as { body: string };
    expect(JSON.parse(got.body)).toHaveLength(1);
  });
});

describe('metrics from the Lambda entries', () => {
  it('writes consumer lag as a CloudWatch embedded metric line', async () => {
    const { emfMetrics } = await import('../functions/shared/emf.ts');
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    // Straight to stdout, one line each, not through console.log (which Lambda's JSON log format wraps).
    process.stdout.write = ((chunk: string) => lines.push(...chunk.split('\n').filter(Boolean)) > 0) as typeof process.stdout.write;
    try {
      emfMetrics.consumerLag(42, 'g1');
      emfMetrics.commitRetries(3);
    } finally {
      process.stdout.write = write;
    }
    const [lag, retries] = lines.map((l) => JSON.parse(l));
    expect(lag._aws.CloudWatchMetrics[0]).toEqual({ Namespace: 'Floe', Dimensions: [['service']], Metrics: [{ Name: 'ConsumerLag', Unit: 'Count' }] });
    expect(lag.ConsumerLag).toBe(42);
    expect(lag.group).toBe('g1');
    expect(retries.CommitRetries).toBe(3);
  });
});
