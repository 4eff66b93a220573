// Garbage collection of data objects, in two passes:
// - reference counting: objects whose count of live index entries reached zero, released longer ago
//   than the grace period, are deleted (object first, then its record);
// - reconciliation: every object in the bucket older than the grace period that has no record at all
//   is an orphan (its commit failed, or a rewrite lost its race) and is deleted; but a sole object
//   (one batch, its key naming the partition and offset it went up for) has no record while it lives:
//   the entry at that offset pointing at it is its reference, and it is kept while there is one.
// The grace period is longer than any fetch that may still read an object it found in the index, and
// longer than the deadline after which a produce no longer commits an object it uploaded.
import type { Engine } from '../engine/engine.ts';
import { checkGcGrace, DEFAULT_GC_GRACE_MS } from '../model/lifetimes.ts';
import { objectKeyTime, parseSoleObjectKey } from '../storage/keys.ts';
import { emptySummary, type JobSummary } from './summary.ts';
import { mapBounded } from '../map-bounded.ts';

/** Conditional record deletes in flight at once. */
const RECORD_DELETES_AT_ONCE = 16;

export interface GcOptions {
  graceMs?: number;
  now?: number;
}

export async function runGc(engine: Engine, options: GcOptions = {}): Promise<JobSummary> {
  const started = Date.now();
  const s = emptySummary('gc');
  const grace = options.graceMs ?? DEFAULT_GC_GRACE_MS;
  checkGcGrace(grace);
  const now = options.now ?? Date.now();

  // Released objects: the objects first (a thousand per request), then their records, each on
  // condition that it was not referenced again meanwhile. A crash in between leaves records whose
  // objects are gone; the next run deletes them (deleting a missing object succeeds).
  const released = await engine.objects.scanReleased();
  s.examined.objects += released.length;
  const due = released.filter((r) => (r.releasedAt ?? r.createdAt) <= now - grace);
  await engine.bucket.deleteMany(due.map((r) => r.key));
  await mapBounded(due, RECORD_DELETES_AT_ONCE, async (record) => {
    if (await engine.objects.deleteReleased(record)) {
      s.removed.objects++;
      s.removed.bytes += record.size ?? 0;
    } else s.conflicts++;
  });

  // Orphans: listed objects past the grace period that no commit ever recorded.
  const recorded = new Set(released.map((r) => r.key));
  for await (const page of engine.bucket.listData()) {
    const old = page.filter((o) => !recorded.has(o.key) && Math.min(objectKeyTime(o.key) ?? o.lastModified, o.lastModified) < now - grace);
    s.examined.listed += page.length;
    const orphans: Array<{ key: string; size: number }> = [];
    for (let i = 0; i < old.length; i += 100) {
      const slice = await unreferencedSole(engine, old.slice(i, i + 100));
      // After the entries: retention and compaction drop a sole object's entry in the transaction that
      // writes its record (a count below zero, released now), so an entry gone means a record there,
      // unless the commit never happened.
      const known = await engine.objects.known(slice.map((o) => o.key));
      orphans.push(...slice.filter((o) => !known.has(o.key)));
    }
    await engine.bucket.deleteMany(orphans.map((o) => o.key));
    s.removed.objects += orphans.length;
    s.removed.bytes += orphans.reduce((n, o) => n + o.size, 0);
  }
  s.ms = Date.now() - started;
  return s;
}

/** The objects, less the sole ones whose entry still points at them. */
async function unreferencedSole<T extends { key: string }>(engine: Engine, objects: T[]): Promise<T[]> {
  const sole = objects.flatMap((o) => {
    const named = parseSoleObjectKey(o.key);
    return named ? [{ object: o, ...named }] : [];
  });
  if (sole.length === 0) return objects;
  const entries = await engine.log.entriesAt(sole);
  const live = new Set(sole.filter((s, i) => entries[i]?.objectKey === s.object.key).map((s) => s.object.key));
  return objects.filter((o) => !live.has(o.key));
}
