// The web console in a real browser: Debian's Chromium driven by playwright-core against the local
// runtime as `npm start` runs it (startLocal, on tables of its own and the test run's emulators). Each
// page loads with no console error and no request leaving the server's origin; a message is found by
// key (one partition read), one produced from the form is then shown, a group's offsets are reset after
// a dry-run preview (and refused while it has members), the lag chart draws; keyboard use, labelled
// controls, 200% zoom, the assets' gzipped size; bad input to the new routes. Screenshots of each page
// at 1280x800 go to docs/console/ for the README.
import { CreateTableCommand, DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { partitionForKey } from '../packages/partitioner/src/index.ts';
import { startLocal, type LocalServer } from '../src/local/server.ts';
import { createClients } from '../src/storage/clients.ts';
import { tableNamesFromPrefix } from '../src/storage/schema.ts';
import { loadConfig } from '../src/config.ts';
import { state as handlers } from './support/trigger-handlers.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SHOTS = join(ROOT, 'docs', 'console');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SAMPLE_MS = 300;
const id = randomBytes(4).toString('hex');
const prefix = `console-${id}-`;
const env: Record<string, string> = { ...inject('floeEnv'), FLOE_TABLE_PREFIX: prefix };

let server: LocalServer;
let context: BrowserContext;
const dirs: string[] = [];

/** One call to the server's API; the answer parsed when it is JSON. */
async function api(method: string, path: string, body?: unknown, type = 'application/json'): Promise<{ status: number; body: any }> {
  const r = await fetch(`${server.url}${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': type, accept: type.includes('kafka') ? 'application/vnd.kafka.v2+json' : 'application/json' } } : {}) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

async function ok(method: string, path: string, body?: unknown, type?: string) {
  const r = await api(method, path, body, type);
  expect(r.status, `${method} ${path}: ${JSON.stringify(r.body)}`).toBeLessThan(300);
  return r.body;
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

async function produce(topic: string, records: Array<{ key?: string; value: string; partition?: number; headers?: Record<string, string> }>) {
  return (await ok('POST', `/floe/v1/topics/${topic}/records`, {
    records: records.map((r) => ({ key: r.key === undefined ? null : b64(r.key), value: b64(r.value), ...(r.partition !== undefined ? { partition: r.partition } : {}), headers: Object.entries(r.headers ?? {}).map(([k, v]) => ({ key: k, value: b64(v) })) })),
  })) as { records: Array<{ partition: number; offset: number }> };
}

/** A REST Proxy consumer that reads `count` records of `topic` in `group`, commits them and leaves: the group is then empty. */
async function consumeAll(group: string, topic: string, count: number): Promise<void> {
  const v2 = 'application/vnd.kafka.v2+json';
  await ok('POST', `/consumers/${group}`, { name: 'reader', format: 'binary', 'auto.offset.reset': 'earliest' }, v2);
  await ok('POST', `/consumers/${group}/instances/reader/subscription`, { topics: [topic] }, v2);
  let seen = 0;
  await until(`${count} records in ${group}`, async () => {
    const r = await fetch(`${server.url}/consumers/${group}/instances/reader/records?timeout=500`, { headers: { accept: 'application/vnd.kafka.binary.v2+json' } });
    seen += ((await r.json()) as unknown[]).length;
    return seen >= count;
  });
  await ok('POST', `/consumers/${group}/instances/reader/offsets`, undefined);
  await ok('DELETE', `/consumers/${group}/instances/reader`);
}

interface Opened {
  page: Page;
  /** Console errors, page errors, and requests that left the server's origin. */
  problems: string[];
  /** Paths of the API requests the page made. */
  requests: string[];
}

/** A new tab at a console path, watched for errors and for any request that leaves the server. */
async function open(path: string): Promise<Opened> {
  const page = await context.newPage();
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    problems.push(`console error: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith(`${server.url}/`) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) problems.push(`request outside the server: ${r.url()}`);
    else requests.push(new URL(r.url()).pathname + new URL(r.url()).search);
  });
  await page.goto(`${server.url}/console/${path}`);
  return { page, problems, requests };
}

