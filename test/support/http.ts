// One HTTP client for every test, whatever carries the request: the app in-process (app.request()),
// a server over the network, or a Lambda entry given API Gateway events. Tests say what they send;
// the client serializes it and parses the answer, so a reply that is not JSON fails the test.
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import type { Hono } from 'hono';
import { readRequestBody, requestHoldsBody, type BodyReader } from '../../src/api/body.ts';
import { apiGatewayEvent, lambdaContext, lambdaEvent } from './lambda-events.ts';

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON; undefined when empty or asked for raw. */
  body: any;
}

export interface RequestOptions {
  /** The body's content type; the client's default when not given, sent without a body only when given. */
  type?: string;
  accept?: string;
  /** The answer is not one JSON value (v3 answers several records as JSON lines): keep it as text only. */
  raw?: boolean;
}

export interface ClientDefaults {
  /** The content type of bodies sent without one; application/json unless set. */
  type?: string;
}

export interface HttpClient {
  /** Sends one request; a body that is not a string goes as JSON. A GET may carry one too. */
  request(method: string, path: string, body?: unknown, options?: RequestOptions): Promise<Reply>;
  get(path: string, options?: RequestOptions): Promise<Reply>;
  post(path: string, body?: unknown, options?: RequestOptions): Promise<Reply>;
  put(path: string, body?: unknown, options?: RequestOptions): Promise<Reply>;
  patch(path: string, body?: unknown, options?: RequestOptions): Promise<Reply>;
  delete(path: string, options?: RequestOptions): Promise<Reply>;
}

/** A request as every transport gets it: the body already serialized. */
interface Outgoing {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
}

type Transport = (req: Outgoing) => Promise<{ status: number; headers: Headers; text: string }>;

function client(send: Transport, defaults: ClientDefaults): HttpClient {
  const request = async (method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<Reply> => {
    const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const type = options.type ?? (text !== undefined ? (defaults.type ?? 'application/json') : undefined);
    const headers = { ...(type !== undefined ? { 'content-type': type } : {}), ...(options.accept !== undefined ? { accept: options.accept } : {}) };
    const r = await send({ method, path, headers, body: text });
    if (options.raw || r.text === '') return { ...r, body: undefined };
    try {
      return { ...r, body: JSON.parse(r.text) };
    } catch {
      throw new Error(`${method} ${path} answered ${r.status} with a body that is not JSON: ${r.text.slice(0, 200)}`);
    }
  };
  return {
    request,
    get: (path, options) => request('GET', path, undefined, options),
    post: (path, body, options) => request('POST', path, body, options),
    put: (path, body, options) => request('PUT', path, body, options),
    patch: (path, body, options) => request('PATCH', path, body, options),
    delete: (path, options) => request('DELETE', path, undefined, options),
  };
}

/** The env an in-process request passes the app: the body of a GET, which its Request cannot hold. */
export interface InProcessEnv {
  body?: string;
}

/** The body reader of apps that tests call in-process: app.request() is their adapter. */
export const readInProcessBody: BodyReader = async (c, limit) => {
  const held = (c.env as InProcessEnv | undefined)?.body;
  return held === undefined ? readRequestBody(c, limit) : Buffer.from(held, 'utf8');
};

/** The app called in-process; give it readInProcessBody for a GET with a body to reach it. */
export function appClient(app: Pick<Hono, 'request'>, defaults: ClientDefaults = {}): HttpClient {
  return client(async ({ method, path, headers, body }) => {
    const r =
      body !== undefined && !requestHoldsBody(method)
        ? await app.request(path, { method, headers }, { body } satisfies InProcessEnv)
        : await app.request(path, { method, headers, ...(body !== undefined ? { body } : {}) });
    return { status: r.status, headers: r.headers, text: await r.text() };
  }, defaults);
}

/** A server over the network, at `url`. */
export function serverClient(url: string, defaults: ClientDefaults = {}): HttpClient {
  return client(async ({ method, path, headers, body }) => {
    if (body !== undefined && !requestHoldsBody(method)) return sendWithNodeHttp(url, { method, path, headers, body });
    const r = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    return { status: r.status, headers: r.headers, text: await r.text() };
  }, defaults);
}

/** fetch() will not send a GET with a body, which the REST Proxy's committed offsets resource wants. */
async function sendWithNodeHttp(url: string, req: Outgoing & { body: string }): Promise<{ status: number; headers: Headers; text: string }> {
  const { request } = await import('node:http');
  const target = new URL(`${url}${req.path}`);
  return new Promise((resolve, reject) => {
    const r = request(
      { hostname: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: req.method, headers: { ...req.headers, 'content-length': Buffer.byteLength(req.body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          const headers = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
          resolve({ status: res.statusCode ?? 0, headers, text });
        });
      },
    );
    r.on('error', reject);
    r.end(req.body);
  });
}

export type LambdaHttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;

/** A Lambda entry, each request sent as an API Gateway event spread from `event`. */
export function lambdaClient(handler: LambdaHttpHandler, defaults: ClientDefaults & { event?: APIGatewayProxyEventV2; base64?: boolean } = {}): HttpClient {
  return client(async ({ method, path, headers, body }) => {
    const [rawPath, query] = path.split('?', 2) as [string, string | undefined];
    const result = await handler(lambdaEvent(defaults.event ?? apiGatewayEvent, method, rawPath, { query, headers, body, base64: defaults.base64 }), lambdaContext);
    const r = typeof result === 'string' ? { statusCode: 200, body: result } : result;
    const text = r.body === undefined ? '' : r.isBase64Encoded ? Buffer.from(r.body, 'base64').toString('utf8') : r.body;
    return { status: r.statusCode ?? 200, headers: new Headers(Object.entries(r.headers ?? {}).map(([k, v]) => [k, String(v)])), text };
  }, defaults);
}
