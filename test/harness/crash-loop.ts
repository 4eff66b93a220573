// Process crashes: start the local server, drive produce load over HTTP, SIGKILL the server at a random
// moment, start it again, and check that every acknowledged record is readable at its acknowledged
// offset and that no offset was ever acknowledged twice. Used by a bounded test and by
// `npm run test:crash -- --rounds 20`.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/local/emulators.ts';
import { prng } from './faults.ts';

export interface CrashLoopResult {
  rounds: number;
  passed: number;
  acked: number;
  failures: string[];
}

const BINARY = 'application/vnd.kafka.binary.v2+json';
const TOPIC = 'crash-loop';
const PARTITIONS = 3;

async function startServer(dataDir: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/local/main.ts'], {
    env: { ...process.env, FLOE_DATA_DIR: dataDir, PORT: String(port), AWS_ENDPOINT_URL: '', AWS_ENDPOINT_URL_DYNAMODB: '', AWS_ENDPOINT_URL_S3: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => (err = (err + d).slice(-2000)));
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`server exited during start: ${err}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/`)).ok) return child;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server did not start: ${err}`);
}

async function readAll(base: string, partition: number): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  let offset = 0;
  for (;;) {
    const r = await fetch(`${base}/floe/v1/topics/${TOPIC}/partitions/${partition}/records?offset=${offset}&max_bytes=1048576`);
    if (r.status === 404) return out;
    const body = (await r.json()) as { records: Array<{ offset: number; value: string }>; next_offset: number; high_watermark: number };
    for (const rec of body.records) out.set(rec.offset, Buffer.from(rec.value, 'base64').toString());
    if (body.next_offset >= body.high_watermark) return out;
    offset = body.next_offset;
  }
}

/** Acknowledged records each round waits for before its kill, and the longest it waits for them. */
const MIN_ACKED_PER_ROUND = 10;
const MAX_ROUND_MS = 60_000;

export async function crashLoop(options: { rounds: number; seed: number; producers?: number; log?: (line: string) => void }): Promise<CrashLoopResult> {
  const log = options.log ?? (() => undefined);
  const random = prng(options.seed);
  const dataDir = mkdtempSync(join(tmpdir(), 'floe-crash-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const acked = new Map<string, string>(); // "partition:offset" -> value
  const failures: string[] = [];
  let passed = 0;
  let server: ChildProcess | undefined;
  let seq = 0;
  try {
    for (let round = 1; round <= options.rounds; round++) {
      server = await startServer(dataDir, port);
      if (round === 1) {
        await fetch(`${base}/v3/clusters/floe/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ topic_name: TOPIC, partitions_count: PARTITIONS }) });
      }
      const bad = await verify(base, acked);
      if (bad.length > 0) failures.push(`round ${round}: ${bad.length} acknowledged records missing or changed, e.g. ${bad.slice(0, 3).join('; ')}`);
      else passed++;

      let killed = false;
      const producer = async (index: number) => {
        while (!killed) {
          const partition = (seq + index) % PARTITIONS;
          const values = Array.from({ length: 1 + (seq % 5) }, (_, i) => `r${round}-p${index}-s${seq}-${i}`);
          seq++;
          try {
            const r = await fetch(`${base}/topics/${TOPIC}/partitions/${partition}`, {
              method: 'POST',
              headers: { 'content-type': BINARY },
              body: JSON.stringify({ records: values.map((v) => ({ value: Buffer.from(v).toString('base64') })) }),
            });
            if (r.status !== 200) continue;
            const body = (await r.json()) as { offsets: Array<{ partition: number | null; offset: number | null }> };
            body.offsets.forEach((o, i) => {
              if (o.offset === null || o.partition === null) return;
              const k = `${o.partition}:${o.offset}`;
              const before = acked.get(k);
              if (before !== undefined && before !== values[i]) failures.push(`offset ${k} acknowledged twice: ${before} and ${values[i]}`);
              acked.set(k, values[i]!);
            });
          } catch {
            // The server died under the request: its outcome is unknown, and nothing was acknowledged.
          }
        }
      };
      const load = Promise.all(Array.from({ length: options.producers ?? 4 }, (_, i) => producer(i)));
      // The kill comes at a random moment, but only once the round has acknowledged a few requests:
      // a loaded machine acknowledges fewer per second, and a round that wrote nothing proves nothing.
      const delay = 150 + random() * 1500;
      const from = acked.size;
      const started = Date.now();
      while ((Date.now() - started < delay || acked.size - from < MIN_ACKED_PER_ROUND) && Date.now() - started < MAX_ROUND_MS) {
        await new Promise((r) => setTimeout(r, 20));
      }
      server.kill('SIGKILL');
      await new Promise((r) => server!.once('exit', r));
      killed = true;
      await load;
      log(`round ${round}: killed; ${acked.size} acknowledged so far`);
    }
    server = await startServer(dataDir, port);
    const bad = await verify(base, acked);
    if (bad.length > 0) failures.push(`final: ${bad.length} acknowledged records missing or changed, e.g. ${bad.slice(0, 3).join('; ')}`);
    server.kill('SIGTERM');
    await new Promise((r) => server!.once('exit', r));
  } finally {
    if (server && server.exitCode === null) server.kill('SIGKILL');
    try {
      process.kill(Number(readFileSync(join(dataDir, 'dynamodb-local.pid'), 'utf8')), 'SIGKILL');
    } catch {
      // no emulator left
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
  return { rounds: options.rounds, passed, acked: acked.size, failures };
}

async function verify(base: string, acked: Map<string, string>): Promise<string[]> {
  const bad: string[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    const log = await readAll(base, p);
    for (const [k, v] of acked) {
      const [partition, offset] = k.split(':').map(Number) as [number, number];
      if (partition !== p) continue;
      const got = log.get(offset);
      if (got !== v) bad.push(`${k} expected ${v}, found ${got ?? 'nothing'}`);
    }
  }
  return bad;
}
