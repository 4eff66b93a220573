// The event a topic trigger invokes a function with: exactly what Lambda's Amazon MSK event source
// mapping sends, so a handler written for MSK (and the Powertools Kafka utilities) runs unchanged;
// and the reading of the handler's partial batch response. Pure: no SDK, no I/O.
//
// The encoding follows what Lambda sends rather than what is tidiest:
// - key and value are base64; a null key leaves the `key` property out (Lambda omits it, which is why
//   Powertools' parser made `key` optional), and a tombstone has `value: null`. (Lambda may as well
//   leave `value` out, as it does the key; @aws-lambda-powertools/kafka reads either as no value.)
// - header values are JSON arrays of SIGNED bytes, -128..127: Lambda serialises Java byte[] values,
//   and the .NET, Rust and Python libraries were all changed to accept the negative numbers.
// - a header whose value is null or zero-length is sent as `[]`. Null cannot be sent as such: the
//   Powertools parser's schema requires an array (a ZodError on null) and @aws-lambda-powertools/kafka
//   calls Buffer.from on it (a TypeError on null); both accept `[]` and decode it to "". Dropping the
//   header instead would hide that it was there, which is all a flag-style header carries. So a null
//   header value and an empty one look the same to the function.
//
// Two shapes the Powertools parser (@aws-lambda-powertools/parser 2.35, KafkaMskEventSchema) refuses
// although Lambda sends them: a tombstone (its schema wants `value` to be a string) and a header byte
// of 0x80 or more (it decodes headers with String.fromCodePoint, which throws RangeError on a negative
// number). The event stays true to Lambda; @aws-lambda-powertools/kafka accepts both.
import type { MSKEvent, MSKRecord } from 'aws-lambda';

