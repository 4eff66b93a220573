/** What a job run did, printed as one JSON line by the CLI and logged by the Lambda entries. */
export interface JobSummary {
  job: string;
  /** `objects`: object records examined; `listed`: objects listed in the bucket (gc). */
  examined: { topics: number; partitions: number; batches: number; objects: number; listed: number };
  removed: { batches: number; records: number; bytes: number; objects: number };
  rewrote: { batches: number; objects: number; bytes_before: number; bytes_after: number };
  skipped: number;
  conflicts: number;
  /** Retention only: transactions aborted past their timeout, and decided ones completed after a stall. */
  transactions?: { expired: number; completed: number };
  ms: number;
}

export function emptySummary(job: string): JobSummary {
  return {
    job,
    examined: { topics: 0, partitions: 0, batches: 0, objects: 0, listed: 0 },
    removed: { batches: 0, records: 0, bytes: 0, objects: 0 },
    rewrote: { batches: 0, objects: 0, bytes_before: 0, bytes_after: 0 },
    skipped: 0,
    conflicts: 0,
    ms: 0,
  };
}
