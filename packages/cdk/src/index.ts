// @floe/cdk: Floe as a construct for a user's own CDK app, `new Floe(this, 'Log', { stage: 'prod' })`,
// with prebuilt function bundles, grants for functions that use @floe/client in direct mode, and a
// topic as a Lambda event source (`fn.addEventSource(new FloeEventSource(log, { topic, ... }))`), and
// sink connectors into a DynamoDB table or S3 bucket of the app (`new FloeConnector(this, 'Sink', { ... })`).
export { Floe, type FloeProps } from '../../../infra/floe-construct.ts';
export { FloeConnector, type FloeConnectorCommonProps, type FloeConnectorProps, type FloeDynamoDbSinkProps, type FloeS3SinkProps } from '../../../infra/floe-connector.ts';
export { FloeEventSource, type FloeEventSourceProps, type FloeTriggerHost } from '../../../infra/floe-event-source.ts';
export { DEFAULTS, type FloeAuth, type FloeSettings, type FloeTableName } from '../../../infra/floe-settings.ts';
export { FloeStreamsApp, type FloeStreamsAppProps } from '../../../infra/floe-streams-app.ts';
