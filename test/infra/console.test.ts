// -c console=true: the admin function, which serves API Gateway's $default route behind the API's
// authorizer, gets FLOE_CONSOLE, a bundling step that writes the console's files next to its code, and
// GetMetricData in a policy of its own; the other HTTP functions write the figures it charts. The hook's
// commands are run here to build those files, and the admin entry is called with API Gateway events to
// serve them, as it would in Lambda.
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { APIGatewayProxyResultV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../infra/app.ts';
import { consoleBuildCommands } from '../../infra/floe-console.ts';
import { FloeFunction, type FloeFunctionProps } from '../../infra/floe-function.ts';
import { FUNCTIONS } from '../../src/manifest.ts';
import { gzippedBytes, readConsoleDir } from '../../src/console/assets.ts';
import { apiGatewayEvent, lambdaContext, lambdaEvent } from '../support/lambda-events.ts';

// The props each Floe function is built with, seen on the way in: bundling hooks leave no trace in a template.
const built = vi.hoisted(() => new Map<string, { afterBundling?: unknown }>());
vi.mock('../../infra/floe-function.ts', async (original) => {
  const m = await original<typeof import('../../infra/floe-function.ts')>();
  class Recorded extends m.FloeFunction {
    constructor(scope: ConstructorParameters<typeof m.FloeFunction>[0], id: string, props: FloeFunctionProps) {
      built.set(props.entry, props);
      super(scope, id, props);
    }
  }
  return { ...m, FloeFunction: Recorded };
});

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tmp = (name: string) => {
  const d = mkdtempSync(join(tmpdir(), name));
  dirs.push(d);
  return d;
};

/** Templates only: bundling is what the hook test below does on its own. */
function template(context: Record<string, string>) {
  const { stack } = buildApp({ 'aws:cdk:bundling-stacks': [], ...context }, tmp('floe-cdk-console-'));
  return Template.fromStack(stack);
}

const cap = (entry: string) => `${entry[0]!.toUpperCase()}${entry.slice(1)}`;

function environmentOf(t: Template, entry: string): Record<string, unknown> {
  const fns = t.findResources('AWS::Lambda::Function');
  const id = Object.keys(fns).find((k) => k.startsWith(`${cap(entry)}Function`))!;
  return fns[id]!.Properties.Environment.Variables as Record<string, unknown>;
}

const metricsStatements = (t: Template) =>
  Object.entries(t.findResources('AWS::IAM::Policy')).filter(([, p]) => JSON.stringify(p.Properties.PolicyDocument).includes('cloudwatch:'));

describe('the console in the stack', () => {
  it('is off by default: no FLOE_CONSOLE, no console build, no CloudWatch read anywhere', () => {
    built.clear();
    const t = template({ stage: 'noconsole' });
    expect([...built.values()].filter((p) => p.afterBundling)).toEqual([]);
    for (const f of FUNCTIONS) expect(environmentOf(t, f.entry).FLOE_CONSOLE, f.entry).toBeUndefined();
    expect(metricsStatements(t)).toEqual([]);
  });

  it('with -c console=true, serves it from the admin function with GetMetricData on its role only', () => {
    // Synthesizing runs cdk-nag: the GetMetricData statement on * must be acknowledged, or this throws.
    built.clear();
    const t = template({ stage: 'console', console: 'true' });
    expect([...built].filter(([, p]) => p.afterBundling).map(([entry, p]) => [entry, p.afterBundling])).toEqual([['admin', consoleBuildCommands]]);
    for (const f of FUNCTIONS) expect(environmentOf(t, f.entry).FLOE_CONSOLE, f.entry).toBe(f.http ? 'true' : undefined);
    const policies = metricsStatements(t);
    expect(policies).toHaveLength(1);
    const [, policy] = policies[0]!;
    expect(policy.Properties.PolicyDocument.Statement).toEqual([{ Action: 'cloudwatch:GetMetricData', Effect: 'Allow', Resource: '*' }]);
    expect(JSON.stringify(policy.Properties.Roles)).toMatch(/AdminRole/);
    // /console/ reaches admin through $default, behind the same IAM authorizer as every route.
    t.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$default', AuthorizationType: 'AWS_IAM' });
    expect(FUNCTIONS.find((f) => f.defaultRoute)?.entry).toBe('admin');
  });

  it('rejects a console setting that is not true or false, in one line', () => {
    expect(() => template({ stage: 'bad', console: 'yes' })).toThrow('context console must be true or false, got yes');
  });

  it("runs the hook after bundling: the function's code holds console/ beside index.mjs", () => {
    const outdir = tmp('floe-cdk-hook-');
    const app = new App({ outdir });
    const stack = new Stack(app, 'Hook');
    new FloeFunction(stack, 'Admin', {
      entry: 'admin',
      memoryMb: 128,
      timeout: Duration.seconds(29),
      environment: {},
      logRetention: RetentionDays.ONE_DAY,
      removalPolicy: RemovalPolicy.DESTROY,
      serviceName: 'floe-admin',
      tracing: false,
      afterBundling: consoleBuildCommands,
    });
    app.synth();
    const assets = readdirSync(outdir).filter((d) => d.startsWith('asset.') && existsSync(join(outdir, d, 'index.mjs')));
    expect(assets).toHaveLength(1);
    expect(readdirSync(join(outdir, assets[0]!)).sort()).toEqual(['console', 'index.mjs', 'index.mjs.map']);
    expect(existsSync(join(outdir, assets[0]!, 'console', 'index.html'))).toBe(true);
  }, 120_000);

  it("builds the console's files in the bundling hook, and the admin entry serves them", async () => {
    const out = tmp('floe-admin-bundle-');
    for (const command of consoleBuildCommands(out)) execFileSync('bash', ['-c', command], { stdio: 'pipe' });
    const dir = join(out, 'console');
    expect(readdirSync(dir).sort()).toEqual([expect.stringMatching(/^app-[A-Z0-9]+\.css$/), expect.stringMatching(/^app-[A-Z0-9]+\.js$/), 'index.html']);
    expect(gzippedBytes(readConsoleDir(dir))).toBeLessThan(300 * 1024);

    // The function's environment while its entry loads (it reads it once, at cold start), then as it was.
    const settings = { AWS_REGION: 'us-east-1', FLOE_CONSOLE: 'true', FLOE_CONSOLE_DIR: dir };
    const before = Object.fromEntries(Object.keys(settings).map((k) => [k, process.env[k]]));
    Object.assign(process.env, settings);
    const { handler } = (await import('../../functions/admin.ts').finally(() => {
      for (const [k, v] of Object.entries(before)) if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    })) as unknown as { handler: (e: unknown, c: unknown) => Promise<APIGatewayProxyResultV2> };
    const call = async (path: string, headers: Record<string, string> = {}) => (await handler(lambdaEvent(apiGatewayEvent, 'GET', path, { headers }), lambdaContext)) as APIGatewayProxyStructuredResultV2;
    const index = await call('/console/');
    expect(index.statusCode).toBe(200);
    expect(index.headers?.['content-security-policy']).toMatch(/default-src 'none'/);
    const script = /src="(app-[A-Z0-9]+\.js)"/.exec(String(index.body))![1]!;
    const js = await call(`/console/${script}`, { 'accept-encoding': 'gzip, deflate, br' });
    expect(js.statusCode).toBe(200);
    expect(js.headers?.['content-encoding']).toBe('gzip');
    expect(js.isBase64Encoded).toBe(true);
    expect(gunzipSync(Buffer.from(String(js.body), 'base64')).toString()).toContain('Floe');
    expect((await call('/console/missing.js')).statusCode).toBe(404);
  });
});
