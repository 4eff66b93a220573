// The partitioners live in their own small package, which the client imports as well.
export { murmur2, partitionForKey } from '../../packages/partitioner/src/index.ts';
