// Lambda's event filtering for Kafka event sources, so a trigger's `filters` mean what the same
// FilterCriteria means on an MSK event source mapping: a record is delivered when ANY filter matches
// (at most 5 filters, Lambda's default quota), and a filter matches when ALL the fields it names do.
//
// A pattern names the record fields `value` and `key` (Lambda's MSK docs now document `value` only;
// `key` is accepted as its earlier docs described it). Each field's bytes are read as UTF-8 and, when
// the text is valid JSON, as that JSON: a pattern can then reach into its fields. Otherwise the field
// is the plain string, which only whole-value rules (`"value": ["x"]`, prefix, ...) can match; a
// pattern into the fields of a plain string finds none. A field that is not valid UTF-8 has no content
// to match, so a filter that looks at it does not match (Lambda drops such messages).
//
// A tombstone's null value (and likewise a null key) is neither JSON null nor a present value: it
// matches only rules that ask for no content, `[null]` and `{"exists": false}` (and, inside an object
// pattern, `exists: false` on a sub-field). Rules that need content, including `anything-but` and
// `exists: true`, do not match it, so `{"value": [{"anything-but": ["error"]}]}` drops tombstones;
// a trigger that wants them too adds the filter `{"value": [null]}`, since filters are ORed.
//
// Patterns use the event pattern grammar of EventBridge and Lambda: a field's rule is an array of
// alternatives, each an exact string, number, boolean or null, or an operator object: prefix, suffix,
// equals-ignore-case, wildcard, anything-but, numeric, exists. Arrays in the data match when any
// element does. Everything is checked when the filters are written, with a message naming the bad part.
import { FloeError } from '../errors.ts';

/** Lambda's default quota of filters on one event source mapping. */
export const MAX_FILTERS = 5;
/** Lambda's limit on one filter's Pattern string. */
export const MAX_FILTER_PATTERN_LENGTH = 4096;

export interface RecordFilter {
  /** Whether any filter matches the record; always true when there are no filters. */
  matches(record: { key: Buffer | null; value: Buffer | null }): boolean;
  /** No filters: every record matches. */
  readonly empty: boolean;
}

type Json = null | boolean | number | string | Json[] | { [field: string]: Json };
type Leaf = null | boolean | number | string;

/** The field is not there (a missing sub-field, or no value to look into). */
const ABSENT = Symbol('absent');
/** The record's key or value is null: a tombstone, or a record without a key. */
const NULL_BYTES = Symbol('null bytes');
/** The bytes are not UTF-8: nothing in them can be matched. */
const NOT_UTF8 = Symbol('not UTF-8');
type Subject = Json | typeof ABSENT | typeof NULL_BYTES;

/** One alternative of a field's rule array. */
interface Rule {
  /** Whether it accepts this present leaf value. */
  present(v: Leaf): boolean;
  /** Whether it accepts the field being absent. */
  absent: boolean;
  /** Whether it accepts a null key or value. */
  nullBytes: boolean;
}

type Node = { kind: 'rules'; rules: Rule[] } | { kind: 'fields'; fields: Array<[string, Node]> };

interface CompiledFilter {
  key: Node | null;
  value: Node | null;
}

const RECORD_FIELDS = ['value', 'key'] as const;

/**
 * Validates `filters` (`[{ pattern }]`, each pattern a JSON string as Lambda takes it, or the parsed
 * object) and compiles them. Throws 400 (40002) naming the bad part, e.g.
 * `filters[1].pattern.value.device_ID[0]: unknown operator "begins"`.
 */
export function compileFilters(filters: unknown): RecordFilter {
  if (filters === undefined) return compiled([]);
  if (!Array.isArray(filters)) throw bad('filters', 'must be an array of { "pattern": ... } objects');
  if (filters.length > MAX_FILTERS) throw bad('filters', `has ${filters.length} filters; at most ${MAX_FILTERS} are allowed`);
  return compiled(filters.map((f: unknown, i) => compileFilter(f, `filters[${i}]`)));
}

