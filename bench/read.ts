// The read side of `npm run bench`: consume throughput through the fetch path and through a REST v2
// consumer instance against raw ranged S3 GETs of the same objects, produce-to-fetch latency with a
// long poll waiting at the high watermark, and the peak RSS of a process reading a large log.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { createApp } from '../src/api/app.ts';
import type { FloeConfig } from '../src/config.ts';
import { createEngine, type Engine } from '../src/engine/engine.ts';
import { DEFAULT_MAX_BYTES } from '../src/fetch/fetch.ts';
import { mapBounded } from '../src/map-bounded.ts';
import { createClients } from '../src/storage/clients.ts';
import { partitionKey } from '../src/storage/keys.ts';
import { LogTable } from '../src/storage/log-table.ts';

/** What the fetch path allows itself, so the floor is not handed more parallelism than Floe has. */
const GET_CONCURRENCY = 8;
/** The fetch path's coalescing gap: ranges of one object this close are read with one GET. */
const COALESCE_GAP = 256 * 1024;

export interface ReadRun {
  bytes: number;
  ms: number;
}

export const mbPerS = (r: ReadRun): number => Math.round((r.bytes / 1024 / 1024 / (r.ms / 1000)) * 100) / 100;

/**
 * Fills partition 0 of `topic` with `requests` requests of `perRequest` records of `value`, one after
 * another: concurrent producers on one partition would only race for its head.
 */
export async function fillPartition(engine: Engine, topic: string, requests: number, perRequest: number, value: Buffer): Promise<number> {
  const records = Array.from({ length: perRequest }, () => ({ key: null, value, partition: 0 }));
  for (let i = 0; i < requests; i++) await engine.producer.produce(topic, records);
  return (await engine.fetcher.offsets(topic, 0)).highWatermark;
}

/**
 * The floor: one consistent read of the whole index (paged Query), then every entry's byte range by
 * GetObject, ranges of one object coalesced as the fetch path does, 8 GETs in flight. Its clients are
 * fresh, as a fresh engine's are. The bytes counted are the records' values, as for Floe, so the ratio
 * is one of times.
 */
export async function floorRead(config: FloeConfig, topicId: string, highWatermark: number, valueBytes: number): Promise<ReadRun> {
  const clients = createClients(config);
  const t = performance.now();
  const entries = await new LogTable(clients, config.tables.log).entriesBetween(partitionKey(topicId, 0), 0, highWatermark);
  const gets: Array<{ key: string; start: number; end: number }> = [];
  const sorted = [...entries].sort((a, b) => (a.objectKey === b.objectKey ? a.position - b.position : a.objectKey < b.objectKey ? -1 : 1));
  for (const e of sorted) {
    const last = gets[gets.length - 1];
    if (last && last.key === e.objectKey && e.position - last.end <= COALESCE_GAP) last.end = Math.max(last.end, e.position + e.length);
    else gets.push({ key: e.objectKey, start: e.position, end: e.position + e.length });
  }
  let stored = 0;
  await mapBounded(gets, GET_CONCURRENCY, async (g) => {
    const r = await clients.s3.send(new GetObjectCommand({ Bucket: config.bucket, Key: g.key, Range: `bytes=${g.start}-${g.end - 1}` }));
    const n = (await r.Body!.transformToByteArray()).length;
    // As the fetch path's getRange does: a short body would flatter the floor.
    if (n !== g.end - g.start) throw new Error(`floor GET of ${g.key} [${g.start}, ${g.end}) returned ${n} bytes (Content-Range ${r.ContentRange})`);
    stored += n;
  });
  const ms = performance.now() - t;
  const expected = gets.reduce((n, g) => n + g.end - g.start, 0);
  if (stored !== expected) throw new Error(`floor read ${stored} bytes, expected ${expected}`);
  return { bytes: entries.reduce((n, e) => n + e.recordCount, 0) * valueBytes, ms };
}