/** A record as the fetcher delivers it (structurally the fetch result's record plus its partition). */
export interface DeliveredRecord {
  topic: string;
  partition: number;
  offset: number;
  /** CreateTime in ms since the epoch. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<{ key: string; value: Uint8Array | null }>;
}

/**
 * One record of the event as it goes on the wire. @types/aws-lambda declares `key` and `value` as
 * always-present strings, which Lambda's own events are not: `key` is left out for a null key and
 * `value` is null for a tombstone.
 */
export type MskWireRecord = Omit<MSKRecord, 'key' | 'value'> & { key?: string; value: string | null };

export interface MskEventInput {
  /** The ARN-like id the function sees as `eventSourceArn`. */
  eventSourceArn: string;
  /** Comma-separated host:port list, as Lambda gives it. */
  bootstrapServers: string;
  /** In offset order within each partition (the order is kept as given). */
  records: DeliveredRecord[];
}

/** The bytes of `u` as Java's byte[] prints them: each one a signed number from -128 to 127. */
export function signedBytes(u: Uint8Array): number[] {
  return Array.from(new Int8Array(u.buffer, u.byteOffset, u.byteLength));
}

/** Lambda's MSK event for `input.records`, grouped under `"<topic>-<partition>"` keys. */
export function buildMskEvent(input: MskEventInput): MSKEvent {
  const records: Record<string, MskWireRecord[]> = {};
  for (const r of input.records) {
    const group = `${r.topic}-${r.partition}`;
    (records[group] ??= []).push(wireRecord(r));
  }
  const event = {
    eventSource: 'aws:kafka' as const,
    eventSourceArn: input.eventSourceArn,
    bootstrapServers: input.bootstrapServers,
    records,
  };
  // The cast is the @types/aws-lambda shortfall described at MskWireRecord; the wire shape is right.
  return event as unknown as MSKEvent;
}

function wireRecord(r: DeliveredRecord): MskWireRecord {
  return {
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    timestampType: 'CREATE_TIME',
    // Left out, not null: what Lambda does with a null key.
    ...(r.key === null ? {} : { key: r.key.toString('base64') }),
    value: r.value === null ? null : r.value.toString('base64'),
    headers: r.headers.map(wireHeader),
  };
}

function wireHeader(h: { key: string; value: Uint8Array | null }): Record<string, number[]> {
  // A computed key defines an own property even for "__proto__", so no header name is special.
  return { [h.key]: h.value === null ? [] : signedBytes(h.value) };
}

/** The size of the event's JSON in bytes, what Lambda's 6 MB synchronous payload limit counts. */
export function mskEventBytes(event: MSKEvent): number {
  return Buffer.byteLength(JSON.stringify(event), 'utf8');
}

/** `{"topic":"","partition":,"offset":,"timestamp":,"timestampType":"CREATE_TIME","value":,"headers":[]}` and a separating comma. */
const RECORD_FIXED_BYTES =
  '{"topic":"","partition":,"offset":,"timestamp":,"timestampType":"CREATE_TIME","value":,"headers":[]}'.length + 1;
/** `,"key":""` around the base64. */
const KEY_FIXED_BYTES = ',"key":""'.length;

const base64Length = (n: number): number => 4 * Math.ceil(n / 3);
const digits = (n: number): number => String(n).length;

/**
 * An upper bound on the bytes `record` adds to the event's JSON: a caller cutting a batch under a byte
 * cap adds these up instead of building the event again for every record. Exact but for header values,
 * counted at 5 bytes a byte ("-128,"), and a comma after the last record. Not counted: the event's own
 * fields and, once per partition, its `"<topic>-<partition>":[]` group (topicLength + digits + 7 bytes
 * with the comma between groups).
 * `topicLength` is the topic name's length: Kafka's topic characters need no escaping in JSON.
 */
export function eventRecordBytes(record: DeliveredRecord, topicLength: number): number {
  let n = RECORD_FIXED_BYTES + topicLength + digits(record.partition) + digits(record.offset) + digits(record.timestamp);
  if (record.key !== null) n += KEY_FIXED_BYTES + base64Length(record.key.length);
  n += record.value === null ? 'null'.length : base64Length(record.value.length) + 2;
  for (const h of record.headers) {
    // `{"<key>":[...]},`: the key as JSON escapes it, then the bytes.
    n += Buffer.byteLength(JSON.stringify(h.key), 'utf8') + 6 + 5 * (h.value?.length ?? 0);
  }
  return n;
}

export type BatchResponse =
  | { kind: 'ok' }
  /** Per `"<topic>-<partition>"`, the lowest offset the function reported as failed. */
  | { kind: 'partial'; failed: Map<string, number> }
  | { kind: 'invalid'; message: string };

/**
 * Reads a function's answer as Lambda reads a Kafka partial batch response,
 * `{"batchItemFailures":[{"itemIdentifier":{"partition":"<topic>-<p>","offset":N}}]}`. No answer, a
 * non-object, an object without `batchItemFailures` (or with it null or empty) all mean the whole batch
 * succeeded. An entry that is malformed or names a record not in `batch` makes the answer `invalid`,
 * which Lambda treats as the whole batch failing. Offsets may be numbers or decimal strings; of several
 * failures in one partition the lowest counts, since processing resumes from there.
 */
export function parseBatchResponse(
  answer: unknown,
  batch: ReadonlyArray<{ topic: string; partition: number; offset: number }>,
): BatchResponse {
  if (answer === null || typeof answer !== 'object' || Array.isArray(answer)) return { kind: 'ok' };
  const failures = (answer as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return { kind: 'ok' };
  if (!Array.isArray(failures)) return invalid('batchItemFailures is not an array');
  if (failures.length === 0) return { kind: 'ok' };

  const offsets = new Map<string, Set<number>>();
  for (const r of batch) {
    const group = `${r.topic}-${r.partition}`;
    let set = offsets.get(group);
    if (!set) offsets.set(group, (set = new Set()));
    set.add(r.offset);
  }

  const failed = new Map<string, number>();
  for (let i = 0; i < failures.length; i++) {
    const where = `batchItemFailures[${i}]`;
    const entry: unknown = failures[i];
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return invalid(`${where} is not an object`);
    const id: unknown = (entry as { itemIdentifier?: unknown }).itemIdentifier;
    if (id === null || typeof id !== 'object' || Array.isArray(id)) {
      return invalid(`${where}.itemIdentifier is not an object with partition and offset`);
    }
    const { partition, offset: rawOffset } = id as { partition?: unknown; offset?: unknown };
    if (typeof partition !== 'string' || partition === '') return invalid(`${where}.itemIdentifier.partition is not a "<topic>-<partition>" string`);
    const offset = offsetOf(rawOffset);
    if (offset === null) return invalid(`${where}.itemIdentifier.offset is not an offset: ${JSON.stringify(rawOffset) ?? String(rawOffset)}`);
    const inBatch = offsets.get(partition);
    if (!inBatch) return invalid(`${where}.itemIdentifier.partition ${JSON.stringify(partition)} is not a partition of the batch`);
    if (!inBatch.has(offset)) return invalid(`${where}.itemIdentifier.offset ${offset} is not in the batch for ${JSON.stringify(partition)}`);
    const lowest = failed.get(partition);
    if (lowest === undefined || offset < lowest) failed.set(partition, offset);
  }
  return { kind: 'partial', failed };
}

const invalid = (message: string): BatchResponse => ({ kind: 'invalid', message });

/** A non-negative safe integer, given as a number or as a string of decimal digits. */
function offsetOf(v: unknown): number | null {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : null;
  if (typeof v === 'string' && /^\d{1,16}$/.test(v)) {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : null;
  }
  return null;
}
