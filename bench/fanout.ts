// Fan-out: producer throughput on a topic with no readers, then with 50 consumer groups tailing it at
// once, each its own process (its own engine, caches and clients, as separate Lambda instances or
// servers would be), and what each reader costs in storage calls per record it reads.
import type { FloeConfig } from '../src/config.ts';
import { createEngine, type Engine } from '../src/engine/engine.ts';
import { createClients } from '../src/storage/clients.ts';
import { countCalls, CallCounter } from '../test/support/call-counter.ts';

export interface FanoutFigures {
  groups: number;
  producer_records_per_s_alone: number;
  producer_records_per_s_with_readers: number;
  fanout_producer_ratio: number;
  records_read: number;
  /** S3 GETs over records read, all readers together. */
  gets_per_record_read: number;
  /** DynamoDB reads (GetItem, Query) over records read. */
  ddb_reads_per_record_read: number;
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

export async function fanoutBench(engine: Engine, config: FloeConfig, value: Buffer, quick: boolean): Promise<FanoutFigures> {
  const topic = `bench-fanout-${Date.now()}`;
  const partitions = 4;
  const groups = 50;
  await engine.topics.create({ name: topic, partitions });
  await engine.producer.produce(topic, [{ key: null, value }]);
  const ms = quick ? 3000 : 8000;
  const alone = await produceFor(engine, topic, partitions, value, ms);

  const counter = new CallCounter();
  const readers = Array.from({ length: groups }, () => {
    const clients = createClients(config);
    countCalls(clients, counter);
    return createEngine(config, clients);
  });
  let stop = false;
  let read = 0;
  // Each group tails every partition from where the log is now, long-polling at the end.
  const tails = readers.flatMap((r) =>
    Array.from({ length: partitions }, async (_, p) => {
      let offset = (await r.fetcher.offsets(topic, p)).highWatermark;
      while (!stop) {
        const res = await r.fetcher.fetch({ topic, partition: p, offset, waitMs: 1000, maxBytes: 1024 * 1024 });
        read += res.records.length;
        offset = res.nextOffset;
      }
    }),
  );
  await new Promise((r) => setTimeout(r, 500));
  counter.reset();
  read = 0;
  const withReaders = await produceFor(engine, topic, partitions, value, ms);
  const calls = counter.snapshot();
  const readAtStop = read;
  stop = true;
  await Promise.all(tails);
  const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
  return {
    groups,
    producer_records_per_s_alone: Math.round(alone),
    producer_records_per_s_with_readers: Math.round(withReaders),
    fanout_producer_ratio: round(withReaders / alone),
    records_read: readAtStop,
    gets_per_record_read: round((calls['s3.GetObject'] ?? 0) / Math.max(1, readAtStop), 4),
    ddb_reads_per_record_read: round(((calls['dynamodb.GetItem'] ?? 0) + (calls['dynamodb.Query'] ?? 0)) / Math.max(1, readAtStop), 4),
  };
}
