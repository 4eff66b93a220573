// The runtime of @floe/streams on Floe: in this process (FloeStreams), or inside topic triggers (streamsHandler).
export { FloeStreams, compiledOf, type FloeStreamsOptions, type StreamsState, type TopologyLike } from './floe-streams.ts';
export { deployStreams, streamsHandler, streamsTriggers, TICK_EVENT, type StreamsHandlerOptions } from './handler.ts';
export { resolveLayout, StreamsConfigError, validateApplicationId, type Layout } from './layout.ts';
export { TaskFencedError, type ProcessingGuarantee } from './task-runner.ts';
