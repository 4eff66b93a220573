// `npm start`: Floe on this machine. Configuration errors and a missing Java end in one line and a
// non-zero exit; SIGINT and SIGTERM stop everything this process started.
import { ConfigError } from '../config.ts';
import { JavaMissingError } from './emulators.ts';
import { DEFAULT_INTERVALS_MS, JOB_NAMES, runJob, type JobName } from '../jobs/run.ts';
import { startLocal } from './server.ts';

/** FLOE_RETENTION_INTERVAL_MS, FLOE_COMPACTION_INTERVAL_MS, FLOE_GC_INTERVAL_MS override the defaults. */
function intervalOf(name: JobName): number {
  const raw = process.env[`FLOE_${name.toUpperCase()}_INTERVAL_MS`];
  if (raw === undefined || raw === '') return DEFAULT_INTERVALS_MS[name];
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1000) throw new ConfigError(`invalid Floe configuration: FLOE_${name.toUpperCase()}_INTERVAL_MS must be an integer >= 1000`);
  return n;
}

// Local runs use Node 20 while Lambda runs 22+; the SDK's notice about its future releases is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function main(): Promise<void> {
  const server = await startLocal({
    // The background jobs, on timers here as EventBridge schedules run them in AWS.
    jobs: (engine) =>
      JOB_NAMES.map((name) => ({
        name,
        intervalMs: intervalOf(name),
        // Only runs that changed something are worth a log line.
        run: async () => {
          const s = await runJob(name, engine);
          return s.removed.batches + s.removed.objects + s.rewrote.batches + s.removed.records > 0 ? s : undefined;
        },
      })),
  });
  console.log(`Floe listening on ${server.url} (data in ${server.dataDir})`);
  console.log(`Floe console: ${server.consoleUrl}`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`Floe stopping (${signal})`);
    server.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(`floe: error while stopping: ${(e as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((e: unknown) => {
  if (e instanceof JavaMissingError || e instanceof ConfigError) console.error(`floe: ${e.message}`);
  else if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') console.error(`floe: port already in use (${(e as Error).message}); set PORT to another port`);
  else console.error(`floe: failed to start: ${(e as Error).stack ?? String(e)}`);
  process.exit(1);
});
