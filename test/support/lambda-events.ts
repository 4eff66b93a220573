// API Gateway HTTP API (payload 2.0) and Function URL events, as tests hand them to the Lambda entries:
// each spreads a base event and overrides what it needs.
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';

export const apiGatewayEvent: APIGatewayProxyEventV2 = {
  version: '2.0',
  routeKey: '$default',
  rawPath: '/',
  rawQueryString: '',
  headers: { host: 'abc123.execute-api.us-east-1.amazonaws.com', 'user-agent': 'curl/8.5.0', accept: '*/*' },
  requestContext: {
    accountId: '123456789012',
    apiId: 'abc123',
    domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
    domainPrefix: 'abc123',
    http: { method: 'GET', path: '/', protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'curl/8.5.0' },
    requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
    routeKey: '$default',
    stage: '$default',
    time: '25/Nov/2026:10:00:00 +0000',
    timeEpoch: 1795600800000,
  },
  isBase64Encoded: false,
};

/** A Function URL event: same payload 2.0, with the lambda-url domain and no stage routing. */
export const functionUrlEvent: APIGatewayProxyEventV2 = {
  ...apiGatewayEvent,
  headers: { ...apiGatewayEvent.headers, host: 'xyz.lambda-url.us-east-1.on.aws' },
  requestContext: { ...apiGatewayEvent.requestContext, apiId: 'xyz', domainName: 'xyz.lambda-url.us-east-1.on.aws', domainPrefix: 'xyz' },
};

export const lambdaContext = { awsRequestId: 'req-1', functionName: 'floe-produce', getRemainingTimeInMillis: () => 29_000 } as unknown as Context;

export interface EventOptions {
  query?: string | undefined;
  body?: string | undefined;
  headers?: Record<string, string> | undefined;
  /** Send the body base64-encoded, as Function URLs and binary media types do. */
  base64?: boolean | undefined;
}

export function lambdaEvent(base: APIGatewayProxyEventV2, method: string, path: string, opts: EventOptions = {}): APIGatewayProxyEventV2 {
  return {
    ...base,
    rawPath: path,
    rawQueryString: opts.query ?? '',
    headers: { ...base.headers, ...(opts.headers ?? {}) },
    requestContext: { ...base.requestContext, http: { ...base.requestContext.http, method, path } },
    ...(opts.body !== undefined ? { body: opts.base64 ? Buffer.from(opts.body).toString('base64') : opts.body, isBase64Encoded: Boolean(opts.base64) } : {}),
  };
}
