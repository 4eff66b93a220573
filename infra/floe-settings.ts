// The settings of a Floe deployment and their defaults: what the CDK app reads from context and the
// `Floe` construct takes as props. Apart from aws-cdk-lib this module imports nothing, so that the
// declarations @floe/cdk ships need nothing else either.
import { RetentionDays } from 'aws-cdk-lib/aws-logs';

/** IAM (SigV4) authorization, or a JWT authorizer, which API Gateway requires to name an issuer and an audience. */
export type FloeAuth = { mode: 'iam' } | { mode: 'jwt'; issuer: string; audience: string[] };

/** Floe's eight tables (src/storage/schema.ts's TableName, which infra/floe.ts checks this against). */
export type FloeTableName = 'topics' | 'log' | 'objects' | 'producers' | 'groups' | 'transactions' | 'triggers' | 'tables';

/** Every setting of a Floe deployment; the CDK app reads them from context, the `Floe` construct fills in defaults. */
export interface FloeSettings {
  stage: string;
  /** retain (default): bucket and tables outlive the stack; destroy: for development stacks only. */
  dataOnDelete: 'retain' | 'destroy';
  auth: FloeAuth;
  /** Minutes between runs of each job; `triggerSweepMinutes` is the trigger dispatcher's sweep for missed wake-ups and due retries. */
  schedules: { retentionMinutes: number; compactionMinutes: number; gcMinutes: number; triggerSweepMinutes: number };
  memory: { httpMb: number; jobsMb: number };
  throttle: { rateLimit: number; burstLimit: number };
  logRetention: RetentionDays;
  /**
   * Also give the produce function a Function URL (IAM-authorized): large produces then skip API
   * Gateway, its per-512-KB request charge and its 30 s limit, but also its throttling, access logs and
   * JWT option. Off by default.
   */
  produceUrl: boolean;
  /** X-Ray active tracing on every function; off by default (see FloeFunction). */
  tracing: boolean;
  /** An email address subscribed to the alarm topic (it must confirm the subscription). */
  alarmEmail?: string;
  /** The web console at /console/, served by the admin function behind the API's authorizer; off by default. */
  console?: boolean;
  /**
   * A directory of prebuilt function bundles, `<dir>/<entry>/index.mjs` (what @floe/cdk ships); without
   * it each function is bundled from `functions/<entry>.ts` with esbuild at synth, as in this repository.
   */
  functionCode?: string;
}

/** The defaults of every setting but the stage: the CDK app's context and the `Floe` construct share them. */
export const DEFAULTS = {
  dataOnDelete: 'retain',
  auth: { mode: 'iam' },
  schedules: { retentionMinutes: 5, compactionMinutes: 15, gcMinutes: 60, triggerSweepMinutes: 1 },
  memory: { httpMb: 1024, jobsMb: 2048 },
  throttle: { rateLimit: 1000, burstLimit: 2000 },
  logRetention: RetentionDays.ONE_MONTH,
  produceUrl: false,
  tracing: false,
} as const satisfies Omit<FloeSettings, 'stage'>;

