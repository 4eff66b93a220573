// Cold start for the HTTP functions: configuration validated, clients and engine built once per
// container, then every invocation goes through the same Hono app the local server runs.
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { handle } from 'hono/aws-lambda';
import { routeOf, type FunctionSpec } from '../../src/manifest.ts';
import { createApp } from '../../src/api/app.ts';
import { errorBody } from '../../src/api/http-errors.ts';
import { loadConfig } from '../../src/config.ts';
import { createEngine } from '../../src/engine/engine.ts';
import { FloeError } from '../../src/errors.ts';
import { createClients } from '../../src/storage/clients.ts';
import { emfMetrics } from './emf.ts';

/**
 * The handler of one HTTP function. It serves only the routes API Gateway sends that function: a
 * request that reaches it another way (its Function URL takes any path) for a route another function
 * serves gets a 404 here, not an AccessDenied from storage its role was never granted.
 */
export function httpHandler(entry: FunctionSpec['entry']): (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2> {
  const config = loadConfig();
  const engine = createEngine(config, createClients(config), { metrics: emfMetrics });
  // Lambda freezes the container once the answer is sent: acks=0 writes finish before it.
  const serve = handle(createApp(engine, { awaitUnacknowledgedWrites: true }));
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
    return (await serve(event as unknown as Parameters<typeof serve>[0], context)) as APIGatewayProxyResultV2;
  };
}
