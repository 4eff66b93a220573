// The Lambda entries serve the same app: driven here with real API Gateway HTTP API (payload 2.0)
// and Function URL event shapes. Each test spreads a base event and overrides what it needs.
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { randomTopic } from './support/env.ts';
import { b64, BINARY } from './support/engine.ts';

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;

const baseEvent: APIGatewayProxyEventV2 = {
  version: '2.0',
  routeKey: '$default',
  rawPath: '/',
  rawQueryString: '',
  headers: { host: 'abc123.execute-api.us-east-1.amazonaws.com', 'user-agent': 'curl/8.5.0', accept: '*/*' },
  requestContext: {
    accountId: '123456789012',
    apiId: 'abc123',
    domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
    domainPrefix: 'abc123',
    http: { method: 'GET', path: '/', protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'curl/8.5.0' },
    requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
    routeKey: '$default',
    stage: '$default',
    time: '25/Nov/2026:10:00:00 +0000',
    timeEpoch: 1795600800000,
  },
  isBase64Encoded: false,
};

/** A Function URL event: same payload 2.0, with the lambda-url domain and no stage routing. */
const functionUrlEvent: APIGatewayProxyEventV2 = {
  ...baseEvent,
  headers: { ...baseEvent.headers, host: 'xyz.lambda-url.us-east-1.on.aws' },
  requestContext: { ...baseEvent.requestContext, apiId: 'xyz', domainName: 'xyz.lambda-url.us-east-1.on.aws', domainPrefix: 'xyz' },
};

const context = { awsRequestId: 'req-1', functionName: 'floe-produce', getRemainingTimeInMillis: () => 29_000 } as unknown as Context;

function event(base: APIGatewayProxyEventV2, method: string, path: string, opts: { query?: string; body?: string; headers?: Record<string, string>; base64?: boolean } = {}): APIGatewayProxyEventV2 {
  return {
    ...base,
    rawPath: path,
    rawQueryString: opts.query ?? '',
    headers: { ...base.headers, ...(opts.headers ?? {}) },
    requestContext: { ...base.requestContext, http: { ...base.requestContext.http, method, path } },
    ...(opts.body !== undefined ? { body: opts.base64 ? Buffer.from(opts.body).toString('base64') : opts.body, isBase64Encoded: Boolean(opts.base64) } : {}),
  };
}

let produce: Handler;
let fetch: Handler;
let admin: Handler;
let consumers: Handler;

beforeAll(async () => {
  // The entries read their configuration at cold start, from the environment, as in Lambda.
  Object.assign(process.env, inject('floeEnv'));
  produce = (await import('../functions/produce.ts')).handler as unknown as Handler;
  fetch = (await import('../functions/fetch.ts')).handler as unknown as Handler;
  admin = (await import('../functions/admin.ts')).handler as unknown as Handler;
  consumers = (await import('../functions/consumers.ts')).handler as unknown as Handler;
});

