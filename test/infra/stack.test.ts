// The CDK stack, synthesized once (real esbuild bundling, no network): specific properties of the
// tables, the bucket, each function's permissions, the routes, the schedules; and cdk-nag's
// AwsSolutions checks with nothing left unacknowledged.
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.ts';
import { FUNCTIONS } from '../../infra/floe-stack.ts';

let template: Template;
let stack: Stack;

beforeAll(() => {
  const built = buildApp({ stage: 'test' });
  stack = built.stack;
  // Synthesizing the app runs the cdk-nag plugin: unacknowledged findings make it throw.
  built.app.synth();
  template = Template.fromStack(stack);
}, 120_000);

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

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
  it('creates the five tables on demand with PITR, deletion protection, encryption and the code\'s key schema', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 5);
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
      expect(Object.keys(f.Properties.Environment.Variables)).toEqual(expect.arrayContaining(['FLOE_TOPICS_TABLE', 'FLOE_LOG_TABLE', 'FLOE_OBJECTS_TABLE', 'FLOE_PRODUCERS_TABLE', 'FLOE_GROUPS_TABLE', 'FLOE_BUCKET', 'POWERTOOLS_SERVICE_NAME']));
      expect(f.Properties.LoggingConfig).toMatchObject({ LogFormat: 'JSON' });
    }
  });

  it('grants each function only what it does', () => {
    const fetch = actionsOf('fetch');
    expect(fetch).toEqual(['dynamodb:GetItem', 'dynamodb:Query', 'logs:CreateLogStream', 'logs:PutLogEvents', 's3:GetObject', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
    const produce = actionsOf('produce');
    expect(produce).toEqual(expect.arrayContaining(['dynamodb:BatchGetItem', 'dynamodb:ConditionCheckItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 's3:PutObject']));
    for (const denied of ['dynamodb:DeleteItem', 's3:DeleteObject', 's3:GetObject', 'dynamodb:Scan']) expect(produce).not.toContain(denied);
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

  it('uses a JWT authorizer when asked', () => {
    const jwt = Template.fromStack(buildApp({ stage: 'jwt', auth: 'jwt', jwtIssuer: 'https://issuer.example.com', jwtAudience: 'floe' }).stack);
    jwt.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { AuthorizerType: 'JWT', JwtConfiguration: { Issuer: 'https://issuer.example.com', Audience: ['floe'] } });
    jwt.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /topics/{topic}', AuthorizationType: 'JWT' });
  }, 120_000);

  it('schedules retention, compaction and gc', () => {
    const rules = Object.values(template.findResources('AWS::Events::Rule')).map((r) => r.Properties.ScheduleExpression).sort();
    expect(rules).toEqual(['rate(1 hour)', 'rate(15 minutes)', 'rate(5 minutes)']);
  });

  it('alarms on errors and throttles of every function, table throttling and conflicts, and has a dashboard', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.filter((a) => a.Properties.MetricName === 'Errors')).toHaveLength(FUNCTIONS.length);
    expect(alarms.filter((a) => a.Properties.MetricName === 'Throttles')).toHaveLength(FUNCTIONS.length);
    expect(alarms.filter((a) => a.Properties.MetricName === 'TransactionConflict')).toHaveLength(1);
    expect(alarms.filter((a) => JSON.stringify(a.Properties.Metrics ?? []).includes('WriteThrottleEvents'))).toHaveLength(5);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.hasOutput('ApiUrl', {});
    template.hasOutput('BucketName', {});
  });
});

describe('cdk-nag', () => {
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
    const { mkdtempSync, readdirSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const out = mkdtempSync(join(tmpdir(), 'floe-cdk-'));
    const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
      execFile('npx', ['cdk', 'synth', '--quiet', '--no-notices', '--no-version-reporting', '--output', out], { timeout: 110_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
      );
    });
    expect(result.output).not.toMatch(/ERROR/);
    expect(result.code).toBe(0);
    expect(readdirSync(out)).toContain('Floe-dev.template.json');
  }, 120_000);
});
