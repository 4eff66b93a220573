// What the client tests share: a Floe in either mode (over HTTP against a real loopback server, or
// direct mode on the test run's tables and bucket), fetch wrappers that count or break produce
// requests, and reading a partition back through the native API.
import { afterAll, beforeAll, inject } from 'vitest';
import { Floe, type FloeOptions } from '../../packages/client/src/index.ts';
import { randomTopic } from '../support/env.ts';
import { testServer, type TestServer } from '../support/server.ts';

export type Mode = 'http' | 'direct';

export const SESSION_MS = 3000;

/** Client retries fast enough for tests. */
export const FAST_RETRY = { retries: 8, initialRetryTime: 20, maxRetryTime: 200 };

/** A suite's client in `mode`, with FAST_RETRY: set up before the suite's tests, closed after them. */
export function suiteClient(mode: Mode): { readonly floe: Floe } {
  let setup: Setup | undefined;
  let floe: Floe | undefined;
  beforeAll(async () => {
    setup = await setUp(mode);
    floe = setup.floe({ retry: FAST_RETRY });
  });
  afterAll(() => setup?.close());
  return {
    get floe(): Floe {
      if (!floe) throw new Error('the suite client is used before its suite started');
      return floe;
    },
  };
}

/** A new topic of `partitions` partitions, made through the client's admin. */
export async function newTopic(floe: Floe, prefix: string, partitions: number): Promise<string> {
  const topic = randomTopic(prefix);
  if (!(await floe.admin().createTopics({ topics: [{ topic, numPartitions: partitions }] }))) throw new Error(`topic ${topic} was not created`);
  return topic;
}

export interface Setup {
  floe(options?: Omit<FloeOptions, 'url' | 'direct'>): Floe;
  close(): Promise<void>;
  server?: TestServer;
}

export async function setUp(mode: Mode, overrides: Record<string, string> = {}): Promise<Setup> {
  const settings = { FLOE_GROUP_SESSION_TIMEOUT_MS: String(SESSION_MS), ...overrides };
  if (mode === 'http') {
    const server = await testServer(settings);
    return { server, floe: (o = {}) => new Floe({ ...o, url: server.url }), close: () => server.close() };
  }
  // Direct mode reads the emulator endpoints and Floe's settings from process.env.
  const env = inject('floeEnv');
  Object.assign(process.env, env, settings);
  return {
    floe: (o = {}) => new Floe({ ...o, direct: { tables: { prefix: env.FLOE_TABLE_PREFIX! }, bucket: env.FLOE_BUCKET! } }),
    close: async () => {},
  };
}

/** A fetch that counts produce requests (native produce posts) before passing them on. */
export function countingFetch(): { fetch: typeof fetch; produces: () => number } {
  let n = 0;
  const wrapped = ((input: string | URL | Request, init?: RequestInit) => {
    if (isProduce(input, init)) n++;
    return fetch(input, init);
  }) as typeof fetch;
  return { fetch: wrapped, produces: () => n };
}

/**
 * A fetch that breaks produce requests by plan: `before` fails with a 503 the server never saw,
 * `after` lets the server handle the request and then loses its answer (a network error).
 */
export function faultyFetch(plan: (n: number) => 'ok' | 'before' | 'after'): { fetch: typeof fetch; faults: { before: number; after: number } } {
  let n = 0;
  const faults = { before: 0, after: 0 };
  const wrapped = (async (input: string | URL | Request, init?: RequestInit) => {
    if (!isProduce(input, init)) return fetch(input, init);
    const what = plan(n++);
    if (what === 'before') {
      faults.before++;
      return new Response(JSON.stringify({ error_code: 50003, message: 'injected' }), { status: 503, headers: { 'content-type': 'application/json' } });
    }
    const res = await fetch(input, init);
    if (what === 'after') {
      faults.after++;
      await res.text();
      throw new TypeError('fetch failed (injected: answer lost)');
    }
    return res;
  }) as typeof fetch;
  return { fetch: wrapped, faults };
}

function isProduce(input: string | URL | Request, init?: RequestInit): boolean {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  return (init?.method ?? 'GET') === 'POST' && /\/floe\/v1\/topics\/[^/]+\/records$/.test(new URL(url).pathname);
}

export interface ReadRecord {
  offset: number;
  key: string | null;
  value: string | null;
  timestamp: number;
  headers: Array<{ key: string; value: string | null }>;
}

/** Every record of a partition, read back through the native API (keys and values decoded as text). */
export async function readPartition(floe: Floe, topic: string, partition: number): Promise<ReadRecord[]> {
  const out: ReadRecord[] = [];
  let offset = 0;
  for (;;) {
    const r = await floe.request<{ records: ReadRecord[]; next_offset: number; high_watermark: number }>('GET', `/floe/v1/topics/${topic}/partitions/${partition}/records`, { query: { offset } });
    const text = (s: string | null) => (s === null ? null : Buffer.from(s, 'base64').toString());
    out.push(...r.records.map((x) => ({ ...x, key: text(x.key), value: text(x.value) })));
    if (r.next_offset >= r.high_watermark || r.records.length === 0) return out;
    offset = r.next_offset;
  }
}

/** Resolves once `check` holds, polling; fails after `ms`. */
export async function waitFor(check: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