function compiled(filters: CompiledFilter[]): RecordFilter {
  return {
    empty: filters.length === 0,
    matches(record) {
      if (filters.length === 0) return true;
      // Each field is decoded once, and only when some filter looks at it.
      let key: Subject | typeof NOT_UTF8 | undefined;
      let value: Subject | typeof NOT_UTF8 | undefined;
      for (const f of filters) {
        if (f.value) {
          value ??= subjectOf(record.value);
          if (value === NOT_UTF8 || !matchNode(f.value, value)) continue;
        }
        if (f.key) {
          key ??= subjectOf(record.key);
          if (key === NOT_UTF8 || !matchNode(f.key, key)) continue;
        }
        return true;
      }
      return false;
    },
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function subjectOf(bytes: Buffer | null): Subject | typeof NOT_UTF8 {
  if (bytes === null) return NULL_BYTES;
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return NOT_UTF8;
  }
  try {
    return JSON.parse(text) as Json;
  } catch {
    return text;
  }
}

// --- matching ---------------------------------------------------------------------------------

function matchNode(node: Node, subject: Subject): boolean {
  return node.kind === 'rules' ? matchRules(node.rules, subject) : matchFields(node.fields, subject);
}

function matchRules(rules: Rule[], subject: Subject): boolean {
  if (subject === NULL_BYTES) return rules.some((r) => r.nullBytes);
  const leaves = subject === ABSENT ? [] : leavesOf(subject, []);
  // An object, or an array holding no leaf values, is no value for a rule: as if the field were absent.
  if (leaves.length === 0) return rules.some((r) => r.absent);
  return rules.some((r) => leaves.some((v) => r.present(v)));
}

/** The leaf values of `v`: itself, or the leaves in an array (at any depth); objects have none. */
function leavesOf(v: Json, out: Leaf[]): Leaf[] {
  if (Array.isArray(v)) for (const e of v) leavesOf(e, out);
  else if (v === null || typeof v !== 'object') out.push(v);
  return out;
}

function matchFields(fields: Array<[string, Node]>, subject: Subject): boolean {
  if (Array.isArray(subject)) {
    // Any element may match, all of the pattern's fields in that one element.
    const containers = subject.filter((e) => e !== null && typeof e === 'object');
    if (containers.length > 0) return containers.some((e) => matchFields(fields, e));
  } else if (subject !== null && typeof subject === 'object') {
    const obj = subject;
    return fields.every(([name, node]) => matchNode(node, Object.hasOwn(obj, name) ? (obj[name] as Json) : ABSENT));
  }
  // No fields to look into: every sub-field is absent.
  return fields.every(([, node]) => matchNode(node, ABSENT));
}

// --- compiling --------------------------------------------------------------------------------

const bad = (path: string, message: string) => new FloeError('BAD_REQUEST', `${path}: ${message}`);

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function fieldPath(path: string, name: string): string {
  return /^[A-Za-z_$][\w$-]*$/.test(name) ? `${path}.${name}` : `${path}[${JSON.stringify(name)}]`;
}

function compileFilter(f: unknown, path: string): CompiledFilter {
  if (!isPlainObject(f)) throw bad(path, 'must be an object { "pattern": ... }');
  for (const k of Object.keys(f)) {
    if (k !== 'pattern') throw bad(path, `unknown property ${JSON.stringify(k)}; a filter has only "pattern"`);
  }
  const at = `${path}.pattern`;
  const pattern = parsePattern(f.pattern, at);
  const names = Object.keys(pattern);
  if (names.length === 0) throw bad(at, 'is empty; name "value" or "key"');
  const out: CompiledFilter = { key: null, value: null };
  for (const name of names) {
    if (name !== 'value' && name !== 'key') {
      throw bad(at, `field ${JSON.stringify(name)} cannot be filtered on; a Kafka record's filterable fields are ${RECORD_FIELDS.map((n) => `"${n}"`).join(' and ')}`);
    }
    out[name] = compileNode(pattern[name], fieldPath(at, name));
  }
  return out;
}

function parsePattern(p: unknown, at: string): Record<string, unknown> {
  let parsed: unknown;
  if (typeof p === 'string') {
    if (p.length > MAX_FILTER_PATTERN_LENGTH) throw bad(at, `is ${p.length} characters long; at most ${MAX_FILTER_PATTERN_LENGTH} are allowed`);
    try {
      parsed = JSON.parse(p);
    } catch (e) {
      throw bad(at, `is not valid JSON: ${(e as Error).message}`);
    }
  } else if (isPlainObject(p)) {
    let text: string | undefined;
    try {
      text = JSON.stringify(p);
    } catch (e) {
      throw bad(at, `is not JSON: ${(e as Error).message}`);
    }
    // The same limit as for the string form, so both forms accept the same patterns.
    if (text.length > MAX_FILTER_PATTERN_LENGTH) throw bad(at, `is ${text.length} characters long as JSON; at most ${MAX_FILTER_PATTERN_LENGTH} are allowed`);
    parsed = p;
  } else if (p === undefined) {
    throw bad(at, 'is missing');
  } else {
    throw bad(at, 'must be a JSON string or an object');
  }
  if (!isPlainObject(parsed)) throw bad(at, 'must be a JSON object such as {"value": {"field": ["x"]}}');
  return parsed;
}

function compileNode(v: unknown, path: string): Node {
  if (Array.isArray(v)) return { kind: 'rules', rules: compileRules(v, path) };
  if (isPlainObject(v)) {
    const names = Object.keys(v);
    if (names.length === 0) throw bad(path, 'is an empty object; name a field, or give an array of rules');
    return { kind: 'fields', fields: names.map((n) => [n, compileNode(v[n], fieldPath(path, n))]) };
  }
  throw bad(path, `must be an array of rules (such as ["x"] or [{"prefix": "x"}]) or an object of fields, got ${describe(v)}`);
}

function describe(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function compileRules(alternatives: unknown[], path: string): Rule[] {
  if (alternatives.length === 0) throw bad(path, 'is an empty array, which matches nothing; give at least one rule');
  return alternatives.map((a, i) => compileRule(a, `${path}[${i}]`));
}

const rule = (present: (v: Leaf) => boolean, extra: Partial<Pick<Rule, 'absent' | 'nullBytes'>> = {}): Rule => ({
  present,
  absent: extra.absent ?? false,
  nullBytes: extra.nullBytes ?? false,
});

const isString = (v: Leaf): v is string => typeof v === 'string';

function compileRule(a: unknown, path: string): Rule {
  if (a === null) return rule((v) => v === null, { nullBytes: true });
  if (typeof a === 'string' || typeof a === 'boolean') return rule((v) => v === a);
  if (typeof a === 'number') {
    if (!Number.isFinite(a)) throw bad(path, 'must be a finite number');
    return rule((v) => v === a);
  }
  if (Array.isArray(a)) throw bad(path, 'is an array inside a rule array; list the alternatives in one array');
  if (!isPlainObject(a)) throw bad(path, `is not a value or an operator object: ${describe(a)}`);
  const ops = Object.keys(a);
  if (ops.length !== 1) throw bad(path, `an operator object holds exactly one operator, got ${ops.length === 0 ? 'none' : ops.map((o) => `"${o}"`).join(', ')}`);
  const op = ops[0]!;
  const arg = a[op];
  const at = `${path}.${op}`;
  switch (op) {
    case 'prefix': {
      const s = stringArg(arg, at);
      return rule((v) => isString(v) && v.startsWith(s));
    }
    case 'suffix': {
      const s = stringArg(arg, at);
      return rule((v) => isString(v) && v.endsWith(s));
    }
    case 'equals-ignore-case': {
      const s = stringArg(arg, at).toLowerCase();
      return rule((v) => isString(v) && v.toLowerCase() === s);
    }
    case 'wildcard': {
      const test = compileWildcard(stringArg(arg, at), at);
      return rule((v) => isString(v) && test(v));
    }
    case 'anything-but':
      return compileAnythingBut(arg, at);
    case 'numeric':
      return compileNumeric(arg, at);
    case 'exists':
      if (typeof arg !== 'boolean') throw bad(at, 'takes true or false');
      return arg ? rule(() => true) : rule(() => false, { absent: true, nullBytes: true });
    default:
      throw bad(path, `unknown operator ${JSON.stringify(op)}; the operators are prefix, suffix, equals-ignore-case, wildcard, anything-but, numeric and exists`);
  }
}

function stringArg(arg: unknown, at: string): string {
  if (typeof arg !== 'string') throw bad(at, `takes a string, got ${describe(arg)}`);
  return arg;
}

/**
 * `anything-but` accepts any present value that its argument would not: a string or number (or a list
 * of them) it is not equal to, or one a string operator does not match. Absent fields and null bytes
 * are not values, so it never matches those.
 */
function compileAnythingBut(arg: unknown, at: string): Rule {
  if (typeof arg === 'string' || (typeof arg === 'number' && Number.isFinite(arg))) return rule((v) => v !== arg);
  if (Array.isArray(arg)) {
    if (arg.length === 0) throw bad(at, 'takes a non-empty list');
    const excluded = new Set<Leaf>();
    arg.forEach((x: unknown, i) => {
      if (typeof x !== 'string' && !(typeof x === 'number' && Number.isFinite(x))) throw bad(`${at}[${i}]`, `must be a string or a number, got ${describe(x)}`);
      excluded.add(x);
    });
    return rule((v) => !excluded.has(v));
  }
  if (isPlainObject(arg)) {
    const inner = Object.keys(arg);
    if (inner.length !== 1) throw bad(at, 'takes one of prefix, suffix, equals-ignore-case or wildcard');
    const op = inner[0]!;
    const s = stringArg(arg[op], `${at}.${op}`);
    let test: (v: string) => boolean;
    switch (op) {
      case 'prefix':
        test = (v) => v.startsWith(s);
        break;
      case 'suffix':
        test = (v) => v.endsWith(s);
        break;
      case 'equals-ignore-case': {
        const lower = s.toLowerCase();
        test = (v) => v.toLowerCase() === lower;
        break;
      }
      case 'wildcard':
        test = compileWildcard(s, `${at}.${op}`);
        break;
      default:
        throw bad(at, `unknown operator ${JSON.stringify(op)} inside anything-but; it takes prefix, suffix, equals-ignore-case or wildcard`);
    }
    return rule((v) => !(isString(v) && test(v)));
  }
  throw bad(at, `takes a string, a number, a list of them, or {"prefix"|"suffix"|"equals-ignore-case"|"wildcard": ...}, got ${describe(arg)}`);
}

const LOWER = new Set(['>', '>=']);
const UPPER = new Set(['<', '<=']);

/** `["=", 5]`, `[">", 0]`, or a range `[">", 0, "<=", 5]`; only numbers match. */
function compileNumeric(arg: unknown, at: string): Rule {
  if (!Array.isArray(arg) || (arg.length !== 2 && arg.length !== 4)) {
    throw bad(at, 'takes [op, number] or [lower op, number, upper op, number], e.g. [">", 0, "<=", 5]');
  }
  const comparisons: Array<[string, number]> = [];
  for (let i = 0; i < arg.length; i += 2) {
    const op: unknown = arg[i];
    const n: unknown = arg[i + 1];
    if (op !== '=' && !LOWER.has(op as string) && !UPPER.has(op as string)) throw bad(`${at}[${i}]`, `unknown comparison ${describe(op)}; use =, <, <=, > or >=`);
    if (typeof n !== 'number' || !Number.isFinite(n)) throw bad(`${at}[${i + 1}]`, `must be a number, got ${describe(n)}`);
    comparisons.push([op as string, n]);
  }
  if (comparisons.length === 2) {
    const [[op1, n1], [op2, n2]] = comparisons as [[string, number], [string, number]];
    const lower = LOWER.has(op1) ? ([op1, n1] as const) : LOWER.has(op2) ? ([op2, n2] as const) : null;
    const upper = UPPER.has(op1) ? ([op1, n1] as const) : UPPER.has(op2) ? ([op2, n2] as const) : null;
    if (!lower || !upper) throw bad(at, 'a range takes one lower bound (> or >=) and one upper bound (< or <=)');
    if (lower[1] > upper[1] || (lower[1] === upper[1] && !(lower[0] === '>=' && upper[0] === '<='))) {
      throw bad(at, `the range ${lower[0]} ${lower[1]}, ${upper[0]} ${upper[1]} is empty`);
    }
  }
  const tests = comparisons.map(([op, n]) => comparison(op, n));
  return rule((v) => typeof v === 'number' && tests.every((t) => t(v)));
}

function comparison(op: string, n: number): (v: number) => boolean {
  switch (op) {
    case '=':
      return (v) => v === n;
    case '<':
      return (v) => v < n;
    case '<=':
      return (v) => v <= n;
    case '>':
      return (v) => v > n;
    default:
      return (v) => v >= n;
  }
}

/**
 * A wildcard pattern: `*` stands for any run of characters, `\*` for a star and `\\` for a backslash.
 * Matching scans the literal pieces left to right (a star-only glob needs no backtracking), so it is
 * linear in the pieces times the value, whatever the pattern.
 */
function compileWildcard(p: string, at: string): (s: string) => boolean {
  const pieces: string[] = [];
  let piece = '';
  let afterStar = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '\\') {
      const next = p[i + 1];
      if (next !== '*' && next !== '\\') throw bad(at, 'a backslash escapes only * or \\');
      piece += next;
      i++;
      afterStar = false;
    } else if (c === '*') {
      if (afterStar) throw bad(at, 'has consecutive wildcard characters');
      pieces.push(piece);
      piece = '';
      afterStar = true;
    } else {
      piece += c;
      afterStar = false;
    }
  }
  pieces.push(piece);
  if (pieces.length === 1) return (s) => s === piece;
  const first = pieces[0]!;
  const last = pieces[pieces.length - 1]!;
  const middle = pieces.slice(1, -1).filter((m) => m !== '');
  return (s) => {
    if (s.length < first.length + last.length || !s.startsWith(first) || !s.endsWith(last)) return false;
    const end = s.length - last.length;
    let pos = first.length;
    for (const m of middle) {
      const found = s.indexOf(m, pos);
      if (found < 0 || found + m.length > end) return false;
      pos = found + m.length;
    }
    return true;
  };
}
