import { describe, expect, it } from 'vitest';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { ensureStorage } from '../src/storage/setup.ts';
import { testClients, testConfig } from './support/env.ts';

describe('storage setup', () => {
  it('creates every table and the bucket, and a second run changes nothing', async () => {
    const config = testConfig();
    const clients = testClients(config);
    await ensureStorage(clients, config.tables, config.bucket);
    const { TableNames = [] } = await clients.ddb.send(new ListTablesCommand({}));
    for (const name of Object.values(config.tables)) expect(TableNames).toContain(name);
    await expect(clients.s3.send(new HeadBucketCommand({ Bucket: config.bucket }))).resolves.toBeDefined();
  });
});
