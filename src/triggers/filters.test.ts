import { describe, expect, it } from 'vitest';
import { FloeError } from '../errors.ts';
import { compileFilters, MAX_FILTER_PATTERN_LENGTH, MAX_FILTERS } from './filters.ts';

type Bytes = Buffer | null;
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const text = (s: string): Buffer => Buffer.from(s);
const record = (value: Bytes, key: Bytes = null) => ({ key, value });

/** Whether a single pattern (given as an object) matches a value (and key). */
function matches(pattern: object, value: Bytes, key: Bytes = null): boolean {
  return compileFilters([{ pattern }]).matches(record(value, key));
}

/** The message of the error compiling `filters` throws, checked to be a 400 (40002) FloeError. */
function refusal(filters: unknown): string {
  try {
    compileFilters(filters);
  } catch (e) {
    expect(e).toBeInstanceOf(FloeError);
    expect((e as FloeError).code).toBe('BAD_REQUEST');
    expect((e as FloeError).errorCode).toBe(40002);
    return (e as FloeError).message;
  }
  throw new Error(`accepted ${JSON.stringify(filters)}`);
}

const order = { device_ID: 'AB1234', session: { start_time: '2024-01-01T00:00:00', duration: 162 }, tags: ['red', 'blue'], paid: true, coupon: null, items: [{ sku: 'a', qty: 1 }, { sku: 'b', qty: 5 }] };

describe('compileFilters: no filters', () => {
  it('matches every record, tombstones and binary values included', () => {
    for (const f of [compileFilters([]), compileFilters(undefined)]) {
      expect(f.empty).toBe(true);
      expect(f.matches(record(json(order)))).toBe(true);
      expect(f.matches(record(null))).toBe(true);
      expect(f.matches(record(Buffer.from([0xff, 0xfe])))).toBe(true);
    }
    expect(compileFilters([{ pattern: { value: ['x'] } }]).empty).toBe(false);
  });
});

describe('compileFilters: the patterns of AWS documentation', () => {
  it('prefix on a field of a JSON value, with the pattern as a JSON string', () => {
    const f = compileFilters([{ pattern: '{ "value" : { "device_ID" : [ { "prefix": "AB" } ] } }' }]);
    expect(f.matches(record(json(order)))).toBe(true);
    expect(f.matches(record(json({ ...order, device_ID: 'CD1234' })))).toBe(false);
  });

  it('anything-but on a plain-string value', () => {
    const f = compileFilters([{ pattern: '{ "value" : [ { "anything-but": [ "error" ] } ] }' }]);
    expect(f.matches(record(text('all good')))).toBe(true);
    expect(f.matches(record(text('error')))).toBe(false);
  });
});

describe('compileFilters: exact values', () => {
  it('match any of the strings, numbers, booleans and null listed', () => {
    const p = { value: { device_ID: ['XX', 'AB1234'] } };
    expect(matches(p, json(order))).toBe(true);
    expect(matches({ value: { device_ID: ['XX'] } }, json(order))).toBe(false);
    expect(matches({ value: { session: { duration: [162] } } }, json(order))).toBe(true);
    expect(matches({ value: { session: { duration: [161, 163] } } }, json(order))).toBe(false);
    expect(matches({ value: { paid: [true] } }, json(order))).toBe(true);
    expect(matches({ value: { paid: [false] } }, json(order))).toBe(false);
    expect(matches({ value: { coupon: [null] } }, json(order))).toBe(true);
    expect(matches({ value: { paid: [null] } }, json(order))).toBe(false);
  });

  it('compare types strictly: "5" is not 5, true is not "true"', () => {
    expect(matches({ value: { n: ['5'] } }, json({ n: 5 }))).toBe(false);
    expect(matches({ value: { n: [5] } }, json({ n: '5' }))).toBe(false);
    expect(matches({ value: { b: ['true'] } }, json({ b: true }))).toBe(false);
    expect(matches({ value: { n: [5] } }, text('{"n":5.0}'))).toBe(true);
  });

  it('[""] matches an empty string, and [null] does not match a missing field', () => {
    expect(matches({ value: { s: [''] } }, json({ s: '' }))).toBe(true);
    expect(matches({ value: { s: [''] } }, json({ s: 'x' }))).toBe(false);
    expect(matches({ value: { missing: [null] } }, json(order))).toBe(false);
  });
});

