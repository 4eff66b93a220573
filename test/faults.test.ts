// The bounded fault run: concurrent producers and consumers with every kind of storage fault and
// crashes injected, then the checker over the whole history. `npm run test:faults` runs it long.
import { describe, expect, it } from 'vitest';
import { DEFAULT_FAULTS, FaultInjector, NO_FAULTS } from './harness/faults.ts';
import { runWorkload, summary, type WorkloadOptions } from './harness/workload.ts';
import { randomTopic, testClients, testConfig } from './support/env.ts';
import { createEngine } from '../src/engine/engine.ts';
import { parseSoleObjectKey } from '../src/storage/keys.ts';

/** A bounded run: four producers on three partitions, every kind of fault, at most 40 s; each test says what it changes. */
function boundedRun(name: string, defaultSeed: number, changes: Partial<WorkloadOptions>) {
  return runWorkload({
    config: testConfig(),
    topic: randomTopic(name),
    seed: Number(process.env.FLOE_FAULT_SEED ?? defaultSeed),
    ops: 500,
    maxMs: 40_000,
    producers: 4,
    consumers: 1,
    partitions: 3,
    rates: DEFAULT_FAULTS,
    crashEvery: 60,
    ...changes,
  });
}

describe('fault injection', () => {
  it('gives the same fault schedule for the same seed', () => {
    const kinds = (seed: number) => {
      const f = new FaultInjector({ seed, rates: { ...DEFAULT_FAULTS, failBeforeSend: 0.2, loseResponse: 0.2 } });
      const draws: Array<string | undefined> = [];
      for (let i = 0; i < 200; i++) draws.push((f as unknown as { next(): { kind?: string } }).next().kind);
      return draws;
    };
    expect(kinds(42)).toEqual(kinds(42));
    expect(kinds(42)).not.toEqual(kinds(43));
    expect(kinds(42).filter(Boolean).length).toBeGreaterThan(50);
  });

  // A one-batch request commits with a conditional put of its entry, any other with a transaction.
  it.each([
    { path: 'one batch: a conditional put', records: [{ key: null, value: Buffer.from('x'), partition: 0 }] },
    { path: 'two partitions: a transaction', records: [{ key: null, value: Buffer.from('x'), partition: 0 }, { key: null, value: Buffer.from('y'), partition: 1 }] },
  ])('a lost response on the commit does not lose or duplicate the acknowledged write ($path)', async ({ records }) => {
    const config = testConfig({ FLOE_SOLE_COMMITS: 'true' });
    const clients = testClients(config);
    // Every commit's answer is lost: the SDK sends it again (a transaction with the same token).
    const injector = new FaultInjector({ seed: 1, rates: { ...NO_FAULTS, loseResponse: 1 }, only: (op) => op === 'dynamodb.TransactWriteItems' || op === 'dynamodb.PutItem' }).attach(clients);
    injector.enabled = false;
    const engine = createEngine(config, clients);
    const topic = randomTopic('lost');
    await engine.topics.create({ name: topic, partitions: 2 });
    // A first request on each partition, so that the next one-batch request is committed alone.
    await engine.producer.produce(topic, [{ key: null, value: Buffer.from('first'), partition: 0 }, { key: null, value: Buffer.from('first'), partition: 1 }]);
    injector.enabled = true;
    let result: unknown;
    try {
      result = await engine.producer.produce(topic, records);
    } catch (e) {
      result = e;
    }
    injector.enabled = false;
    // Whatever the answer was, each record is in the log exactly once.
    for (const r of records) {
      const log = await engine.fetcher.fetch({ topic, partition: r.partition, offset: 0 });
      expect(log.records.map((x) => x.value!.toString())).toEqual(['first', r.value.toString()]);
    }
    if (!(result instanceof Error)) for (const p of (result as { records: Array<{ offset: number }> }).records) expect(p.offset).toBe(1);
    // The one-batch request took the path without a transaction.
    if (records.length === 1 && !(result instanceof Error)) expect(parseSoleObjectKey((result as { objectKey: string }).objectKey)).toBeDefined();
    expect(injector.injected['lose-response']).toBeGreaterThan(0);
  });

  it('loses no acknowledged record under faults and crashes (bounded run)', async () => {
    const run = await boundedRun('faults', 11, { ops: 600, consumers: 2 });
    const s = summary(run);
    console.log(JSON.stringify(s));
    expect(s.acked).toBeGreaterThan(100);
    expect(s.faults_injected).toBeGreaterThan(20);
    expect(s.crashes).toBeGreaterThan(0);
    expect(run.result.lost).toEqual([]);
    expect(run.result.unseen).toEqual([]);
    expect(run.result.inconsistent).toEqual([]);
    expect(run.result.nonMonotonicSends).toEqual([]);
    expect(run.result.nonMonotonicPolls).toEqual([]);
    expect(run.result.pollSkips).toEqual([]);
    expect(run.result.unexplainedDuplicates).toBe(0);
  }, 90_000);

  it('finds its own commit after a lost answer instead of writing it twice (bounded run, no SDK retries)', async () => {
    // Every lost answer reaches Floe's own retry loop: an acknowledged send written twice within one
    // client attempt (not after a client retry) is an unexplained duplicate. No cleaner here: merges in
    // production leave batches younger than a commit deadline alone, which this short run cannot wait for.
    const run = await boundedRun('probe', 11, { rates: { ...DEFAULT_FAULTS, loseResponse: 0.08 }, crashEvery: 0, cleaner: false, sdkRetries: false });
    const s = summary(run);
    console.log(JSON.stringify({ sdk_retries: false, ...s }));
    expect(s.acked).toBeGreaterThan(100);
    expect(run.result.valid).toBe(true);
    expect(run.result.unexplainedDuplicates).toBe(0);
  }, 90_000);

  it('writes each send of an idempotent producer once, whatever fails (bounded run)', async () => {
    const run = await boundedRun('idem-faults', 8, { idempotent: true });
    const s = summary(run);
    console.log(JSON.stringify({ idempotent: true, ...s }));
    expect(s.acked).toBeGreaterThan(100);
    expect(s.crashes).toBeGreaterThan(0);
    expect(run.result.valid).toBe(true);
    expect(run.result.duplicates).toEqual([]);
  }, 90_000);
});

describe('S3 conditional PUT', () => {
  it('takes "412 already exists" on a retried PUT as its own earlier success', async () => {
    const config = testConfig();
    const clients = testClients(config);
    // S3 answers 412 to an If-None-Match retry whose first attempt landed; the emulator does not, so
    // the answer is forced here after the object was really written.
    let forced = 0;
    clients.s3.middlewareStack.add(
      ((next: (a: unknown) => Promise<unknown>, ctx: { commandName?: string }) => async (args: unknown) => {
        const out = await next(args);
        if (ctx.commandName === 'PutObjectCommand' && forced++ === 0) {
          throw Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
        }
        return out;
      }) as never,
      { step: 'finalizeRequest', priority: 'low', name: 'force412' },
    );
    const engine = createEngine(config, clients);
    const topic = randomTopic('412');
    const r = await engine.producer.produce(topic, [{ key: null, value: Buffer.from('once') }]);
    expect(forced).toBe(1);
    expect((r.records[0] as { offset: number }).offset).toBe(0);
    const log = await engine.fetcher.fetch({ topic, partition: 0, offset: 0 });
    expect(log.records.map((x) => x.value!.toString())).toEqual(['once']);
  });
});
