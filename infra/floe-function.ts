// The one place that holds Floe's Lambda defaults: Node.js 24 on arm64, ESM bundles with source maps
// built by the local esbuild (no Docker), or the same bundles prebuilt (@floe/cdk ships them), the
// WebAssembly CRC-32C, an explicit log group with a retention, Powertools settings, X-Ray active
// tracing only when asked for.
import { Validations, type Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { Architecture, Code, Function as Lambda, LoggingFormat, Runtime, Tracing, type FunctionOptions } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface FloeFunctionProps {
  /** File under functions/, without extension: an entry of src/manifest.ts (produce, fetch, ..., dispatcher, gc). */
  entry: string;
  /**
   * A directory holding this function's prebuilt bundle, `index.mjs` (and its source map), as
   * BUNDLING below describes; without it the function is bundled from functions/<entry>.ts at synth.
   */
  code?: string;
  memoryMb: number;
  timeout: Duration;
  environment: Record<string, string>;
  logRetention: RetentionDays;
  removalPolicy: RemovalPolicy;
  serviceName: string;
  /**
   * X-Ray active tracing, which the stack leaves off unless asked: the engine's SDK clients are not
   * instrumented, so traces show little beyond each invocation's duration, and at scale they cost money.
   */
  tracing: boolean;
  /** Lambda's own retries of a failed asynchronous invocation (scheduled jobs); Lambda's default is 2. */
  asyncRetryAttempts?: number;
  /** Concurrency reserved for (and limiting) the function; unreserved unless given. */
  reservedConcurrency?: number;
  /** Commands run after bundling, given the bundle's folder: more files for the function's code (the console's). */
  afterBundling?: (outputDir: string) => string[];
}

/**
 * How each function's code is bundled (ESM, from the local esbuild): by NodejsFunction at synth here, and
 * with the same esbuild options by @floe/cdk's build (packages/cdk/build.mjs), so both ship the same code.
 */
export const BUNDLING: { target: string; minify: boolean; sourceMap: boolean; mainFields: string[]; banner: string; externalModules: string[] } = {
  target: 'node24',
  minify: true,
  sourceMap: true,
  mainFields: ['module', 'main'],
  // Some dependencies are CommonJS and call require(); ESM bundles need it defined.
  banner: "import { createRequire as __floeCreateRequire } from 'module'; const require = __floeCreateRequire(import.meta.url);",
  // The runtime provides the AWS SDK v3.
  externalModules: ['@aws-sdk/*'],
};

export class FloeFunction extends Construct {
  readonly fn: Lambda;
  readonly logGroup: LogGroup;
  readonly role: Role;

  constructor(scope: Construct, id: string, props: FloeFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: props.removalPolicy });
    // Its own role, allowed to write only its own log group (not the managed basic execution policy,
    // which lets a function create and write any log group).
    this.role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    this.role.addToPolicy(new PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [this.logGroup.logGroupArn] }));
    const options: FunctionOptions & { runtime: Runtime } = {
      runtime: Runtime.NODEJS_24_X,
      role: this.role,
      architecture: Architecture.ARM_64,
      memorySize: props.memoryMb,
      timeout: props.timeout,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      tracing: props.tracing ? Tracing.ACTIVE : Tracing.DISABLED,
      ...(props.asyncRetryAttempts !== undefined ? { retryAttempts: props.asyncRetryAttempts } : {}),
      ...(props.reservedConcurrency !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrency } : {}),
      environment: {
        ...props.environment,
        NODE_OPTIONS: '--enable-source-maps',
        // The bundles carry no native CRC-32C: npm installs only the build machine's binary of
        // @node-rs/crc32, and fetching the arm64 one at synth time would need the registry, where
        // synth is otherwise offline. Stating the fallback makes every function run the same code
        // as the bundle test does, rather than whatever a failed require() leaves.
        FLOE_CRC32C: 'wasm',
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: 'Floe',
        POWERTOOLS_LOG_LEVEL: 'INFO',
      },
    };
    this.fn = props.code
      ? new Lambda(this, 'Function', { ...options, code: Code.fromAsset(props.code), handler: 'index.handler' })
      : new NodejsFunction(this, 'Function', {
          ...options,
          entry: join(REPO_ROOT, 'functions', `${props.entry}.ts`),
          handler: 'handler',
          projectRoot: REPO_ROOT,
          depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
          bundling: {
            ...BUNDLING,
            format: OutputFormat.ESM,
            forceDockerBundling: false,
            ...(props.afterBundling ? { commandHooks: { beforeBundling: () => [], beforeInstall: () => [], afterBundling: (_input: string, output: string) => props.afterBundling!(output) } } : {}),
          },
        });
    if (props.tracing) {
      // Tracing adds its statement to this role's default policy, and only there is `*` acknowledged.
      Validations.of(this.role.node.findChild('DefaultPolicy')).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords) has no resource-level permissions; it is the only statement on * in this policy.',
      });
    }
  }
}