describe('compileFilters: operators', () => {
  it.each([
    ['prefix', { prefix: 'AB' }, 'AB1234', 'XAB'],
    ['prefix ""', { prefix: '' }, 'anything', 5],
    ['suffix', { suffix: '34' }, 'AB1234', 'AB1235'],
    ['equals-ignore-case', { 'equals-ignore-case': 'ab1234' }, 'AB1234', 'AB12345'],
    ['wildcard in the middle', { wildcard: 'A*4' }, 'AB1234', 'AB1235'],
    ['wildcard at both ends', { wildcard: '*12*' }, 'AB1234', 'AB1334'],
    ['wildcard of several pieces', { wildcard: 'a*b*c' }, 'a-b-b-c', 'a-c-b'],
    ['wildcard without a star', { wildcard: 'AB' }, 'AB', 'ABC'],
    ['wildcard with an escaped star', { wildcard: 'a\\**' }, 'a*bc', 'abc'],
    ['wildcard with an escaped backslash', { wildcard: 'a\\\\*' }, 'a\\bc', 'abc'],
    ['a lone wildcard', { wildcard: '*' }, '', 5],
    ['anything-but a string', { 'anything-but': 'AB1234' }, 'CD', 'AB1234'],
    ['anything-but a list', { 'anything-but': ['AB', 'CD'] }, 'EF', 'CD'],
    ['anything-but a number', { 'anything-but': 5 }, 6, 5],
    ['anything-but numbers', { 'anything-but': [1, 2] }, 3, 2],
    ['anything-but a prefix', { 'anything-but': { prefix: 'us-' } }, 'eu-west-1', 'us-east-1'],
    ['anything-but a suffix', { 'anything-but': { suffix: '.png' } }, 'a.jpg', 'a.png'],
    ['anything-but ignoring case', { 'anything-but': { 'equals-ignore-case': 'init' } }, 'running', 'INIT'],
    ['anything-but a wildcard', { 'anything-but': { wildcard: '*/lib/*' } }, 'src/a.ts', 'src/lib/a.ts'],
    ['numeric =', { numeric: ['=', 5] }, 5, 5.5],
    ['numeric >', { numeric: ['>', 0] }, 0.1, 0],
    ['numeric >=', { numeric: ['>=', 0] }, 0, -0.1],
    ['numeric <', { numeric: ['<', 10] }, 9, 10],
    ['numeric <=', { numeric: ['<=', 10] }, 10, 10.01],
    ['numeric range', { numeric: ['>', 0, '<=', 5] }, 5, 0],
    ['numeric range, upper bound first', { numeric: ['<', 5, '>=', 0] }, 0, 5],
    ['numeric only on numbers', { numeric: ['>', 0] }, 1, '1'],
    ['prefix only on strings', { prefix: '1' }, '12', 12],
    ['exists: true', { exists: true }, 'x', undefined],
    ['exists: false', { exists: false }, undefined, 'x'],
  ])('%s', (_what, operator, yes, no) => {
    const pattern = { value: { f: [operator] } };
    const withF = (v: unknown) => json(v === undefined ? {} : { f: v });
    expect(matches(pattern, withF(yes))).toBe(true);
    expect(matches(pattern, withF(no))).toBe(false);
  });

  it('anything-but matches other kinds of value, but never a missing field', () => {
    expect(matches({ value: { f: [{ 'anything-but': 'x' }] } }, json({ f: 5 }))).toBe(true);
    expect(matches({ value: { f: [{ 'anything-but': { prefix: 'x' } }] } }, json({ f: null }))).toBe(true);
    expect(matches({ value: { f: [{ 'anything-but': 'x' }] } }, json({}))).toBe(false);
  });

  it('exists looks for a value: an object or an empty array is none', () => {
    expect(matches({ value: { session: [{ exists: true }] } }, json(order))).toBe(false);
    // As in EventBridge, exists works on leaf values: a field holding an object counts as no value.
    expect(matches({ value: { session: [{ exists: false }] } }, json(order))).toBe(true);
    expect(matches({ value: { coupon: [{ exists: true }] } }, json(order))).toBe(true);
    expect(matches({ value: { e: [{ exists: true }] } }, json({ e: [] }))).toBe(false);
    expect(matches({ value: { e: [{ exists: false }] } }, json({ e: [] }))).toBe(true);
    expect(matches({ value: { a: { b: [{ exists: false }] } } }, json({}))).toBe(true);
  });

  it('lists alternatives: the field matches when any rule does', () => {
    const p = { value: { f: ['exact', { prefix: 'pre' }, { numeric: ['>', 100] }] } };
    expect(matches(p, json({ f: 'exact' }))).toBe(true);
    expect(matches(p, json({ f: 'prefixed' }))).toBe(true);
    expect(matches(p, json({ f: 101 }))).toBe(true);
    expect(matches(p, json({ f: 'other' }))).toBe(false);
    expect(matches(p, json({ f: 100 }))).toBe(false);
  });
});

