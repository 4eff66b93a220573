import { afterEach, describe, expect, it, vi } from 'vitest';
import { SampleRing } from './samples.ts';

afterEach(() => vi.useRealTimers());

describe('the console ring of samples', () => {
  it('turns the counts between samples into rates per second, and reads lag at each sample', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const lag = new Map([['billing', 5]]);
    const ring = new SampleRing({ intervalMs: 10_000, lagOf: async () => new Map(lag) });
    ring.metrics.recordsProduced!('orders', 30, 3000);
    vi.setSystemTime(1_010_000);
    await ring.sample();
    ring.metrics.recordsProduced!('orders', 5, 500);
    ring.metrics.recordsFetched!('orders', 50, 5000);
    lag.set('billing', 2);
    vi.setSystemTime(1_015_000);
    await ring.sample();
    const s = await ring.series({ minutes: 60 });
    expect(s).toEqual({
      source: 'local',
      step_ms: 10_000,
      timestamps: [1_010_000, 1_015_000],
      topics: { orders: { produced_per_s: [3, 1], fetched_per_s: [0, 10] } },
      groups: { billing: { lag: [5, 2] } },
    });
  });

  it("answers one topic's series or one group's, and only the last minutes asked for", async () => {
    vi.useFakeTimers({ now: 0 });
    const ring = new SampleRing({ intervalMs: 60_000, lagOf: async () => new Map([['g', 1]]) });
    ring.metrics.recordsProduced!('a', 1, 1);
    ring.metrics.recordsProduced!('b', 1, 1);
    vi.setSystemTime(60_000);
    await ring.sample();
    vi.setSystemTime(10 * 60_000);
    await ring.sample();
    expect(Object.keys((await ring.series({ minutes: 60, topic: 'a' })).topics)).toEqual(['a']);
    expect((await ring.series({ minutes: 60, topic: 'a' })).groups).toEqual({});
    expect((await ring.series({ minutes: 60, group: 'g' })).topics).toEqual({});
    expect((await ring.series({ minutes: 5 })).timestamps).toEqual([10 * 60_000]);
  });

  it('keeps an hour of samples by default, dropping the oldest', async () => {
    const ring = new SampleRing({ intervalMs: 60_000, lagOf: async () => new Map() });
    for (let i = 0; i < 70; i++) await ring.sample();
    expect((await ring.series({ minutes: 60 })).timestamps).toHaveLength(60);
  });

  it('samples on a timer that waits for each lag read, and stops', async () => {
    let reads = 0;
    const ring = new SampleRing({ intervalMs: 5, lagOf: async () => (reads++, new Map()) });
    ring.start();
    await vi.waitFor(() => expect(reads).toBeGreaterThanOrEqual(3));
    await ring.stop();
    const after = reads;
    await new Promise((r) => setTimeout(r, 30));
    expect(reads).toBe(after);
  });
});