// What runs in the page is written as expressions: this file is typed for Node, without the DOM's names.
const FOCUSED_TEXT = 'document.activeElement?.textContent';
/** Controls with no accessible name: no label, no aria-label, and (a button) no text. */
const UNLABELLED = `[...document.querySelectorAll('input, select, textarea, button')].filter((el) => {
  const labels = el.labels ? [...el.labels].map((l) => l.textContent).join(' ') : '';
  const name = labels || el.getAttribute('aria-label') || (el.tagName === 'BUTTON' ? el.textContent : '');
  return !(name ?? '').trim();
}).map((el) => el.outerHTML.slice(0, 120))`;
/** Pixels of the lag chart's canvas in the series' colour (#7c3aed). */
const LAG_PIXELS = `(() => {
  const c = document.querySelector('[data-testid=lag-chart] canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - 124) < 30 && Math.abs(d[i + 1] - 58) < 30 && Math.abs(d[i + 2] - 237) < 30) n++;
  return n;
})()`;

async function shot(page: Page, name: string): Promise<void> {
  // Nothing blinking in a screenshot: the caret, and no element focused.
  await page.evaluate('document.activeElement?.blur()');
  await page.screenshot({ path: join(SHOTS, `${name}.png`), caret: 'hide' });
}

// The server has tables of its own, so names need not be unique across tests: they read well in the screenshots.
const ORDERS = 'orders';
const PAYMENTS = 'payments';
const CUSTOMERS = 'customers';
const BILLING = 'billing';
const TRIGGER = 'notify-payments';
const TABLE = 'customer-profiles';
const CONNECTOR = 'customers-to-crm';
const SINK_TABLE = `${prefix}crm`;

beforeAll(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'floe-console-data-'));
  const profile = mkdtempSync(join(tmpdir(), 'floe-console-chromium-'));
  dirs.push(dataDir, profile);
  mkdirSync(SHOTS, { recursive: true });
  server = await startLocal({ env, dataDir, port: 0, host: '127.0.0.1', log: () => undefined, consoleSampleMs: SAMPLE_MS, triggerSweepMs: 200 });
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 800 },
    locale: 'en-US',
    timezoneId: 'UTC',
    acceptDownloads: true,
  });

  // What the pages show: three topics, a group behind on one, a trigger with a dead letter, a table.
  await ok('POST', '/v3/clusters/floe/topics', { topic_name: ORDERS, partitions_count: 3 });
  await ok('POST', '/v3/clusters/floe/topics', { topic_name: PAYMENTS, partitions_count: 1 });
  await ok('POST', '/v3/clusters/floe/topics', { topic_name: CUSTOMERS, partitions_count: 2, configs: [{ name: 'cleanup.policy', value: 'compact' }] });
  const items = ['book', 'pen', 'cup', 'lamp', 'desk'];
  await produce(ORDERS, Array.from({ length: 60 }, (_, i) => ({ key: `user-${i}`, value: JSON.stringify({ order: i, item: items[i % 5], qty: (i % 4) + 1 }), headers: { source: 'web' } })));
  await consumeAll(BILLING, ORDERS, 60);
  await produce(ORDERS, Array.from({ length: 12 }, (_, i) => ({ key: `user-${60 + i}`, value: JSON.stringify({ order: 60 + i, item: items[i % 5], qty: 1 }) })));
  handlers.poison.add('poison');
  await ok('POST', '/floe/v1/triggers', { name: TRIGGER, topic: PAYMENTS, target: { type: 'module', path: './test/support/trigger-handlers.ts', export: 'flaky' }, starting_position: 'TRIM_HORIZON', retry_attempts: 0 });
  await produce(PAYMENTS, [{ key: 'p-1', value: '{"amount":12.5}' }, { key: 'p-2', value: 'poison' }, { key: 'p-3', value: '{"amount":3}' }]);
  await ok('POST', '/floe/v1/tables', { name: TABLE, topic: CUSTOMERS });
  await produce(CUSTOMERS, ['alice', 'bob', 'carol', 'dave'].map((k, i) => ({ key: k, value: JSON.stringify({ name: k, tier: i % 2 ? 'gold' : 'silver' }) })));
  // A connector sinking the customers into a DynamoDB table of the user's.
  await createClients(loadConfig(env)).ddb.send(new CreateTableCommand({ TableName: SINK_TABLE, BillingMode: 'PAY_PER_REQUEST', KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }] }));
  await ok('POST', '/floe/v1/connectors', { name: CONNECTOR, type: 'dynamodb-sink', topics: [CUSTOMERS], config: { 'table.name': SINK_TABLE } });
  await until('the connector to catch up', async () => (await api('GET', `/floe/v1/connectors/${CONNECTOR}`)).body.lag === 0);
  await until('the dead letter', async () => (await api('GET', `/floe/v1/triggers/${TRIGGER}`)).body.dead_letters.records === 1);
  await until('the table to apply the topic', async () => (await api('GET', `/floe/v1/tables/${TABLE}`)).body.lag === 0);
}, 180_000);

