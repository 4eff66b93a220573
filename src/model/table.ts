// A table kept from a topic: the latest value per key of the topic's records, in DynamoDB. Plain types
// shared by storage, the table service and the writer.

export interface TableDef {
  name: string;
  /** A new id per creation: its entries are keyed by it, so a re-created table starts empty and a deleted one's leftovers are never read. */
  id: string;
  topic: string;
  /** The id of the topic the table was created on (a topic re-created under the same name is another log). */
  topicId: string;
  /** The topic's partition count at creation (reads use the topic's current count while it exists). */
  partitions: number;
  /** The internal trigger that keeps the table (`table:<name>`) and its consumer group (`table:<id>`). */
  trigger: string;
  group: string;
  createdAt: number;
  /** `deleting` from the first DELETE until all its entries are gone; reads then find no table. */
  state: 'active' | 'deleting';
}

/** One key of a table, as stored: its latest record's offset and timestamp, and its value or a delete marker. */
export interface TableEntry {
  key: Uint8Array;
  /** Null for a delete marker, and for a value too large to store (`tooLarge` holds its size). */
  value: Uint8Array | null;
  offset: number;
  timestamp: number;
  deleted: boolean;
  tooLarge: number | null;
}

export const TABLE_LIMITS = {
  /** Keys one lookup may ask for: one BatchGetItem. */
  lookupKeys: 100,
  /** Entries one page of a listing or range holds at most (and by default). */
  pageEntries: { default: 100, max: 1000 },
} as const;

/** The internal trigger of a table: its name is no valid trigger name, so the triggers API never reaches it. */
export function tableTriggerName(table: string): string {
  return `table:${table}`;
}

/** The consumer group of a table's trigger: no valid group id either, so no consumer or group API can move it. */
export function tableGroup(id: string): string {
  return `table:${id}`;
}
