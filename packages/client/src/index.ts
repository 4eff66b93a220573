// @floe/client: the TypeScript client of Floe. `new Floe({ url })` over HTTP, or `new Floe({ direct })`
// in-process; from it a batching producer, consumers in groups, and the admin, shaped like kafkajs.
export { Floe, type AwsCredentials, type DirectOptions, type FloeAuth, type FloeOptions, type LogLevel, type RequestOptions, type RetryOptions } from './floe.ts';
export * from './errors.ts';
export { murmur2, partitionForKey, StickyPartitioner } from '../../partitioner/src/index.ts';
