import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { DeleteTableCommand, DescribeTableCommand, DescribeTimeToLiveCommand, type TableDescription } from '@aws-sdk/client-dynamodb';
import { DeleteBucketCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import { KEYS, LOG_TIME_INDEX, TTL_ATTRIBUTE, TXN_DUE_INDEX, type TableName } from '../src/storage/schema.ts';
import { ensureStorage } from '../src/storage/setup.ts';
import { countCalls } from './support/call-counter.ts';
import { testClients, testConfig } from './support/env.ts';

// Tables and a bucket that do not exist yet: the run's own are made by the global setup already.
const id = randomBytes(4).toString('hex');
const config = testConfig({ FLOE_TABLE_PREFIX: `setup-${id}-`, FLOE_BUCKET: `floe-setup-${id}` });
const clients = testClients(config);
const TABLES = Object.keys(config.tables) as TableName[];

afterAll(async () => {
  await Promise.allSettled(TABLES.map((t) => clients.ddb.send(new DeleteTableCommand({ TableName: config.tables[t] }))));
  await clients.s3.send(new DeleteBucketCommand({ Bucket: config.bucket })).catch(() => undefined);
});

/** What a table is as DynamoDB reports it: keys with their types, indexes, billing, TTL. */
async function tableAsReported(t: TableName) {
  const { Table } = await clients.ddb.send(new DescribeTableCommand({ TableName: config.tables[t] }));
  const ttl = (await clients.ddb.send(new DescribeTimeToLiveCommand({ TableName: config.tables[t] }))).TimeToLiveDescription;
  const types = new Map((Table!.AttributeDefinitions ?? []).map((a) => [a.AttributeName, a.AttributeType]));
  const keys = (schema: TableDescription['KeySchema']) => (schema ?? []).map((k) => [k.AttributeName, k.KeyType, types.get(k.AttributeName!)]);
  return {
    status: Table!.TableStatus,
    created: Table!.CreationDateTime?.getTime(),
    billing: Table!.BillingModeSummary?.BillingMode,
    keys: keys(Table!.KeySchema),
    localIndexes: (Table!.LocalSecondaryIndexes ?? []).map((i) => ({ name: i.IndexName, keys: keys(i.KeySchema), projection: i.Projection?.ProjectionType })),
    globalIndexes: (Table!.GlobalSecondaryIndexes ?? []).map((i) => ({ name: i.IndexName, keys: keys(i.KeySchema), projection: i.Projection?.ProjectionType })),
    ttl: ttl?.TimeToLiveStatus === 'ENABLED' ? ttl.AttributeName : undefined,
  };
}

describe('storage setup', () => {
  it('creates every table with its keys, indexes and TTL, and the bucket, and a second run changes nothing', async () => {
    await ensureStorage(clients, config.tables, config.bucket);

    const tables = Object.fromEntries(await Promise.all(TABLES.map(async (t) => [t, await tableAsReported(t)] as const)));
    for (const t of TABLES) {
      expect(tables[t]!.status, t).toBe('ACTIVE');
      expect(tables[t]!.billing, t).toBe('PAY_PER_REQUEST');
      if (t !== 'transactions') expect(tables[t]!.globalIndexes, t).toEqual([]);
    }
    // The sparse index of unfinished transactions the timeout sweep queries (keys only: it reads the item after).
    expect(tables.transactions!.globalIndexes).toEqual([{ name: TXN_DUE_INDEX.name, keys: [[TXN_DUE_INDEX.partition, 'HASH', 'S'], [TXN_DUE_INDEX.sort, 'RANGE', 'N']], projection: 'KEYS_ONLY' }]);
    expect(tables.topics!.keys).toEqual([[KEYS.topics.partition, 'HASH', 'S']]);
    expect(tables.log!.keys).toEqual([[KEYS.log.partition, 'HASH', 'S'], [KEYS.log.sort, 'RANGE', 'N']]);
    expect(tables.objects!.keys).toEqual([[KEYS.objects.partition, 'HASH', 'S']]);
    expect(tables.producers!.keys).toEqual([[KEYS.producers.partition, 'HASH', 'S'], [KEYS.producers.sort, 'RANGE', 'N']]);
    expect(tables.groups!.keys).toEqual([[KEYS.groups.partition, 'HASH', 'S'], [KEYS.groups.sort, 'RANGE', 'S']]);
    expect(tables.transactions!.keys).toEqual([[KEYS.transactions.partition, 'HASH', 'S'], [KEYS.transactions.sort, 'RANGE', 'S']]);
    // The time index: same partition as the log, a string sort key, keys only (a fetch reads the item after).
    expect(tables.log!.localIndexes).toEqual([{ name: LOG_TIME_INDEX.name, keys: [[KEYS.log.partition, 'HASH', 'S'], [LOG_TIME_INDEX.sort, 'RANGE', 'S']], projection: 'KEYS_ONLY' }]);
    for (const t of ['topics', 'objects', 'producers', 'groups', 'transactions'] as const) expect(tables[t]!.localIndexes, t).toEqual([]);
    // Tables: entries by table id and source partition, the record key as binary (byte order).
    expect(tables.tables!.keys).toEqual([[KEYS.tables.partition, 'HASH', 'S'], [KEYS.tables.sort, 'RANGE', 'B']]);
    // TTL is on where items expire (producer state, group state, staged transaction writes, tables' delete markers) and nowhere else.
    expect(Object.fromEntries(TABLES.map((t) => [t, tables[t]!.ttl]))).toEqual({ topics: undefined, log: undefined, objects: undefined, producers: TTL_ATTRIBUTE.producers, groups: TTL_ATTRIBUTE.groups, transactions: TTL_ATTRIBUTE.transactions, tables: TTL_ATTRIBUTE.tables });
    await expect(clients.s3.send(new HeadBucketCommand({ Bucket: config.bucket }))).resolves.toBeDefined();

    const counter = countCalls(clients);
    await ensureStorage(clients, config.tables, config.bucket);
    expect(counter.get('dynamodb.CreateTable')).toBe(0);
    expect(counter.get('s3.CreateBucket')).toBe(0);
    const again = Object.fromEntries(await Promise.all(TABLES.map(async (t) => [t, await tableAsReported(t)] as const)));
    expect(again).toEqual(tables);
  });
});
