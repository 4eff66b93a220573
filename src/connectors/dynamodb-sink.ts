// The DynamoDB sink: one item per record key in a user's table, holding the latest record of the key.
// Each write is conditioned on the source offset the item holds (with the source topic's id and
// partition), so a replay after a crash, a retry, or a zombie invocation that lost its lease never
// takes an item back to an older record: a failed condition means a newer (or the same) record is
// there already, and counts as applied. Only the last record per key of a batch is written.
//
// A tombstone (a null value) leaves a delete marker (the key, the source offset, `floe_deleted`, and a
// TTL attribute for DynamoDB's TTL to expire it), so a replay of an older record cannot bring the key
// back; or it is ignored with `delete.enabled=false`.
import { DescribeTableCommand, type AttributeDefinition, type KeySchemaElement } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AwsClients } from '../storage/clients.ts';
import { isConditionFailure } from '../storage/aws-errors.ts';
import { FloeError } from '../errors.ts';
import { mapBounded } from '../map-bounded.ts';
import { BadRecordError, convertAll, parseJson, utf8, type BadRecord, type Sink, type SinkOutcome, type SinkRecord, type SinkWriteOptions } from './records.ts';

/** The attributes the sink keeps beside the record's own. */
export const SOURCE_ATTRIBUTES = { topicId: 'floe_topic_id', partition: 'floe_partition', offset: 'floe_offset', timestamp: 'floe_timestamp', deleted: 'floe_deleted' } as const;

const WRITE_CONCURRENCY = 16;
const DEFAULT_MARKER_TTL_MS = 7 * 24 * 3600 * 1000;
const SCHEMA_CACHE_MS = 60_000;

type KeyType = 'S' | 'N' | 'B';

export interface TableKeys {
  hash: { name: string; type: KeyType };
  range: { name: string; type: KeyType } | null;
}

function keyOf(schema: KeySchemaElement[] | undefined, defs: AttributeDefinition[] | undefined, role: 'HASH' | 'RANGE') {
  const name = schema?.find((k) => k.KeyType === role)?.AttributeName;
  if (!name) return null;
  return { name, type: (defs?.find((d) => d.AttributeName === name)?.AttributeType ?? 'S') as KeyType };
}

/** The table's key schema, checked against the sink's settings (the API answers a mismatch with a 400). */
export async function describeTargetTable(clients: AwsClients, config: Record<string, string>): Promise<TableKeys> {
  let t;
  try {
    t = (await clients.ddb.send(new DescribeTableCommand({ TableName: config['table.name'] }))).Table;
  } catch (e) {
    if ((e as { name?: string }).name === 'ResourceNotFoundException') throw new FloeError('INVALID_CONFIG', `table.name: DynamoDB table '${config['table.name']}' does not exist`);
    throw e;
  }
  const hash = keyOf(t?.KeySchema, t?.AttributeDefinitions, 'HASH')!;
  const range = keyOf(t?.KeySchema, t?.AttributeDefinitions, 'RANGE');
  if (config['key.attribute'] !== undefined && config['key.attribute'] !== hash.name) {
    throw new FloeError('INVALID_CONFIG', `key.attribute '${config['key.attribute']}' is not the partition key of table '${config['table.name']}' (it is '${hash.name}')`);
  }
  if (range && config['sort.key.value'] === undefined) throw new FloeError('INVALID_CONFIG', `table '${config['table.name']}' has a sort key '${range.name}': set sort.key.value (the sort key every record's item gets)`);
  if (!range && (config['sort.key.value'] !== undefined || config['sort.key.attribute'] !== undefined)) throw new FloeError('INVALID_CONFIG', `table '${config['table.name']}' has no sort key; remove sort.key.attribute and sort.key.value`);
  if (range && config['sort.key.attribute'] !== undefined && config['sort.key.attribute'] !== range.name) {
    throw new FloeError('INVALID_CONFIG', `sort.key.attribute '${config['sort.key.attribute']}' is not the sort key of table '${config['table.name']}' (it is '${range.name}')`);
  }
  if (range && range.type === 'N' && !/^-?\d+(\.\d+)?$/.test(config['sort.key.value']!)) throw new FloeError('INVALID_CONFIG', `sort key '${range.name}' is a number: sort.key.value must be one`);
  return { hash, range };
}

function keyValue(type: KeyType, bytes: Uint8Array, what: string): string | number | Uint8Array {
  if (bytes.length === 0) throw new BadRecordError('KEY_CONVERTER', `${what} is empty; DynamoDB refuses an empty key`);
  if (type === 'B') return bytes;
  const text = utf8(bytes, 'KEY_CONVERTER', what);
  if (type === 'S') return text;
  if (!/^-?\d{1,38}(\.\d+)?$/.test(text)) throw new BadRecordError('KEY_CONVERTER', `${what} '${text.slice(0, 100)}' is not a number, and the table's key is`);
  return Number(text);
}

export interface DynamoSinkDeps {
  clients: AwsClients;
  /** The id of the topic a record came from (a re-created topic of the same name has another). */
  topicId: (topic: string) => Promise<string>;
}

export class DynamoDbSink implements Sink {
  private static readonly schemas = new Map<string, { at: number; keys: Promise<TableKeys> }>();

  constructor(
    private readonly config: Record<string, string>,
    private readonly deps: DynamoSinkDeps,
  ) {}

