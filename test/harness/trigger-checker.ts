// The checker of a trigger fault run (invariant 8): from what was produced, what the handler was given
// and did with each invocation, what the dispatchers reported (attempts, commits of lane positions),
// and what the dead-letter topics hold, it finds records that were never taken (lost), taken out of
// offset order, passed by a commit before anything took them (skipped), or delivered again after the
// trigger had every reason to know they were done (unexplained duplicates). At least once allows every
// other duplicate: a batch whose answer was lost, whose dispatcher crashed, or whose commit failed is
// delivered again, and so is what follows a failure in the same batch.
//
// A record is "taken" by an invocation that processed it: the handler answered ok (in time or too late),
// or answered a partial batch response naming a later offset of its partition as the first failure.
// A dead letter with the full record also takes it, and so does a filter that leaves it out.
// Every time is a tick of one clock the whole run shares, so "before" is real order in one process.
import { DLQ_HEADERS } from '../../src/triggers/lane.ts';

export interface Coord {
  partition: number;
  offset: number;
}

/** A record as the source topic holds it; bytes as UTF-8 text (the workload writes only text). */
export interface SourceRecord extends Coord {
  key: string | null;
  value: string | null;
  headers: Array<{ key: string; value: string | null }>;
}

export interface TriggerSpec {
  name: string;
  /** Key parallelism: records are ordered per key, not per partition. */
  byKey: boolean;
  /** Records the trigger's filters leave out: they are taken without a delivery. */
  filtered?: (r: SourceRecord) => boolean;
}

/** One invocation of the handler: what it was given, what it did, and when. */
export interface Delivery {
  id: number;
  trigger: string;
  /** The handler was called. */
  begin: number;
  /** The dispatcher had its answer: the handler's, or "unknown" at the time limit. */
  answered: number;
  /** The handler finished: after `answered` when it ran past the time limit. */
  completed: number;
  /** In the event's order. */
  records: Array<Coord & { key: string | null }>;
  /** Took every record, threw, or answered a partial batch response (`failed`). */
  handler: 'ok' | 'threw' | 'partial';
  /** With `partial`: the offsets it reported failed; per partition the lowest counts. */
  failed?: Coord[];
  /** It ran past the time limit, so the dispatcher was answered "unknown" while the handler went on. */
  late: boolean;
}

export type AttemptOutcome = 'ok' | 'partial' | 'failed' | 'unknown';

/** What a dispatcher reported of one invocation (the engine's onTriggerAttempt). */
export interface AttemptEvent {
  trigger: string;
  at: number;
  records: Coord[];
  outcome: AttemptOutcome;
}

/** A lane position a dispatcher committed (the engine's onTriggerCommitted). */
export interface CommitEvent {
  trigger: string;
  partition: number;
  at: number;
  offset: number;
  fence: number;
  process?: string;
}

/** A record of a trigger's dead-letter topic. */
export interface DeadLetter {
  trigger: string;
  dlqPartition: number;
  dlqOffset: number;
  key: string | null;
  value: string | null;
  headers: Array<{ key: string; value: string | null }>;
}

export interface TriggerHistory {
  /** The triggers' source topic. */
  topic: string;
  /** Every record of the source topic at the end (read without faults). */
  log: SourceRecord[];
  /** The offsets the producer was answered for. */
  acked: Coord[];
  triggers: TriggerSpec[];
  deliveries: Delivery[];
  attempts: AttemptEvent[];
  commits: CommitEvent[];
  deadLetters: DeadLetter[];
  /** Per trigger, per partition: its committed offset at the end. */
  committed: Map<string, Map<number, number>>;
}

export interface Finding {
  trigger: string;
  partition: number;
  offset: number;
  why: string;
}