describe('compileFilters: structure', () => {
  it('matches nested fields', () => {
    expect(matches({ value: { session: { duration: [{ numeric: ['>', 100] }] } } }, json(order))).toBe(true);
    expect(matches({ value: { session: { duration: [{ numeric: ['>', 200] }] } } }, json(order))).toBe(false);
    expect(matches({ value: { session: { nope: ['x'] } } }, json(order))).toBe(false);
    expect(matches({ value: { device_ID: { deeper: ['x'] } } }, json(order))).toBe(false);
  });

  it('matches an array in the data when any element does', () => {
    expect(matches({ value: { tags: ['blue'] } }, json(order))).toBe(true);
    expect(matches({ value: { tags: ['green'] } }, json(order))).toBe(false);
    expect(matches({ value: { tags: [{ 'anything-but': 'red' }] } }, json(order))).toBe(true);
    expect(matches({ value: { m: [3] } }, json({ m: [[1, 2], [3]] }))).toBe(true);
    expect(matches({ value: { items: { qty: [5] } } }, json(order))).toBe(true);
    expect(matches({ value: { items: { sku: ['c'] } } }, json(order))).toBe(false);
  });

  it('needs all the fields of an object pattern in the same array element', () => {
    expect(matches({ value: { items: { sku: ['b'], qty: [5] } } }, json(order))).toBe(true);
    expect(matches({ value: { items: { sku: ['a'], qty: [5] } } }, json(order))).toBe(false);
  });

  it('ANDs the fields of one pattern', () => {
    const p = { value: { device_ID: [{ prefix: 'AB' }], paid: [true] } };
    expect(matches(p, json(order))).toBe(true);
    expect(matches(p, json({ ...order, paid: false }))).toBe(false);
    expect(matches(p, json({ ...order, device_ID: 'X' }))).toBe(false);
  });

  it('ANDs value and key', () => {
    const p = { value: { paid: [true] }, key: ['customer-1'] };
    expect(matches(p, json(order), text('customer-1'))).toBe(true);
    expect(matches(p, json(order), text('customer-2'))).toBe(false);
    expect(matches(p, json({ paid: false }), text('customer-1'))).toBe(false);
  });

  it('ORs the filters', () => {
    const f = compileFilters([{ pattern: { value: { device_ID: ['X'] } } }, { pattern: '{"value":{"paid":[true]}}' }, { pattern: { key: [{ prefix: 'vip-' }] } }]);
    expect(f.matches(record(json(order)))).toBe(true);
    expect(f.matches(record(json({ device_ID: 'X' })))).toBe(true);
    expect(f.matches(record(json({ paid: false }), text('vip-7')))).toBe(true);
    expect(f.matches(record(json({ paid: false }), text('plain-7')))).toBe(false);
    expect(f.matches(record(json({ paid: false })))).toBe(false);
  });

  it('takes field names that look like operators, or are __proto__, as field names', () => {
    expect(matches({ value: { prefix: ['x'] } }, json({ prefix: 'x' }))).toBe(true);
    expect(matches(JSON.parse('{"value":{"__proto__":["x"]}}'), text('{"__proto__":"x"}'))).toBe(true);
    expect(matches(JSON.parse('{"value":{"__proto__":["x"]}}'), json({}))).toBe(false);
    expect(matches({ value: { toString: [{ exists: true }] } }, json({}))).toBe(false);
  });
});

