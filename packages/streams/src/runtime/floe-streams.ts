// Kafka Streams' KafkaStreams for Floe, run in this process: one task per sub-topology and partition,
// each a loop that fetches its sources (read_committed), processes, and commits; a scheduled tick
// punctuates every task that asks for it, so windows close on idle partitions too. In AWS the same
// tasks run inside topic triggers instead (see handler.ts); both share TaskRunner.
import { Floe, type DirectOptions, type FloeAuth } from '../../../client/src/index.ts';
import type { CompiledTopology, InputRecord } from '../task.ts';
import { resolveLayout, type Layout } from './layout.ts';
import { byTimestamp, inputOf, TaskFencedError, TaskRunner, type ProcessingGuarantee, type RunnerDeps } from './task-runner.ts';

export interface FloeStreamsOptions {
  /** Kafka's application.id: names the group, the transactional ids, the internal topics and the stores' tables. */
  applicationId: string;
  url?: string;
  direct?: DirectOptions;
  auth?: FloeAuth;
  /** A client to use instead of `url`/`direct`. */
  floe?: Floe;
  /** Kafka's processing.guarantee; default `exactly_once`. */
  processingGuarantee?: ProcessingGuarantee;
  /** Records per source partition in one batch (one commit); default 1000. */
  maxBatchRecords?: number;
  /** How long an idle task's fetch waits for records (ms); default 500. */
  pollMs?: number;
  /** How often tasks that close windows by the clock are punctuated (ms); default 1000. */
  punctuateIntervalMs?: number;
  /** The wall clock (for tests); default Date.now. */
  clock?: () => number;
  /** Told of a task's failure (it is retried after a pause) and of a fenced task (it stops). */
  onError?: (error: unknown, task: string) => void;
}

export type StreamsState = 'CREATED' | 'RUNNING' | 'PENDING_SHUTDOWN' | 'NOT_RUNNING' | 'ERROR';

/** A topology object from the DSL, or its compiled form. */
export type TopologyLike = CompiledTopology | { compiled(): CompiledTopology };

export function compiledOf(t: TopologyLike): CompiledTopology {
  return 'createTask' in t ? t : t.compiled();
}

/**
 * Runs a topology against a Floe, in this process.
 *
 * @example
 * const streams = new FloeStreams(builder.build(), { applicationId: 'wordcount', url: 'http://127.0.0.1:8082' });
 * await streams.start();
 * // ...
 * await streams.close();
 */
export class FloeStreams {
  readonly topology: CompiledTopology;
  readonly floe: Floe;
  private layout?: Layout;
  private runners: TaskRunner[] = [];
  private loops: Promise<void>[] = [];
  private stateNow: StreamsState = 'CREATED';
  private readonly metricsMap = new Map<string, number>();
  private readonly calls = { lookups: 0, ranges: 0, commits: 0, fetches: 0 };
  private processed = 0;
  private readonly wakers = new Set<() => void>();

  constructor(
    topology: TopologyLike,
    readonly options: FloeStreamsOptions,
  ) {
    this.topology = compiledOf(topology);
    this.floe = options.floe ?? new Floe({ ...(options.url ? { url: options.url } : {}), ...(options.direct ? { direct: options.direct } : {}), ...(options.auth ? { auth: options.auth } : {}) });
  }

  get state(): StreamsState {
    return this.stateNow;
  }

  /** Counters: records processed, commits, storage calls, and what the topology counts (e.g. `dropped-late-records`). */
  metrics(): Record<string, number> {
    return { 'records-processed': this.processed, commits: this.calls.commits, fetches: this.calls.fetches, 'store-lookups': this.calls.lookups, 'store-ranges': this.calls.ranges, ...Object.fromEntries(this.metricsMap) };
  }

