import { describe, expect, it } from 'vitest';
import { DLQ_HEADERS } from '../../src/triggers/lane.ts';
import { checkTriggers, triggerCounts, type AttemptEvent, type CommitEvent, type DeadLetter, type Delivery, type SourceRecord, type TriggerHistory, type TriggerSpec } from './trigger-checker.ts';

const TOPIC = 'src';
const T = 'trig';

/** One history built step by step, every step a tick of its clock. */
function history(records: number, options: { keys?: string[]; trigger?: Partial<TriggerSpec> } = {}) {
  let clock = 0;
  const tick = () => ++clock;
  const keys = options.keys ?? ['k'];
  const log: SourceRecord[] = Array.from({ length: records }, (_, i) => ({ partition: 0, offset: i, key: keys[i % keys.length]!, value: `v${i}`, headers: [{ key: 'n', value: String(i) }] }));
  const deliveries: Delivery[] = [];
  const attempts: AttemptEvent[] = [];
  const commits: CommitEvent[] = [];
  const deadLetters: DeadLetter[] = [];
  const committed = new Map<number, number>();
  const h = {
    /** An invocation with these offsets of partition 0, answered at once (or late: after the next step). */
    deliver(offsets: number[], handler: Delivery['handler'] = 'ok', more: { failedAt?: number; late?: boolean } = {}) {
      const begin = tick();
      const answered = tick();
      const d: Delivery = {
        id: deliveries.length + 1,
        trigger: T,
        begin,
        answered,
        completed: more.late ? Number.POSITIVE_INFINITY : answered,
        records: offsets.map((o) => ({ partition: 0, offset: o, key: log[o]?.key ?? null })),
        handler,
        ...(more.failedAt !== undefined ? { failed: [{ partition: 0, offset: more.failedAt }] } : {}),
        late: more.late === true,
      };
      deliveries.push(d);
      const outcome = d.late ? 'unknown' : handler === 'threw' ? 'failed' : handler;
      attempts.push({ trigger: T, at: answered, records: d.records.map(({ partition, offset }) => ({ partition, offset })), outcome });
      return { finish: () => void (d.completed = tick()) };
    },
    commit(offset: number, fence = 1) {
      commits.push({ trigger: T, partition: 0, at: tick(), offset, fence });
      committed.set(0, offset);
    },
    deadLetter(offset: number, change: Partial<Pick<DeadLetter, 'key' | 'value'>> = {}) {
      const r = log[offset]!;
      deadLetters.push({
        trigger: T,
        dlqPartition: 0,
        dlqOffset: deadLetters.length,
        key: r.key,
        value: r.value,
        ...change,
        headers: [...r.headers, { key: DLQ_HEADERS.topic, value: TOPIC }, { key: DLQ_HEADERS.partition, value: '0' }, { key: DLQ_HEADERS.offset, value: String(offset) }, { key: DLQ_HEADERS.trigger, value: T }],
      });
    },
    attempts,
    check(acked = log.map(({ partition, offset }) => ({ partition, offset }))) {
      const full: TriggerHistory = {
        topic: TOPIC,
        log,
        acked,
        triggers: [{ name: T, byKey: false, ...options.trigger }],
        deliveries,
        attempts,
        commits,
        deadLetters,
        committed: new Map([[T, committed]]),
      };
      const r = checkTriggers(full);
      return { ...r, counts: triggerCounts(r) };
    },
  };
  return h;
}

