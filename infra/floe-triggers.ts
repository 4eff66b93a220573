// What topic triggers add to a deployment: the dispatcher woken by the log table's stream of partition
// heads (besides its sweep, which addFloe schedules as it schedules every job), and the custom-resource
// provider through which @floe/cdk's FloeEventSource registers a trigger with the triggers function.
import { Duration, Stack, Validations, type RemovalPolicy } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { FilterCriteria, FilterRule, StartingPosition, type CfnFunction, type Function as Lambda } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Provider } from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import { HEAD_SORT_KEY } from '../src/storage/keys.ts';
import { KEYS } from '../src/storage/schema.ts';

/**
 * The dispatcher's timeout: long enough for a lane to work through a backlog with the user's function
 * (functions/dispatcher.ts stops 15 s before it), short enough that a stream batch does not hold its
 * shard for long.
 */
export const DISPATCHER_TIMEOUT = Duration.minutes(5);

/**
 * Concurrency reserved for the dispatcher: stream wake-ups (one invocation per shard at a time) and
 * overlapping sweeps, bounded so that a burst of wake-ups cannot take the account's concurrency or
 * flood users' functions. A throttled wake-up waits in the stream; a throttled sweep, for the next one.
 */
export const DISPATCHER_CONCURRENCY = 10;

/**
 * Wakes `fn` by the log table's stream, for partition heads only (sort key -1: a head moves when records
 * are committed; index entries and checkpoints do not matter). The one reader of that stream: DynamoDB
 * Streams throttles more than two readers of a shard. A wake-up is only a hint, as the sweep finds
 * whatever one missed: a failing batch is retried twice and then skipped, and records older than a few
 * sweeps are not delivered at all, so no batch holds the stream up for long.
 */
export function wakeOnPartitionHeads(fn: Lambda, log: Table): void {
  fn.addEventSource(
    new DynamoEventSource(log, {
      startingPosition: StartingPosition.LATEST,
      batchSize: 100,
      maxBatchingWindow: Duration.seconds(1),
      retryAttempts: 2,
      maxRecordAge: Duration.minutes(5),
      bisectBatchOnError: false,
      parallelizationFactor: 1,
      filters: [FilterCriteria.filter({ dynamodb: { Keys: { [KEYS.log.sort]: { N: FilterRule.isEqual(String(HEAD_SORT_KEY)) } } } })],
    }),
  );
  Validations.of(fn.role!.node.findChild('DefaultPolicy')).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      "dynamodb:ListStreams has no resource-level permissions, and Lambda's event source mapping requires it of the dispatcher's role; it lists stream ARNs only. The stream reads (DescribeStream, GetRecords, GetShardIterator) are granted on the log table's stream alone.",
  });
}

export interface TriggerProviderProps {
  logRetention: RetentionDays;
  removalPolicy: RemovalPolicy;
}

/**
 * The provider of `Custom::FloeTrigger` resources: CDK's provider framework, whose own function calls
 * the triggers function (functions/triggers.ts answers the framework's events) and reports to
 * CloudFormation. Its role may write only its own log group and call only that function.
 */
export function createTriggerProvider(scope: Construct, handler: Lambda, props: TriggerProviderProps): Provider {
  const logGroup = new LogGroup(scope, 'TriggerProviderLogs', { retention: props.logRetention, removalPolicy: props.removalPolicy });
  const role = new Role(scope, 'TriggerProviderRole', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
  role.addToPolicy(new PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
  const provider = new Provider(scope, 'TriggerProvider', { onEventHandler: handler, frameworkOnEventRole: role, logGroup });
  const handlerId = Stack.of(scope).getLogicalId(handler.node.defaultChild as CfnFunction);
  Validations.of(role.node.findChild('DefaultPolicy')).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${handlerId}.Arn>:*]`,
    reason: "CDK's provider framework grants its function lambda:InvokeFunction on the triggers function and its versions (`:*`); that one function is all it may call.",
  });
  return provider;
}