describe('Lambda entries', () => {
  it('produce and fetch through API Gateway HTTP API events', async () => {
    const topic = randomTopic('lambda');
    const created = (await admin(
      event(baseEvent, 'POST', '/v3/clusters/floe/topics', { body: JSON.stringify({ topic_name: topic, partitions_count: 2 }), headers: { 'content-type': 'application/json' } }),
      context,
    )) as { statusCode: number };
    expect(created.statusCode).toBe(201);

    const r = (await produce(
      event(baseEvent, 'POST', `/topics/${topic}/partitions/1`, { body: JSON.stringify({ records: [{ value: b64('via-lambda') }] }), headers: { 'content-type': BINARY }, base64: true }),
      context,
    )) as { statusCode: number; body: string; headers: Record<string, string> };
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('application/vnd.kafka.v2+json');
    expect(JSON.parse(r.body).offsets).toEqual([{ partition: 1, offset: 0, error_code: null, error: null }]);

    const got = (await fetch(event(baseEvent, 'GET', `/topics/${topic}/partitions/1/records`, { query: 'offset=0', headers: { accept: BINARY } }), context)) as { statusCode: number; body: string };
    expect(got.statusCode).toBe(200);
    expect(JSON.parse(got.body)).toEqual([{ topic, key: null, value: b64('via-lambda'), partition: 1, offset: 0 }]);
  });

  it('serves Function URL events, and maps bad input to the same 4xx as the local server', async () => {
    const ok = (await admin(event(functionUrlEvent, 'GET', '/'), context)) as { statusCode: number; body: string };
    expect(ok.statusCode).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({});
    const bad = (await produce(event(functionUrlEvent, 'POST', '/topics/..%2Fsecret', { body: '{}', headers: { 'content-type': BINARY } }), context)) as { statusCode: number; body: string };
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body).error_code).toBe(40002);
  });

  it('answers 404 for a route of another function that reaches it through its Function URL', async () => {
    const topic = randomTopic('url');
    const stray = (await produce(event(functionUrlEvent, 'GET', `/topics/${topic}/partitions/0/records`, { query: 'offset=0' }), context)) as { statusCode: number; body: string };
    expect(stray.statusCode).toBe(404);
    expect(JSON.parse(stray.body)).toEqual({ error_code: 404, message: expect.stringContaining('not served by the produce function') });
    const own = (await produce(event(functionUrlEvent, 'POST', `/topics/${topic}`, { body: JSON.stringify({ records: [{ value: b64('x') }] }), headers: { 'content-type': BINARY } }), context)) as { statusCode: number };
    expect(own.statusCode).toBe(200);
    // The admin function takes API Gateway's $default route: paths nobody serves get the app's own 404.
    const unknown = (await admin(event(baseEvent, 'GET', '/no/such/path'), context)) as { statusCode: number; body: string };
    expect([unknown.statusCode, JSON.parse(unknown.body).error_code]).toEqual([404, 404]);
    // HEAD is routed to no function, so it reaches admin through $default: a HEAD of a fetch route is
    // refused there (admin may not read the log), a HEAD of an admin route is served.
    const head = (await admin(event(baseEvent, 'HEAD', `/topics/${topic}/partitions/0/records`, { query: 'offset=0' }), context)) as { statusCode: number; body: string };
    expect([head.statusCode, JSON.parse(head.body).error_code]).toEqual([405, 405]);
    expect(((await admin(event(baseEvent, 'HEAD', '/topics'), context)) as { statusCode: number }).statusCode).toBe(200);
  });

  it('reads committed offsets with a GET that carries a body, as the REST Proxy sends it', async () => {
    const topic = randomTopic('lambdaget');
    const group = randomTopic('lambdagroup');
    const base = `/consumers/${group}/instances/c1`;
    const send = async (method: string, path: string, opts: { query?: string; body?: unknown; base64?: boolean; accept?: string } = {}) => {
      const headers = { ...(opts.body !== undefined ? { 'content-type': 'application/vnd.kafka.v2+json' } : {}), ...(opts.accept ? { accept: opts.accept } : {}) };
      const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
      const r = (await consumers(event(baseEvent, method, path, { query: opts.query, headers, body, base64: opts.base64 }), context)) as { statusCode: number; body: string };
      return { status: r.statusCode, body: r.body ? JSON.parse(r.body) : undefined };
    };
    const produced = (await produce(event(baseEvent, 'POST', `/topics/${topic}`, { body: JSON.stringify({ records: [{ value: b64('a') }, { value: b64('b') }] }), headers: { 'content-type': BINARY } }), context)) as { statusCode: number };
    expect(produced.statusCode).toBe(200);
    expect((await send('POST', `/consumers/${group}`, { body: { name: 'c1', format: 'binary', 'auto.offset.reset': 'earliest' } })).status).toBe(200);
    expect((await send('POST', `${base}/subscription`, { body: { topics: [topic] } })).status).toBe(204);
    expect((await send('GET', `${base}/records`, { query: 'timeout=1000', accept: BINARY })).body).toHaveLength(2);
    expect((await send('POST', `${base}/offsets`, { body: { offsets: [{ topic, partition: 0, offset: 0 }] } })).status).toBe(200);
    const wanted = { partitions: [{ topic, partition: 0 }] };
    // Function URLs may hand the body over base64-encoded; API Gateway sends text.
    for (const base64 of [false, true]) {
      const committed = await send('GET', `${base}/offsets`, { body: wanted, base64 });
      expect(committed).toEqual({ status: 200, body: { offsets: [{ topic, partition: 0, offset: 1, metadata: '' }] } });
    }
  });

  it('finishes an acks=0 write before the function returns, without reporting offsets', async () => {
    const topic = randomTopic('acks0');
    const r = (await produce(
      event(baseEvent, 'POST', `/topics/${topic}`, { query: 'acks=0', body: JSON.stringify({ records: [{ value: b64('fire') }] }), headers: { 'content-type': BINARY } }),
      context,
    )) as { statusCode: number; body: string };
    expect(r.statusCode).toBe(200);
    expect(JSON.parse(r.body).offsets).toEqual([{ partition: null, offset: null, error_code: null, error: null }]);
    const got = (await fetch(event(baseEvent, 'GET', `/topics/${topic}/partitions/0/records`, { query: 'offset=0' }), context)) as { body: string };
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
