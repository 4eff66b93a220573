// The CDK stack, synthesized once with the defaults (real esbuild bundling, no network) and as variants
// with the options (templates only): specific properties of the tables, the bucket, each function's permissions, the routes,
// the schedules, the trigger dispatcher's stream wake-ups, the alarms; and cdk-nag's AwsSolutions checks
// with nothing left unacknowledged and no acknowledgement left without a finding.
import { Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp as buildAppIn } from '../../infra/app.ts';
import { FUNCTIONS } from '../../src/manifest.ts';

/** Each app synthesizes into a folder of its own, removed after the tests, passed or not. */
const outdirs: string[] = [];
/**
 * An app of the stack with these settings. Only the shared stack bundles its functions with esbuild
 * (`bundle`): the variants differ in their template, not in their code, and each bundling is seconds of
 * synchronous work that, under load, kept a test worker from answering the runner for over a minute.
 */
function buildApp(context: Record<string, string>, options: { bundle?: boolean } = {}) {
  const outdir = mkdtempSync(join(tmpdir(), 'floe-cdk-'));
  outdirs.push(outdir);
  return buildAppIn({ ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }), ...context }, outdir);
}
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

let template: Template;
let stack: Stack;
/** The stack with tracing on and an alarm email: built on first use, by the tests that need it. */
let optioned: { stack: Stack; template: Template } | undefined;
function withOptions() {
  if (!optioned) {
    const built = buildApp({ stage: 'options', tracing: 'true', alarmEmail: 'ops@example.com' });
    // Template.fromStack synthesizes the app, which runs cdk-nag: an unacknowledged finding throws.
    optioned = { stack: built.stack, template: Template.fromStack(built.stack) };
  }
  return optioned;
}

/** A turn of the event loop, for the worker to answer the runner between long stretches of synchronous work. */
const breathe = () => new Promise((resolve) => setTimeout(resolve, 0));

beforeAll(async () => {
  // A worker's first synth also starts CDK's CloudFormation validation engine, seconds of synchronous
  // work: done apart from the bundling synth, so that no single stretch keeps the worker from answering
  // the runner for a minute (vitest's RPC timeout) on a loaded machine.
  buildApp({ stage: 'warm' }).app.synth();
  await breathe();
  const built = buildApp({ stage: 'test' }, { bundle: true });
  stack = built.stack;
  // Synthesizing the app runs the cdk-nag plugin: unacknowledged findings make it throw.
  built.app.synth();
  await breathe();
  template = Template.fromStack(stack);
}, 180_000);

const HTTP = FUNCTIONS.filter((f) => f.http).map((f) => f.entry);
const JOBS = FUNCTIONS.filter((f) => f.schedule).map((f) => f.entry);
const cap = (entry: string) => `${entry[0]!.toUpperCase()}${entry.slice(1)}`;

/** The Lambda function resource of a Floe function, by its entry. */
function functionOf(t: Template, entry: string) {
  const fns = t.findResources('AWS::Lambda::Function');
  const id = Object.keys(fns).find((k) => k.startsWith(`${cap(entry)}Function`));
  expect(id, `function ${entry}`).toBeDefined();
  return { id: id!, resource: fns[id!]! };
}

/** Every IAM statement in the template: policies, roles' inline policies; and the managed policies roles attach. */
function iamOf(t: Template): { statements: Statement[]; managed: string } {
  const statements: Statement[] = [];
  for (const p of Object.values(t.findResources('AWS::IAM::Policy'))) statements.push(...(p.Properties.PolicyDocument.Statement as Statement[]));
  let managed = '';
  for (const r of Object.values(t.findResources('AWS::IAM::Role'))) {
    for (const p of (r.Properties.Policies ?? []) as Array<{ PolicyDocument: { Statement: Statement[] } }>) statements.push(...p.PolicyDocument.Statement);
    managed += JSON.stringify(r.Properties.ManagedPolicyArns ?? []);
  }
  return { statements, managed };
}

/** The rule ids acknowledged on one construct itself. */
function acknowledgedOn(c: IConstruct): string[] {
  return c.node.metadata
    .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY && m.data)
    .flatMap((m) => Object.keys(m.data as Record<string, string>).map((id) => id.replace(/^annotation::/i, '')));
}

/** Each cdk-nag acknowledgement in the tree, as "construct path: rule id" (CDK's own constructs acknowledge other plugins' rules). */
function acknowledgements(scope: IConstruct): string[] {
  return scope.node
    .findAll()
    .flatMap((c) => acknowledgedOn(c).filter((id) => id.startsWith('AwsSolutions-')).map((id) => `${c.node.path}: ${id}`))
    .sort();
}