  /**
   * Creates the internal topics and tables that are missing, checks co-partitioning, and starts every task.
   *
   * @example
   * await streams.start();
   */
  async start(): Promise<void> {
    if (this.stateNow !== 'CREATED') throw new Error(`start() was called in state ${this.stateNow}`);
    this.layout = await resolveLayout(this.floe, this.options.applicationId, this.topology, true);
    const deps: RunnerDeps = {
      floe: this.floe,
      topology: this.topology,
      layout: this.layout,
      guarantee: this.options.processingGuarantee ?? 'exactly_once',
      metrics: this.metricsMap,
      calls: this.calls,
    };
    for (const sub of this.topology.subtopologies) {
      for (let p = 0; p < this.layout.tasks.get(sub.id)!; p++) this.runners.push(new TaskRunner(deps, sub, p));
    }
    this.stateNow = 'RUNNING';
    this.loops = this.runners.map((r) => this.loop(r));
  }

  private async loop(runner: TaskRunner): Promise<void> {
    const max = this.options.maxBatchRecords ?? 1000;
    const pollMs = this.options.pollMs ?? 500;
    const tickEvery = this.options.punctuateIntervalMs ?? 1000;
    const clock = this.options.clock ?? Date.now;
    let lastTick = 0;
    let pause = 0;
    while (this.stateNow === 'RUNNING') {
      try {
        if (pause) await this.sleep(pause);
        if (this.stateNow !== 'RUNNING') break;
        const lists: InputRecord[][] = [];
        const ends = new Map<string, number>();
        let idle = true;
        for (const topic of runner.sources) {
          if (runner.positions.size === 0) await runner.open();
          const at = runner.positions.get(topic)!;
          const r = await runner.fetch(topic, at, idle && runner.sources.length === 1 ? pollMs : 0, max);
          if (r.records.length || r.next_offset > at) idle = false;
          ends.set(topic, r.next_offset);
          lists.push(r.records.map((x) => inputOf(topic, runner.partition, x)));
        }
        if (!idle) {
          // Awaited first: tasks run at once, and `+=` would read the counter before the await.
          const n = await runner.process(byTimestamp(lists), ends);
          this.processed += n;
        } else if (runner.sources.length > 1) await this.sleep(Math.min(pollMs, 100));
        if (runner.sub.punctuates && clock() - lastTick >= tickEvery) {
          lastTick = clock();
          await runner.punctuate(lastTick);
        }
        pause = 0;
      } catch (e) {
        if (this.stateNow !== 'RUNNING') break;
        const name = `${runner.sub.id}_${runner.partition}`;
        this.options.onError?.(e, name);
        if (e instanceof TaskFencedError) return;
        pause = Math.min(5000, Math.max(100, pause * 2));
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => {
      const wake = () => {
        clearTimeout(t);
        this.wakers.delete(wake);
        r();
      };
      const t = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }

  /**
   * Resolves once every task has processed its sources up to their end as it is now (for tests and
   * scripts that produce, then read what the application made of it).
   *
   * @example
   * await streams.drained();
   */
  async drained(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // Ends read anew each round: an upstream task's output moves the end of a downstream task's source.
    for (;;) {
      const behind: string[] = [];
      for (const r of this.runners) {
        for (const t of r.sources) {
          const end = (await this.floe.request<{ high_watermark: number }>('GET', `/floe/v1/topics/${encodeURIComponent(t)}/partitions/${r.partition}/offsets`, { retry: true })).high_watermark;
          if ((r.positions.get(t) ?? -1) < end) behind.push(`${r.sub.id}_${r.partition}`);
        }
      }
      if (behind.length === 0) return;
      if (Date.now() > deadline) throw new Error(`tasks ${[...new Set(behind)].join(', ')} did not catch up within ${timeoutMs} ms`);
      if (this.stateNow !== 'RUNNING') throw new Error(`the application is ${this.stateNow}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  }

  /**
   * Stops every task after its current batch (a batch under way commits or is aborted; nothing half done stays).
   *
   * @example
   * await streams.close();
   */
  async close(): Promise<void> {
    if (this.stateNow === 'NOT_RUNNING') return;
    this.stateNow = 'PENDING_SHUTDOWN';
    for (const wake of [...this.wakers]) wake();
    await Promise.allSettled(this.loops);
    await Promise.allSettled(this.runners.map((r) => r.close()));
    this.stateNow = 'NOT_RUNNING';
  }
}
