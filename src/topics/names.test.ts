import { describe, expect, it } from 'vitest';
import { validateTopicName } from './names.ts';

describe('topic names', () => {
  it.each(['orders', 'a.b_c-D9', 'x'.repeat(249), '...'])('accepts %j', (name) => {
    expect(validateTopicName(name)).toBe(name);
  });

  it.each(['', '.', '..', '../x', 'a/b', 'a b', 'é', 'x'.repeat(250), 'a\u0000b', 'a#1'])('refuses %j with 400 40002', (name) => {
    expect(() => validateTopicName(name)).toThrow(expect.objectContaining({ status: 400, errorCode: 40002 }));
  });
});
