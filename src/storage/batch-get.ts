// One strongly consistent BatchGetItem over keys of several tables, answered in the order asked.
// Unprocessed keys are retried under the one retry policy; more than 100 keys take several requests.
import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import { RetriableStorageError } from '../errors.ts';
import type { AwsClients } from './clients.ts';
import { DEFAULT_RETRY, retryDelayMs, sleep } from './retry.ts';

export interface TableKey {
  table: string;
  key: Record<string, string | number | Uint8Array>;
}

const MAX_KEYS = 100;

function id(table: string, key: Record<string, unknown>, names: string[]): string {
  // Binary keys (the tables table's) by their bytes, as they come back.
  return `${table}\u0000${names.map((n) => (key[n] instanceof Uint8Array ? Buffer.from(key[n]).toString('hex') : String(key[n]))).join('\u0000')}`;
}

export async function consistentBatchGet(clients: AwsClients, keys: TableKey[]): Promise<Array<Record<string, unknown> | undefined>> {
  const found = new Map<string, Record<string, unknown>>();
  const names = new Map<string, string[]>();
  for (const k of keys) names.set(k.table, Object.keys(k.key).sort());
  let pending = keys.map((k) => ({ table: k.table, key: k.key as Record<string, unknown> }));
  // Requests that left keys unprocessed: only these count against the retry policy.
  let throttled = 0;
  while (pending.length > 0) {
    const chunk = pending.slice(0, MAX_KEYS);
    const rest = pending.slice(MAX_KEYS);
    const request: Record<string, { Keys: Array<Record<string, unknown>>; ConsistentRead: true }> = {};
    for (const k of chunk) (request[k.table] ??= { Keys: [], ConsistentRead: true }).Keys.push(k.key);
    const r = await clients.ddb.send(new BatchGetCommand({ RequestItems: request }));
    for (const [table, items] of Object.entries(r.Responses ?? {})) {
      for (const item of items) found.set(id(table, item, names.get(table)!), item);
    }
    const unprocessed: typeof pending = [];
    for (const [table, u] of Object.entries(r.UnprocessedKeys ?? {})) for (const key of u.Keys ?? []) unprocessed.push({ table, key });
    if (unprocessed.length > 0) {
      // DynamoDB leaves keys unprocessed when the table's throughput is exceeded.
      if (++throttled >= DEFAULT_RETRY.attempts) throw new RetriableStorageError(`BatchGetItem left ${unprocessed.length} keys unprocessed ${throttled} times`);
      await sleep(retryDelayMs(throttled));
    }
    pending = [...unprocessed, ...rest];
  }
  return keys.map((k) => found.get(id(k.table, k.key, names.get(k.table)!)));
}
