// What the sinks share: the records they are given, a bad record (one that cannot be converted or that
// the destination refuses as it is: a dead letter under `errors.tolerance=all`, the connector's stop
// under `none`), and the dead letters themselves, with Kafka Connect's header names so the tools that
// read its dead-letter queues read Floe's.
import type { DeliveredRecord } from '../triggers/event.ts';
import type { ProduceRecord } from '../produce/types.ts';

/** A record as the lane hands it over: `at` is its offset in the partition read. */
export type SinkRecord = DeliveredRecord & { at: number };

/** Where in Kafka Connect's pipeline a record failed (its `__connect.errors.stage` values). */
export type ErrorStage = 'KEY_CONVERTER' | 'VALUE_CONVERTER' | 'HEADER_CONVERTER' | 'TASK_PUT';

export class BadRecordError extends Error {
  constructor(
    readonly stage: ErrorStage,
    message: string,
    /** The exception class Kafka Connect would name: its DataException for conversions. */
    readonly exceptionClass = stage === 'TASK_PUT' ? 'org.apache.kafka.connect.errors.ConnectException' : 'org.apache.kafka.connect.errors.DataException',
  ) {
    super(message);
    this.name = 'BadRecordError';
  }
}

export interface BadRecord {
  record: SinkRecord;
  error: BadRecordError;
}

/** What a sink did with a batch: done through `through` (exclusive), with the bad records below it; `stopped` under tolerance none. */
export interface SinkOutcome {
  through: number;
  bad: BadRecord[];
  stopped?: BadRecord;
}

export interface SinkWriteOptions {
  /** `errors.tolerance=none`: write nothing from the first bad record on, and name it. */
  stopAtBad: boolean;
  /** The batch is as large as the trigger fetches: what it holds is all a batch from its start can ever hold. */
  full: boolean;
  /** The offset after the batch (past any gap at its end). */
  batchEnd: number;
}

/**
 * Converts each record in order: the good ones with what they convert to, the bad ones (a
 * BadRecordError), and with `stopAtBad` nothing from the first bad one on, which is `stopped`.
 */
export async function convertAll<T>(records: SinkRecord[], stopAtBad: boolean, convert: (r: SinkRecord) => T | Promise<T>): Promise<{ good: Array<{ record: SinkRecord; value: T }>; bad: BadRecord[]; stopped?: BadRecord }> {
  const good: Array<{ record: SinkRecord; value: T }> = [];
  const bad: BadRecord[] = [];
  for (const record of records) {
    try {
      good.push({ record, value: await convert(record) });
    } catch (e) {
      if (!(e instanceof BadRecordError)) throw e;
      if (stopAtBad) return { good, bad, stopped: { record, error: e } };
      bad.push({ record, error: e });
    }
  }
  return { good, bad };
}

export interface Sink {
  write(records: SinkRecord[], options: SinkWriteOptions): Promise<SinkOutcome>;
}

/** Kafka Connect's dead-letter header names (its DeadLetterQueueReporter). */
export const CONNECT_ERROR_HEADERS = {
  topic: '__connect.errors.topic',
  partition: '__connect.errors.partition',
  offset: '__connect.errors.offset',
  connector: '__connect.errors.connector.name',
  task: '__connect.errors.task.id',
  stage: '__connect.errors.stage',
  className: '__connect.errors.class.name',
  exceptionClass: '__connect.errors.exception.class.name',
  exceptionMessage: '__connect.errors.exception.message',
} as const;

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes as UTF-8 text; bytes that are not UTF-8 make the record bad at `stage`. */
export function utf8(bytes: Uint8Array, stage: ErrorStage, what: string): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new BadRecordError(stage, `${what} is not valid UTF-8`);
  }
}

export function parseJson(bytes: Uint8Array, what = 'the value'): unknown {
  const text = utf8(bytes, 'VALUE_CONVERTER', what);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new BadRecordError('VALUE_CONVERTER', `${what} is not JSON: ${(e as Error).message}`);
  }
}

/** The dead letters of bad records: each record in full, with the headers saying where it came from and why. */
export function deadLetters(connector: string, sinkClass: string, bad: BadRecord[]): ProduceRecord[] {
  const text = (s: string) => new TextEncoder().encode(s);
  return bad.map(({ record: r, error }) => ({
    key: r.key,
    value: r.value,
    timestamp: r.timestamp,
    headers: [
      ...r.headers,
      { key: CONNECT_ERROR_HEADERS.topic, value: text(r.topic) },
      { key: CONNECT_ERROR_HEADERS.partition, value: text(String(r.partition)) },
      { key: CONNECT_ERROR_HEADERS.offset, value: text(String(r.offset)) },
      { key: CONNECT_ERROR_HEADERS.connector, value: text(connector) },
      // One task per partition: its number is the partition's.
      { key: CONNECT_ERROR_HEADERS.task, value: text(String(r.partition)) },
      { key: CONNECT_ERROR_HEADERS.stage, value: text(error.stage) },
      { key: CONNECT_ERROR_HEADERS.className, value: text(sinkClass) },
      { key: CONNECT_ERROR_HEADERS.exceptionClass, value: text(error.exceptionClass) },
      { key: CONNECT_ERROR_HEADERS.exceptionMessage, value: text(error.message.slice(0, 4000)) },
    ],
  }));
}
