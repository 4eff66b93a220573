// The console: how long the message browser takes to show the first 100 messages of a partition, in
// Debian's Chromium driven by playwright-core, from navigating to the page's URL until the 100th row is
// in the table (the script, the stylesheet, the topic list, the partition's offsets and one fetch); cold
// (a fresh profile, nothing cached) and warm. Twice: over records produced 100 a request (a producer that
// batches), and over records produced one a request (100 batches, 100 objects to read). Also the
// assets' size, gzipped. The app is the local runtime's, on a real socket, with the console built as
// `npm start` builds it. The target is under 1 s locally.
import { serve, type ServerType } from '@hono/node-server';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { createApp } from '../src/api/app.ts';
import type { FloeConfig } from '../src/config.ts';
import { consoleAssets, gzippedBytes } from '../src/console/assets.ts';
import { buildConsole } from '../src/console/build.ts';
import { SampleRing } from '../src/console/samples.ts';
import { createEngine } from '../src/engine/engine.ts';
import { freePort } from '../src/local/emulators.ts';
import { readNodeBody } from '../src/local/node-body.ts';
import { createClients } from '../src/storage/clients.ts';

export interface ConsoleFigures {
  /** Navigations measured per shape (the first of each is cold). */
  runs: number;
  records_per_partition: number;
  /** From navigation to the 100th row, records produced 100 a request. */
  console_first_100_cold_ms: number;
  console_first_100_p50_ms: number;
  console_first_100_p99_ms: number;
  /** The page's own read (offsets and fetches, in the browser) of those 100. */
  console_read_100_p50_ms: number;
  /** The same, records produced one a request: 100 batches in 100 objects. */
  console_first_100_single_batches_p50_ms: number;
  console_first_100_single_batches_p99_ms: number;
  console_assets_gzip_bytes: number;
}

const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;
const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);

export async function consoleBench(config: FloeConfig, run: string, quick: boolean): Promise<ConsoleFigures> {
  const engine = createEngine(config, createClients(config));
  const assets = consoleAssets(await buildConsole());
  const app = createApp(engine, { readBody: readNodeBody, console: { assets: async () => assets, samples: new SampleRing({ lagOf: async () => new Map() }) } });
  const port = await freePort();
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port }, () => resolve(s));
  });
  const url = `http://127.0.0.1:${port}`;
  const profile = mkdtempSync(join(tmpdir(), 'floe-bench-chromium-'));
  let context: BrowserContext | undefined;
  try {
    // A partition of 1,000 JSON records of about 200 bytes, produced 100 a request; and one of 100 produced one by one.
    const record = (i: number) => ({ key: Buffer.from(`user-${i}`), value: Buffer.from(JSON.stringify({ order: i, item: 'x'.repeat(150), qty: i % 7 })) });
    const batched = `bench-${run}-console`;
    const single = `bench-${run}-console-single`;
    await engine.topics.create({ name: batched, partitions: 1 });
    await engine.topics.create({ name: single, partitions: 1 });
    const records = 1000;
    for (let i = 0; i < records; i += 100) await engine.producer.produce(batched, Array.from({ length: 100 }, (_, j) => record(i + j)));
    for (let i = 0; i < 100; i++) await engine.producer.produce(single, [record(i)]);

    context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 800 },
    });
    const runs = quick ? 5 : 20;
    const measure = async (topic: string) => {
      const total: number[] = [];
      const read: number[] = [];
      for (let i = 0; i < runs; i++) {
        const page = await context!.newPage();
        const started = performance.now();
        await page.goto(`${url}/console/#/messages?topic=${topic}&partition=0`);
        const rows = page.locator('tbody[data-rows="100"]');
        await rows.waitFor({ timeout: 30_000 });
        total.push(performance.now() - started);
        read.push(Number(await rows.getAttribute('data-read-ms')));
        await page.close();
      }
      return { total, read };
    };
    const b = await measure(batched);
    const s = await measure(single);
    const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);
    const warm = sorted(b.total.slice(1));
    return {
      runs,
      records_per_partition: records,
      console_first_100_cold_ms: round(b.total[0]!),
      console_first_100_p50_ms: round(percentile(warm, 50)),
      console_first_100_p99_ms: round(percentile(warm, 99)),
      console_read_100_p50_ms: round(percentile(sorted(b.read), 50)),
      console_first_100_single_batches_p50_ms: round(percentile(sorted(s.total), 50)),
      console_first_100_single_batches_p99_ms: round(percentile(sorted(s.total), 99)),
      console_assets_gzip_bytes: gzippedBytes(assets),
    };
  } finally {
    await context?.close();
    rmSync(profile, { recursive: true, force: true });
    await new Promise<void>((r) => server.close(() => r()));
  }
}
