// Cold start for the HTTP functions: configuration validated, clients and engine built once per
// container, then every invocation goes through the same Hono app the local server runs.
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { handle } from 'hono/aws-lambda';
import { createApp } from '../../src/api/app.ts';
import { readRequestBody, requestHoldsBody, type BodyReader } from '../../src/api/body.ts';
import { errorBody } from '../../src/api/http-errors.ts';
import { loadConfig } from '../../src/config.ts';
import { createEngine } from '../../src/engine/engine.ts';
import { FloeError } from '../../src/errors.ts';
import { routeOf, type FunctionSpec } from '../../src/manifest.ts';
import { createClients } from '../../src/storage/clients.ts';
import { lambdaConsole } from './console.ts';
import { emfMetrics } from './emf.ts';

/**
 * Bodies the app cannot get from fetch's Request, by the event that reaches it. A GET may carry one
 * (the REST Proxy reads committed offsets so), but Hono's adapter answers such an event 400 as it
 * builds the Request; so the event goes on without its body, and the body waits here.
 */
const heldBodies = new WeakMap<object, { body: string; isBase64Encoded: boolean }>();

const readEventBody: BodyReader = async (c, limit) => {
  const held = heldBodies.get((c.env as { event: object }).event);
  if (!held) return readRequestBody(c, limit);
  return Buffer.from(held.body, held.isBase64Encoded ? 'base64' : 'utf8');
};

/** The event as the app is given it: a GET's or HEAD's body taken off and held for readEventBody. */
function withoutBody(event: APIGatewayProxyEventV2): APIGatewayProxyEventV2 {
  if (event.body === undefined || requestHoldsBody(event.requestContext.http.method)) return event;
  const { body, ...rest } = event;
  heldBodies.set(rest, { body, isBase64Encoded: event.isBase64Encoded });
  return rest;
}

/**
 * The handler of one HTTP function. It serves only the routes API Gateway sends that function: a
 * request that reaches it another way (its Function URL takes any path) for a route another function
 * serves gets a 404 here, not an AccessDenied from storage its role was never granted.
 */
export function httpHandler(entry: FunctionSpec['entry']): (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2> {
  const config = loadConfig();
  const engine = createEngine(config, createClients(config), { metrics: emfMetrics });
  // Lambda freezes the container once the answer is sent: acks=0 writes finish before it.
  // With -c console=true the stack sets FLOE_CONSOLE on the HTTP functions; only admin serves the console's paths.
  const withConsole = entry === 'admin' && process.env.FLOE_CONSOLE === 'true' ? { console: lambdaConsole(engine) } : {};
  const serve = handle(createApp(engine, { awaitUnacknowledgedWrites: true, readBody: readEventBody, ...withConsole }));
  return async (event, context) => {
    const method = event.requestContext.http.method;
    // API Gateway routes no HEAD: it arrives through $default, so it is judged as the GET it mirrors.
    const owner = routeOf(method === 'HEAD' ? 'GET' : method, event.rawPath)?.entry;
    if (owner !== entry) {
      const e =
        method === 'HEAD'
          ? new FloeError('METHOD_NOT_ALLOWED', `HTTP 405 Method Not Allowed: HEAD ${event.rawPath} is not served; use GET`)
          : new FloeError('NOT_FOUND', `HTTP 404 Not Found: ${method} ${event.rawPath} is not served by the ${entry} function`);
      return { statusCode: e.status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(errorBody(e)) };
    }
    return (await serve(withoutBody(event) as unknown as Parameters<typeof serve>[0], context)) as APIGatewayProxyResultV2;
  };
}
