// How long each kind of in-flight work may take, and the order those times must keep. Objects are
// written before the commit that references them, and a commit's entry may be probed by its producer
// after a lost answer, so:
//   commit deadline < merge minimum age: a merge never rewrites an entry whose producer may still be
//     looking for it where its commit put it (it would take its own commit for a lost one and retry);
//   merge minimum age < GC grace: the collector never takes an object a commit may still reference, and
//     a fetch that found an entry in the index can still read its object.

/** A commit starts no later than this after its object was named. */
export const COMMIT_DEADLINE_MS = 2 * 60 * 1000;

/**
 * How long an allocated offset range may stay without its index entry before anyone fills it with an
 * empty batch (its writer is taken for dead; if it is only slow, its commit then fails). What a reader
 * waits at most after a producer crashed between allocation and commit.
 */
export const DEFAULT_HOLE_FILL_MS = 10_000;

/** Merging leaves batches younger than this alone. */
export const MERGE_MIN_AGE_MS = 3 * 60 * 1000;

/** The garbage collector's default grace period. */
export const DEFAULT_GC_GRACE_MS = 15 * 60 * 1000;

/** The shortest grace period configuration may set: above the merge minimum age, with room to spare. */
export const MIN_GC_GRACE_MS = 5 * 60 * 1000;

/** Throws when a grace period would let the collector take objects that in-flight work still needs. */
export function checkGcGrace(graceMs: number): void {
  if (!(graceMs > MERGE_MIN_AGE_MS)) {
    throw new Error(`the GC grace period (${graceMs} ms) must be longer than the merge minimum age (${MERGE_MIN_AGE_MS} ms), itself longer than the commit deadline (${COMMIT_DEADLINE_MS} ms)`);
  }
}
