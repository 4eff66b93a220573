// Creates the tables and the bucket when they are missing. Used by the local runtime and tests; in
// AWS the CDK stack owns them and this never runs.
import { CreateTableCommand, DescribeTableCommand, ResourceInUseException, ResourceNotFoundException, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import type { AwsClients } from './clients.ts';
import { createTableInputs, TTL_ATTRIBUTE, type TableNames } from './schema.ts';

export async function ensureStorage(clients: AwsClients, tables: TableNames, bucket: string): Promise<void> {
  await Promise.all([...createTableInputs(tables).map((input) => ensureTable(clients, input)), ensureBucket(clients, bucket)]);
  for (const [name, attribute] of Object.entries(TTL_ATTRIBUTE)) {
    const tableName = tables[name as keyof typeof TTL_ATTRIBUTE];
    await clients.ddb
      .send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { Enabled: true, AttributeName: attribute } }))
      .catch((e: unknown) => {
        // Already enabled is fine; anything else is a real problem.
        if (!(e instanceof Error && /already enabled/i.test(e.message))) throw e;
      });
  }
}

async function ensureTable(clients: AwsClients, input: ReturnType<typeof createTableInputs>[number]): Promise<void> {
  try {
    await clients.ddb.send(new DescribeTableCommand({ TableName: input.TableName }));
    return;
  } catch (e) {
    if (!(e instanceof ResourceNotFoundException)) throw e;
  }
  try {
    await clients.ddb.send(new CreateTableCommand(input));
  } catch (e) {
    if (!(e instanceof ResourceInUseException)) throw e;
  }
  for (let i = 0; i < 600; i++) {
    const d = await clients.ddb.send(new DescribeTableCommand({ TableName: input.TableName }));
    if (d.Table?.TableStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`table ${input.TableName} did not become ACTIVE`);
}

async function ensureBucket(clients: AwsClients, bucket: string): Promise<void> {
  try {
    await clients.s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return;
  } catch {
    // Not there (or not visible): try to create it; a real permission problem surfaces below.
  }
  try {
    await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (e) {
    const name = (e as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw e;
  }
}
