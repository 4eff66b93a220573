// The objects table: one item per data object, counting the index entries that point into it.
// Produce adds to the count in its commit transaction; compaction and retention subtract in theirs;
// the garbage collector deletes objects whose count reached zero (and orphans with no item at all).
import type { TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { scanAll } from './pages.ts';
import { consistentBatchGet } from './batch-get.ts';
import type { AwsClients } from './clients.ts';

export interface ObjectRecord {
  key: string;
  refs: number;
  createdAt: number;
  size: number;
  /** When the count last went down: the grace period for deletion runs from here. */
  releasedAt?: number;
}

export class ObjectsTable {
  constructor(
    readonly table: string,
    private readonly clients?: AwsClients,
  ) {}

  private get ddb() {
    if (!this.clients) throw new Error('ObjectsTable was built without clients');
    return this.clients.ddb;
  }

  /** Takes `refs` index entries off the object's count (a rewrite or retention dropped them). */
  releaseRefsParams(objectKey: string, refs: number, now: number): TransactWriteItem {
    return {
      Update: {
        TableName: this.table,
        Key: { key: objectKey } as never,
        UpdateExpression: 'ADD refs :n SET releasedAt = :now',
        ExpressionAttributeValues: { ':n': -refs, ':now': now } as never,
      },
    };
  }

  /** Objects no index entry points into any more. */
  async scanReleased(): Promise<ObjectRecord[]> {
    // A held object (staged by a transaction still open) is kept whatever its count.
    return (await scanAll(this.clients!, { TableName: this.table, FilterExpression: 'refs <= :zero AND attribute_not_exists(#hold)', ExpressionAttributeNames: { '#hold': 'hold' }, ExpressionAttributeValues: { ':zero': 0 }, ConsistentRead: true })) as unknown as ObjectRecord[];
  }

  /** Which of these object keys have a record (were ever referenced by a commit). */
  async known(keys: string[]): Promise<Set<string>> {
    const items = await consistentBatchGet(this.clients!, keys.map((key) => ({ table: this.table, key: { key } })));
    return new Set(keys.filter((_, i) => items[i] !== undefined));
  }

  /** Deletes the record of an object that is still unreferenced and was not released again since. */
  async deleteReleased(record: ObjectRecord): Promise<boolean> {
    try {
      await this.ddb.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { key: record.key },
          ConditionExpression: 'refs <= :zero AND releasedAt = :r AND attribute_not_exists(#hold)',
          ExpressionAttributeNames: { '#hold': 'hold' },
          ExpressionAttributeValues: { ':zero': 0, ':r': record.releasedAt ?? 0 },
        }),
      );
      return true;
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return false;
      throw e;
    }
  }

  /**
   * A hold on an object a transaction staged: the collector keeps it, however long the transaction
   * stays open, until the transaction ends and releases it (its entries, if it committed, count then).
   */
  holdParams(objectKey: string, hold: string, bytes: number, now: number): TransactWriteItem {
    return {
      Update: {
        TableName: this.table,
        Key: { key: objectKey } as never,
        UpdateExpression: 'ADD refs :zero SET #hold = :h, createdAt = if_not_exists(createdAt, :now), #size = :size',
        ExpressionAttributeNames: { '#hold': 'hold', '#size': 'size' },
        ExpressionAttributeValues: { ':zero': 0, ':h': hold, ':now': now, ':size': bytes } as never,
      },
    };
  }

  /** Ends a hold (a second release of the same hold does nothing); the grace period runs from now. */
  async releaseHold(objectKey: string, hold: string, now: number): Promise<void> {
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { key: objectKey },
          UpdateExpression: 'REMOVE #hold SET releasedAt = :now',
          ConditionExpression: '#hold = :h',
          ExpressionAttributeNames: { '#hold': 'hold' },
          ExpressionAttributeValues: { ':h': hold, ':now': now },
        }),
      );
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
    }
  }

  /**
   * Adds `refs` live index entries to the object's count, creating the item on first use. An ADD, not
   * a put: a request split over several transactions adds its share in each of them. The size is left
   * as it is when not given (an object a transaction held has it already).
   */
  addRefsParams(objectKey: string, refs: number, bytes: number | undefined, now: number): TransactWriteItem {
    return {
      Update: {
        TableName: this.table,
        Key: { key: objectKey } as never,
        UpdateExpression: bytes === undefined ? 'ADD refs :n SET createdAt = if_not_exists(createdAt, :now)' : 'ADD refs :n SET createdAt = if_not_exists(createdAt, :now), #size = :size',
        ...(bytes === undefined ? {} : { ExpressionAttributeNames: { '#size': 'size' } }),
        ExpressionAttributeValues: { ':n': refs, ':now': now, ...(bytes === undefined ? {} : { ':size': bytes }) } as never,
      },
    };
  }
}