describe('trigger checker', () => {
  it('orders commits by fence: an older holder\'s commit reported late is no regression, a lower one under a later fence is', () => {
    const late = history(4);
    late.deliver([0, 1]);
    late.deliver([2, 3]);
    // The next holder (fence 2) commits 4; the first holder's commit of 2, applied before that take, is reported after it.
    late.commit(4, 2);
    late.commit(2, 1);
    expect(late.check().counts.commit_regressions).toBe(0);
    const back = history(4);
    back.deliver([0, 1, 2, 3]);
    back.commit(4, 1);
    back.commit(2, 2);
    expect(back.check().counts.commit_regressions).toBe(1);
  });

  it('accepts every record taken once, in order, with commits behind what was taken', () => {
    const h = history(5);
    h.deliver([0, 1, 2]);
    h.commit(3);
    h.deliver([3, 4]);
    h.commit(5);
    const r = h.check();
    expect(r.counts).toMatchObject({ lost: 0, out_of_order: 0, skipped: 0, duplicates: 0, unexplained_duplicates: 0, misreported_attempts: 0, valid: true });
    expect(r.attempts).toEqual({ ok: 2, partial: 0, failed: 0, unknown: 0 });
  });

  it('explains redeliveries after a failure, an unknown answer, or an ok answer no commit followed', () => {
    const h = history(3);
    h.deliver([0, 1, 2], 'threw');
    h.commit(0);
    const late = h.deliver([0, 1, 2], 'ok', { late: true });
    late.finish();
    // Answered ok, then the dispatcher crashed before its commit: the next one delivers again.
    h.deliver([0, 1, 2]);
    h.deliver([0, 1, 2]);
    h.commit(3);
    const r = h.check();
    expect(r.counts).toMatchObject({ duplicates: 9, explained_duplicates: 9, unexplained_duplicates: 0, valid: true });
    expect(r.attempts).toEqual({ ok: 2, partial: 0, failed: 1, unknown: 1 });
  });

  it('flags a redelivery that began after an ok answer and a commit past the record', () => {
    const h = history(3);
    h.deliver([0, 1]);
    h.commit(2);
    h.deliver([0, 1, 2]);
    h.commit(3);
    const r = h.check();
    expect(r.counts).toMatchObject({ duplicates: 2, unexplained_duplicates: 2, valid: false });
    expect(r.unexplainedDuplicates.map((f) => f.offset)).toEqual([0, 1]);
  });

  it('counts the records before the first failure of a partial batch response as answered ok', () => {
    const h = history(4);
    h.deliver([0, 1, 2, 3], 'partial', { failedAt: 2 });
    h.commit(2);
    h.deliver([2, 3]);
    h.commit(4);
    expect(h.check().counts).toMatchObject({ duplicates: 2, unexplained_duplicates: 0, valid: true });
    h.deliver([1]);
    expect(h.check().counts).toMatchObject({ unexplained_duplicates: 1, valid: false });
  });

  it('finds a record never taken as lost, and one passed by a commit before it was taken as skipped', () => {
    const h = history(4);
    h.deliver([0, 1], 'threw');
    // The commit passes 0 and 1 after a failure: skipped, and never taken later: lost.
    h.commit(2);
    const late = h.deliver([2], 'ok', { late: true });
    // Past 2 on an unknown answer, before the handler finished: skipped, though taken in the end.
    h.commit(3);
    late.finish();
    const r = h.check();
    expect(r.skipped.map((f) => f.offset)).toEqual([0, 1, 2]);
    expect(r.lost.map((f) => f.offset)).toEqual([0, 1, 3]);
    expect(r.counts).toMatchObject({ skipped: 3, lost: 3, valid: false });
  });

  it('finds an acknowledged offset the log does not hold', () => {
    const h = history(1);
    h.deliver([0]);
    h.commit(1);
    const r = h.check([{ partition: 0, offset: 0 }, { partition: 0, offset: 1 }]);
    expect(r.lost).toEqual([{ trigger: '*', partition: 0, offset: 1, why: 'acknowledged, but not in the log' }]);
  });

  it('takes a dead letter that carries its full record, and flags one that does not', () => {
    const h = history(3);
    h.deliver([0, 1, 2], 'threw');
    h.commit(0);
    h.deliver([0]);
    h.commit(1);
    h.deliver([1], 'threw');
    h.deadLetter(1);
    h.commit(2);
    h.deliver([2], 'threw');
    h.deadLetter(2, { value: 'changed' });
    h.commit(3);
    const r = h.check();
    expect(r.counts).toMatchObject({ dead_letters: 2, bad_dead_letters: 1, lost: 1, skipped: 1, valid: false });
    expect(r.byTrigger[T]!.dead_letters_taken).toBe(0);
    expect(r.badDeadLetters[0]!.why).toContain('value "changed"');
    expect(r.lost.map((f) => f.offset)).toEqual([2]);
  });

  it('counts records its filters leave out as taken', () => {
    const h = history(3, { trigger: { filtered: (r) => r.offset === 1 } });
    h.deliver([0, 2]);
    h.commit(3);
    expect(h.check().counts).toMatchObject({ lost: 0, skipped: 0, out_of_order: 0, valid: true });
  });

  it('finds offsets out of order within an invocation and first deliveries out of offset order', () => {
    const h = history(4);
    h.deliver([0, 2, 1]);
    h.commit(3);
    h.deliver([3]);
    h.commit(4);
    const r = h.check();
    expect(r.outOfOrder.map((f) => [f.offset, f.why.startsWith('invocation')])).toEqual([[1, true]]);

    const g = history(4);
    g.deliver([2, 3]);
    g.deliver([0, 1]);
    g.commit(4);
    expect(g.check().outOfOrder.map((f) => f.offset)).toEqual([2, 3]);
  });

  it('with key parallelism, orders first deliveries per key only', () => {
    const run = (byKey: boolean) => {
      const h = history(4, { keys: ['a', 'b'], trigger: { byKey } });
      // Key b's records (1, 3) go out before key a's (0, 2), as two events of one batch may.
      h.deliver([1, 3]);
      h.deliver([0, 2]);
      h.commit(4);
      return h.check().counts;
    };
    expect(run(true)).toMatchObject({ out_of_order: 0, valid: true });
    expect(run(false)).toMatchObject({ out_of_order: 2, valid: false });
  });

  it('finds a committed position that goes back', () => {
    const h = history(4);
    h.deliver([0, 1, 2, 3]);
    h.commit(4, 1);
    h.commit(2, 2);
    expect(h.check().commitRegressions).toEqual([{ trigger: T, partition: 0, offset: 2, why: 'committed 2 (fence 2) after 4' }]);
  });

  it('counts invocations whose reported outcome differs from the answer, without failing the run for it', () => {
    const h = history(2);
    h.deliver([0, 1]);
    h.commit(2);
    h.attempts[0]!.outcome = 'failed';
    expect(h.check().counts).toMatchObject({ misreported_attempts: 2, valid: true });
  });
});