/**
 * The acknowledgements no AwsSolutions finding needs: the pack runs over the stack again, and each
 * finding marks the nearest acknowledgement of its rule on its construct or an ancestor as used.
 * cdk-nag consults acknowledgements only through NagPack's private isAcknowledged, so the test wraps it.
 */
function unusedAcknowledgements(scope: Stack): string[] {
  const used = new Set<string>();
  const pack = new AwsSolutionsChecks() as unknown as {
    isAcknowledged(node: IConstruct, ruleId: string): boolean;
    validateScope(scope: IConstruct): unknown;
  };
  const original = pack.isAcknowledged.bind(pack);
  pack.isAcknowledged = (node, ruleId) => {
    for (let c: IConstruct | undefined = node; c; c = c.node.scope) {
      if (acknowledgedOn(c).includes(ruleId)) {
        used.add(`${c.node.path}: ${ruleId}`);
        break;
      }
    }
    return original(node, ruleId);
  };
  pack.validateScope(scope);
  return acknowledgements(scope).filter((a) => !used.has(a));
}

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

/** Every IAM statement of a function's role policies. */
function statementsOf(entry: string): Statement[] {
  const roles = template.findResources('AWS::IAM::Role');
  const roleId = Object.keys(roles).find((id) => id.startsWith(`${cap(entry)}Role`));
  expect(roleId, `role of ${entry}`).toBeDefined();
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

/** Every IAM action granted to a function's role. */
function actionsOf(entry: string): string[] {
  const roles = template.findResources('AWS::IAM::Role');
  const roleId = Object.keys(roles).find((id) => id.startsWith(`${entry[0]!.toUpperCase()}${entry.slice(1)}Role`));
  expect(roleId, `role of ${entry}`).toBeDefined();
  const policies = template.findResources('AWS::IAM::Policy');
  const actions: string[] = [];
  for (const p of Object.values(policies)) {
    const roles = (p.Properties.Roles as Array<{ Ref: string }>).map((r) => r.Ref);
    if (!roles.includes(roleId!)) continue;
    for (const s of p.Properties.PolicyDocument.Statement as Statement[]) actions.push(...(Array.isArray(s.Action) ? s.Action : [s.Action]));
  }
  return [...new Set(actions)].sort();
}

describe('storage', () => {
  it('creates the eight tables on demand with PITR, deletion protection, encryption and the code\'s key schema', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 8);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'p', KeyType: 'HASH' }, { AttributeName: 'o', KeyType: 'RANGE' }],
      AttributeDefinitions: Match.arrayWith([{ AttributeName: 'o', AttributeType: 'N' }, { AttributeName: 't', AttributeType: 'S' }]),
      LocalSecondaryIndexes: [{ IndexName: 'by-time', KeySchema: [{ AttributeName: 'p', KeyType: 'HASH' }, { AttributeName: 't', KeyType: 'RANGE' }], Projection: { ProjectionType: 'KEYS_ONLY' } }],
    });
    for (const t of Object.values(template.findResources('AWS::DynamoDB::Table'))) {
      expect(t.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(t.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(t.Properties.DeletionProtectionEnabled).toBe(true);
      expect(t.Properties.SSESpecification).toEqual({ SSEEnabled: true });
      expect(t.DeletionPolicy).toBe('Retain');
    }
    template.hasResourceProperties('AWS::DynamoDB::Table', { KeySchema: [{ AttributeName: 'g', KeyType: 'HASH' }, { AttributeName: 's', KeyType: 'RANGE' }], TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true } });
    template.hasResourceProperties('AWS::DynamoDB::Table', { KeySchema: [{ AttributeName: 'p', KeyType: 'HASH' }, { AttributeName: 'pid', KeyType: 'RANGE' }], TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true } });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 't', KeyType: 'HASH' }, { AttributeName: 's', KeyType: 'RANGE' }],
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      GlobalSecondaryIndexes: [{ IndexName: 'by-due', KeySchema: [{ AttributeName: 'os', KeyType: 'HASH' }, { AttributeName: 'due', KeyType: 'RANGE' }], Projection: { ProjectionType: 'KEYS_ONLY' } }],
    });
    // Triggers: settings and lanes by trigger name, kept until the trigger is deleted (no TTL).
    const [, triggers] = Object.entries(template.findResources('AWS::DynamoDB::Table')).find(([id]) => id.startsWith('TriggersTable'))!;
    expect(triggers.Properties).toMatchObject({ KeySchema: [{ AttributeName: 'n', KeyType: 'HASH' }, { AttributeName: 's', KeyType: 'RANGE' }], AttributeDefinitions: [{ AttributeName: 'n', AttributeType: 'S' }, { AttributeName: 's', AttributeType: 'S' }] });
    expect(triggers.Properties.TimeToLiveSpecification).toBeUndefined();
    // Tables: entries keyed by table id and partition, the record key binary (byte order); delete markers expire.
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'p', KeyType: 'HASH' }, { AttributeName: 'k', KeyType: 'RANGE' }],
      AttributeDefinitions: [{ AttributeName: 'p', AttributeType: 'S' }, { AttributeName: 'k', AttributeType: 'B' }],
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
    });
  });

  it('streams the keys of the log table only, for the trigger dispatcher', () => {
    const streamed = Object.entries(template.findResources('AWS::DynamoDB::Table')).filter(([, t]) => t.Properties.StreamSpecification);
    expect(streamed.map(([id]) => id)).toEqual([expect.stringMatching(/^LogTable/)]);
    expect(streamed[0]![1].Properties.StreamSpecification).toEqual({ StreamViewType: 'KEYS_ONLY' });
  });

  it('keeps the data bucket private, encrypted, TLS-only, logged and retained, and aborts stale uploads', () => {
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        LifecycleConfiguration: { Rules: [{ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' }] },
        LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'data-bucket/' }),
      }),
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('lets a development stack be deleted with its data when asked', () => {
    const dev = Template.fromStack(buildApp({ stage: 'dev1', dataOnDelete: 'destroy' }).stack);
    for (const t of Object.values(dev.findResources('AWS::DynamoDB::Table'))) {
      expect(t.DeletionPolicy).toBe('Delete');
      expect(t.Properties.DeletionProtectionEnabled).toBe(false);
    }
  }, 120_000);
});

