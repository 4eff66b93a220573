// The benchmark's cost model, checked on its own: the figures `npm run bench` prints rest on it; and
// the transactions shape run small, so a change that breaks it shows here rather than mid-bench.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { costPerGb, PRICES } from '../bench/prices.ts';
import { transactionsBench } from '../bench/transactions.ts';
import { countCalls } from './support/call-counter.ts';
import { testEngine } from './support/engine.ts';

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

describe('benchmark transactions shape', () => {
  it('times commits of 1 and 8 partitions, counts their calls, and reads one log at both isolation levels', async () => {
    const engine = testEngine();
    const counter = countCalls(engine.clients);
    const plan = { commits: [1, 8].map((partitions) => ({ partitions, transactions: 1 })), isolation: { transactions: 2, recordsPerTransaction: 10, rounds: 2 } };
    const f = await transactionsBench(engine, counter, engine.config, randomBytes(4).toString('hex'), Buffer.alloc(1024, 7), plan);
    expect(f.commits.map((c) => [c.partitions, c.transactions])).toEqual([[1, 1], [8, 1]]);
    for (const c of f.commits) {
      expect(c.commit_p50_ms).toBeGreaterThan(0);
      expect(c.commit_p99_ms).toBeGreaterThanOrEqual(c.commit_p50_ms);
      // At least the commit point, a read of what was staged, and an append per partition.
      expect(c.calls_per_commit).toBeGreaterThan(c.partitions);
      expect(c.commit_calls['dynamodb.TransactWriteItems']).toBeGreaterThan(0);
    }
    expect(f.isolation.records).toBe(20);
    expect(f.isolation.read_committed_vs_uncommitted).toBeGreaterThan(0);
  }, 120_000);
});
