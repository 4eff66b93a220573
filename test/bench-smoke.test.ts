// The benchmark's cost model, checked on its own: the figures `npm run bench` prints rest on it.
import { describe, expect, it } from 'vitest';
import { costPerGb, PRICES } from '../bench/prices.ts';

describe('benchmark cost model', () => {
  it('prices one PUT, one read, two single writes and one two-item transaction (one index entry) per 1 MB request from the price table', () => {
    const c = costPerGb({ s3Puts: 1, itemsRead: 1, singleWrites: 2, transactions: 1, itemsWritten: 2, indexEntriesWritten: 1, requestBytes: 1024 * 1024, latencyMs: 0 });
    expect(c.parts.s3).toBeCloseTo(1024 * PRICES.s3Put, 10);
    // 1 WRU per single write, 2 per transactional item, plus 1 for the entry's local secondary index copy.
    expect(c.parts.dynamodb_writes).toBeCloseTo(1024 * 7 * PRICES.ddbWru, 10);
    expect(c.parts.dynamodb_reads).toBeCloseTo(1024 * PRICES.ddbRru, 10);
    expect(c.parts.api_gateway).toBeCloseTo(1024 * 2 * PRICES.httpApiRequest, 10);
    expect(c.total).toBeCloseTo(Object.values(c.parts).reduce((a, b) => a + b, 0), 12);
  });

  it('costs more per GB with smaller requests', () => {
    const at = (bytes: number) => costPerGb({ s3Puts: 1, itemsRead: 0, singleWrites: 2, transactions: 1, itemsWritten: 2, indexEntriesWritten: 1, requestBytes: bytes, latencyMs: 20 }).total;
    expect(at(64 * 1024)).toBeGreaterThan(at(1024 * 1024) * 10);
  });
});
