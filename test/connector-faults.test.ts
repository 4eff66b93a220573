// The bounded connector fault run (test/harness/connector-workload.ts): a topic of updates, tombstones
// and bad records sunk into a DynamoDB table and an S3 bucket under storage faults, crashes and zombie
// writes, then every check over the table, the objects and the dead letters. `npm run test:faults --
// --connectors` runs it long (10,000 records over 500 keys).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbSink } from '../src/connectors/dynamodb-sink.ts';
import { S3Sink } from '../src/connectors/s3-sink.ts';
import { DEFAULT_FAULTS } from './harness/faults.ts';
import { connectorSummary, runConnectorWorkload, type ConnectorWorkloadOptions } from './harness/connector-workload.ts';
import { randomTopic, testConfig } from './support/env.ts';

const boundedRun = (name: string, seed: number, changes: Partial<ConnectorWorkloadOptions> = {}) =>
  runConnectorWorkload({
    config: testConfig(),
    prefix: randomTopic(name),
    seed: Number(process.env.FLOE_FAULT_SEED ?? seed),
    records: 1500,
    keys: 100,
    rates: DEFAULT_FAULTS,
    crashEvery: 300,
    maxCrashes: 10,
    maxMs: 60_000,
    drainMs: 60_000,
    ...changes,
  });

afterEach(() => {
  vi.restoreAllMocks();
});

describe('connectors under faults', () => {
  it('leave the table at the latest record per key and every record in the objects exactly once, bad records in the dead-letter topics (bounded run)', async () => {
    const run = await boundedRun('cnfaults', 61);
    const s = connectorSummary(run);
    const counts = JSON.stringify(s);
    console.log(counts);
    expect(s.caught_up, counts).toBe(true);
    expect(s.crashes, counts).toBeGreaterThan(0);
    expect(s.zombies, counts).toBeGreaterThan(0);
    expect(s.faults_injected, counts).toBeGreaterThan(50);
    expect(s.tombstones, counts).toBeGreaterThan(0);
    expect(s.bad_records, counts).toBeGreaterThan(0);
    expect(s.s3_objects, counts).toBeGreaterThan(5);
    expect(run.check, counts).toEqual({ tableMismatches: [], tableExtra: [], s3Missing: [], s3Duplicates: [], s3Unexpected: [], s3BadNames: [], lettersMissing: [], lettersWrong: [], rerunChanged: [] });
    expect(s.valid, counts).toBe(true);
  }, 240_000);
});

type DynamoInternals = { put(item: Record<string, unknown>, offset: number): Promise<void>; deps: { clients: { ddb: { send(c: unknown): Promise<unknown> } } }; config: Record<string, string> };
type S3Internals = { write: S3Sink['write'] };

describe('the connector checks find planted bugs', () => {
  it('(a) a DynamoDB sink that writes without the offset condition: zombies leave older values', async () => {
    vi.spyOn(DynamoDbSink.prototype as unknown as DynamoInternals, 'put').mockImplementation(async function (this: DynamoInternals, item) {
      await this.deps.clients.ddb.send(new PutCommand({ TableName: this.config['table.name'], Item: item }));
    });
    const run = await boundedRun('cnplant-a', 62, { records: 800, keys: 30, zombieEveryMs: 80 });
    expect(run.zombies).toBeGreaterThan(0);
    expect(run.check.tableMismatches.length, JSON.stringify(connectorSummary(run))).toBeGreaterThan(0);
  }, 240_000);

  it('(b) an S3 sink that commits past the records of an object not yet complete: records missing', async () => {
    const real = S3Sink.prototype.write;
    vi.spyOn(S3Sink.prototype as unknown as S3Internals, 'write').mockImplementation(async function (this: S3Sink, records, options) {
      const out = await real.call(this, records, options);
      return { ...out, through: options.batchEnd };
    });
    const run = await boundedRun('cnplant-b', 63, { records: 800, keys: 30 });
    expect(run.check.s3Missing.length, JSON.stringify(connectorSummary(run))).toBeGreaterThan(0);
  }, 240_000);
});
