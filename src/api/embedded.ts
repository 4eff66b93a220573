// Keys and values as the REST Proxy carries them: binary (base64 strings) or json (any JSON value,
// stored as its compact UTF-8 serialization and parsed back on the way out).
import { FloeError } from '../errors.ts';
import type { EmbeddedFormat } from './media.ts';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Standard base64, padding optional (as Java's decoder takes it); anything else is a 400. */
export function decodeBase64(s: string, what: string): Buffer {
  const ok = BASE64.test(s) && s.length % 4 !== 1 && (!s.includes('=') || s.length % 4 === 0);
  if (!ok) throw new FloeError('BAD_REQUEST', `Invalid base64 in ${what}`);
  return Buffer.from(s, 'base64');
}

/** A key or value from a produce body in the given format; undefined and null are Kafka's null. */
export function embeddedToBytes(node: unknown, format: EmbeddedFormat, what: string): Buffer | null {
  if (node === undefined || node === null) return null;
  if (format === 'binary') {
    if (typeof node !== 'string') throw new FloeError('VALIDATION', `${what} must be a base64 string in the binary format`);
    return decodeBase64(node, what);
  }
  return jsonToBytes(node, what);
}

/**
 * Jackson's default nesting limit, which the REST Proxy inherits. Deeper JSON is refused up front: it
 * would otherwise overflow the stack when serialized, on the way in or on the way out to a consumer.
 */
export const MAX_JSON_DEPTH = 1000;

/** A JSON node as its compact UTF-8 serialization; nesting past MAX_JSON_DEPTH is a 422. */
export function jsonToBytes(node: unknown, what: string): Buffer {
  if (jsonDepthExceeds(node, MAX_JSON_DEPTH)) throw new FloeError('VALIDATION', `${what} is JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  return Buffer.from(JSON.stringify(node), 'utf8');
}

/** Whether arrays and objects nest deeper than `max`, found without recursion. */
export function jsonDepthExceeds(node: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[node, 0]];
  while (stack.length > 0) {
    const [n, depth] = stack.pop()!;
    if (typeof n !== 'object' || n === null) continue;
    if (depth + 1 > max) return true;
    for (const child of Array.isArray(n) ? n : Object.values(n)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** A stored key or value as the consumer's format shows it. */
export function bytesToEmbedded(bytes: Uint8Array | null, format: EmbeddedFormat): unknown {
  if (bytes === null) return null;
  if (format === 'binary') return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  try {
    const node: unknown = JSON.parse(text);
    // Bytes produced in the binary format may hold JSON too deep to answer with: shown as text, like non-JSON.
    return jsonDepthExceeds(node, MAX_JSON_DEPTH) ? text : node;
  } catch {
    // Bytes written in the binary format are not JSON; the REST Proxy would fail the read, Floe shows the text.
    return text;
  }
}
