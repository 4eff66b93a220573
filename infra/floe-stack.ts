// Floe in an AWS account: the data bucket, the five tables, one function per role with only the
// permissions that role uses, the HTTP API, the job schedules, alarms and a dashboard.
import { CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { HttpApi, HttpMethod, HttpRoute, HttpRouteKey, HttpStage, LogGroupLogDestination, type IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Alarm, ComparisonOperator, Dashboard, GraphWidget, MathExpression, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { FunctionUrlAuthType } from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, CfnBucket, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { DATA_PREFIX } from '../src/storage/keys.ts';
import { KEYS, LOG_TIME_INDEX, TTL_ATTRIBUTE, type TableName } from '../src/storage/schema.ts';
import { FloeFunction } from './floe-function.ts';
import { FUNCTIONS, S3_ACTIONS, tableActions } from './functions.ts';

export { FUNCTIONS } from './functions.ts';

export type AuthMode = 'iam' | 'jwt';

export interface FloeStackProps extends StackProps {
  stage: string;
  /** retain (default): bucket and tables outlive the stack; destroy: for development stacks only. */
  dataOnDelete: 'retain' | 'destroy';
  auth: AuthMode;
  jwtIssuer?: string;
  jwtAudience?: string[];
  schedules: { retentionMinutes: number; compactionMinutes: number; gcMinutes: number };
  memory: { httpMb: number; jobsMb: number };
  throttle: { rateLimit: number; burstLimit: number };
  logRetention: RetentionDays;
  /**
   * Also give the produce function a Function URL (IAM-authorized): large produces then skip API
   * Gateway, its per-512-KB request charge and its 30 s limit, but also its throttling, access logs and
   * JWT option. Off by default.
   */
  produceUrl: boolean;
}

export class FloeStack extends Stack {
  readonly functions = new Map<string, NodejsFunction>();
  readonly tables = {} as Record<TableName, Table>;
  readonly bucket: Bucket;
  readonly api: HttpApi;

  constructor(scope: Construct, id: string, props: FloeStackProps) {
    super(scope, id, props);
    const removal = props.dataOnDelete === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    const accessLogs = new Bucket(this, 'AccessLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(90), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      removalPolicy: removal,
      autoDeleteObjects: removal === RemovalPolicy.DESTROY,
    });
    this.bucket = new Bucket(this, 'Data', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: false, // objects are immutable and deleted only by GC: versions would keep garbage forever
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'data-bucket/',
      lifecycleRules: [{ abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      removalPolicy: removal,
      autoDeleteObjects: removal === RemovalPolicy.DESTROY,
    });

    const table = (name: TableName, partition: string, sort?: { name: string; type: AttributeType }) =>
      new Table(this, `${name[0]!.toUpperCase()}${name.slice(1)}Table`, {
        partitionKey: { name: partition, type: AttributeType.STRING },
        ...(sort ? { sortKey: sort } : {}),
        billingMode: BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: removal === RemovalPolicy.RETAIN,
        encryption: TableEncryption.AWS_MANAGED,
        removalPolicy: removal,
        ...(name in TTL_ATTRIBUTE ? { timeToLiveAttribute: TTL_ATTRIBUTE[name as keyof typeof TTL_ATTRIBUTE] } : {}),
      });
    this.tables.topics = table('topics', KEYS.topics.partition);
    this.tables.log = table('log', KEYS.log.partition, { name: KEYS.log.sort, type: AttributeType.NUMBER });
    this.tables.log.addLocalSecondaryIndex({ indexName: LOG_TIME_INDEX.name, sortKey: { name: LOG_TIME_INDEX.sort, type: AttributeType.STRING }, projectionType: ProjectionType.KEYS_ONLY });
    this.tables.objects = table('objects', KEYS.objects.partition);
    this.tables.producers = table('producers', KEYS.producers.partition, { name: KEYS.producers.sort, type: AttributeType.NUMBER });
    this.tables.groups = table('groups', KEYS.groups.partition, { name: KEYS.groups.sort, type: AttributeType.STRING });

    // The same variable names the local runtime reads (src/config.ts).
    const environment = {
      FLOE_TOPICS_TABLE: this.tables.topics.tableName,
      FLOE_LOG_TABLE: this.tables.log.tableName,
      FLOE_OBJECTS_TABLE: this.tables.objects.tableName,
      FLOE_PRODUCERS_TABLE: this.tables.producers.tableName,
      FLOE_GROUPS_TABLE: this.tables.groups.tableName,
      FLOE_BUCKET: this.bucket.bucketName,
    };

    const authorizer: IHttpRouteAuthorizer =
      props.auth === 'jwt'
        ? new HttpJwtAuthorizer('Jwt', props.jwtIssuer ?? '', { jwtAudience: props.jwtAudience ?? [] })
        : new HttpIamAuthorizer();
    this.api = new HttpApi(this, 'Api', { apiName: `floe-${props.stage}`, createDefaultStage: false, defaultAuthorizer: authorizer });
    const apiLogs = new LogGroup(this, 'ApiAccessLogs', { retention: props.logRetention, removalPolicy: removal });
    new HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: { destination: new LogGroupLogDestination(apiLogs) },
    });

    for (const spec of FUNCTIONS) {
      const f = new FloeFunction(this, `${spec.entry[0]!.toUpperCase()}${spec.entry.slice(1)}`, {
        entry: spec.entry,
        memoryMb: spec.http ? props.memory.httpMb : props.memory.jobsMb,
        // API Gateway waits at most 30 s; a job may take a Lambda's full 15 minutes.
        timeout: spec.http ? Duration.seconds(29) : Duration.minutes(15),
        environment,
        logRetention: props.logRetention,
        removalPolicy: removal,
        serviceName: `floe-${spec.entry}`,
      });
      this.functions.set(spec.entry, f.fn);
      for (const name of Object.keys(spec.tables) as TableName[]) {
        const t = this.tables[name];
        f.fn.addToRolePolicy(
          new PolicyStatement({
            actions: tableActions(spec, name),
            resources: name === 'log' ? [t.tableArn, `${t.tableArn}/index/${LOG_TIME_INDEX.name}`] : [t.tableArn],
          }),
        );
      }
      const objects = this.bucket.arnForObjects(`${DATA_PREFIX}*`);
      const objectActions = spec.s3.filter((a) => a !== 'list').map((a) => S3_ACTIONS[a]);
      if (objectActions.length > 0) f.fn.addToRolePolicy(new PolicyStatement({ actions: objectActions, resources: [objects] }));
      if (spec.s3.includes('list')) {
        f.fn.addToRolePolicy(new PolicyStatement({ actions: [S3_ACTIONS.list], resources: [this.bucket.bucketArn], conditions: { StringLike: { 's3:prefix': [`${DATA_PREFIX}*`] } } }));
      }
      const integration = new HttpLambdaIntegration(`${spec.entry}-integration`, f.fn);
      for (const [method, path] of spec.routes ?? []) {
        this.api.addRoutes({ path, methods: [HttpMethod[method]], integration });
      }
      if (spec.defaultRoute) {
        new HttpRoute(this, 'DefaultRoute', { httpApi: this.api, routeKey: HttpRouteKey.DEFAULT, integration, authorizer });
      }
      if (spec.schedule) {
        new Rule(this, `${spec.entry}Schedule`, { schedule: Schedule.rate(Duration.minutes(props.schedules[spec.schedule])), targets: [new LambdaFunction(f.fn, { retryAttempts: 0 })] });
      }
      new Alarm(this, `${spec.entry}Errors`, {
        metric: f.fn.metricErrors({ period: Duration.minutes(5) }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `floe-${spec.entry} failed invocations`,
      });
      new Alarm(this, `${spec.entry}Throttles`, {
        metric: f.fn.metricThrottles({ period: Duration.minutes(5) }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `floe-${spec.entry} throttled invocations`,
      });
    }

    for (const [name, t] of Object.entries(this.tables)) {
      new Alarm(this, `${name}TableThrottles`, {
        metric: new MathExpression({
          expression: 'r + w',
          usingMetrics: { r: t.metric('ReadThrottleEvents', { statistic: 'Sum', period: Duration.minutes(5) }), w: t.metric('WriteThrottleEvents', { statistic: 'Sum', period: Duration.minutes(5) }) },
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `DynamoDB throttling on the ${name} table`,
      });
    }
    // Commit conflicts are expected under contention and retried; a sustained rate means hot partitions.
    new Alarm(this, 'LogTableTransactionConflicts', {
      metric: this.tables.log.metric('TransactionConflict', { statistic: 'Sum', period: Duration.minutes(5) }),
      threshold: 1000,
      evaluationPeriods: 3,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: 'Sustained transaction conflicts on the log table: producers contend for the same partitions',
    });

    const produce = this.functions.get('produce')!;
    const fetch = this.functions.get('fetch')!;
    new Dashboard(this, 'Dashboard', {
      dashboardName: `floe-${props.stage}`,
      widgets: [
        [
          new GraphWidget({ title: 'Produce and fetch requests', left: [produce.metricInvocations(), fetch.metricInvocations()] }),
          new GraphWidget({ title: 'Latency p50 / p99 (ms)', left: [produce.metricDuration({ statistic: 'p50' }), produce.metricDuration({ statistic: 'p99' }), fetch.metricDuration({ statistic: 'p50' }), fetch.metricDuration({ statistic: 'p99' })] }),
        ],
        [
          new GraphWidget({ title: 'Commit retries and conflicts', left: [new Metric({ namespace: 'Floe', metricName: 'CommitRetries', dimensionsMap: { service: 'floe-produce' }, statistic: 'Sum' }), this.tables.log.metric('TransactionConflict', { statistic: 'Sum' })] }),
          new GraphWidget({ title: 'Consumer lag (records)', left: [new Metric({ namespace: 'Floe', metricName: 'ConsumerLag', dimensionsMap: { service: 'floe-consumers' }, statistic: 'Maximum' })] }),
        ],
      ],
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint });
    if (props.produceUrl) {
      const url = this.functions.get('produce')!.addFunctionUrl({ authType: FunctionUrlAuthType.AWS_IAM });
      new CfnOutput(this, 'ProduceUrl', { value: url.url });
    }
    new CfnOutput(this, 'BucketName', { value: this.bucket.bucketName });
    for (const [name, t] of Object.entries(this.tables)) new CfnOutput(this, `${name}Table`, { value: t.tableName });

    // cdk-nag (AwsSolutions): each acknowledged finding with its reason.
    Validations.of(accessLogs).acknowledge({ id: 'AwsSolutions-S1', reason: 'This is the access log bucket of the data bucket; logging it into itself would loop.' });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords) has no resource-level permissions; it is the only statement on *.',
    });
    const dataLogicalId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnBucket);
    Validations.of(this).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${dataLogicalId}.Arn>/${DATA_PREFIX}*]`,
      reason: 'Object actions are granted on the data/ prefix of the one data bucket: object keys are generated per request, so no narrower resource exists.',
    });
  }
}
