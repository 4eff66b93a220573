import { describe, expect, it } from 'vitest';
import { ReadCoalescer } from './coalesce.ts';

/** A read whose answer is the value of `state` when it started, finished by hand. */
function controlledReads() {
  let state = 0;
  const started: Array<{ saw: number; finish: () => void; fail: (e: Error) => void }> = [];
  const run = () =>
    new Promise<number>((resolve, reject) => {
      const saw = state;
      started.push({ saw, finish: () => resolve(saw), fail: reject });
    });
  return { run, started, set: (v: number) => (state = v) };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('ReadCoalescer', () => {
  it('shares one read among the callers of one turn of the event loop', async () => {
    const c = new ReadCoalescer<number>();
    const r = controlledReads();
    const all = [c.read('k', r.run), c.read('k', r.run), c.read('k', r.run)];
    expect(r.started).toHaveLength(0);
    await turn();
    expect(r.started).toHaveLength(1);
    r.started[0]!.finish();
    expect(await Promise.all(all)).toEqual([0, 0, 0]);
    expect(c.calls).toBe(1);
    expect(c.shared).toBe(2);
  });

  it('never answers a caller with a read that started before its call, and shares the next one', async () => {
    const c = new ReadCoalescer<number>();
    const r = controlledReads();
    const first = c.read('k', r.run);
    await turn();
    expect(r.started).toHaveLength(1);
    // A write lands while the first read is in flight; callers after it must see it.
    r.set(1);
    const later = [c.read('k', r.run), c.read('k', r.run), c.read('k', r.run)];
    await turn();
    expect(r.started).toHaveLength(1);
    r.started[0]!.finish();
    expect(await first).toBe(0);
    for (let i = 0; i < 3 && r.started.length < 2; i++) await turn();
    // One more read for all three, started after the first finished.
    expect(r.started).toHaveLength(2);
    // A caller between the first's end and the second's start would share the second; one after its
    // start waits for a third.
    r.set(2);
    const third = c.read('k', r.run);
    r.started[1]!.finish();
    expect(await Promise.all(later)).toEqual([1, 1, 1]);
    for (let i = 0; i < 3 && r.started.length < 3; i++) await turn();
    r.started[2]!.finish();
    expect(await third).toBe(2);
    expect(c.calls).toBe(3);
    expect(c.shared).toBe(4);
    await turn();
    expect(c.pending).toBe(0);
  });

  it('keeps keys apart', async () => {
    const c = new ReadCoalescer<number>();
    const r = controlledReads();
    const a = c.read('a', r.run);
    const b = c.read('b', r.run);
    await turn();
    expect(r.started).toHaveLength(2);
    r.started.forEach((s) => s.finish());
    await Promise.all([a, b]);
    expect(c.shared).toBe(0);
  });

  it('gives a failed read to every caller sharing it, and the next caller a read of its own', async () => {
    const c = new ReadCoalescer<number>();
    const r = controlledReads();
    const shared = [c.read('k', r.run), c.read('k', r.run)];
    await turn();
    r.started[0]!.fail(new Error('throttled'));
    for (const p of shared) await expect(p).rejects.toThrow('throttled');
    await turn();
    expect(c.pending).toBe(0);
    const after = c.read('k', r.run);
    await turn();
    r.started[1]!.finish();
    expect(await after).toBe(0);
  });
});