describe('functions', () => {
  it('runs every function on Node.js 24, arm64, with the local runtime\'s variable names', () => {
    const fns = template.findResources('AWS::Lambda::Function', { Properties: { Runtime: 'nodejs24.x' } });
    const floe = Object.values(fns).filter((f) => f.Properties.Environment?.Variables?.FLOE_LOG_TABLE);
    expect(floe).toHaveLength(FUNCTIONS.length);
    for (const f of floe) {
      expect(f.Properties.Architectures).toEqual(['arm64']);
      expect(Object.keys(f.Properties.Environment.Variables)).toEqual(
        expect.arrayContaining(['FLOE_TOPICS_TABLE', 'FLOE_LOG_TABLE', 'FLOE_OBJECTS_TABLE', 'FLOE_PRODUCERS_TABLE', 'FLOE_GROUPS_TABLE', 'FLOE_TRANSACTIONS_TABLE', 'FLOE_TRIGGERS_TABLE', 'FLOE_TABLES_TABLE', 'FLOE_BUCKET', 'POWERTOOLS_SERVICE_NAME']),
      );
      expect(f.Properties.LoggingConfig).toMatchObject({ LogFormat: 'JSON' });
      // The bundles carry no arm64 build of the native CRC-32C addon: each function says so.
      expect(f.Properties.Environment.Variables.FLOE_CRC32C).toBe('wasm');
    }
  });

  it('grants each function only what it does', () => {
    // Fetch reads, and writes only to move the high watermark past a dead producer (an empty batch).
    const fetch = actionsOf('fetch');
    expect(fetch).toEqual(['dynamodb:ConditionCheckItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'logs:CreateLogStream', 'logs:PutLogEvents', 's3:GetObject', 's3:PutObject']);
    const produce = actionsOf('produce');
    expect(produce).toEqual(expect.arrayContaining(['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 's3:PutObject']));
    for (const denied of ['s3:DeleteObject', 's3:GetObject', 'dynamodb:Scan']) expect(produce).not.toContain(denied);
    for (const fn of FUNCTIONS) {
      const actions = actionsOf(fn.entry);
      if (fn.entry !== 'gc') expect(actions, fn.entry).not.toContain('s3:DeleteObject');
      for (const a of actions) expect(a).not.toMatch(/\*/);
    }
    expect(actionsOf('gc')).toEqual(expect.arrayContaining(['s3:DeleteObject', 's3:ListBucket']));
    expect(actionsOf('gc')).not.toContain('s3:PutObject');
    expect(actionsOf('admin')).not.toContain('s3:GetObject');
  });

  it('scopes object access to the data prefix and listing to it too', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
    for (const s of statements.filter((x) => JSON.stringify(x.Action).includes('s3:'))) {
      const resource = JSON.stringify(s.Resource);
      if (JSON.stringify(s.Action).includes('s3:ListBucket')) expect(JSON.stringify(s)).toContain('"s3:prefix":["data/*"]');
      else expect(resource).toContain('/data/*');
    }
  });
});

describe('function settings', () => {
  it('leaves X-Ray tracing off by default, with no xray action in any role', () => {
    for (const fn of FUNCTIONS) expect(functionOf(template, fn.entry).resource.Properties.TracingConfig, fn.entry).toBeUndefined();
    const { statements, managed } = iamOf(template);
    expect(statements.length).toBeGreaterThan(0);
    for (const st of statements) expect(JSON.stringify(st.Action)).not.toMatch(/xray:/i);
    expect(managed).not.toMatch(/XRay/i);
    // Nothing then needs X-Ray's acknowledgement of `*`, and none is left behind: the one `*` left is
    // the dispatcher's dynamodb:ListStreams, which has no resource-level permissions.
    expect(acknowledgements(stack).filter((a) => a.endsWith('[Resource::*]'))).toEqual([`${stack.node.path}/Dispatcher/Role/DefaultPolicy: AwsSolutions-IAM5[Resource::*]`]);
    expect(statements.filter((st) => st.Resource === '*')).toEqual([{ Effect: 'Allow', Action: 'dynamodb:ListStreams', Resource: '*' }]);
    expect(() => buildApp({ stage: 'trace', tracing: 'yes' })).toThrow(/^context tracing must be true or false, got yes$/);
  });

  it('traces every function when asked, acknowledging X-Ray\'s `*` only on the functions\' role policies', () => {
    const { stack: traced, template: t } = withOptions();
    for (const fn of FUNCTIONS) {
      const f = functionOf(t, fn.entry).resource;
      expect(f.Properties.TracingConfig, fn.entry).toEqual({ Mode: 'Active' });
    }
    const xray = iamOf(t).statements.filter((st) => JSON.stringify(st.Action).includes('xray:'));
    expect(xray).toHaveLength(FUNCTIONS.length);
    for (const st of xray) expect(st.Resource).toBe('*');
    // The dispatcher's policy holds X-Ray's `*` and ListStreams' (both acknowledged there).
    const acks = acknowledgements(traced).filter((a) => a.endsWith('[Resource::*]'));
    expect([...new Set(acks.map((a) => a.split(': ')[0]))].sort()).toEqual(FUNCTIONS.map((f) => `${traced.node.path}/${cap(f.entry)}/Role/DefaultPolicy`).sort());
  }, 120_000);

  it('gives the HTTP functions request, fetch and long-poll limits within Lambda\'s payload and API Gateway\'s time limits', () => {
    for (const entry of HTTP) {
      const f = functionOf(template, entry).resource.Properties;
      expect(f.Environment.Variables, entry).toMatchObject({ FLOE_MAX_REQUEST_BYTES: '4194304', FLOE_MAX_FETCH_BYTES: '3145728', FLOE_MAX_FETCH_WAIT_MS: '25000' });
      // A long poll must end before the function's timeout, itself under API Gateway's 30 s.
      expect(f.Timeout).toBe(29);
      expect(Number(f.Environment.Variables.FLOE_MAX_FETCH_WAIT_MS)).toBeLessThan(f.Timeout * 1000);
    }
    for (const entry of JOBS) expect(Object.keys(functionOf(template, entry).resource.Properties.Environment.Variables), entry).not.toContain('FLOE_MAX_REQUEST_BYTES');
  });

  it('turns group commit off in every function, which serves one request at a time', () => {
    for (const f of FUNCTIONS) expect(functionOf(template, f.entry).resource.Properties.Environment.Variables.FLOE_GROUP_COMMIT_MS, f.entry).toBe('0');
  });

  it('lets Lambda retry no failed job run, as the schedules do not: the next run is the retry', () => {
    const configs = Object.values(template.findResources('AWS::Lambda::EventInvokeConfig'));
    expect(configs).toHaveLength(JOBS.length);
    for (const entry of JOBS) {
      const id = functionOf(template, entry).id;
      const config = configs.find((c) => JSON.stringify(c.Properties.FunctionName) === JSON.stringify({ Ref: id }));
      expect(config?.Properties, entry).toMatchObject({ MaximumRetryAttempts: 0, Qualifier: '$LATEST' });
    }
    for (const rule of Object.values(template.findResources('AWS::Events::Rule'))) {
      for (const target of rule.Properties.Targets) expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 0 });
    }
  });
});

describe('HTTP API and schedules', () => {
  it('routes the REST paths to their functions behind IAM authorization, with throttling and access logs', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /topics/{topic}', AuthorizationType: 'AWS_IAM' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'GET /topics/{topic}/partitions/{partition}/records', AuthorizationType: 'AWS_IAM' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'ANY /consumers/{proxy+}' });
    // configs:alter and unknown paths reach the admin function, whose app answers with its own error bodies.
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$default', AuthorizationType: 'AWS_IAM' });
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((r) => r.Properties.RouteKey as string);
    expect(routes.length).toBe(FUNCTIONS.reduce((n, f) => n + (f.routes?.length ?? 0) + (f.defaultRoute ? 1 : 0), 0));
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 },
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
  });

  it('gives the produce function an IAM-authorized Function URL only when asked', () => {
    expect(Object.keys(template.findResources('AWS::Lambda::Url'))).toHaveLength(0);
    const withUrl = Template.fromStack(buildApp({ stage: 'url', produceUrl: 'true' }).stack);
    const urls = Object.values(withUrl.findResources('AWS::Lambda::Url'));
    expect(urls).toHaveLength(1);
    expect(urls[0]!.Properties.AuthType).toBe('AWS_IAM');
    expect(JSON.stringify(urls[0]!.Properties.TargetFunctionArn)).toContain('ProduceFunction');
    withUrl.hasOutput('ProduceUrl', {});
    expect(() => buildApp({ stage: 'url', produceUrl: 'yes' })).toThrow(/produceUrl/);
  });

  it('logs each request as one JSON object with the useful $context variables', () => {
    const stage = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0]!;
    const format = JSON.parse(stage.Properties.AccessLogSettings.Format as string) as Record<string, string>;
    // Parsed as JSON (one object a request), with what an operator needs to trace a failed request.
    expect(format).toMatchObject({ requestId: '$context.requestId', routeKey: '$context.routeKey', status: '$context.status', integrationErrorMessage: '$context.integrationErrorMessage', errorMessage: '$context.error.message' });
    for (const v of Object.values(format)) expect(v).toMatch(/^\$context\.[a-zA-Z.]+$/);
  });

  it('uses a JWT authorizer when asked', () => {
    const jwt = Template.fromStack(buildApp({ stage: 'jwt', auth: 'jwt', jwtIssuer: 'https://issuer.example.com', jwtAudience: 'floe, other' }).stack);
    jwt.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { AuthorizerType: 'JWT', JwtConfiguration: { Issuer: 'https://issuer.example.com', Audience: ['floe', 'other'] } });
    jwt.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /topics/{topic}', AuthorizationType: 'JWT' });
  }, 120_000);

  it('rejects a JWT setting without an audience or with an issuer that is not an https URL, in one line', () => {
    const attempt = (context: Record<string, string>) => {
      try {
        buildApp({ stage: 'jwt', auth: 'jwt', ...context });
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    };
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ jwtIssuer: 'https://issuer.example.com' }, /^context jwtAudience is required with auth=jwt/],
      [{ jwtIssuer: 'https://issuer.example.com', jwtAudience: ' , ' }, /^context jwtAudience is required/],
      [{ jwtAudience: 'floe' }, /^context jwtIssuer is required with auth=jwt$/],
      [{ jwtIssuer: 'http://issuer.example.com', jwtAudience: 'floe' }, /^context jwtIssuer must be an https URL, got http:\/\/issuer\.example\.com$/],
      [{ jwtIssuer: 'issuer.example.com', jwtAudience: 'floe' }, /^context jwtIssuer must be an https URL/],
    ];
    for (const [context, message] of cases) {
      const got = attempt(context);
      expect(got, JSON.stringify(context)).toMatch(message);
      expect(got).not.toContain('\n');
    }
    expect(attempt({ auth: 'oauth' })).toMatch(/^context auth must be iam or jwt/);
  });

  it('schedules retention, compaction, gc and the trigger sweep', () => {
    const rules = Object.values(template.findResources('AWS::Events::Rule')).map((r) => r.Properties.ScheduleExpression).sort();
    expect(rules).toEqual(['rate(1 hour)', 'rate(1 minute)', 'rate(15 minutes)', 'rate(5 minutes)']);
  });

});