export interface TriggerCounts {
  records: number;
  deliveries: number;
  attempts: Record<AttemptOutcome, number>;
  lost: number;
  out_of_order: number;
  skipped: number;
  duplicates: number;
  explained_duplicates: number;
  unexplained_duplicates: number;
  dead_letters: number;
  /** Records dead-lettered although an invocation had processed them (counted once per record). */
  dead_letters_taken: number;
  bad_dead_letters: number;
  commit_regressions: number;
  /** Invocations whose report (onTriggerAttempt) is missing or says otherwise than the handler's answer. */
  misreported_attempts: number;
}

export interface TriggerCheckResult {
  acked: number;
  records: number;
  lost: Finding[];
  outOfOrder: Finding[];
  skipped: Finding[];
  unexplainedDuplicates: Finding[];
  /** Dead letters that do not carry their source record in full, or name none. */
  badDeadLetters: Finding[];
  /** A lane's committed position went back (no seek runs during a fault run). */
  commitRegressions: Finding[];
  duplicates: number;
  explainedDuplicates: number;
  deadLetters: number;
  deliveries: number;
  attempts: Record<AttemptOutcome, number>;
  misreportedAttempts: number;
  byTrigger: Record<string, TriggerCounts>;
  valid: boolean;
}

const coordKey = (p: number, o: number) => `${p}:${o}`;

function lowestFailed(d: Delivery, partition: number): number {
  let low = Number.POSITIVE_INFINITY;
  for (const f of d.failed ?? []) if (f.partition === partition && f.offset < low) low = f.offset;
  return low;
}

/** Whether the invocation processed the record (whatever the dispatcher was answered). */
export function tookRecord(d: Delivery, r: Coord): boolean {
  if (d.handler === 'ok') return true;
  if (d.handler === 'threw') return false;
  return r.offset < lowestFailed(d, r.partition);
}

/** Whether the dispatcher was told, in time, that the invocation processed the record. */
function answeredOk(d: Delivery, r: Coord): boolean {
  return !d.late && tookRecord(d, r);
}

function expectedOutcome(d: Delivery): AttemptOutcome {
  if (d.late) return 'unknown';
  return d.handler === 'threw' ? 'failed' : d.handler;
}

const signature = (trigger: string, records: Coord[]) => `${trigger}|${records.map((r) => coordKey(r.partition, r.offset)).join(',')}`;

function headerText(headers: Array<{ key: string; value: string | null }>, name: string): string | undefined {
  const v = headers.find((h) => h.key === name)?.value;
  return v === null ? undefined : v;
}

const DLQ_NAMES = new Set<string>(Object.values(DLQ_HEADERS));

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

function group<K, V>(items: V[], keyOf: (v: V) => K): Map<K, V[]> {
  const m = new Map<K, V[]>();
  for (const v of items) push(m, keyOf(v), v);
  return m;
}

