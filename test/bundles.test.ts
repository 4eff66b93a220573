// The artifacts a deploy uploads, run: the CDK app is synthesized with its real esbuild bundling, and
// the bundled Lambda entries (not the TypeScript sources) are imported and invoked with API Gateway,
// EventBridge, CloudFormation custom resource and DynamoDB stream events against DynamoDB Local, the S3
// emulator, and (for the functions a trigger invokes) a stand-in for the Lambda API. One code path, two edges: what
// `npm start` serves is what these bundles carry, and a bundling mistake fails here, not in AWS.
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../infra/app.ts';
import { REPO_ROOT } from '../infra/floe-function.ts';
import type { CloudFormationCustomResourceEvent, Context, DynamoDBStreamEvent, MSKEvent } from 'aws-lambda';
import type { Engine } from '../src/engine/engine.ts';
import { FUNCTIONS } from '../src/manifest.ts';
import { partitionKey } from '../src/storage/keys.ts';
import { isolatedEngine } from './support/engine.ts';
import { randomTopic } from './support/env.ts';
import { lambdaClient, type LambdaHttpHandler } from './support/http.ts';

type JobHandler = (event: unknown) => Promise<{ job: string; removed: { batches: number } }>;
type TriggersHandler = (event: CloudFormationCustomResourceEvent, context: Context) => Promise<{ PhysicalResourceId: string; Data?: Record<string, string> }>;
type DispatcherHandler = (event: DynamoDBStreamEvent | Record<string, unknown>, context: Context) => Promise<Record<string, number>>;

/** The API URL the dispatcher's events name as their bootstrapServers (FLOE_API_URL, as the stack sets it). */
const API_URL = 'https://floe-api.example.com';

/**
 * A stand-in for the Lambda API's Invoke (POST /2015-03-31/functions/<name>/invocations), for the
 * dispatcher bundle's SDK client: it records each event by function and answers as a function that
 * returns nothing.
 */
const invoked: Array<{ fn: string; event: MSKEvent }> = [];
let lambdaApi: Server;
/** An engine on the bundles' tables, for what no bundle answers (a topic's id). */
let storage: Engine;

// Inside the repository, so the bundles find the AWS SDK in node_modules as the Lambda runtime provides it.
const outdir = join(REPO_ROOT, `.cdk-bundles-${randomBytes(4).toString('hex')}`);
const bundles = new Map<string, string>();
/** FLOE_CRC32C as the template sets it on the functions. */
const crcChoices = new Set<string>();

