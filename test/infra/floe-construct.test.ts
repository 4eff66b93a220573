// @floe/cdk's `Floe` construct in a user's own stack: the resources under it, cdk-nag's checks passing
// there too, the direct-mode grants with exactly the actions the README lists, FloeEventSource on a
// user's lambda.Function (a Custom::FloeTrigger resource whose Settings are the trigger API's create
// body, served by Floe's triggers function through CDK's provider framework, a policy that lets only
// Floe's dispatcher invoke only that function, bad settings failing the synth), and the published
// package's path, where the construct built into dist/ deploys the prebuilt bundles it ships.
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Code, FilterCriteria, FilterRule, Function as Lambda, Runtime, StartingPosition, type CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Construct } from 'constructs';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/floe-function.ts';
import { Floe, FloeEventSource, type FloeEventSourceProps } from '../../packages/cdk/src/index.ts';
import { FUNCTIONS } from '../../src/manifest.ts';

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

/** A user's app and stack; the construct's functions are not bundled unless `bundle` (the source path needs esbuild). */
function userStack(context: Record<string, unknown> = {}) {
  const outdir = mkdtempSync(join(tmpdir(), 'floe-user-cdk-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [], ...context } });
  return { app, stack: new Stack(app, 'UserStack', { env: { account: '111111111111', region: 'eu-west-1' } }) };
}

type Statement = { Action: string | string[]; Resource: unknown; Effect: string; Condition?: unknown };
const cap = (entry: string) => `${entry[0]!.toUpperCase()}${entry.slice(1)}`;

describe('Floe in a user\'s stack', () => {
  it('adds the tables, the buckets, the nine functions, the API and its routes under its own id, and passes cdk-nag', () => {
    const { app, stack } = userStack();
    const log = new Floe(stack, 'Log', { stage: 'user', memory: { httpMb: 512 } });
    // Floe's acknowledgements hold under a construct too: an unacknowledged AwsSolutions finding would make the synth throw.
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
    expect(() => app.synth()).not.toThrow();
    const t = Template.fromStack(stack);
    const tables = t.findResources('AWS::DynamoDB::Table');
    expect(Object.keys(tables).sort()).toEqual(['Groups', 'Log', 'Objects', 'Producers', 'Tables', 'Topics', 'Transactions', 'Triggers'].map((n) => expect.stringMatching(new RegExp(`^Log${n}Table`))));
    for (const table of Object.values(tables)) expect(table.DeletionPolicy).toBe('Retain');
    expect(Object.keys(t.findResources('AWS::S3::Bucket')).map((id) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual(['LogAccessLogs', 'LogData']);
    const fns = t.findResources('AWS::Lambda::Function');
    for (const f of FUNCTIONS) expect(Object.keys(fns).some((id) => id.startsWith(`Log${cap(f.entry)}Function`)), f.entry).toBe(true);
    expect(Object.keys(fns)).toHaveLength(FUNCTIONS.length);
    expect(log.functions.size).toBe(FUNCTIONS.length);
    // The defaults, with the one override given.
    t.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 512, Runtime: 'nodejs24.x', Architectures: ['arm64'], Timeout: 29 });
    t.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 2048, Timeout: 900 });
    t.hasResourceProperties('AWS::ApiGatewayV2::Api', { Name: 'floe-user' });
    t.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /topics/{topic}', AuthorizationType: 'AWS_IAM' });
    const routes = Object.values(t.findResources('AWS::ApiGatewayV2::Route'));
    expect(routes).toHaveLength(FUNCTIONS.reduce((n, f) => n + (f.routes?.length ?? 0) + (f.defaultRoute ? 1 : 0), 0));
    expect(Object.values(t.findResources('AWS::Events::Rule')).map((r) => r.Properties.ScheduleExpression).sort()).toEqual(['rate(1 hour)', 'rate(1 minute)', 'rate(15 minutes)', 'rate(5 minutes)']);
    expect(Object.keys(log.environment).sort()).toEqual([
      'FLOE_BUCKET',
      'FLOE_GROUPS_TABLE',
      'FLOE_GROUP_COMMIT_MS',
      'FLOE_LOG_TABLE',
      'FLOE_OBJECTS_TABLE',
      'FLOE_PRODUCERS_TABLE',
      'FLOE_TABLES_TABLE',
      'FLOE_TOPICS_TABLE',
      'FLOE_TRANSACTIONS_TABLE',
      'FLOE_TRIGGERS_TABLE',
    ]);
  });

  it('rejects a stage that would not make valid resource names', () => {
    const { stack } = userStack();
    expect(() => new Floe(stack, 'Log', { stage: 'Prod_1' })).toThrow(/^Floe stage must be 1-20 of \[a-z0-9-\], got Prod_1$/);
  });
});

