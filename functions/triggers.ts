// Lambda entry for the trigger routes (API Gateway HTTP API), and for the custom resource through which
// @floe/cdk's FloeEventSource registers a trigger on deploy and removes it on delete.
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { httpHandler } from './shared/http.ts';
import { triggerResource, type ResourceAnswer } from './shared/trigger-resource.ts';

const http = httpHandler('triggers');
const resource = triggerResource();

export async function handler(event: APIGatewayProxyEventV2 | CloudFormationCustomResourceEvent, context: Context): Promise<APIGatewayProxyResultV2 | ResourceAnswer> {
  return 'RequestType' in event ? resource(event) : http(event, context);
}