describe('compileFilters: values that are not JSON objects', () => {
  it('matches a plain-string value only as a whole', () => {
    expect(matches({ value: ['hello world'] }, text('hello world'))).toBe(true);
    expect(matches({ value: [{ prefix: 'hello' }] }, text('hello world'))).toBe(true);
    expect(matches({ value: [{ wildcard: '*wor*' }] }, text('hello world'))).toBe(true);
    expect(matches({ value: ['hello'] }, text('hello world'))).toBe(false);
    expect(matches({ value: { hello: [{ exists: true }] } }, text('hello world'))).toBe(false);
    expect(matches({ value: { hello: ['world'] } }, text('hello: world'))).toBe(false);
  });

  it('reads JSON scalars as what they are', () => {
    expect(matches({ value: [42] }, text('42'))).toBe(true);
    expect(matches({ value: ['42'] }, text('42'))).toBe(false);
    expect(matches({ value: ['quoted'] }, text('"quoted"'))).toBe(true);
    expect(matches({ value: [true] }, text('true'))).toBe(true);
    expect(matches({ value: [{ numeric: ['>', 1] }] }, text('[0, 2]'))).toBe(true);
  });

  it('does not match a whole-value rule against a JSON object', () => {
    expect(matches({ value: [{ prefix: '{' }] }, json(order))).toBe(false);
    expect(matches({ value: [{ exists: true }] }, json(order))).toBe(false);
  });

  it('matches an empty value as the empty string', () => {
    expect(matches({ value: [''] }, Buffer.alloc(0))).toBe(true);
    expect(matches({ value: [{ exists: true }] }, Buffer.alloc(0))).toBe(true);
    expect(matches({ value: [null] }, Buffer.alloc(0))).toBe(false);
  });

  it('matches nothing in a value that is not UTF-8, but a key-only filter still sees the key', () => {
    const binary = Buffer.from([0x7b, 0xc3, 0x28, 0x7d]);
    expect(matches({ value: [{ exists: false }] }, binary)).toBe(false);
    expect(matches({ value: [{ 'anything-but': 'x' }] }, binary)).toBe(false);
    expect(matches({ key: ['k'] }, binary, text('k'))).toBe(true);
    expect(matches({ key: ['k'], value: [{ exists: false }] }, binary, text('k'))).toBe(false);
  });
});

describe('compileFilters: the key', () => {
  it('matches the key as a UTF-8 string, or as JSON when it parses', () => {
    expect(matches({ key: ['order-1'] }, null, text('order-1'))).toBe(true);
    expect(matches({ key: [{ prefix: 'order-' }] }, null, text('order-1'))).toBe(true);
    expect(matches({ key: { region: ['eu'] } }, null, json({ region: 'eu', id: 1 }))).toBe(true);
    expect(matches({ key: { region: ['us'] } }, null, json({ region: 'eu', id: 1 }))).toBe(false);
    expect(matches({ key: [7] }, null, text('7'))).toBe(true);
    expect(matches({ key: ['ключ'] }, null, text('ключ'))).toBe(true);
  });

  it('treats a key that is not UTF-8 as matching nothing', () => {
    expect(matches({ key: [{ exists: false }] }, json(order), Buffer.from([0xff]))).toBe(false);
    expect(matches({ value: { paid: [true] } }, json(order), Buffer.from([0xff]))).toBe(true);
  });

  it('treats a null key like a tombstone value: only [null] and exists:false match it', () => {
    expect(matches({ key: [null] }, json(order), null)).toBe(true);
    expect(matches({ key: [{ exists: false }] }, json(order), null)).toBe(true);
    expect(matches({ key: [{ exists: true }] }, json(order), null)).toBe(false);
    expect(matches({ key: [{ 'anything-but': 'k' }] }, json(order), null)).toBe(false);
    expect(matches({ key: [null] }, json(order), text('k'))).toBe(false);
  });
});

describe('compileFilters: tombstones (null value)', () => {
  const tombstone = record(null, text('order-1'));

  it('match only the patterns that ask for no content', () => {
    const yes = [{ value: [null] }, { value: [{ exists: false }] }, { value: ['x', null] }, { value: { f: [{ exists: false }] } }, { key: ['order-1'] }];
    const no = [
      { value: [{ exists: true }] },
      { value: [{ 'anything-but': ['error'] }] },
      { value: [''] },
      { value: ['null'] },
      { value: [{ prefix: '' }] },
      { value: { f: [null] } },
      { value: { f: [{ 'anything-but': 'x' }] } },
      { value: [null], key: ['other'] },
    ];
    for (const p of yes) expect(compileFilters([{ pattern: p }]).matches(tombstone), JSON.stringify(p)).toBe(true);
    for (const p of no) expect(compileFilters([{ pattern: p }]).matches(tombstone), JSON.stringify(p)).toBe(false);
  });

  it('differ from a value that is the JSON text null', () => {
    expect(matches({ value: [null] }, text('null'))).toBe(true);
    expect(matches({ value: [{ exists: true }] }, text('null'))).toBe(true);
    expect(matches({ value: [{ exists: false }] }, text('null'))).toBe(false);
  });

  it('can be let through beside an anything-but filter, since filters are ORed', () => {
    const f = compileFilters([{ pattern: { value: [{ 'anything-but': ['error'] }] } }, { pattern: { value: [null] } }]);
    expect(f.matches(tombstone)).toBe(true);
    expect(f.matches(record(text('fine')))).toBe(true);
    expect(f.matches(record(text('error')))).toBe(false);
  });
});

