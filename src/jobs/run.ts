// The background jobs by name, for the Lambda entries, the local timers and `npm run jobs`.
import type { Engine } from '../engine/engine.ts';
import { runCompaction } from './compaction.ts';
import { runGc } from './gc.ts';
import { runRetention } from './retention.ts';
import type { JobSummary } from './summary.ts';

export const JOB_NAMES = ['retention', 'compaction', 'gc'] as const;
export type JobName = (typeof JOB_NAMES)[number];

/** Default intervals of the local timers; the CDK stack's schedules have their own settings. */
export const DEFAULT_INTERVALS_MS: Record<JobName, number> = { retention: 60_000, compaction: 5 * 60_000, gc: 10 * 60_000 };

export function runJob(name: JobName, engine: Engine): Promise<JobSummary> {
  switch (name) {
    case 'retention':
      return runRetention(engine);
    case 'compaction':
      return runCompaction(engine);
    case 'gc':
      return runGc(engine, { graceMs: engine.config.gcGraceMs });
  }
}

export function isJobName(s: string): s is JobName {
  return (JOB_NAMES as readonly string[]).includes(s);
}
