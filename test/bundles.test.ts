// The artifacts a deploy uploads, run: the CDK app is synthesized with its real esbuild bundling, and
// the bundled Lambda entries (not the TypeScript sources) are imported and invoked with API Gateway and
// EventBridge events against DynamoDB Local and the S3 emulator. One code path, two edges: what
// `npm start` serves is what these bundles carry, and a bundling mistake fails here, not in AWS.
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../infra/app.ts';
import { REPO_ROOT } from '../infra/floe-function.ts';
import { FUNCTIONS } from '../src/manifest.ts';
import { isolatedEngine } from './support/engine.ts';
import { randomTopic } from './support/env.ts';

type HttpHandler = (event: APIGatewayProxyEventV2, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>;
type JobHandler = (event: unknown) => Promise<{ job: string; removed: { batches: number } }>;

// Inside the repository, so the bundles find the AWS SDK in node_modules as the Lambda runtime provides it.
const outdir = join(REPO_ROOT, `.cdk-bundles-${randomBytes(4).toString('hex')}`);
const bundles = new Map<string, string>();

beforeAll(async () => {
  // Tables and a bucket of their own: the job bundles scan every topic.
  const engine = await isolatedEngine();
  const env = engine.config;
  // The bundles read their configuration at cold start from the environment, as in Lambda.
  Object.assign(process.env, inject('floeEnv'), {
    FLOE_TOPICS_TABLE: env.tables.topics,
    FLOE_LOG_TABLE: env.tables.log,
    FLOE_OBJECTS_TABLE: env.tables.objects,
    FLOE_PRODUCERS_TABLE: env.tables.producers,
    FLOE_GROUPS_TABLE: env.tables.groups,
    FLOE_BUCKET: env.bucket,
  });
  const { app, stack } = buildApp({ stage: 'bundles', 'aws:cdk:enable-asset-metadata': 'true' }, outdir);
  const template = app.synth().getStackByName(stack.stackName).template as { Resources: Record<string, { Type: string; Metadata?: Record<string, string> }> };
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::Lambda::Function' || !r.Metadata?.['aws:asset:path']) continue;
    const entry = FUNCTIONS.find((f) => id.toLowerCase().startsWith(`${f.entry}function`));
    if (entry) bundles.set(entry.entry, join(outdir, r.Metadata['aws:asset:path'], 'index.mjs'));
  }
}, 180_000);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

async function handler<T>(entry: string): Promise<T> {
  const file = bundles.get(entry);
  expect(file, `bundle of ${entry}`).toBeDefined();
  return (await import(pathToFileURL(file!).href)).handler as T;
}

function httpEvent(method: string, path: string, opts: { query?: string; body?: string; headers?: Record<string, string> } = {}): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: opts.query ?? '',
    headers: { host: 'abc123.execute-api.us-east-1.amazonaws.com', ...(opts.headers ?? {}) },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'curl/8.5.0' },
      requestId: randomBytes(8).toString('hex'),
      routeKey: '$default',
      stage: '$default',
      time: '25/Nov/2026:10:00:00 +0000',
      timeEpoch: Date.now(),
    },
    isBase64Encoded: false,
    ...(opts.body !== undefined ? { body: opts.body } : {}),
  };
}

describe('the deployed bundles', () => {
  it('bundles every function as one self-contained ESM file', () => {
    expect([...bundles.keys()].sort()).toEqual(FUNCTIONS.map((f) => f.entry).sort());
    for (const [entry, file] of bundles) {
      const files = readdirSync(join(file, '..'));
      expect(files, entry).toContain('index.mjs');
      expect(statSync(file).size, entry).toBeLessThan(2 * 1024 * 1024);
    }
  });

  it('produce, fetch and admin bundles serve the API against the real stores', async () => {
    const topic = randomTopic('bundle');
    const admin = await handler<HttpHandler>('admin');
    const created = await admin(httpEvent('POST', '/v3/clusters/floe/topics', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ topic_name: topic, partitions_count: 2 }) }), {});
    expect(created.statusCode).toBe(201);
    const produce = await handler<HttpHandler>('produce');
    const produced = await produce(
      httpEvent('POST', `/topics/${topic}`, { headers: { 'content-type': 'application/vnd.kafka.json.v2+json' }, body: JSON.stringify({ records: [{ key: 'alice', value: { n: 1 } }, { key: 'alice', value: { n: 2 } }] }) }),
      {},
    );
    expect(produced.statusCode).toBe(200);
    const offsets = (JSON.parse(produced.body!) as { offsets: Array<{ partition: number; offset: number }> }).offsets;
    expect(offsets.map((o) => o.offset)).toEqual([0, 1]);
    const fetch = await handler<HttpHandler>('fetch');
    const read = await fetch(httpEvent('GET', `/topics/${topic}/partitions/${offsets[0]!.partition}/records`, { query: 'offset=0', headers: { accept: 'application/vnd.kafka.json.v2+json' } }), {});
    expect(read.statusCode).toBe(200);
    expect((JSON.parse(read.body!) as Array<{ value: unknown }>).map((r) => r.value)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('the consumers bundle runs a consumer group', async () => {
    const consumers = await handler<HttpHandler>('consumers');
    const group = randomTopic('bundleg');
    const v2 = { 'content-type': 'application/vnd.kafka.v2+json' };
    const made = await consumers(httpEvent('POST', `/consumers/${group}`, { headers: v2, body: JSON.stringify({ name: 'c1', format: 'binary' }) }), {});
    expect(made.statusCode).toBe(200);
    expect((await consumers(httpEvent('DELETE', `/consumers/${group}/instances/c1`), {})).statusCode).toBe(204);
  });

  it('the job bundles run on a scheduled event and report what they did', async () => {
    const scheduled = { version: '0', id: 'e1', 'detail-type': 'Scheduled Event', source: 'aws.events', account: '123456789012', time: new Date().toISOString(), region: 'us-east-1', resources: [], detail: {} };
    for (const job of ['retention', 'compaction', 'gc']) {
      const summary = await (await handler<JobHandler>(job))(scheduled);
      expect(summary.job).toBe(job);
      expect(summary.removed.batches).toBeGreaterThanOrEqual(0);
    }
  });
});
