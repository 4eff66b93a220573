// Floe's resources, added to any scope: the data bucket, the eight tables, one function per role with
// only the permissions that role uses, the HTTP API, the job schedules, the trigger dispatcher's stream
// wake-ups (floe-triggers.ts), alarms that notify a topic, and a dashboard. The repository's FloeStack
// adds them to itself (so its logical IDs are the stack's own); the `Floe` construct, which @floe/cdk
// publishes, adds them under itself in a user's stack.
import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, HttpRoute, HttpRouteKey, HttpStage, LogGroupLogDestination, type IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Alarm, ComparisonOperator, Dashboard, GraphWidget, MathExpression, Metric, TreatMissingData, type AlarmProps } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { AttributeType, BillingMode, ProjectionType, StreamViewType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, ServicePrincipal, type PolicyStatementProps } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { FunctionUrlAuthType, type Function as Lambda } from 'aws-cdk-lib/aws-lambda';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, CfnBucket, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Provider } from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import { join } from 'node:path';
import { DATA_PREFIX } from '../src/storage/keys.ts';
import { FUNCTIONS, S3_ACTIONS, tableActions, type FunctionSpec } from '../src/manifest.ts';
import { KEYS, LOG_TIME_INDEX, TTL_ATTRIBUTE, TXN_DUE_INDEX, type TableName } from '../src/storage/schema.ts';
import { checkPrebuiltConsole, consoleBuildCommands, grantConsoleMetrics } from './floe-console.ts';
import { FloeFunction } from './floe-function.ts';
import type { FloeSettings, FloeTableName } from './floe-settings.ts';
import { createTriggerProvider, DISPATCHER_CONCURRENCY, DISPATCHER_TIMEOUT, wakeOnPartitionHeads } from './floe-triggers.ts';

export { DEFAULTS, type FloeAuth, type FloeSettings, type FloeTableName } from './floe-settings.ts';

// The construct's public types name the tables without the schema module (and the AWS SDK types it
// imports): the two lists must stay the same.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const sameTables: Same<FloeTableName, TableName> = true;
void sameTables;

/** The HTTP functions' timeout: API Gateway waits at most 30 s for an integration. */
const HTTP_TIMEOUT = Duration.seconds(29);

/** What addFloe created, for the stack's and the construct's public fields. */
export interface FloeResources {
  bucket: Bucket;
  tables: Record<TableName, Table>;
  api: HttpApi;
  alarmTopic: Topic;
  /** Each function by its manifest entry: produce, fetch, admin, consumers, triggers, dispatcher, retention, compaction, gc. */
  functions: Map<string, Lambda>;
  /** The variables that name the tables and the bucket (src/config.ts reads them; so does direct mode). */
  environment: Record<string, string>;
  /** The provider of FloeEventSource's `Custom::FloeTrigger` resources, created on first use (a deployment without one has none). */
  triggerProvider: () => Provider;
}

/**
 * The IAM statements that let code do what these manifest entries' functions do: per table the actions
 * `src/manifest.ts` lists (the log table's with its by-time index, the transactions table's with its
 * by-due index), object actions on the bucket's data
 * prefix, and listing only under it. Used for the functions' roles and for grantProduce/grantConsume.
 */
export function manifestStatements(specs: FunctionSpec[], tables: Record<TableName, Table>, bucket: Bucket): PolicyStatementProps[] {
  const statements: PolicyStatementProps[] = [];
  const tableNames = [...new Set(specs.flatMap((s) => Object.keys(s.tables) as TableName[]))];
  for (const name of tableNames) {
    const t = tables[name];
    const actions = [...new Set(specs.flatMap((s) => tableActions(s, name)))].sort();
    const index = name === 'log' ? LOG_TIME_INDEX.name : name === 'transactions' ? TXN_DUE_INDEX.name : undefined;
    statements.push({ actions, resources: index ? [t.tableArn, `${t.tableArn}/index/${index}`] : [t.tableArn] });
  }
  const s3 = [...new Set(specs.flatMap((s) => s.s3))];
  const objectActions = s3.filter((a) => a !== 'list').map((a) => S3_ACTIONS[a]);
  if (objectActions.length > 0) statements.push({ actions: objectActions, resources: [bucket.arnForObjects(`${DATA_PREFIX}*`)] });
  if (s3.includes('list')) {
    statements.push({ actions: [S3_ACTIONS.list], resources: [bucket.bucketArn], conditions: { StringLike: { 's3:prefix': [`${DATA_PREFIX}*`] } } });
  }
  return statements;
}

