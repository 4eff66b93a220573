// @floe/streams: Kafka Streams' DSL in TypeScript. Declare a topology with StreamsBuilder, build it,
// and run it with a runtime (the Topology is the CompiledTopology of ./task.ts) or test it in memory
// with the TopologyTestDriver.
export { StreamsBuilder, type StreamsBuilderOptions } from './builder.ts';
export { KStream, BranchedKStream } from './kstream.ts';
export { KTable, GlobalKTable } from './ktable.ts';
export { KGroupedStream, KGroupedTable, TimeWindowedKStream, SessionWindowedKStream, type WindowedByOptions } from './grouped.ts';
export { Topology } from './topology.ts';
export { Serdes, Window, Windowed, WindowedSerdes, type Serde } from './serdes.ts';
export { TimeWindows, SessionWindows, JoinWindows, Suppressed, BufferConfig } from './windows.ts';
export {
  Branched,
  Consumed,
  Grouped,
  Joined,
  KeyValue,
  Materialized,
  Named,
  Produced,
  Repartitioned,
  StreamJoined,
  type ConsumedOptions,
  type GroupedOptions,
  type Header,
  type JoinedOptions,
  type KeyValueLike,
  type MaterializedOptions,
  type ProducedOptions,
  type RecordContext,
  type RepartitionedOptions,
  type StreamJoinedOptions,
} from './config.ts';
export { StreamsException, TopologyException } from './errors.ts';
export {
  TestInputTopic,
  TestOutputTopic,
  TopologyTestDriver,
  type InputTopicOptions,
  type ReadOnlyKeyValueStore,
  type ReadOnlySessionStore,
  type ReadOnlyWindowStore,
  type TestRecord,
  type TopologyTestDriverOptions,
} from './test-driver.ts';
export type * from './task.ts';
export * from './runtime/index.ts';
