// The client side of `npm run bench`: what the batching producer of @floe/client gains a typical
// application (one send() per message, not awaited one by one) over one HTTP request per message, and
// direct mode's latency for one small send against the same send over HTTP.
import { serve, type ServerType } from '@hono/node-server';
import { createApp } from '../src/api/app.ts';
import type { FloeConfig } from '../src/config.ts';
import { createEngine } from '../src/engine/engine.ts';
import { freePort } from '../src/local/emulators.ts';
import { readNodeBody } from '../src/local/node-body.ts';
import { createClients } from '../src/storage/clients.ts';
import { Floe } from '../packages/client/src/index.ts';

export interface SdkFigures {
  messages: number;
  sdk_send_records_per_s: number;
  /** The same messages, each its own native produce request, this many in flight. */
  per_request_concurrency: number;
  per_request_records_per_s: number;
  sdk_batching_speedup: number;
  http_send_p50_ms: number;
  direct_send_p50_ms: number;
  direct_vs_http_p50: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Runs against a real HTTP server on loopback over the same storage as the rest of the bench. */
export async function sdkBench(config: FloeConfig, env: Record<string, string>, quick: boolean): Promise<SdkFigures> {
  const engine = createEngine(config, createClients(config));
  const port = await freePort();
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: createApp(engine, { readBody: readNodeBody }).fetch, hostname: '127.0.0.1', port }, () => resolve(s));
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    const topic = `bench-sdk-${Date.now()}`;
    await engine.topics.create({ name: topic, partitions: 4 });
    const value = Buffer.alloc(1024, 7);
    const messages = quick ? 2000 : 10_000;
    const floe = new Floe({ url });

    // The application: a send() per message, none awaited before the next, default linger.
    const producer = floe.producer();
    await producer.send({ topic, messages: [{ value }] }); // producer id and topic metadata
    let t = performance.now();
    await Promise.all(Array.from({ length: messages }, (_, i) => producer.send({ topic, messages: [{ key: `k${i}`, value }] })));
    const sdkMs = performance.now() - t;
    await producer.disconnect();

    // The same messages, each one HTTP request to the native produce endpoint, a bounded number in flight.
    const concurrency = 64;
    const body = (i: number) => JSON.stringify({ records: [{ key: Buffer.from(`k${i}`).toString('base64'), value: value.toString('base64') }] });
    let next = 0;
    t = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < messages) {
          const i = next++;
          const res = await fetch(`${url}/floe/v1/topics/${topic}/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(i) });
          if (!res.ok) throw new Error(`per-request produce failed: ${res.status} ${await res.text()}`);
          await res.arrayBuffer();
        }
      }),
    );
    const perRequestMs = performance.now() - t;

    // One small send at a time, awaited: over HTTP, then in direct mode on the same tables and bucket.
    const sends = quick ? 30 : 100;
    const latencies = async (f: Floe) => {
      const p = f.producer({ lingerMs: 0 });
      await p.send({ topic, messages: [{ value: 'warm' }] });
      const out: number[] = [];
      for (let i = 0; i < sends; i++) {
        const s = performance.now();
        await p.send({ topic, messages: [{ value: `small ${i}` }] });
        out.push(performance.now() - s);
      }
      await p.disconnect();
      return out;
    };
    const http = median(await latencies(floe));
    const saved = { ...process.env };
    Object.assign(process.env, env);
    let direct: number;
    try {
      direct = median(await latencies(new Floe({ direct: { region: config.region, bucket: config.bucket, tables: { ...config.tables } } })));
    } finally {
      for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k];
      Object.assign(process.env, saved);
    }
    const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;
    const sdkRate = (messages / sdkMs) * 1000;
    const perRequestRate = (messages / perRequestMs) * 1000;
    return {
      messages,
      sdk_send_records_per_s: Math.round(sdkRate),
      per_request_concurrency: concurrency,
      per_request_records_per_s: Math.round(perRequestRate),
      sdk_batching_speedup: round(sdkRate / perRequestRate),
      http_send_p50_ms: round(http),
      direct_send_p50_ms: round(direct),
      direct_vs_http_p50: round(direct / http, 2),
    };
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
}
