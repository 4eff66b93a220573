// A Floe topic as a Lambda event source, which @floe/cdk publishes: `fn.addEventSource(new
// FloeEventSource(log, { topic, startingPosition }))`, with the settings of Lambda's own stream event
// sources. It deploys as a `Custom::FloeTrigger` resource that creates the trigger through Floe's
// triggers function (and changes it on update, deletes it with the resource), and a policy that lets
// Floe's dispatcher invoke that one function. Settings are checked here, at synth, with the limits the
// trigger API enforces (src/model/trigger.ts), so a deploy does not fail on them.
import { CustomResource, Stack, Token, type Duration } from 'aws-cdk-lib';
import { Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { StartingPosition, type IEventSource, type IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { createHash } from 'node:crypto';
import { TRIGGER_LIMITS } from '../src/model/trigger.ts';
import { compileFilters } from '../src/triggers/filters.ts';
import { validateTopicName } from '../src/topics/names.ts';
import { DISPATCHER_TIMEOUT } from './floe-triggers.ts';

/** What FloeEventSource needs of a Floe deployment: the `Floe` construct, or the repository's FloeStack. */
export interface FloeTriggerHost {
  /** Floe's functions by manifest entry; the `dispatcher` function's role is granted the invocations. */
  readonly functions: ReadonlyMap<string, IFunction>;
  /** The provider of the trigger resources. */
  triggerProvider(): Provider;
}

export interface FloeEventSourceProps {
  /** The topic whose records the function receives (or give `topics`). */
  readonly topic?: string;
  /** Several topics read by one trigger (each partition its own lane), instead of `topic`. */
  readonly topics?: readonly string[];
  /** Where a new trigger starts in each partition; a partition added later starts at its log start. */
  readonly startingPosition: StartingPosition;
  /** With `AT_TIMESTAMP`: the time to start from, in Unix time seconds (as Lambda's stream event sources take it). */
  readonly startingPositionTimestamp?: number;
  /**
   * Most records in one event, 1 to 10,000.
   * @default 100
   */
  readonly batchSize?: number;
  /**
   * Longest wait for a batch to fill, up to 5 minutes.
   * @default Duration.millis(500)
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * Lambda event filtering (`lambda.FilterCriteria.filter({ value: { ... } })`), at most 5, matched on
   * the record's `value` and `key`; a record is delivered when any filter matches.
   * @default - every record
   */
  readonly filters?: Array<{ [key: string]: any }>;
  /**
   * Retries of a failing batch (or record, once bisected) before it goes to the dead-letter topic, 0 to 10,000.
   * @default 3
   */
  readonly retryAttempts?: number;
  /**
   * Records older than this are not retried but sent to the dead-letter topic; at least 1 second.
   * @default - no limit
   */
  readonly maxRecordAge?: Duration;
  /**
   * Split a failing batch in two (again and again) until the failing record is alone.
   * @default true (Floe's trigger default; Lambda's own stream sources default to false)
   */
  readonly bisectBatchOnError?: boolean;
  /**
   * The topic that records go to once their retries are spent; created with the trigger.
   * @default - `<triggerName>.dlq`
   */
  readonly deadLetterTopic?: string;
  /**
   * Events in flight at once per partition, 1 to 100, each holding the records of some keys: a key's
   * records stay in order. Without it, one event per partition at a time.
   * @default - one at a time
   */
  readonly parallelism?: number;
  /**
   * Whether the trigger delivers; a disabled trigger keeps its position.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * The trigger's name (and, with it, its consumer group `trigger.<name>`, which holds its position):
   * 1 to 200 of [a-zA-Z0-9._-]. Changing it replaces the trigger, which starts again at `startingPosition`.
   * @default - from the function's construct path and the topic
   */
  readonly triggerName?: string;
  /**
   * How long one invocation may take before the dispatcher counts it failed (and retries it), at most 4
   * minutes: the dispatcher runs for 5 minutes at most.
   * @default Duration.seconds(30)
   */
  readonly invocationTimeout?: Duration;
}

const MAX_NAME = 200;
const NAME = /^[a-zA-Z0-9._-]{1,200}$/;
/** An invocation must end within the dispatcher's own run, less the time it keeps for its last commit. */
const MAX_INVOCATION_MS = DISPATCHER_TIMEOUT.toMilliseconds() - 60_000;

function fail(message: string): never {
  throw new Error(`FloeEventSource: ${message}`);
}

/** Checks a literal integer (a token is left to the trigger API to check on deploy). */
function checkInt(name: string, v: number | undefined, min: number, max: number): void {
  if (v === undefined || Token.isUnresolved(v)) return;
  if (!Number.isInteger(v) || v < min || v > max) fail(`${name} must be an integer from ${min} to ${max}, got ${v}`);
}

function checkTopic(name: string, topic: string): void {
  if (Token.isUnresolved(topic)) fail(`${name} must be a literal topic name, not a token`);
  try {
    validateTopicName(topic);
  } catch (e) {
    fail(`${name}: ${(e as Error).message}`);
  }
}

/** A trigger name from the function's path and the topic, shortened (and kept unique by a hash) past 200 characters. */
export function defaultTriggerName(path: string, topic: string): string {
  const name = `${path}.${topic}`.replace(/[^a-zA-Z0-9._-]+/g, '-');
  if (name.length <= MAX_NAME) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  // The end names the function and the topic: it is what is kept.
  return `${hash}-${name.slice(name.length - (MAX_NAME - hash.length - 1))}`;
}

/**
 * A Floe topic as the event source of a Lambda function: records are delivered in batches as an
 * Amazon MSK event source delivers them (the same event, partial batch responses, filters, retries,
 * bisecting, and a dead-letter topic), by Floe's trigger dispatcher. On deploy a `Custom::FloeTrigger`
 * resource creates the trigger through Floe's triggers function, later deploys change it, and deleting
 * the resource deletes the trigger; Floe's dispatcher is allowed to invoke this function only.
 *
 * @example
 * import { Duration } from 'aws-cdk-lib';
 * import * as lambda from 'aws-cdk-lib/aws-lambda';
 * import { Floe, FloeEventSource } from '@floe/cdk';
 *
 * const log = new Floe(this, 'Log', { stage: 'prod' });
 * const fn = new lambda.Function(this, 'OnOrder', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromAsset('dist/on-order') });
 * fn.addEventSource(
 *   new FloeEventSource(log, {
 *     topic: 'orders',
 *     startingPosition: lambda.StartingPosition.TRIM_HORIZON,
 *     batchSize: 50,
 *     maxBatchingWindow: Duration.seconds(1),
 *     filters: [lambda.FilterCriteria.filter({ value: { status: lambda.FilterRule.isEqual('paid') } })],
 *     retryAttempts: 2,
 *   }),
 * );
 */
export class FloeEventSource implements IEventSource {
  private name: string | undefined;
  private readonly topics: string[];

  constructor(
    private readonly floe: FloeTriggerHost,
    private readonly props: FloeEventSourceProps,
  ) {
    if ((props.topic === undefined) === (props.topics === undefined)) fail('give topic or topics (one of them)');
    this.topics = props.topic !== undefined ? [props.topic] : [...props.topics!];
    if (this.topics.length === 0 || this.topics.length > 100) fail('topics must hold 1 to 100 topic names');
    for (const [i, t] of this.topics.entries()) checkTopic(props.topic !== undefined ? 'topic' : `topics[${i}]`, t);
    if (props.deadLetterTopic !== undefined) {
      checkTopic('deadLetterTopic', props.deadLetterTopic);
      if (this.topics.includes(props.deadLetterTopic)) fail(`deadLetterTopic '${props.deadLetterTopic}' is a topic the trigger reads`);
    }
    if (!Object.values(StartingPosition).includes(props.startingPosition)) fail(`startingPosition must be LATEST, TRIM_HORIZON or AT_TIMESTAMP, got ${String(props.startingPosition)}`);
    const ts = props.startingPositionTimestamp;
    if (props.startingPosition === StartingPosition.AT_TIMESTAMP) {
      if (ts === undefined) fail('startingPosition AT_TIMESTAMP needs startingPositionTimestamp (Unix time in seconds)');
      if (Token.isUnresolved(ts) || !(Number.isFinite(ts) && ts >= 0)) fail(`startingPositionTimestamp must be Unix time in seconds, got ${ts}`);
    } else if (ts !== undefined) {
      fail('startingPositionTimestamp goes with startingPosition AT_TIMESTAMP');
    }
    checkInt('batchSize', props.batchSize, 1, TRIGGER_LIMITS.batchSize.max);
    checkInt('maxBatchingWindow (ms)', props.maxBatchingWindow?.toMilliseconds(), 0, TRIGGER_LIMITS.maxBatchingWindowMs.max);
    checkInt('retryAttempts', props.retryAttempts, 0, TRIGGER_LIMITS.retryAttempts.max);
    checkInt('parallelism', props.parallelism, 1, TRIGGER_LIMITS.parallelism.max);
    checkInt('maxRecordAge (ms)', props.maxRecordAge?.toMilliseconds(), 1000, 8.64e15);
    checkInt('invocationTimeout (ms)', props.invocationTimeout?.toMilliseconds(), 1, Math.min(MAX_INVOCATION_MS, TRIGGER_LIMITS.timeoutMs.max));
    if (props.filters !== undefined) {
      for (const [i, f] of props.filters.entries()) {
        if (typeof f?.pattern !== 'string') fail(`filters[${i}] must be what lambda.FilterCriteria.filter() returns, { pattern: '<JSON>' }`);
      }
      try {
        compileFilters(props.filters);
      } catch (e) {
        fail((e as Error).message);
      }
    }
    if (props.triggerName !== undefined && !NAME.test(props.triggerName)) fail(`triggerName must be 1 to 200 characters of [a-zA-Z0-9._-], got ${JSON.stringify(props.triggerName)}`);
  }

  /** The trigger's name; known once the event source is added to a function. */
  get triggerName(): string {
    if (this.name === undefined) fail('triggerName is known once the event source is added to a function (fn.addEventSource)');
    return this.name;
  }

  bind(target: IFunction): void {
    if (!Construct.isConstruct(target)) fail('the target function must be a construct');
    const role = this.floe.functions.get('dispatcher')?.role;
    if (!role) fail("the Floe deployment has no dispatcher function with a role; pass the Floe construct (or FloeStack)");
    const name = this.props.triggerName ?? defaultTriggerName(target.node.path, this.topics.join('+'));
    if (this.topics.includes(this.props.deadLetterTopic ?? `${name}.dlq`)) fail(`the dead-letter topic of trigger '${name}' is a topic it reads`);
    const id = `FloeEventSource:${name}`;
    if (target.node.tryFindChild(id)) fail(`${target.node.path} already has trigger '${name}'; give each event source of one topic its own triggerName`);
    // In the function's scope: created, changed and deleted with the resource that registers the trigger,
    // and with no reference from Floe's stack to the user's (which would make stacks depend on each other).
    const invoke = new Policy(target, `${id}:Invoke`, {
      roles: [role],
      statements: [new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [target.functionArn] })],
    });
    const trigger = new CustomResource(target, id, {
      serviceToken: this.floe.triggerProvider().serviceToken,
      resourceType: 'Custom::FloeTrigger',
      properties: { Settings: Stack.of(target).toJsonString(this.settings(name, target.functionArn)) },
    });
    // The dispatcher may invoke the function by the time the trigger exists.
    trigger.node.addDependency(invoke);
    this.name = name;
  }

  /**
   * The trigger API's create body. Every setting is written out, defaults included: an update of the
   * resource patches the trigger, and a setting left out of a patch would keep its old value.
   */
  private settings(name: string, functionArn: string): Record<string, unknown> {
    const p = this.props;
    return {
      name,
      ...(p.topic !== undefined ? { topic: p.topic } : { topics: this.topics }),
      target: { type: 'lambda', function: functionArn, timeout_ms: p.invocationTimeout?.toMilliseconds() ?? TRIGGER_LIMITS.timeoutMs.default },
      starting_position: p.startingPosition,
      ...(p.startingPosition === StartingPosition.AT_TIMESTAMP ? { starting_timestamp: Math.round(p.startingPositionTimestamp! * 1000) } : {}),
      batch_size: p.batchSize ?? TRIGGER_LIMITS.batchSize.default,
      max_batching_window_ms: p.maxBatchingWindow?.toMilliseconds() ?? TRIGGER_LIMITS.maxBatchingWindowMs.default,
      filters: (p.filters ?? []).map((f) => ({ pattern: f.pattern as string })),
      retry_attempts: p.retryAttempts ?? TRIGGER_LIMITS.retryAttempts.default,
      maximum_record_age_ms: p.maxRecordAge?.toMilliseconds() ?? -1,
      bisect_on_error: p.bisectBatchOnError ?? true,
      dead_letter_topic: p.deadLetterTopic ?? `${name}.dlq`,
      parallelism: p.parallelism === undefined ? null : { by: 'key', max: p.parallelism },
      enabled: p.enabled ?? true,
    };
  }
}