  private keys(): Promise<TableKeys> {
    const id = JSON.stringify([this.config['table.name'], this.config['key.attribute'], this.config['sort.key.attribute'], this.config['sort.key.value']]);
    const hit = DynamoDbSink.schemas.get(id);
    if (hit && Date.now() - hit.at < SCHEMA_CACHE_MS) return hit.keys;
    const keys = describeTargetTable(this.deps.clients, this.config);
    keys.catch(() => DynamoDbSink.schemas.delete(id));
    DynamoDbSink.schemas.set(id, { at: Date.now(), keys });
    return keys;
  }

  /** The item a record makes: null for a tombstone that is ignored. */
  private item(r: SinkRecord, keys: TableKeys, topicId: string, ttlSeconds: number): Record<string, unknown> | null {
    if (r.key === null) throw new BadRecordError('KEY_CONVERTER', 'the record has no key; each item is keyed by the record key');
    const c = this.config;
    const key: Record<string, unknown> = { [keys.hash.name]: keyValue(keys.hash.type, r.key, 'the record key') };
    if (keys.range) key[keys.range.name] = keys.range.type === 'N' ? Number(c['sort.key.value']) : keys.range.type === 'B' ? new Uint8Array(Buffer.from(c['sort.key.value']!)) : c['sort.key.value'];
    const source = { [SOURCE_ATTRIBUTES.topicId]: topicId, [SOURCE_ATTRIBUTES.partition]: r.partition, [SOURCE_ATTRIBUTES.offset]: r.offset, [SOURCE_ATTRIBUTES.timestamp]: r.timestamp };
    if (r.value === null) {
      if (c['delete.enabled'] === 'false') return null;
      return { ...key, ...source, [SOURCE_ATTRIBUTES.deleted]: true, [c['ttl.attribute']!]: ttlSeconds };
    }
    let fields: Record<string, unknown>;
    if (c['value.mapping'] === 'raw') {
      fields = { [c['value.attribute']!]: utf8(r.value, 'VALUE_CONVERTER', 'the value') };
    } else {
      const v = parseJson(r.value);
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new BadRecordError('VALUE_CONVERTER', 'the value is not a JSON object; value.mapping=fields takes its fields as attributes');
      fields = v as Record<string, unknown>;
    }
    // The key and the source attributes are the sink's: a field of the same name gives way.
    return { ...fields, ...key, ...source };
  }

  async write(records: SinkRecord[], options: SinkWriteOptions): Promise<SinkOutcome> {
    const keys = await this.keys();
    const markerTtl = Number(this.config['delete.marker.ttl.ms'] ?? DEFAULT_MARKER_TTL_MS);
    const ttlSeconds = Math.floor((Date.now() + markerTtl) / 1000);
    const converted = await convertAll(records, options.stopAtBad, async (r) => this.item(r, keys, await this.deps.topicId(r.topic), ttlSeconds));
    const bad = converted.bad;
    let stopped = converted.stopped;
    // Per key, the records that convert, in order: the last is written; an earlier one stands in if DynamoDB refuses it.
    const byKey = new Map<string, Array<{ record: SinkRecord; item: Record<string, unknown> | null }>>();
    for (const { record, value } of converted.good) {
      const id = Buffer.from(record.key!).toString('hex');
      byKey.set(id, [...(byKey.get(id) ?? []), { record, item: value }]);
    }
    const refused: BadRecord[] = [];
    await mapBounded([...byKey.values()], WRITE_CONCURRENCY, async (list) => {
      for (let i = list.length - 1; i >= 0; i--) {
        const { record, item } = list[i]!;
        // An ignored tombstone is as if it were not there: the record before it is the key's latest.
        if (item === null) continue;
        try {
          await this.put(item, record.offset);
          return;
        } catch (e) {
          if ((e as { name?: string }).name !== 'ValidationException') throw e;
          // DynamoDB refuses the item as it is (too large, a key of the wrong type): a bad record.
          refused.push({ record, error: new BadRecordError('TASK_PUT', `DynamoDB refused the item: ${(e as Error).message}`) });
        }
      }
    });
    refused.sort((a, b) => a.record.at - b.record.at);
    if (options.stopAtBad && refused.length > 0) {
      const first = refused[0]!;
      if (!stopped || first.record.at < stopped.record.at) stopped = first;
    }
    const all = [...bad, ...refused].sort((a, b) => a.record.at - b.record.at);
    if (stopped) return { through: stopped.record.at, bad: [], stopped };
    return { through: options.batchEnd, bad: all };
  }

  private async put(item: Record<string, unknown>, offset: number): Promise<void> {
    const a = SOURCE_ATTRIBUTES;
    try {
      await this.deps.clients.ddb.send(
        new PutCommand({
          TableName: this.config['table.name'],
          Item: item,
          ConditionExpression: 'attribute_not_exists(#o) OR #t <> :t OR #p <> :p OR #o < :o',
          ExpressionAttributeNames: { '#o': a.offset, '#t': a.topicId, '#p': a.partition },
          ExpressionAttributeValues: { ':o': offset, ':t': item[a.topicId], ':p': item[a.partition] },
        }),
      );
    } catch (e) {
      // A newer record of the key (or this very one, by an earlier attempt) is there already.
      if (isConditionFailure(e)) return;
      throw e;
    }
  }
}
