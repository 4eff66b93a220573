// Handlers that topic triggers call in tests (module targets), written as a user would write them for
// Amazon MSK: typed with @types/aws-lambda's MSKHandler, or wrapped by Powertools' Kafka consumer. What
// they receive goes to a process-wide log the test reads; `behaviour` lets a test make them fail.
import type { MSKHandler, MSKRecord } from 'aws-lambda';
import { kafkaConsumer, SchemaType } from '@aws-lambda-powertools/kafka';
import type { SchemaConfig } from '@aws-lambda-powertools/kafka/types';

export interface Received {
  handler: string;
  eventSource: string;
  eventSourceArn: string;
  bootstrapServers: string;
  key: string;
  records: MSKRecord[];
}

interface HandlerState {
  calls: Received[];
  /** Values that make the `flaky` handler throw (a poison record). */
  poison: Set<string>;
  /** `partial` answers a batchItemFailures entry once for each of these "<topic>-<p>:<offset>". */
  failOnce: Set<string>;
  powertools: Array<{ key: unknown; value: unknown; headers: unknown; offset: number; partition: number }>;
}

const g = globalThis as { __floeTriggerTest?: HandlerState };
export const state: HandlerState = (g.__floeTriggerTest ??= { calls: [], poison: new Set(), failOnce: new Set(), powertools: [] });

function record(name: string, event: Parameters<MSKHandler>[0]): void {
  for (const [key, records] of Object.entries(event.records)) {
    state.calls.push({ handler: name, eventSource: event.eventSource, eventSourceArn: event.eventSourceArn, bootstrapServers: event.bootstrapServers, key, records });
  }
}

const text = (b64: string | null | undefined) => (b64 == null ? null : Buffer.from(b64, 'base64').toString());

/** Takes every batch. */
export const accept: MSKHandler = async (event) => {
  record('accept', event);
};

/** Throws for a batch that holds a poison value: the whole batch fails, as an unhandled error does in Lambda. */
export const flaky: MSKHandler = async (event) => {
  for (const records of Object.values(event.records)) {
    for (const r of records) if (state.poison.has(text(r.value) ?? '')) throw new Error(`poison record at ${r.topic}-${r.partition}:${r.offset}`);
  }
  record('flaky', event);
};

/** Answers Lambda's partial batch response, once, for the records named in `failOnce`. */
export const partial = async (event: Parameters<MSKHandler>[0]) => {
  record('partial', event);
  const batchItemFailures = [];
  for (const [key, records] of Object.entries(event.records)) {
    for (const r of records) {
      const id = `${key}:${r.offset}`;
      if (state.failOnce.delete(id)) batchItemFailures.push({ itemIdentifier: { partition: key, offset: r.offset } });
    }
  }
  return { batchItemFailures };
};

/** A callback-style handler, as Lambda's Node runtime still allows. */
export const withCallback = (event: Parameters<MSKHandler>[0], _context: unknown, callback: (err: unknown, res?: unknown) => void) => {
  record('callback', event);
  callback(null);
};

const schema = { value: { type: SchemaType.JSON } } satisfies SchemaConfig;

/** Powertools' Kafka consumer, with JSON values: sees keys, values and headers deserialized. */
export const powertools = kafkaConsumer(async (event) => {
  for (const r of event.records) state.powertools.push({ key: r.key, value: r.value, headers: r.headers, offset: r.offset, partition: r.partition });
}, schema);
