// The commit unit: every multi-item write Floe makes (produce, retention, rewrites, group offsets) is
// one DynamoDB transaction assembled here from the table modules' builders. This is where the limits
// of a transaction are kept, the client request token is derived, and a cancellation is decoded into
// what it means for the writer. Building (Commit) is pure; sending (sendCommit) is the only I/O.
import { createHash } from 'node:crypto';
import type { AttributeValue, TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { FloeError, RetriableStorageError } from '../errors.ts';
import { classifyAwsError, isAwsError, isConditionFailure, itemOfConditionFailure, refusedUnapplied, type CancellationReason } from './aws-errors.ts';
import type { AwsClients } from './clients.ts';

/** One item of a transaction, as the table modules' builders make them. */
export type CommitItem = TransactWriteItem;

/** Items one TransactWriteItems may hold. */
export const TRANSACTION_MAX_ITEMS = 100;
/** Bytes one TransactWriteItems may carry in all its items. */
export const TRANSACTION_MAX_BYTES = 4 * 1024 * 1024;

/**
 * What a failed condition on an item means to the writer, most telling first: the topic was deleted
 * (or re-created) under it; a fence refused it (a stale group generation); the thing it would create is
 * there already; or another writer got there first and a re-read and retry may succeed.
 */
export type ConflictReason = 'topic-gone' | 'fenced' | 'exists' | 'lost-race';
const PRECEDENCE: readonly ConflictReason[] = ['topic-gone', 'fenced', 'exists', 'lost-race'];

export type CommitOutcome =
  | { committed: true }
  /** Nothing was written. `failed` holds the indexes of the items whose condition failed. */
  | { committed: false; reason: ConflictReason; failed: number[]; reasons: CancellationReason[] };

/** The transaction may or may not have been applied: the caller must find out before reporting either. */
export class AmbiguousCommitError extends RetriableStorageError {
  constructor(cause: unknown) {
    super(`commit outcome unknown: ${(cause as Error)?.message ?? String(cause)}`, cause);
    this.name = 'AmbiguousCommitError';
  }
}

/** The items of one transaction, each with what its failed condition would mean. */
export class Commit {
  readonly items: TransactWriteItem[] = [];
  private readonly meanings: ConflictReason[] = [];
  private byteCount = 0;

  get size(): number {
    return this.items.length;
  }

  get bytes(): number {
    return this.byteCount;
  }

  /** Whether `count` more items of about `bytes` in all still fit. */
  fits(count: number, bytes = 0): boolean {
    return this.items.length + count <= TRANSACTION_MAX_ITEMS && this.byteCount + bytes <= TRANSACTION_MAX_BYTES;
  }

  /** Adds an item; a transaction over DynamoDB's limits is a bug of the caller's planning, so it throws. */
  add(item: TransactWriteItem, onConditionFailed: ConflictReason = 'lost-race'): this {
    const bytes = itemBytes(item);
    if (!this.fits(1, bytes)) throw new Error(`a transaction holds at most ${TRANSACTION_MAX_ITEMS} items and ${TRANSACTION_MAX_BYTES} bytes`);
    this.items.push(item);
    this.meanings.push(onConditionFailed);
    this.byteCount += bytes;
    return this;
  }

  addAll(items: TransactWriteItem[], onConditionFailed: ConflictReason = 'lost-race'): this {
    for (const item of items) this.add(item, onConditionFailed);
    return this;
  }

  /** What the cancellation reasons say, by the meanings of the items that failed. */
  decode(reasons: CancellationReason[]): CommitOutcome | undefined {
    const failed = reasons.flatMap((r, i) => (r.Code === 'ConditionalCheckFailed' ? [i] : []));
    if (failed.length > 0) {
      const meanings = new Set(failed.map((i) => this.meanings[i] ?? 'lost-race'));
      const reason = PRECEDENCE.find((m) => meanings.has(m))!;
      return { committed: false, reason, failed, reasons };
    }
    // Another transaction on the same items, or one item throttled: nothing applied, try again.
    if (reasons.some((r) => r.Code === 'TransactionConflict' || /Throttl|ProvisionedThroughputExceeded/.test(r.Code ?? ''))) {
      return { committed: false, reason: 'lost-race', failed: [], reasons };
    }
    return undefined;
  }
}

/**
 * Same transaction, same token: the SDK's own retry of the very transaction (after a lost answer) is
 * recognised by DynamoDB for 10 minutes and not applied twice. A transaction with other items gets
 * another token (reusing one with other parameters is an IdempotentParameterMismatch), and the object
 * key or offsets in its items make tokens of different requests differ.
 */
function requestToken(items: TransactWriteItem[]): string {
  return createHash('sha256').update(JSON.stringify(items)).digest('hex').slice(0, 36);
}

export interface SendOptions {
  /** Send a client request token derived from the items (for writes whose answer may be lost). */
  idempotent?: boolean;
  /**
   * A commit of one Put goes as a conditional PutItem instead of a transaction: half the write units.
   * The SDK sends it again only after a throttled send; the item's key is there to read it back when
   * the put's condition fails: the same item found there can only be this very put, sent again by
   * something outside this module after a send that was applied, so it counts as committed.
   */
  single?: { key: Record<string, unknown> };
}

/**
 * Sends the commit. Conflicts are a value; an unknown outcome throws AmbiguousCommitError; a
 * cancellation for another reason throws a FloeError; any other failure is thrown as it came.
 */
export async function sendCommit(clients: AwsClients, commit: Commit, options: SendOptions = {}): Promise<CommitOutcome> {
  if (commit.size === 0) return { committed: true };
  const put = commit.items[0]!.Put;
  if (options.single && commit.size === 1 && put) return sendSinglePut(clients, commit, put, options.single.key);
  try {
    await clients.ddb.send(
      new TransactWriteCommand({
        TransactItems: commit.items as never,
        ...(options.idempotent ? { ClientRequestToken: requestToken(commit.items) } : {}),
      }),
    );
    return { committed: true };
  } catch (e) {
    const c = classifyAwsError(e);
    if (c.reasons) {
      const outcome = commit.decode(c.reasons);
      if (outcome) return outcome;
      throw new FloeError('STORAGE', `commit refused: ${c.reasons.map((r) => r.Code).join(',')}`, { cause: e });
    }
    if (isAwsError(e) && c.ambiguous) throw new AmbiguousCommitError(e);
    throw e;
  }
}

function itemBytes(item: TransactWriteItem): number {
  // Close enough to DynamoDB's own sizing (names + values) to keep a transaction under its limit.
  return Buffer.byteLength(JSON.stringify(item));
}

type PutItem = NonNullable<TransactWriteItem['Put']>;

/** One conditional put, its outcome told as a transaction of that one item would tell it. */
async function sendSinglePut(clients: AwsClients, commit: Commit, put: PutItem, key: Record<string, unknown>): Promise<CommitOutcome> {
  const command = new PutCommand({
    TableName: put.TableName,
    Item: put.Item as never,
    ConditionExpression: put.ConditionExpression,
    ...(put.ExpressionAttributeNames ? { ExpressionAttributeNames: put.ExpressionAttributeNames } : {}),
    ...(put.ExpressionAttributeValues ? { ExpressionAttributeValues: put.ExpressionAttributeValues as never } : {}),
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  });
  // Sent again only after a send the service refused unapplied (throttled): a put has no client
  // request token, and between a first send that was applied and the SDK's resend the entry may have
  // been merged away, so the resend would put it again inside the merged batch. After any other failed
  // send the caller asks the log instead (an unknown outcome).
  let resendable = true;
  command.middlewareStack.add(
    ((next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
      if (!resendable) throw new ResendRefused();
      // Its answer may yet be lost on the way back (past this middleware): nothing is sent again
      // unless this send is seen refused.
      resendable = false;
      try {
        return await next(args);
      } catch (e) {
        resendable = refusedUnapplied(e);
        throw e;
      }
    }) as never,
    { step: 'finalizeRequest', priority: 'low', name: 'floeSendOnce', override: true },
  );
  try {
    await clients.ddb.send(command);
    return { committed: true };
  } catch (e) {
    if (e instanceof ResendRefused) throw new AmbiguousCommitError(e);
    if (isConditionFailure(e)) {
      const raw = itemOfConditionFailure(e);
      const found = raw ? unmarshall(raw as Record<string, AttributeValue>) : (await clients.ddb.send(new GetCommand({ TableName: put.TableName, Key: key, ConsistentRead: true }))).Item;
      // The SDK's own retry of a put that was applied, its first answer lost, finds the very item.
      if (found && canonical(found) === canonical(put.Item as Record<string, unknown>)) return { committed: true };
      return commit.decode([{ Code: 'ConditionalCheckFailed' }])!;
    }
    if ((e as Error | undefined)?.name === 'TransactionConflictException') return commit.decode([{ Code: 'TransactionConflict' }])!;
    if (isAwsError(e) && classifyAwsError(e).ambiguous) throw new AmbiguousCommitError(e);
    throw e;
  }
}

/** The SDK would send a put again after a failed send: refused, its first send's outcome is unknown. */
class ResendRefused extends Error {
  override name = 'FloeResendRefused';
  constructor() {
    super('a conditional put is sent once; the outcome of its first send is unknown');
  }
}

/** JSON of a plain item with its attributes in name order, to compare two items. */
function canonical(item: Record<string, unknown>): string {
  return JSON.stringify(Object.keys(item).sort().map((k) => [k, item[k]]));
}
