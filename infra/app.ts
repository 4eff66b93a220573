// The CDK app: `npm run synth` (offline) or `npx cdk deploy`. Settings come from context
// (`-c stage=prod -c auth=jwt ...`) with safe defaults.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DEFAULTS, type FloeAuth } from './floe.ts';
import { FloeStack, type FloeStackProps } from './floe-stack.ts';

export function propsFromContext(app: App): FloeStackProps {
  // `-c` gives strings; cdk.json may hold numbers or booleans: read all of them as text.
  const ctx = (k: string): string | undefined => {
    const v: unknown = app.node.tryGetContext(k);
    return v === undefined || v === null ? undefined : String(v);
  };
  const num = (k: string, def: number, min: number, max: number) => {
    const v = ctx(k);
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`context ${k} must be an integer between ${min} and ${max}, got ${v}`);
    return n;
  };
  const bool = (k: string) => {
    const v = ctx(k);
    if (v === undefined) return false;
    if (v !== 'true' && v !== 'false') throw new Error(`context ${k} must be true or false, got ${v}`);
    return v === 'true';
  };
  const stage = ctx('stage') ?? 'dev';
  if (!/^[a-z0-9-]{1,20}$/.test(stage)) throw new Error('context stage must be 1-20 of [a-z0-9-]');
  const dataOnDelete = ctx('dataOnDelete') ?? DEFAULTS.dataOnDelete;
  if (dataOnDelete !== 'retain' && dataOnDelete !== 'destroy') throw new Error('context dataOnDelete must be retain or destroy');
  const alarmEmail = ctx('alarmEmail');
  if (alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail)) throw new Error(`context alarmEmail must be an email address, got ${alarmEmail}`);
  return {
    stage,
    dataOnDelete,
    auth: authFromContext(ctx),
    schedules: {
      retentionMinutes: num('retentionMinutes', DEFAULTS.schedules.retentionMinutes, 1, 1440),
      compactionMinutes: num('compactionMinutes', DEFAULTS.schedules.compactionMinutes, 1, 1440),
      gcMinutes: num('gcMinutes', DEFAULTS.schedules.gcMinutes, 1, 1440),
      triggerSweepMinutes: num('triggerSweepMinutes', DEFAULTS.schedules.triggerSweepMinutes, 1, 60),
    },
    memory: { httpMb: num('httpMemoryMb', DEFAULTS.memory.httpMb, 128, 10240), jobsMb: num('jobsMemoryMb', DEFAULTS.memory.jobsMb, 128, 10240) },
    throttle: { rateLimit: num('rateLimit', DEFAULTS.throttle.rateLimit, 1, 100000), burstLimit: num('burstLimit', DEFAULTS.throttle.burstLimit, 1, 100000) },
    logRetention: DEFAULTS.logRetention,
    produceUrl: bool('produceUrl'),
    tracing: bool('tracing'),
    ...(bool('console') ? { console: true } : {}),
    ...(alarmEmail !== undefined ? { alarmEmail } : {}),
  };
}

/**
 * IAM (SigV4) by default; a JWT authorizer needs its issuer as an https URL and at least one audience,
 * which API Gateway requires (CDK would otherwise fail deep in synthesis with JwtAudienceJwtIssuerMandatory).
 */
function authFromContext(ctx: (k: string) => string | undefined): FloeAuth {
  const mode = ctx('auth') ?? DEFAULTS.auth.mode;
  if (mode === 'iam') return { mode };
  if (mode !== 'jwt') throw new Error(`context auth must be iam or jwt, got ${mode}`);
  const issuer = ctx('jwtIssuer');
  if (!issuer) throw new Error('context jwtIssuer is required with auth=jwt');
  if (!URL.canParse(issuer) || new URL(issuer).protocol !== 'https:') throw new Error(`context jwtIssuer must be an https URL, got ${issuer}`);
  const audience = (ctx('jwtAudience') ?? '').split(',').map((a) => a.trim()).filter(Boolean);
  if (audience.length === 0) throw new Error('context jwtAudience is required with auth=jwt (comma-separated audiences)');
  return { mode, issuer, audience };
}

export function buildApp(context: Record<string, unknown> = {}, outdir?: string): { app: App; stack: FloeStack } {
  const app = new App({ context, ...(outdir ? { outdir } : {}) });
  const props = propsFromContext(app);
  const stack = new FloeStack(app, `Floe-${props.stage}`, props);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack };
}
