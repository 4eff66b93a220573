// Content negotiation for the REST Proxy media types.
import type { Context } from 'hono';
import { FloeError } from '../errors.ts';

export const V2_JSON = 'application/vnd.kafka.v2+json';
export const BINARY_V2 = 'application/vnd.kafka.binary.v2+json';
export const JSON_V2 = 'application/vnd.kafka.json.v2+json';

export type EmbeddedFormat = 'binary' | 'json';

const SCHEMA_FORMATS = /^application\/vnd\.kafka\.(avro|jsonschema|protobuf)\.v[12]\+json$/;

function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

/** The embedded format of a produce body, from its Content-Type. */
export function produceFormat(c: Context): EmbeddedFormat {
  const type = mediaType(c.req.header('content-type'));
  if (type === JSON_V2) return 'json';
  if (type === BINARY_V2 || type === 'application/json' || type === 'application/vnd.kafka+json' || type === V2_JSON || type === 'application/vnd.kafka.binary.v1+json') {
    return 'binary';
  }
  if (SCHEMA_FORMATS.test(type)) {
    throw new FloeError('UNSUPPORTED_MEDIA_TYPE', `${type} needs a schema registry, which Floe does not have; use the binary or json format`);
  }
  throw new FloeError('UNSUPPORTED_MEDIA_TYPE', `HTTP 415 Unsupported Media Type: ${type || '(none)'}; use ${BINARY_V2} or ${JSON_V2}`);
}

/** Checks a JSON body's Content-Type for control endpoints (metadata, admin, v3). */
export function requireJsonBody(c: Context): void {
  const type = mediaType(c.req.header('content-type'));
  if (type === '' || type === 'application/json' || type === V2_JSON || type === 'application/vnd.kafka+json' || type === BINARY_V2 || type === JSON_V2) return;
  throw new FloeError('UNSUPPORTED_MEDIA_TYPE', `HTTP 415 Unsupported Media Type: ${type}; send application/json`);
}

interface AcceptRange {
  type: string;
  q: number;
}

function acceptRanges(c: Context): AcceptRange[] {
  const header = c.req.header('accept');
  if (!header) return [{ type: '*/*', q: 1 }];
  return header
    .split(',')
    .map((part) => {
      const [type, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
      const q = params.find((p) => p.startsWith('q='));
      return { type: type ?? '', q: q ? Number(q.slice(2)) : 1 };
    })
    .filter((r) => r.type !== '' && r.q > 0)
    .sort((a, b) => b.q - a.q);
}

function matches(range: string, type: string): boolean {
  if (range === '*/*' || range === type) return true;
  if (range.endsWith('/*')) return type.startsWith(range.slice(0, -1));
  return false;
}

/** Picks the response type among `offered` (first = preferred) from the Accept header, or 406. */
export function negotiate(c: Context, offered: string[]): string {
  for (const range of acceptRanges(c)) {
    const hit = offered.find((t) => matches(range.type, t));
    if (hit) return hit;
  }
  throw new FloeError('NOT_ACCEPTABLE', `HTTP 406 Not Acceptable: this resource answers ${offered.join(' or ')}`);
}

/** The metadata type, or application/json when that is what the client asked for. */
export function negotiateMetadata(c: Context): string {
  return negotiate(c, [V2_JSON, 'application/vnd.kafka+json', 'application/json']);
}

/** Embedded format a records response should use, from Accept. */
export function recordsFormat(c: Context): { format: EmbeddedFormat; type: string } {
  const type = negotiate(c, [BINARY_V2, JSON_V2, 'application/json', V2_JSON, 'application/vnd.kafka+json']);
  return { format: type === JSON_V2 ? 'json' : 'binary', type };
}

/** Answers JSON with the negotiated content type; null fields stay in the output. */
export function reply(c: Context, type: string, body: unknown, status = 200): Response {
  return c.body(JSON.stringify(body), status as 200, { 'content-type': type });
}
