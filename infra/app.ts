// The CDK app: `npm run synth` (offline) or `npx cdk deploy`. Settings come from context
// (`-c stage=prod -c auth=jwt ...`) with safe defaults.
import { App, Validations } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { FloeStack, type FloeStackProps } from './floe-stack.ts';

export function propsFromContext(app: App): FloeStackProps {
  const ctx = (k: string) => app.node.tryGetContext(k) as string | undefined;
  const num = (k: string, def: number, min: number, max: number) => {
    const v = ctx(k);
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`context ${k} must be an integer between ${min} and ${max}, got ${v}`);
    return n;
  };
  const stage = ctx('stage') ?? 'dev';
  if (!/^[a-z0-9-]{1,20}$/.test(stage)) throw new Error('context stage must be 1-20 of [a-z0-9-]');
  const auth = ctx('auth') ?? 'iam';
  if (auth !== 'iam' && auth !== 'jwt') throw new Error('context auth must be iam or jwt');
  if (auth === 'jwt' && !ctx('jwtIssuer')) throw new Error('context jwtIssuer is required with auth=jwt');
  if (!['true', 'false', undefined].includes(ctx('produceUrl'))) throw new Error('context produceUrl must be true or false');
  const dataOnDelete = ctx('dataOnDelete') ?? 'retain';
  if (dataOnDelete !== 'retain' && dataOnDelete !== 'destroy') throw new Error('context dataOnDelete must be retain or destroy');
  return {
    stage,
    dataOnDelete,
    auth,
    ...(ctx('jwtIssuer') ? { jwtIssuer: ctx('jwtIssuer')! } : {}),
    ...(ctx('jwtAudience') ? { jwtAudience: ctx('jwtAudience')!.split(',') } : {}),
    schedules: {
      retentionMinutes: num('retentionMinutes', 5, 1, 1440),
      compactionMinutes: num('compactionMinutes', 15, 1, 1440),
      gcMinutes: num('gcMinutes', 60, 1, 1440),
    },
    memory: { httpMb: num('httpMemoryMb', 1024, 128, 10240), jobsMb: num('jobsMemoryMb', 2048, 128, 10240) },
    throttle: { rateLimit: num('rateLimit', 1000, 1, 100000), burstLimit: num('burstLimit', 2000, 1, 100000) },
    logRetention: RetentionDays.ONE_MONTH,
    produceUrl: (ctx('produceUrl') ?? 'false') === 'true',
  };
}

export function buildApp(context: Record<string, string> = {}, outdir?: string): { app: App; stack: FloeStack } {
  const app = new App({ context, ...(outdir ? { outdir } : {}) });
  const props = propsFromContext(app);
  const stack = new FloeStack(app, `Floe-${props.stage}`, props);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack };
}
