// Fan-out: producer throughput on a topic with no readers, then with 50 consumer groups tailing it at
// once, and what the readers cost in storage calls per record they read. The readers run in a process
// of their own (bench/fanout-readers.ts), as consumers are not in the producer's process, so they see
// its appends only through storage. Two shapes:
// - the 50 groups served by one process (one engine: the local server or one gateway serving them),
//   whose long polls share head reads, index queries, GETs and decoded batches. The headline figure;
// - each group its own engine, caches and clients, as separate Lambda instances would be, all 50 on
//   the same machine as the producer.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Engine } from '../src/engine/engine.ts';

export interface FanoutFigures {
  groups: number;
  /** The mean of the runs alone before and after the run with the groups served by one process. */
  producer_records_per_s_alone: number;
  /** Groups served by one process. */
  producer_records_per_s_with_readers: number;
  fanout_producer_ratio: number;
  records_read: number;
  /** S3 GETs over records read, all readers together. */
  gets_per_record_read: number;
  /** DynamoDB reads (GetItem, Query) over records read. */
  ddb_reads_per_record_read: number;
  /** The readers' process: CPU time over wall time (1 = one core busy), fetches and storage calls a second. */
  readers_cpu_cores: number;
  readers_fetches_per_s: number;
  readers_storage_calls_per_s: number;
  readers_cpu_cores_engine_per_group: number;
  readers_storage_calls_per_s_engine_per_group: number;
  /** The three runs alone, in order (before, between and after the two runs with readers). */
  producer_records_per_s_alone_runs: number[];
  /** With each group its own engine, against the mean of the runs alone before and after it. */
  producer_records_per_s_engine_per_group: number;
  fanout_producer_ratio_engine_per_group: number;
  gets_per_record_read_engine_per_group: number;
  ddb_reads_per_record_read_engine_per_group: number;
}

/** One producer loop: requests of 100 x 1 KB records spread over the topic's partitions, for `ms`. */
async function produceFor(engine: Engine, topic: string, partitions: number, value: Buffer, ms: number): Promise<number> {
  const records = Array.from({ length: 100 }, (_, i) => ({ key: null, value, partition: i % partitions }));
  let n = 0;
  const until = Date.now() + ms;
  const started = Date.now();
  while (Date.now() < until) {
    await engine.producer.produce(topic, records);
    n += records.length;
  }
  return (n / (Date.now() - started)) * 1000;
}

/** The producer's rate while the readers' process tails the topic, and what the readers did meanwhile. */
async function withReaders(env: NodeJS.ProcessEnv, mode: 'shared' | 'own', producer: Engine, topic: string, partitions: number, groups: number, value: Buffer, ms: number) {
  const script = fileURLToPath(new URL('./fanout-readers.ts', import.meta.url));
  const child = fork(script, [mode, topic, String(partitions), String(groups)], { execArgv: ['--import', 'tsx'], env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = () =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the fan-out readers exited (${code})`));
      child.once('exit', onExit);
      child.once('message', (m) => {
        child.off('exit', onExit);
        resolve(m as Record<string, unknown>);
      });
    });
  try {
    await next();
    child.send('count');
    await next();
    const rate = await produceFor(producer, topic, partitions, value, ms);
    child.send('stop');
    const { records, calls, cores, fetches } = (await next()) as { records: number; calls: Record<string, number>; cores: number; fetches: number };
    const per = (n: number) => Math.round((n / Math.max(1, records)) * 10_000) / 10_000;
    return {
      rate,
      records,
      gets: per(calls['s3.GetObject'] ?? 0),
      ddbReads: per((calls['dynamodb.GetItem'] ?? 0) + (calls['dynamodb.BatchGetItem'] ?? 0) + (calls['dynamodb.Query'] ?? 0)),
      cores: Math.round(cores * 100) / 100,
      fetchesPerS: Math.round((fetches / ms) * 1000),
      callsPerS: Math.round((Object.values(calls).reduce((a, b) => a + b, 0) / ms) * 1000),
    };
  } finally {
    // It ends itself after its answer; a stuck one is killed.
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      const timer = setTimeout(() => child.kill(), 10_000);
      await exited;
      clearTimeout(timer);
    }
  }
}

/** `env`: the environment that points a process at the benchmark's tables, bucket and emulators. */
export async function fanoutBench(engine: Engine, env: NodeJS.ProcessEnv, value: Buffer, quick: boolean): Promise<FanoutFigures> {
  const topic = `bench-fanout-${Date.now()}`;
  const partitions = 4;
  const groups = 50;
  await engine.topics.create({ name: topic, partitions });
  await engine.producer.produce(topic, [{ key: null, value }]);
  const ms = quick ? 3000 : 8000;
  const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

  // Unmeasured: the emulators and this process warm up over the first seconds of writing, and the
  // producer's rate still drifts after, so each run with readers is held against the mean of the runs
  // alone just before and just after it.
  await produceFor(engine, topic, partitions, value, quick ? 3000 : 5000);
  const alone1 = await produceFor(engine, topic, partitions, value, ms);
  const shared = await withReaders(env, 'shared', engine, topic, partitions, groups, value, ms);
  const alone2 = await produceFor(engine, topic, partitions, value, ms);
  const perGroup = await withReaders(env, 'own', engine, topic, partitions, groups, value, ms);
  const alone3 = await produceFor(engine, topic, partitions, value, ms);
  const alone = (alone1 + alone2) / 2;
  const aloneOwn = (alone2 + alone3) / 2;

  return {
    groups,
    producer_records_per_s_alone: Math.round(alone),
    producer_records_per_s_with_readers: Math.round(shared.rate),
    fanout_producer_ratio: round(shared.rate / alone),
    records_read: shared.records,
    gets_per_record_read: shared.gets,
    ddb_reads_per_record_read: shared.ddbReads,
    readers_cpu_cores: shared.cores,
    readers_fetches_per_s: shared.fetchesPerS,
    readers_storage_calls_per_s: shared.callsPerS,
    producer_records_per_s_alone_runs: [alone1, alone2, alone3].map(Math.round),
    producer_records_per_s_engine_per_group: Math.round(perGroup.rate),
    fanout_producer_ratio_engine_per_group: round(perGroup.rate / aloneOwn),
    gets_per_record_read_engine_per_group: perGroup.gets,
    ddb_reads_per_record_read_engine_per_group: perGroup.ddbReads,
    readers_cpu_cores_engine_per_group: perGroup.cores,
    readers_storage_calls_per_s_engine_per_group: perGroup.callsPerS,
  };
}
