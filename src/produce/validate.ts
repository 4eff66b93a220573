// What a produce request must satisfy before anything is planned or written.
import { FloeError } from '../errors.ts';
import type { IdempotentProducer, ProduceRecord } from './types.ts';

/**
 * The latest record timestamp Floe takes: 9999-12-31T23:59:59.999Z, the end of what ISO-8601 answers
 * can print and the time index's fixed-width key can hold. Kafka allows any long; no real clock gets here.
 */
export const MAX_TIMESTAMP_MS = 253_402_300_799_999;

export function validateRecords(records: ProduceRecord[]): void {
  if (records.length === 0) throw new FloeError('VALIDATION', 'records may not be empty');
  records.forEach((r, i) => {
    if (r.timestamp !== undefined && (!Number.isSafeInteger(r.timestamp) || r.timestamp < 0 || r.timestamp > MAX_TIMESTAMP_MS)) {
      throw new FloeError('VALIDATION', `records[${i}].timestamp must be epoch milliseconds between 0 and ${MAX_TIMESTAMP_MS} (9999-12-31)`);
    }
  });
}

export function validateProducer(p: IdempotentProducer): void {
  for (const [name, v, min] of [['producer id', p.id, 1], ['producer epoch', p.epoch, 0], ['sequence', p.sequence, 0]] as const) {
    if (!Number.isSafeInteger(v) || v < min) throw new FloeError('VALIDATION', `${name} must be an integer >= ${min}`);
  }
  if (p.epoch > 32767) throw new FloeError('VALIDATION', 'producer epoch must fit in 16 bits');
}
