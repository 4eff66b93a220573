// Direct mode: the engine and the HTTP app in this process, so a program (a Lambda function) produces and
// consumes with no HTTP hop, on its own AWS credentials, with exactly the semantics and errors of the
// API (the same app answers). Bundled into the package's own chunk, loaded only when direct mode is used.
import { createApp } from '../../../src/api/app.ts';
import { loadConfig } from '../../../src/config.ts';
import { createEngine } from '../../../src/engine/engine.ts';
import { createClients } from '../../../src/storage/clients.ts';
import type { DirectOptions } from './floe.ts';

/** A fetch function answered by an in-process Floe on the given tables and bucket. */
export function directFetch(options: DirectOptions): typeof fetch {
  const env: Record<string, string | undefined> = { ...process.env };
  if (options.region) env.AWS_REGION = options.region;
  if (options.bucket) env.FLOE_BUCKET = options.bucket;
  const t = options.tables ?? {};
  if (t.prefix !== undefined) env.FLOE_TABLE_PREFIX = t.prefix;
  for (const [k, name] of [['topics', 'FLOE_TOPICS_TABLE'], ['log', 'FLOE_LOG_TABLE'], ['objects', 'FLOE_OBJECTS_TABLE'], ['producers', 'FLOE_PRODUCERS_TABLE'], ['groups', 'FLOE_GROUPS_TABLE'], ['transactions', 'FLOE_TRANSACTIONS_TABLE'], ['triggers', 'FLOE_TRIGGERS_TABLE'], ['tables', 'FLOE_TABLES_TABLE']] as const) {
    if (t[k]) env[name] = t[k];
  }
  // One request at a time per caller is the common case (a Lambda instance): no group commit window.
  env.FLOE_GROUP_COMMIT_MS ??= '0';
  const config = loadConfig(env);
  const engine = createEngine(config, createClients(config));
  // Writes of acks=0 complete before the answer: a Lambda function may be frozen right after.
  const app = createApp(engine, { awaitUnacknowledgedWrites: true });
  return ((input: string | URL | Request, init?: RequestInit) => app.fetch(new Request(input, init))) as typeof fetch;
}
