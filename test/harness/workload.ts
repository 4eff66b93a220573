// Concurrent producers and consumers against Floe with faults injected into their storage clients,
// recording every operation for the checker. Each producer or consumer is a "process" with its own
// engine and clients; an injected crash kills it, and it comes back as a new process (new engine,
// empty caches), as a Lambda container would.
import { createEngine, type Engine } from '../../src/engine/engine.ts';
import { FloeError } from '../../src/errors.ts';
import type { FloeConfig } from '../../src/config.ts';
import { createClients } from '../../src/storage/clients.ts';
import { runCompaction } from '../../src/jobs/compaction.ts';
import { MERGE_MIN_AGE_MS } from '../../src/model/lifetimes.ts';
import { readEntries } from '../../src/jobs/rewrite.ts';
import { partitionKey } from '../../src/storage/keys.ts';
import { check, type CheckResult, type FinalRead, type Op } from './checker.ts';
import { prng, type FaultKind, type FaultRates } from './faults.ts';
import { Processes } from './processes.ts';

export interface WorkloadOptions {
  config: FloeConfig;
  topic: string;
  seed: number;
  /** Stop after this many operations (produce attempts and polls)... */
  ops: number;
  /** ...or after this long, whichever comes first. */
  maxMs: number;
  producers: number;
  consumers: number;
  partitions: number;
  rates: FaultRates;
  /** A process crashes on average once in this many storage calls; 0 for never. */
  crashEvery: number;
  /** Client retries of a send whose outcome was unknown. */
  clientRetries?: number;
  /** Producers send with a producer id and a sequence per send, so their retries are written once. */
  idempotent?: boolean;
  /**
   * A cleaner process merges the topic's batches over and over beside the producers and consumers, under
   * the same faults (default on): readers must see a prefix while index entries are being replaced.
   */
  cleaner?: boolean;
  /**
   * The SDK's own retries (default on, as in production). Off, a lost commit answer reaches Floe's retry
   * loop instead of being resent with the same token, so the producer must find its own commit.
   */
  sdkRetries?: boolean;
  /**
   * The hole deadline of every process (default 500 ms, not production's 10 s): crashes here come every
   * few hundred calls, and a short deadline also pre-empts slow writers far more often than in production.
   */
  holeFillMs?: number;
}

export interface WorkloadResult {
  result: CheckResult;
  faults: Record<FaultKind, number>;
  history: Op[];
  crashes: number;
  /** Allocations of dead or slow writers that other processes filled with empty batches. */
  holesFilled: number;
  /**
   * Crashes by the call they came at: a crash at an applied `dynamodb.UpdateItem` (an allocation, or
   * a move of the high watermark) or at a `dynamodb.TransactWriteItems` not applied dies between the
   * allocation and the index write.
   */
  crashesAt: Record<string, number>;
  /** Merge passes the cleaner completed, and the batches they rewrote. */
  cleaner: { runs: number; rewrote: number };
  elapsedMs: number;
}

