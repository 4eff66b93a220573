// `floe streams run` and `floe streams describe` spawned as a user runs them: an application module
// loaded from TypeScript, run against a server until SIGTERM, its counts exact; bad input is a one-line
// message and exit code 2.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Floe } from '../packages/client/src/index.ts';
import { floe } from './support/cli.ts';
import { randomTopic } from './support/env.ts';
import { testServer, type TestServer } from './support/server.ts';
import { readAll, until } from './support/streams.ts';

let server: TestServer;
let client: Floe;
let sweeper: NodeJS.Timeout;
beforeAll(async () => {
  server = await testServer();
  client = new Floe({ url: server.url });
  // The stores' tables are kept by a dispatcher: this server's engine sweeps them.
  sweeper = setInterval(() => void server.engine.dispatcher.sweep({ wait: false }).catch(() => undefined), 200);
});
afterAll(async () => {
  clearInterval(sweeper);
  await server.engine.dispatcher.stop();
  await server?.close();
});

const APP = 'test/support/streams-cli-app.ts';

describe('floe streams', () => {
  it('runs an application module until SIGTERM, counting every word once', async () => {
    const input = randomTopic('lines');
    const output = randomTopic('counts');
    await client.admin().createTopics({ topics: [{ topic: input, numPartitions: 2 }, { topic: output, numPartitions: 1 }] });
    const env = { ...process.env, FLOE_DATA_DIR: '/nonexistent', STREAMS_IN: input, STREAMS_OUT: output, STREAMS_APP: randomTopic('cli-app') };
    const child = spawn(process.execPath, ['--import', 'tsx', 'packages/cli/src/main.ts', '--url', server.url, 'streams', 'run', APP], { env });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('close', r));
    await until('the application to start', async () => stderr.includes('running') || undefined, 30_000);
    const producer = client.producer();
    await producer.send({ topic: input, messages: ['a b', 'b c', 'c a b'].map((value, i) => ({ key: `l${i}`, value })) });
    await producer.disconnect();
    const counts = await until('the counts', async () => {
      const m = new Map<string, string>();
      for (const r of await readAll(client, output)) m.set(r.key!.toString(), r.value!.toString());
      return m.get('a') === '2' && m.get('b') === '3' && m.get('c') === '2' ? m : undefined;
    });
    expect(Object.fromEntries(counts)).toEqual({ a: '2', b: '3', c: '2' });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/stopped '.*': \d+ records processed/);
  }, 90_000);

  it('describes the topology', async () => {
    const r = await floe(['streams', 'describe', APP]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Sub-topology: 0/);
    expect(r.stdout).toMatch(/Sub-topology: 1/);
  });

  it('refuses bad input with one line and exit code 2', async () => {
    const missing = await floe(['--url', server.url, 'streams', 'run', 'no/such/app.ts']);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/no such file/);
    const guarantee = await floe(['--url', server.url, 'streams', 'run', APP, '--guarantee', 'sometimes']);
    expect(guarantee.code).toBe(2);
    expect(guarantee.stderr).toMatch(/--guarantee must be exactly_once or at_least_once/);
    const notApp = await floe(['streams', 'describe', 'package.json']);
    expect(notApp.code).toBe(2);
    expect(notApp.stderr.trim().split('\n')).toHaveLength(1);
    const id = await floe(['--url', server.url, 'streams', 'run', APP, '--application-id', 'bad id!']);
    expect(id.code).toBe(2);
    // deploy needs the local runtime (module triggers run code in the server); this one is not.
    await client.admin().createTopics({ topics: [{ topic: 'text-lines', numPartitions: 1 }, { topic: 'word-counts', numPartitions: 1 }] });
    const deploy = await floe(['--url', server.url, 'streams', 'deploy', APP, '--application-id', randomTopic('dep')]);
    expect(deploy.code).toBe(1);
    expect(deploy.stderr).toMatch(/only the local runtime accepts it/);
    expect(deploy.stderr.trim().split('\n')).toHaveLength(1);
  });
});
