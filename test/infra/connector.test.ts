// FloeConnector in a user's app: a Custom::FloeConnector resource whose Settings are the connectors
// API's create body (the table or bucket name resolved by CloudFormation), served by Floe's triggers
// function through the provider FloeEventSource uses too; policies that let only Floe's dispatcher
// write only that table or bucket prefix and only the triggers function check it, granted before the
// connector exists; cdk-nag passing; stacks depending the right way; bad settings failing the synth.
import { App, Stack, Token, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AttributeType, Table, type CfnTable } from 'aws-cdk-lib/aws-dynamodb';
import { Code, Function as Lambda, Runtime, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { BlockPublicAccess, Bucket, type CfnBucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Floe, FloeConnector, FloeEventSource, type FloeConnectorProps } from '../../packages/cdk/src/index.ts';
import { FUNCTIONS } from '../../src/manifest.ts';

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

/** Stand-ins for the prebuilt bundles (these tests read templates only; bundling would take seconds per synth). */
const functionCode = mkdtempSync(join(tmpdir(), 'floe-conn-code-'));
outdirs.push(functionCode);
for (const f of FUNCTIONS) {
  mkdirSync(join(functionCode, f.entry));
  writeFileSync(join(functionCode, f.entry, 'index.mjs'), 'export const handler = async () => undefined;\n');
}

const env = { account: '111111111111', region: 'eu-west-1' };

/** A user's app with Floe, a table keyed by `id` and a bucket of the user's own. */
function userApp() {
  const outdir = mkdtempSync(join(tmpdir(), 'floe-conn-cdk-'));
  outdirs.push(outdir);
  const app = new App({ outdir });
  const stack = new Stack(app, 'UserStack', { env });
  const log = new Floe(stack, 'Log', { stage: 'user', functionCode });
  return { app, stack, log, table: userTable(stack), bucket: userBucket(stack) };
}

function userTable(scope: Construct): Table {
  return new Table(scope, 'Customers', { partitionKey: { name: 'id', type: AttributeType.STRING }, pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true } });
}

function userBucket(scope: Construct): Bucket {
  return new Bucket(scope, 'Archive', { enforceSSL: true, blockPublicAccess: BlockPublicAccess.BLOCK_ALL });
}

const logicalId = (c: Table | Bucket) => Stack.of(c).getLogicalId(c.node.defaultChild as CfnTable | CfnBucket);
const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });

/** A template value with its tokens resolved as CloudFormation would: Fn::Join concatenated, Fn::GetAtt as `<Id.Attr>`, Ref as `<Id>`. */
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

/** The Custom::FloeConnector resources of a template, with their Settings parsed. */
function connectorsIn(t: Template) {
  return Object.entries(t.findResources('Custom::FloeConnector')).map(([id, r]) => ({ id, resource: r, settings: JSON.parse(resolved(r.Properties.Settings)) as Record<string, unknown> }));
}

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

/** Per policy of the template: its id, the roles it is attached to, and its statements. */
function policiesIn(t: Template) {
  return Object.entries(t.findResources('AWS::IAM::Policy')).map(([id, p]) => ({ id, roles: p.Properties.Roles as unknown, statements: p.Properties.PolicyDocument.Statement as Statement[] }));
}

const roleRef = (t: Template, prefix: string) => ({ Ref: Object.keys(t.findResources('AWS::IAM::Role')).find((id) => id.startsWith(prefix))! });

/** A turn of the event loop, for the worker to answer the runner between long stretches of synchronous work. */
const breathe = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * One app for the tests that read a template: a dynamodb-sink on a table of the stack, an s3-sink on a
 * bucket of the stack, one on an imported bucket and one on an imported table, and a FloeEventSource,
 * synthesized once with cdk-nag's checks (each synth of Floe is seconds of synchronous work).
 */
let shared: { stack: Stack; table: Table; bucket: Bucket; template: Template; synthError: unknown; customers: FloeConnector };

