import { describe, expect, it } from 'vitest';
import { matchJsonPath, parseJsonPathFilter } from './filters.ts';

const match = (filter: string, value: unknown) => matchJsonPath(parseJsonPathFilter(filter), value);

describe("the message browser's JSON path filter", () => {
  it('parses names, indexes and quoted names, with an optional comparison', () => {
    expect(parseJsonPathFilter('$.a.b[2]["c d"][\'e\']')).toEqual({ path: ['a', 'b', 2, 'c d', 'e'] });
    expect(parseJsonPathFilter('$.status == "paid"')).toEqual({ path: ['status'], op: '==', operand: 'paid' });
    expect(parseJsonPathFilter('$.qty >= 3')).toEqual({ path: ['qty'], op: '>=', operand: 3 });
    expect(parseJsonPathFilter('$.status == paid')).toEqual({ path: ['status'], op: '==', operand: 'paid' });
  });

  it('refuses what it cannot mean, saying why', () => {
    expect(() => parseJsonPathFilter('status')).toThrow(/starts with \$/);
    expect(() => parseJsonPathFilter('$.')).toThrow(/a name must follow/);
    expect(() => parseJsonPathFilter('$[x]')).toThrow(/index or a quoted name/);
    expect(() => parseJsonPathFilter('$.a ~ 1')).toThrow(/one of ==/);
    expect(() => parseJsonPathFilter('$.a ==')).toThrow(/a value must follow/);
    expect(() => parseJsonPathFilter('$.a > true')).toThrow(/compares with a number or a string/);
  });

  it('matches presence, equality, order and containment', () => {
    const order = { status: 'paid', qty: 3, items: [{ sku: 'a' }], tags: ['x', 'y'], note: null };
    expect(match('$.status', order)).toBe(true);
    expect(match('$.note', order)).toBe(false);
    expect(match('$.missing', order)).toBe(false);
    expect(match('$.items[0].sku == "a"', order)).toBe(true);
    expect(match('$.items[1].sku == "a"', order)).toBe(false);
    expect(match('$.qty > 2', order)).toBe(true);
    expect(match('$.qty < 3', order)).toBe(false);
    expect(match('$.qty > "2"', order)).toBe(false);
    expect(match('$.status != "open"', order)).toBe(true);
    expect(match('$.missing != "open"', order)).toBe(true);
    expect(match('$.tags contains "y"', order)).toBe(true);
    expect(match('$.status contains "ai"', order)).toBe(true);
    expect(match('$.items == [{"sku":"a"}]', order)).toBe(true);
    expect(match('$[0] == 1', [1, 2])).toBe(true);
    expect(match('$.a', 'not an object')).toBe(false);
  });
});
