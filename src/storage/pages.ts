// Reading every page of a Scan or Query: DynamoDB answers at most 1 MB per call.
import { QueryCommand, ScanCommand, type QueryCommandInput, type ScanCommandInput } from '@aws-sdk/lib-dynamodb';
import type { AwsClients } from './clients.ts';

type Item = Record<string, unknown>;

export async function scanAll(clients: AwsClients, input: ScanCommandInput): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const r = await clients.ddb.send(new ScanCommand({ ...input, ExclusiveStartKey: start }));
    items.push(...(r.Items ?? []));
    start = r.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Every item of a Query, or the first pages until at least `max` items were read. */
export async function queryAll(clients: AwsClients, input: QueryCommandInput, max = Number.POSITIVE_INFINITY): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const r = await clients.ddb.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
    items.push(...(r.Items ?? []));
    start = r.LastEvaluatedKey;
  } while (start && items.length < max);
  return items;
}
