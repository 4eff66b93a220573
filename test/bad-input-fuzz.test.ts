import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createApp } from '../src/api/app.ts';
import { createEngine } from '../src/engine/engine.ts';
import { ensureStorage } from '../src/storage/setup.ts';
import { fuzz, KNOWN_CONNECTOR, KNOWN_CONSUMER, KNOWN_TABLE, KNOWN_TRANSACTION, KNOWN_TRIGGER } from './harness/fuzz.ts';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { randomTopic, testClients, testConfig } from './support/env.ts';
import { appClient } from './support/http.ts';
import { b64, BINARY, V2 } from './support/engine.ts';

/** 400 in `npm test`; `npm run test:fuzz` asks for 10,000, which gets the time it needs. */
const RUNS = Number(process.env.FLOE_FUZZ_RUNS ?? 400);

describe('generated bad input', () => {
  it('never answers 5xx, always with {error_code, message}, and rejected requests change nothing', async () => {
    // Tables of its own: topics that tests running beside it create must not look like state changes.
    const config = testConfig({ FLOE_TABLE_PREFIX: `fuzz-${randomBytes(4).toString('hex')}-` });
    const clients = testClients(config);
    await ensureStorage(clients, config.tables, config.bucket);
    const engine = createEngine(config, clients);
    const app = createApp(engine);
    const topic = randomTopic('fuzzed');
    const api = appClient(app);
    await api.post('/v3/clusters/floe/topics', { topic_name: topic, partitions_count: 3 });
    await api.post(`/topics/${topic}`, { records: [{ value: b64('a') }, { key: b64('k'), value: b64('b') }] }, { type: BINARY });
    const { group, instance } = KNOWN_CONSUMER;
    await api.post(`/consumers/${group}`, { name: instance, format: 'binary', 'auto.offset.reset': 'earliest' }, { type: V2 });
    await api.post(`/consumers/${group}/instances/${instance}/subscription`, { topics: [topic] }, { type: V2 });
    await api.get(`/consumers/${group}/instances/${instance}/records`, { accept: BINARY });
    await engine.transactions.init(KNOWN_TRANSACTION);
    await engine.triggers.create({ name: KNOWN_TRIGGER, topic, target: { type: 'lambda', function: 'fuzz-handler' } });
    await engine.tables.create({ name: KNOWN_TABLE, topic });
    // The user's table a known connector sinks into (DynamoDB Local creates it active at once).
    const sinkTable = `${config.tables.log}-sink`;
    await clients.ddb.send(new CreateTableCommand({ TableName: sinkTable, BillingMode: 'PAY_PER_REQUEST', KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }] }));
    await engine.connectors.create({ name: KNOWN_CONNECTOR, type: 'dynamodb-sink', topics: [topic], config: { 'table.name': sinkTable } });
    const out = await fuzz(app, engine, topic, RUNS, Number(process.env.FLOE_FUZZ_SEED ?? 1));
    console.log(JSON.stringify(out.statuses));
    expect(out.fiveHundreds).toEqual([]);
    expect(out.badBodies).toEqual([]);
    expect(out.stateChanges).toEqual([]);
    // The generator reaches both sides: accepted requests and many kinds of rejection.
    expect(Object.keys(out.statuses).length).toBeGreaterThan(5);
    expect(out.statuses[200]).toBeGreaterThan(0);
  }, Math.max(120_000, RUNS * 60));
});
