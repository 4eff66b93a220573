// @floe/cdk's `Floe` construct in a user's own stack: the resources under it, cdk-nag's checks passing
// there too, the direct-mode grants with exactly the actions the README lists, and the published
// package's path, where the construct built into dist/ deploys the prebuilt bundles it ships.
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Code, Function as Lambda, Runtime } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/floe-function.ts';
import { Floe } from '../../packages/cdk/src/index.ts';
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
  it('adds the tables, the buckets, the seven functions, the API and its routes under its own id, and passes cdk-nag', () => {
    const { app, stack } = userStack();
    const log = new Floe(stack, 'Log', { stage: 'user', memory: { httpMb: 512 } });
    // Floe's acknowledgements hold under a construct too: an unacknowledged AwsSolutions finding would make the synth throw.
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
    expect(() => app.synth()).not.toThrow();
    const t = Template.fromStack(stack);
    const tables = t.findResources('AWS::DynamoDB::Table');
    expect(Object.keys(tables).sort()).toEqual(['Groups', 'Log', 'Objects', 'Producers', 'Topics', 'Transactions'].map((n) => expect.stringMatching(new RegExp(`^Log${n}Table`))));
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
    expect(Object.values(t.findResources('AWS::Events::Rule')).map((r) => r.Properties.ScheduleExpression).sort()).toEqual(['rate(1 hour)', 'rate(15 minutes)', 'rate(5 minutes)']);
    expect(Object.keys(log.environment).sort()).toEqual(['FLOE_BUCKET', 'FLOE_GROUPS_TABLE', 'FLOE_GROUP_COMMIT_MS', 'FLOE_LOG_TABLE', 'FLOE_OBJECTS_TABLE', 'FLOE_PRODUCERS_TABLE', 'FLOE_TOPICS_TABLE', 'FLOE_TRANSACTIONS_TABLE']);
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
    expect(JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'))).toMatchObject({ files: ['dist'], peerDependencies: { 'aws-cdk-lib': expect.any(String), constructs: expect.any(String) } });
    expect(existsSync(join(pkg, 'dist/types/packages/cdk/src/index.d.ts'))).toBe(true);
  });

  it('ships declarations that import nothing but aws-cdk-lib, constructs and Node', () => {
    const seen = new Set<string>();
    const bare = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const [, spec] of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
        if (spec!.startsWith('.')) visit(join(dirname(file), spec!.replace(/\.ts$/, '.d.ts')));
        else bare.add(spec!.split('/')[0]!);
      }
    };
    visit(join(pkg, 'dist/types/packages/cdk/src/index.d.ts'));
    expect(seen.size).toBeGreaterThan(1);
    expect([...bare].filter((b) => !b.startsWith('node:')).sort()).toEqual(['aws-cdk-lib', 'constructs']);
  });

  it('deploys those bundles from dist/ as plain Lambda functions, which need no esbuild at the user\'s synth', async () => {
    const { Floe: Packaged } = (await import(pathToFileURL(join(pkg, 'dist/index.js')).href)) as typeof import('../../packages/cdk/src/index.ts');
    // Bundling on: a NodejsFunction would bundle here, and a plain function from an asset only copies it.
    const { app, stack } = userStack({ 'aws:cdk:bundling-stacks': ['**'], 'aws:cdk:enable-asset-metadata': true });
    const log = new Packaged(stack, 'Log', { stage: 'pkg' });
    log.grantProduce(new Lambda(stack, 'Mine', { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('exports.handler = async () => {}') }));
    const assembly = app.synth();
    const t = Template.fromJSON(assembly.getStackByName(stack.stackName).template as Record<string, unknown>);
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
