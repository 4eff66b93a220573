// Triggers: produce-to-handler latency (one record at a time, the handler woken by the commit as in
// `npm start`), records per second through a no-op handler on a backlog, and the storage calls each
// delivered batch costs. The handler is an in-process target, so the figures are Floe's, not a
// network's or a Lambda cold start's.
import type { FloeConfig } from '../src/config.ts';
import { createEngine } from '../src/engine/engine.ts';
import { createClients } from '../src/storage/clients.ts';
import type { TargetInvoker } from '../src/triggers/targets.ts';
import { countCalls } from '../test/support/call-counter.ts';

export interface TriggerFigures {
  latency_records: number;
  trigger_p50_ms: number;
  trigger_p99_ms: number;
  backlog_records: number;
  batch_size: number;
  trigger_records_per_s: number;
  invocations: number;
  /** AWS calls (DynamoDB and S3) per delivered batch, by operation and in all. */
  storage_calls_per_batch: number;
  calls_per_batch: Record<string, number>;
}

const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;
const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);

export async function triggersBench(config: FloeConfig, run: string, quick: boolean): Promise<TriggerFigures> {
  const seen = new Map<string, number>();
  let invocations = 0;
  let delivered = 0;
  const targets: TargetInvoker = {
    async invoke(_target, event) {
      invocations++;
      const now = Date.now();
      for (const records of Object.values((event as { records: Record<string, Array<{ value: string }>> }).records)) {
        for (const r of records) {
          delivered++;
          seen.set(Buffer.from(r.value, 'base64').toString(), now);
        }
      }
      return { ok: true, answer: undefined };
    },
  };
  const clients = createClients(config);
  const counter = countCalls(clients);
  const engine = createEngine(config, clients, { local: true, targets, apiUrl: 'http://bench' });
  const target = { type: 'lambda', function: 'bench-noop' };

  // Latency: one record per produce, a pause between, the trigger woken by each commit.
  const latencyTopic = `bench-${run}-trigger-latency`;
  await engine.topics.create({ name: latencyTopic, partitions: 1 });
  await engine.triggers.create({ name: `bench-${run}-latency`, topic: latencyTopic, target, max_batching_window_ms: 0 });
  const n = quick ? 100 : 400;
  const sentAt = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const v = `lat-${i}`;
    sentAt.set(v, Date.now());
    await engine.producer.produce(latencyTopic, [{ key: null, value: Buffer.from(v) }]);
    await new Promise((r) => setTimeout(r, 20));
  }
  const waitFor = async (done: () => boolean, ms: number) => {
    const end = Date.now() + ms;
    while (!done() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  };
  await waitFor(() => [...sentAt.keys()].every((v) => seen.has(v)), 30_000);
  const latencies = [...sentAt.entries()].map(([v, t]) => (seen.get(v) ?? Number.NaN) - t).filter(Number.isFinite).sort((a, b) => a - b);

  // Throughput: a backlog over 4 partitions, then a trigger from TRIM_HORIZON with no-op handling.
  const backlogTopic = `bench-${run}-trigger-backlog`;
  const partitions = 4;
  const backlog = quick ? 20_000 : 100_000;
  const batchSize = 500;
  await engine.topics.create({ name: backlogTopic, partitions });
  const value = Buffer.alloc(100, 'x');
  for (let i = 0; i < backlog; i += 1000) {
    await Promise.all(
      Array.from({ length: partitions }, (_, p) =>
        engine.producer.produce(
          backlogTopic,
          Array.from({ length: 250 }, () => ({ key: null, value, partition: p })),
        ),
      ),
    );
  }
  invocations = 0;
  delivered = 0;
  counter.reset();
  const started = Date.now();
  await engine.triggers.create({ name: `bench-${run}-backlog`, topic: backlogTopic, target, starting_position: 'TRIM_HORIZON', batch_size: batchSize, max_batching_window_ms: 0 });
  await waitFor(() => delivered >= backlog, 600_000);
  const ms = Date.now() - started;
  const calls = counter.snapshot();
  await engine.dispatcher.stop();
  const perBatch = Object.fromEntries(Object.entries(calls).map(([k, v]) => [k, round(v / Math.max(1, invocations), 2)]));
  return {
    latency_records: latencies.length,
    trigger_p50_ms: round(percentile(latencies, 50)),
    trigger_p99_ms: round(percentile(latencies, 99)),
    backlog_records: delivered,
    batch_size: batchSize,
    trigger_records_per_s: Math.round((delivered / ms) * 1000),
    invocations,
    storage_calls_per_batch: round(Object.values(calls).reduce((a, b) => a + b, 0) / Math.max(1, invocations), 2),
    calls_per_batch: perBatch,
  };
}
