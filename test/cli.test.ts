// The CLI end to end: spawned as a user runs it, against a real server on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomTopic } from './support/env.ts';
import { testServer, type TestServer } from './support/server.ts';
import { floe } from './support/cli.ts';

let server: TestServer;
let url: string[];

beforeAll(async () => {
  server = await testServer({ FLOE_GROUP_SESSION_TIMEOUT_MS: '3000' });
  url = ['--url', server.url];
});
afterAll(() => server?.close());

describe('floe CLI', () => {
  it('round-trips 100,000 lines: seq | floe produce, then floe consume -o beginning -e', async () => {
    const topic = randomTopic('cli');
    expect((await floe(['topics', 'create', topic, '--partitions', '1', ...url])).code).toBe(0);
    const produced = await floe(['produce', topic, ...url], { pipeFrom: 'seq 1 100000' });
    expect(produced.stderr).toBe('');
    expect(produced.code).toBe(0);
    const consumed = await floe(['consume', topic, '-o', 'beginning', '-e', '-f', '%s\\n', ...url]);
    expect(consumed.code, consumed.stderr).toBe(0);
    const lines = consumed.stdout.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(100_000);
    expect(lines.every((l, i) => l === String(i + 1))).toBe(true);
    // The batching producer sent them in few requests: the log holds far fewer batches than records.
    const offsets = await floe(['offsets', topic, ...url]);
    expect(offsets.stdout).toMatch(/^PARTITION\s+LOG-START-OFFSET\s+HIGH-WATERMARK\n0\s+0\s+100000\n$/);
  }, 120_000);

  it('splits keys with -K, adds headers with -H, and prints kcat tokens and JSON envelopes', async () => {
    const topic = randomTopic('clik');
    await floe(['topics', 'create', topic, '--partitions', '3', ...url]);
    const r = await floe(['produce', topic, '-K', ':', '-H', 'src=cli', ...url], { stdin: 'alice:cup\nbob:plate\n' });
    expect(r.code).toBe(0);
    const out = await floe(['consume', topic, '-o', 'beginning', '-e', '-f', '%k=%s %h %K/%S\\n', ...url]);
    expect(out.stdout.split('\n').filter(Boolean).sort()).toEqual(['alice=cup src=cli 5/3', 'bob=plate src=cli 3/5']);
    const json = await floe(['consume', topic, '-o', 'beginning', '-e', '-J', ...url]);
    const envelopes = json.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(envelopes.map((e) => [e.key, e.payload, e.headers]).sort()).toEqual([
      ['alice', 'cup', ['src', 'cli']],
      ['bob', 'plate', ['src', 'cli']],
    ]);
    // Keys land where the Java client puts them, so -p reads exactly the key's partition.
    const { partitionForKey } = await import('../packages/partitioner/src/index.ts');
    const p = partitionForKey(Buffer.from('alice'), 3);
    const one = await floe(['consume', topic, '-o', 'beginning', '-e', '-p', String(p), '-f', '%k\\n', ...url]);
    expect(one.stdout.split('\n').filter(Boolean)).toContain('alice');
  }, 60_000);

  it('consumes in a group and shows its lag; a reset is a dry run until --execute', async () => {
    const topic = randomTopic('clig');
    const group = randomTopic('g');
    await floe(['topics', 'create', topic, '--partitions', '2', ...url]);
    await floe(['produce', topic, ...url], { pipeFrom: 'seq 1 50' });
    const read = await floe(['consume', topic, '-G', group, '-o', 'beginning', '-e', '-f', '%s\\n', ...url]);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout.split('\n').filter(Boolean).map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const lagOf = (out: string) => out.split('\n').filter((l) => l.startsWith(group)).reduce((n, l) => n + Number(l.trim().split(/\s+/)[5]), 0);
    const described = await floe(['groups', 'describe', group, ...url]);
    expect(described.stdout).toMatch(/GROUP\s+TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+LOG-END-OFFSET\s+LAG\s+CONSUMER-ID/);
    expect(lagOf(described.stdout)).toBe(0);
    const dry = await floe(['groups', 'reset', group, '--topic', topic, '--to-earliest', ...url]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/NEW-OFFSET/);
    expect(lagOf((await floe(['groups', 'describe', group, ...url])).stdout)).toBe(0);
    // The consumer has left and its session expired: the group is empty, so a reset may apply.
    await new Promise((r) => setTimeout(r, 3500));
    const applied = await floe(['groups', 'reset', group, '--topic', topic, '--to-earliest', '--execute', ...url]);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(lagOf((await floe(['groups', 'describe', group, ...url])).stdout)).toBe(50);
  }, 60_000);

  it('answers a bad argument with one line and exit code 2, a server error with its code and exit code 1', async () => {
    const usage = [
      ['consume'],
      ['consume', 't', '-o', 'bogus', ...url],
      ['consume', 't', '-c', '0', ...url],
      ['consume', 't', '-f', '%z', '-e', ...url],
      ['consume', 't', '-o', 'stored', ...url],
      ['topics', 'create', 'x', '--partitions', '0', ...url],
      ['groups', 'reset', 'g', '--topic', 't', ...url],
      ['produce', 't', '-H', 'novalue', ...url],
      ['nosuchcommand'],
      ['topics', 'list', '--bogus-flag'],
    ];
    for (const args of usage) {
      const r = await floe(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trimEnd().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(/^floe: /);
    }
    const missing = await floe(['topics', 'describe', randomTopic('none'), ...url]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^floe: .*\(error code 40401\)\n$/);
    const unreachable = await floe(['topics', 'list', '--url', 'http://127.0.0.1:1']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr.trimEnd().split('\n')).toHaveLength(1);
  }, 60_000);
});
