import { describe, expect, it } from 'vitest';
import { RangeCache } from './range-cache.ts';

const bytes = (n: number, fill = 1) => Buffer.alloc(n, fill);

describe('RangeCache', () => {
  it('serves a sub-range of a cached range', () => {
    const c = new RangeCache(1000);
    c.put('a', 100, Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    expect([...c.get('a', 102, 105)!]).toEqual([2, 3, 4]);
    expect(c.get('a', 95, 105)).toBeUndefined();
    expect(c.get('b', 102, 105)).toBeUndefined();
  });

  it('evicts the least recently used ranges to stay within its size', () => {
    const c = new RangeCache(250);
    c.put('a', 0, bytes(100));
    c.put('b', 0, bytes(100));
    c.get('a', 0, 10); // a is now the most recent
    c.put('c', 0, bytes(100));
    expect(c.bytes).toBeLessThanOrEqual(250);
    expect(c.get('b', 0, 10)).toBeUndefined();
    expect(c.get('a', 0, 10)).toBeDefined();
    expect(c.get('c', 0, 10)).toBeDefined();
  });

  it('does not cache a range larger than the whole cache', () => {
    const c = new RangeCache(50);
    c.put('a', 0, bytes(51));
    expect(c.get('a', 0, 1)).toBeUndefined();
    expect(c.bytes).toBe(0);
  });

  it('remembers which batches of a range passed their check, until the range is evicted', () => {
    const c = new RangeCache(150);
    c.put('a', 0, bytes(100));
    const first = c.lookup('a', 10, 20)!;
    expect(first.verified).toBe(false);
    first.markVerified();
    expect(c.lookup('a', 10, 20)!.verified).toBe(true);
    expect(c.lookup('a', 30, 40)!.verified).toBe(false);
    c.put('b', 0, bytes(100)); // evicts a
    c.put('a', 0, bytes(100));
    expect(c.lookup('a', 10, 20)!.verified).toBe(false);
  });
});
