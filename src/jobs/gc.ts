// Garbage collection of data objects, in two passes:
// - reference counting: objects whose count of live index entries reached zero, released longer ago
//   than the grace period, are deleted (object first, then its record);
// - reconciliation: every object in the bucket older than the grace period that has no record at all
//   is an orphan (its commit failed, or a rewrite lost its race) and is deleted.
// The grace period is longer than any fetch that may still read an object it found in the index, and
// longer than the deadline after which a produce no longer commits an object it uploaded.
import type { Engine } from '../engine/engine.ts';
import { COMMIT_DEADLINE_MS } from '../produce/produce.ts';
import { objectKeyTime } from '../storage/keys.ts';
import { emptySummary, type JobSummary } from './summary.ts';

export const DEFAULT_GC_GRACE_MS = 15 * 60 * 1000;

export interface GcOptions {
  graceMs?: number;
  now?: number;
}

export async function runGc(engine: Engine, options: GcOptions = {}): Promise<JobSummary> {
  const started = Date.now();
  const s = emptySummary('gc');
  const grace = options.graceMs ?? DEFAULT_GC_GRACE_MS;
  if (grace <= COMMIT_DEADLINE_MS) throw new Error(`the GC grace period (${grace} ms) must be longer than the commit deadline (${COMMIT_DEADLINE_MS} ms)`);
  const now = options.now ?? Date.now();

  for (const record of await engine.objects.scanReleased()) {
    s.examined.objects++;
    if ((record.releasedAt ?? record.createdAt) > now - grace) continue;
    await engine.bucket.delete(record.key);
    if (await engine.objects.deleteReleased(record)) {
      s.removed.objects++;
      s.removed.bytes += record.size ?? 0;
    } else s.conflicts++;
  }

  for await (const page of engine.bucket.listData()) {
    const old = page.filter((o) => Math.min(objectKeyTime(o.key) ?? o.lastModified, o.lastModified) < now - grace);
    s.examined.objects += page.length;
    if (old.length === 0) continue;
    for (let i = 0; i < old.length; i += 100) {
      const slice = old.slice(i, i + 100);
      const known = await engine.objects.known(slice.map((o) => o.key));
      for (const o of slice) {
        if (known.has(o.key)) continue;
        await engine.bucket.delete(o.key);
        s.removed.objects++;
        s.removed.bytes += o.size;
      }
    }
  }
  s.ms = Date.now() - started;
  return s;
}
