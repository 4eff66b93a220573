// `floe connectors ...` end to end: the CLI spawned as a user runs it, against a local-runtime server on
// loopback (the dispatcher woken by commits and a sweep, as `npm start` runs, with a triggers table of
// this file's own), sinking into a real DynamoDB Local table; and usage errors as one line and exit 2.
import { serve, type ServerType } from '@hono/node-server';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/api/app.ts';
import { createEngine } from '../src/engine/engine.ts';
import { freePort } from '../src/local/emulators.ts';
import { readNodeBody } from '../src/local/node-body.ts';
import { floe } from './support/cli.ts';
import { ownTriggersTable, randomTopic, testClients, testConfig } from './support/env.ts';
import { until } from './support/streams.ts';

const config = testConfig(await ownTriggersTable());
const clients = testClients(config);
const engine = createEngine(config, clients, { local: true, triggerLog: () => undefined });
const dir = mkdtempSync(join(tmpdir(), 'floe-cli-conn-'));
let server: ServerType;
let url: string[];
let sweeper: NodeJS.Timeout;

beforeAll(async () => {
  const port = await freePort();
  server = await new Promise((r) => {
    const s = serve({ fetch: createApp(engine, { readBody: readNodeBody }).fetch, hostname: '127.0.0.1', port }, () => r(s));
  });
  url = ['--url', `http://127.0.0.1:${port}`];
  sweeper = setInterval(() => void engine.dispatcher.sweep({ wait: false }).catch(() => undefined), 200);
});
afterAll(async () => {
  clearInterval(sweeper);
  await engine.dispatcher.stop();
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

async function userTable(): Promise<string> {
  const name = `sink-${randomBytes(5).toString('hex')}`;
  await clients.ddb.send(
    new CreateTableCommand({ TableName: name, BillingMode: 'PAY_PER_REQUEST', KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }] }),
  );
  return name;
}

async function ids(table: string): Promise<string[]> {
  const r = await clients.ddb.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
  return (r.Items ?? []).map((i) => i.id as string).sort();
}

/**
 * `floe connectors describe` once the connector has caught up with at least `written` records written
 * (waited for in-process: polling by spawning the CLI takes seconds a poll on a loaded machine).
 */
async function caughtUp(name: string, written: number) {
  await until(`connector ${name} at ${written} records`, async () => {
    const d = await engine.connectors.describe(name);
    return d.lag === 0 && d.records_written >= written;
  });
  const d = await floe(['connectors', 'describe', name, ...url]);
  expect(d.code, d.stderr).toBe(0);
  const [, n] = /\tLag: 0\tRecordsWritten: (\d+)\t/.exec(d.stdout.split('\n')[0]!) ?? [];
  expect(Number(n), d.stdout).toBeGreaterThanOrEqual(written);
  return d;
}

