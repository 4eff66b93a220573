// The topics table: topic name -> id, partition count, configs.
import type { AttributeValue, TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { TopicConfigs, TopicItem } from '../model/topic.ts';
import { conditionally, isConditionFailure, itemOfConditionFailure } from './aws-errors.ts';
import type { AwsClients } from './clients.ts';
import { scanAll } from './pages.ts';

/** What a conditional change of a topic found. */
export type TopicChange = 'changed' | 'conflict' | 'gone';

export class TopicsTable {
  constructor(
    private readonly clients: AwsClients,
    readonly table: string,
  ) {}

  async get(topic: string, consistent = false): Promise<TopicItem | undefined> {
    const r = await this.clients.ddb.send(new GetCommand({ TableName: this.table, Key: { topic }, ConsistentRead: consistent }));
    return r.Item as TopicItem | undefined;
  }

  async list(): Promise<TopicItem[]> {
    return (await scanAll(this.clients, { TableName: this.table, ConsistentRead: true })) as unknown as TopicItem[];
  }

  /** Creates the topic; returns the item already there instead when another create won. */
  async create(item: TopicItem): Promise<{ created: true; item: TopicItem } | { created: false; item: TopicItem }> {
    try {
      await this.clients.ddb.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          // A topic is created once; a concurrent create (two auto-creating producers) must not replace it.
          ConditionExpression: 'attribute_not_exists(topic)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { created: true, item };
    } catch (e) {
      const found = itemOfConditionFailure(e);
      if (found) return { created: false, item: unmarshallTopic(found) };
      throw e;
    }
  }

  /** Deletes the topic if it still has the given id; false when it was already gone or replaced. */
  delete(topic: string, id: string): Promise<boolean> {
    return conditionally(
      this.clients.ddb.send(new DeleteCommand({ TableName: this.table, Key: { topic }, ConditionExpression: 'id = :id', ExpressionAttributeValues: { ':id': id } })),
    );
  }

  /**
   * Replaces the configs of the topic as read (`read`: same id, same version), bumping the version: a
   * writer that read an older version gets 'conflict' and must read again and merge its change anew.
   * 'gone' when the topic was deleted or re-created under the name.
   */
  async setConfigs(read: TopicItem, configs: TopicConfigs): Promise<TopicChange> {
    const version = read.version ?? 0;
    try {
      await this.clients.ddb.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { topic: read.topic },
          UpdateExpression: 'SET configs = :c, version = :next',
          // Same topic (not one re-created under its name), unchanged since it was read.
          ConditionExpression: version === 0 ? 'id = :id AND attribute_not_exists(version)' : 'id = :id AND version = :v',
          ExpressionAttributeValues: { ':c': configs, ':id': read.id, ':next': version + 1, ...(version === 0 ? {} : { ':v': version }) },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return 'changed';
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
      const found = itemOfConditionFailure(e);
      return found && unmarshallTopic(found).id === read.id ? 'conflict' : 'gone';
    }
  }

  /**
   * A commit's check that the topic is still the one it resolved (not deleted, not re-created under its
   * name), so that nothing is appended to a log no topic names.
   */
  sameTopicCheckParams(topic: TopicItem): TransactWriteItem {
    return {
      ConditionCheck: {
        TableName: this.table,
        Key: { topic: topic.topic } as never,
        ConditionExpression: 'id = :id',
        ExpressionAttributeValues: { ':id': topic.id } as never,
      },
    };
  }
}

function unmarshallTopic(raw: Record<string, unknown>): TopicItem {
  // ReturnValuesOnConditionCheckFailure hands back the low-level attribute map, not a document.
  return unmarshall(raw as Record<string, AttributeValue>) as TopicItem;
}
