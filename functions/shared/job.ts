// Cold start for the scheduled job functions: configuration validated and engine built once per
// container; each EventBridge invocation runs the job once and logs its one-line summary.
import { loadConfig } from '../../src/config.ts';
import { createEngine } from '../../src/engine/engine.ts';
import { runJob, type JobName } from '../../src/jobs/run.ts';
import type { JobSummary } from '../../src/jobs/summary.ts';
import { createClients } from '../../src/storage/clients.ts';

export function jobHandler(name: JobName): () => Promise<JobSummary> {
  const config = loadConfig();
  const engine = createEngine(config, createClients(config));
  return async () => {
    const summary = await runJob(name, engine);
    console.log(JSON.stringify({ level: 'info', msg: 'job finished', ...summary }));
    return summary;
  };
}
