// @floe/client: the TypeScript client of Floe. `new Floe({ url })` over HTTP, or `new Floe({ direct })`
// in-process; from it a batching producer, consumers in groups, and the admin, shaped like kafkajs.
export { Floe, type AwsCredentials, type DirectOptions, type FloeAuth, type FloeOptions, type LogLevel, type RequestOptions, type RetryOptions } from './floe.ts';
export * from './errors.ts';
export { murmur2, partitionForKey, StickyPartitioner } from '../../partitioner/src/index.ts';
export { Transaction, type TransactionOffsets } from './transaction.ts';
export { Producer, type Acks, type Message, type MessageBytes, type ProducerBatch, type ProducerOptions, type ProducerRecord, type RecordMetadata } from './producer.ts';
export {
  Consumer,
  CONSUMER_EVENTS,
  type Batch,
  type ConsumerEvent,
  type ConsumerEventName,
  type ConsumerOptions,
  type ConsumerRunConfig,
  type ConsumerSubscribeTopics,
  type EachBatchPayload,
  type EachMessagePayload,
  type KafkaMessage,
} from './consumer.ts';
export { Admin, ConfigResourceTypes, type ConfigEntry, type GroupDescription, type GroupOffsets, type ITopicConfig, type PartitionMetadata, type ResourceConfigQuery, type TopicPartitionOffsets } from './admin.ts';
export { TopicMetadataCache } from './topic-metadata.ts';
export { Triggers, type SeekTo, type TriggerConfig, type TriggerDescription, type TriggerPartition, type TriggerTarget, type TriggerView } from './triggers.ts';
export { Connectors, type ConnectorChanges, type ConnectorConfig, type ConnectorDescription, type ConnectorPartition, type ConnectorState, type ConnectorType, type ConnectorView } from './connectors.ts';
export { Table, Tables, type TableDescription, type TableEntry, type TablePartition, type TableRecord, type TableView } from './tables.ts';
