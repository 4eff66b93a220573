// The bounded streams fault run: a word count and a windowed count, each run by instances whose storage
// fails, loses answers and crashes (then replaced), behind a client that fails calls and loses answers,
// with zombies left running beside their successors; then every final count against the input, in the
// output topic and in the store's table. `npm run test:faults -- --streams` runs it long.
import { describe, expect, it } from 'vitest';
import { DEFAULT_FAULTS } from './harness/faults.ts';
import { WINDOWED_COUNT, WORD_COUNT } from './harness/streams-apps.ts';
import { runStreamsWorkload, streamsSummary, type StreamsWorkloadOptions } from './harness/streams-workload.ts';
import { ownTriggersTable, randomTopic, testConfig } from './support/env.ts';

async function bounded(name: string, seed: number, changes: Partial<StreamsWorkloadOptions>) {
  return runStreamsWorkload({
    config: testConfig({ ...(await ownTriggersTable()) }),
    prefix: randomTopic(name),
    seed: Number(process.env.FLOE_FAULT_SEED ?? seed),
    app: WORD_COUNT,
    words: 600,
    partitions: 4,
    guarantee: 'exactly_once',
    rates: DEFAULT_FAULTS,
    crashEvery: 400,
    maxCrashes: 12,
    clientFaultRate: 0.02,
    zombieEvery: 4,
    maxMs: 200_000,
    tableWaitMs: 120_000,
    ...changes,
  });
}

describe('streams under faults', () => {
  it('exactly once: every word count exact, in the output and in the table, through crashes, lost answers and zombies (bounded run)', async () => {
    const r = await bounded('sfaults', 61, {});
    const s = streamsSummary(r, 'exactly_once');
    console.log(JSON.stringify(s));
    if (r.trace) console.log(JSON.stringify(r.trace));
    expect(s.finished, JSON.stringify(s)).toBe(true);
    expect(r.under, JSON.stringify(s)).toEqual([]);
    expect(r.over, JSON.stringify(s)).toEqual([]);
    expect(r.tableMismatches, JSON.stringify(r.tableMismatches)).toEqual([]);
    expect(s.faults + s.client_faults).toBeGreaterThan(20);
  }, 330_000);

  it('exactly once: every windowed count exact (bounded run)', async () => {
    const r = await bounded('swfaults', 62, { app: WINDOWED_COUNT, words: 400 });
    const s = streamsSummary(r, 'exactly_once');
    console.log(JSON.stringify(s));
    if (r.trace) console.log(JSON.stringify(r.trace));
    expect(s.finished, JSON.stringify(s)).toBe(true);
    expect(r.under).toEqual([]);
    expect(r.over).toEqual([]);
    expect(r.tableMismatches, JSON.stringify(r.tableMismatches)).toEqual([]);
  }, 330_000);

  it('at least once: nothing below the exact count (bounded run)', async () => {
    const r = await bounded('safaults', 63, { guarantee: 'at_least_once', words: 300 });
    const s = streamsSummary(r, 'at_least_once');
    console.log(JSON.stringify(s));
    if (r.trace) console.log(JSON.stringify(r.trace));
    expect(s.finished, JSON.stringify(s)).toBe(true);
    expect(r.under).toEqual([]);
    expect(r.tableMismatches, JSON.stringify(r.tableMismatches)).toEqual([]);
  }, 330_000);
});
