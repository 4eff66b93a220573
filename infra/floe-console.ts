// The web console in a deployment (-c console=true): served by the admin function, which API Gateway
// already sends every path no other route names ($default), so /console/ sits behind the API's own
// authorizer and throttling. Its files are built next to the function's code when the function is
// bundled; its figures over time are CloudWatch's, read with GetMetricData by the admin function.
import { Validations } from 'aws-cdk-lib';
import { Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Function as Lambda } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './floe-function.ts';

/**
 * The shell commands that write the console's files to `<outputDir>/console` (NodejsFunction runs them
 * after bundling the admin function, on this machine, offline: esbuild and the npm packages only).
 */
export function consoleBuildCommands(outputDir: string): string[] {
  return [`cd "${REPO_ROOT}" && "${process.execPath}" --import tsx scripts/build-console.ts "${join(outputDir, 'console')}"`];
}

/** Prebuilt bundles (@floe/cdk's) serve the console only if their admin bundle carries its files. */
export function checkPrebuiltConsole(functionCode: string): void {
  if (!existsSync(join(functionCode, 'admin', 'console', 'index.html'))) {
    throw new Error(`Floe: console is on, but the prebuilt admin bundle in ${join(functionCode, 'admin')} has no console/ (build it with scripts/build-console.ts)`);
  }
}

/** What the admin function needs to chart figures over time: CloudWatch's GetMetricData, in a policy of its own. */
export function grantConsoleMetrics(scope: Construct, admin: Lambda): Policy {
  const policy = new Policy(scope, 'ConsoleMetricsPolicy', {
    statements: [new PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] })],
  });
  admin.role!.attachInlinePolicy(policy);
  Validations.of(policy).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'cloudwatch:GetMetricData has no resource-level permissions; the console reads its figures over time with it, and it is the only statement of this policy.',
  });
  return policy;
}