afterAll(async () => {
  try {
    await context?.close();
    await server?.stop();
    handlers.poison.delete('poison');
    const clients = createClients(loadConfig(env));
    await Promise.allSettled([...Object.values(tableNamesFromPrefix(prefix)), SINK_TABLE].map((TableName) => clients.ddb.send(new DeleteTableCommand({ TableName }))));
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});

describe('the web console', () => {
  it('has sources that typecheck under their own settings (the DOM, Preact JSX)', async () => {
    // The root typecheck is for Node; the console's sources have a tsconfig of their own, checked here.
    const tsc = promisify(execFile)(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'console')], { cwd: ROOT });
    await tsc.catch((e: { stdout?: string }) => {
      throw new Error(`tsc -p console found errors:\n${e.stdout ?? String(e)}`);
    });
  }, 180_000);

  it('serves its assets from the server, cached by content hash, under 300 KB gzipped', async () => {
    const index = await fetch(`${server.url}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'/);
    const html = await index.text();
    const files = [...html.matchAll(/(?:src|href)="(app-[A-Z0-9]+\.(?:js|css))"/g)].map((m) => m[1]!);
    expect(files).toHaveLength(2);
    // Bytes on the wire, as a browser that accepts gzip receives them.
    let wire = 0;
    for (const f of ['', ...files]) {
      const got = await new Promise<{ status: number; headers: Record<string, unknown>; bytes: number }>((resolve, reject) => {
        httpRequest(`${server.url}/console/${f}`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
          let bytes = 0;
          res.on('data', (d: Buffer) => (bytes += d.length));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, bytes }));
        })
          .on('error', reject)
          .end();
      });
      expect(got.status).toBe(200);
      expect(got.headers['content-encoding']).toBe('gzip');
      if (f) expect(got.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      wire += got.bytes;
    }
    console.log(`console assets: ${wire} bytes gzipped`);
    expect(wire).toBeLessThan(300 * 1024);
    const etag = (await fetch(`${server.url}/console/${files[0]}`)).headers.get('etag')!;
    expect((await fetch(`${server.url}/console/${files[0]}`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await fetch(`${server.url}/console`, { redirect: 'manual' })).headers.get('location')).toBe('/console/');
    expect(await api('GET', '/console/nothing.js')).toMatchObject({ status: 404, body: { error_code: 404 } });
  });

  it('loads each page without console errors, and saves its screenshot', async () => {
    const pages: Array<{ name: string; path: string; ready: (p: Page) => Promise<unknown> }> = [
      { name: 'overview', path: '#/', ready: (p) => Promise.all([p.getByRole('link', { name: ORDERS, exact: true }).waitFor(), p.waitForSelector('[data-testid=rates-chart] [data-drawn]')]) },
      { name: 'topic', path: `#/topics/${ORDERS}`, ready: (p) => Promise.all([p.getByRole('region', { name: 'Partitions' }).locator('tbody tr').nth(2).waitFor(), p.getByRole('textbox', { name: 'cleanup.policy' }).waitFor()]) },
      { name: 'messages', path: `#/messages?topic=${ORDERS}&as=json`, ready: (p) => p.waitForSelector('tbody[data-rows="72"]') },
      { name: 'groups', path: '#/groups', ready: (p) => p.getByRole('link', { name: BILLING }).waitFor() },
      { name: 'group', path: `#/groups/${BILLING}`, ready: (p) => Promise.all([p.waitForSelector('[data-testid=lag-chart] [data-drawn]'), p.getByRole('region', { name: 'Committed offsets and lag' }).locator('tbody tr').nth(2).waitFor()]) },
      { name: 'triggers', path: '#/triggers', ready: (p) => p.getByRole('link', { name: TRIGGER }).waitFor() },
      { name: 'trigger', path: `#/triggers/${TRIGGER}`, ready: (p) => p.getByRole('region', { name: 'Trigger partitions' }).locator('tbody tr').first().waitFor() },
      { name: 'tables', path: '#/tables', ready: (p) => p.getByRole('link', { name: TABLE }).waitFor() },
      {
        name: 'table',
        path: `#/tables/${TABLE}`,
        ready: async (p) => {
          await p.getByRole('region', { name: 'Table partitions' }).locator('tbody tr').nth(1).waitFor();
          await p.getByLabel('Key (UTF-8)').fill('alice');
          await p.getByLabel('Show as').selectOption('json');
          await p.getByRole('button', { name: 'Look up' }).click();
          await p.getByText('"tier": "silver"').waitFor();
        },
      },
      { name: 'connectors', path: '#/connectors', ready: (p) => p.getByRole('link', { name: CONNECTOR }).waitFor() },
      { name: 'connector', path: `#/connectors/${CONNECTOR}`, ready: (p) => p.getByText('RUNNING').first().waitFor() },
    ];
    for (const x of pages) {
      const o = await open(x.path);
      await x.ready(o.page);
      // Data the page polls for, settled: no request left in flight when the picture is taken.
      await o.page.waitForLoadState('networkidle');
      await shot(o.page, x.name);
      expect(o.problems, x.name).toEqual([]);
      await o.page.close();
    }
  });

  it('finds a message by key, reading only the partition murmur2 puts the key in, and exports it', async () => {
    const o = await open(`#/messages`);
    const { page } = o;
    const form = page.getByRole('form', { name: 'Read messages' });
    await form.getByLabel('Topic', { exact: true }).selectOption(ORDERS);
    await form.getByLabel('Key', { exact: true }).fill('user-42');
    const expected = partitionForKey(Buffer.from('user-42'), 3);
    await form.getByText(`murmur2: partition ${expected}`).waitFor();
    const before = o.requests.length;
    await form.getByRole('button', { name: 'Read', exact: true }).click();
    await page.getByRole('status').filter({ hasText: `hashes (murmur2) to partition ${expected}` }).waitFor();
    const rows = page.getByRole('region', { name: 'Messages' }).locator('tbody tr');
    expect(await rows.count()).toBe(1);
    await expect.poll(() => rows.first().getAttribute('data-partition')).toBe(String(expected));
    expect(await rows.first().locator('td.key').innerText()).toBe('user-42');
    expect(await rows.first().locator('td.value').innerText()).toContain('"order":42');
    const read = o.requests.slice(before).filter((r) => /\/partitions\/\d+\/(records|offsets)/.test(r));
    expect(read.length).toBeGreaterThan(0);
    expect(new Set(read.map((r) => /\/partitions\/(\d+)\//.exec(r)![1]))).toEqual(new Set([String(expected)]));

    // As JSON, pretty; then exported as JSON lines, the value embedded as JSON.
    await form.getByLabel('Show as').selectOption('json');
    expect(await rows.first().locator('td.value').innerText()).toContain('"order": 42');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export JSON lines' }).click()]);
    const lines = readFileSync((await download.path())!, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([expect.objectContaining({ topic: ORDERS, partition: expected, key: 'user-42', value: { order: 42, item: 'cup', qty: 3 }, headers: [{ key: 'source', value: 'web' }] })]);
    expect(o.problems).toEqual([]);
    await page.close();
  });

  it('filters values by substring and by JSON path, reads the latest, and tails live', async () => {
    const o = await open(`#/messages?topic=${ORDERS}`);
    const { page } = o;
    const form = page.getByRole('form', { name: 'Read messages' });
    const rows = page.getByRole('region', { name: 'Messages' }).locator('tbody');
    await page.locator('tbody[data-rows="72"]').waitFor();
    // Orders i = 0..71 have item items[i % 5]; "pen" is i % 5 == 1.
    await form.getByLabel('Value filter').selectOption('path');
    await form.getByLabel('JSON path', { exact: true }).fill('$.item == "pen"');
    await form.getByRole('button', { name: 'Read', exact: true }).click();
    await page.locator('tbody[data-rows="15"]').waitFor();
    await form.getByLabel('JSON path', { exact: true }).fill('$.item ==');
    await form.getByRole('button', { name: 'Read', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'JSON path: a value must follow ==' }).waitFor();
    await form.getByLabel('Value filter').selectOption('substring');
    await form.getByLabel('Text in the value').fill('"lamp"');
    await form.getByRole('button', { name: 'Read', exact: true }).click();
    await page.locator('tbody[data-rows="14"]').waitFor();

    // The newest five of partition 0, oldest first.
    const hw = (await ok('GET', `/floe/v1/topics/${ORDERS}/partitions/0/offsets`)).high_watermark as number;
    const newest = (await ok('GET', `/floe/v1/topics/${ORDERS}/partitions/0/records?offset=${hw - 5}`)).records.map((r: { value: string }) => JSON.parse(Buffer.from(r.value, 'base64').toString()).order);
    await form.getByLabel('Text in the value').fill('');
    await form.getByLabel('Partition', { exact: true }).selectOption('0');
    await form.getByLabel('From', { exact: true }).selectOption('latest');
    await form.getByLabel('Show', { exact: true }).fill('5');
    await form.getByRole('button', { name: 'Read', exact: true }).click();
    await page.locator('tbody[data-rows="5"]').waitFor();
    expect((await rows.locator('td.value').allInnerTexts()).map((v) => JSON.parse(v).order as number)).toEqual(newest);

    // Live tail of another topic: what is produced to it appears.
    const topic = 'events';
    await ok('POST', '/v3/clusters/floe/topics', { topic_name: topic, partitions_count: 2 });
    await page.reload();
    await form.getByLabel('Topic', { exact: true }).selectOption(topic);
    await form.getByLabel('From', { exact: true }).selectOption('earliest');
    await form.getByRole('button', { name: 'Read', exact: true }).click();
    await page.getByRole('status').filter({ hasText: '0 messages from 2 partitions' }).waitFor();
    await page.getByRole('button', { name: 'Live tail' }).click();
    await page.getByRole('status').filter({ hasText: 'Live: waiting for new messages' }).waitFor();
    await produce(topic, [{ key: 'e-1', value: '{"kind":"tail"}' }]);
    await page.getByRole('status').filter({ hasText: 'Live: 1 new message.' }).waitFor();
    expect(await rows.locator('tr').last().locator('td.value').innerText()).toBe('{"kind":"tail"}');
    await page.getByRole('button', { name: 'Stop live tail' }).click();
    expect(o.problems).toEqual([]);
    await page.close();
  });

  it('produces a message from the form, then shows it in the browser', async () => {
    const topic = 'invoices';
    await ok('POST', '/v3/clusters/floe/topics', { topic_name: topic, partitions_count: 2 });
    const o = await open(`#/messages?topic=${topic}`);
    const { page } = o;
    await page.getByRole('heading', { name: `Produce to ${topic}` }).waitFor();
    const form = page.getByRole('form', { name: 'Produce a message' });
    await form.getByLabel('Partition').selectOption('1');
    await form.getByLabel('Key', { exact: true }).fill('order-7');
    await form.getByLabel('Value', { exact: true }).fill('{ "total": 42, "currency": "EUR" }');
    await form.getByLabel('The value is JSON').check();
    await form.getByLabel('Headers').fill('trace: abc-123');
    await form.getByRole('button', { name: 'Produce' }).click();
    await page.getByRole('status').filter({ hasText: 'Produced to partition 1 at offset 0.' }).waitFor();
    await page.getByRole('button', { name: 'Show it' }).click();
    const row = page.getByRole('region', { name: 'Messages' }).locator('tbody tr[data-partition="1"][data-offset="0"]');
    await row.waitFor();
    expect(await row.locator('td.key').innerText()).toBe('order-7');
    expect(await row.locator('td.value').innerText()).toBe('{"total":42,"currency":"EUR"}');
    expect(await row.getByRole('definition').innerText()).toBe('abc-123');
    // What the API holds is what the form sent.
    const stored = await ok('GET', `/floe/v1/topics/${topic}/partitions/1/records?offset=0`);
    expect(stored.records).toEqual([expect.objectContaining({ offset: 0, key: b64('order-7'), value: b64('{"total":42,"currency":"EUR"}'), headers: [{ key: 'trace', value: b64('abc-123') }] })]);

    // Re-published to another topic, headers and all.
    await row.getByRole('button', { name: /Re-publish/ }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('To topic').selectOption(PAYMENTS);
    await dialog.getByRole('button', { name: 'Publish' }).click();
    const done = await dialog.getByRole('status').filter({ hasText: `Published to ${PAYMENTS}` }).innerText();
    const offset = Number(/offset (\d+)/.exec(done)![1]);
    const copy = await ok('GET', `/floe/v1/topics/${PAYMENTS}/partitions/0/records?offset=${offset}&max_records=1`);
    expect(copy.records[0]).toMatchObject({ key: b64('order-7'), value: b64('{"total":42,"currency":"EUR"}'), headers: [{ key: 'trace', value: b64('abc-123') }] });
    await dialog.getByRole('button', { name: 'Close' }).click();
    expect(o.problems).toEqual([]);
    await page.close();
  });

  it("resets a group's offsets after a dry-run preview, and refuses while the group has members", async () => {
    const group = 'audit';
    await consumeAll(group, ORDERS, 72);
    const committed = async () => ((await ok('GET', `/floe/v1/groups/${group}`)).offsets as Array<{ partition: number; committed_offset: number; high_watermark: number }>).sort((a, b) => a.partition - b.partition);
    const ends = await committed();
    expect(ends.every((x) => x.committed_offset === x.high_watermark)).toBe(true);

    const o = await open(`#/groups/${group}`);
    const { page } = o;
    const form = page.getByRole('form', { name: 'Reset offsets' });
    await form.getByLabel('Topic').selectOption(ORDERS);
    await form.getByLabel('To', { exact: true }).selectOption('earliest');
    const apply = form.getByRole('button', { name: 'Reset offsets' });
    expect(await apply.isDisabled()).toBe(true);
    await form.getByRole('button', { name: 'Preview (dry run)' }).click();
    const preview = page.getByRole('region', { name: 'Reset preview' });
    await preview.locator('tbody[data-preview-rows="3"]').waitFor();
    for (const e of ends) {
      const cells = await preview.locator('tbody tr').nth(e.partition).locator('td').allInnerTexts();
      expect(cells).toEqual([String(e.partition), e.high_watermark.toLocaleString('en-US'), '0', `-${e.high_watermark.toLocaleString('en-US')}`]);
    }
    // A dry run changed nothing.
    expect(await committed()).toEqual(ends);
    await preview.scrollIntoViewIfNeeded();
    await shot(page, 'group-reset');
    await apply.click();
    await page.getByRole('status').filter({ hasText: `Reset 3 partitions of ${ORDERS}.` }).waitFor();
    expect((await committed()).map((x) => x.committed_offset)).toEqual([0, 0, 0]);
    // The page shows the new lag once it reloads.
    await page.getByText('72 records', { exact: true }).waitFor();

    // A live member: the form is disabled, and the API refuses the dry run too (409), as Kafka's tool does.
    const v2 = 'application/vnd.kafka.v2+json';
    await ok('POST', `/consumers/${group}`, { name: 'live', format: 'binary' }, v2);
    await ok('POST', `/consumers/${group}/instances/live/subscription`, { topics: [ORDERS] }, v2);
    await fetch(`${server.url}/consumers/${group}/instances/live/records?timeout=0`, { headers: { accept: 'application/vnd.kafka.binary.v2+json' } }).then((r) => r.text());
    await page.getByRole('note').filter({ hasText: 'offsets are reset only while the group is empty' }).waitFor();
    expect(await form.getByRole('button', { name: 'Preview (dry run)' }).isDisabled()).toBe(true);
    const refused = await api('POST', `/floe/v1/groups/${group}/offsets/reset`, { topic: ORDERS, to: 'latest', dry_run: true });
    expect(refused).toMatchObject({ status: 409, body: { error_code: 40903 } });
    await ok('DELETE', `/consumers/${group}/instances/live`);
    expect(o.problems).toEqual([]);
    await page.close();
  });

  it("draws a group's lag over time from the server's samples", async () => {
    const o = await open(`#/groups/${BILLING}`);
    const chart = o.page.getByTestId('lag-chart');
    // Drawn with at least two samples (one every SAMPLE_MS here).
    // (Waits use locators and polls from here: the page's CSP refuses the eval a string predicate needs.)
    const drawn = chart.locator('[data-drawn]');
    await drawn.waitFor();
    await expect.poll(async () => Number(await drawn.getAttribute('data-drawn')), { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    // The line is on the canvas.
    expect(await o.page.evaluate<number>(LAG_PIXELS)).toBeGreaterThan(50);
    const series = await ok('GET', `/floe/v1/metrics?minutes=5&group=${BILLING}`);
    expect(series.source).toBe('local');
    expect(series.groups[BILLING].lag.at(-1)).toBe(12);
    expect(await chart.getByRole('img').getAttribute('aria-label')).toMatch(/Lag: latest 12/);
    expect(o.problems).toEqual([]);
    await o.page.close();
  });

  it('is usable by keyboard, labels every control, and reflows at 200% zoom', async () => {
    const o = await open('#/');
    const { page } = o;
    await page.getByRole('link', { name: ORDERS, exact: true }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(FOCUSED_TEXT)).toBe('Skip to content');
    // Tab along the navigation to Groups, and open it with Enter.
    for (let i = 0; i < 10 && (await page.evaluate(FOCUSED_TEXT)) !== 'Groups'; i++) await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await expect.poll(() => new URL(page.url()).hash, { timeout: 10_000 }).toBe('#/groups');
    await page.getByRole('heading', { name: 'Consumer groups', level: 1 }).waitFor();
    expect(await page.evaluate('document.activeElement?.tagName')).toBe('H1');

    for (const path of ['#/', `#/topics/${ORDERS}`, `#/messages?topic=${ORDERS}`, `#/groups/${BILLING}`, `#/triggers/${TRIGGER}`, `#/tables/${TABLE}`]) {
      await page.goto(`${server.url}/console/${path}`);
      await page.locator('main form, main table').first().waitFor();
      expect(await page.evaluate(UNLABELLED), path).toEqual([]);
    }

    // 200% zoom of a 1280 px window is 640 CSS px: nothing wider than the window, but tables scroll in their own box.
    await page.setViewportSize({ width: 640, height: 400 });
    for (const path of ['#/', `#/topics/${ORDERS}`, `#/messages?topic=${ORDERS}`, `#/groups/${BILLING}`, `#/triggers`]) {
      await page.goto(`${server.url}/console/${path}`);
      await page.locator('main table').first().waitFor();
      const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
      expect(overflow, path).toBeLessThanOrEqual(0);
    }
    expect(o.problems).toEqual([]);
    await page.close();
  });

  it('answers bad input to its routes with 4xx and error codes', async () => {
    expect(await api('GET', '/floe/v1/metrics?minutes=0')).toMatchObject({ status: 400, body: { error_code: 40002 } });
    expect(await api('GET', '/floe/v1/metrics?minutes=61')).toMatchObject({ status: 400, body: { error_code: 40002 } });
    expect(await api('GET', '/floe/v1/metrics?minutes=ten')).toMatchObject({ status: 400, body: { error_code: 40002 } });
    expect(await api('GET', '/floe/v1/metrics?topic=a%2Fb')).toMatchObject({ status: 400, body: { error_code: 40002 } });
    expect(await api('GET', '/floe/v1/metrics?group=a:b')).toMatchObject({ status: 400, body: { error_code: 40002 } });
    expect(await api('GET', `/floe/v1/metrics?topic=${ORDERS}&group=${BILLING}`)).toMatchObject({ status: 400, body: { error_code: 40002 } });
    expect(await api('POST', `/floe/v1/groups/${BILLING}/offsets/reset`, { topic: ORDERS, to: 'earliest', dry_run: 'yes' })).toMatchObject({ status: 422, body: { error_code: 422 } });
    expect(await api('POST', `/floe/v1/groups/${BILLING}/offsets/reset`, { topic: ORDERS, to: 'sideways', dry_run: true })).toMatchObject({ status: 422, body: { error_code: 422 } });
    expect(await api('POST', `/floe/v1/groups/nobody-${id}/offsets/reset`, { topic: ORDERS, to: 'earliest', dry_run: true })).toMatchObject({ status: 404 });
    expect(await api('POST', '/console/')).toMatchObject({ status: 405 });
    const topic = await ok('GET', `/floe/v1/metrics?minutes=60&topic=${ORDERS}`);
    expect(Object.keys(topic.topics)).toEqual([ORDERS]);
    expect(topic.groups).toEqual({});
  });
});
