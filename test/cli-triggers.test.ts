// `floe triggers ...` end to end: the CLI spawned as a user runs it, against a local-runtime server on
// loopback (module targets allowed, the dispatcher woken by commits and a sweep, as `npm start` runs).
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/api/app.ts';
import { createEngine } from '../src/engine/engine.ts';
import { freePort } from '../src/local/emulators.ts';
import { readNodeBody } from '../src/local/node-body.ts';
import { ownTriggersTable, randomTopic, testClients, testConfig } from './support/env.ts';
import { floe } from './support/cli.ts';
import { state } from './support/trigger-handlers.ts';

const config = testConfig(await ownTriggersTable());
const engine = createEngine(config, testClients(config), { local: true, triggerLog: () => undefined });
let server: ServerType;
let url: string[];
let sweeper: NodeJS.Timeout;

beforeAll(async () => {
  const port = await freePort();
  server = await new Promise((r) => {
    const s = serve({ fetch: createApp(engine, { readBody: readNodeBody }).fetch, hostname: '127.0.0.1', port }, () => r(s));
  });
  url = ['--url', `http://127.0.0.1:${port}`];
  engine.dispatcher.setBootstrapServers(`http://127.0.0.1:${port}`);
  sweeper = setInterval(() => void engine.dispatcher.sweep({ wait: false }).catch(() => undefined), 200);
});
afterAll(async () => {
  clearInterval(sweeper);
  await engine.dispatcher.stop();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('floe triggers', () => {
  it('creates a trigger on a module handler, which receives what `floe produce` writes; describe, pause, seek, delete', async () => {
    const topic = randomTopic('clitrig');
    const name = `cli-${topic}`;
    expect((await floe(['topics', 'create', topic, '--partitions', '2', ...url])).code).toBe(0);
    const created = await floe(['triggers', 'create', name, '--topic', topic, '--module', './test/support/trigger-handlers.ts', '--export', 'accept', '--window-ms', '0', '--from', 'earliest', '--filter', '{"value":[{"prefix":"keep"}]}', ...url]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toBe(`Created trigger ${name} on ${topic} (dead letters to ${name}.dlq).\n`);
    expect((await floe(['produce', topic, '-K', ':', ...url], { stdin: 'a:keep-1\nb:drop-2\nc:keep-3\n' })).code).toBe(0);
    const got = () => state.calls.filter((c) => c.records[0]?.topic === topic).flatMap((c) => c.records.map((r) => Buffer.from(r.value, 'base64').toString()));
    for (let i = 0; i < 200 && got().length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(got().sort()).toEqual(['keep-1', 'keep-3']);
    const listed = await floe(['triggers', 'list', ...url]);
    expect(listed.stdout).toContain(`${name}  ${topic}  module:./test/support/trigger-handlers.ts#accept  Enabled`);
    let described = await floe(['triggers', 'describe', name, ...url]);
    for (let i = 0; i < 50 && !/LAG-MS/.test(described.stdout); i++) described = await floe(['triggers', 'describe', name, ...url]);
    expect(described.code, described.stderr).toBe(0);
    expect(described.stdout.split('\n')[0]).toContain(`Trigger: ${name}\tState: Enabled`);
    expect(described.stdout).toMatch(/TOPIC\s+PARTITION\s+COMMITTED-OFFSET\s+HIGH-WATERMARK\s+LAG\s+LAG-MS/);
    expect((await floe(['triggers', 'pause', name, ...url])).stdout).toBe(`Paused trigger ${name}.\n`);
    const seek = await floe(['triggers', 'seek', name, '--to', 'earliest', '--partition', '0', ...url]);
    expect(seek.code, seek.stderr).toBe(0);
    expect(seek.stdout).toMatch(new RegExp(`${topic}\\s+0\\s+0`));
    expect((await floe(['triggers', 'update', name, '--batch-size', '5', ...url])).code).toBe(0);
    expect((await floe(['triggers', 'delete', name, ...url])).stdout).toBe(`Deleted trigger ${name}.\n`);
  });

  it('exits 2 with one line on a usage error, 1 with the server\'s code on a refused call', async () => {
    const noTarget = await floe(['triggers', 'create', 'x', '--topic', 't', ...url]);
    expect(noTarget.code).toBe(2);
    expect(noTarget.stderr).toBe('floe: triggers create needs a target: --module, --function or --http\n');
    const badFilter = await floe(['triggers', 'create', 'x', '--topic', 't', '--function', 'f', '--filter', '{nope', ...url]);
    expect(badFilter.code).toBe(2);
    const missing = await floe(['triggers', 'describe', 'no-such-trigger', ...url]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("floe: Trigger 'no-such-trigger' not found. (error code 40405)\n");
    const badSize = await floe(['triggers', 'create', 'x', '--topic', 't', '--function', 'f', '--batch-size', '0', ...url]);
    expect(badSize.code).toBe(2);
  });
});