/** Adds Floe's resources to `scope` (a stack, or a construct of its own), with IDs relative to it. */
export function addFloe(scope: Construct, props: FloeSettings): FloeResources {
  const removal = props.dataOnDelete === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

  const accessLogs = new Bucket(scope, 'AccessLogs', {
    encryption: BucketEncryption.S3_MANAGED,
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
    lifecycleRules: [{ expiration: Duration.days(90), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
    removalPolicy: removal,
    autoDeleteObjects: removal === RemovalPolicy.DESTROY,
  });
  const bucket = new Bucket(scope, 'Data', {
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

  const tables = {} as Record<TableName, Table>;
  // A table a function is woken by has a stream of its keys: all the dispatcher reads of a change.
  const streamed = new Set(FUNCTIONS.flatMap((f) => (f.stream ? [f.stream] : [])));
  const table = (name: TableName, partition: string, sort?: { name: string; type: AttributeType }) =>
    new Table(scope, `${name[0]!.toUpperCase()}${name.slice(1)}Table`, {
      partitionKey: { name: partition, type: AttributeType.STRING },
      ...(sort ? { sortKey: sort } : {}),
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: removal === RemovalPolicy.RETAIN,
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: removal,
      ...(name in TTL_ATTRIBUTE ? { timeToLiveAttribute: TTL_ATTRIBUTE[name as keyof typeof TTL_ATTRIBUTE] } : {}),
      ...(streamed.has(name) ? { stream: StreamViewType.KEYS_ONLY } : {}),
    });
  tables.topics = table('topics', KEYS.topics.partition);
  tables.log = table('log', KEYS.log.partition, { name: KEYS.log.sort, type: AttributeType.NUMBER });
  tables.log.addLocalSecondaryIndex({ indexName: LOG_TIME_INDEX.name, sortKey: { name: LOG_TIME_INDEX.sort, type: AttributeType.STRING }, projectionType: ProjectionType.KEYS_ONLY });
  tables.objects = table('objects', KEYS.objects.partition);
  tables.producers = table('producers', KEYS.producers.partition, { name: KEYS.producers.sort, type: AttributeType.NUMBER });
  tables.groups = table('groups', KEYS.groups.partition, { name: KEYS.groups.sort, type: AttributeType.STRING });
  tables.transactions = table('transactions', KEYS.transactions.partition, { name: KEYS.transactions.sort, type: AttributeType.STRING });
  tables.transactions.addGlobalSecondaryIndex({
    indexName: TXN_DUE_INDEX.name,
    partitionKey: { name: TXN_DUE_INDEX.partition, type: AttributeType.STRING },
    sortKey: { name: TXN_DUE_INDEX.sort, type: AttributeType.NUMBER },
    projectionType: ProjectionType.KEYS_ONLY,
  });
  tables.triggers = table('triggers', KEYS.triggers.partition, { name: KEYS.triggers.sort, type: AttributeType.STRING });
  // Keys as bytes, so a table's keys sort byte-wise; delete markers expire by TTL_ATTRIBUTE.tables.
  tables.tables = table('tables', KEYS.tables.partition, { name: KEYS.tables.sort, type: AttributeType.BINARY });

  // The same variable names the local runtime reads (src/config.ts).
  const environment = {
    FLOE_TOPICS_TABLE: tables.topics.tableName,
    FLOE_LOG_TABLE: tables.log.tableName,
    FLOE_OBJECTS_TABLE: tables.objects.tableName,
    FLOE_PRODUCERS_TABLE: tables.producers.tableName,
    FLOE_GROUPS_TABLE: tables.groups.tableName,
    FLOE_TRANSACTIONS_TABLE: tables.transactions.tableName,
    FLOE_TRIGGERS_TABLE: tables.triggers.tableName,
    FLOE_TABLES_TABLE: tables.tables.tableName,
    FLOE_BUCKET: bucket.bucketName,
    // A Lambda instance serves one request at a time: nothing to group its produce with, only a wait.
    FLOE_GROUP_COMMIT_MS: '0',
  };
  // What the HTTP functions accept and answer, within Lambda's 6 MB invoke payload and 6 MB response:
  // a request body of 4 MiB leaves room for base64; a fetch answer of 3 MiB of keys and values stays
  // under 6 MB as JSON or base64; and a long poll ends 4 s before the function's timeout.
  const httpLimits = {
    FLOE_MAX_REQUEST_BYTES: String(4 * 1024 * 1024),
    FLOE_MAX_FETCH_BYTES: String(3 * 1024 * 1024),
    FLOE_MAX_FETCH_WAIT_MS: String(HTTP_TIMEOUT.toMilliseconds() - 4000),
  };

  // Every alarm notifies this topic, and its OK state too, so that whoever was told of a problem also
  // hears that it ended. CloudWatch cannot publish to a topic encrypted with the AWS managed key
  // (alias/aws/sns): that key's policy, which no one can change, does not let CloudWatch use it. So
  // the topic has its own key ($1 a month), which nothing outlives: messages are not kept.
  const alarmKey = new Key(scope, 'AlarmTopicKey', {
    description: `floe-${props.stage} alarm topic`,
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.DESTROY,
    pendingWindow: Duration.days(7),
  });
  alarmKey.addToResourcePolicy(
    new PolicyStatement({ principals: [new ServicePrincipal('cloudwatch.amazonaws.com')], actions: ['kms:Decrypt', 'kms:GenerateDataKey*'], resources: ['*'] }),
  );
  const alarmTopic = new Topic(scope, 'AlarmTopic', { displayName: `Floe ${props.stage} alarms`, masterKey: alarmKey, enforceSSL: true });
  // The topic's own policy (which enforceSSL creates) replaces SNS's default one: let this account's alarms publish.
  alarmTopic.addToResourcePolicy(
    new PolicyStatement({
      principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [alarmTopic.topicArn],
      conditions: { ArnLike: { 'aws:SourceArn': Stack.of(scope).formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) } },
    }),
  );
  if (props.alarmEmail) alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
  const notify = new SnsAction(alarmTopic);
  const alarm = (id: string, alarmProps: AlarmProps) => {
    const a = new Alarm(scope, id, alarmProps);
    a.addAlarmAction(notify);
    a.addOkAction(notify);
    return a;
  };

  const authorizer: IHttpRouteAuthorizer =
    props.auth.mode === 'jwt' ? new HttpJwtAuthorizer('Jwt', props.auth.issuer, { jwtAudience: props.auth.audience }) : new HttpIamAuthorizer();
  const api = new HttpApi(scope, 'Api', { apiName: `floe-${props.stage}`, createDefaultStage: false, defaultAuthorizer: authorizer });
  const apiLogs = new LogGroup(scope, 'ApiAccessLogs', { retention: props.logRetention, removalPolicy: removal });
  new HttpStage(scope, 'Stage', {
    httpApi: api,
    stageName: '$default',
    autoDeploy: true,
    // The stage's default route settings: each route gets these limits of its own.
    throttle: props.throttle,
    accessLogSettings: {
      destination: new LogGroupLogDestination(apiLogs),
      // One JSON object a request, so CloudWatch Logs Insights reads the fields without a parse pattern.
      format: AccessLogFormat.custom(
        JSON.stringify({
          requestId: '$context.requestId',
          ip: '$context.identity.sourceIp',
          requestTime: '$context.requestTime',
          httpMethod: '$context.httpMethod',
          routeKey: '$context.routeKey',
          path: '$context.path',
          status: '$context.status',
          protocol: '$context.protocol',
          responseLength: '$context.responseLength',
          integrationErrorMessage: '$context.integrationErrorMessage',
          integrationLatency: '$context.integrationLatency',
          responseLatency: '$context.responseLatency',
          errorMessage: '$context.error.message',
          authorizerError: '$context.authorizer.error',
        }),
      ),
    },
  });

  const functions = new Map<string, Lambda>();
  if (props.console && props.functionCode) checkPrebuiltConsole(props.functionCode);
  for (const spec of FUNCTIONS) {
    const f = new FloeFunction(scope, `${spec.entry[0]!.toUpperCase()}${spec.entry.slice(1)}`, {
      entry: spec.entry,
      ...(props.functionCode ? { code: join(props.functionCode, spec.entry) } : {}),
      memoryMb: spec.http ? props.memory.httpMb : props.memory.jobsMb,
      // A job may take a Lambda's full 15 minutes; the dispatcher, woken by a stream, less (floe-triggers.ts).
      timeout: spec.http ? HTTP_TIMEOUT : spec.stream ? DISPATCHER_TIMEOUT : Duration.minutes(15),
      environment: {
        ...environment,
        ...(spec.http ? httpLimits : {}),
        // The events a trigger sends name the API as their `bootstrapServers`.
        ...(spec.invokes ? { FLOE_API_URL: api.apiEndpoint } : {}),
        // The console: admin serves it; the HTTP functions write the per-topic and per-group figures it charts.
        ...(props.console && spec.http ? { FLOE_CONSOLE: 'true' } : {}),
      },
      logRetention: props.logRetention,
      removalPolicy: removal,
      serviceName: `floe-${spec.entry}`,
      tracing: props.tracing,
      // A job's next scheduled run is its retry: Lambda's own retries would only overlap it.
      ...(spec.schedule ? { asyncRetryAttempts: 0 } : {}),
      ...(spec.invokes ? { reservedConcurrency: DISPATCHER_CONCURRENCY } : {}),
      ...(props.console && spec.defaultRoute ? { afterBundling: consoleBuildCommands } : {}),
    });
    functions.set(spec.entry, f.fn);
    if (props.console && spec.defaultRoute) grantConsoleMetrics(scope, f.fn);
    for (const statement of manifestStatements([spec], tables, bucket)) f.fn.addToRolePolicy(new PolicyStatement(statement));
    const integration = new HttpLambdaIntegration(`${spec.entry}-integration`, f.fn);
    for (const [method, path] of spec.routes ?? []) {
      api.addRoutes({ path, methods: [HttpMethod[method]], integration });
    }
    if (spec.defaultRoute) {
      new HttpRoute(scope, 'DefaultRoute', { httpApi: api, routeKey: HttpRouteKey.DEFAULT, integration, authorizer });
    }
    if (spec.stream) {
      // The one stream there is: partition heads of the log table (its filter is written for their keys).
      if (spec.stream !== 'log') throw new Error(`${spec.entry}: only the log table's stream wakes a function, not ${spec.stream}'s`);
      wakeOnPartitionHeads(f.fn, tables.log);
    }
    if (spec.schedule) {
      new Rule(scope, `${spec.entry}Schedule`, { schedule: Schedule.rate(Duration.minutes(props.schedules[spec.schedule])), targets: [new LambdaFunction(f.fn, { retryAttempts: 0 })] });
    }
    alarm(`${spec.entry}Errors`, {
      metric: f.fn.metricErrors({ period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `floe-${spec.entry} failed invocations`,
    });
    alarm(`${spec.entry}Throttles`, {
      metric: f.fn.metricThrottles({ period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `floe-${spec.entry} throttled invocations`,
    });
  }

  for (const [name, t] of Object.entries(tables)) {
    alarm(`${name}TableThrottles`, {
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
  // DynamoDB counts a conflict on the table of the contested item, and every table takes part in a
  // transaction: a produce commit checks the topic and writes log, producers and objects items, a group
  // commit transacts on groups, the jobs on log and objects. So the alarm watches their sum.
  const conflicts = new MathExpression({
    expression: `SUM([${Object.keys(tables).map((name) => `FILL(${name}, 0)`).join(', ')}])`,
    usingMetrics: Object.fromEntries(Object.entries(tables).map(([name, t]) => [name, t.metric('TransactionConflict', { statistic: 'Sum', period: Duration.minutes(5) })])),
    label: 'Transaction conflicts, all tables',
  });
  alarm('TransactionConflicts', {
    metric: conflicts,
    threshold: 1000,
    evaluationPeriods: 3,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: TreatMissingData.NOT_BREACHING,
    alarmDescription: 'Sustained transaction conflicts: producers or group members contend for the same partitions or groups',
  });
  // An error the app answers as a 500 is a successful invocation to Lambda: only API Gateway counts it.
  alarm('Api5xx', {
    metric: api.metricServerError({ statistic: 'Sum', period: Duration.minutes(5) }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: TreatMissingData.NOT_BREACHING,
    alarmDescription: `floe-${props.stage} HTTP API answered 5xx`,
  });

  const produce = functions.get('produce')!;
  const fetch = functions.get('fetch')!;
  new Dashboard(scope, 'Dashboard', {
    dashboardName: `floe-${props.stage}`,
    widgets: [
      [
        new GraphWidget({ title: 'Produce and fetch requests', left: [produce.metricInvocations(), fetch.metricInvocations()] }),
        new GraphWidget({ title: 'Latency p50 / p99 (ms)', left: [produce.metricDuration({ statistic: 'p50' }), produce.metricDuration({ statistic: 'p99' }), fetch.metricDuration({ statistic: 'p50' }), fetch.metricDuration({ statistic: 'p99' })] }),
      ],
      [
        new GraphWidget({ title: 'Commit retries and conflicts', left: [new Metric({ namespace: 'Floe', metricName: 'CommitRetries', dimensionsMap: { service: 'floe-produce' }, statistic: 'Sum' }), conflicts] }),
        new GraphWidget({ title: 'Consumer lag (records)', left: [new Metric({ namespace: 'Floe', metricName: 'ConsumerLag', dimensionsMap: { service: 'floe-consumers' }, statistic: 'Maximum' })] }),
      ],
    ],
  });

  new CfnOutput(scope, 'ApiUrl', { value: api.apiEndpoint });
  if (props.produceUrl) {
    const url = functions.get('produce')!.addFunctionUrl({ authType: FunctionUrlAuthType.AWS_IAM });
    new CfnOutput(scope, 'ProduceUrl', { value: url.url });
  }
  new CfnOutput(scope, 'BucketName', { value: bucket.bucketName });
  new CfnOutput(scope, 'AccessLogBucketName', { value: accessLogs.bucketName });
  new CfnOutput(scope, 'AlarmTopicArn', { value: alarmTopic.topicArn });
  for (const [name, t] of Object.entries(tables)) new CfnOutput(scope, `${name}Table`, { value: t.tableName });

  // cdk-nag (AwsSolutions): each acknowledged finding with its reason. X-Ray's statement on `*`, with
  // tracing on, is acknowledged on each function's role policy (FloeFunction); the access-log bucket
  // needs no S1 acknowledgement, as cdk-nag recognizes the target of another bucket's access logs.
  const dataLogicalId = Stack.of(scope).getLogicalId(bucket.node.defaultChild as CfnBucket);
  Validations.of(scope).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${dataLogicalId}.Arn>/${DATA_PREFIX}*]`,
    reason: 'Object actions are granted on the data/ prefix of the one data bucket: object keys are generated per request, so no narrower resource exists.',
  });
  let provider: Provider | undefined;
  const triggerProvider = () => (provider ??= createTriggerProvider(scope, functions.get('triggers')!, { logRetention: props.logRetention, removalPolicy: removal }));
  return { bucket, tables, api, alarmTopic, functions, environment, triggerProvider };
}