describe('compileFilters: validation', () => {
  const one = (pattern: unknown) => [{ pattern }];

  it.each([
    ['filters that are not an array', { pattern: '{}' }, /^filters: must be an array/],
    ['null filters', null, /^filters: must be an array/],
    ['too many filters', Array.from({ length: MAX_FILTERS + 1 }, () => ({ pattern: { value: ['x'] } })), /^filters: has 6 filters; at most 5 are allowed/],
    ['a filter that is not an object', ['{"value":["x"]}'], /^filters\[0\]: must be an object/],
    ['a null filter', [null], /^filters\[0\]: must be an object/],
    ["Lambda's capitalised Pattern", [{ Pattern: '{"value":["x"]}' }], /^filters\[0\]: unknown property "Pattern"/],
    ['an extra property', [{ pattern: { value: ['x'] }, name: 'f' }], /^filters\[0\]: unknown property "name"/],
    ['a missing pattern', [{}], /^filters\[0\]\.pattern: is missing/],
    ['a numeric pattern', one(5), /^filters\[0\]\.pattern: must be a JSON string or an object/],
    ['an array pattern', one([{ value: ['x'] }]), /^filters\[0\]\.pattern: must be a JSON string or an object/],
    ['a pattern string that is not JSON', one('{value: ["x"]}'), /^filters\[0\]\.pattern: is not valid JSON/],
    ['a pattern string holding an array', one('[1]'), /^filters\[0\]\.pattern: must be a JSON object/],
    ['a pattern string holding a string', one('"x"'), /^filters\[0\]\.pattern: must be a JSON object/],
    ['an over-long pattern string', one(JSON.stringify({ value: ['x'.repeat(MAX_FILTER_PATTERN_LENGTH)] })), /^filters\[0\]\.pattern: is \d+ characters long; at most 4096/],
    ['an over-long pattern object', one({ value: ['x'.repeat(MAX_FILTER_PATTERN_LENGTH)] }), /^filters\[0\]\.pattern: is \d+ characters long as JSON; at most 4096/],
    ['a pattern object that is not JSON', one({ value: [BigInt(1)] }), /^filters\[0\]\.pattern: is not JSON/],
    ['an empty pattern', one({}), /^filters\[0\]\.pattern: is empty/],
    ['a field other than value and key', one({ topic: ['orders'] }), /^filters\[0\]\.pattern: field "topic" cannot be filtered on; .* "value" and "key"/],
    ['a bare string for a field', one({ value: 'x' }), /^filters\[0\]\.pattern\.value: must be an array of rules .* got "x"/],
    ['a bare operator for a field', one({ value: { device_ID: { prefix: 'AB' } } }), /^filters\[0\]\.pattern\.value\.device_ID\.prefix: must be an array of rules/],
    ['an empty object', one({ value: { a: {} } }), /^filters\[0\]\.pattern\.value\.a: is an empty object/],
    ['an empty rule array', one({ value: { a: [] } }), /^filters\[0\]\.pattern\.value\.a: is an empty array/],
    ['a nested rule array', one({ value: [['x']] }), /^filters\[0\]\.pattern\.value\[0\]: is an array inside a rule array/],
    ['a non-finite number', one({ value: [Infinity] }), /^filters\[0\]\.pattern\.value\[0\]: must be a finite number/],
    ['an unknown operator', [{ pattern: { value: ['x'] } }, { pattern: '{"value":{"device_ID":[{"begins":"AB"}]}}' }], /^filters\[1\]\.pattern\.value\.device_ID\[0\]: unknown operator "begins"/],
    ['an operator object with two operators', one({ value: [{ prefix: 'a', suffix: 'b' }] }), /^filters\[0\]\.pattern\.value\[0\]: an operator object holds exactly one operator, got "prefix", "suffix"/],
    ['an empty operator object', one({ value: [{}] }), /^filters\[0\]\.pattern\.value\[0\]: an operator object holds exactly one operator, got none/],
    ['a non-string prefix', one({ value: [{ prefix: 5 }] }), /^filters\[0\]\.pattern\.value\[0\]\.prefix: takes a string, got 5/],
    ['prefix with equals-ignore-case inside', one({ value: [{ prefix: { 'equals-ignore-case': 'a' } }] }), /\.prefix: takes a string/],
    ['a non-string suffix', one({ value: [{ suffix: null }] }), /\.suffix: takes a string, got null/],
    ['a non-string equals-ignore-case', one({ value: [{ 'equals-ignore-case': ['a'] }] }), /\.equals-ignore-case: takes a string/],
    ['a non-string wildcard', one({ value: [{ wildcard: 1 }] }), /\.wildcard: takes a string/],
    ['consecutive wildcards', one({ value: [{ wildcard: 'a**b' }] }), /\.wildcard: has consecutive wildcard characters/],
    ['a stray backslash in a wildcard', one({ value: [{ wildcard: 'a\\b' }] }), /\.wildcard: a backslash escapes only \* or \\/],
    ['a trailing backslash in a wildcard', one({ value: [{ wildcard: 'a\\' }] }), /\.wildcard: a backslash escapes only/],
    ['a non-boolean exists', one({ value: [{ exists: 'yes' }] }), /\.exists: takes true or false/],
    ['an empty anything-but list', one({ value: [{ 'anything-but': [] }] }), /\.anything-but: takes a non-empty list/],
    ['a boolean in an anything-but list', one({ value: [{ 'anything-but': ['a', true] }] }), /\.anything-but\[1\]: must be a string or a number, got true/],
    ['a boolean anything-but', one({ value: [{ 'anything-but': false }] }), /\.anything-but: takes a string, a number, a list of them/],
    ['an unknown operator inside anything-but', one({ value: [{ 'anything-but': { begins: 'a' } }] }), /\.anything-but: unknown operator "begins" inside anything-but/],
    ['two operators inside anything-but', one({ value: [{ 'anything-but': { prefix: 'a', suffix: 'b' } }] }), /\.anything-but: takes one of prefix/],
    ['a non-string inside anything-but', one({ value: [{ 'anything-but': { prefix: 1 } }] }), /\.anything-but\.prefix: takes a string/],
    ['numeric that is not an array', one({ value: [{ numeric: 5 }] }), /\.numeric: takes \[op, number\]/],
    ['numeric of the wrong length', one({ value: [{ numeric: ['>', 0, '<'] }] }), /\.numeric: takes \[op, number\]/],
    ['an unknown numeric comparison', one({ value: [{ numeric: ['!=', 0] }] }), /\.numeric\[0\]: unknown comparison "!="/],
    ['a numeric bound that is not a number', one({ value: [{ numeric: ['>', '0'] }] }), /\.numeric\[1\]: must be a number, got "0"/],
    ['a range of two lower bounds', one({ value: [{ numeric: ['>', 0, '>=', 5] }] }), /\.numeric: a range takes one lower bound/],
    ['a range with =', one({ value: [{ numeric: ['=', 0, '<', 5] }] }), /\.numeric: a range takes one lower bound/],
    ['an empty range', one({ value: [{ numeric: ['>', 5, '<', 5] }] }), /\.numeric: the range > 5, < 5 is empty/],
    ['an inverted range', one({ value: [{ numeric: ['>=', 6, '<=', 5] }] }), /\.numeric: the range >= 6, <= 5 is empty/],
    ['a field name that needs quoting in the path', one({ value: { 'a b': { c: 'x' } } }), /^filters\[0\]\.pattern\.value\["a b"\]\.c: must be an array/],
  ])('refuses %s', (_what, filters, why) => {
    expect(refusal(filters)).toMatch(why);
  });

  it('accepts the limits themselves', () => {
    expect(compileFilters(Array.from({ length: MAX_FILTERS }, () => ({ pattern: { value: ['x'] } }))).empty).toBe(false);
    const padding = MAX_FILTER_PATTERN_LENGTH - JSON.stringify({ value: [''] }).length;
    expect(() => compileFilters([{ pattern: JSON.stringify({ value: ['x'.repeat(padding)] }) }])).not.toThrow();
    expect(() => compileFilters([{ pattern: { value: ['x'.repeat(padding)] } }])).not.toThrow();
    expect(() => compileFilters([{ pattern: { value: [{ numeric: ['>=', 5, '<=', 5] }] } }])).not.toThrow();
  });
});