export async function runWorkload(o: WorkloadOptions): Promise<WorkloadResult> {
  const started = Date.now();
  const history: Op[] = [];
  let opsDone = 0;
  o = { ...o, config: { ...o.config, holeFillMs: o.holeFillMs ?? 500 } };
  const done = () => opsDone >= o.ops || Date.now() - started >= o.maxMs;

  const admin = createEngine(o.config, createClients(o.config));
  await admin.topics.create({ name: o.topic, partitions: o.partitions });
  const pool = new Processes({ config: o.config, rates: o.rates, crashEvery: o.crashEvery, ...(o.sdkRetries !== undefined ? { sdkRetries: o.sdkRetries } : {}) });

  const producer = async (index: number) => {
    const name = `producer-${index}`;
    const random = prng(o.seed * 7919 + index);
    let generation = 0;
    let proc = pool.spawn(o.seed * 1_000_003 + index * 1000 + generation);
    let seq = 0;
    // The producer id belongs to the client, which outlives any Floe process that serves it.
    const producerId = o.idempotent ? await admin.producer.allocateProducerId() : undefined;
    while (!done()) {
      const partition = Math.floor(random() * o.partitions);
      const count = 1 + Math.floor(random() * 4);
      const sendId = `${name}-${seq++}`;
      const values = Array.from({ length: count }, (_, i) => `${sendId}-${i}`);
      for (let attempt = 1; attempt <= 1 + (o.clientRetries ?? 3) && !done(); attempt++) {
        opsDone++;
        try {
          const r = await proc.engine.producer.produce(
            o.topic,
            values.map((v) => ({ key: null, value: Buffer.from(v) })),
            { partition, ...(producerId !== undefined ? { producer: { id: producerId, epoch: 0, sequence: seq - 1 } } : {}) },
          );
          const offsets = r.records.map((x) => ('offset' in x ? x.offset : -1));
          history.push({ type: 'produce', process: name, sendId, attempt, partition, values, outcome: 'ok', offsets });
          break;
        } catch (e) {
          const definite = e instanceof FloeError && e.status < 500;
          history.push({ type: 'produce', process: name, sendId, attempt, partition, values, outcome: definite ? 'fail' : 'unknown', error: (e as Error).message });
          if (definite) break;
          proc = pool.replaceIfCrashed(proc, e, () => o.seed * 1_000_003 + index * 1000 + ++generation);
        }
      }
    }
    pool.retire(proc);
  };

  const consumer = async (index: number) => {
    const name = `consumer-${index}`;
    let generation = 0;
    let proc = pool.spawn(o.seed * 2_000_003 + index * 1000 + generation);
    const positions = new Array<number>(o.partitions).fill(0);
    const random = prng(o.seed * 5_000_011 + index);
    let turn = index;
    while (!done()) {
      const partition = turn++ % o.partitions;
      opsDone++;
      try {
        // Half the polls take one record, so positions land inside batches too (a fetch then starts
        // from the entry before its offset, the path a rewrite can race).
        const maxRecords = random() < 0.5 ? { maxRecords: 1 } : {};
        // A quarter of the polls wait at the tail, through the process's shared watch of the topic.
        const wait = random() < 0.25 ? { waitMs: 100 } : {};
        const r = await proc.engine.fetcher.fetch({ topic: o.topic, partition, offset: positions[partition]!, maxBytes: 64 * 1024, ...maxRecords, ...wait });
        history.push({ type: 'poll', process: name, partition, from: positions[partition]!, outcome: 'ok', records: r.records.map((x) => ({ offset: x.offset, value: x.value!.toString() })) });
        positions[partition] = r.nextOffset;
        if (r.records.length === 0) await new Promise((res) => setTimeout(res, 5));
      } catch (e) {
        history.push({ type: 'poll', process: name, partition, from: positions[partition]!, outcome: 'fail', records: [] });
        proc = pool.replaceIfCrashed(proc, e, () => o.seed * 2_000_003 + index * 1000 + ++generation);
      }
    }
    pool.retire(proc);
  };

  const cleanerStats = { runs: 0, rewrote: 0 };
  const cleaner = async () => {
    let generation = 0;
    let proc = pool.spawn(o.seed * 3_000_017 + generation);
    while (!done()) {
      try {
        // As if every batch were past the age merging waits for: the tail is merged while it is read.
        const s = await runCompaction(proc.engine, { now: Date.now() + 10 * MERGE_MIN_AGE_MS });
        cleanerStats.runs++;
        cleanerStats.rewrote += s.rewrote.batches;
      } catch (e) {
        proc = pool.replaceIfCrashed(proc, e, () => o.seed * 3_000_017 + ++generation);
      }
      await new Promise((res) => setTimeout(res, 20));
    }
    pool.retire(proc);
  };

  await Promise.all([
    ...Array.from({ length: o.producers }, (_, i) => producer(i)),
    ...Array.from({ length: o.consumers }, (_, i) => consumer(i)),
    ...(o.cleaner === false ? [] : [cleaner()]),
  ]);
  const final = await finalRead(admin, o.topic, o.partitions);
  return { result: check(history, final), faults: pool.faults, history, crashes: pool.crashes, crashesAt: pool.crashesAt, holesFilled: pool.holesFilled, cleaner: cleanerStats, elapsedMs: Date.now() - started };
}

