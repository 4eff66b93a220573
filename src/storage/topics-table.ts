// The topics table: topic name -> id, partition count, configs.
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { scanAll } from './pages.ts';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { AwsClients } from './clients.ts';
import type { TopicConfigs } from '../topics/configs.ts';

export interface TopicItem {
  topic: string;
  id: string;
  partitions: number;
  configs: TopicConfigs;
  createdAt: number;
}

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
      if (e instanceof ConditionalCheckFailedException && e.Item) {
        return { created: false, item: unmarshallTopic(e.Item) };
      }
      throw e;
    }
  }

  /** Deletes the topic if it still has the given id; false when it was already gone or replaced. */
  async delete(topic: string, id: string): Promise<boolean> {
    try {
      await this.clients.ddb.send(
        new DeleteCommand({ TableName: this.table, Key: { topic }, ConditionExpression: 'id = :id', ExpressionAttributeValues: { ':id': id } }),
      );
      return true;
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return false;
      throw e;
    }
  }

  /** Replaces the topic's configs, on condition it is still the same topic (id). */
  async setConfigs(topic: string, id: string, configs: TopicConfigs): Promise<boolean> {
    try {
      await this.clients.ddb.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { topic },
          UpdateExpression: 'SET configs = :c',
          ConditionExpression: 'id = :id',
          ExpressionAttributeValues: { ':c': configs, ':id': id },
        }),
      );
      return true;
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return false;
      throw e;
    }
  }
}

function unmarshallTopic(raw: Record<string, unknown>): TopicItem {
  // ReturnValuesOnConditionCheckFailure hands back the low-level attribute map, not a document.
  return unmarshall(raw as Record<string, AttributeValue>) as TopicItem;
}
