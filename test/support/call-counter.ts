// Counts AWS requests by operation through SDK middleware (at the deserialize step, so every attempt
// the SDK sends counts, retries included: each is a billed request). Tests assert the commit protocol's call budget
// with it, and the benchmark turns the counts into a cost per GB.
import type { AwsClients } from '../../src/storage/clients.ts';

export class CallCounter {
  readonly counts = new Map<string, number>();
  /** Log index entries written with a time index key (each also costs a write unit in the index). */
  timeIndexEntries = 0;

  get(operation: string): number {
    return this.counts.get(operation) ?? 0;
  }

  reset(): void {
    this.counts.clear();
    this.timeIndexEntries = 0;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort());
  }
}

/** Attaches a counter to both clients; operations are named as in the AWS API (PutObject, TransactWriteItems, ...). */
export function countCalls(clients: AwsClients, counter = new CallCounter()): CallCounter {
  const middleware = (service: string) =>
    ((next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
      const op = `${service}.${(context.commandName ?? 'Unknown').replace(/Command$/, '')}`;
      counter.counts.set(op, (counter.counts.get(op) ?? 0) + 1);
      if (op === 'dynamodb.PutItem' || op === 'dynamodb.TransactWriteItems') counter.timeIndexEntries += timeIndexed((args as { request?: { body?: unknown } }).request?.body);
      return next(args);
    }) as never;
  clients.ddb.middlewareStack.add(middleware('dynamodb'), { step: 'deserialize', name: 'floeCallCounter', override: true });
  clients.s3.middlewareStack.add(middleware('s3'), { step: 'deserialize', name: 'floeCallCounter', override: true });
  return counter;
}

/** Index entries (items with a base and last offset) put with a time index key, in a request body. */
function timeIndexed(body: unknown): number {
  if (typeof body !== 'string') return 0;
  const input = JSON.parse(body) as { Item?: Item; TransactItems?: Array<{ Put?: { Item?: Item } }> };
  const items = input.Item ? [input.Item] : (input.TransactItems ?? []).flatMap((t) => (t.Put?.Item ? [t.Put.Item] : []));
  return items.filter((i) => i.t !== undefined && i.o !== undefined && i.l !== undefined).length;
}
type Item = Record<string, unknown>;
