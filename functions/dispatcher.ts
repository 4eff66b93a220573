// Lambda entry of the trigger dispatcher: woken by the DynamoDB stream of the log table (a partition
// head changed: records were committed) and by a one-minute EventBridge schedule (the sweep for
// missed wake-ups and retries that came due). It delivers until caught up or its time runs short;
// what is left is taken up by the next wake-up or sweep.
import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { loadConfig } from '../src/config.ts';
import { createEngine } from '../src/engine/engine.ts';
import { HEAD_SORT_KEY, parsePartitionKey } from '../src/storage/keys.ts';
import { KEYS } from '../src/storage/schema.ts';
import { createClients } from '../src/storage/clients.ts';

const config = loadConfig();
const engine = createEngine(config, createClients(config));
/** Time kept back at the end of an invocation for the last commit and the release of leases. */
const RESERVE_MS = 15_000;
/**
 * A stream batch holds its shard (later wake-ups of that shard wait for it): it delivers for at most
 * this long, and a backlog left over goes on with the next wake-up or the sweep, which may use the
 * invocation's whole time.
 */
const STREAM_MS = 60_000;

export async function handler(event: DynamoDBStreamEvent | Record<string, unknown>, context: Context): Promise<unknown> {
  const stream = Array.isArray((event as DynamoDBStreamEvent).Records);
  const left = context.getRemainingTimeInMillis() - RESERVE_MS;
  engine.dispatcher.setDeadline(Date.now() + Math.max(1000, stream ? Math.min(STREAM_MS, left) : left));
  if (stream) {
    const partitions = new Set<string>();
    for (const r of (event as DynamoDBStreamEvent).Records) {
      const keys = r.dynamodb?.Keys;
      // Only partition heads move when records are committed; index entries and checkpoints do not wake anything.
      if (keys?.[KEYS.log.sort]?.N !== String(HEAD_SORT_KEY)) continue;
      const pk = keys[KEYS.log.partition]?.S;
      if (pk) partitions.add(pk);
    }
    await Promise.all([...partitions].map((pk) => {
      const { topicId, partition } = parsePartitionKey(pk);
      return engine.dispatcher.wake(topicId, partition);
    }));
    return { woken: partitions.size };
  }
  const summary = await engine.dispatcher.sweep();
  console.log(JSON.stringify({ level: 'info', msg: 'trigger sweep', ...summary }));
  return summary;
}
