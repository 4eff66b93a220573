// Triggers as they run in AWS: the triggers function serves the routes and the CDK custom resource,
// the dispatcher function is woken by a DynamoDB stream event of a partition head (and swept by the
// schedule), and the target is a Lambda function called through the Lambda API, here a Lambda API
// on loopback (AWS_ENDPOINT_URL_LAMBDA, as LocalStack's would be) whose functions the test defines.
import { createServer, type Server } from 'node:http';
import type { DynamoDBStreamEvent, MSKEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../src/local/emulators.ts';
import { ownTriggersTable, randomTopic } from './support/env.ts';
import { b64 } from './support/engine.ts';
import type { LambdaHttpHandler } from './support/http.ts';
import { apiGatewayEvent, lambdaContext, lambdaEvent } from './support/lambda-events.ts';

/** What each function of the loopback Lambda API received, and how it answers. */
const invoked = new Map<string, MSKEvent[]>();
const behaviour = new Map<string, (e: MSKEvent) => { error?: string; answer?: unknown; delayMs?: number }>();
let lambdaApi: Server;

let triggers: (event: unknown, context: unknown) => Promise<any>;
let dispatcher: (event: unknown, context: unknown) => Promise<any>;
let produce: LambdaHttpHandler;
let admin: LambdaHttpHandler;

beforeAll(async () => {
  const port = await freePort();
  // The Invoke call as Lambda's API takes it: POST /2015-03-31/functions/{name}/invocations, the payload
  // as the body; a function error answers 200 with X-Amz-Function-Error and the error as the body.
  lambdaApi = createServer((req, res) => {
    const m = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(req.url ?? '');
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (!m) {
        res.writeHead(404, { 'content-type': 'application/json', 'x-amzn-errortype': 'ResourceNotFoundException' }).end('{"message":"no such path"}');
        return;
      }
      const name = decodeURIComponent(m[1]!);
      const event = JSON.parse(body) as MSKEvent;
      invoked.set(name, [...(invoked.get(name) ?? []), event]);
      const outcome = behaviour.get(name)?.(event) ?? {};
      setTimeout(() => answer(outcome), outcome.delayMs ?? 0);
    });
    const answer = (outcome: { error?: string; answer?: unknown }) => {
      if (outcome.error) {
        res.writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled', 'x-amz-executed-version': '$LATEST' }).end(JSON.stringify({ errorType: 'Error', errorMessage: outcome.error }));
      } else {
        res.writeHead(200, { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST' }).end(outcome.answer === undefined ? 'null' : JSON.stringify(outcome.answer));
      }
    };
  });
  await new Promise<void>((r) => lambdaApi.listen(port, '127.0.0.1', () => r()));
  // The entries read their configuration at cold start, from the environment, as in Lambda.
  // A triggers table of its own: the scheduled sweep delivers every trigger of its table.
  Object.assign(process.env, inject('floeEnv'), await ownTriggersTable(), { AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${port}`, FLOE_API_URL: 'https://api.example.test' });
  triggers = (await import('../functions/triggers.ts')).handler as never;
  dispatcher = (await import('../functions/dispatcher.ts')).handler as never;
  produce = (await import('../functions/produce.ts')).handler as unknown as LambdaHttpHandler;
  admin = (await import('../functions/admin.ts')).handler as unknown as LambdaHttpHandler;
});
afterAll(() => new Promise<void>((r) => lambdaApi.close(() => r())));

const json = { 'content-type': 'application/json' };

async function createTopic(topic: string): Promise<void> {
  const r = (await admin(lambdaEvent(apiGatewayEvent, 'POST', '/v3/clusters/floe/topics', { body: JSON.stringify({ topic_name: topic, partitions_count: 2 }), headers: json }), lambdaContext)) as { statusCode: number };
  expect(r.statusCode).toBe(201);
}

async function produceTo(topic: string, partition: number, values: string[]): Promise<void> {
  const r = (await produce(lambdaEvent(apiGatewayEvent, 'POST', `/floe/v1/topics/${topic}/records`, { body: JSON.stringify({ records: values.map((v) => ({ value: b64(v), partition })) }), headers: json }), lambdaContext)) as { statusCode: number };
  expect(r.statusCode).toBe(200);
}

/** The stream record DynamoDB sends when a partition head changes (KEYS_ONLY), and one of an index entry. */
function streamEvent(topicId: string, partition: number): DynamoDBStreamEvent {
  const record = (o: string) => ({ eventName: 'MODIFY' as const, eventSource: 'aws:dynamodb', dynamodb: { Keys: { p: { S: `${topicId}#${partition}` }, o: { N: o } }, StreamViewType: 'KEYS_ONLY' as const } });
  return { Records: [record('-1'), record('0'), record('-1')] };
}

const context = { ...lambdaContext, functionName: 'floe-dispatcher', getRemainingTimeInMillis: () => 60_000 };

describe('triggers in AWS shape', () => {
  it('creates a trigger through the triggers function; a stream event of the partition head makes the dispatcher invoke the function through the Lambda API', async () => {
    const topic = randomTopic('awstrig');
    await createTopic(topic);
    const name = `aws-${topic}`;
    const fn = `handler-${topic}`;
    const created = await triggers(lambdaEvent(apiGatewayEvent, 'POST', '/floe/v1/triggers', { body: JSON.stringify({ name, topic, target: { type: 'lambda', function: fn }, max_batching_window_ms: 0 }), headers: json }), lambdaContext);
    expect(created.statusCode, created.body).toBe(201);
    const refused = await triggers(lambdaEvent(apiGatewayEvent, 'POST', '/floe/v1/triggers', { body: JSON.stringify({ name: `${name}-m`, topic, target: { type: 'module', path: './x.ts' } }), headers: json }), lambdaContext);
    expect(refused.statusCode).toBe(400);

    await produceTo(topic, 1, ['a', 'b']);
    // The produce function's commit moved partition 1's head: that stream record wakes the dispatcher.
    const { createEngine } = await import('../src/engine/engine.ts');
    const { loadConfig } = await import('../src/config.ts');
    const { createClients } = await import('../src/storage/clients.ts');
    const config = loadConfig();
    const t = await createEngine(config, createClients(config)).topics.describe(topic);
    expect(await dispatcher(streamEvent(t.id, 1), context)).toEqual({ woken: 1 });
    const events = invoked.get(fn)!;
    expect(events).toHaveLength(1);
    expect(events[0]!.eventSource).toBe('aws:kafka');
    expect(events[0]!.bootstrapServers).toBe('https://api.example.test');
    expect(events[0]!.records[`${topic}-1`]!.map((r) => Buffer.from(r.value, 'base64').toString())).toEqual(['a', 'b']);
    const after = JSON.parse((await triggers(lambdaEvent(apiGatewayEvent, 'GET', `/floe/v1/triggers/${name}`), lambdaContext)).body);
    expect(after.partitions.map((p: { lag: number }) => p.lag)).toEqual([0, 0]);
  });

  it('treats a function error as a failed batch, a dead letter once no retry is left; the schedule\'s sweep delivers what no stream event woke', async () => {
    const topic = randomTopic('awsfail');
    await createTopic(topic);
    const name = `fail-${topic}`;
    const fn = `failing-${topic}`;
    behaviour.set(fn, () => ({ error: 'boom from the function' }));
    const created = await triggers(lambdaEvent(apiGatewayEvent, 'POST', '/floe/v1/triggers', { body: JSON.stringify({ name, topic, target: { type: 'lambda', function: fn }, max_batching_window_ms: 0, retry_attempts: 0, bisect_on_error: false }), headers: json }), lambdaContext);
    expect(created.statusCode, created.body).toBe(201);
    await produceTo(topic, 0, ['x']);
    const swept = await dispatcher({ 'detail-type': 'Scheduled Event', source: 'aws.events' }, context);
    expect(swept.lanes).toBeGreaterThanOrEqual(1);
    expect(invoked.get(fn)).toHaveLength(1);
    const d = JSON.parse((await triggers(lambdaEvent(apiGatewayEvent, 'GET', `/floe/v1/triggers/${name}`), lambdaContext)).body);
    expect(d.partitions[0]).toMatchObject({ lag: 0, dead_letters: 1 });
    expect(d.partitions[0].last_error.message).toContain('boom from the function');
    expect(d.dead_letters.records).toBe(1);
  });

  it('ends an invocation before its time is up, leaving a backlog to the next one', async () => {
    const topic = randomTopic('awsslow');
    await createTopic(topic);
    const fn = `slow-${topic}`;
    behaviour.set(fn, () => ({ delayMs: 400 }));
    const created = await triggers(lambdaEvent(apiGatewayEvent, 'POST', '/floe/v1/triggers', { body: JSON.stringify({ name: `slow-${topic}`, topic, target: { type: 'lambda', function: fn, timeout_ms: 1000 }, max_batching_window_ms: 0, batch_size: 1 }), headers: json }), lambdaContext);
    expect(created.statusCode, created.body).toBe(201);
    await produceTo(topic, 0, Array.from({ length: 40 }, (_, i) => `r${i}`));
    // 25 s left: 15 s are kept back, and no batch starts that its 1 s call (and 5 s of margin) could carry past the end.
    const started = Date.now();
    await dispatcher({ source: 'aws.events' }, { ...context, getRemainingTimeInMillis: () => 25_000 });
    expect(Date.now() - started).toBeLessThan(11_000);
    const calls = invoked.get(fn)!.length;
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThan(40);
    // The next invocation goes on from where this one stopped.
    await dispatcher({ source: 'aws.events' }, { ...context, getRemainingTimeInMillis: () => 25_000 });
    expect(invoked.get(fn)!.length).toBeGreaterThan(calls);
    const seen = invoked.get(fn)!.map((e) => Buffer.from(e.records[`${topic}-0`]![0]!.value, 'base64').toString());
    expect(seen).toEqual(seen.map((_, i) => `r${i}`));
  }, 60_000);

  it('registers, updates and removes a trigger as the CDK custom resource asks', async () => {
    const topic = randomTopic('awscr');
    await createTopic(topic);
    const name = `cr-${topic}`;
    const settings = (extra: object) => JSON.stringify({ name, topic, target: { type: 'lambda', function: `arn:aws:lambda:us-east-1:123456789012:function:cr-${topic}` }, batch_size: 10, ...extra });
    const base = { ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:provider', ResponseURL: 'https://example.test', StackId: 'stack', RequestId: 'r1', LogicalResourceId: 'Trigger', ResourceType: 'Custom::FloeTrigger' };
    const create = await triggers({ ...base, RequestType: 'Create', ResourceProperties: { ServiceToken: base.ServiceToken, Settings: settings({}) } }, lambdaContext);
    expect(create.PhysicalResourceId).toBe(name);
    expect(create.Data.TriggerId).toMatch(/^arn:floe:trigger:/);
    // CloudFormation may send a Create again (a retry): it is taken as an update.
    const again = await triggers({ ...base, RequestType: 'Create', ResourceProperties: { ServiceToken: base.ServiceToken, Settings: settings({ batch_size: 20 }) } }, lambdaContext);
    expect(again.PhysicalResourceId).toBe(name);
    const update = await triggers({ ...base, RequestType: 'Update', PhysicalResourceId: name, OldResourceProperties: {}, ResourceProperties: { ServiceToken: base.ServiceToken, Settings: settings({ batch_size: 30 }) } }, lambdaContext);
    expect(update.PhysicalResourceId).toBe(name);
    const got = JSON.parse((await triggers(lambdaEvent(apiGatewayEvent, 'GET', `/floe/v1/triggers/${name}`), lambdaContext)).body);
    expect(got.batch_size).toBe(30);
    await triggers({ ...base, RequestType: 'Delete', PhysicalResourceId: name, ResourceProperties: { ServiceToken: base.ServiceToken, Settings: settings({}) } }, lambdaContext);
    expect((await triggers(lambdaEvent(apiGatewayEvent, 'GET', `/floe/v1/triggers/${name}`), lambdaContext)).statusCode).toBe(404);
    // Deleting what is gone already succeeds (a stack delete retried).
    await triggers({ ...base, RequestType: 'Delete', PhysicalResourceId: name, ResourceProperties: { ServiceToken: base.ServiceToken, Settings: settings({}) } }, lambdaContext);
  });
});
