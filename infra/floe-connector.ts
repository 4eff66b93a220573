// A sink connector on a Floe deployment, which @floe/cdk publishes: `new FloeConnector(this, 'Orders',
// { floe: log, name, type: 'dynamodb-sink', topics, table })`, or `type: 's3-sink'` with a bucket. It
// deploys as a `Custom::FloeConnector` resource that creates the connector through Floe's triggers
// function (which serves the connectors API too), changes it on update and deletes it with the
// resource; and policies that let Floe's dispatcher write that table or bucket prefix, and the triggers
// function check it, and nothing else. The settings are checked here, at synth, with the API's own
// validation (src/connectors/config.ts), so a deploy does not fail on them.
import { CustomResource, Stack, Token, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Policy, PolicyStatement, type IRole } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { connectorRequest, type ConnectorRequest } from '../src/connectors/config.ts';
import { CONNECTOR_GRANTS } from '../src/manifest.ts';
import type { FloeTriggerHost } from './floe-event-source.ts';

export interface FloeConnectorCommonProps {
  /** The Floe deployment: the `Floe` construct, or the repository's FloeStack. */
  readonly floe: FloeTriggerHost;
  /**
   * The connector's name (and, with it, its consumer group `connect-<name>`, which holds its offsets):
   * 1 to 249 of [a-zA-Z0-9._-]. A new name replaces the connector; the old group keeps its offsets.
   */
  readonly name: string;
  /** The topics it reads, 1 to 100; they must exist when it is deployed. */
  readonly topics: readonly string[];
  /**
   * The sink's other settings, Kafka Connect style (`{ 'value.mapping': 'raw', 'flush.size': 500 }`);
   * the table or bucket name comes from `table` or `bucket`.
   * @default - the sink's defaults
   */
  readonly config?: Readonly<Record<string, string | number | boolean>>;
  /**
   * `none` stops at a bad record (the connector shows FAILED until resumed); `all` skips it, to the
   * dead-letter topic when one is named.
   * @default 'none'
   */
  readonly errorsTolerance?: 'none' | 'all';
  /**
   * Where bad records go under `errorsTolerance: 'all'` (errors.deadletterqueue.topic.name); created with the connector.
   * @default - none
   */
  readonly deadLetterTopic?: string;
}

export interface FloeDynamoDbSinkProps extends FloeConnectorCommonProps {
  readonly type: 'dynamodb-sink';
  /** The table written: one item per record key, the latest value. */
  readonly table: ITable;
}

export interface FloeS3SinkProps extends FloeConnectorCommonProps {
  readonly type: 's3-sink';
  /** The bucket written: objects under `topics.dir` (default `topics/`). */
  readonly bucket: IBucket;
}

export type FloeConnectorProps = FloeDynamoDbSinkProps | FloeS3SinkProps;

function fail(message: string): never {
  throw new Error(`FloeConnector: ${message}`);
}

/** A name the API accepts, standing in at synth for one CloudFormation resolves (a table or bucket of the app). */
const STAND_IN = { 'dynamodb-sink': 'floe-connector-table', 's3-sink': 'floe-connector-bucket' } as const;

/** A resolved template value as cdk-nag writes it in a finding's id: Fn::Join joined, Fn::GetAtt as `<Id.Attr>`, Ref as `<Id>`. */
function flattened(v: unknown): string {
  if (typeof v === 'string') return v;
  const o = v as Record<string, unknown>;
  if (o['Fn::GetAtt']) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
  if (o.Ref) return `<${String(o.Ref)}>`;
  if (o['Fn::Join']) {
    const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
    return parts.map(flattened).join(sep);
  }
  return JSON.stringify(v);
}

/**
 * A Floe sink connector: the records of `topics` written into a DynamoDB table of yours (the latest
 * value per key, exactly once by offset-conditioned writes) or an S3 bucket (JSON lines or Parquet
 * objects, exactly once by deterministic names). On deploy a `Custom::FloeConnector` resource creates
 * the connector through Floe's triggers function, later deploys change it, and deleting the resource
 * deletes it. Floe's dispatcher may write only that table (PutItem, DescribeTable) or only the bucket's
 * `topics.dir/` prefix (PutObject); the triggers function, which checks the destination when the
 * connector is created or changed, may only DescribeTable the table or HeadBucket the bucket.
 *
 * @example
 * import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
 * import { Floe, FloeConnector } from '@floe/cdk';
 *
 * const log = new Floe(this, 'Log', { stage: 'prod' });
 * const customers = new dynamodb.Table(this, 'Customers', { partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } });
 * new FloeConnector(this, 'CustomersSink', { floe: log, name: 'customers-to-ddb', type: 'dynamodb-sink', topics: ['customers'], table: customers, config: { 'key.attribute': 'id' } });
 */
export class FloeConnector extends Construct {
  /** The connector's name, as the API and the CLI know it. */
  readonly connectorName: string;
  /** Its settings with every default filled in, as the API shows them (the table or bucket name a token until deploy). */
  readonly config: Record<string, string>;