beforeAll(async () => {
  // A worker's first synth also starts CDK's CloudFormation validation engine: done apart, then a breath.
  const warm = new App({ outdir: mkdtempSync(join(tmpdir(), 'floe-conn-warm-')) });
  outdirs.push(warm.outdir);
  new Bucket(new Stack(warm, 'Warm', { env }), 'B');
  warm.synth();
  await breathe();
  const { app, stack, log, table, bucket } = userApp();
  const customers = new FloeConnector(stack, 'CustomersSink', { floe: log, name: 'customers-to-ddb', type: 'dynamodb-sink', topics: ['customers', 'customers-eu'], table, config: { 'key.attribute': 'id', 'delete.enabled': false }, errorsTolerance: 'all', deadLetterTopic: 'customers.dlq' });
  new FloeConnector(stack, 'ArchiveSink', { floe: log, name: 'orders-archive', type: 's3-sink', topics: ['orders'], bucket, config: { 'topics.dir': 'archive/orders', 'flush.size': 500, 'format.class': 'io.confluent.connect.s3.format.parquet.ParquetFormat' } });
  // A table or bucket imported by name: its literal ARN in the grants.
  new FloeConnector(stack, 'ImportedBucket', { floe: log, name: 'imported-bucket', type: 's3-sink', topics: ['orders'], bucket: Bucket.fromBucketName(stack, 'Theirs', 'their-archive') });
  new FloeConnector(stack, 'ImportedTable', { floe: log, name: 'imported-table', type: 'dynamodb-sink', topics: ['orders'], table: Table.fromTableName(stack, 'TheirTable', 'their-table') });
  const fn = new Lambda(stack, 'Mine', { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('exports.handler = async () => {}') });
  fn.addEventSource(new FloeEventSource(log, { topic: 'orders', startingPosition: StartingPosition.LATEST }));
  // Findings on the user's own function and bucket are the user's: acknowledged here as a user would.
  Validations.of(fn).acknowledge(
    { id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', reason: 'the test\'s own function' },
    { id: 'AwsSolutions-L1', reason: 'the test\'s own function' },
  );
  Validations.of(bucket).acknowledge({ id: 'AwsSolutions-S1', reason: 'the test\'s own bucket' });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  let synthError: unknown;
  try {
    app.synth();
  } catch (e) {
    synthError = e;
  }
  await breathe();
  shared = { stack, table, bucket, template: Template.fromStack(stack), synthError, customers };
}, 180_000);

const byName = (name: string) => connectorsIn(shared.template).find((c) => c.settings.name === name)!;