/** Runs a read again after a transient error (a reset connection), up to ten times. */
export async function steady<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (e) {
      if (attempt >= 10) throw e;
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
}

/**
 * Every record of every partition, read without faults from the log start to the high watermark twice:
 * once through the fetch path, as consumers read, and once straight from the index and the objects,
 * by code the workload does not test. The two must agree, and the index must tile the log; the direct
 * read is the checker's reference, so a fetch bug cannot hide in its own yardstick.
 */
export async function finalRead(engine: Engine, topic: string, partitions: number): Promise<FinalRead> {
  const out: FinalRead = new Map();
  const t = await engine.topics.describe(topic);
  for (let p = 0; p < partitions; p++) {
    // As a reader that comes once the producers are gone: what they committed and did not see into the
    // log joins it, and what they allocated and left joins it as empty batches.
    // The reference read has no faults injected, but the emulators under this load can still reset a
    // connection now and then: it retries what is safe to repeat, as any reader would.
    const before = await steady(() => engine.log.getHead(t.id, p));
    const head = await steady(() => engine.watermarks.settle(partitionKey(t.id, p), before.allocatedEnd, Date.now() + 60_000));
    const entries = await steady(() => engine.log.entriesBetween(partitionKey(t.id, p), head.logStartOffset, head.highWatermark - 1));
    entries.forEach((e, i) => {
      const expected = i === 0 ? head.logStartOffset : entries[i - 1]!.lastOffset + 1;
      if (e.baseOffset !== expected) throw new Error(`index of ${topic}/${p} does not tile the log: entry at ${e.baseOffset}, expected ${expected}`);
    });
    // Control batches (a transaction's commit markers) hold offsets but no records a reader gets.
    const data = entries.filter((e) => !e.isControl);
    const direct = (await steady(() => readEntries(engine, data))).flatMap((d) => d.records.map((r) => ({ offset: r.offset, value: r.value!.toString() })));

    const fetched: Array<{ offset: number; value: string }> = [];
    let offset = head.logStartOffset;
    while (offset < head.highWatermark) {
      const r = await steady(() => engine.fetcher.fetch({ topic, partition: p, offset, maxBytes: 4 * 1024 * 1024 }));
      for (const x of r.records) fetched.push({ offset: x.offset, value: x.value!.toString() });
      if (r.nextOffset <= offset) throw new Error(`final read made no progress at ${topic}/${p}@${offset}`);
      offset = r.nextOffset;
    }
    if (JSON.stringify(fetched) !== JSON.stringify(direct)) {
      throw new Error(`${topic}/${p}: the fetch path read ${fetched.length} records, the index and objects hold ${direct.length}`);
    }
    out.set(p, direct);
  }
  return out;
}

/** The one-line report the long run prints. */
export function summary(r: WorkloadResult) {
  const injected = Object.entries(r.faults).reduce((n, [k, v]) => (k === 'latency' ? n : n + v), 0);
  return {
    ops: r.result.ops,
    faults_injected: injected,
    latency_injected: r.faults.latency,
    crashes: r.crashes,
    crashes_at: r.crashesAt,
    holes_filled: r.holesFilled,
    cleaner_runs: r.cleaner.runs,
    cleaner_rewrote_batches: r.cleaner.rewrote,
    acked: r.result.acked,
    lost: r.result.lost.length,
    duplicates: r.result.duplicates.length,
    duplicates_after_unknown: r.result.duplicates.filter((d) => d.explained).length,
    unexplained_duplicates: r.result.unexplainedDuplicates,
    inconsistent: r.result.inconsistent.length,
    non_monotonic: r.result.nonMonotonicSends.length + r.result.nonMonotonicPolls.length,
    poll_skips: r.result.pollSkips.length,
    unseen: r.result.unseen.length,
    unknown_but_written: r.result.unknownButWritten,
    elapsed_s: Math.round(r.elapsedMs / 100) / 10,
    valid: r.result.valid,
  };
}