describe('floe connectors', () => {
  it('creates a dynamodb-sink from flags and a config file, which writes what `floe produce` sends; list, describe, update, pause, resume, reset-offsets, delete', async () => {
    const topic = randomTopic('cliconn');
    const table = await userTable();
    const name = `cli-${topic}`;
    expect((await floe(['topics', 'create', topic, '--partitions', '2', ...url])).code).toBe(0);
    const file = join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify({ 'table.name': 'overridden-by-the-flag', 'value.mapping': 'raw' }));
    const created = await floe(['connectors', 'create', name, '--type', 'dynamodb-sink', '--topic', topic, '--config-file', file, '--config', `table.name=${table}`, '--config', 'value.attribute=v', ...url]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toBe(`Created connector ${name} (dynamodb-sink) from ${topic} to table:${table}.\n`);

    expect((await floe(['produce', topic, '-K', ':', ...url], { stdin: 'a:one\nb:two\nc:three\n' })).code).toBe(0);
    const described = await caughtUp(name, 3);
    const lines = described.stdout.split('\n');
    expect(lines[0]).toBe(`Connector: ${name}\tType: dynamodb-sink\tState: RUNNING\tLag: 0\tRecordsWritten: 3\tErrorsTolerance: none\tDeadLetters: none`);
    // The file's settings with the flags laid over them, and the defaults filled in.
    expect(lines[1]).toMatch(new RegExp(`^Config: .*table\\.name=${table}`));
    expect(lines[1]).toContain('value.mapping=raw');
    expect(lines[1]).toContain('value.attribute=v');
    expect(lines[2]).toBe('Error: -');
    expect(lines[3]).toMatch(/^TOPIC\s+PARTITION\s+COMMITTED-OFFSET\s+HIGH-WATERMARK\s+LAG\s+LAG-MS\s+RECORDS-WRITTEN\s+LAST-ERROR$/);
    expect(lines.slice(4).filter(Boolean).map((l) => l.split(/\s+/).slice(0, 5))).toEqual([0, 1].map((p) => [topic, String(p), expect.stringMatching(/^\d+$/), expect.stringMatching(/^\d+$/), '0']));
    expect(await ids(table)).toEqual(['a', 'b', 'c']);

    const listed = await floe(['connectors', 'list', ...url]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout.split('\n')[0]).toMatch(/^NAME\s+TYPE\s+TOPICS\s+DESTINATION\s+STATE$/);
    expect(listed.stdout).toMatch(new RegExp(`${name}\\s+dynamodb-sink\\s+${topic}\\s+table:${table}\\s+RUNNING`));

    // --config alone changes that key and keeps the others.
    const dlq = `${name}.dlq`;
    const updated = await floe(['connectors', 'update', name, '--config', 'delete.enabled=false', '--errors-tolerance', 'all', '--dlq-topic', dlq, ...url]);
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stdout).toBe(`Updated connector ${name}.\n`);
    const afterUpdate = (await floe(['connectors', 'describe', name, ...url])).stdout.split('\n');
    expect(afterUpdate[0]).toContain(`ErrorsTolerance: all\tDeadLetters: 0 in ${dlq}`);
    expect(afterUpdate[1]).toContain('delete.enabled=false');
    expect(afterUpdate[1]).toContain('value.mapping=raw');

    expect((await floe(['connectors', 'pause', name, ...url])).stdout).toBe(`Paused connector ${name}.\n`);
    expect((await floe(['connectors', 'describe', name, ...url])).stdout.split('\n')[0]).toContain('\tState: PAUSED\t');
    expect((await floe(['produce', topic, '-K', ':', ...url], { stdin: 'd:four\n' })).code).toBe(0);
    await engine.dispatcher.sweep();
    expect(await ids(table)).toEqual(['a', 'b', 'c']);
    expect((await floe(['connectors', 'resume', name, ...url])).stdout).toBe(`Resumed connector ${name}.\n`);
    await caughtUp(name, 4);
    expect(await ids(table)).toEqual(['a', 'b', 'c', 'd']);

    const reset = await floe(['connectors', 'reset-offsets', name, '--to', 'earliest', '--topic', topic, ...url]);
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout).toBe(`TOPIC${' '.repeat(topic.length - 5)}  PARTITION  NEW-OFFSET\n${topic}  0          0\n${topic}  1          0\n`);
    // The replay writes the 4 records again (refused by their offsets, but counted), and catches up.
    await caughtUp(name, 8);
    const one = await floe(['connectors', 'reset-offsets', name, '--to', 'offset', '--offset', '0', '--partition', '1', ...url]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout.split('\n')[1]).toMatch(new RegExp(`^${topic}\\s+1\\s+0$`));

    expect((await floe(['connectors', 'delete', name, ...url])).stdout).toBe(`Deleted connector ${name}.\n`);
    const gone = await floe(['connectors', 'describe', name, ...url]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe(`floe: Connector '${name}' not found. (error code 40408)\n`);
  }, 120_000);

  it('exits 2 with one line on a usage error, 1 with the server\'s code on a refused call', async () => {
    const badType = await floe(['connectors', 'create', 'x', '--type', 'kafka-sink', '--topic', 't', '--config', 'table.name=t', ...url]);
    expect(badType.code).toBe(2);
    expect(badType.stderr).toBe("floe: option '--type <type>' argument 'kafka-sink' is invalid. Allowed choices are dynamodb-sink, s3-sink.\n");
    const noOffset = await floe(['connectors', 'reset-offsets', 'x', '--to', 'offset', ...url]);
    expect(noOffset.code).toBe(2);
    expect(noOffset.stderr).toBe('floe: --to offset needs --offset\n');
    const badConfig = await floe(['connectors', 'create', 'x', '--type', 's3-sink', '--topic', 't', '--config', 'flush.size', ...url]);
    expect(badConfig.code).toBe(2);
    expect(badConfig.stderr).toBe("floe: --config takes key=value, got 'flush.size'\n");
    const noFile = await floe(['connectors', 'create', 'x', '--type', 's3-sink', '--topic', 't', '--config-file', join(dir, 'missing.json'), ...url]);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr.split('\n')).toHaveLength(2);
    const refused = await floe(['connectors', 'create', randomTopic('clibad'), '--type', 'dynamodb-sink', '--topic', randomTopic('nowhere'), '--config', 'table.name=orders', '--config', 'value.mapping=xml', ...url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe("floe: value.mapping must be one of fields, raw, got 'xml' (error code 40002)\n");
  });
});
