// The DynamoDB tables and the S3 bucket, described once. The local runtime and the tests create them
// from these definitions, and the CDK stack reads the same key names, so the three cannot drift apart.
//
// Why eight tables rather than one: each Lambda function is granted only the tables it touches
// (fetch reads `topics` and `log`; only produce writes `producers`; only the jobs write `objects`
// besides produce), which IAM expresses per table far more simply than per key prefix.
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

export interface TableNames {
  /** topic name -> topic id, partition count, configs. */
  topics: string;
  /** partition heads (sort key -1) and the batch index (sort key = base offset), one item collection per partition. */
  log: string;
  /** data object key -> count of live index entries pointing into it. */
  objects: string;
  /** idempotent producer state per partition and producer id. */
  producers: string;
  /** consumer groups, members, consumer instances and committed offsets. */
  groups: string;
  /** transactional ids: the state of each one's transaction, its staged writes and offsets. */
  transactions: string;
  /** topic triggers: each one's settings, and per source partition its lease, retries and errors. */
  triggers: string;
  /** tables kept from topics: each table's definition, and per source partition the latest value of each key. */
  tables: string;
}

export type TableName = keyof TableNames;

/** Key attribute names, the single source for storage code and the CDK stack. */
export const KEYS = {
  topics: { partition: 'topic' },
  log: { partition: 'p', sort: 'o' },
  objects: { partition: 'key' },
  producers: { partition: 'p', sort: 'pid' },
  groups: { partition: 'g', sort: 's' },
  transactions: { partition: 't', sort: 's' },
  triggers: { partition: 'n', sort: 's' },
  // The sort key is binary, so a partition's keys sort byte-wise and prefix and range queries work.
  tables: { partition: 'p', sort: 'k' },
} as const;

/**
 * The local secondary index that turns "first offset with timestamp >= T" into a query. Its sort key is
 * a string, running max timestamp then base offset, both zero-padded: ties on the timestamp (many
 * batches in one millisecond) still sort by offset, which DynamoDB does not promise for equal keys.
 */
export const LOG_TIME_INDEX = { name: 'by-time', sort: 't' } as const;

/**
 * The transactions table's sparse global index of unfinished transactions: only a state item whose
 * transaction is open or decided carries `os` (a shard of the transactional id, so no one index
 * partition takes every transaction) and `due` (its deadline when open; when decided, the time after
 * which its completion counts as stalled). The sweep queries it for what is due instead of scanning.
 */
export const TXN_DUE_INDEX = { name: 'by-due', partition: 'os', sort: 'due', shards: 16 } as const;

/** Attribute DynamoDB's TTL deletes on, for tables whose items expire. */
export const TTL_ATTRIBUTE = { producers: 'ttl', groups: 'ttl', transactions: 'ttl', tables: 'ttl' } as const;

export function tableNamesFromPrefix(prefix: string): TableNames {
  return {
    topics: `${prefix}topics`,
    log: `${prefix}log`,
    objects: `${prefix}objects`,
    producers: `${prefix}producers`,
    groups: `${prefix}groups`,
    transactions: `${prefix}transactions`,
    triggers: `${prefix}triggers`,
    tables: `${prefix}tables`,
  };
}

/** CreateTable inputs for every table (on-demand billing), used by the local runtime and tests. */
export function createTableInputs(names: TableNames): CreateTableCommandInput[] {
  const S = 'S' as const;
  const N = 'N' as const;
  const B = 'B' as const;
  return [
    {
      TableName: names.topics,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: KEYS.topics.partition, AttributeType: S }],
      KeySchema: [{ AttributeName: KEYS.topics.partition, KeyType: 'HASH' }],
    },
    {
      TableName: names.log,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: KEYS.log.partition, AttributeType: S },
        { AttributeName: KEYS.log.sort, AttributeType: N },
        { AttributeName: LOG_TIME_INDEX.sort, AttributeType: S },
      ],
      KeySchema: [
        { AttributeName: KEYS.log.partition, KeyType: 'HASH' },
        { AttributeName: KEYS.log.sort, KeyType: 'RANGE' },
      ],
      LocalSecondaryIndexes: [
        {
          IndexName: LOG_TIME_INDEX.name,
          KeySchema: [
            { AttributeName: KEYS.log.partition, KeyType: 'HASH' },
            { AttributeName: LOG_TIME_INDEX.sort, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
    },
    {
      TableName: names.objects,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: KEYS.objects.partition, AttributeType: S }],
      KeySchema: [{ AttributeName: KEYS.objects.partition, KeyType: 'HASH' }],
    },
    {
      TableName: names.producers,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: KEYS.producers.partition, AttributeType: S },
        { AttributeName: KEYS.producers.sort, AttributeType: N },
      ],
      KeySchema: [
        { AttributeName: KEYS.producers.partition, KeyType: 'HASH' },
        { AttributeName: KEYS.producers.sort, KeyType: 'RANGE' },
      ],
    },
    {
      TableName: names.groups,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: KEYS.groups.partition, AttributeType: S },
        { AttributeName: KEYS.groups.sort, AttributeType: S },
      ],
      KeySchema: [
        { AttributeName: KEYS.groups.partition, KeyType: 'HASH' },
        { AttributeName: KEYS.groups.sort, KeyType: 'RANGE' },
      ],
    },
    {
      TableName: names.transactions,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: KEYS.transactions.partition, AttributeType: S },
        { AttributeName: KEYS.transactions.sort, AttributeType: S },
        { AttributeName: TXN_DUE_INDEX.partition, AttributeType: S },
        { AttributeName: TXN_DUE_INDEX.sort, AttributeType: N },
      ],
      KeySchema: [
        { AttributeName: KEYS.transactions.partition, KeyType: 'HASH' },
        { AttributeName: KEYS.transactions.sort, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: TXN_DUE_INDEX.name,
          KeySchema: [
            { AttributeName: TXN_DUE_INDEX.partition, KeyType: 'HASH' },
            { AttributeName: TXN_DUE_INDEX.sort, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
    },
    {
      TableName: names.triggers,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: KEYS.triggers.partition, AttributeType: S },
        { AttributeName: KEYS.triggers.sort, AttributeType: S },
      ],
      KeySchema: [
        { AttributeName: KEYS.triggers.partition, KeyType: 'HASH' },
        { AttributeName: KEYS.triggers.sort, KeyType: 'RANGE' },
      ],
    },
    {
      TableName: names.tables,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: KEYS.tables.partition, AttributeType: S },
        { AttributeName: KEYS.tables.sort, AttributeType: B },
      ],
      KeySchema: [
        { AttributeName: KEYS.tables.partition, KeyType: 'HASH' },
        { AttributeName: KEYS.tables.sort, KeyType: 'RANGE' },
      ],
    },
  ];
}