/** One partition from offset 0 to the high watermark through Fetcher.fetch, on a fresh engine (empty range cache). */
export async function fetchPathRead(config: FloeConfig, topic: string, highWatermark: number): Promise<ReadRun> {
  const engine = createEngine(config, createClients(config));
  const t = performance.now();
  let bytes = 0;
  for (let offset = 0; offset < highWatermark; ) {
    const r = await engine.fetcher.fetch({ topic, partition: 0, offset, maxBytes: DEFAULT_MAX_BYTES });
    for (const rec of r.records) bytes += rec.value?.length ?? 0;
    offset = r.nextOffset;
  }
  return { bytes, ms: performance.now() - t };
}

/**
 * The same read through a REST v2 consumer instance over the HTTP app, in process: create, assign
 * partition 0, records calls of 1 MB until the high watermark, delete. The instance keeps the
 * defaults a REST client gets (auto commit on), so each records call also loads and saves the
 * instance and commits what the previous one returned.
 */
export async function consumerRead(config: FloeConfig, topic: string, highWatermark: number, group: string): Promise<ReadRun> {
  const app = createApp(createEngine(config, createClients(config)));
  const json = { 'content-type': 'application/vnd.kafka.v2+json' };
  const call = async (method: string, path: string, body?: unknown, accept?: string) => {
    const r = await app.request(path, { method, headers: { ...json, ...(accept ? { accept } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    return r.status === 204 ? undefined : ((await r.json()) as unknown);
  };
  const t = performance.now();
  const base = `/consumers/${group}/instances/reader`;
  await call('POST', `/consumers/${group}`, { name: 'reader', format: 'binary', 'auto.offset.reset': 'earliest' });
  await call('POST', `${base}/assignments`, { partitions: [{ topic, partition: 0 }] });
  let bytes = 0;
  let next = 0;
  while (next < highWatermark) {
    const records = (await call('GET', `${base}/records?timeout=1000&max_bytes=${DEFAULT_MAX_BYTES}`, undefined, 'application/vnd.kafka.binary.v2+json')) as Array<{ offset: number; value: string | null }>;
    for (const r of records) {
      bytes += r.value === null ? 0 : Buffer.byteLength(r.value, 'base64');
      next = r.offset + 1;
    }
  }
  await call('DELETE', base);
  return { bytes, ms: performance.now() - t };
}

/**
 * Produce-to-consume latency: a fetch long-polls at the high watermark of `topic` (partition 0) on the
 * same engine, so the in-process append notifier can wake it, as in one server; then one small
 * record is produced. The time runs from just before produce() to the fetch returning the record.
 */
export async function endToEnd(engine: Engine, topic: string, count: number): Promise<number[]> {
  const value = Buffer.from('e2e');
  const latencies: number[] = [];
  let offset = (await engine.fetcher.offsets(topic, 0)).highWatermark;
  for (let i = 0; i < count; i++) {
    const seen = (async () => {
      for (;;) {
        const r = await engine.fetcher.fetch({ topic, partition: 0, offset, waitMs: 10_000 });
        offset = r.nextOffset;
        if (r.records.length > 0) return performance.now();
      }
    })();
    // Let the fetch read the head and park in its wait, so the produce is what wakes it.
    await new Promise((r) => setTimeout(r, 20));
    const t = performance.now();
    await engine.producer.produce(topic, [{ key: null, value, partition: 0 }]);
    latencies.push((await seen) - t);
  }
  return latencies;
}

export interface RssResult {
  records: number;
  ms: number;
  peak_rss_mb: number;
  start_rss_mb: number;
  range_cache_mb: number;
  max_rss_mb: number;
}

/**
 * Reads partition 0 of `topic` to `highWatermark` in a child process, so that only the reader's memory
 * is measured, not the bench's own (its emulator clients, the produce runs' buffers).
 */
export function rssRead(env: NodeJS.ProcessEnv, topic: string, highWatermark: number): Promise<RssResult> {
  const script = fileURLToPath(new URL('./consume-rss.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, topic, String(highWatermark)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`consume-rss exited ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as RssResult);
      } catch (e) {
        reject(new Error(`consume-rss printed no result: ${out.slice(-500)}`, { cause: e }));
      }
    });
  });
}