describe('grants for direct mode', () => {
  /** The statements of the one policy the user's function's role has, with tokens resolved. */
  function grantedTo(grant: (log: Floe, fn: Lambda) => void) {
    const { stack } = userStack();
    const log = new Floe(stack, 'Log', { stage: 'grants' });
    const fn = new Lambda(stack, 'Mine', { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('exports.handler = async () => {}') });
    grant(log, fn);
    const t = Template.fromStack(stack);
    const roleId = stack.getLogicalId(fn.role!.node.defaultChild as never);
    const policies = Object.values(t.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]));
    expect(policies).toHaveLength(1);
    const id = (pattern: RegExp, type: string) => Object.keys(t.findResources(type)).find((k) => pattern.test(k))!;
    const arn = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });
    const table = (name: string) => arn(id(new RegExp(`^Log${name}Table`), 'AWS::DynamoDB::Table'));
    const refs = {
      topics: [table('Topics')],
      log: [table('Log'), { 'Fn::Join': ['', [table('Log'), '/index/by-time']] }],
      objects: [table('Objects')],
      producers: [table('Producers')],
      groups: [table('Groups')],
      transactions: [table('Transactions'), { 'Fn::Join': ['', [table('Transactions'), '/index/by-due']] }],
      data: { 'Fn::Join': ['', [arn(id(/^LogData/, 'AWS::S3::Bucket')), '/data/*']] },
    };
    return { statements: policies[0]!.Properties.PolicyDocument.Statement as Statement[], refs };
  }

  it('lets a function produce with exactly the README\'s produce actions, on the tables and data/*', () => {
    const { statements, refs } = grantedTo((log, fn) => log.grantProduce(fn));
    expect(statements).toEqual([
      { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem'], Resource: refs.topics[0] },
      { Effect: 'Allow', Action: ['dynamodb:ConditionCheckItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'], Resource: refs.log },
      { Effect: 'Allow', Action: 'dynamodb:UpdateItem', Resource: refs.objects[0] },
      { Effect: 'Allow', Action: ['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], Resource: refs.producers[0] },
      // Transactions: the producer's state and staged writes, and the group offsets a commit applies.
      { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'], Resource: refs.transactions },
      { Effect: 'Allow', Action: ['dynamodb:ConditionCheckItem', 'dynamodb:DeleteItem', 'dynamodb:PutItem'], Resource: refs.groups[0] },
      { Effect: 'Allow', Action: 's3:PutObject', Resource: refs.data },
    ]);
  });

  it('lets a function consume in groups with exactly the README\'s consume actions, and no wildcard anywhere', () => {
    const { statements, refs } = grantedTo((log, fn) => log.grantConsume(fn));
    expect(statements).toEqual([
      { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:Scan'], Resource: refs.topics[0] },
      { Effect: 'Allow', Action: ['dynamodb:ConditionCheckItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'], Resource: refs.log },
      { Effect: 'Allow', Action: 'dynamodb:UpdateItem', Resource: refs.objects[0] },
      {
        Effect: 'Allow',
        Action: ['dynamodb:BatchGetItem', 'dynamodb:ConditionCheckItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:UpdateItem'],
        Resource: refs.groups[0],
      },
      { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: refs.data },
    ]);
    for (const s of statements) {
      for (const action of [s.Action].flat()) expect(action).not.toContain('*');
      expect(JSON.stringify(s.Resource)).not.toMatch(/"\*"/);
    }
  });

  it('grants a function that both produces and consumes the union of the two, each statement once', () => {
    const { statements, refs } = grantedTo((log, fn) => {
      log.grantProduce(fn);
      log.grantConsume(fn);
    });
    const byResource = new Map<string, Set<string>>();
    for (const s of statements) {
      const key = JSON.stringify(s.Resource);
      byResource.set(key, new Set([...(byResource.get(key) ?? []), ...[s.Action].flat()]));
    }
    const actions = (resource: unknown) => [...(byResource.get(JSON.stringify(resource)) ?? [])].sort();
    expect(actions(refs.topics[0])).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Scan']);
    expect(actions(refs.producers[0])).toEqual(['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    expect(actions(refs.data)).toEqual(['s3:GetObject', 's3:PutObject']);
    // The log and objects statements of both grants are the same statement: IAM keeps it once.
    expect(statements.filter((s) => JSON.stringify(s.Resource) === JSON.stringify(refs.log))).toHaveLength(1);
    expect(byResource.size).toBe(7);
  });
});

/**
 * Stand-ins for the prebuilt bundles @floe/cdk ships, as `functionCode` takes them: these tests read
 * templates only, and an unbundled NodejsFunction's asset is hashed from the whole repository, which
 * takes the worker many seconds of synchronous work.
 */
const functionCode = mkdtempSync(join(tmpdir(), 'floe-es-code-'));
outdirs.push(functionCode);
for (const f of FUNCTIONS) {
  mkdirSync(join(functionCode, f.entry));
  writeFileSync(join(functionCode, f.entry, 'index.mjs'), 'export const handler = async () => undefined;\n');
}

/** A user's app with Floe and one function of the user's own. */
function userApp() {
  const outdir = mkdtempSync(join(tmpdir(), 'floe-es-cdk-'));
  outdirs.push(outdir);
  const app = new App({ outdir });
  const stack = new Stack(app, 'UserStack', { env: { account: '111111111111', region: 'eu-west-1' } });
  const log = new Floe(stack, 'Log', { stage: 'user', functionCode });
  const fn = userFunction(stack, 'Mine');
  return { app, stack, log, fn };
}

function userFunction(scope: Construct, id: string): Lambda {
  return new Lambda(scope, id, { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('exports.handler = async () => {}') });
}

const idOf = (fn: Lambda) => Stack.of(fn).getLogicalId(fn.node.defaultChild as CfnFunction);
const arnOf = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });

/** A template value with its tokens resolved as CloudFormation would: Fn::Join concatenated, Fn::GetAtt as `<Id.Attr>`. */
function resolved(v: unknown): string {
  if (typeof v === 'string') return v;
  const o = v as Record<string, unknown>;
  if (o['Fn::GetAtt']) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
  if (o.Ref) return `<${String(o.Ref)}>`;
  if (o['Fn::Join']) {
    const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
    return parts.map(resolved).join(sep);
  }
  throw new Error(`cannot resolve ${JSON.stringify(v)}`);
}

/** The Custom::FloeTrigger resources of a template, with their Settings parsed. */
function triggersIn(t: Template) {
  return Object.entries(t.findResources('Custom::FloeTrigger')).map(([id, r]) => ({ id, resource: r, settings: JSON.parse(resolved(r.Properties.Settings)) as Record<string, unknown> }));
}

describe('FloeEventSource in a user\'s app', () => {
  it('registers the trigger with every setting written out, the function\'s ARN resolved by CloudFormation', () => {
    const { stack, log, fn } = userApp();
    const source = new FloeEventSource(log, {
      topic: 'orders',
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: 50,
      maxBatchingWindow: Duration.seconds(2),
      filters: [FilterCriteria.filter({ value: { status: FilterRule.isEqual('paid') } })],
      retryAttempts: 1,
      maxRecordAge: Duration.hours(1),
      bisectBatchOnError: false,
      deadLetterTopic: 'orders.failed',
      parallelism: 4,
      enabled: false,
      triggerName: 'on-order',
      invocationTimeout: Duration.minutes(2),
    });
    fn.addEventSource(source);
    // The defaults, written out too: an update patches the trigger, and a setting left out would keep its old value.
    fn.addEventSource(new FloeEventSource(log, { topic: 'payments', startingPosition: StartingPosition.LATEST }));
    fn.addEventSource(new FloeEventSource(log, { topic: 'refunds', startingPosition: StartingPosition.AT_TIMESTAMP, startingPositionTimestamp: 1_700_000_000 }));
    expect(source.triggerName).toBe('on-order');
    const t = Template.fromStack(stack);
    const fnArn = `<${idOf(fn)}.Arn>`;
    const byName = new Map(triggersIn(t).map((x) => [x.settings.name, x]));
    expect([...byName.keys()].sort()).toEqual(['UserStack-Mine.payments', 'UserStack-Mine.refunds', 'on-order']);
    expect(byName.get('on-order')!.settings).toEqual({
      name: 'on-order',
      topic: 'orders',
      target: { type: 'lambda', function: fnArn, timeout_ms: 120_000 },
      starting_position: 'TRIM_HORIZON',
      batch_size: 50,
      max_batching_window_ms: 2000,
      filters: [{ pattern: '{"value":{"status":["paid"]}}' }],
      retry_attempts: 1,
      maximum_record_age_ms: 3_600_000,
      bisect_on_error: false,
      dead_letter_topic: 'orders.failed',
      parallelism: { by: 'key', max: 4 },
      enabled: false,
    });
    expect(byName.get('UserStack-Mine.payments')!.settings).toEqual({
      name: 'UserStack-Mine.payments',
      topic: 'payments',
      target: { type: 'lambda', function: fnArn, timeout_ms: 30_000 },
      starting_position: 'LATEST',
      batch_size: 100,
      max_batching_window_ms: 500,
      filters: [],
      retry_attempts: 3,
      maximum_record_age_ms: -1,
      bisect_on_error: true,
      dead_letter_topic: 'UserStack-Mine.payments.dlq',
      parallelism: null,
      enabled: true,
    });
    // Lambda's stream sources take the time in seconds; the trigger API in milliseconds.
    expect(byName.get('UserStack-Mine.refunds')!.settings).toMatchObject({ starting_position: 'AT_TIMESTAMP', starting_timestamp: 1_700_000_000_000 });
    // The function's ARN reaches the settings as CloudFormation's own reference, not as a name typed in.
    expect(JSON.stringify(byName.get('on-order')!.resource.Properties.Settings)).toContain(JSON.stringify(arnOf(idOf(fn))));
  });

  it('is served by Floe\'s triggers function through the provider framework, created once for all event sources', () => {
    const { stack, log, fn } = userApp();
    fn.addEventSource(new FloeEventSource(log, { topic: 'orders', startingPosition: StartingPosition.LATEST }));
    userFunction(stack, 'Other').addEventSource(new FloeEventSource(log, { topic: 'orders', startingPosition: StartingPosition.LATEST }));
    const t = Template.fromStack(stack);
    const fns = t.findResources('AWS::Lambda::Function');
    const framework = Object.keys(fns).filter((id) => id.startsWith('LogTriggerProviderframeworkonEvent'));
    expect(framework).toHaveLength(1);
    const triggersFn = Object.keys(fns).find((id) => id.startsWith('LogTriggersFunction'))!;
    expect(fns[framework[0]!]!.Properties.Environment.Variables.USER_ON_EVENT_FUNCTION_ARN).toEqual(arnOf(triggersFn));
    const triggers = triggersIn(t);
    expect(triggers).toHaveLength(2);
    for (const x of triggers) expect(x.resource.Properties.ServiceToken).toEqual(arnOf(framework[0]!));
    // Deleting the resource deletes the trigger.
    for (const x of triggers) expect(x.resource.DeletionPolicy).toBe('Delete');
    // Floe's own functions and the framework's: a provider, not a function per trigger.
    expect(Object.keys(fns)).toHaveLength(FUNCTIONS.length + 1 + 2);
  });

  it('lets only the dispatcher invoke only the trigger\'s function, granted before the trigger is registered', () => {
    const { stack, log, fn } = userApp();
    fn.addEventSource(new FloeEventSource(log, { topic: 'orders', startingPosition: StartingPosition.LATEST }));
    const t = Template.fromStack(stack);
    const roleOf = (prefix: string) => Object.keys(t.findResources('AWS::IAM::Role')).find((id) => id.startsWith(prefix))!;
    const dispatcherRole = roleOf('LogDispatcherRole');
    const providerRole = roleOf('LogTriggerProviderRole');
    type Statement = { Action: string | string[]; Resource: unknown };
    const invokes: Array<{ id: string; roles: unknown; resource: unknown }> = [];
    for (const [id, p] of Object.entries(t.findResources('AWS::IAM::Policy'))) {
      for (const st of p.Properties.PolicyDocument.Statement as Statement[]) {
        if ([st.Action].flat().includes('lambda:InvokeFunction')) invokes.push({ id, roles: p.Properties.Roles, resource: st.Resource });
      }
    }
    const triggersFn = Object.keys(t.findResources('AWS::Lambda::Function')).find((id) => id.startsWith('LogTriggersFunction'))!;
    expect(invokes.map(({ roles, resource }) => ({ roles, resource }))).toEqual(
      expect.arrayContaining([
        // The dispatcher: this function, by its exact ARN (the one the trigger calls), and nothing else.
        { roles: [{ Ref: dispatcherRole }], resource: arnOf(idOf(fn)) },
        // The provider framework: Floe's triggers function (and its versions), as CDK grants it.
        { roles: [{ Ref: providerRole }], resource: [arnOf(triggersFn), { 'Fn::Join': ['', [arnOf(triggersFn), ':*']] }] },
      ]),
    );
    expect(invokes).toHaveLength(2);
    const grant = invokes.find((i) => JSON.stringify(i.roles) === JSON.stringify([{ Ref: dispatcherRole }]))!;
    // A policy of its own beside the function: deleted with the trigger, and no reference from Floe's resources to the user's.
    expect(grant.id.startsWith('MineFloeEventSource')).toBe(true);
    expect(triggersIn(t)[0]!.resource.DependsOn).toEqual([grant.id]);
  });

  it('passes cdk-nag with Floe\'s provider and the invoke grant added', () => {
    const { app, log, fn } = userApp();
    fn.addEventSource(new FloeEventSource(log, { topic: 'orders', startingPosition: StartingPosition.LATEST }));
    // Findings on the user's own function are the user's: acknowledged here as a user would.
    Validations.of(fn).acknowledge(
      { id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', reason: 'the test\'s own function' },
      { id: 'AwsSolutions-L1', reason: 'the test\'s own function' },
    );
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
    expect(() => app.synth()).not.toThrow();
  });

  it('works across stacks: the trigger and its grant live in the function\'s stack, which depends on Floe\'s alone', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'floe-es-cdk-'));
    outdirs.push(outdir);
    const app = new App({ outdir });
    const env = { account: '111111111111', region: 'eu-west-1' };
    const floeStack = new Stack(app, 'FloeStack', { env });
    const log = new Floe(floeStack, 'Log', { stage: 'shared', functionCode });
    const appStack = new Stack(app, 'AppStack', { env });
    const fn = userFunction(appStack, 'Mine');
    fn.addEventSource(new FloeEventSource(log, { topic: 'orders', startingPosition: StartingPosition.LATEST }));
    const assembly = app.synth();
    expect(appStack.dependencies.map((s) => s.stackName)).toEqual(['FloeStack']);
    expect(floeStack.dependencies).toEqual([]);
    const t = Template.fromJSON(assembly.getStackByName('AppStack').template as Record<string, unknown>);
    expect(triggersIn(t)).toHaveLength(1);
    expect(Object.keys(t.findResources('AWS::IAM::Policy')).some((id) => id.startsWith('MineFloeEventSource'))).toBe(true);
  });

  it('derives a valid, unique default name of at most 200 characters from a long construct path', () => {
    const { stack, log } = userApp();
    let scope: Construct = stack;
    for (let i = 0; i < 12; i++) scope = new Construct(scope, `A-rather-long-construct-name-${i}`);
    const deep = [userFunction(scope, 'Handler'), userFunction(scope, 'Handler2')];
    for (const f of deep) f.addEventSource(new FloeEventSource(log, { topic: 'orders', startingPosition: StartingPosition.LATEST }));
    const names = triggersIn(Template.fromStack(stack)).map((x) => x.settings.name as string);
    expect(names).toHaveLength(2);
    expect(new Set(names).size).toBe(2);
    for (const n of names) {
      expect(n).toMatch(/^[a-zA-Z0-9._-]{1,200}$/);
      expect(n.length).toBe(200);
      expect(n.endsWith('.orders')).toBe(true);
    }
  });

  it('rejects bad settings at synth, each with an error naming the setting', () => {
    const { log, fn } = userApp();
    const base: FloeEventSourceProps = { topic: 'orders', startingPosition: StartingPosition.LATEST };
    const attempt = (props: Partial<FloeEventSourceProps>) => {
      try {
        new FloeEventSource(log, { ...base, ...props });
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    };
    const cases: Array<[Partial<FloeEventSourceProps>, RegExp]> = [
      [{ batchSize: 0 }, /^FloeEventSource: batchSize must be an integer from 1 to 10000, got 0$/],
      [{ batchSize: 10_001 }, /^FloeEventSource: batchSize must be an integer from 1 to 10000, got 10001$/],
      [{ batchSize: 1.5 }, /batchSize must be an integer/],
      [{ maxBatchingWindow: Duration.minutes(6) }, /^FloeEventSource: maxBatchingWindow \(ms\) must be an integer from 0 to 300000, got 360000$/],
      [{ retryAttempts: -1 }, /^FloeEventSource: retryAttempts must be an integer from 0 to 10000, got -1$/],
      [{ parallelism: 0 }, /^FloeEventSource: parallelism must be an integer from 1 to 100/],
      [{ parallelism: 101 }, /parallelism must be an integer from 1 to 100/],
      [{ maxRecordAge: Duration.millis(500) }, /^FloeEventSource: maxRecordAge \(ms\) must be an integer from 1000/],
      [{ invocationTimeout: Duration.minutes(5) }, /^FloeEventSource: invocationTimeout \(ms\) must be an integer from 1 to 240000, got 300000$/],
      [{ startingPosition: StartingPosition.AT_TIMESTAMP }, /^FloeEventSource: startingPosition AT_TIMESTAMP needs startingPositionTimestamp/],
      [{ startingPositionTimestamp: 1_700_000_000 }, /^FloeEventSource: startingPositionTimestamp goes with startingPosition AT_TIMESTAMP$/],
      [{ startingPosition: StartingPosition.AT_TIMESTAMP, startingPositionTimestamp: -1 }, /startingPositionTimestamp must be Unix time in seconds, got -1/],
      [{ topic: 'no/slashes' }, /^FloeEventSource: topic: Topic name 'no\/slashes' is illegal/],
      [{ topic: '' }, /^FloeEventSource: topic: Topic name is illegal, it can't be empty$/],
      [{ deadLetterTopic: '..' }, /^FloeEventSource: deadLetterTopic: /],
      [{ deadLetterTopic: 'orders' }, /^FloeEventSource: deadLetterTopic 'orders' is a topic the trigger reads$/],
      [{ triggerName: 'has space' }, /^FloeEventSource: triggerName must be 1 to 200 characters of \[a-zA-Z0-9._-\], got "has space"$/],
      [{ triggerName: 'x'.repeat(201) }, /triggerName must be 1 to 200 characters/],
      [{ filters: [{ value: { status: ['paid'] } }] }, /^FloeEventSource: filters\[0\] must be what lambda\.FilterCriteria\.filter\(\) returns/],
      [{ filters: [FilterCriteria.filter({ value: { n: [{ begins: 'x' }] } })] }, /^FloeEventSource: filters\[0\]\.pattern\.value\.n\[0\]: /],
      [{ filters: Array.from({ length: 6 }, () => FilterCriteria.filter({ value: { n: [1] } })) }, /^FloeEventSource: filters: has 6 filters; at most 5/],
    ];
    for (const [props, message] of cases) {
      const got = attempt(props);
      expect(got, JSON.stringify(props)).toMatch(message);
      expect(got).not.toContain('\n');
    }
    // Valid at the limits.
    expect(attempt({ batchSize: 10_000, maxBatchingWindow: Duration.minutes(5), retryAttempts: 0, parallelism: 100, maxRecordAge: Duration.seconds(1), invocationTimeout: Duration.minutes(4) })).toBe('no error');
    // The same topic twice on one function needs a name of its own for the second.
    fn.addEventSource(new FloeEventSource(log, base));
    expect(() => fn.addEventSource(new FloeEventSource(log, base))).toThrow(/^FloeEventSource: UserStack\/Mine already has trigger 'UserStack-Mine\.orders'; give each event source of one topic its own triggerName$/);
    expect(() => fn.addEventSource(new FloeEventSource(log, { ...base, triggerName: 'second' }))).not.toThrow();
    expect(() => new FloeEventSource(log, base).triggerName).toThrow(/known once the event source is added/);
  });
});

describe('the published package', () => {
  const pkg = join(REPO_ROOT, 'packages/cdk');
  beforeAll(async () => {
    // The package's own build (what prepack runs), asynchronously: the worker stays responsive meanwhile.
    await new Promise<void>((resolve, reject) =>
      execFile('npm', ['run', 'build'], { cwd: pkg, timeout: 170_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stdout}${stderr}`)) : resolve())),
    );
  }, 180_000);

  it('ships one prebuilt ESM bundle per function, with its source map and the require() banner', () => {
    const dirs = readdirSync(join(pkg, 'dist/functions')).sort();
    expect(dirs).toEqual(FUNCTIONS.map((f) => f.entry).sort());
    for (const entry of dirs) {
      expect(readdirSync(join(pkg, 'dist/functions', entry)).sort(), entry).toEqual(['index.mjs', 'index.mjs.map']);
      const code = readFileSync(join(pkg, 'dist/functions', entry, 'index.mjs'), 'utf8');
      expect(code.startsWith("import { createRequire as __floeCreateRequire } from 'module';"), entry).toBe(true);
      // The runtime's AWS SDK v3, not a bundled copy.
      expect(code, entry).toMatch(/from"@aws-sdk\/client-dynamodb"/);
    }
    // The dispatcher invokes triggers' functions with the runtime's Lambda client too.
    expect(readFileSync(join(pkg, 'dist/functions/dispatcher/index.mjs'), 'utf8')).toMatch(/from"@aws-sdk\/client-lambda"/);
    expect(JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'))).toMatchObject({ files: ['dist'], peerDependencies: { 'aws-cdk-lib': expect.any(String), constructs: expect.any(String) } });
    expect(existsSync(join(pkg, 'dist/types/packages/cdk/src/index.d.ts'))).toBe(true);
  });

  it('ships declarations that import nothing but aws-cdk-lib, constructs and Node', () => {
    const seen = new Set<string>();
    const bare = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      // The declarations' own imports, not those of the examples in their TSDoc comments.
      const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
      for (const [, spec] of code.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
        if (spec!.startsWith('.')) visit(join(dirname(file), spec!.replace(/\.ts$/, '.d.ts')));
        else bare.add(spec!.split('/')[0]!);
      }
    };
    visit(join(pkg, 'dist/types/packages/cdk/src/index.d.ts'));
    expect(seen.size).toBeGreaterThan(1);
    expect([...bare].filter((b) => !b.startsWith('node:')).sort()).toEqual(['aws-cdk-lib', 'constructs']);
  });

  it('deploys those bundles from dist/ as plain Lambda functions, which need no esbuild at the user\'s synth', async () => {
    const { Floe: Packaged, FloeEventSource: PackagedSource } = (await import(pathToFileURL(join(pkg, 'dist/index.js')).href)) as typeof import('../../packages/cdk/src/index.ts');
    expect(typeof PackagedSource).toBe('function');
    // Bundling on: a NodejsFunction would bundle here, and a plain function from an asset only copies it.
    const { app, stack } = userStack({ 'aws:cdk:bundling-stacks': ['**'], 'aws:cdk:enable-asset-metadata': true });
    const log = new Packaged(stack, 'Log', { stage: 'pkg' });
    const mine = new Lambda(stack, 'Mine', { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('exports.handler = async () => {}') });
    log.grantProduce(mine);
    // The published FloeEventSource, on the published Floe.
    mine.addEventSource(new PackagedSource(log, { topic: 'orders', startingPosition: StartingPosition.LATEST }));
    const assembly = app.synth();
    const t = Template.fromJSON(assembly.getStackByName(stack.stackName).template as Record<string, unknown>);
    const [trigger] = Object.values(t.findResources('Custom::FloeTrigger'));
    expect(JSON.stringify(trigger?.Properties.Settings)).toContain('\\"name\\":\\"UserStack-Mine.orders\\"');
    const fns = t.findResources('AWS::Lambda::Function');
    for (const f of FUNCTIONS) {
      const [, resource] = Object.entries(fns).find(([id]) => id.startsWith(`Log${cap(f.entry)}Function`))!;
      expect(resource.Properties, f.entry).toMatchObject({ Handler: 'index.handler', Runtime: 'nodejs24.x', Architectures: ['arm64'] });
      expect(resource.Properties.Environment.Variables, f.entry).toMatchObject({ FLOE_CRC32C: 'wasm', NODE_OPTIONS: '--enable-source-maps', POWERTOOLS_SERVICE_NAME: `floe-${f.entry}` });
      // The staged asset is a copy of the shipped bundle directory.
      const staged = join(assembly.directory, resource.Metadata['aws:asset:path'] as string);
      expect(readdirSync(staged).sort(), f.entry).toEqual(['index.mjs', 'index.mjs.map']);
      expect(readFileSync(join(staged, 'index.mjs')).equals(readFileSync(join(pkg, 'dist/functions', f.entry, 'index.mjs'))), f.entry).toBe(true);
    }
  });
});
