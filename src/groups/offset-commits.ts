// What a refused offset commit tells its caller: a commit larger than one transaction may have been
// cut short after some of its transactions, and the caller must know exactly which offsets stand.
import type { CommittedOffset } from '../model/group.ts';

/** `why`, then what was written: "nothing was written", or "N of M offsets were written (t-0..98, u-3); the rest were not". */
export function refusedCommit(why: string, total: number, written: Array<Pick<CommittedOffset, 'topic' | 'partition'>>): string {
  if (written.length === 0) return `${why}; nothing was written, try again`;
  return `${why}; ${written.length} of ${total} offsets were written (${partitionRanges(written)}) and the rest were not`;
}

/** Partitions as "topic-first..last" runs of consecutive partitions, in the order given. */
function partitionRanges(offsets: Array<Pick<CommittedOffset, 'topic' | 'partition'>>): string {
  const runs: Array<{ topic: string; first: number; last: number }> = [];
  for (const { topic, partition } of offsets) {
    const run = runs[runs.length - 1];
    if (run && run.topic === topic && run.last + 1 === partition) run.last = partition;
    else runs.push({ topic, first: partition, last: partition });
  }
  return runs.map((r) => (r.first === r.last ? `${r.topic}-${r.first}` : `${r.topic}-${r.first}..${r.last}`)).join(', ');
}
