// The objects table: one item per data object, counting the index entries that point into it.
// Produce adds to the count in its commit transaction; compaction and retention subtract in theirs;
// the garbage collector deletes objects whose count reached zero (and orphans with no item at all).
import type { TransactWriteItem } from '@aws-sdk/client-dynamodb';

export class ObjectsTable {
  constructor(readonly table: string) {}

  /**
   * Adds `refs` live index entries to the object's count, creating the item on first use. An ADD, not
   * a put: a request split over several transactions adds its share in each of them.
   */
  addRefsParams(objectKey: string, refs: number, bytes: number, now: number): TransactWriteItem {
    return {
      Update: {
        TableName: this.table,
        Key: { key: objectKey } as never,
        UpdateExpression: 'ADD refs :n SET createdAt = if_not_exists(createdAt, :now), #size = :size',
        ExpressionAttributeNames: { '#size': 'size' },
        ExpressionAttributeValues: { ':n': refs, ':now': now, ':size': bytes } as never,
      },
    };
  }
}