beforeAll(async () => {
  lambdaApi = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const fn = decodeURIComponent(/^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(req.url ?? '')?.[1] ?? '');
      invoked.push({ fn, event: JSON.parse(Buffer.concat(chunks).toString('utf8')) as MSKEvent });
      res.writeHead(200, { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST' }).end('null');
    });
  });
  await new Promise<void>((resolve) => lambdaApi.listen(0, '127.0.0.1', resolve));
  // Tables and a bucket of their own: the job bundles scan every topic, the dispatcher every trigger.
  storage = await isolatedEngine();
  const env = storage.config;
  // The bundles read their configuration at cold start from the environment, as in Lambda.
  Object.assign(process.env, inject('floeEnv'), {
    FLOE_TOPICS_TABLE: env.tables.topics,
    FLOE_LOG_TABLE: env.tables.log,
    FLOE_OBJECTS_TABLE: env.tables.objects,
    FLOE_PRODUCERS_TABLE: env.tables.producers,
    FLOE_GROUPS_TABLE: env.tables.groups,
    FLOE_TRANSACTIONS_TABLE: env.tables.transactions,
    FLOE_TRIGGERS_TABLE: env.tables.triggers,
    FLOE_BUCKET: env.bucket,
    FLOE_API_URL: API_URL,
    AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${(lambdaApi.address() as AddressInfo).port}`,
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

afterAll(async () => {
  rmSync(outdir, { recursive: true, force: true });
  await new Promise((resolve) => lambdaApi?.close(resolve));
});

const context = { awsRequestId: 'req-1', functionName: 'floe-dispatcher', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;

/** A custom resource event as CDK's provider framework passes it on (CloudFormation's, with its properties as strings). */
function resourceEvent(type: 'Create' | 'Update' | 'Delete', settings: Record<string, unknown>, physicalId?: string): CloudFormationCustomResourceEvent {
  const base = {
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:provider',
    ResponseURL: 'https://cloudformation-custom-resource-response.example.com/',
    StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/UserStack/1',
    RequestId: randomBytes(8).toString('hex'),
    LogicalResourceId: 'MineFloeEventSource',
    ResourceType: 'Custom::FloeTrigger',
    ResourceProperties: { ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:provider', Settings: JSON.stringify(settings) },
  };
  if (type === 'Create') return { ...base, RequestType: 'Create' };
  if (type === 'Update') return { ...base, RequestType: 'Update', PhysicalResourceId: physicalId!, OldResourceProperties: base.ResourceProperties };
  return { ...base, RequestType: 'Delete', PhysicalResourceId: physicalId! };
}

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

  it('the triggers bundle serves the trigger routes and creates, updates and deletes a trigger for a custom resource', async () => {
    const topic = randomTopic('bundlet');
    const admin = lambdaClient(await handler<LambdaHttpHandler>('admin'));
    expect((await admin.post('/v3/clusters/floe/topics', { topic_name: topic, partitions_count: 1 })).status).toBe(201);
    const fn = 'arn:aws:lambda:us-east-1:123456789012:function:bundle-target';
    const http = lambdaClient(await handler<LambdaHttpHandler>('triggers'), { type: 'application/json' });
    const name = randomTopic('bundletr');
    const created = await http.post('/floe/v1/triggers', { name, topic, target: { type: 'lambda', function: fn } });
    expect(created.status, created.text).toBe(201);
    expect((await http.get(`/floe/v1/triggers/${name}`)).body).toMatchObject({ name, topics: [topic], target: { type: 'lambda', function: fn }, state: 'Enabled' });
    expect((await http.delete(`/floe/v1/triggers/${name}`)).status).toBe(204);
    // Only the lambda target is taken in AWS: a module or URL would run code or reach a network from the server.
    expect((await http.post('/floe/v1/triggers', { name, topic, target: { type: 'http', url: 'http://169.254.169.254/' } })).status).toBe(400);

    const resource = await handler<TriggersHandler>('triggers');
    const settings = { name: randomTopic('bundlecr'), topic, target: { type: 'lambda', function: fn }, starting_position: 'LATEST', batch_size: 100, enabled: true };
    const made = await resource(resourceEvent('Create', settings), context);
    expect(made).toEqual({ PhysicalResourceId: settings.name, Data: { TriggerName: settings.name, TriggerId: expect.stringContaining(settings.name) } });
    const updated = await resource(resourceEvent('Update', { ...settings, batch_size: 7 }, made.PhysicalResourceId), context);
    expect(updated.PhysicalResourceId).toBe(settings.name);
    expect(updated.Data?.TriggerId).toBe(made.Data?.TriggerId);
    expect((await http.get(`/floe/v1/triggers/${settings.name}`)).body).toMatchObject({ batch_size: 7 });
    expect(await resource(resourceEvent('Delete', settings, made.PhysicalResourceId), context)).toEqual({ PhysicalResourceId: settings.name });
    expect((await http.get(`/floe/v1/triggers/${settings.name}`)).status).toBe(404);
    // A delete of what is gone already (a retried delete) succeeds.
    expect(await resource(resourceEvent('Delete', settings, made.PhysicalResourceId), context)).toEqual({ PhysicalResourceId: settings.name });
  });

  it('the dispatcher bundle delivers on a stream batch of partition heads and on its sweep, through the Lambda API', async () => {
    const topic = randomTopic('bundled');
    const admin = lambdaClient(await handler<LambdaHttpHandler>('admin'));
    expect((await admin.post('/v3/clusters/floe/topics', { topic_name: topic, partitions_count: 2 })).status).toBe(201);
    const fn = `arn:aws:lambda:us-east-1:123456789012:function:${randomTopic('bundlefn')}`;
    const http = lambdaClient(await handler<LambdaHttpHandler>('triggers'), { type: 'application/json' });
    const name = randomTopic('bundledr');
    expect((await http.post('/floe/v1/triggers', { name, topic, target: { type: 'lambda', function: fn }, starting_position: 'TRIM_HORIZON', max_batching_window_ms: 0 })).status).toBe(201);
    const produce = lambdaClient(await handler<LambdaHttpHandler>('produce'));
    const producedTo = async (value: string, partition: number) => {
      const r = await produce.post(`/topics/${topic}/partitions/${partition}`, { records: [{ value: Buffer.from(value).toString('base64') }] }, { type: 'application/vnd.kafka.binary.v2+json' });
      expect(r.status, r.text).toBe(200);
    };
    const dispatcher = await handler<DispatcherHandler>('dispatcher');
    const delivered = () => invoked.filter((i) => i.fn === fn).flatMap((i) => Object.values(i.event.records).flat().map((r) => Buffer.from(r.value, 'base64').toString()));

    await producedTo('one', 0);
    // What the event source mapping passes on (its filter lets only heads through; the handler checks too).
    const id = (await storage.topics.resolve(topic)).id;
    const head = { eventID: '1', eventName: 'MODIFY', eventSource: 'aws:dynamodb', awsRegion: 'us-east-1', dynamodb: { Keys: { p: { S: partitionKey(id, 0) }, o: { N: '-1' } }, StreamViewType: 'KEYS_ONLY' } };
    const entry = { ...head, eventName: 'INSERT', dynamodb: { Keys: { p: { S: partitionKey(id, 0) }, o: { N: '0' } }, StreamViewType: 'KEYS_ONLY' } };
    expect(await dispatcher({ Records: [entry, head, head] } as DynamoDBStreamEvent, context)).toEqual({ woken: 1 });
    expect(delivered()).toEqual(['one']);
    const first = invoked.find((i) => i.fn === fn)!.event;
    expect(first).toMatchObject({ eventSource: 'aws:kafka', bootstrapServers: API_URL, eventSourceArn: expect.stringContaining(name) });
    expect(Object.keys(first.records)).toEqual([`${topic}-0`]);

    // No wake-up for partition 1: the scheduled sweep finds it behind.
    await producedTo('two', 1);
    const scheduled = { version: '0', id: 'e2', 'detail-type': 'Scheduled Event', source: 'aws.events', account: '123456789012', time: new Date().toISOString(), region: 'us-east-1', resources: [], detail: {} };
    expect(await dispatcher(scheduled, context)).toMatchObject({ triggers: 1, lanes: 1, ran: 1 });
    expect(delivered()).toEqual(['one', 'two']);
    expect((await http.delete(`/floe/v1/triggers/${name}`)).status).toBe(204);
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
