import { describe, expect, it } from 'vitest';
import { FloeError } from '../errors.ts';
import { compileTopicPattern, MAX_PATTERN_LENGTH, topicsMatching } from './patterns.ts';

describe('topic patterns', () => {
  it('match whole topic names only, as Kafka does', () => {
    expect(topicsMatching('orders-.*', ['orders-eu', 'orders-', 'old-orders-eu', 'orders'])).toEqual(['orders-eu', 'orders-']);
    expect(topicsMatching('a|b', ['a', 'b', 'ab'])).toEqual(['a', 'b']);
  });

  it('run in linear time, so a catastrophic pattern answers at once', () => {
    const re = compileTopicPattern('(a+)+b');
    const started = Date.now();
    expect(re.test(`${'a'.repeat(40)}-`)).toBe(false);
    expect(Date.now() - started).toBeLessThan(100);
  });

  it.each([
    ['a backreference', '(a)\\1', /linear time/],
    ['a lookbehind', '(?<=a)b', /linear time/],
    ['a syntax error', '[a-', /not a usable regular expression/],
    ['an escape from the anchored group', 'a)|(b', /Unmatched/],
    ['an over-long pattern', 'a'.repeat(MAX_PATTERN_LENGTH + 1), /at most 1000/],
  ])('refuse %s with a 40002 that says why', (_what, pattern, why) => {
    let caught: unknown;
    try {
      compileTopicPattern(pattern);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(FloeError);
    expect((caught as FloeError).errorCode).toBe(40002);
    expect((caught as FloeError).message).toMatch(why);
  });

  it('let a stored pattern that no longer compiles match nothing', () => {
    expect(topicsMatching('(a)\\1', ['aa'])).toEqual([]);
  });
});