describe('FloeConnector in a user\'s app', () => {
  it('deploys a dynamodb-sink as a Custom::FloeConnector with every setting written out, the table name resolved by CloudFormation', () => {
    const { table, customers } = shared;
    expect(customers.connectorName).toBe('customers-to-ddb');
    expect(Token.isUnresolved(customers.config['table.name'])).toBe(true);
    const c = byName('customers-to-ddb');
    expect(c.settings).toEqual({
      name: 'customers-to-ddb',
      type: 'dynamodb-sink',
      topics: ['customers', 'customers-eu'],
      // The defaults filled in and every value a string, as the API keeps them: an update replaces the config.
      config: { 'table.name': `<${logicalId(table)}>`, 'key.attribute': 'id', 'delete.enabled': 'false', 'value.mapping': 'fields', 'value.attribute': 'value', 'ttl.attribute': 'ttl' },
      'errors.tolerance': 'all',
      'errors.deadletterqueue.topic.name': 'customers.dlq',
    });
    // The table's name reaches the settings as CloudFormation's own reference, not as a name typed in.
    expect(JSON.stringify(c.resource.Properties.Settings)).toContain(JSON.stringify({ Ref: logicalId(table) }));
    expect(c.resource.DeletionPolicy).toBe('Delete');
    expect(byName('imported-table').settings.config).toMatchObject({ 'table.name': 'their-table' });
  });

  it('deploys an s3-sink with its bucket and settings, defaults filled in and Kafka\'s format class names normalized', () => {
    expect(byName('orders-archive').settings).toEqual({
      name: 'orders-archive',
      type: 's3-sink',
      topics: ['orders'],
      config: { 's3.bucket.name': `<${logicalId(shared.bucket)}>`, 'topics.dir': 'archive/orders', 'flush.size': '500', 'format.class': 'parquet', 'value.converter': 'string' },
      'errors.tolerance': 'none',
      'errors.deadletterqueue.topic.name': null,
    });
    expect(byName('imported-bucket').settings.config).toMatchObject({ 's3.bucket.name': 'their-archive', 'topics.dir': 'topics', 'flush.size': '1000', 'format.class': 'json' });
  });

  it('is served by Floe\'s triggers function through the provider FloeEventSource uses, one for all', () => {
    const t = shared.template;
    const fns = t.findResources('AWS::Lambda::Function');
    const framework = Object.keys(fns).filter((id) => id.startsWith('LogTriggerProviderframeworkonEvent'));
    expect(framework).toHaveLength(1);
    const triggersFn = Object.keys(fns).find((id) => id.startsWith('LogTriggersFunction'))!;
    expect(fns[framework[0]!]!.Properties.Environment.Variables.USER_ON_EVENT_FUNCTION_ARN).toEqual(arnOf(triggersFn));
    const all = [...connectorsIn(t), ...Object.values(t.findResources('Custom::FloeTrigger')).map((resource) => ({ resource }))];
    expect(all).toHaveLength(5);
    for (const x of all) expect(x.resource.Properties.ServiceToken).toEqual(arnOf(framework[0]!));
  });

  it('lets only the dispatcher write only the table (PutItem, DescribeTable) and the triggers function only describe it, granted before the connector exists', () => {
    const t = shared.template;
    const tableArn = arnOf(logicalId(shared.table));
    const onTable = policiesIn(t).filter((p) => JSON.stringify(p.statements).includes(JSON.stringify(tableArn)));
    expect(onTable.map(({ roles, statements }) => ({ roles, statements }))).toEqual(
      expect.arrayContaining([
        { roles: [roleRef(t, 'LogDispatcherRole')], statements: [{ Effect: 'Allow', Action: ['dynamodb:DescribeTable', 'dynamodb:PutItem'], Resource: tableArn }] },
        { roles: [roleRef(t, 'LogTriggersRole')], statements: [{ Effect: 'Allow', Action: 'dynamodb:DescribeTable', Resource: tableArn }] },
      ]),
    );
    // Policies of the connector's own, nothing added to Floe's: deleted with it, and no reference from Floe's resources to the user's.
    expect(onTable).toHaveLength(2);
    for (const p of onTable) expect(p.id.startsWith('CustomersSink')).toBe(true);
    expect([...byName('customers-to-ddb').resource.DependsOn].sort()).toEqual(onTable.map((p) => p.id).sort());
    // An imported table: its own ARN, built from the name.
    const imported = policiesIn(t).filter((p) => p.id.startsWith('ImportedTable'));
    expect(imported.map((p) => resolved(p.statements[0]!.Resource)).sort()).toEqual(['arn:<AWS::Partition>:dynamodb:eu-west-1:111111111111:table/their-table', 'arn:<AWS::Partition>:dynamodb:eu-west-1:111111111111:table/their-table']);
  });

  it('lets only the dispatcher put objects under topics.dir/ of the bucket and the triggers function only HeadBucket it', () => {
    const t = shared.template;
    const bucketArn = arnOf(logicalId(shared.bucket));
    const mine = policiesIn(t).filter((p) => p.id.startsWith('ArchiveSink'));
    expect(mine.map(({ roles, statements }) => ({ roles, statements }))).toEqual(
      expect.arrayContaining([
        { roles: [roleRef(t, 'LogDispatcherRole')], statements: [{ Effect: 'Allow', Action: 's3:PutObject', Resource: { 'Fn::Join': ['', [bucketArn, '/archive/orders/*']] } }] },
        { roles: [roleRef(t, 'LogTriggersRole')], statements: [{ Effect: 'Allow', Action: 's3:ListBucket', Resource: bucketArn }] },
      ]),
    );
    expect(mine).toHaveLength(2);
    // Nothing else in the template names the user's bucket in a policy.
    expect(policiesIn(t).filter((p) => !p.id.startsWith('ArchiveSink') && JSON.stringify(p.statements).includes(logicalId(shared.bucket)))).toEqual([]);
    expect([...byName('orders-archive').resource.DependsOn].sort()).toEqual(mine.map((p) => p.id).sort());
    const imported = policiesIn(t).filter((p) => p.id.startsWith('ImportedBucket')).map((p) => resolved(p.statements[0]!.Resource));
    expect(imported.sort()).toEqual(['arn:<AWS::Partition>:s3:::their-archive', 'arn:<AWS::Partition>:s3:::their-archive/topics/*']);
  });

  it('passes cdk-nag with the sinks, their grants and Floe\'s provider added', () => {
    // The shared app's synth ran cdk-nag: an unacknowledged finding would have made it throw.
    expect(shared.synthError).toBeUndefined();
  });

  it('works across stacks: the connector and its grants live in the table\'s stack, which depends on Floe\'s alone', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'floe-conn-cdk-'));
    outdirs.push(outdir);
    const app = new App({ outdir });
    const floeStack = new Stack(app, 'FloeStack', { env });
    const log = new Floe(floeStack, 'Log', { stage: 'shared', functionCode });
    const appStack = new Stack(app, 'AppStack', { env });
    new FloeConnector(appStack, 'Sink', { floe: log, name: 'customers-to-ddb', type: 'dynamodb-sink', topics: ['customers'], table: userTable(appStack) });
    const assembly = app.synth();
    expect(appStack.dependencies.map((s) => s.stackName)).toEqual(['FloeStack']);
    expect(floeStack.dependencies).toEqual([]);
    const t = Template.fromJSON(assembly.getStackByName('AppStack').template as Record<string, unknown>);
    expect(connectorsIn(t)).toHaveLength(1);
    expect(policiesIn(t).filter((p) => p.id.startsWith('Sink'))).toHaveLength(2);
  });

  it('rejects bad settings at synth, each with a one-line error naming the setting', () => {
    const { stack, log, table, bucket } = userApp();
    let n = 0;
    const attempt = (props: Partial<FloeConnectorProps> & Record<string, unknown>) => {
      const base = { floe: log, name: `c${n++}`, topics: ['orders'] };
      const full = { ...base, ...(props.type === 's3-sink' ? { type: 's3-sink', bucket } : { type: 'dynamodb-sink', table }), ...props } as FloeConnectorProps;
      try {
        new FloeConnector(stack, `C${n}`, full);
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    };
    const cases: Array<[Partial<FloeConnectorProps> & Record<string, unknown>, RegExp]> = [
      [{ config: { 'value.mapping': 'xml' } }, /^FloeConnector: value\.mapping must be one of fields, raw, got 'xml'$/],
      [{ config: { 'delete.marker.ttl.ms': 10 } }, /^FloeConnector: delete\.marker\.ttl\.ms must be an integer from 1000 to \d+, got '10'$/],
      [{ config: { bogus: 1 } }, /^FloeConnector: unknown config 'bogus' for a dynamodb-sink; it takes table\.name, /],
      [{ config: { 'table.name': 'orders' } }, /^FloeConnector: config 'table\.name' comes from table; leave it out of config$/],
      [{ type: 's3-sink', config: { 's3.bucket.name': 'x-bucket' } }, /^FloeConnector: config 's3\.bucket\.name' comes from bucket; leave it out of config$/],
      [{ type: 's3-sink', config: { 'flush.size': 0 } }, /^FloeConnector: flush\.size must be an integer from 1 to 10000, got '0'$/],
      [{ type: 's3-sink', config: { 'path.format': 'year=yyyy' } }, /^FloeConnector: path\.format 'year=yyyy' has text outside quotes/],
      [{ type: 's3-sink', config: { 'topics.dir': '/abs' } }, /^FloeConnector: topics\.dir '\/abs' must be a key prefix/],
      [{ type: 's3-sink', config: { 'value.schema': { a: 'string' } } as never }, /^FloeConnector: value\.schema needs value\.converter=json/],
      [{ config: { 'value.attribute': Token.asString({ Ref: 'Param' }) } }, /^FloeConnector: config 'value\.attribute' must be a literal value, not a token/],
      [{ name: 'has space' }, /^FloeConnector: connector name: a connector name 'has space' is illegal/],
      [{ topics: [] }, /^FloeConnector: topics must be a list of 1 to 100 topic names$/],
      [{ topics: ['orders', 'orders'] }, /^FloeConnector: topics must not repeat a topic$/],
      [{ topics: ['no/slash'] }, /^FloeConnector: Topic name 'no\/slash' is illegal/],
      [{ errorsTolerance: 'some' as never }, /^FloeConnector: errors\.tolerance must be none or all, got "some"$/],
      [{ deadLetterTopic: 'orders' }, /^FloeConnector: the dead-letter topic must not be one of the connector's topics/],
      [{ type: 'kafka-sink' as never }, /^FloeConnector: type must be dynamodb-sink or s3-sink, got "kafka-sink"$/],
      [{ table: undefined }, /^FloeConnector: a dynamodb-sink needs table$/],
    ];
    for (const [props, message] of cases) {
      const got = attempt(props);
      expect(got, JSON.stringify(props)).toMatch(message);
      expect(got).not.toContain('\n');
    }
    // A literal table name (an imported table) is checked as the API checks it.
    expect(() => new FloeConnector(stack, 'Short', { floe: log, name: 'short', type: 'dynamodb-sink', topics: ['orders'], table: Table.fromTableName(stack, 'T', 'ab') })).toThrow(/^FloeConnector: table\.name 'ab' is not a DynamoDB table name/);
    // Valid at the limits.
    expect(attempt({ type: 's3-sink', config: { 'flush.size': 10_000, 'rotate.interval.ms': 1, 'path.format': "'year'=yyyy/'month'=MM", 'format.class': 'parquet', 'value.converter': 'json', 'value.schema': JSON.stringify({ n: 'int64' }) } })).toBe('no error');
  });
});
