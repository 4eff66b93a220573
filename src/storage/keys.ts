// Every key Floe writes to DynamoDB or S3 is built here and nowhere else. Topic names are validated
// before they reach these builders; partitions of a topic are keyed by the topic's id, not its name, so
// a deleted and re-created topic never sees the old one's data.
import { randomBytes } from 'node:crypto';
import { ulid } from 'ulid';

/** Sort key of a partition's head item; batch index entries use their base offset (>= 0). */
export const HEAD_SORT_KEY = -1;

/** Sort key of a partition's cleaner checkpoint: where the dirty (not yet compacted) part starts. */
export const CLEANER_SORT_KEY = -2;

export function partitionKey(topicId: string, partition: number): string {
  return `${topicId}#${partition}`;
}

export function parsePartitionKey(key: string): { topicId: string; partition: number } {
  const i = key.lastIndexOf('#');
  return { topicId: key.slice(0, i), partition: Number(key.slice(i + 1)) };
}

export function newTopicId(): string {
  return ulid();
}

/** The producers-table item holding the producer id counter (no partition key has this form). */
export const PRODUCER_ID_COUNTER_KEY = { p: '#producer-ids', pid: 0 } as const;

/** Prefix of every data object; the garbage collector lists only below it. */
export const DATA_PREFIX = 'data/';

/**
 * A fresh, unique data object key. Two random hex characters after the prefix spread writes over 256
 * key prefixes (S3 scales request rates per prefix); the ULID keeps names unique and roughly time-ordered.
 */
export function newObjectKey(): string {
  return `${DATA_PREFIX}${randomBytes(1).toString('hex')}/${ulid()}`;
}

/**
 * The key of an object that holds one batch of one partition, uploaded once its offsets were handed
 * out: it names the partition and the batch's base offset, so the index entry at that offset is the
 * object's only reference and no object record is written (the garbage collector reads the entry).
 */
export function soleObjectKey(pk: string, baseOffset: number): string | undefined {
  const { topicId, partition } = parsePartitionKey(pk);
  const key = `${newObjectKey()}.${topicId}.${partition}.${baseOffset}`;
  // Only a key the collector can read back may go without a record (topic ids are ULIDs).
  const named = parseSoleObjectKey(key);
  return named?.pk === pk && named.baseOffset === baseOffset ? key : undefined;
}

/** The partition and base offset a sole object's key names, or undefined for any other key. */
export function parseSoleObjectKey(key: string): { pk: string; baseOffset: number } | undefined {
  const m = /^data\/[0-9a-f]{2}\/[0-9A-HJKMNP-TV-Z]{26}\.([0-9A-HJKMNP-TV-Z]{26})\.(\d+)\.(\d+)$/.exec(key);
  if (!m) return undefined;
  return { pk: partitionKey(m[1]!, Number(m[2])), baseOffset: Number(m[3]) };
}

/** The creation time encoded in an object key's ULID, or undefined for keys Floe did not make. */
export function objectKeyTime(key: string): number | undefined {
  const m = /^data\/[0-9a-f]{2}\/([0-9A-HJKMNP-TV-Z]{26})(?:\.[0-9A-HJKMNP-TV-Z]{26}\.\d+\.\d+)?$/.exec(key);
  if (!m || !m[1]) return undefined;
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let t = 0;
  for (const ch of m[1].slice(0, 10)) t = t * 32 + alphabet.indexOf(ch);
  return t;
}

/** Sort keys of the groups table: one group item, its consumer instances, its committed offsets. */
export const GROUP_SORT_KEY = 'group';

export function instanceSortKey(instance: string): string {
  return `instance#${instance}`;
}

export const INSTANCE_PREFIX = 'instance#';
export const OFFSET_PREFIX = 'offset#';
/** A group's marker of offsets a transaction holds and has not yet applied, per transactional id. */
export const PENDING_PREFIX = 'txn#';

/** Topic names cannot hold ':', so "topic:partition" is unambiguous. */
export function topicPartitionKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

export function parseTopicPartitionKey(key: string): [string, number] {
  const i = key.lastIndexOf(':');
  return [key.slice(0, i), Number(key.slice(i + 1))];
}

export function offsetSortKey(topic: string, partition: number): string {
  return `${OFFSET_PREFIX}${topicPartitionKey(topic, partition)}`;
}

// Triggers table: the trigger's own item, and one item per lane (a source partition, or a dead-letter
// partition being redriven) holding its lease and retry state.
export const TRIGGER_SORT_KEY = 'trigger';
export const LANE_PREFIX = 'lane#';
export const REDRIVE_PREFIX = 'redrive#';

export function laneSortKey(topic: string, partition: number): string {
  return `${LANE_PREFIX}${topicPartitionKey(topic, partition)}`;
}

export function redriveSortKey(partition: number): string {
  return `${REDRIVE_PREFIX}${partition}`;
}

export function parseLaneSortKey(key: string): [string, number] {
  return parseTopicPartitionKey(key.slice(LANE_PREFIX.length));
}
