// @floe/client's connectors against a real server over HTTP: a loopback server on the local runtime's
// engine (its dispatcher woken by the server's commits and swept every 200 ms, with a triggers table of
// this file's own, as connectors are internal triggers), sinking into a real DynamoDB Local table and
// a real bucket of the S3 emulator; every call of floe.connectors(), and the server's refusals as
// the client's errors with their codes. Then as deployed: the client against Floe's triggers function
// given API Gateway events (the function the manifest routes /floe/v1/connectors to), and the
// Custom::FloeConnector events @floe/cdk's FloeConnector makes it handle.
import { serve, type ServerType } from '@hono/node-server';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, ListObjectsCommand } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { randomBytes } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BadRequestError, Floe, TopicNotFoundError, type ConnectorDescription } from '../../packages/client/src/index.ts';
import { createApp } from '../../src/api/app.ts';
import { createEngine } from '../../src/engine/engine.ts';
import { freePort } from '../../src/local/emulators.ts';
import { readNodeBody } from '../../src/local/node-body.ts';
import { ownTriggersTable, randomTopic, testClients, testConfig } from '../support/env.ts';
import { apiGatewayEvent, lambdaContext, lambdaEvent } from '../support/lambda-events.ts';
import { FAST_RETRY, newTopic } from './support.ts';

const ownTable = await ownTriggersTable();
const config = testConfig(ownTable);
const clients = testClients(config);
const engine = createEngine(config, clients, { local: true, triggerLog: () => undefined });
let server: ServerType;
let floe: Floe;
let sweeper: NodeJS.Timeout;

beforeAll(async () => {
  const port = await freePort();
  server = await new Promise((r) => {
    const s = serve({ fetch: createApp(engine, { readBody: readNodeBody }).fetch, hostname: '127.0.0.1', port }, () => r(s));
  });
  floe = new Floe({ url: `http://127.0.0.1:${port}`, retry: FAST_RETRY });
  sweeper = setInterval(() => void engine.dispatcher.sweep({ wait: false }).catch(() => undefined), 200);
});
afterAll(async () => {
  clearInterval(sweeper);
  await engine.dispatcher.stop();
  await new Promise<void>((r) => server.close(() => r()));
});

/** A table of the user's, keyed by `id`. */
async function userTable(): Promise<string> {
  const name = `sink-${randomBytes(5).toString('hex')}`;
  await clients.ddb.send(
    new CreateTableCommand({ TableName: name, BillingMode: 'PAY_PER_REQUEST', KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }] }),
  );
  return name;
}

async function userBucket(): Promise<string> {
  const name = `sink-${randomBytes(5).toString('hex')}`;
  await clients.s3.send(new CreateBucketCommand({ Bucket: name }));
  return name;
}

async function items(table: string): Promise<Map<string, Record<string, unknown>>> {
  const r = await clients.ddb.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
  return new Map((r.Items ?? []).map((i) => [i.id as string, i]));
}

async function send(topic: string, messages: Array<{ key: string; value: string; partition?: number }>): Promise<void> {
  const producer = floe.producer();
  await producer.send({ topic, messages });
  await producer.disconnect();
}

/** The describe once `done` holds of it (polled as a user would). */
async function describeUntil(name: string, done: (d: ConnectorDescription) => boolean, what: string): Promise<ConnectorDescription> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const d = await floe.connectors().describe(name);
    if (done(d)) return d;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(d)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What the client rejected with (or a failure of the test when it did not reject). */
async function refusal(call: Promise<unknown>): Promise<{ error: unknown; code: number; status: number; message: string }> {
  const error = await call.then(
    () => expect.fail('the call succeeded'),
    (e: unknown) => e,
  );
  const e = error as { code: number; status: number; message: string };
  return { error, code: e.code, status: e.status, message: e.message };
}

