// The artifacts a deploy uploads, run: the CDK app is synthesized with its real esbuild bundling, and
// the bundled Lambda entries (not the TypeScript sources) are imported and invoked with API Gateway and
// EventBridge events against DynamoDB Local and the S3 emulator. One code path, two edges: what
// `npm start` serves is what these bundles carry, and a bundling mistake fails here, not in AWS.
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../infra/app.ts';
import { REPO_ROOT } from '../infra/floe-function.ts';
import { FUNCTIONS } from '../src/manifest.ts';
import { isolatedEngine } from './support/engine.ts';
import { randomTopic } from './support/env.ts';
import { lambdaClient, type LambdaHttpHandler } from './support/http.ts';

type JobHandler = (event: unknown) => Promise<{ job: string; removed: { batches: number } }>;

// Inside the repository, so the bundles find the AWS SDK in node_modules as the Lambda runtime provides it.
const outdir = join(REPO_ROOT, `.cdk-bundles-${randomBytes(4).toString('hex')}`);
const bundles = new Map<string, string>();
/** FLOE_CRC32C as the template sets it on the functions. */
const crcChoices = new Set<string>();

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
    FLOE_TRANSACTIONS_TABLE: env.tables.transactions,
    FLOE_BUCKET: env.bucket,
  });
  const { app, stack } = buildApp({ stage: 'bundles', 'aws:cdk:enable-asset-metadata': 'true' }, outdir);
  type Resource = { Type: string; Metadata?: Record<string, string>; Properties?: { Environment?: { Variables?: Record<string, unknown> } } };
  const template = app.synth().getStackByName(stack.stackName).template as { Resources: Record<string, Resource> };
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::Lambda::Function' || !r.Metadata?.['aws:asset:path']) continue;
    const entry = FUNCTIONS.find((f) => id.toLowerCase().startsWith(`${f.entry}function`));
    if (!entry) continue;
    bundles.set(entry.entry, join(outdir, r.Metadata['aws:asset:path'], 'index.mjs'));
    crcChoices.add(String(r.Properties?.Environment?.Variables?.FLOE_CRC32C));
  }
  // The CRC-32C implementation is chosen from the environment when a bundle loads: the one Lambda
  // will have (these bundles sit inside the repository, where the native addon would load).
  process.env.FLOE_CRC32C = [...crcChoices][0];
}, 180_000);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

async function handler<T>(entry: string): Promise<T> {
  const file = bundles.get(entry);
  expect(file, `bundle of ${entry}`).toBeDefined();
  return (await import(pathToFileURL(file!).href)).handler as T;
}

describe('the deployed bundles', () => {
  it('bundles every function as one self-contained ESM file', () => {
    expect([...bundles.keys()].sort()).toEqual(FUNCTIONS.map((f) => f.entry).sort());
    for (const [entry, file] of bundles) {
      const files = readdirSync(join(file, '..'));
      expect(files, entry).toContain('index.mjs');
      // No node_modules: nothing is installed beside the bundle, so no native addon either.
      expect(files, entry).not.toContain('node_modules');
      expect(statSync(file).size, entry).toBeLessThan(2 * 1024 * 1024);
    }
    expect([...crcChoices]).toEqual(['wasm']);
  });

  it('checksums long batches with the WebAssembly CRC-32C the functions are set to use', async () => {
    const topic = randomTopic('bundlecrc');
    const admin = lambdaClient(await handler<LambdaHttpHandler>('admin'));
    expect((await admin.post('/v3/clusters/floe/topics', { topic_name: topic, partitions_count: 1 })).status).toBe(201);
    // Batches of 256 bytes and more go to the long-input implementation on both write and read.
    const value = randomBytes(3000).toString('base64');
    const produce = lambdaClient(await handler<LambdaHttpHandler>('produce'));
    expect((await produce.post(`/topics/${topic}`, { records: [{ value }, { value }] }, { type: 'application/vnd.kafka.binary.v2+json' })).status).toBe(200);
    const fetch = lambdaClient(await handler<LambdaHttpHandler>('fetch'));
    const read = await fetch.get(`/topics/${topic}/partitions/0/records?offset=0`, { accept: 'application/vnd.kafka.binary.v2+json' });
    expect(read.status).toBe(200);
    expect((read.body as Array<{ value: string }>).map((r) => r.value)).toEqual([value, value]);
  });

  it('produce, fetch and admin bundles serve the API against the real stores', async () => {
    const topic = randomTopic('bundle');
    const admin = lambdaClient(await handler<LambdaHttpHandler>('admin'));
    const created = await admin.post('/v3/clusters/floe/topics', { topic_name: topic, partitions_count: 2 });
    expect(created.status).toBe(201);
    const produce = lambdaClient(await handler<LambdaHttpHandler>('produce'));
    const produced = await produce.post(`/topics/${topic}`, { records: [{ key: 'alice', value: { n: 1 } }, { key: 'alice', value: { n: 2 } }] }, { type: 'application/vnd.kafka.json.v2+json' });
    expect(produced.status).toBe(200);
    const offsets = (produced.body as { offsets: Array<{ partition: number; offset: number }> }).offsets;
    expect(offsets.map((o) => o.offset)).toEqual([0, 1]);
    const fetch = lambdaClient(await handler<LambdaHttpHandler>('fetch'));
    const read = await fetch.get(`/topics/${topic}/partitions/${offsets[0]!.partition}/records?offset=0`, { accept: 'application/vnd.kafka.json.v2+json' });
    expect(read.status).toBe(200);
    expect((read.body as Array<{ value: unknown }>).map((r) => r.value)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('the consumers bundle runs a consumer group', async () => {
    const consumers = lambdaClient(await handler<LambdaHttpHandler>('consumers'), { type: 'application/vnd.kafka.v2+json' });
    const group = randomTopic('bundleg');
    const made = await consumers.post(`/consumers/${group}`, { name: 'c1', format: 'binary' });
    expect(made.status).toBe(200);
    expect((await consumers.delete(`/consumers/${group}/instances/c1`)).status).toBe(204);
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