export function checkTriggers(h: TriggerHistory): TriggerCheckResult {
  const lost: Finding[] = [];
  const outOfOrder: Finding[] = [];
  const skipped: Finding[] = [];
  const unexplainedDuplicates: Finding[] = [];
  const badDeadLetters: Finding[] = [];
  const commitRegressions: Finding[] = [];
  const byTrigger: Record<string, TriggerCounts> = {};
  const attemptsAll: Record<AttemptOutcome, number> = { ok: 0, partial: 0, failed: 0, unknown: 0 };
  let duplicatesAll = 0;
  let misreportedAll = 0;

  const source = new Map<string, SourceRecord>();
  const byPartition = new Map<number, SourceRecord[]>();
  for (const r of h.log) {
    source.set(coordKey(r.partition, r.offset), r);
    push(byPartition, r.partition, r);
  }
  for (const list of byPartition.values()) list.sort((a, b) => a.offset - b.offset);
  // Acked records the log does not hold cannot be delivered: lost before any trigger saw them.
  for (const a of h.acked) if (!source.has(coordKey(a.partition, a.offset))) lost.push({ trigger: '*', partition: a.partition, offset: a.offset, why: 'acknowledged, but not in the log' });

  for (const t of h.triggers) {
    const counts = { lost: lost.length, outOfOrder: outOfOrder.length, skipped: skipped.length, unexplained: unexplainedDuplicates.length, bad: badDeadLetters.length, regressions: commitRegressions.length };
    const finding = (list: Finding[], p: number, o: number, why: string) => list.push({ trigger: t.name, partition: p, offset: o, why });
    const deliveries = h.deliveries.filter((d) => d.trigger === t.name).sort((a, b) => a.begin - b.begin || a.id - b.id);
    // In the order they were applied: a lane's commits under one fence all come before any under a later
    // fence (the fence condition refuses them after the next take), and one holder commits one at a time.
    // The time a commit is reported can be later than that (its answer was slow), so it orders only
    // the commits of one fence. Each partition is one lane with fences of its own.
    const commits = h.commits.filter((c) => c.trigger === t.name).sort((a, b) => a.partition - b.partition || a.fence - b.fence || a.at - b.at);
    const attempts = h.attempts.filter((a) => a.trigger === t.name);

    // Dead letters: each must carry the full record of the source offset it names.
    const dead = new Set<string>();
    let deadLetters = 0;
    for (const l of h.deadLetters.filter((x) => x.trigger === t.name)) {
      deadLetters++;
      const partition = Number(headerText(l.headers, DLQ_HEADERS.partition));
      const offset = Number(headerText(l.headers, DLQ_HEADERS.offset));
      const bad = (why: string) => finding(badDeadLetters, Number.isInteger(partition) ? partition : -1, Number.isInteger(offset) ? offset : -1, `dead letter ${l.dlqPartition}@${l.dlqOffset}: ${why}`);
      if (!Number.isInteger(partition) || !Number.isInteger(offset)) {
        bad('names no source partition and offset');
        continue;
      }
      const r = source.get(coordKey(partition, offset));
      if (!r) {
        bad('names a record the source topic does not hold');
        continue;
      }
      if (headerText(l.headers, DLQ_HEADERS.topic) !== h.topic) bad(`names topic ${headerText(l.headers, DLQ_HEADERS.topic)}`);
      else if (headerText(l.headers, DLQ_HEADERS.trigger) !== t.name) bad(`names trigger ${headerText(l.headers, DLQ_HEADERS.trigger)}`);
      else if (l.key !== r.key) bad(`key ${JSON.stringify(l.key)}, the record's is ${JSON.stringify(r.key)}`);
      else if (l.value !== r.value) bad(`value ${JSON.stringify(l.value)}, the record's is ${JSON.stringify(r.value)}`);
      else if (JSON.stringify(l.headers.filter((x) => !DLQ_NAMES.has(x.key))) !== JSON.stringify(r.headers)) bad(`headers ${JSON.stringify(l.headers.filter((x) => !DLQ_NAMES.has(x.key)))}, the record's are ${JSON.stringify(r.headers)}`);
      else dead.add(coordKey(partition, offset));
    }

    // Per record: its deliveries in order of start, the first tick something took it, the first ok answer.
    const deliveriesOf = new Map<string, Array<{ d: Delivery; index: number }>>();
    const takenAt = new Map<string, number>();
    const okAt = new Map<string, number>();
    for (const d of deliveries) {
      const last = new Map<number, number>();
      d.records.forEach((r, index) => {
        const k = coordKey(r.partition, r.offset);
        const before = last.get(r.partition);
        if (before !== undefined && r.offset <= before) finding(outOfOrder, r.partition, r.offset, `invocation ${d.id} holds offset ${r.offset} after ${before}`);
        last.set(r.partition, r.offset);
        push(deliveriesOf, k, { d, index });
        if (tookRecord(d, r)) takenAt.set(k, Math.min(takenAt.get(k) ?? Number.POSITIVE_INFINITY, d.completed));
        if (answeredOk(d, r)) okAt.set(k, Math.min(okAt.get(k) ?? Number.POSITIVE_INFINITY, d.answered));
      });
    }
    // Dead letters of records the handler had processed anyway: at least once allows them; a redrive
    // would process them again.
    let deadLettersTaken = 0;
    for (const k of dead) if (takenAt.has(k)) deadLettersTaken++;
    const isFiltered = (r: SourceRecord) => t.filtered?.(r) === true;
    const takenBy = (r: SourceRecord, tick: number) => (takenAt.get(coordKey(r.partition, r.offset)) ?? Number.POSITIVE_INFINITY) < tick || dead.has(coordKey(r.partition, r.offset)) || isFiltered(r);

    for (const r of h.log) if (!takenBy(r, Number.POSITIVE_INFINITY)) finding(lost, r.partition, r.offset, deliveriesOf.has(coordKey(r.partition, r.offset)) ? 'delivered, never taken, not dead-lettered' : 'never delivered, not dead-lettered');

    // Commits: a lane's position never goes back, and passes only records taken before it.
    // Each record is held against the first commit that passed it: the position only moves forward.
    const checked = new Map<number, number>();
    const passing = (partition: number, offset: number, at: number, what: string) => {
      const list = byPartition.get(partition) ?? [];
      let i = checked.get(partition) ?? 0;
      for (; i < list.length && list[i]!.offset < offset; i++) {
        if (!takenBy(list[i]!, at)) finding(skipped, partition, list[i]!.offset, `${what} ${offset} passed it before anything took it`);
      }
      checked.set(partition, i);
    };
    const highest = new Map<number, number>();
    for (const c of commits) {
      const top = highest.get(c.partition) ?? Number.NEGATIVE_INFINITY;
      if (c.offset < top) finding(commitRegressions, c.partition, c.offset, `committed ${c.offset} (fence ${c.fence}${c.process ? `, ${c.process}` : ''}) after ${top}`);
      highest.set(c.partition, Math.max(top, c.offset));
      passing(c.partition, c.offset, c.at, 'commit of');
    }
    for (const [p, offset] of h.committed.get(t.name) ?? []) passing(p, offset, Number.POSITIVE_INFINITY, 'the final committed offset');

    // The earliest commit past each offset of a partition: commits by offset, with suffix minima of their ticks.
    const past = new Map<number, { offsets: number[]; at: number[] }>();
    for (const [p, list] of group(commits, (c) => c.partition)) {
      list.sort((a, b) => a.offset - b.offset);
      const at = list.map((c) => c.at);
      for (let i = at.length - 2; i >= 0; i--) at[i] = Math.min(at[i]!, at[i + 1]!);
      past.set(p, { offsets: list.map((c) => c.offset), at });
    }
    const firstCommitPast = (partition: number, offset: number) => {
      const x = past.get(partition);
      if (!x) return Number.POSITIVE_INFINITY;
      let lo = 0;
      let hi = x.offsets.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (x.offsets[mid]! > offset) hi = mid;
        else lo = mid + 1;
      }
      return lo < x.at.length ? x.at[lo]! : Number.POSITIVE_INFINITY;
    };

    // Duplicates: every delivery of a record after its first. Unexplained when an earlier invocation
    // answered ok for it and a commit past it had happened before the later one began.
    let duplicates = 0;
    for (const [k, list] of deliveriesOf) {
      if (list.length < 2) continue;
      const [p, o] = k.split(':').map(Number) as [number, number];
      const ok = okAt.get(k) ?? Number.POSITIVE_INFINITY;
      const committed = firstCommitPast(p, o);
      for (const { d } of list.slice(1)) {
        duplicates++;
        if (ok < d.begin && committed < d.begin) finding(unexplainedDuplicates, p, o, `invocation ${d.id} began at ${d.begin}, after an ok answer at ${ok} and a commit past it at ${committed}`);
      }
    }

    // First deliveries in offset order, per partition (per key with key parallelism).
    for (const list of group(h.log, (r) => (t.byKey ? `${r.partition}|${r.key ?? ''}` : `${r.partition}`)).values()) {
      list.sort((a, b) => a.offset - b.offset);
      let max: { begin: number; index: number; offset: number } | undefined;
      for (const r of list) {
        const first = deliveriesOf.get(coordKey(r.partition, r.offset))?.[0];
        if (!first) continue;
        const pos = { begin: first.d.begin, index: first.index, offset: r.offset };
        // Within one invocation the order was checked above; here an earlier invocation is out of order.
        if (max && pos.begin < max.begin) finding(outOfOrder, r.partition, r.offset, `first delivered (invocation ${first.d.id}) before offset ${max.offset} was`);
        else if (!max || pos.begin > max.begin || pos.index > max.index) max = pos;
      }
    }

    // Each invocation is reported once, with the outcome the handler's answer means.
    const reported = new Map<string, number>();
    for (const a of attempts) {
      const s = `${signature(t.name, a.records)}|${a.outcome}`;
      reported.set(s, (reported.get(s) ?? 0) + 1);
    }
    let misreported = 0;
    for (const d of deliveries) {
      const s = `${signature(t.name, d.records)}|${expectedOutcome(d)}`;
      const n = reported.get(s) ?? 0;
      if (n === 0) misreported++;
      else reported.set(s, n - 1);
    }
    for (const n of reported.values()) misreported += n;

    const attemptCounts: Record<AttemptOutcome, number> = { ok: 0, partial: 0, failed: 0, unknown: 0 };
    for (const a of attempts) {
      attemptCounts[a.outcome]++;
      attemptsAll[a.outcome]++;
    }
    const unexplained = unexplainedDuplicates.length - counts.unexplained;
    byTrigger[t.name] = {
      records: h.log.length,
      deliveries: deliveries.length,
      attempts: attemptCounts,
      lost: lost.length - counts.lost,
      out_of_order: outOfOrder.length - counts.outOfOrder,
      skipped: skipped.length - counts.skipped,
      duplicates,
      explained_duplicates: duplicates - unexplained,
      unexplained_duplicates: unexplained,
      dead_letters: deadLetters,
      dead_letters_taken: deadLettersTaken,
      bad_dead_letters: badDeadLetters.length - counts.bad,
      commit_regressions: commitRegressions.length - counts.regressions,
      misreported_attempts: misreported,
    };
    duplicatesAll += duplicates;
    misreportedAll += misreported;
  }

  const valid = lost.length === 0 && outOfOrder.length === 0 && skipped.length === 0 && unexplainedDuplicates.length === 0 && badDeadLetters.length === 0 && commitRegressions.length === 0;
  return {
    acked: h.acked.length,
    records: h.log.length,
    lost,
    outOfOrder,
    skipped,
    unexplainedDuplicates,
    badDeadLetters,
    commitRegressions,
    duplicates: duplicatesAll,
    explainedDuplicates: duplicatesAll - unexplainedDuplicates.length,
    deadLetters: h.deadLetters.length,
    deliveries: h.deliveries.length,
    attempts: attemptsAll,
    misreportedAttempts: misreportedAll,
    byTrigger,
    valid,
  };
}

/** The counts of a check, as the run's one-line report and the tests' messages show them. */
export function triggerCounts(r: TriggerCheckResult) {
  return {
    acked: r.acked,
    records: r.records,
    deliveries: r.deliveries,
    attempts: r.attempts,
    lost: r.lost.length,
    out_of_order: r.outOfOrder.length,
    skipped: r.skipped.length,
    duplicates: r.duplicates,
    explained_duplicates: r.explainedDuplicates,
    unexplained_duplicates: r.unexplainedDuplicates.length,
    dead_letters: r.deadLetters,
    bad_dead_letters: r.badDeadLetters.length,
    commit_regressions: r.commitRegressions.length,
    misreported_attempts: r.misreportedAttempts,
    valid: r.valid,
  };
}
