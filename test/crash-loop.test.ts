import { describe, expect, it } from 'vitest';
import { crashLoop } from './harness/crash-loop.ts';

describe('process crashes', () => {
  it('keeps every acknowledged record at its offset across SIGKILLs of the server under load', async () => {
    const r = await crashLoop({ rounds: 3, seed: 5 });
    expect(r.failures).toEqual([]);
    expect(r.passed).toBe(3);
    expect(r.acked).toBeGreaterThan(20);
  }, 120_000);
});
