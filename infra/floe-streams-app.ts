// A streams application on a Floe deployment, which @floe/cdk publishes: one Lambda function (the
// app's module, whose `handler` export is `streamsHandler(topology, ...)`) invoked by one topic trigger
// per sub-topology, plus a schedule that punctuates tasks closing windows by the clock, and the grants
// the handler needs to run Floe in direct mode (produce, fetch, groups, transactions, topics, tables).
import { Duration } from 'aws-cdk-lib';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Architecture, Runtime, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import type { CompiledTopology } from '../packages/streams/src/task.ts';
import type { Floe } from './floe-construct.ts';
import { FloeEventSource } from './floe-event-source.ts';

export interface FloeStreamsAppProps {
  /** The app's module: it exports `handler` (`streamsHandler(topology, { applicationId })`). */
  readonly entry: string;
  /** The same topology the module builds (import it in the CDK app): its sub-topologies become triggers. */
  readonly topology: CompiledTopology | { compiled(): CompiledTopology };
  /** Kafka's application.id: names the group, the transactional ids, the internal topics and the tables. */
  readonly applicationId: string;
  /**
   * Records in one invocation per partition, 1 to 10,000.
   * @default 1000
   */
  readonly batchSize?: number;
  /** @default 1024 */
  readonly memorySize?: number;
  /**
   * How long one invocation may take (at most 4 minutes, the dispatcher's bound).
   * @default Duration.minutes(1)
   */
  readonly timeout?: Duration;
  /**
   * How often tasks that close windows by the clock are punctuated (when the topology has any).
   * @default Duration.minutes(1)
   */
  readonly tickInterval?: Duration;
}

/**
 * A Kafka Streams-style application run by Floe's triggers.
 *
 * @example
 * import { Floe, FloeStreamsApp } from '@floe/cdk';
 * import { topology, applicationId } from '../src/app.ts';
 *
 * const log = new Floe(this, 'Log', { stage: 'prod' });
 * new FloeStreamsApp(log, 'orders-app', { entry: 'src/app.ts', topology, applicationId });
 */
export class FloeStreamsApp extends Construct {
  readonly function: NodejsFunction;
  readonly triggerNames: string[] = [];

  constructor(floe: Floe, id: string, props: FloeStreamsAppProps) {
    super(floe, id);
    if (!/^[a-zA-Z0-9._-]{1,120}$/.test(props.applicationId)) throw new Error(`FloeStreamsApp: applicationId must be 1 to 120 characters of [a-zA-Z0-9._-], got ${JSON.stringify(props.applicationId)}`);
    const compiled = 'createTask' in props.topology ? props.topology : props.topology.compiled();
    const timeout = props.timeout ?? Duration.minutes(1);
    if (timeout.toSeconds() > 240) throw new Error('FloeStreamsApp: timeout must be at most 4 minutes (an invocation ends within the dispatcher run)');
    this.function = new NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      timeout,
      environment: { ...floe.environment },
      bundling: { format: OutputFormat.ESM, target: 'node22', mainFields: ['module', 'main'], banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
    });
    floe.grantStreams(this.function);
    const name = (t: { name: string; internal: boolean }) => (t.internal ? `${props.applicationId}-${t.name}` : t.name);
    for (const sub of compiled.subtopologies) {
      const triggerName = `${props.applicationId}-subtopology-${sub.id}`;
      this.function.addEventSource(
        new FloeEventSource(floe, {
          topics: sub.sources.map(name),
          startingPosition: StartingPosition.TRIM_HORIZON,
          batchSize: props.batchSize ?? 1000,
          maxBatchingWindow: Duration.millis(100),
          // A streams batch is retried in place: a dead letter would skip input.
          retryAttempts: 10_000,
          bisectBatchOnError: false,
          triggerName,
          invocationTimeout: timeout,
        }),
      );
      this.triggerNames.push(triggerName);
    }
    if (compiled.subtopologies.some((s) => s.punctuates)) {
      new Rule(this, 'Tick', {
        schedule: Schedule.rate(props.tickInterval ?? Duration.minutes(1)),
        targets: [new LambdaFunction(this.function, { event: RuleTargetInput.fromObject({ 'floe-streams': 'tick' }) })],
      });
    }
  }
}