  constructor(scope: Construct, id: string, props: FloeConnectorProps) {
    super(scope, id);
    const dispatcher = props.floe.functions.get(CONNECTOR_GRANTS.functions.writer)?.role;
    const api = props.floe.functions.get(CONNECTOR_GRANTS.functions.checker)?.role;
    if (!dispatcher || !api) fail('the Floe deployment has no dispatcher and triggers functions with roles; pass the Floe construct (or FloeStack)');
    const nameKey = props.type === 'dynamodb-sink' ? 'table.name' : props.type === 's3-sink' ? 's3.bucket.name' : fail(`type must be dynamodb-sink or s3-sink, got ${JSON.stringify((props as { type: unknown }).type)}`);
    const destination = props.type === 'dynamodb-sink' ? props.table?.tableName : props.bucket?.bucketName;
    if (destination === undefined) fail(props.type === 'dynamodb-sink' ? 'a dynamodb-sink needs table' : 'an s3-sink needs bucket');
    if (Token.isUnresolved(props.name)) fail('name must be a literal connector name, not a token');
    for (const [i, t] of (props.topics ?? []).entries()) if (Token.isUnresolved(t)) fail(`topics[${i}] must be a literal topic name, not a token`);
    if (props.deadLetterTopic !== undefined && Token.isUnresolved(props.deadLetterTopic)) fail('deadLetterTopic must be a literal topic name, not a token');
    for (const [k, v] of Object.entries(props.config ?? {})) {
      if (k === nameKey) fail(`config '${nameKey}' comes from ${props.type === 'dynamodb-sink' ? 'table' : 'bucket'}; leave it out of config`);
      if (Token.isUnresolved(v)) fail(`config '${k}' must be a literal value, not a token (it is checked at synth)`);
    }

    // The API's own checks (name, topics, every sink setting, the dead-letter topic), on a stand-in for
    // a destination name CloudFormation resolves.
    let request: ConnectorRequest;
    try {
      request = connectorRequest({
        name: props.name,
        type: props.type,
        topics: [...(props.topics ?? [])],
        config: { ...props.config, [nameKey]: Token.isUnresolved(destination) ? STAND_IN[props.type] : destination },
        'errors.tolerance': props.errorsTolerance ?? 'none',
        'errors.deadletterqueue.topic.name': props.deadLetterTopic ?? null,
      });
    } catch (e) {
      fail((e as Error).message);
    }
    const { spec, topics } = request;
    this.connectorName = spec.name;
    this.config = { ...spec.config, [nameKey]: destination };

    const { writer, checker } = props.type === 'dynamodb-sink' ? this.tableAccess(props.table, dispatcher, api) : this.bucketAccess(props.bucket, spec.config['topics.dir']!, dispatcher, api);
    // Every setting written out: an update replaces the connector's settings, and one left out would go
    // back to its default there as here.
    const connector = new CustomResource(this, 'Resource', {
      serviceToken: props.floe.triggerProvider().serviceToken,
      resourceType: 'Custom::FloeConnector',
      properties: {
        Settings: Stack.of(this).toJsonString({
          name: spec.name,
          type: spec.type,
          topics,
          config: this.config,
          'errors.tolerance': spec.tolerance,
          'errors.deadletterqueue.topic.name': spec.deadLetterTopic,
        }),
      },
    });
    // The destination is checked on create, and written from then on: the grants come first, and go last.
    connector.node.addDependency(writer, checker);
  }

  private tableAccess(table: ITable, dispatcher: IRole, api: IRole): { writer: Policy; checker: Policy } {
    // DescribeTable: the sink reads the table's keys before it writes (and the API checks them against the settings).
    const writer = new Policy(this, 'DispatcherAccess', {
      roles: [dispatcher],
      statements: [new PolicyStatement({ actions: [...CONNECTOR_GRANTS['dynamodb-sink'].writer], resources: [table.tableArn] })],
    });
    const checker = new Policy(this, 'ApiAccess', {
      roles: [api],
      statements: [new PolicyStatement({ actions: [...CONNECTOR_GRANTS['dynamodb-sink'].checker], resources: [table.tableArn] })],
    });
    return { writer, checker };
  }

  private bucketAccess(bucket: IBucket, dir: string, dispatcher: IRole, api: IRole): { writer: Policy; checker: Policy } {
    const objects = bucket.arnForObjects(`${dir}/*`);
    // Only PUTs (If-None-Match: a replay's object is refused, never replaced): no reads, no deletes, no listing.
    const writer = new Policy(this, 'DispatcherAccess', {
      roles: [dispatcher],
      statements: [new PolicyStatement({ actions: [...CONNECTOR_GRANTS['s3-sink'].writer], resources: [objects] })],
    });
    // HeadBucket is authorized as s3:ListBucket.
    const checker = new Policy(this, 'ApiAccess', {
      roles: [api],
      statements: [new PolicyStatement({ actions: [...CONNECTOR_GRANTS['s3-sink'].checker], resources: [bucket.bucketArn] })],
    });
    // Object names are made per record range, so no narrower resource exists. A bucket of another stack
    // reaches this one as an import, whose finding the user acknowledges.
    if (Stack.of(bucket) === Stack.of(this)) {
      Validations.of(writer).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${flattened(Stack.of(this).resolve(objects))}]`,
        reason: `The S3 sink writes objects named per record range under ${dir}/ of this one bucket: no narrower resource exists.`,
      });
    }
    return { writer, checker };
  }
}
