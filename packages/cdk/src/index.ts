// @floe/cdk: Floe as a construct for a user's own CDK app, `new Floe(this, 'Log', { stage: 'prod' })`,
// with prebuilt function bundles and grants for functions that use @floe/client in direct mode.
export { Floe, type FloeProps } from '../../../infra/floe-construct.ts';
export { DEFAULTS, type FloeAuth, type FloeSettings, type FloeTableName } from '../../../infra/floe-settings.ts';