describe('floe.connectors()', () => {
  it('creates a dynamodb-sink that writes what the producer sends, then lists, pauses, resumes, resets offsets, updates and deletes it', async () => {
    const topic = await newTopic(floe, 'cconn', 2);
    const table = await userTable();
    const name = randomTopic('cddb');
    const connectors = floe.connectors();

    const created = await connectors.create({ name, type: 'dynamodb-sink', topics: [topic], config: { 'table.name': table, 'key.attribute': 'id' } });
    expect(created).toMatchObject({ name, type: 'dynamodb-sink', topics: [topic], state: 'RUNNING', error: null, 'errors.tolerance': 'none', 'errors.deadletterqueue.topic.name': null });
    // The view shows the defaults filled in, every value a string.
    expect(created.config).toMatchObject({ 'table.name': table, 'key.attribute': 'id', 'value.mapping': 'fields', 'delete.enabled': 'true' });
    expect(created.created_at).toBeGreaterThan(0);

    await send(topic, Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: JSON.stringify({ n: i }), partition: i % 2 })));
    const caughtUp = await describeUntil(name, (d) => d.lag === 0 && d.records_written === 10, 'the first 10 records');
    expect(caughtUp.state).toBe('RUNNING');
    expect(caughtUp.dead_letters).toBeNull();
    expect(caughtUp.partitions.map((p) => [p.topic, p.partition, p.committed_offset, p.high_watermark, p.lag, p.records_written])).toEqual([
      [topic, 0, 5, 5, 0, 5],
      [topic, 1, 5, 5, 0, 5],
    ]);
    const written = await items(table);
    expect([...written.keys()].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}`).sort());
    expect(written.get('k7')).toMatchObject({ id: 'k7', n: 7 });

    expect((await connectors.list()).find((c) => c.name === name)).toMatchObject({ name, type: 'dynamodb-sink', state: 'RUNNING' });

    // Paused: what is produced meanwhile stays unwritten, counted as lag.
    expect((await connectors.pause(name)).state).toBe('PAUSED');
    await send(topic, [{ key: 'late', value: '{"n":100}', partition: 0 }]);
    await engine.dispatcher.sweep();
    const paused = await connectors.describe(name);
    expect(paused.state).toBe('PAUSED');
    expect(paused.lag).toBe(1);
    expect((await items(table)).has('late')).toBe(false);
    expect((await connectors.resume(name)).state).toBe('RUNNING');
    await describeUntil(name, (d) => d.lag === 0, 'the record produced while paused');
    expect((await items(table)).get('late')).toMatchObject({ n: 100 });

    // A reset: one partition to an offset, then all back to the start, which the sink replays.
    expect(await connectors.resetOffsets(name, { to: 'offset', offset: 2 }, { topic, partition: 1 })).toEqual([{ topic, partition: 1, offset: 2 }]);
    expect(await connectors.resetOffsets(name, { to: 'earliest' })).toEqual([
      { topic, partition: 0, offset: 0 },
      { topic, partition: 1, offset: 0 },
    ]);
    const replayed = await describeUntil(name, (d) => d.lag === 0 && d.partitions.every((p) => p.committed_offset === p.high_watermark), 'the replay');
    expect(replayed.partitions.map((p) => p.committed_offset)).toEqual([6, 5]);
    expect((await items(table)).size).toBe(11);

    // An update takes effect with the next batch: raw values under `v` from now on.
    const dlq = randomTopic('cdlq');
    const updated = await connectors.update(name, { config: { 'table.name': table, 'value.mapping': 'raw', 'value.attribute': 'v' }, 'errors.tolerance': 'all', 'errors.deadletterqueue.topic.name': dlq });
    expect(updated).toMatchObject({ name, state: 'RUNNING', 'errors.tolerance': 'all', 'errors.deadletterqueue.topic.name': dlq });
    expect(updated.config).toMatchObject({ 'value.mapping': 'raw', 'value.attribute': 'v' });
    expect(updated.updated_at).toBeGreaterThanOrEqual(created.updated_at);
    await send(topic, [{ key: 'raw', value: 'not json at all', partition: 1 }]);
    const after = await describeUntil(name, (d) => d.lag === 0 && d.partitions[1]!.high_watermark === 6, 'the raw record');
    expect(after.dead_letters).toEqual({ topic: dlq, records: 0 });
    expect((await items(table)).get('raw')).toMatchObject({ v: 'not json at all' });

    await connectors.delete(name);
    expect((await connectors.list()).map((c) => c.name)).not.toContain(name);
    const gone = await refusal(connectors.describe(name));
    expect(gone.error).toBeInstanceOf(BadRequestError);
    expect([gone.status, gone.code]).toEqual([404, 40408]);
  });

  it('creates an s3-sink into a real bucket, whose objects hold the records, and changes its flush size', async () => {
    const topic = await newTopic(floe, 'cconn', 1);
    const bucket = await userBucket();
    const name = randomTopic('cs3');
    const created = await floe.connectors().create({ name, type: 's3-sink', topics: [topic], config: { 's3.bucket.name': bucket, 'flush.size': 2 } });
    expect(created.config).toMatchObject({ 's3.bucket.name': bucket, 'flush.size': '2', 'topics.dir': 'topics', 'format.class': 'json' });
    await send(topic, Array.from({ length: 4 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })));
    await describeUntil(name, (d) => d.lag === 0 && d.records_written === 4, 'two objects');
    const listed = await clients.s3.send(new ListObjectsCommand({ Bucket: bucket }));
    expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual([`topics/${topic}/partition=0/${topic}+0+0000000000.json`, `topics/${topic}/partition=0/${topic}+0+0000000002.json`]);
    // PATCH keeps what it does not name: topics and error handling stay.
    const updated = await floe.connectors().update(name, { config: { 's3.bucket.name': bucket, 'flush.size': 3 } });
    expect(updated).toMatchObject({ topics: [topic], 'errors.tolerance': 'none', config: { 'flush.size': '3' } });
    await floe.connectors().delete(name);
  });

  it('surfaces the server\'s refusals as the client\'s errors with their codes', async () => {
    const topic = await newTopic(floe, 'cconn', 1);
    const table = await userTable();
    const connectors = floe.connectors();

    const missing = await refusal(connectors.describe('no-such-connector'));
    expect(missing.error).toBeInstanceOf(BadRequestError);
    expect(missing).toMatchObject({ status: 404, code: 40408, message: "Connector 'no-such-connector' not found." });
    // One call at a time: a rejection made before it is awaited would be unhandled meanwhile.
    for (const call of [() => connectors.pause('no-such-connector'), () => connectors.update('no-such-connector', { topics: [topic] }), () => connectors.delete('no-such-connector'), () => connectors.resetOffsets('no-such-connector', { to: 'latest' })]) {
      expect((await refusal(call())).code).toBe(40408);
    }

    const badConfig = await refusal(connectors.create({ name: randomTopic('cbad'), type: 'dynamodb-sink', topics: [topic], config: { 'table.name': table, 'value.mapping': 'xml' } }));
    expect(badConfig.error).toBeInstanceOf(BadRequestError);
    expect(badConfig).toMatchObject({ status: 400, code: 40002 });
    expect(badConfig.message).toMatch(/value\.mapping must be one of fields, raw, got 'xml'/);
    const noTable = await refusal(connectors.create({ name: randomTopic('cbad'), type: 'dynamodb-sink', topics: [topic], config: { 'table.name': 'no-such-table' } }));
    expect([noTable.status, noTable.code]).toEqual([400, 40002]);
    expect(noTable.message).toMatch(/does not exist/);
    expect((await refusal(connectors.create({ name: randomTopic('cbad'), type: 'dynamodb-sink', topics: [randomTopic('nowhere')], config: { 'table.name': table } }))).error).toBeInstanceOf(TopicNotFoundError);

    const name = randomTopic('cdup');
    await connectors.create({ name, type: 'dynamodb-sink', topics: [topic], config: { 'table.name': table } });
    const exists = await refusal(connectors.create({ name, type: 'dynamodb-sink', topics: [topic], config: { 'table.name': table } }));
    expect([exists.status, exists.code]).toEqual([409, 40910]);
    const retype = await refusal(connectors.update(name, { type: 's3-sink' } as never));
    expect([retype.status, retype.code]).toEqual([400, 40002]);
    const badReset = await refusal(connectors.resetOffsets(name, { to: 'offset', offset: 0 }, { topic: randomTopic('other') }));
    expect([badReset.status, badReset.code]).toEqual([400, 40002]);
    await connectors.delete(name);
  });
});

type TriggersEntry = (event: APIGatewayProxyEventV2 | CloudFormationCustomResourceEvent, context: Context) => Promise<APIGatewayProxyStructuredResultV2 | { PhysicalResourceId: string; Data?: Record<string, string> }>;

/** A fetch that hands each request to a Lambda entry as API Gateway's event, and its answer back as a Response. */
function lambdaFetch(entry: TriggersEntry): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const event = lambdaEvent(apiGatewayEvent, init?.method ?? 'GET', url.pathname, { query: url.search.slice(1), headers: init?.headers as Record<string, string>, body: init?.body as string | undefined });
    const r = (await entry(event, lambdaContext)) as APIGatewayProxyStructuredResultV2;
    return new Response(r.statusCode === 204 ? null : (r.body ?? null), { status: r.statusCode ?? 200, headers: r.headers as Record<string, string> });
  }) as typeof fetch;
}

describe('as deployed: the triggers function', () => {
  let entry: TriggersEntry;
  let lambda: Floe;
  beforeAll(async () => {
    // The entry reads its configuration at cold start, from the environment, as in Lambda: this file's
    // triggers table, so the dispatcher swept here delivers what the function creates.
    Object.assign(process.env, inject('floeEnv'), ownTable);
    entry = (await import('../../functions/triggers.ts')).handler as TriggersEntry;
    lambda = new Floe({ url: 'https://abc123.execute-api.us-east-1.amazonaws.com', fetch: lambdaFetch(entry), retry: FAST_RETRY });
  });

  it('serves the connectors API to the client, which the manifest routes to it', async () => {
    const topic = await newTopic(floe, 'cconn', 1);
    const table = await userTable();
    const name = randomTopic('clam');
    expect(await lambda.connectors().create({ name, type: 'dynamodb-sink', topics: [topic], config: { 'table.name': table } })).toMatchObject({ name, state: 'RUNNING' });
    await send(topic, [{ key: 'a', value: '{"x":1}' }]);
    const deadline = Date.now() + 30_000;
    while ((await lambda.connectors().describe(name)).lag !== 0 || !(await items(table)).has('a')) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the record');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await lambda.connectors().list()).map((c) => c.name)).toContain(name);
    expect((await lambda.connectors().pause(name)).state).toBe('PAUSED');
    expect(await lambda.connectors().resetOffsets(name, { to: 'earliest' })).toEqual([{ topic, partition: 0, offset: 0 }]);
    await lambda.connectors().delete(name);
    expect((await refusal(lambda.connectors().describe(name))).code).toBe(40408);
  });

  it('creates, updates and deletes a connector as FloeConnector\'s custom resource asks', async () => {
    const topic = await newTopic(floe, 'cconn', 1);
    const table = await userTable();
    const name = randomTopic('ccr');
    // The Settings FloeConnector writes: every setting, the config with its defaults.
    const settings = (config: Record<string, string>, extra: Record<string, unknown> = {}) =>
      JSON.stringify({ name, type: 'dynamodb-sink', topics: [topic], config: { 'table.name': table, ...config }, 'errors.tolerance': 'none', 'errors.deadletterqueue.topic.name': null, ...extra });
    const base = { ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:provider', ResponseURL: 'https://example.test', StackId: 'stack', RequestId: 'r1', LogicalResourceId: 'Sink', ResourceType: 'Custom::FloeConnector' };
    const event = (e: Record<string, unknown>) => entry({ ...base, ...e } as unknown as CloudFormationCustomResourceEvent, lambdaContext);
    expect(await event({ RequestType: 'Create', ResourceProperties: { ServiceToken: base.ServiceToken, Settings: settings({}) } })).toEqual({ PhysicalResourceId: name, Data: { ConnectorName: name } });
    expect((await floe.connectors().describe(name)).config['value.mapping']).toBe('fields');
    // CloudFormation may send a Create again (a retry): it is taken as an update.
    await event({ RequestType: 'Create', ResourceProperties: { ServiceToken: base.ServiceToken, Settings: settings({ 'value.mapping': 'raw' }) } });
    expect((await floe.connectors().describe(name)).config['value.mapping']).toBe('raw');
    // An update replaces every setting: one no longer given goes back to its default.
    const dlq = randomTopic('ccrdlq');
    const updated = await event({ RequestType: 'Update', PhysicalResourceId: name, OldResourceProperties: {}, ResourceProperties: { ServiceToken: base.ServiceToken, Settings: settings({}, { 'errors.tolerance': 'all', 'errors.deadletterqueue.topic.name': dlq }) } });
    expect(updated).toEqual({ PhysicalResourceId: name, Data: { ConnectorName: name } });
    expect(await floe.connectors().describe(name)).toMatchObject({ config: { 'value.mapping': 'fields' }, 'errors.tolerance': 'all', 'errors.deadletterqueue.topic.name': dlq });
    // A new type under the same name fails the deploy, with the API's reason.
    await expect(event({ RequestType: 'Update', PhysicalResourceId: name, OldResourceProperties: {}, ResourceProperties: { ServiceToken: base.ServiceToken, Settings: settings({}, { type: 's3-sink' }) } })).rejects.toThrow(/type cannot change/);
    expect(await event({ RequestType: 'Delete', PhysicalResourceId: name, ResourceProperties: { ServiceToken: base.ServiceToken, Settings: settings({}) } })).toEqual({ PhysicalResourceId: name });
    expect((await refusal(floe.connectors().describe(name))).code).toBe(40408);
    // Deleting what is gone already succeeds (a stack delete retried), as does the id of a create that failed.
    await event({ RequestType: 'Delete', PhysicalResourceId: name, ResourceProperties: { ServiceToken: base.ServiceToken, Settings: settings({}) } });
    await event({ RequestType: 'Delete', PhysicalResourceId: 'stack/r1/Sink:failed', ResourceProperties: { ServiceToken: base.ServiceToken, Settings: settings({}) } });
  });
});
