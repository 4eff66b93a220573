// The bounded trigger fault run: two triggers (one plain, one with key parallelism and a filter) deliver
// a steadily produced topic to a handler that fails, answers partially, runs past its time limit and
// has poison records, through dispatcher processes with storage faults and crashes; then the trigger
// checker over the whole history. `npm run test:faults -- --triggers` runs it long. Then the same checker
// against planted bugs, each patched into the lane or the triggers table at run time, that a short
// bounded run must find: a checker that passed these would pass a trigger that skips, overlaps or
// reorders deliveries.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CommitItem } from '../src/storage/commit.ts';
import { TriggersTable } from '../src/storage/triggers-table.ts';
import { LaneRun } from '../src/triggers/lane.ts';
import { DEFAULT_FAULTS } from './harness/faults.ts';
import { runTriggerWorkload, triggerSummary, type TriggerWorkloadOptions } from './harness/trigger-workload.ts';
import { randomTopic, testConfig } from './support/env.ts';

function boundedTriggerRun(name: string, defaultSeed: number, changes: Partial<TriggerWorkloadOptions> = {}) {
  return runTriggerWorkload({
    config: testConfig(),
    prefix: randomTopic(name),
    seed: Number(process.env.FLOE_FAULT_SEED ?? defaultSeed),
    records: 300,
    recordsPerSecond: 15,
    maxMs: 35_000,
    drainMs: 40_000,
    rates: DEFAULT_FAULTS,
    crashEvery: 150,
    dispatchers: 3,
    ...changes,
  });
}

describe('triggers under faults', () => {
  it('delivers every record at least once, in order per partition and per key, none skipped, poison records to the dead-letter topics (bounded run)', async () => {
    const run = await boundedTriggerRun('trgfaults', 41);
    const s = triggerSummary(run);
    const counts = JSON.stringify(s);
    console.log(counts);
    // The pace is what a loaded machine allows: most of the records, all of them acknowledged.
    expect(s.produced, counts).toBeGreaterThan(150);
    expect(s.acked, counts).toBe(s.produced);
    expect(s.poison_records, counts).toBeGreaterThan(0);
    expect(s.caught_up, counts).toBe(true);
    expect(s.crashes, counts).toBeGreaterThan(0);
    expect(s.faults_injected, counts).toBeGreaterThan(50);
    expect(s.attempts.failed, counts).toBeGreaterThan(0);
    expect(s.attempts.partial, counts).toBeGreaterThan(0);
    expect(s.attempts.unknown, counts).toBeGreaterThan(0);
    expect(s.explained_duplicates, counts).toBeGreaterThan(0);
    // Each poison record ends in each trigger's dead-letter topic.
    for (const t of Object.values(s.by_trigger)) expect(t.dead_letters, counts).toBeGreaterThanOrEqual(s.poison_records);
    expect(run.result.lost, counts).toEqual([]);
    expect(run.result.outOfOrder, counts).toEqual([]);
    expect(run.result.skipped, counts).toEqual([]);
    expect(run.result.unexplainedDuplicates, counts).toEqual([]);
    expect(run.result.badDeadLetters, counts).toEqual([]);
    expect(run.result.commitRegressions, counts).toEqual([]);
    expect(s.misreported_attempts, counts).toBe(0);
    expect(s.valid, counts).toBe(true);
  }, 180_000);
});

/** A short run: fewer records than the full bounded run, the same faults and crashes. */
const plantedRun = (name: string, seed: number, changes: Partial<TriggerWorkloadOptions> = {}) => boundedTriggerRun(name, seed, { records: 120, recordsPerSecond: 20, drainMs: 20_000, ...changes });

afterEach(() => {
  vi.restoreAllMocks();
});

type LaneInternals = {
  failed(offset: number, batch: Array<{ at: number }>, ...rest: unknown[]): Promise<number | 'lost'>;
  commit(offset: number, change: object): Promise<boolean>;
  invokeOne(records: unknown[]): Promise<unknown>;
};
const lane = LaneRun.prototype as unknown as LaneInternals;

describe('the trigger checker finds planted bugs', () => {
  it('(a) a lane that commits past its whole batch after a failure: skipped and lost records', async () => {
    vi.spyOn(lane, 'failed').mockImplementation(async function (this: LaneInternals, _offset, batch) {
      const end = batch.at(-1)!.at + 1;
      return (await this.commit(end, { set: { attempts: 0, failingOffset: null } })) ? end : 'lost';
    });
    const run = await plantedRun('plant-skip', 51);
    const s = triggerSummary(run);
    console.log(JSON.stringify({ planted: 'commit past a failed batch', ...s }));
    expect(s.skipped, JSON.stringify(s)).toBeGreaterThan(0);
    expect(s.lost, JSON.stringify(s)).toBeGreaterThan(0);
    expect(s.valid).toBe(false);
  }, 120_000);

  it('(b) a lease taken from its holder and commits without the fence: two dispatchers deliver one lane at once', async () => {
    const take = TriggersTable.prototype.takeLease;
    // The lease is taken whenever asked, as if every holder's lease had run out.
    vi.spyOn(TriggersTable.prototype, 'takeLease').mockImplementation(function (this: TriggersTable, name, key, owner, _now, until) {
      return take.call(this, name, key, owner, Number.MAX_SAFE_INTEGER, until);
    });
    const params = TriggersTable.prototype.laneUpdateParams;
    // And a holder's writes no longer carry the owner and fence condition.
    vi.spyOn(TriggersTable.prototype, 'laneUpdateParams').mockImplementation(function (this: TriggersTable, ...args): CommitItem {
      const u = { ...params.apply(this, args).Update! };
      const names: Record<string, string> = { ...u.ExpressionAttributeNames };
      const values: Record<string, unknown> = { ...u.ExpressionAttributeValues };
      delete names['#owner'];
      delete names['#fence'];
      delete values[':me'];
      delete values[':fence'];
      const { ConditionExpression: _dropped, ...rest } = u;
      return { Update: { ...rest, ExpressionAttributeNames: Object.keys(names).length ? names : undefined, ExpressionAttributeValues: (Object.keys(values).length ? values : undefined) as never } };
    });
    const run = await plantedRun('plant-fence', 52);
    const s = triggerSummary(run);
    console.log(JSON.stringify({ planted: 'lease and fence not checked', ...s }));
    expect(s.unexplained_duplicates, JSON.stringify(s)).toBeGreaterThan(0);
    expect(s.valid).toBe(false);
  }, 120_000);

  it('(c) a batch delivered in reverse offset order: out of order', async () => {
    const invokeOne = lane.invokeOne;
    vi.spyOn(lane, 'invokeOne').mockImplementation(function (this: LaneInternals, records) {
      return invokeOne.call(this, [...records].reverse());
    });
    const run = await plantedRun('plant-order', 53);
    const s = triggerSummary(run);
    console.log(JSON.stringify({ planted: 'batch reversed', ...s }));
    expect(s.out_of_order, JSON.stringify(s)).toBeGreaterThan(0);
    expect(s.valid).toBe(false);
  }, 120_000);
});