describe('topic triggers', () => {
  const logicalId = (type: string, prefix: string) => {
    const id = Object.keys(template.findResources(type)).find((k) => k.startsWith(prefix));
    expect(id, prefix).toBeDefined();
    return id!;
  };
  const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });

  it('wakes the dispatcher by the log table\'s stream, for partition heads only, as its one reader', () => {
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping'));
    // DynamoDB Streams throttles a third reader of a shard: nothing else reads this stream.
    expect(mappings).toHaveLength(1);
    const m = mappings[0]!.Properties;
    expect(m.FunctionName).toEqual({ Ref: functionOf(template, 'dispatcher').id });
    expect(m.EventSourceArn).toEqual({ 'Fn::GetAtt': [logicalId('AWS::DynamoDB::Table', 'LogTable'), 'StreamArn'] });
    expect(m).toMatchObject({ StartingPosition: 'LATEST', BatchSize: 100, MaximumBatchingWindowInSeconds: 1, ParallelizationFactor: 1 });
    // A failing batch is retried twice, then skipped (the sweep finds what it would have woken).
    expect(m).toMatchObject({ MaximumRetryAttempts: 2, MaximumRecordAgeInSeconds: 300, BisectBatchOnFunctionError: false });
    expect(m.FilterCriteria.Filters.map((f: { Pattern: string }) => JSON.parse(f.Pattern))).toEqual([{ dynamodb: { Keys: { o: { N: ['-1'] } } } }]);
  });

  it('gives the dispatcher a 5-minute timeout, modest reserved concurrency, the API URL, and a one-minute sweep', () => {
    const { id, resource } = functionOf(template, 'dispatcher');
    expect(resource.Properties).toMatchObject({ Timeout: 300, ReservedConcurrentExecutions: 10 });
    expect(JSON.stringify(resource.Properties.Environment.Variables.FLOE_API_URL)).toContain(logicalId('AWS::ApiGatewayV2::Api', 'Api'));
    const sweeps = Object.values(template.findResources('AWS::Events::Rule')).filter((r) => JSON.stringify(r.Properties.Targets).includes(id));
    expect(sweeps.map((r) => r.Properties.ScheduleExpression)).toEqual(['rate(1 minute)']);
    expect(sweeps[0]!.Properties.Targets[0]).toMatchObject({ Arn: arnOf(id), RetryPolicy: { MaximumRetryAttempts: 0 } });
    // No other function is given the API URL or reserved concurrency.
    for (const fn of FUNCTIONS.filter((f) => f.entry !== 'dispatcher')) {
      const p = functionOf(template, fn.entry).resource.Properties;
      expect(p.Environment.Variables.FLOE_API_URL, fn.entry).toBeUndefined();
      expect(p.ReservedConcurrentExecutions, fn.entry).toBeUndefined();
    }
    const custom = buildApp({ stage: 'sweep', triggerSweepMinutes: '3' }).stack;
    expect(Object.values(Template.fromStack(custom).findResources('AWS::Events::Rule')).map((r) => r.Properties.ScheduleExpression)).toContain('rate(3 minutes)');
    expect(() => buildApp({ stage: 'sweep', triggerSweepMinutes: '0' })).toThrow(/^context triggerSweepMinutes must be an integer between 1 and 60, got 0$/);
  }, 120_000);

  it('routes the trigger API to the triggers function', () => {
    const fnArn = arnOf(functionOf(template, 'triggers').id);
    const integrations = template.findResources('AWS::ApiGatewayV2::Integration');
    for (const key of ['ANY /floe/v1/triggers', 'ANY /floe/v1/triggers/{proxy+}']) {
      const route = Object.values(template.findResources('AWS::ApiGatewayV2::Route', { Properties: { RouteKey: key } }));
      expect(route, key).toHaveLength(1);
      expect(route[0]!.Properties.AuthorizationType).toBe('AWS_IAM');
      const integrationId = (route[0]!.Properties.Target['Fn::Join'][1] as unknown[]).find((p) => typeof p === 'object') as { Ref: string };
      expect(integrations[integrationId.Ref]!.Properties.IntegrationUri, key).toEqual(fnArn);
    }
  });

  it('routes the tables API to the triggers function, and grants the tables table to it and (writes only) to the dispatcher', () => {
    const fnArn = arnOf(functionOf(template, 'triggers').id);
    const integrations = template.findResources('AWS::ApiGatewayV2::Integration');
    for (const key of ['ANY /floe/v1/tables', 'ANY /floe/v1/tables/{proxy+}']) {
      const route = Object.values(template.findResources('AWS::ApiGatewayV2::Route', { Properties: { RouteKey: key } }));
      expect(route, key).toHaveLength(1);
      const integrationId = (route[0]!.Properties.Target['Fn::Join'][1] as unknown[]).find((p) => typeof p === 'object') as { Ref: string };
      expect(integrations[integrationId.Ref]!.Properties.IntegrationUri, key).toEqual(fnArn);
    }
    const tableArn = JSON.stringify(arnOf(logicalId('AWS::DynamoDB::Table', 'TablesTable')));
    const onTables = (entry: string) => statementsOf(entry).filter((st) => JSON.stringify(st.Resource) === tableArn).flatMap((st) => [st.Action].flat()).sort();
    expect(onTables('triggers')).toEqual(['dynamodb:BatchGetItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
    expect(onTables('dispatcher')).toEqual(['dynamodb:PutItem']);
    for (const fn of FUNCTIONS.filter((f) => f.entry !== 'triggers' && f.entry !== 'dispatcher')) expect(onTables(fn.entry), fn.entry).toEqual([]);
  });

  it('grants the triggers table only to the triggers and dispatcher functions, each its own actions, and no function lambda:InvokeFunction', () => {
    const tableArn = JSON.stringify(arnOf(logicalId('AWS::DynamoDB::Table', 'TriggersTable')));
    const onTriggers = (entry: string) => statementsOf(entry).filter((st) => JSON.stringify(st.Resource) === tableArn).flatMap((st) => [st.Action].flat()).sort();
    expect(onTriggers('triggers')).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:UpdateItem']);
    // The dispatcher writes leases and lane state, never settings: no PutItem or DeleteItem.
    expect(onTriggers('dispatcher')).toEqual(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:UpdateItem']);
    for (const fn of FUNCTIONS.filter((f) => f.entry !== 'triggers' && f.entry !== 'dispatcher')) expect(onTriggers(fn.entry), fn.entry).toEqual([]);
    // The triggers function writes no log entries and no objects: its fetches stay below the high watermark.
    expect(actionsOf('triggers')).not.toContain('s3:PutObject');
    const logArn = JSON.stringify(arnOf(logicalId('AWS::DynamoDB::Table', 'LogTable')));
    expect(statementsOf('triggers').filter((st) => JSON.stringify(st.Resource).includes(logArn)).flatMap((st) => [st.Action].flat()).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:Query']);
    // The dispatcher reads the log table's stream, on that stream only (ListStreams has no resource).
    const stream = JSON.stringify({ 'Fn::GetAtt': [logicalId('AWS::DynamoDB::Table', 'LogTable'), 'StreamArn'] });
    const streamActions = statementsOf('dispatcher').filter((st) => JSON.stringify(st.Resource) === stream).flatMap((st) => [st.Action].flat()).sort();
    expect(streamActions).toEqual(['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator']);
    for (const fn of FUNCTIONS.filter((f) => f.entry !== 'dispatcher')) expect(actionsOf(fn.entry).filter((a) => /^dynamodb:.*Stream/.test(a)), fn.entry).toEqual([]);
    // The dispatcher may invoke a user's function only when a FloeEventSource grants it that function.
    for (const st of iamOf(template).statements) expect(JSON.stringify(st.Action)).not.toContain('lambda:InvokeFunction');
  });

  it('adds no custom resource provider until a FloeEventSource asks for one', () => {
    const fns = Object.keys(template.findResources('AWS::Lambda::Function'));
    expect(fns).toHaveLength(FUNCTIONS.length);
    template.resourceCountIs('Custom::FloeTrigger', 0);
  });
});

describe('alarms', () => {
  const topicId = () => Object.keys(template.findResources('AWS::SNS::Topic'))[0]!;

  it('alarms on errors and throttles of every function, table throttling and conflicts, API 5xx, and has a dashboard', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.filter((a) => a.Properties.MetricName === 'Errors')).toHaveLength(FUNCTIONS.length);
    expect(alarms.filter((a) => a.Properties.MetricName === 'Throttles')).toHaveLength(FUNCTIONS.length);
    expect(alarms.filter((a) => JSON.stringify(a.Properties.Metrics ?? []).includes('WriteThrottleEvents'))).toHaveLength(8);
    expect(alarms.filter((a) => JSON.stringify(a.Properties.Metrics ?? []).includes('TransactionConflict'))).toHaveLength(1);
    expect(alarms.filter((a) => a.Properties.MetricName === '5xx')).toHaveLength(1);
    expect(alarms).toHaveLength(2 * FUNCTIONS.length + 8 + 1 + 1);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.hasOutput('ApiUrl', {});
    template.hasOutput('BucketName', {});
  });

  it('sends every alarm, and its return to OK, to the alarm topic, whose ARN is an output', () => {
    template.resourceCountIs('AWS::SNS::Topic', 1);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThan(0);
    for (const a of alarms) {
      expect(a.Properties.AlarmActions, a.Properties.AlarmDescription).toEqual([{ Ref: topicId() }]);
      expect(a.Properties.OKActions, a.Properties.AlarmDescription).toEqual([{ Ref: topicId() }]);
    }
    template.hasOutput('AlarmTopicArn', { Value: { Ref: topicId() } });
  });

  it('encrypts the alarm topic with a rotated key CloudWatch may use, and lets only TLS requests and this account\'s alarms in', () => {
    const keys = template.findResources('AWS::KMS::Key');
    const [keyId, key] = Object.entries(keys).find(([id]) => id.startsWith('AlarmTopicKey'))!;
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.Properties.KeyPolicy.Statement).toEqual(
      expect.arrayContaining([expect.objectContaining({ Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] })]),
    );
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId() }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Allow', Action: 'sns:Publish', Principal: { Service: 'cloudwatch.amazonaws.com' }, Condition: { ArnLike: { 'aws:SourceArn': Match.anyValue() } } }),
        ]),
      },
    });
  });

  it('subscribes the alarm email only when one is given', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    const t = withOptions().template;
    const topic = Object.keys(t.findResources('AWS::SNS::Topic'))[0]!;
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: { Ref: topic } });
    expect(() => buildApp({ stage: 'mail', alarmEmail: 'ops' })).toThrow(/^context alarmEmail must be an email address/);
  }, 120_000);

  it('alarms on the HTTP API\'s 5xx answers, which an error the app answers as 500 never adds to Lambda Errors', () => {
    const apiId = Object.keys(template.findResources('AWS::ApiGatewayV2::Api'))[0]!;
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApiGateway',
      MetricName: '5xx',
      Dimensions: [{ Name: 'ApiId', Value: { Ref: apiId } }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('alarms on transaction conflicts summed over every table a transaction touches', () => {
    const alarm = Object.values(template.findResources('AWS::CloudWatch::Alarm')).find((a) => JSON.stringify(a.Properties.Metrics ?? []).includes('TransactionConflict'))!;
    type Query = { Id: string; Expression?: string; MetricStat?: { Metric: { MetricName: string; Dimensions: Array<{ Value: { Ref: string } }> }; Stat: string } };
    const queries = alarm.Properties.Metrics as Query[];
    const sum = queries.find((q) => q.Expression)!;
    const tables = queries.filter((q) => q.MetricStat?.Metric.MetricName === 'TransactionConflict');
    expect(tables.map((q) => q.MetricStat!.Metric.Dimensions[0]!.Value.Ref).sort()).toEqual(Object.keys(template.findResources('AWS::DynamoDB::Table')).sort());
    for (const q of tables) {
      expect(q.MetricStat!.Stat).toBe('Sum');
      expect(sum.Expression).toContain(`FILL(${q.Id}, 0)`);
    }
    expect(sum.Expression).toMatch(/^SUM\(\[/);
    expect(alarm.Properties).toMatchObject({ Threshold: 1000, EvaluationPeriods: 3 });
  });
});

describe('cdk-nag', () => {
  it('keeps no acknowledgement that no finding needs, with tracing off and on', () => {
    expect(acknowledgements(stack).length).toBeGreaterThan(0);
    expect(unusedAcknowledgements(stack)).toEqual([]);
    expect(unusedAcknowledgements(withOptions().stack)).toEqual([]);
  }, 120_000);

  it('passes AwsSolutions with every acknowledgement explained, and catches a new violation', () => {
    // The shared stack synthesized without error above. A stack with one more unacknowledged
    // finding must not.
    const { app, stack: bad } = buildApp({ stage: 'nag' });
    new Bucket(bad, 'Careless');
    expect(() => app.synth()).toThrow(/Validation failed|AwsSolutions/);
  }, 120_000);
});

describe('npm run synth', () => {
  it('synthesizes through the CDK CLI, offline, as CI and a deploy do', async () => {
    const { execFile } = await import('node:child_process');
    const { readdirSync } = await import('node:fs');
    const out = mkdtempSync(join(tmpdir(), 'floe-cdk-'));
    try {
      const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
        execFile('npx', ['cdk', 'synth', '--quiet', '--no-notices', '--no-version-reporting', '--output', out], { timeout: 110_000 }, (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
        );
      });
      expect(result.output).not.toMatch(/ERROR/);
      expect(result.code).toBe(0);
      expect(readdirSync(out)).toContain('Floe-dev.template.json');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
