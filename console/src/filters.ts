// The message browser's value filter by JSON path: `$.a.b[0]` (present and not null), or a comparison
// `$.status == "paid"`, `$.qty >= 3`, `$.tags contains "x"`. A small, strict subset of JSONPath: one
// path, no wildcards, so a filter means one thing and is checked as it is typed.

export type Step = string | number;
export type Op = '==' | '!=' | '>' | '>=' | '<' | '<=' | 'contains';

export interface JsonPathFilter {
  path: Step[];
  op?: Op;
  operand?: unknown;
}

const NAME = /^[A-Za-z_$][\w$-]*/;
const OPS: Op[] = ['==', '!=', '>=', '<=', '>', '<', 'contains'];

export function parseJsonPathFilter(source: string): JsonPathFilter {
  const s = source.trim();
  if (!s.startsWith('$')) throw new Error('a JSON path starts with $, as in $.status or $.items[0].price');
  const path: Step[] = [];
  let i = 1;
  for (;;) {
    const rest = s.slice(i);
    if (rest.startsWith('.')) {
      const m = NAME.exec(rest.slice(1));
      if (!m) throw new Error(`a name must follow "." at character ${i + 2}`);
      path.push(m[0]);
      i += 1 + m[0].length;
    } else if (rest.startsWith('[')) {
      const m = /^\[\s*(\d+|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*\]/.exec(rest);
      if (!m) throw new Error(`"[" at character ${i + 1} must hold an index or a quoted name, as in [0] or ["a b"]`);
      const inner = m[1]!;
      path.push(/^\d/.test(inner) ? Number(inner) : inner.startsWith('"') ? (JSON.parse(inner) as string) : inner.slice(1, -1).replace(/\\(.)/g, '$1'));
      i += m[0].length;
    } else break;
  }
  const tail = s.slice(i).trim();
  if (tail === '') return { path };
  const op = OPS.find((o) => tail.startsWith(o));
  if (!op) throw new Error(`after the path comes nothing, or one of ${OPS.join(' ')} and a value`);
  const literal = tail.slice(op.length).trim();
  if (literal === '') throw new Error(`a value must follow ${op}`);
  let operand: unknown;
  try {
    operand = JSON.parse(literal);
  } catch {
    // A bare word reads as the string it spells: $.status == paid.
    operand = literal;
  }
  if ((op === '>' || op === '>=' || op === '<' || op === '<=') && typeof operand !== 'number' && typeof operand !== 'string') {
    throw new Error(`${op} compares with a number or a string`);
  }
  return { path, op, operand };
}

function at(value: unknown, path: Step[]): { found: boolean; value?: unknown } {
  let v = value;
  for (const step of path) {
    if (typeof step === 'number' ? !Array.isArray(v) : typeof v !== 'object' || v === null || Array.isArray(v)) return { found: false };
    const next = (v as Record<string | number, unknown>)[step];
    if (next === undefined) return { found: false };
    v = next;
  }
  return { found: true, value: v };
}

const same = (a: unknown, b: unknown) => a === b || (typeof a === 'object' && typeof b === 'object' && JSON.stringify(a) === JSON.stringify(b));

export function matchJsonPath(f: JsonPathFilter, value: unknown): boolean {
  const r = at(value, f.path);
  if (!f.op) return r.found && r.value !== null;
  if (!r.found) return f.op === '!=';
  const v = r.value;
  const o = f.operand;
  switch (f.op) {
    case '==':
      return same(v, o);
    case '!=':
      return !same(v, o);
    case 'contains':
      if (typeof v === 'string') return typeof o === 'string' && v.includes(o);
      if (Array.isArray(v)) return v.some((x) => same(x, o));
      return false;
    default: {
      if (typeof v !== typeof o || (typeof v !== 'number' && typeof v !== 'string')) return false;
      const [x, y] = [v as number | string, o as number | string];
      return f.op === '>' ? x > y : f.op === '>=' ? x >= y : f.op === '<' ? x < y : x <= y;
    }
  }
}
