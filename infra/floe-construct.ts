// Floe as one construct a user's own CDK app adds (`new Floe(this, 'Log', { stage: 'prod' })`), which
// @floe/cdk publishes: the repository stack's resources under it, each setting defaulted as the CDK app
// defaults it, and grants for the user's own functions that run the client in direct mode.
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { Function as Lambda } from 'aws-cdk-lib/aws-lambda';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import type { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FUNCTIONS, type FunctionSpec } from '../src/manifest.ts';
import { REPO_ROOT } from './floe-function.ts';
import { addFloe, manifestStatements } from './floe.ts';
import { DEFAULTS, type FloeSettings, type FloeTableName } from './floe-settings.ts';

/** FloeSettings with every field optional; the nested ones field by field. */
export type FloeProps = Partial<Omit<FloeSettings, 'schedules' | 'memory' | 'throttle'>> & {
  schedules?: Partial<FloeSettings['schedules']>;
  memory?: Partial<FloeSettings['memory']>;
  throttle?: Partial<FloeSettings['throttle']>;
};

/**
 * Where the published package keeps its prebuilt bundles: `dist/functions/`, beside the bundled
 * `dist/index.js` this module becomes. Run from source (this repository) the directory does not exist,
 * and the functions are bundled from functions/ at synth instead.
 */
const PACKAGED_BUNDLES = fileURLToPath(new URL('./functions/', import.meta.url));

const spec = (entry: FunctionSpec['entry']) => FUNCTIONS.find((f) => f.entry === entry)!;

export class Floe extends Construct {
  readonly bucket: Bucket;
  readonly tables: Record<FloeTableName, Table>;
  readonly api: HttpApi;
  readonly alarmTopic: Topic;
  /** Each function by its manifest entry: produce, fetch, admin, consumers, triggers, dispatcher, retention, compaction, gc. */
  readonly functions: Map<string, Lambda>;
  /**
   * FLOE_TOPICS_TABLE, FLOE_LOG_TABLE, ..., FLOE_BUCKET: set them on a function that uses the client in
   * direct mode, which reads them when `tables` and `bucket` are not given.
   */
  readonly environment: Record<string, string>;
  private readonly provider: () => Provider;

  constructor(scope: Construct, id: string, props: FloeProps = {}) {
    super(scope, id);
    const stage = props.stage ?? 'dev';
    if (!/^[a-z0-9-]{1,20}$/.test(stage)) throw new Error(`Floe stage must be 1-20 of [a-z0-9-], got ${stage}`);
    const settings: FloeSettings = {
      ...DEFAULTS,
      ...props,
      stage,
      schedules: { ...DEFAULTS.schedules, ...props.schedules },
      memory: { ...DEFAULTS.memory, ...props.memory },
      throttle: { ...DEFAULTS.throttle, ...props.throttle },
    };
    if (settings.functionCode === undefined) {
      if (existsSync(PACKAGED_BUNDLES)) settings.functionCode = PACKAGED_BUNDLES;
      else if (!existsSync(`${REPO_ROOT}/functions`)) throw new Error(`Floe: no prebuilt function bundles in ${PACKAGED_BUNDLES} (build @floe/cdk) and no functions/ sources to bundle`);
    }
    ({ bucket: this.bucket, tables: this.tables, api: this.api, alarmTopic: this.alarmTopic, functions: this.functions, environment: this.environment, triggerProvider: this.provider } =
      addFloe(this, settings));
  }

  /**
   * The provider of `Custom::FloeTrigger` resources, which register topic triggers with this Floe's
   * triggers function on deploy and remove them on delete; created on first use. FloeEventSource uses it.
   * @example
   * fn.addEventSource(new FloeEventSource(log, { topic: 'orders', startingPosition: StartingPosition.LATEST }));
   */
  triggerProvider(): Provider {
    return this.provider();
  }

  /**
   * Lets `grantee` produce in direct mode: what the produce function may do (src/manifest.ts), on the
   * tables and on the bucket's data/ prefix.
   * @example
   * const log = new Floe(this, 'Log', { stage: 'prod' });
   * log.grantProduce(myFunction);
   */
  grantProduce(grantee: IGrantable): Grant {
    return this.grantLike(grantee, [spec('produce')]);
  }

  /**
   * Lets `grantee` consume in direct mode, in groups or not: what the consumers function may do (group
   * state, and the reads fetch makes, including filling a dead producer's hole), and fetch's own grants.
   * @example
   * log.grantConsume(myFunction);
   */
  grantConsume(grantee: IGrantable): Grant {
    return this.grantLike(grantee, [spec('consumers'), spec('fetch')]);
  }

  /**
   * Lets `grantee` run a streams application in direct mode (FloeStreamsApp's function): produce
   * (transactions included), fetch, groups, topic admin, and the tables that hold its state.
   * @example
   * log.grantStreams(myFunction);
   */
  grantStreams(grantee: IGrantable): Grant {
    return this.grantLike(grantee, [spec('produce'), spec('consumers'), spec('fetch'), spec('admin'), spec('triggers')]);
  }

  private grantLike(grantee: IGrantable, specs: FunctionSpec[]): Grant {
    const grants = manifestStatements(specs, this.tables, this.bucket).map((s) =>
      Grant.addToPrincipal({ grantee, actions: s.actions!, resourceArns: s.resources!, ...(s.conditions ? { conditions: s.conditions } : {}) }),
    );
    return grants.reduce((all, g) => all.combine(g));
  }
}
