// How `floe consume` prints a record: kcat's format tokens, or one JSON envelope per line (-J).

/** A record as the CLI prints it. */
export interface PrintedRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<{ key: string; value: Buffer | null }>;
}

/**
 * Compiles a kcat format string: %t topic, %p partition, %o offset, %k key, %s value, %T timestamp (ms),
 * %h headers (`k=v` joined by commas), %K key length, %S value length (-1 for null), %% a percent sign;
 * \n, \t, \r and \\ escapes. An unknown token is an error (a usage error for the CLI).
 */
export function compileFormat(format: string): (r: PrintedRecord) => string {
  const parts: Array<string | ((r: PrintedRecord) => string)> = [];
  let literal = '';
  for (let i = 0; i < format.length; i++) {
    const ch = format[i]!;
    if (ch === '\\' && i + 1 < format.length) {
      const next = format[++i]!;
      const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\' };
      literal += escapes[next] ?? `\\${next}`;
      continue;
    }
    if (ch !== '%') {
      literal += ch;
      continue;
    }
    const token = format[++i];
    if (token === '%') {
      literal += '%';
      continue;
    }
    const field = TOKENS[token ?? ''];
    if (!field) throw new UsageError(`unknown format token %${token ?? ''} (known: %t %p %o %k %s %T %h %K %S %%)`);
    if (literal) parts.push(literal);
    literal = '';
    parts.push(field);
  }
  if (literal) parts.push(literal);
  return (r) => parts.map((p) => (typeof p === 'string' ? p : p(r))).join('');
}

const text = (b: Buffer | null) => (b === null ? '' : b.toString('utf8'));

const TOKENS: Record<string, (r: PrintedRecord) => string> = {
  t: (r) => r.topic,
  p: (r) => String(r.partition),
  o: (r) => String(r.offset),
  k: (r) => text(r.key),
  s: (r) => text(r.value),
  T: (r) => String(r.timestamp),
  h: (r) => r.headers.map((h) => `${h.key}=${text(h.value)}`).join(','),
  K: (r) => String(r.key === null ? -1 : r.key.length),
  S: (r) => String(r.value === null ? -1 : r.value.length),
};

/** kcat -J's envelope: one JSON object per record, key and payload as text (null when null). */
export function jsonEnvelope(r: PrintedRecord): string {
  return `${JSON.stringify({
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    tstype: 'create',
    ts: r.timestamp,
    broker: -1,
    headers: r.headers.flatMap((h) => [h.key, h.value === null ? null : text(h.value)]),
    key: r.key === null ? null : text(r.key),
    payload: r.value === null ? null : text(r.value),
  })}\n`;
}

/** A bad argument: a one-line message and exit code 2. */
export class UsageError extends Error {}
