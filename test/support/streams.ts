// Streams tests' Floe: the local runtime's engine (its dispatcher keeps tables, woken by commits and a
// sweep) on a triggers table of the test file's own, and a client that calls its app in-process.
import { createApp } from '../../src/api/app.ts';
import { createEngine, type Engine } from '../../src/engine/engine.ts';
import { Floe } from '../../packages/client/src/index.ts';
import { ownTriggersTable, testClients, testConfig } from './env.ts';
import { readInProcessBody } from './http.ts';

export interface StreamsFloe {
  engine: Engine;
  floe: Floe;
  /** The app's fetch, for more clients (each with its own wrapper, e.g. one that loses answers). */
  fetch: typeof fetch;
  close(): Promise<void>;
}

export async function streamsFloe(overrides: Record<string, string> = {}): Promise<StreamsFloe> {
  const config = testConfig({ ...(await ownTriggersTable()), FLOE_GROUP_COMMIT_MS: '0', ...overrides });
  const engine = createEngine(config, testClients(config), { local: true, apiUrl: 'http://127.0.0.1:8082', triggerLog: () => undefined });
  const app = createApp(engine, { readBody: readInProcessBody });
  const fetch = ((input: string | URL | Request, init?: RequestInit) => app.fetch(new Request(input, init))) as typeof globalThis.fetch;
  const sweeper = setInterval(() => void engine.dispatcher.sweep({ wait: false }).catch(() => undefined), 200);
  return {
    engine,
    fetch,
    floe: new Floe({ url: 'http://floe.test', fetch }),
    async close() {
      clearInterval(sweeper);
      await engine.dispatcher.stop();
    },
  };
}

/** Every record of a topic's partitions (read_committed), in offset order per partition. */
export async function readAll(floe: Floe, topic: string): Promise<Array<{ partition: number; offset: number; key: Buffer | null; value: Buffer | null; timestamp: number }>> {
  const meta = await floe.request<{ partitions: unknown[] }>('GET', `/topics/${topic}`);
  const out: Array<{ partition: number; offset: number; key: Buffer | null; value: Buffer | null; timestamp: number }> = [];
  for (let p = 0; p < meta.partitions.length; p++) {
    let offset = 0;
    for (;;) {
      const r = await floe.request<{ records: Array<{ offset: number; key: string | null; value: string | null; timestamp: number }>; next_offset: number; high_watermark: number }>(
        'GET',
        `/floe/v1/topics/${topic}/partitions/${p}/records`,
        { query: { offset, max_records: 10_000, isolation_level: 'read_committed' } },
      );
      for (const x of r.records) out.push({ partition: p, offset: x.offset, timestamp: x.timestamp, key: x.key === null ? null : Buffer.from(x.key, 'base64'), value: x.value === null ? null : Buffer.from(x.value, 'base64') });
      if (r.records.length === 0 || r.next_offset >= r.high_watermark) break;
      offset = r.next_offset;
    }
  }
  return out;
}

/** The latest value per key (text), tombstones removing it. */
export function latest(records: Array<{ key: Buffer | null; value: Buffer | null }>, decode: (v: Buffer) => string | number = (v) => v.toString()): Map<string, string | number> {
  const m = new Map<string, string | number>();
  for (const r of records) {
    const k = r.key?.toString() ?? '';
    if (r.value === null) m.delete(k);
    else m.set(k, decode(r.value));
  }
  return m;
}

export async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
