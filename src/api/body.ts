// Reading request bodies within limits. Where the bytes come from is the runtime's business, so each
// adapter hands the app a BodyReader: fetch's Request carries no body on a GET, yet the REST Proxy
// reads committed offsets with a GET that has one, and only the runtime's own request still holds it.
import type { Context } from 'hono';
import { FloeError } from '../errors.ts';
import { requireJsonBody } from './media.ts';

/**
 * A request's body as bytes. `limit` is what the app will accept: a reader that streams may stop
 * there and answer 413 itself; the app checks the length of whatever it gets in any case.
 */
export type BodyReader = (c: Context, limit: number) => Promise<Uint8Array>;

/** Whether fetch's Request can hold this request's body: it cannot on GET and HEAD. */
export function requestHoldsBody(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD';
}

/** The body fetch's Request holds (none on GET and HEAD): enough where no runtime stands between. */
export const readRequestBody: BodyReader = async (c) => new Uint8Array(await c.req.arrayBuffer());

/** The 413 for a body past `limit`, with its size when the reader knows it. */
export function bodyTooLarge(limit: number, size?: number): FloeError {
  return new FloeError('PAYLOAD_TOO_LARGE', `request body ${size === undefined ? '' : `of ${size} bytes `}is over the limit of ${limit} bytes`);
}

export interface RequestBodies {
  /**
   * A JSON object body (`{}` when optional and empty), in a JSON media type; anything else but an object
   * is refused with `code` (the native API's calls differ in it: 422 for transactions, 400 for triggers).
   */
  object(c: Context, limit: number, opts: { optional?: boolean; code: 'VALIDATION' | 'BAD_REQUEST' }): Promise<Record<string, unknown>>;
  /** The request body as bytes, refused with 413 past `limit`. */
  bytes(c: Context, limit: number): Promise<Uint8Array>;
  /** Parses a JSON body; malformed JSON is 400 with error_code 400, as the REST Proxy answers it. */
  json(c: Context, limit: number, opts?: { optional?: boolean }): Promise<unknown>;
}

export function requestBodies(read: BodyReader = readRequestBody): RequestBodies {
  const bytes = async (c: Context, limit: number): Promise<Uint8Array> => {
    const declared = Number(c.req.header('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > limit) throw bodyTooLarge(limit, declared);
    const body = await read(c, limit);
    if (body.length > limit) throw bodyTooLarge(limit, body.length);
    return body;
  };
  const json: RequestBodies['json'] = async (c, limit, opts = {}) => {
    const text = new TextDecoder('utf-8', { fatal: false }).decode(await bytes(c, limit));
    if (text.trim() === '') {
      if (opts.optional) return undefined;
      throw new FloeError('MALFORMED_JSON', 'Request body is empty; expected a JSON object');
    }
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new FloeError('MALFORMED_JSON', `Unexpected character in JSON body: ${(e as Error).message}`);
    }
  };
  return {
    bytes,
    json,
    async object(c, limit, opts) {
      if (!opts.optional) requireJsonBody(c);
      const body = await json(c, limit, { optional: opts.optional ?? false });
      if (body === undefined) return {};
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new FloeError(opts.code, 'request body must be a JSON object');
      return body as Record<string, unknown>;
    },
  };
}

